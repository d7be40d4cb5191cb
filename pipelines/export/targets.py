"""Where feeds are written: a local folder laid out like the bucket, or S3. Objects are never overwritten."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse


class AlreadyExists(Exception):
    """The object is there already; deliveries never overwrite."""


class LocalTarget:
    def __init__(self, root: Path):
        self.root = root

    def uri(self, key: str) -> str:
        return str(self.root / key)

    def exists(self, key: str) -> bool:
        return (self.root / key).exists()

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def put_new(self, key: str, body: bytes) -> None:
        """Write whole or not at all, and only if absent: temp file, fsync, then link (fails if it exists)."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError as exc:
                raise AlreadyExists(self.uri(key)) from exc
        finally:
            os.unlink(tmp)


class S3Target:
    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None, region: str):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def put_new(self, key: str, body: bytes) -> None:
        """Conditional write (If-None-Match: *): S3 answers 412 when the object exists."""
        from botocore.exceptions import ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, IfNoneMatch="*")
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("PreconditionFailed", "412"):
                raise AlreadyExists(self.uri(key)) from exc
            raise


def target_for(deliver: str, endpoint_url: str | None = None, region: str = "ap-northeast-1"):
    parsed = urlparse(deliver)
    if parsed.scheme == "s3":
        return S3Target(parsed.netloc, parsed.path, endpoint_url, region)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"unsupported delivery URI {deliver!r}: use a folder or s3://bucket/prefix")
    return LocalTarget(Path(parsed.path if parsed.scheme == "file" else deliver))
