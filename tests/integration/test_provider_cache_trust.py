"""A proposal cannot plant a provider that a trusted run would execute (issue 15, found by the
attack after it). Terraform installs providers from an implied `terraform.d/plugins` mirror in
the working directory when the operator's CLI config has no `provider_installation` block, and
`init` copies what it installs into the plugin cache: a branch could put a package named
`hashicorp/<anything>` into the cache every run shares. Untrusted runs fill a cache of their own."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from tests.integration.harness import ZERO, Deployment, GitPlatform, start_embedded

pytestmark = pytest.mark.integration

SECRET = "cache-webhook-secret"
PLANT_TF = """
terraform {
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "9.9.9"
    }
  }
}
resource "null_resource" "planted" {}
"""
FAKE_PROVIDER = "#!/bin/sh\necho 'the planted provider ran' >&2\nexit 1\n"


def _package() -> bytes:
    """A packed provider (the layout of a filesystem mirror) whose program is the attacker's."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entry = zipfile.ZipInfo("terraform-provider-null_v9.9.9")
        entry.external_attr = 0o755 << 16
        archive.writestr(entry, FAKE_PROVIDER)
    return buffer.getvalue()


def _run_at(deployment: Deployment, sha: str) -> int:
    found = deployment.wait(
        lambda: [r for r in deployment.runs() if r["commit"]["sha"] == sha], f"a run at {sha}"
    )
    return int(found[0]["id"])


def test_a_proposal_cannot_plant_a_provider_in_the_cache_trusted_runs_use(tmp_path: Path) -> None:
    config = tmp_path / "implied-mirrors.tfrc"
    config.write_text("# no provider_installation: terraform uses its implied mirrors\n")
    deployment = start_embedded(tmp_path / "stackrun", config)
    try:
        platform = GitPlatform(tmp_path / "git")
        deployment.register(platform, SECRET)
        files = {
            "app/stackrun.hcl": "stack {}\n",
            "app/main.tf": 'output "a" {\n  value = "a"\n}\n',
        }
        before, after = platform.commit(files)
        assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202
        deployment.wait_run_state(_run_at(deployment, after), {"UNCONFIRMED", "FINISHED"})

        mirror = platform.work / "app/terraform.d/plugins/registry.terraform.io/hashicorp/null"
        mirror.mkdir(parents=True)
        (mirror / "terraform-provider-null_9.9.9_linux_amd64.zip").write_bytes(_package())
        sha = platform.commit_on("feature-plant", {"app/plant.tf": PLANT_TF})
        body = platform.push_body(ZERO, sha, pusher="mallory", branch="feature-plant")
        assert deployment.webhook(body, SECRET).status_code == 202
        proposed = deployment.wait_run_state(_run_at(deployment, sha), {"FAILED", "FINISHED"})
        log = deployment.logs_of(proposed["id"])
        assert "Installed hashicorp/null v9.9.9 (unauthenticated)" in log, log

        shared = Path(deployment.env["STACKRUN_DATA_DIR"]) / "plugin-cache"
        planted = sorted(str(p.relative_to(shared)) for p in shared.rglob("*null*"))
        assert planted == [], f"the proposal planted {planted} in the trusted runs' cache"
    finally:
        deployment.stop()
