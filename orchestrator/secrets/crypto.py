"""Secrets at rest: AES-GCM with a key from settings or a local key file (embedded default)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestrator.settings import Settings, get_settings

_NONCE_BYTES = 12


def master_key(settings: Settings) -> bytes:
    """The local key: from settings, else the key file (made on first use)."""
    if settings.secret_key is not None:
        return hashlib.sha256(settings.secret_key.get_secret_value().encode()).digest()
    path = settings.key_file
    if not path.exists():
        _create_key_file(path)
    return _key_from_file(str(path))


@lru_cache(maxsize=8)
def _key_from_file(path: str) -> bytes:
    """Read once per process: every webhook decrypts its repository's secret."""
    return base64.b64decode(Path(path).read_bytes())


def _create_key_file(path: Path) -> None:
    """Write the key under a temporary name, then link it into place: a process starting at
    the same moment sees either no file or the whole key, and the first writer wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(32)))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def encrypt(plaintext: str, context: str, settings: Settings | None = None) -> bytes:
    """Encrypt bound to `context` (e.g. the row it belongs to): moved ciphertext fails."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(master_key(settings or get_settings())).encrypt(
        nonce, plaintext.encode(), context.encode()
    )
    return nonce + sealed


def decrypt(blob: bytes, context: str, settings: Settings | None = None) -> str:
    nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    return (
        AESGCM(master_key(settings or get_settings()))
        .decrypt(nonce, sealed, context.encode())
        .decode()
    )
