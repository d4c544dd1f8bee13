"""The artifact store behaves the same on a local directory and on S3 (moto's standalone server,
real HTTP through boto3): among others, handles appending to one log at the same time lose none
of each other's lines. S3 adds SSE-KMS, errors that name the bucket, and a part object per
appending handle."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from orchestrator.artifacts.store import (
    ArtifactStore,
    ArtifactStoreError,
    LocalStore,
    S3Store,
    log_key,
    open_store,
    plan_json_key,
    plan_key,
)
from orchestrator.settings import Settings
from tests.support.moto_server import MotoServer, moto_server

PREFIX = "stackrun/artifacts"
PLAN_BYTES = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def aws_env(moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials and region as a deployment would have them; the endpoint comes only from
    STACKRUN_S3_ENDPOINT_URL, and no AWS config of this machine leaks in."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in moto.env().items():
        if name != "AWS_ENDPOINT_URL":
            monkeypatch.setenv(name, value)


def new_bucket(moto: MotoServer) -> str:
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    moto.client("s3").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": moto.region}
    )
    return name


def s3_settings(moto: MotoServer, bucket: str, **more: Any) -> Settings:
    return Settings(artifacts_url=f"s3://{bucket}/{PREFIX}", s3_endpoint_url=moto.url, **more)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if request.param == "local":
        return open_store(Settings(data_dir=tmp_path))
    moto: MotoServer = request.getfixturevalue("moto")
    request.getfixturevalue("aws_env")
    return open_store(s3_settings(moto, new_bucket(moto)))


def eventually(read: Callable[[], bytes], wanted: bytes, seconds: float = 10) -> bytes:
    """What `read` gives once it gives `wanted` (or when `seconds` are up); missing is b""."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            got = read()
        except KeyError:
            got = b""
        if got == wanted or time.monotonic() >= deadline:
            return got
        time.sleep(0.02)


# --- the same behaviour on both stores -------------------------------------------------------


def test_the_url_selects_the_store(tmp_path: Path, moto: MotoServer, aws_env: None) -> None:
    assert isinstance(open_store(Settings(data_dir=tmp_path)), LocalStore)
    s3 = open_store(s3_settings(moto, "some-bucket"))
    assert isinstance(s3, S3Store)
    assert (s3.bucket, s3.prefix) == ("some-bucket", PREFIX)
    with pytest.raises(ValueError, match="no bucket"):
        open_store(Settings(artifacts_url="s3:///runs"))
    with pytest.raises(ValueError, match="file:///path or s3://bucket/prefix"):
        open_store(Settings(artifacts_url="gs://bucket/runs"))


def test_binary_artifacts_come_back_byte_for_byte_including_a_5_mb_plan(
    store: ArtifactStore,
) -> None:
    plan = os.urandom(PLAN_BYTES)
    every_byte = bytes(range(256)) * 4
    store.put(plan_key(1), plan)
    store.put(plan_json_key(1), every_byte)
    assert store.get(plan_key(1)) == plan
    assert store.get(plan_json_key(1)) == every_byte


def test_putting_a_key_again_replaces_its_content(store: ArtifactStore) -> None:
    store.put("runs/2/plan.json", b'{"old": true}')
    store.put("runs/2/plan.json", b"{}")
    assert store.get("runs/2/plan.json") == b"{}"


def test_getting_a_missing_key_raises_key_error_naming_the_key(store: ArtifactStore) -> None:
    with pytest.raises(KeyError) as missing:
        store.get("runs/404/plan.tfplan")
    assert missing.value.args == ("runs/404/plan.tfplan",)


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "runs/../../outside", ".."])
def test_keys_that_escape_the_store_are_refused(store: ArtifactStore, key: str) -> None:
    with pytest.raises(ValueError, match="escapes the store"):
        store.put(key, b"x")
    with pytest.raises(ValueError, match="escapes the store"):
        store.get(key)
    with pytest.raises(ValueError, match="escapes the store"):
        store.open_append(key)


def test_a_key_with_dots_that_stays_inside_names_its_normal_form(store: ArtifactStore) -> None:
    store.put("runs/3/../4/./plan.json", b"four")
    assert store.get("runs/4/plan.json") == b"four"


def test_a_streamed_log_is_readable_after_flush_and_complete_after_close(
    store: ArtifactStore,
) -> None:
    def read() -> bytes:
        return store.get(log_key(5))

    handle = store.open_append(log_key(5))
    handle.write("stackrun: planning acme/platform/app\n")
    handle.flush()
    first = b"stackrun: planning acme/platform/app\n"
    assert eventually(read, first, seconds=1) == first
    for number in range(200):
        handle.write(f"line {number} ✓\n")
        handle.flush()
    handle.close()
    expected = "stackrun: planning acme/platform/app\n" + "".join(
        f"line {n} ✓\n" for n in range(200)
    )
    assert store.get(log_key(5)).decode("utf-8") == expected


