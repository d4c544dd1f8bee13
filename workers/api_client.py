"""The worker's one door to the API for a run, authenticated with the run's own credential:
its environment (decrypted by the API) and its applied outputs (encrypted by the API)."""

from __future__ import annotations

import os
import ssl
from functools import cache
from typing import Any

import httpx

from orchestrator.settings import Settings
from orchestrator.worker_api import RunEnvironment

TIMEOUT = httpx.Timeout(30.0, connect=5.0)
ATTEMPTS = 3
_CLIENTS: dict[int, httpx.Client] = {}
"""This process's client, by process id: a pool child never uses the connections of the
parent it was forked from."""


class ApiUnreachable(Exception):
    """The API did not give the run what it needs; the message says what and where (for a
    variable that cannot be decrypted, the API's own words naming it)."""


def _call(
    settings: Settings, method: str, path: str, run_id: int, credential: str, **kwargs: Any
) -> httpx.Response:
    url = f"{settings.api_url.rstrip('/')}{path}"
    last = ""
    for _ in range(ATTEMPTS):
        try:
            response = _client().request(method, url, auth=(f"run-{run_id}", credential), **kwargs)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code < 500:
            return response
        last = f"HTTP {response.status_code}"
    raise ApiUnreachable(
        f"{method} {url} for run {run_id} failed {ATTEMPTS} times ({last}); "
        "check that STACKRUN_API_URL names the API as this worker reaches it"
    )


def warm_up() -> None:
    """Load the CA bundle and httpx's transport once, in the worker's parent before the pool
    forks: a client of its own costs a child a tenth of a second under load otherwise."""
    httpx.Client(verify=_ssl_context()).close()


@cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _client() -> httpx.Client:
    """One keep-alive client per process: a run's calls do not each build a client (and load
    the CA bundle) and connect anew. A connection the API closed meanwhile fails one
    attempt of `_call`, which tries again."""
    client = _CLIENTS.get(os.getpid())
    if client is None:
        _CLIENTS.clear()  # a forked parent's client: its connections are not ours
        client = _CLIENTS[os.getpid()] = httpx.Client(verify=_ssl_context(), timeout=TIMEOUT)
    return client


def environment(settings: Settings, run_id: int, credential: str) -> RunEnvironment:
    """The run's variables and upstream inputs, as far as it is trusted."""
    response = _call(settings, "GET", f"/api/v1/runs/{run_id}/environment", run_id, credential)
    if response.status_code == 409:
        raise ApiUnreachable(_detail(response))
    if response.status_code != 200:
        raise ApiUnreachable(
            f"reading the environment of run {run_id}: HTTP {response.status_code}: "
            f"{_detail(response)}"
        )
    return RunEnvironment.from_json(response.json())


def store_outputs(
    settings: Settings, run_id: int, credential: str, outputs: dict[str, Any]
) -> None:
    response = _call(
        settings, "PUT", f"/api/v1/runs/{run_id}/outputs", run_id, credential, json=outputs
    )
    if response.status_code != 204:
        raise ApiUnreachable(
            f"storing the outputs of run {run_id}: HTTP {response.status_code}: {_detail(response)}"
        )


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:500]
    except ValueError:
        return response.text[:200]
