"""Envelope encryption at rest: a fresh data key per value, wrapped by AWS KMS (when a key is
configured) or by the local master key; both layers bound to the row's encryption context.

Blob: version (1 byte) · wrapping kind (1 byte) · length of the wrapped key (2 bytes, big
endian) · wrapped key · nonce (12 bytes) · AES-256-GCM ciphertext of the value with its tag.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestrator.secrets.crypto import master_key as local_master_key
from orchestrator.settings import Settings, get_settings

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

VERSION = 1
WRAP_LOCAL = 1
WRAP_KMS = 2
_HEADER = struct.Struct(">BBH")
_NONCE_BYTES = 12
_TAG_BYTES = 16
_DATA_KEY_BYTES = 32
_KMS_CONFIG = Config(
    connect_timeout=3, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"}
)
_KIND_NAMES = {WRAP_LOCAL: "local", WRAP_KMS: "kms"}


class SecretsUnavailable(Exception):
    """The key service could not be reached or refused: nothing is decrypted, the caller fails closed."""  # noqa: E501


class SecretTampered(Exception):
    """A ciphertext does not belong to the row it was read from (or was altered)."""


def seal(plaintext: str, context: Mapping[str, str], settings: Settings | None = None) -> bytes:
    """Encrypt `plaintext` under a fresh data key, bound to `context` (the row it belongs to)."""
    settings = settings or get_settings()
    aad = _canonical(context)
    if settings.kms_key_id:
        kind = WRAP_KMS
        data_key, wrapped = _kms_generate(settings, settings.kms_key_id, context)
    else:
        kind = WRAP_LOCAL
        data_key = secrets.token_bytes(_DATA_KEY_BYTES)
        wrap_nonce = secrets.token_bytes(_NONCE_BYTES)
        master = AESGCM(_master_key(settings, sealing=True))
        wrapped = wrap_nonce + master.encrypt(wrap_nonce, data_key, aad)
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(data_key).encrypt(nonce, plaintext.encode(), aad)
    return _HEADER.pack(VERSION, kind, len(wrapped)) + wrapped + nonce + sealed


def unseal(blob: bytes, context: Mapping[str, str], settings: Settings | None = None) -> str:
    """Decrypt a blob from `seal` with the key service it names, for the row it belongs to."""
    settings = settings or get_settings()
    aad = _canonical(context)
    kind, wrapped, nonce, sealed = _parse(blob, context)
    if kind == WRAP_KMS:
        data_key = _kms_decrypt(settings, wrapped, context)
        how = "moved from another row or altered"
    else:
        master = AESGCM(_master_key(settings, sealing=False))
        how = "moved from another row, altered, or sealed under another local master key"
        try:
            data_key = master.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], aad)
        except InvalidTag:
            raise SecretTampered(_not_ours(context, how)) from None
    try:
        return AESGCM(data_key).decrypt(nonce, sealed, aad).decode()
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise SecretTampered(_not_ours(context, how)) from None


def _canonical(context: Mapping[str, str]) -> bytes:
    """The associated data of both layers: sorted-key compact JSON of the context."""
    if not context:
        raise ValueError("an encryption context naming the row is required")
    for key, value in context.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ValueError("encryption context keys and values must be strings")
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode()


def _describe(context: Mapping[str, str]) -> str:
    """The row a context names, for messages (names and ids only, never a value)."""
    return ", ".join(f"{key}={value}" for key, value in sorted(context.items()))


def _not_ours(context: Mapping[str, str], how: str) -> str:
    """The SecretTampered message for `context`."""
    return f"secret ciphertext does not belong to {_describe(context)} ({how})"


def _parse(blob: bytes, context: Mapping[str, str]) -> tuple[int, bytes, bytes, bytes]:
    """Kind, wrapped key, nonce and sealed value of a blob; a malformed one is tampered."""
    if len(blob) < _HEADER.size:
        raise SecretTampered(_not_ours(context, "too short to be a sealed value"))
    version, kind, wrapped_length = _HEADER.unpack_from(blob)
    if version != VERSION or kind not in _KIND_NAMES:
        raise SecretTampered(
            _not_ours(context, f"unknown format version {version} or key wrapping {kind}")
        )
    start = _HEADER.size
    wrapped = blob[start : start + wrapped_length]
    nonce = blob[start + wrapped_length : start + wrapped_length + _NONCE_BYTES]
    sealed = blob[start + wrapped_length + _NONCE_BYTES :]
    if len(wrapped) != wrapped_length or len(nonce) != _NONCE_BYTES or len(sealed) < _TAG_BYTES:
        raise SecretTampered(_not_ours(context, "truncated"))
    if kind == WRAP_LOCAL and wrapped_length != _NONCE_BYTES + _DATA_KEY_BYTES + _TAG_BYTES:
        raise SecretTampered(_not_ours(context, "malformed wrapped key"))
    return kind, wrapped, nonce, sealed


def _master_key(settings: Settings, *, sealing: bool) -> bytes:
    """crypto.py's local master key; unsealing never creates a key file (a missing one fails)."""
    path = settings.key_file
    if not sealing and settings.secret_key is None and not path.exists():
        raise SecretsUnavailable(f"local key file {path} is missing: nothing can be decrypted")
    try:
        return local_master_key(settings)
    except (OSError, ValueError) as exc:
        raise SecretsUnavailable(f"local key file {path}: {type(exc).__name__}") from None


