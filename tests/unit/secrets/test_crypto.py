"""Secrets at rest (orchestrator/secrets/crypto.py), with explicit Settings in a tmp dir."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from orchestrator.secrets.crypto import decrypt, encrypt
from orchestrator.settings import Settings


def _settings(data_dir: Path, secret_key: str | None = None) -> Settings:
    # secret_key passed explicitly so a STACKRUN_SECRET_KEY in the environment cannot leak in.
    return Settings(data_dir=data_dir, secret_key=secret_key)


def test_round_trip_returns_the_plaintext(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    blob = encrypt("TF_VAR_db_password=s3cr3t ü", "repository:1:webhook", settings)
    assert decrypt(blob, "repository:1:webhook", settings) == "TF_VAR_db_password=s3cr3t ü"


def test_ciphertext_does_not_contain_the_plaintext(tmp_path: Path) -> None:
    blob = encrypt("plain-secret-value", "ctx", _settings(tmp_path))
    assert b"plain-secret-value" not in blob


def test_same_plaintext_encrypts_differently_each_time(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert encrypt("x", "ctx", settings) != encrypt("x", "ctx", settings)


def test_decrypt_with_another_context_raises(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    blob = encrypt("value", "repository:1:webhook", settings)
    with pytest.raises(InvalidTag):
        decrypt(blob, "repository:2:webhook", settings)


def test_decrypt_of_a_tampered_blob_raises(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    blob = bytearray(encrypt("value", "ctx", settings))
    blob[-1] ^= 0x01
    with pytest.raises(InvalidTag):
        decrypt(bytes(blob), "ctx", settings)


def test_key_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "data")
    assert not settings.key_file.exists()
    encrypt("value", "ctx", settings)
    assert settings.key_file.exists()
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600


def test_key_file_is_reused_by_later_settings(tmp_path: Path) -> None:
    blob = encrypt("value", "ctx", _settings(tmp_path))
    key = _settings(tmp_path).key_file.read_bytes()
    assert decrypt(blob, "ctx", _settings(tmp_path)) == "value"
    assert _settings(tmp_path).key_file.read_bytes() == key


def test_another_data_dir_has_another_key(tmp_path: Path) -> None:
    blob = encrypt("value", "ctx", _settings(tmp_path / "one"))
    with pytest.raises(InvalidTag):
        decrypt(blob, "ctx", _settings(tmp_path / "two"))


def test_configured_secret_key_is_used_and_no_key_file_is_written(tmp_path: Path) -> None:
    settings = _settings(tmp_path, secret_key="configured-key")
    blob = encrypt("value", "ctx", settings)
    assert not settings.key_file.exists()
    assert decrypt(blob, "ctx", _settings(tmp_path / "elsewhere", "configured-key")) == "value"
    with pytest.raises(InvalidTag):
        decrypt(blob, "ctx", _settings(tmp_path, secret_key="another-key"))
