"""The OpenAPI document tells the truth: schemathesis against a real `stackrun api` process on
a migrated database (SQLite, then PostgreSQL), with an admin token, a fixed seed and a
bounded example count.

Every operation is called with generated valid and invalid requests; a 5xx, a status the
document does not declare for the operation, a body or content type that does not match the
document, or invalid data that is accepted fails the test. Webhook deliveries and a run's own
routes get no valid signature or run credential here: they answer their documented 401.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from orchestrator.models import Event, Pipeline, Run, Stack
from tests.integration.conftest import fresh_postgres_database
from tests.integration.harness import GitPlatform, free_port, spawn

pytestmark = pytest.mark.integration

SEED = 20261206
MAX_EXAMPLES = 20
ADMIN = "contract-admin"
SECRET = "contract-secret-0123456789"

# A stack id is a path (`acme/platform/net`), so `PATCH /stacks/x/drift` is a PATCH of stack
# `x/drift`, not an undeclared method: the unsupported-method check cannot apply there.
PATH_TYPED = r"^/api/v1/stacks/\{stack_id\}"


@dataclass(frozen=True)
class ContractApi:
    url: str
    token: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]

    def state(self) -> str:
        """Whether the API process still runs, and the end of its log: what a failure needs."""
        code = self.process.poll()
        alive = "running" if code is None else f"exited with {code}"
        log = (self.data_dir / "api.log").read_text(errors="replace")[-4000:]
        return f"stackrun api {alive}; its log ends:\n{log}"


def _env(data_dir: Path, port: int, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKRUN_")}
    env.update(
        {
            "STACKRUN_DATA_DIR": str(data_dir),
            "STACKRUN_API_URL": f"http://127.0.0.1:{port}",
            "STACKRUN_DATABASE_URL": database_url,
            "STACKRUN_ALLOW_LOCAL_REPOSITORIES": "true",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"stackrun api exited early:\n{log.read_text()}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"stackrun api was not ready within 60 s:\n{log.read_text()}")


def _seed(api: ContractApi, platform: GitPlatform) -> None:
    """A registered repository (real git), and a stack, pipeline, run and delivery as rows, so
    that ids 1 exist and the views of real rows are checked too."""
    registered = httpx.post(
        f"{api.url}/api/v1/repositories",
        headers={"Authorization": f"Bearer {api.token}"},
        json={"name": platform.name, "clone_url": platform.clone_url, "webhook_secret": SECRET},
    )
    assert registered.status_code == 201, registered.text
    engine = create_engine(api.database_url)
    commit = platform.head
    with Session(engine) as session:
        session.add(Stack(id=f"{platform.name}/net", repository_id=1, path="net", name="net"))
        pipeline = Pipeline(repository_id=1, commit_sha=commit, branch="main")
        session.add(pipeline)
        session.add(
            Event(
                provider="github",
                delivery_id="delivery-1",
                event_type="push",
                repository_id=1,
                ref="refs/heads/main",
                before_sha="0" * 40,
                after_sha=commit,
                payload={},
                status="processed",
            )
        )
        session.flush()
        session.add(
            Run(
                stack_id=f"{platform.name}/net",
                pipeline_id=pipeline.id,
                kind="TRACKED",
                state="UNCONFIRMED",
                commit_sha=commit,
                branch="main",
                triggered_by="push:dev",
            )
        )
        session.commit()
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def contract_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ContractApi]:
    """The API on embedded SQLite, and on PostgreSQL (what production runs: it refuses what
    SQLite takes, such as a NUL in text or a string past its column's length)."""
    with ExitStack() as stack:
        data_dir = tmp_path_factory.mktemp("contract")
        if request.param == "postgresql":
            database_url = stack.enter_context(fresh_postgres_database())
        else:
            database_url = f"sqlite:///{data_dir / 'stackrun.db'}"
        yield from _running_api(tmp_path_factory, data_dir, database_url)


def _running_api(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, database_url: str
) -> Iterator[ContractApi]:
    port = free_port()
    env = _env(data_dir, port, database_url)
    _cli(env, "migrate")
    token = _cli(env, "tokens", "create", "--name", ADMIN, "--role", "admin").split()[-1]
    log = data_dir / "api.log"
    process = spawn(
        [sys.executable, "-m", "orchestrator.cli", "api", "--port", str(port)], env, log
    )
    api = ContractApi(f"http://127.0.0.1:{port}", token, data_dir, database_url, process)
    try:
        _wait_ready(api.url, process, log)
        platform = GitPlatform(tmp_path_factory.mktemp("contract-git"))
        platform.commit({"net/main.tf": 'resource "null_resource" "n" {}\n'})
        _seed(api, platform)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=30)


# schemathesis.toml for the run: the seed and example count bound it (well under 3 minutes on
# two CPUs); one worker keeps the order of requests, and so the run, the same every time.
CONFIG = f"""
seed = {SEED}
workers = 1
request-timeout = 30

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

# A schema-valid request may still break a rule only the service knows (a Rego body that
# does not compile, a cron expression, a clone URL rule): a 422 naming the rule, declared.
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422"]

# A stack id is a path (`acme/platform/net`): `PATCH /stacks/x/drift` is a PATCH of stack
# `x/drift`, so no method is undeclared at those URLs and `Allow` lists the stack's methods.
[[operations]]
include-path-regex = '^/api/v1/stacks/\\{{stack_id\\}}'
checks.unsupported_method.enabled = false
checks.allow_header_conformance.enabled = false
"""


def test_every_operation_answers_as_its_openapi_document_says(
    contract_api: ContractApi, tmp_path: Path
) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{contract_api.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {contract_api.token}",
    ]
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    summary = [line for line in done.stdout.splitlines() if " generated, " in line]
    print(*summary, sep="\n")
    assert done.returncode == 0, (
        done.stdout[-20000:] + done.stderr[-5000:] + "\n" + contract_api.state()
    )
    assert admin_still_works(contract_api), "the run revoked or broke the admin token"


def admin_still_works(api: ContractApi) -> bool:
    """Generated requests include token revocations; the run is only valid with its token."""
    answer = httpx.get(f"{api.url}/api/v1/stacks", headers={"Authorization": f"Bearer {api.token}"})
    return answer.status_code == 200
