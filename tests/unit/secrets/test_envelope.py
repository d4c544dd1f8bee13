"""Envelope encryption (orchestrator/secrets/envelope.py): the local key file, and AWS KMS as
moto's standalone server over real HTTP."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from orchestrator.secrets import envelope
from orchestrator.secrets.envelope import SecretsUnavailable, SecretTampered, seal, unseal
from orchestrator.settings import Settings
from tests.support.moto_server import MotoServer, moto_server

PLAINTEXT = "db-password: s3cr3t-ü-value\nsecond line"
ROW = {"stackrun:scope": "stack", "stackrun:owner": "platform-app", "name": "DB_PASSWORD"}
OTHER_ROW = {"stackrun:scope": "stack", "stackrun:owner": "platform-app", "name": "API_TOKEN"}


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(autouse=True)
def fresh_kms_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test makes its own KMS clients (they keep the credentials seen when made)."""
    monkeypatch.setattr(envelope, "_clients", {})


@pytest.fixture
def aws_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in moto.env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def key_id(moto: MotoServer) -> str:
    return str(moto.client("kms").create_key()["KeyMetadata"]["KeyId"])


def _local(data_dir: Path) -> Settings:
    # Everything explicit: STACKRUN_* variables in the environment cannot leak in.
    return Settings(data_dir=data_dir, secret_key=None, kms_key_id=None, aws_endpoint_url=None)


