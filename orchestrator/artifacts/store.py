"""Artifact store for plan files, plan JSON and logs: a local directory (embedded default) or an
S3 bucket (boto3), chosen by `STACKRUN_ARTIFACTS_URL` (`file:///path` or `s3://bucket/prefix`).

Several handles may append to one key at once (a run's plan task still closing its log while
its apply task already writes to it), and none may erase another's lines, without locks across
processes. A local append is atomic per write. S3 cannot append, so on S3 every handle writes
its own part object, `<key>.parts/<UTC time>-<random hex>`, that only it ever uploads; reading
the key joins the plain object at `key` (written by `put`), if any, and the parts in key order.
"""

from __future__ import annotations

import io
import logging
import os
import posixpath
import secrets
import threading
import time
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.settings import Settings, get_settings

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

APPEND_UPLOAD_SECONDS = 2.0
"""An S3 log being written is uploaded at most this often (and always when it is closed)."""

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})

PARTS_SUFFIX = ".parts/"
"""On S3, the parts appended to `key` are the objects under `key + PARTS_SUFFIX`."""


class ArtifactStore(Protocol):
    """What callers may rely on, whichever store the URL selects."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The artifact's bytes; KeyError(key) when there is none."""
        ...

    def open_append(self, key: str) -> IO[str]:
        """A text handle appending to the artifact (run logs stream through it). Handles open
        on the same key at the same time never lose each other's lines."""
        ...


class ArtifactStoreError(OSError):
    """A store operation failed for another reason than a missing key. The message names the
    operation, the bucket and the key (never credentials). An OSError, like a failing LocalStore,
    so a run that meets it fails with this message."""


class LocalStore:
    """Keys are relative paths under one root directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"artifact key {key!r} escapes the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def open_append(self, key: str) -> IO[str]:
        """A text handle appending to the artifact (run logs stream through it)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("a", encoding="utf-8")

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(key) from exc


