"""The packaging lets terraform run in its sandbox (issue 15, docs/SECURITY.md): the image
installs bubblewrap and refuses to run terraform without it, and the chart's and compose's
worker containers may create the user namespace bwrap needs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.helm_chart import PRODUCTION_VALUES, render, values_file

ROOT = Path(__file__).resolve().parents[3]


def _final_stage(dockerfile: str) -> str:
    return re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[-1]


def test_the_image_installs_bubblewrap_and_runs_terraform_only_under_it() -> None:
    final = _final_stage((ROOT / "Dockerfile").read_text())
    install = re.search(r"apt-get install [^&]*", final, re.DOTALL)
    assert install is not None and "bubblewrap" in install.group(0).split()
    assert re.search(r"^\s*STACKRUN_SANDBOX=bwrap\b", final, re.MULTILINE)
    assert re.search(r"^USER 10001", final, re.MULTILINE), "bwrap in a user namespace, not root"


def _worker_container(values: dict[str, Any] | None) -> dict[str, Any]:
    (worker,) = [
        m.document for m in render(values) if m.kind == "Deployment" and m.name.endswith("-worker")
    ]
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    return dict(container)


@pytest.mark.parametrize("example", ["default", "production"])
def test_the_chart_worker_runs_terraform_under_bwrap_with_unshare_allowed(example: str) -> None:
    values = values_file(PRODUCTION_VALUES) if example == "production" else None
    container = _worker_container(values)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["STACKRUN_SANDBOX"] == "bwrap"
    seccomp = container["securityContext"]["seccompProfile"]["type"]
    assert seccomp in ("Unconfined", "Localhost"), "RuntimeDefault refuses CLONE_NEWUSER"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_the_compose_worker_may_create_user_namespaces() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    worker = compose["services"]["worker"]
    assert "seccomp=unconfined" in worker["security_opt"]