def _kms(data_dir: Path, key_id: str, endpoint: str) -> Settings:
    return Settings(
        data_dir=data_dir, secret_key=None, kms_key_id=key_id, aws_endpoint_url=endpoint
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _parts(blob: bytes) -> tuple[int, int, bytes, bytes, bytes]:
    """Version, wrapping kind, wrapped key, nonce, ciphertext (the documented blob layout)."""
    version, kind, length = struct.unpack_from(">BBH", blob)
    wrapped = blob[4 : 4 + length]
    return version, kind, wrapped, blob[4 + length : 16 + length], blob[16 + length :]


def _assert_secret_free(text: str) -> None:
    for fragment in (PLAINTEXT, "s3cr3t", "second line"):
        assert fragment not in text


# --- local key file -------------------------------------------------------------------------


def test_local_round_trip(tmp_path: Path) -> None:
    settings = _local(tmp_path)
    blob = seal(PLAINTEXT, ROW, settings)
    assert unseal(blob, ROW, settings) == PLAINTEXT
    assert unseal(seal("", ROW, settings), ROW, settings) == ""
    version, kind, wrapped, nonce, _ = _parts(blob)
    assert (version, kind) == (envelope.VERSION, envelope.WRAP_LOCAL)
    assert len(wrapped) == 12 + 32 + 16 and len(nonce) == 12
    assert settings.key_file.exists()


def test_local_blob_reads_with_later_settings_and_any_context_order(tmp_path: Path) -> None:
    blob = seal(PLAINTEXT, ROW, _local(tmp_path))
    reordered = dict(reversed(list(ROW.items())))
    assert unseal(blob, reordered, _local(tmp_path)) == PLAINTEXT


def test_the_plaintext_never_appears_in_the_blob(tmp_path: Path) -> None:
    blob = seal(PLAINTEXT, ROW, _local(tmp_path))
    assert PLAINTEXT.encode() not in blob
    assert b"s3cr3t" not in blob


def test_each_local_blob_has_its_own_data_key_and_nonce(tmp_path: Path) -> None:
    settings = _local(tmp_path)
    first, second = (_parts(seal(PLAINTEXT, ROW, settings)) for _ in range(2))
    assert first[2] != second[2]  # wrapped data key
    assert first[3] != second[3]  # nonce
    assert first[4] != second[4]  # ciphertext


def test_a_local_ciphertext_swapped_between_rows_fails(tmp_path: Path) -> None:
    settings = _local(tmp_path)
    mine, theirs = seal(PLAINTEXT, ROW, settings), seal("other value", OTHER_ROW, settings)
    with pytest.raises(SecretTampered) as failed:
        unseal(theirs, ROW, settings)
    with pytest.raises(SecretTampered):
        unseal(mine, OTHER_ROW, settings)
    message = str(failed.value)
    assert "does not belong to name=DB_PASSWORD, stackrun:owner=platform-app" in message
    _assert_secret_free(message)
    assert "other value" not in message


def test_a_local_data_key_rewrapped_by_hand_cannot_move_either(tmp_path: Path) -> None:
    """Only the value's layer moved (wrapped key kept): its associated data still fails."""
    settings = _local(tmp_path)
    mine, theirs = _parts(seal(PLAINTEXT, ROW, settings)), _parts(seal("x", OTHER_ROW, settings))
    spliced = struct.pack(">BBH", 1, 1, len(mine[2])) + mine[2] + theirs[3] + theirs[4]
    with pytest.raises(SecretTampered):
        unseal(spliced, ROW, settings)


@pytest.mark.parametrize(
    "where",
    [
        pytest.param(4, id="wrapped-key"),
        pytest.param(4 + 60, id="nonce"),
        pytest.param(4 + 60 + 12, id="ciphertext"),
        pytest.param(-1, id="tag"),
    ],
)
def test_an_altered_local_byte_fails(tmp_path: Path, where: int) -> None:
    settings = _local(tmp_path)
    blob = bytearray(seal(PLAINTEXT, ROW, settings))
    blob[where] ^= 0x01
    with pytest.raises(SecretTampered) as failed:
        unseal(bytes(blob), ROW, settings)
    _assert_secret_free(str(failed.value))


@pytest.mark.parametrize(
    ("blob", "said"),
    [
        pytest.param(b"\x01", "too short", id="too-short"),
        pytest.param(b"\x07\x01\x00\x00" + bytes(40), "unknown format version 7", id="version"),
        pytest.param(b"\x01\x09\x00\x00" + bytes(40), "key wrapping 9", id="kind"),
        pytest.param(b"\x01\x01\x00\x3c" + bytes(20), "truncated", id="truncated"),
    ],
)
def test_a_malformed_blob_is_refused_as_tampered(tmp_path: Path, blob: bytes, said: str) -> None:
    with pytest.raises(SecretTampered, match=said):
        unseal(blob, ROW, _local(tmp_path))


def test_another_local_master_key_cannot_read_the_blob(tmp_path: Path) -> None:
    blob = seal(PLAINTEXT, ROW, _local(tmp_path / "one"))
    (tmp_path / "two").mkdir()
    seal("make a key", ROW, _local(tmp_path / "two"))
    with pytest.raises(SecretTampered, match="another local master key"):
        unseal(blob, ROW, _local(tmp_path / "two"))


def test_unsealing_without_the_key_file_fails_closed_and_makes_no_key(tmp_path: Path) -> None:
    blob = seal(PLAINTEXT, ROW, _local(tmp_path / "one"))
    settings = _local(tmp_path / "two")
    with pytest.raises(SecretsUnavailable, match=r"local key file .* is missing"):
        unseal(blob, ROW, settings)
    assert not settings.key_file.exists()


def test_a_configured_secret_key_is_the_local_master_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="configured-key", kms_key_id=None)
    blob = seal(PLAINTEXT, ROW, settings)
    assert not settings.key_file.exists()
    assert unseal(blob, ROW, Settings(data_dir=tmp_path / "x", secret_key="configured-key")) == (
        PLAINTEXT
    )


def test_a_context_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="encryption context"):
        seal(PLAINTEXT, {}, _local(tmp_path))


# --- AWS KMS (moto over HTTP) -------------------------------------------------------------


def test_kms_round_trip_wraps_the_data_key_with_kms_bound_to_the_row(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path
) -> None:
    settings = _kms(tmp_path, key_id, moto.url)
    blob = seal(PLAINTEXT, ROW, settings)
    assert unseal(blob, ROW, settings) == PLAINTEXT
    version, kind, wrapped, _, _ = _parts(blob)
    assert (version, kind) == (envelope.VERSION, envelope.WRAP_KMS)
    answer = moto.client("kms").decrypt(CiphertextBlob=wrapped, EncryptionContext=ROW)
    assert answer["KeyId"].endswith(key_id)
    data_key = answer["Plaintext"]
    assert len(data_key) == 32
    assert data_key not in blob
    assert PLAINTEXT.encode() not in blob
    assert not settings.key_file.exists()  # no local key is involved