def test_reopening_a_log_keeps_its_earlier_content(store: ArtifactStore) -> None:
    plan = store.open_append(log_key(6))
    plan.write("plan: 2 to add\n")
    plan.close()
    apply = store.open_append(log_key(6))
    apply.write("apply: complete\n")
    apply.flush()
    apply.close()
    assert store.get(log_key(6)) == b"plan: 2 to add\napply: complete\n"


def test_a_log_opened_and_closed_without_writes_exists_and_is_empty(
    store: ArtifactStore,
) -> None:
    store.open_append(log_key(7)).close()
    assert store.get(log_key(7)) == b""


def test_a_closed_log_refuses_writes(store: ArtifactStore) -> None:
    handle = store.open_append(log_key(8))
    handle.close()
    with pytest.raises(ValueError):
        handle.write("late\n")


@pytest.mark.parametrize("first_to_close", ["plan", "apply"])
def test_two_handles_appending_to_one_log_at_once_lose_none_of_each_others_lines(
    store: ArtifactStore, first_to_close: str
) -> None:
    """The plan task still closing its log while the apply task of the same run already
    appends to it: both handles are open together, their lines interleave (each flushed, as
    RunLog does), and whichever closes last erases nothing the other wrote."""
    earlier = store.open_append(log_key(15))
    earlier.write("earlier: queued\n")
    earlier.close()
    handles = {"plan": store.open_append(log_key(15)), "apply": store.open_append(log_key(15))}
    for number in range(50):
        for writer, handle in handles.items():
            handle.write(f"{writer}: line {number}\n")
            handle.flush()
    handles[first_to_close].close()
    for handle in handles.values():
        handle.close()

    lines = store.get(log_key(15)).decode("utf-8").splitlines()
    assert lines[0] == "earlier: queued"
    assert len(lines) == 1 + 2 * 50
    for writer in handles:
        assert [line for line in lines if line.startswith(f"{writer}: ")] == [
            f"{writer}: line {n}" for n in range(50)
        ]


# --- S3 only ---------------------------------------------------------------------------------


PART_NAME = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{16}")
"""A part's name under `<key>.parts/`: the UTC time it was opened (microseconds), random hex."""


def bucket_keys(moto: MotoServer, bucket: str) -> list[str]:
    listed = moto.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_objects_live_under_the_url_prefix(moto: MotoServer, aws_env: None) -> None:
    bucket = new_bucket(moto)
    store = open_store(s3_settings(moto, bucket))
    store.put(plan_key(9), b"plan")
    with store.open_append(log_key(9)) as handle:
        handle.write("log\n")
    part, plan = bucket_keys(moto, bucket)
    assert plan == f"{PREFIX}/runs/9/plan.tfplan"
    assert part.startswith(f"{PREFIX}/runs/9/log.txt.parts/")
    assert PART_NAME.fullmatch(part.rsplit("/", 1)[1])


def test_each_appending_handle_writes_its_own_part_and_a_put_object_comes_first(
    moto: MotoServer, aws_env: None
) -> None:
    """Every handle uploads only its own part object, named so that parts sort in the order
    they were opened; reading the key gives the plain object `put` wrote, then the parts."""
    bucket = new_bucket(moto)
    store = open_store(s3_settings(moto, bucket))
    plain_key = f"{PREFIX}/{log_key(16)}"
    first, second = store.open_append(log_key(16)), store.open_append(log_key(16))
    first.write("first: one\n")
    second.write("second: one\n")
    first.write("first: two\n")
    second.close()
    first.close()
    store.put(log_key(16), b"put: header\n")

    s3 = moto.client("s3")
    keys = bucket_keys(moto, bucket)
    assert keys[0] == plain_key
    parts = keys[1:]
    assert len(parts) == 2
    for part in parts:
        assert part.startswith(f"{plain_key}.parts/")
        assert PART_NAME.fullmatch(part.removeprefix(f"{plain_key}.parts/"))
    contents = [s3.get_object(Bucket=bucket, Key=part)["Body"].read() for part in parts]
    assert contents == [b"first: one\nfirst: two\n", b"second: one\n"]
    assert s3.get_object(Bucket=bucket, Key=plain_key)["Body"].read() == b"put: header\n"
    assert store.get(log_key(16)) == b"put: header\nfirst: one\nfirst: two\nsecond: one\n"


