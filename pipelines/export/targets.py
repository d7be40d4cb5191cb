"""Where feeds are written: a local folder laid out like the bucket, or S3. Objects are never overwritten.

A data file is written through `writing(key)`, a file handle the export streams into; the object appears
whole, and only if absent, when the block ends (a local link of a partial file, see `pipelines.partial_files`,
or a conditional S3 upload: one PUT, or a multipart upload of `part_bytes` parts completed with If-None-Match).
Memory: one S3 part at most.

S3 is called with bounded timeouts and retries (`S3Retry`, the `MSDB_S3_*` settings): botocore retries each
request (its `standard` or `adaptive` mode: 5xx, SlowDown, timeouts, dropped connections), and each whole
object operation is tried again on such failures, after a backoff: a multipart upload restarts, a download
that broke mid-body starts over. A conditional write refused with 412 after a retry is checked: when the object
holds exactly our bytes (sha256), it was our own earlier attempt that got through, and the write succeeded.
When the tries run out, `S3Unavailable` says in one line what failed, how long it took and the last answer.
"""

from __future__ import annotations

import builtins
import hashlib
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar
from urllib.parse import urlparse

from pipelines.partial_files import partial_file, remove_abandoned

if TYPE_CHECKING:
    from pipelines.settings import MsdbSettings

READ_CHUNK = 1 << 20
MAX_BACKOFF_SECONDS = 20.0
# S3 error codes worth another try (besides any 5xx answer): throttling and server-side trouble
TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling", "ThrottlingException"}

log = logging.getLogger(__name__)
T = TypeVar("T")


class AlreadyExists(Exception):
    """The object is there already; deliveries never overwrite."""


class S3Unavailable(RuntimeError):
    """S3 kept failing (errors, dropped connections, timeouts) through every retry. The object may or may not be
    there (an answer can be lost after S3 stored it): the next run finds out and carries on, a data file by its
    sha256, a manifest by its content (recorded, never written twice)."""


@dataclass(frozen=True)
class S3Retry:
    """Timeouts and retries of S3 calls. A request gives up after `max_attempts` tries (botocore's retry
    `mode`), an object operation after `object_attempts` of those, with a jittered exponential backoff from
    `backoff_seconds` between them. Worst case for one object when the endpoint hangs: object_attempts x
    max_attempts x read_timeout (connect_timeout when it does not even accept connections), plus the backoffs."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    max_attempts: int = 3
    mode: str = "standard"
    object_attempts: int = 2
    backoff_seconds: float = 1.0

    @classmethod
    def from_settings(cls, settings: MsdbSettings) -> S3Retry:
        return cls(
            connect_timeout=settings.s3_connect_timeout, read_timeout=settings.s3_read_timeout,
            max_attempts=settings.s3_max_attempts, mode=settings.s3_retry_mode,
            object_attempts=settings.s3_object_attempts, backoff_seconds=settings.s3_backoff_seconds,
        )

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform up to backoff_seconds x 2^(attempt - 1), at most MAX_BACKOFF_SECONDS."""
        return random.uniform(0, min(MAX_BACKOFF_SECONDS, self.backoff_seconds * 2 ** (attempt - 1)))


def transient(exc: BaseException) -> bool:
    """A failure another try may not meet: an S3 5xx or throttling answer, a timeout, a dropped connection."""
    from http.client import HTTPException

    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, IncompleteReadError
    from urllib3.exceptions import HTTPError as URLLib3Error

    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500 or status == 429 or exc.response.get("Error", {}).get("Code") in TRANSIENT_CODES
    network = (ConnectionError, HTTPClientError, IncompleteReadError, URLLib3Error, HTTPException)
    return isinstance(exc, (*network, builtins.ConnectionError, TimeoutError))