def test_each_kms_blob_has_its_own_data_key_and_nonce(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path
) -> None:
    settings = _kms(tmp_path, key_id, moto.url)
    first, second = (_parts(seal(PLAINTEXT, ROW, settings)) for _ in range(2))
    kms = moto.client("kms")
    keys = [
        kms.decrypt(CiphertextBlob=p[2], EncryptionContext=ROW)["Plaintext"]
        for p in (first, second)
    ]
    assert keys[0] != keys[1]
    assert first[3] != second[3]
    assert first[4] != second[4]


def test_a_kms_ciphertext_swapped_between_rows_fails(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path
) -> None:
    settings = _kms(tmp_path, key_id, moto.url)
    mine, theirs = seal(PLAINTEXT, ROW, settings), seal("other value", OTHER_ROW, settings)
    with pytest.raises(SecretTampered) as failed:
        unseal(theirs, ROW, settings)
    with pytest.raises(SecretTampered):
        unseal(mine, OTHER_ROW, settings)
    assert "does not belong to name=DB_PASSWORD" in str(failed.value)
    _assert_secret_free(str(failed.value))


@pytest.mark.parametrize("part", ["wrapped-key", "tag"])
def test_an_altered_kms_blob_fails(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path, part: str
) -> None:
    settings = _kms(tmp_path, key_id, moto.url)
    blob = bytearray(seal(PLAINTEXT, ROW, settings))
    # The end of KMS's opaque blob is its ciphertext (its start may name the key).
    where = 4 + len(_parts(bytes(blob))[2]) - 1 if part == "wrapped-key" else -1
    blob[where] ^= 0x01
    with pytest.raises(SecretTampered) as failed:
        unseal(bytes(blob), ROW, settings)
    _assert_secret_free(str(failed.value))


def test_each_blob_is_unsealed_by_the_wrapping_it_names(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path
) -> None:
    """KMS settings still read local blobs (without calling KMS); a KMS blob needs KMS even
    after the key id is no longer configured."""
    local_blob = seal(PLAINTEXT, ROW, _local(tmp_path))
    unreachable = _kms(tmp_path, key_id, f"http://127.0.0.1:{_closed_port()}")
    assert unseal(local_blob, ROW, unreachable) == PLAINTEXT
    kms_blob = seal(PLAINTEXT, ROW, _kms(tmp_path, key_id, moto.url))
    no_key_id = Settings(data_dir=tmp_path, secret_key=None, aws_endpoint_url=moto.url)
    assert unseal(kms_blob, ROW, no_key_id) == PLAINTEXT
    no_key_id_unreachable = Settings(
        data_dir=tmp_path, secret_key=None, aws_endpoint_url=unreachable.aws_endpoint_url
    )
    with pytest.raises(SecretsUnavailable, match="KMS key named in the ciphertext: Could not"):
        unseal(kms_blob, ROW, no_key_id_unreachable)


def test_kms_unreachable_fails_closed_quickly_with_a_clear_message(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path
) -> None:
    blob = seal(PLAINTEXT, ROW, _kms(tmp_path, key_id, moto.url))
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    settings = _kms(tmp_path, key_id, endpoint)
    started = time.monotonic()
    with pytest.raises(SecretsUnavailable) as sealing:
        seal(PLAINTEXT, ROW, settings)
    with pytest.raises(SecretsUnavailable) as unsealing:
        unseal(blob, ROW, settings)
    elapsed = time.monotonic() - started
    for failed in (sealing, unsealing):
        message = str(failed.value)
        assert message.startswith(f"KMS key {key_id}: Could not connect to the endpoint URL")
        assert endpoint in message
        _assert_secret_free(message)
        assert failed.value.__cause__ is None
    assert elapsed < 10, f"an unreachable KMS took {elapsed:.1f}s to fail twice"
    assert not settings.key_file.exists()  # no silent fallback to a local key


def test_an_unknown_kms_key_fails_closed(moto: MotoServer, aws_env: None, tmp_path: Path) -> None:
    missing = "0b8e1a3c-0000-4000-8000-000000000000"
    with pytest.raises(SecretsUnavailable) as failed:
        seal(PLAINTEXT, ROW, _kms(tmp_path, missing, moto.url))
    assert str(failed.value).startswith(f"KMS key {missing}: NotFoundException: ")