def test_reading_a_log_joins_parts_across_listing_pages(moto: MotoServer, aws_env: None) -> None:
    bucket = new_bucket(moto)
    store = open_store(s3_settings(moto, bucket))
    s3 = moto.client("s3")

    def put(number: int) -> None:
        key = f"{PREFIX}/{log_key(17)}.parts/{number:04d}"
        s3.put_object(Bucket=bucket, Key=key, Body=f"{number}\n".encode())

    with ThreadPoolExecutor(max_workers=16) as pool:  # setup only: the store reads as it does
        list(pool.map(put, range(1005)))
    assert store.get(log_key(17)) == "".join(f"{n}\n" for n in range(1005)).encode()


def test_with_a_kms_key_every_object_is_written_with_sse_kms(
    moto: MotoServer, aws_env: None
) -> None:
    key_id = moto.client("kms").create_key(Description="stackrun artifacts")["KeyMetadata"]["KeyId"]
    bucket = new_bucket(moto)
    store = open_store(s3_settings(moto, bucket, artifacts_kms_key_id=key_id))
    store.put(plan_key(10), b"plan bytes")
    with store.open_append(log_key(10)) as handle:
        handle.write("streamed\n")
        handle.flush()
    s3 = moto.client("s3")
    keys = bucket_keys(moto, bucket)
    assert len(keys) == 2
    assert keys[0].startswith(f"{PREFIX}/{log_key(10)}.parts/")
    assert keys[1] == f"{PREFIX}/{plan_key(10)}"
    for key in keys:
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert key_id in head["SSEKMSKeyId"]
    assert store.get(plan_key(10)) == b"plan bytes"
    assert store.get(log_key(10)) == b"streamed\n"


def test_without_a_kms_key_objects_are_not_kms_encrypted(moto: MotoServer, aws_env: None) -> None:
    bucket = new_bucket(moto)
    open_store(s3_settings(moto, bucket)).put(plan_key(11), b"plan")
    head = moto.client("s3").head_object(Bucket=bucket, Key=f"{PREFIX}/{plan_key(11)}")
    assert head.get("ServerSideEncryption") != "aws:kms"
    assert "SSEKMSKeyId" not in head


def test_a_bucket_that_does_not_exist_is_an_error_naming_it_not_a_missing_key(
    moto: MotoServer, aws_env: None
) -> None:
    store = open_store(s3_settings(moto, "no-such-stackrun-bucket"))
    attempts: dict[str, Callable[[], object]] = {
        "PutObject": lambda: store.put(plan_key(12), b"plan"),
        "GetObject": lambda: store.get(plan_key(12)),
    }
    for operation, attempt in attempts.items():
        with pytest.raises(ArtifactStoreError) as failed:
            attempt()
        message = str(failed.value)
        assert operation in message
        assert "'no-such-stackrun-bucket'" in message
        assert f"{PREFIX}/{plan_key(12)}" in message
        assert "NoSuchBucket" in message
        assert os.environ["AWS_SECRET_ACCESS_KEY"] not in message
    with pytest.raises(ArtifactStoreError) as failed_open:
        store.open_append(log_key(12))
    message = str(failed_open.value)
    assert "PutObject failed for bucket 'no-such-stackrun-bucket'" in message
    assert f"{PREFIX}/{log_key(12)}.parts/" in message
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in message


def test_a_streamed_log_is_uploaded_at_most_every_interval_and_pending_lines_follow(
    moto: MotoServer, aws_env: None
) -> None:
    """RunLog flushes every line: uploads are throttled, and what a flush left pending goes up
    when the interval has passed, without another write."""
    bucket = new_bucket(moto)
    store = S3Store(bucket, PREFIX, endpoint_url=moto.url, append_upload_seconds=1.5)

    def read() -> bytes:
        return store.get(log_key(13))

    handle = store.open_append(log_key(13))
    handle.write("first\n")
    handle.flush()
    assert eventually(read, b"first\n", seconds=1) == b"first\n"
    handle.write("second\n")
    handle.flush()
    assert read() == b"first\n"
    assert eventually(read, b"first\nsecond\n", seconds=5) == b"first\nsecond\n"
    handle.write("third\n")
    handle.close()
    assert read() == b"first\nsecond\nthird\n"


def test_a_failing_final_upload_is_raised_by_close(moto: MotoServer, aws_env: None) -> None:
    bucket = new_bucket(moto)
    store = S3Store(bucket, PREFIX, endpoint_url=moto.url)
    handle = store.open_append(log_key(14))
    handle.write("line\n")
    s3 = moto.client("s3")
    for key in bucket_keys(moto, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    s3.delete_bucket(Bucket=bucket)
    with pytest.raises(ArtifactStoreError, match=f"PutObject failed for bucket '{bucket}'"):
        handle.close()
    assert handle.closed


def test_the_region_defaults_to_us_east_1_and_follows_the_aws_environment(
    moto: MotoServer, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert S3Store("b", endpoint_url=moto.url).client.meta.region_name == moto.region
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    assert S3Store("b", endpoint_url=moto.url).client.meta.region_name == "us-east-1"