class S3Store:
    """Keys are object keys under `prefix` in one bucket. With a KMS key id, every object is
    written with SSE-KMS under that key. What `open_append` writes lives in part objects beside
    the key (see the module docstring); `get` joins them."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        kms_key_id: str | None = None,
        append_upload_seconds: float = APPEND_UPLOAD_SECONDS,
    ) -> None:
        if not bucket:
            raise ValueError("an S3 artifact store needs a bucket")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.kms_key_id = kms_key_id
        self.append_upload_seconds = append_upload_seconds
        self.client: S3Client = _s3_client(endpoint_url)

    def object_key(self, key: str) -> str:
        """The key under the prefix; a key that would leave the prefix is refused."""
        normal = posixpath.normpath(key)
        if key.startswith("/") or normal in (".", "..") or normal.startswith("../"):
            raise ValueError(f"artifact key {key!r} escapes the store")
        return f"{self.prefix}/{normal}" if self.prefix else normal

    def put(self, key: str, data: bytes) -> None:
        self._put_object(self.object_key(key), data)

    def get(self, key: str) -> bytes:
        """The plain object at `key` (if any) followed by the parts appended to it, in key
        order; KeyError(key) when there is neither."""
        object_key = self.object_key(key)
        plain = self._get_object(object_key)
        parts = self._part_keys(object_key)
        if plain is None and not parts:
            raise KeyError(key)
        chunks = [plain or b""]
        for part_key in parts:
            # A listed part is never deleted by the store; one gone meanwhile holds nothing.
            chunks.append(self._get_object(part_key) or b"")
        return b"".join(chunks)

    def open_append(self, key: str) -> IO[str]:
        """S3 cannot append: the handle writes a part object of its own (created empty at once,
        so a bucket that cannot be written fails here) and keeps it whole in memory, never
        reading or rewriting what others wrote. A flush() has the part uploaded whole in the
        background, at once or, when the last upload is younger than `append_upload_seconds`,
        when it is that old; so the log is readable while written, and writing never waits on
        S3. close() uploads what is pending and raises ArtifactStoreError when that fails."""
        part_key = self._new_part_key(self.object_key(key))
        self._put_object(part_key, b"")
        return io.TextIOWrapper(_S3Appender(self, part_key), encoding="utf-8", write_through=True)

    @staticmethod
    def _new_part_key(object_key: str) -> str:
        """A key sorting after the parts opened earlier (by this host's clock; the random hex
        keeps two handles opened in the same microsecond apart)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        return f"{object_key}{PARTS_SUFFIX}{stamp}-{secrets.token_hex(8)}"

    def _part_keys(self, object_key: str) -> list[str]:
        """The keys of the parts appended to `object_key`, sorted."""
        prefix = object_key + PARTS_SUFFIX
        keys: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise _failure("ListObjectsV2", self.bucket, prefix, exc) from None
        return sorted(keys)

    def _put_object(self, object_key: str, data: bytes) -> None:
        try:
            if self.kms_key_id:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=object_key,
                    Body=data,
                    ServerSideEncryption="aws:kms",
                    SSEKMSKeyId=self.kms_key_id,
                )
            else:
                self.client.put_object(Bucket=self.bucket, Key=object_key, Body=data)
        except (ClientError, BotoCoreError) as exc:
            raise _failure("PutObject", self.bucket, object_key, exc) from None

    def _get_object(self, object_key: str) -> bytes | None:
        """The object's bytes, None when the key does not exist."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=object_key)
            return answer["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in _MISSING_CODES:
                return None
            raise _failure("GetObject", self.bucket, object_key, exc) from None
        except BotoCoreError as exc:
            raise _failure("GetObject", self.bucket, object_key, exc) from None


class _S3Appender(io.BufferedIOBase):
    """The binary side of S3Store.open_append: the one writer of its part object, which exists
    (empty) already. Thread-safe: uploads run one at a time (at most one pending timer), each
    with everything written before it started, so a later upload never loses to an earlier
    one."""

    def __init__(self, store: S3Store, part_key: str) -> None:
        super().__init__()
        self._store, self._key = store, part_key
        self._data = bytearray()
        self._dirty = False
        self._closing = False
        self._uploaded_at = float("-inf")
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._upload_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"s3://{self._store.bucket}/{self._key}"

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer, /) -> int:
        if self.closed or self._closing:
            raise ValueError(f"write to closed artifact {self.name}")
        view = memoryview(data)
        with self._lock:
            self._data += view
            self._dirty = True
        return view.nbytes

    def flush(self) -> None:
        """Have what was written uploaded in the background, as soon as the interval allows."""
        if self.closed or self._closing:
            return
        self._schedule_upload()

    def close(self) -> None:
        """Upload whatever is pending; raises ArtifactStoreError when that fails."""
        if self.closed:
            return
        with self._lock:
            self._closing = True
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        try:
            self._upload()
        finally:
            super().close()

    def _schedule_upload(self) -> None:
        delay = self._uploaded_at + self._store.append_upload_seconds - time.monotonic()
        with self._lock:
            if self._timer is not None or self._closing or not self._dirty:
                return
            timer = self._timer = threading.Timer(max(delay, 0.0), self._on_timer)
        timer.daemon = True
        timer.start()

    def _on_timer(self) -> None:
        """While streaming, a failed upload is retried an interval later; close() reports a
        lasting failure."""
        try:
            self._upload()
        except Exception as exc:
            log.warning("streaming %s failed, will retry: %s", self.name, exc)
            self._uploaded_at = time.monotonic()
        with self._lock:
            self._timer = None
        self._schedule_upload()

    def _upload(self) -> None:
        with self._upload_lock:
            with self._lock:
                if not self._dirty:
                    return
                data = bytes(self._data)
                self._dirty = False
            try:
                self._store._put_object(self._key, data)
            except ArtifactStoreError:
                with self._lock:
                    self._dirty = True
                raise
            self._uploaded_at = time.monotonic()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _failure(
    operation: str, bucket: str, key: str, exc: ClientError | BotoCoreError
) -> ArtifactStoreError:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        reason = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    else:
        reason = str(exc)
    return ArtifactStoreError(
        f"artifact store: S3 {operation} failed for bucket {bucket!r}, key {key!r}: {reason}"
    )


def _s3_client(endpoint_url: str | None) -> S3Client:
    """One client per store. Region from the standard AWS environment/config (else us-east-1);
    a custom endpoint (MinIO, tests) is addressed path-style."""
    session = boto3.session.Session()
    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 5, "mode": "standard"},
    )
    if endpoint_url:
        config = config.merge(Config(s3={"addressing_style": "path"}))
    return session.client(
        "s3",
        region_name=session.region_name or "us-east-1",
        endpoint_url=endpoint_url or None,
        config=config,
    )


@lru_cache(maxsize=16)
def _s3_store(
    pid: int, bucket: str, prefix: str, endpoint_url: str | None, kms_key_id: str | None
) -> S3Store:
    """Stores are kept per process (a boto3 client must not cross a fork): the API opens the
    store for every logs request."""
    return S3Store(bucket, prefix, endpoint_url=endpoint_url, kms_key_id=kms_key_id)


def open_store(settings: Settings | None = None) -> ArtifactStore:
    settings = settings or get_settings()
    url = settings.resolved_artifacts_url
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStore(Path(parsed.path))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"artifact store URL {url!r}: no bucket (s3://bucket/prefix)")
        return _s3_store(
            os.getpid(),
            parsed.netloc,
            parsed.path.strip("/"),
            settings.s3_endpoint_url,
            settings.artifacts_kms_key_id,
        )
    raise ValueError(f"artifact store URL {url!r}: use file:///path or s3://bucket/prefix")


def plan_key(run_id: int) -> str:
    return f"runs/{run_id}/plan.tfplan"


def plan_json_key(run_id: int) -> str:
    return f"runs/{run_id}/plan.json"


def log_key(run_id: int) -> str:
    return f"runs/{run_id}/log.txt"
