"""Secrets at rest: AES-GCM with a key from settings or a local key file (embedded default)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestrator.settings import Settings, get_settings

_NONCE_BYTES = 12


def _key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        return hashlib.sha256(settings.secret_key.get_secret_value().encode()).digest()
    path = settings.key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(32)))
    return base64.b64decode(path.read_bytes())


def encrypt(plaintext: str, context: str, settings: Settings | None = None) -> bytes:
    """Encrypt bound to `context` (e.g. the row it belongs to): moved ciphertext fails."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(_key(settings or get_settings())).encrypt(
        nonce, plaintext.encode(), context.encode()
    )
    return nonce + sealed


def decrypt(blob: bytes, context: str, settings: Settings | None = None) -> str:
    nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    return (
        AESGCM(_key(settings or get_settings())).decrypt(nonce, sealed, context.encode()).decode()
    )
