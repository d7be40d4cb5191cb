"""Where feeds are written: a local folder laid out like the bucket, or S3. Objects are never overwritten.

A data file is written through `writing(key)`, a file handle the export streams into; the object appears
whole, and only if absent, when the block ends (a local link of a partial file, see `pipelines.partial_files`,
or a conditional S3 upload: one PUT, or a multipart upload of `part_bytes` parts completed with If-None-Match).
Memory: one S3 part at most.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from pipelines.partial_files import partial_file, remove_abandoned

READ_CHUNK = 1 << 20


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

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with (self.root / key).open("rb") as fh:
            while chunk := fh.read(READ_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    @contextmanager
    def writing(self, key: str) -> Iterator[BinaryIO]:
        """Write whole or not at all, and only if absent: temp file beside it, fsync, then link (fails if it
        exists). Nothing appears if the block raises."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        # 0644: mkstemp's 0600 would hide the delivery from the partner's sync user
        with partial_file(path, 0o644) as (fd, partial), open(os.dup(fd), "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
            try:
                os.link(partial, path)
            except FileExistsError as exc:
                raise AlreadyExists(self.uri(key)) from exc

    def remove_abandoned(self, key: str) -> list[Path]:
        """The partial files under `key` (a partner's folder) left by an export that died mid-write
        (`pipelines.partial_files`); a partner never took them for data: they were never linked."""
        return remove_abandoned(self.root / key, recursive=True)

    def put_new(self, key: str, body: bytes) -> None:
        with self.writing(key) as fh:
            fh.write(body)


class S3Target:
    part_bytes = 64 << 20  # larger files go up in parts of this size (S3: at least 5 MiB, at most 10,000 parts)

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None, region: str):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def remove_abandoned(self, key: str) -> list[Path]:
        """Nothing partial is ever visible in a bucket: the spool is an unnamed file of the temporary directory
        and an upload not completed holds no key (S3's `AbortIncompleteMultipartUpload` lifecycle rule frees it)."""
        return []

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

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        for chunk in self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].iter_chunks(READ_CHUNK):
            digest.update(chunk)
        return digest.hexdigest()

    def put_new(self, key: str, body: bytes) -> None:
        """Conditional write (If-None-Match: *): S3 answers 412 when the object exists."""
        self._conditionally(key, lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, IfNoneMatch="*"))

    @contextmanager
    def writing(self, key: str) -> Iterator[BinaryIO]:
        """A spool file (in the temporary directory) uploaded when the block ends: one conditional PUT, or a
        multipart upload whose completion is conditional, so the object appears whole or not at all."""
        with tempfile.TemporaryFile(prefix="msdb-delivery-") as fh:
            yield fh
            size = fh.tell()
            fh.seek(0)
            if size <= self.part_bytes:
                self._conditionally(
                    key, lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=fh, IfNoneMatch="*")
                )
            else:
                self._multipart(key, fh)

    def _multipart(self, key: str, fh: BinaryIO) -> None:
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(key))["UploadId"]
        try:
            parts = []
            while part := fh.read(self.part_bytes):
                number = len(parts) + 1
                answer = self.client.upload_part(Bucket=self.bucket, Key=self._key(key), UploadId=upload, PartNumber=number, Body=part)
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            self._conditionally(
                key,
                lambda: self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=self._key(key), UploadId=upload, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
                ),
            )
        except BaseException:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(key), UploadId=upload)
            raise

    def _conditionally(self, key: str, write) -> None:
        from botocore.exceptions import ClientError

        try:
            write()
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