def test_no_aws_credentials_fails_closed(
    moto: MotoServer, key_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", moto.region)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SecretsUnavailable, match=f"KMS key {key_id}: Unable to locate credentials"):
        seal(PLAINTEXT, ROW, _kms(tmp_path, key_id, moto.url))


def test_kms_refusing_the_worker_fails_closed(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's IAM enforcement: a user without kms:* is denied GenerateDataKey and Decrypt."""
    settings = _kms(tmp_path, key_id, moto.url)
    blob = seal(PLAINTEXT, ROW, settings)
    iam = moto.client("iam")
    iam.create_user(UserName="no-kms")
    keys = iam.create_access_key(UserName="no-kms")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
    monkeypatch.setattr(envelope, "_clients", {})  # a client keeps the credentials it was made with
    httpx.post(f"{moto.url}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
    try:
        with pytest.raises(SecretsUnavailable) as sealing:
            seal(PLAINTEXT, ROW, settings)
        with pytest.raises(SecretsUnavailable) as unsealing:
            unseal(blob, ROW, settings)
    finally:
        httpx.post(f"{moto.url}/moto-api/reset-auth", content=b"inf", timeout=10)
    assert "AccessDenied" in str(sealing.value) and "kms:GenerateDataKey" in str(sealing.value)
    assert "AccessDenied" in str(unsealing.value) and "kms:Decrypt" in str(unsealing.value)
    for failed in (sealing, unsealing):
        assert str(failed.value).startswith(f"KMS key {key_id}: ")
        _assert_secret_free(str(failed.value))


class KeyStateProxy:
    """moto (5.x) serves GenerateDataKey and Decrypt with a disabled key; AWS refuses them.
    This proxy forwards to moto and answers as KMS does from the key's state in moto."""

    def __init__(self, moto: MotoServer) -> None:
        self.moto = moto
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy.answer(self, body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        names = ("Content-Type", "X-Amz-Target", "X-Amz-Date", "Authorization")
        headers = {name: handler.headers[name] for name in names if handler.headers[name]}
        forwarded = httpx.post(self.moto.url + handler.path, content=body, headers=headers)
        status, content = forwarded.status_code, forwarded.content
        arn = forwarded.json().get("KeyId") if status == 200 else None
        if arn:
            state = self.moto.client("kms").describe_key(KeyId=arn)["KeyMetadata"]["KeyState"]
            refusal = {
                "Disabled": ("DisabledException", f"{arn} is disabled."),
                "PendingDeletion": ("KMSInvalidStateException", f"{arn} is pending deletion."),
            }.get(state)
            if refusal is not None:
                status = 400
                content = json.dumps({"__type": refusal[0], "message": refusal[1]}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/x-amz-json-1.1")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    def __enter__(self) -> KeyStateProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("retire", "said"),
    [
        pytest.param("disable", "DisabledException: arn:aws:kms:", id="disabled"),
        pytest.param("schedule_deletion", "KMSInvalidStateException: arn:aws:kms:", id="deleting"),
    ],
)
def test_a_disabled_or_deleted_kms_key_fails_closed(
    moto: MotoServer, aws_env: None, key_id: str, tmp_path: Path, retire: str, said: str
) -> None:
    kms = moto.client("kms")
    with KeyStateProxy(moto) as proxy:
        settings = _kms(tmp_path, key_id, proxy.url)
        blob = seal(PLAINTEXT, ROW, settings)
        assert unseal(blob, ROW, settings) == PLAINTEXT  # the proxy passes an enabled key
        if retire == "disable":
            kms.disable_key(KeyId=key_id)
        else:
            kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        with pytest.raises(SecretsUnavailable) as sealing:
            seal(PLAINTEXT, ROW, settings)
        with pytest.raises(SecretsUnavailable) as unsealing:
            unseal(blob, ROW, settings)
    for failed in (sealing, unsealing):
        message = str(failed.value)
        assert message.startswith(f"KMS key {key_id}: {said}")
        _assert_secret_free(message)
