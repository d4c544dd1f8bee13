"""Debian's Chromium driven by Playwright for the UI's browser tests: found by path (its own
browser download is not reachable), launched headless without background networking, with
every request to another host aborted and recorded."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's chromium, or a skip (a failure under CI=true, where .ci/run installs it)."""
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        message = "Debian's chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=FLAGS
        )
        yield browser
        browser.close()


@dataclass
class Guard:
    """Requests that tried to leave the server: aborted, remembered for the test to assert."""

    server: str
    left: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside(self, url: str) -> bool:
        return not (url.startswith(self.server + "/") or url == self.server)

    def abort(self, route: Route) -> None:
        self.left.append(route.request.url)
        route.abort()


def guarded_context(browser: Browser, guard: Guard, width: int = 1280) -> BrowserContext:
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=guard.server)
    context.route(guard.outside, guard.abort)
    context.on("console", lambda m: guard.errors.append(m.text) if m.type == "error" else None)
    context.set_default_timeout(20_000)
    return context


def sign_in(page: Page, token: str, path: str = "/pipelines") -> None:
    page.goto(f"/signin?next={path}")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")


def screenshot(page: Page, name: str) -> None:
    """Into $STACKRUN_SCREENSHOTS (`make screenshots` sets docs/screenshots), else nowhere."""
    folder = os.environ.get("STACKRUN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
