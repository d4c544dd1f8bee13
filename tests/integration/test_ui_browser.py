"""The web UI in Debian's Chromium against a real stackrun (API, worker and beat processes,
PostgreSQL, Redis, real Terraform): sign in and out, a viewer who cannot approve, the approve
flow of a waiting run with its log growing on the page, the DAG recolouring as runs finish, a
policy denial with its message, a form without its CSRF token refused, and no request ever
leaving the server. One deployment and one browser serve the whole module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.integration.conftest import flushed_redis, fresh_postgres_database
from tests.integration.harness import Deployment, GitPlatform, start_services
from tests.integration.ui_browser_support import (
    Guard,
    chromium,
    chromium_path,
    guarded_context,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.integration
SECRET = "ui-browser-secret"
XSS_MESSAGE = "add stacks <script>window.__xss = 1</script>"
NO_FORBIDDEN = """package spacelift
import rego.v1

deny contains sprintf("%s is forbidden on guarded stacks", [c.entity.address]) if {
  some c in input.spacelift.run.changes
  contains(c.entity.address, "forbidden")
}
"""
FILES = {
    "net/stackrun.hcl": "stack {}\n",
    "net/main.tf": (
        'resource "null_resource" "ticker" {\n'
        '  provisioner "local-exec" {\n'
        '    command = "for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done"\n'
        "  }\n}\n"
        'output "id" {\n  value = null_resource.ticker.id\n}\n'
    ),
    "app/stackrun.hcl": (
        'stack {\n  autodeploy = true\n  input "net_id" {\n    stack  = "../net"\n'
        '    output = "id"\n  }\n}\n'
    ),
    "app/main.tf": (
        'variable "net_id" {\n  default = ""\n}\n'
        'resource "null_resource" "app" {\n  triggers = { net = var.net_id }\n}\n'
    ),
    "guarded/stackrun.hcl": 'stack {\n  labels = ["guarded"]\n}\n',
    "guarded/main.tf": 'resource "null_resource" "forbidden" {}\n',
}


@dataclass
class Scene:
    deployment: Deployment
    pipeline: int
    runs: dict[str, int]
    browser: Browser
    guard: Guard

    def context(self, width: int = 1280) -> BrowserContext:
        return guarded_context(self.browser, self.guard, width)


def _push(deployment: Deployment, platform: GitPlatform) -> tuple[int, dict[str, int]]:
    before, after = platform.commit(FILES, XSS_MESSAGE)
    assert deployment.webhook(platform.push_body(before, after), SECRET).status_code == 202

    def all_three() -> list[dict[str, object]] | None:
        found = [r for r in deployment.runs() if r["commit"]["sha"] == after]  # type: ignore[index]
        return found if len(found) == 3 else None

    runs = deployment.wait(all_three, "the pipeline's three runs")
    by_name = {str(r["stack"]).rsplit("/", 1)[-1]: int(str(r["id"])) for r in runs}
    return int(str(runs[0]["pipeline"])), by_name


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory, tf_cli_config: Path) -> Iterator[Scene]:
    chromium_path()
    with fresh_postgres_database() as url:
        deployment = start_services(
            tmp_path_factory.mktemp("stackrun"), tf_cli_config, url, flushed_redis(), beat=True
        )
        try:
            platform = GitPlatform(tmp_path_factory.mktemp("git"), name="acme/ui")
            deployment.register(platform, SECRET)
            with deployment.client() as api:
                policy = {"name": "no-forbidden", "type": "plan", "body": NO_FORBIDDEN}
                created = api.post(
                    "/api/v1/policies", json={**policy, "attach_labels": ["guarded"]}
                )
                assert created.status_code == 201, created.text
            pipeline, runs = _push(deployment, platform)
            with chromium() as browser:
                yield Scene(deployment, pipeline, runs, browser, Guard(deployment.url))
        finally:
            deployment.stop()


def test_sign_in_and_out(scene: Scene) -> None:
    with scene.context() as context:
        page = context.new_page()
        page.goto("/stacks")
        expect(page).to_have_url(re.compile(r"/signin\?next=%2Fstacks$"))
        screenshot(page, "signin")
        sign_in(page, scene.deployment.token("viewer"), "/stacks")
        expect(page.locator("table")).to_contain_text("acme/ui/net")
        screenshot(page, "stacks")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(re.compile(r"/signin$"))
        page.goto("/runs")
        expect(page).to_have_url(re.compile(r"/signin\?next="))


def test_a_policy_denial_is_shown_with_its_message(scene: Scene) -> None:
    scene.deployment.wait_run_state(scene.runs["guarded"], {"FAILED"})
    with scene.context() as context:
        page = context.new_page()
        sign_in(page, scene.deployment.token("viewer"), f"/runs/{scene.runs['guarded']}")
        denial = page.locator(".policy.r-deny")
        expect(denial).to_contain_text("no-forbidden")
        expect(denial).to_contain_text("null_resource.forbidden is forbidden on guarded stacks")
        screenshot(page, "run-denied")


def test_a_viewer_sees_no_approve_button_and_the_server_refuses_one_forged(
    scene: Scene,
) -> None:
    net = scene.runs["net"]
    scene.deployment.wait_run_state(net, {"UNCONFIRMED"})
    with scene.context() as context:
        page = context.new_page()
        sign_in(page, scene.deployment.token("viewer"), f"/runs/{net}")
        expect(page.locator(".meta .state")).to_have_text("UNCONFIRMED")
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        assert page.evaluate("window.__xss") is None
        csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
        forged = page.request.post(
            f"/runs/{net}/approve", form={"csrf": csrf, "confirmed": "yes"}, max_redirects=0
        )
        assert forged.status == 403 and "needs approver" in forged.text()
        no_token = page.request.post(f"/runs/{net}/approve", form={"confirmed": "yes"})
        assert no_token.status == 403 and "CSRF" in no_token.text()
    assert scene.deployment.run(net)["state"] == "UNCONFIRMED"


def test_approve_streams_the_log_and_the_dag_recolours_without_a_reload(scene: Scene) -> None:
    net, app = scene.runs["net"], scene.runs["app"]
    scene.deployment.wait_run_state(net, {"UNCONFIRMED"})
    with scene.context() as context:
        dag_page = context.new_page()
        sign_in(dag_page, scene.deployment.token("approver"), f"/pipelines/{scene.pipeline}")
        dag_page.evaluate("window.__loaded = 'once'")
        net_node = dag_page.locator(f'[data-node="{net}"]')
        expect(net_node).to_have_class(re.compile("s-unconfirmed"))
        screenshot(dag_page, "pipeline")

        page = context.new_page()
        page.goto(f"/runs/{net}")
        screenshot(page, "run-waiting")
        page.get_by_role("button", name="Approve").click()
        confirm = page.locator(".confirm")
        expect(confirm).to_contain_text("acme/ui/net")
        expect(confirm).to_contain_text("+1 ~0 \u22120")
        screenshot(page, "approve-confirm")
        page.get_by_role("button", name="Yes, approve and apply").click()
        page.wait_for_url(f"**/runs/{net}")
        page.evaluate("window.__loaded = 'once'")
        log = page.locator("#log")
        expect(log).to_contain_text("tick-2", timeout=60_000)
        grown = log.inner_text()
        assert "tick-6" not in grown
        expect(log).to_contain_text("tick-6", timeout=30_000)
        expect(page.locator("#log-live")).to_contain_text("complete", timeout=30_000)
        expect(page.locator("#run-head .meta .state")).to_have_text("FINISHED")
        expect(page.get_by_role("button", name="Approve")).to_have_count(0)
        assert page.evaluate("window.__loaded") == "once"
        screenshot(page, "run")

        expect(net_node).to_have_class(re.compile("s-finished"), timeout=30_000)
        expect(dag_page.locator(f'[data-node="{app}"]')).to_have_class(
            re.compile("s-finished"), timeout=90_000
        )
        assert dag_page.evaluate("window.__loaded") == "once"
        screenshot(dag_page, "pipeline-finished")


def test_every_page_renders_for_an_admin(scene: Scene) -> None:
    pages = {
        "runs": "/runs",
        "pipelines": "/pipelines",
        "stack": "/stacks/acme/ui/app",
        "repository": "/repositories/1",
        "policies": "/policies",
        "policy": "/policies/no-forbidden",
        "audit": "/audit?action=run.",
    }
    with scene.context() as context:
        page = context.new_page()
        sign_in(page, scene.deployment.token("admin"), "/runs")
        for name, path in pages.items():
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            screenshot(page, name)
        expect(page.locator("table")).to_contain_text("run.approve")
        page.goto("/runs")
        page.get_by_label("State").select_option("FAILED")
        page.get_by_role("button", name="Filter").click()
        expect(page).to_have_url(re.compile(r"/runs\?state=FAILED"))
        expect(page.locator("tbody tr")).to_have_count(1)
        expect(page.locator("tbody")).to_contain_text("acme/ui/guarded")
        page.goto("/stacks/acme/ui/app")
        expect(page.locator("main")).to_contain_text("acme/ui/net")
        _playground_decides_without_storing(scene, page)
    with scene.context(width=390) as phone:
        page = phone.new_page()
        sign_in(page, scene.deployment.token("admin"), f"/runs/{scene.runs['net']}")
        screenshot(page, "run-phone")


def _playground_decides_without_storing(scene: Scene, page: Page) -> None:
    guarded = scene.runs["guarded"]
    stored = len(scene.deployment.run(guarded)["policy_evaluations"])
    page.goto("/policies/no-forbidden")
    page.get_by_label("Run id").fill(str(guarded))
    page.get_by_role("button", name="Evaluate (nothing is stored)").click()
    decision = page.locator("section.policy")
    expect(decision).to_contain_text("deny")
    expect(decision).to_contain_text("null_resource.forbidden is forbidden on guarded stacks")
    screenshot(page, "policy-playground")
    assert len(scene.deployment.run(guarded)["policy_evaluations"]) == stored


def test_no_request_left_the_server_and_the_console_stayed_clean(scene: Scene) -> None:
    """Also no Content-Security-Policy violation nor failed load in any page of the module."""
    assert scene.guard.left == []
    assert scene.guard.errors == []