def _answer(exc: BaseException) -> str:
    """The last answer, short: `503 SlowDown`, or the connection failure."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return f"{status} {exc.response.get('Error', {}).get('Code', '?')}"
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def _precondition_failed(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412")


def _retried(exc: BaseException) -> bool:
    return exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) > 0  # type: ignore[attr-defined]


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

    def __init__(
        self, bucket: str, prefix: str, endpoint_url: str | None, region: str, retry: S3Retry | None = None, credentials=None
    ):
        """`credentials`: the partner's `S3Credentials` (`pipelines.export.credentials`); None: boto3's default chain."""
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint = endpoint_url or f"S3 ({region})"
        self.retry = retry or S3Retry()
        keys = credentials.client_kwargs() if credentials is not None else {}
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region, **keys,
            config=Config(
                connect_timeout=self.retry.connect_timeout, read_timeout=self.retry.read_timeout,
                retries={"mode": self.retry.mode, "total_max_attempts": self.retry.max_attempts},
            ),
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _tries(self, what: str, key: str, operation: Callable[[int], T]) -> T:
        """`operation(attempt)` until it succeeds, fails for good, or has met a transient failure
        `object_attempts` times (then `S3Unavailable`, one line)."""
        started = time.monotonic()
        for attempt in range(1, self.retry.object_attempts + 1):
            try:
                return operation(attempt)
            except Exception as exc:
                if not transient(exc):
                    raise
                if attempt == self.retry.object_attempts:
                    raise S3Unavailable(
                        f"{what} {self.uri(key)}: {self.endpoint} failed {self.retry.object_attempts} x "
                        f"{self.retry.max_attempts} attempts in {time.monotonic() - started:.1f} s; last: {_answer(exc)}"
                    ) from exc
                pause = self.retry.backoff(attempt)
                log.warning("%s %s: %s; trying again in %.1f s", what, self.uri(key), _answer(exc), pause)
                time.sleep(pause)
        raise AssertionError("unreachable")

    def remove_abandoned(self, key: str) -> list[Path]:
        """Nothing partial is ever visible in a bucket: the spool is an unnamed file of the temporary directory
        and an upload not completed holds no key (S3's `AbortIncompleteMultipartUpload` lifecycle rule frees it)."""
        return []

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        def head(attempt: int) -> bool:
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
                return True
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                    return False
                raise

        return self._tries("HEAD", key, head)

    def read(self, key: str) -> bytes:
        return self._tries("GET", key, lambda attempt: self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read())

    def sha256(self, key: str) -> str:
        def digest(attempt: int) -> str:
            sha = hashlib.sha256()
            for chunk in self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].iter_chunks(READ_CHUNK):
                sha.update(chunk)
            return sha.hexdigest()

        return self._tries("GET", key, digest)

    def put_new(self, key: str, body: bytes) -> None:
        """Conditional write (If-None-Match: *): S3 answers 412 when the object exists."""
        self._write_new(
            key, lambda: hashlib.sha256(body).hexdigest(),
            lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body, IfNoneMatch="*"),
        )

    @contextmanager
    def writing(self, key: str) -> Iterator[BinaryIO]:
        """A spool file (in the temporary directory) uploaded when the block ends: one conditional PUT, or a
        multipart upload whose completion is conditional, so the object appears whole or not at all."""
        with tempfile.TemporaryFile(prefix="msdb-delivery-") as fh:
            yield fh
            size = fh.tell()

            def spooled_sha256() -> str:
                fh.seek(0)
                sha = hashlib.sha256()
                while chunk := fh.read(READ_CHUNK):
                    sha.update(chunk)
                return sha.hexdigest()

            def upload() -> None:
                fh.seek(0)
                if size <= self.part_bytes:
                    self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=fh, IfNoneMatch="*")
                else:
                    self._multipart(key, fh)

            self._write_new(key, spooled_sha256, upload)

    def _write_new(self, key: str, our_sha256: Callable[[], str], upload: Callable[[], object]) -> None:
        """Upload, tried again on transient failures. A 412 means the object exists: when an earlier attempt of
        ours may have got through (a retry happened) and the object holds our bytes, that is our write."""

        def attempt_upload(attempt: int) -> None:
            try:
                upload()
            except Exception as exc:
                if not _precondition_failed(exc):
                    raise
                if (attempt > 1 or _retried(exc)) and self._holds(key, our_sha256()):
                    log.info("%s: an earlier attempt's write got through (same sha256); not a conflict", self.uri(key))
                    return
                raise AlreadyExists(self.uri(key)) from exc

        self._tries("PUT", key, attempt_upload)

    def _holds(self, key: str, sha256: str) -> bool:
        return self.sha256(key) == sha256

    def _multipart(self, key: str, fh: BinaryIO) -> None:
        """One multipart upload, completed with If-None-Match; aborted if it fails (a retry starts a new one)."""
        upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._key(key))["UploadId"]
        try:
            parts = []
            while part := fh.read(self.part_bytes):
                number = len(parts) + 1
                answer = self.client.upload_part(Bucket=self.bucket, Key=self._key(key), UploadId=upload, PartNumber=number, Body=part)
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), UploadId=upload, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
            )
        except BaseException as exc:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._key(key), UploadId=upload)
            except Exception as abort_failed:  # the upload's own failure is the one to report
                log.warning("%s: aborting multipart upload %s failed too: %s", self.uri(key), upload, _answer(abort_failed))
            if self._completed_by_retry(exc):
                raise _precondition_error(exc) from exc
            raise

    @staticmethod
    def _completed_by_retry(exc: BaseException) -> bool:
        """A retried completion answered NoSuchUpload: the first completion went through (and consumed the
        upload). Reported as a 412, so that the object's bytes are compared with ours."""
        from botocore.exceptions import ClientError

        return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") == "NoSuchUpload" and _retried(exc)


def _precondition_error(exc) -> Exception:
    from botocore.exceptions import ClientError

    response = dict(exc.response)
    response["Error"] = {"Code": "PreconditionFailed", "Message": "completed by an earlier attempt"}
    return ClientError(response, "CompleteMultipartUpload")


def target_for(
    deliver: str, endpoint_url: str | None = None, region: str = "ap-northeast-1", retry: S3Retry | None = None,
    credentials=None,
):
    """A folder or an S3 prefix; `credentials` (a callable returning `S3Credentials`, resolved only for S3)."""
    parsed = urlparse(deliver)
    if parsed.scheme == "s3":
        return S3Target(parsed.netloc, parsed.path, endpoint_url, region, retry, credentials() if credentials else None)
    if parsed.scheme not in ("", "file"):
        raise ValueError(f"unsupported delivery URI {deliver!r}: use a folder or s3://bucket/prefix")
    return LocalTarget(Path(parsed.path if parsed.scheme == "file" else deliver))