_clients: dict[tuple[int, str | None, str | None], KMSClient] = {}
_clients_lock = threading.Lock()


def _kms_target(settings: Settings) -> tuple[str | None, str | None]:
    """Endpoint and region: the key ARN's region, else the standard AWS environment."""
    key_id = settings.kms_key_id or ""
    parts = key_id.split(":")
    if key_id.startswith("arn:") and len(parts) > 3 and parts[3]:
        region: str | None = parts[3]
    else:
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return settings.aws_endpoint_url, region


def _kms_client(target: tuple[str | None, str | None]) -> KMSClient:
    """One client per process, endpoint and region (a boto3 client must not cross a fork)."""
    endpoint, region = target
    cache_key = (os.getpid(), endpoint, region)
    with _clients_lock:
        client = _clients.get(cache_key)
        if client is None:
            client = boto3.session.Session().client(
                "kms", region_name=region, endpoint_url=endpoint, config=_KMS_CONFIG
            )
            _clients[cache_key] = client
    return client


def _forget_client(target: tuple[str | None, str | None]) -> None:
    """Credentials are resolved when a client is made: after none were found, make a new one."""
    with _clients_lock:
        _clients.pop((os.getpid(), *target), None)


def _kms_generate(
    settings: Settings, key_id: str, context: Mapping[str, str]
) -> tuple[bytes, bytes]:
    """A fresh data key from KMS: its plaintext and its wrapped form."""
    target = _kms_target(settings)
    try:
        answer = _kms_client(target).generate_data_key(
            KeyId=key_id, KeySpec="AES_256", EncryptionContext=dict(context)
        )
    except (BotoCoreError, ClientError) as exc:
        raise _kms_failure(exc, key_id, target, context) from None
    data_key, wrapped = answer["Plaintext"], answer["CiphertextBlob"]
    if len(data_key) != _DATA_KEY_BYTES or not 0 < len(wrapped) <= 0xFFFF:
        raise SecretsUnavailable(f"KMS key {key_id}: GenerateDataKey answered an unusable key")
    return data_key, wrapped


def _kms_decrypt(settings: Settings, wrapped: bytes, context: Mapping[str, str]) -> bytes:
    """The data key unwrapped by KMS (the key is named inside the wrapped blob)."""
    key_id = settings.kms_key_id or "named in the ciphertext"
    target = _kms_target(settings)
    try:
        answer = _kms_client(target).decrypt(
            CiphertextBlob=wrapped, EncryptionContext=dict(context)
        )
    except (BotoCoreError, ClientError) as exc:
        raise _kms_failure(exc, key_id, target, context) from None
    data_key = answer["Plaintext"]
    if len(data_key) != _DATA_KEY_BYTES:
        raise SecretTampered(_not_ours(context, "the wrapped key is not a data key"))
    return data_key


def _kms_failure(
    exc: BotoCoreError | ClientError,
    key_id: str,
    target: tuple[str | None, str | None],
    context: Mapping[str, str],
) -> SecretsUnavailable | SecretTampered:
    """What a KMS error means for the caller; AWS messages name keys, never plaintexts."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "error")
        if code == "InvalidCiphertextException":
            return SecretTampered(_not_ours(context, "KMS refused the wrapped key for this row"))
        reason = f"{code}: {error.get('Message', '')}".rstrip(": ")
    else:
        if isinstance(exc, NoCredentialsError):
            _forget_client(target)
        reason = str(exc)
    reason = " ".join(reason.split())[:300]
    return SecretsUnavailable(f"KMS key {key_id}: {reason}")
