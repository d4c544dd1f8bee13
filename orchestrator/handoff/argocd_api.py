"""A small synchronous client for argocd-server's REST API, used after the hand-off commit.

Only the operations the GitOps hand-off needs: upsert an Application or ApplicationSet, read an
Application's sync and health status, ask for a sync and wait until it is Synced and Healthy.

Applications are upserted with `validate=false`: the destination cluster is usually registered
in Argo CD by the same hand-off commit, so argocd-server's validation (repository reachable,
destination cluster known) would reject an Application that becomes valid moments later. The
Kubernetes API server still checks the object against the Application CRD.

The API token is sent only in the `Authorization` header. It is never logged, never part of an
error message and never shown by `repr`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

logger = logging.getLogger(__name__)

_TRANSIENT_STATUSES = frozenset({502, 503, 504})
_IN_PROGRESS = "another operation is already in progress"
_NOT_FOUND_CODE = 5
_DETAIL_LIMIT = 300
_RETRYABLE_TRANSPORT_ERRORS = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


class ArgoCDError(Exception):
    """A hand-off failure from Argo CD's API, with a message safe to store and show."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class _TransientError(ArgoCDError):
    """A failure worth another attempt (unreachable, 502/503/504, operation in progress)."""


@dataclass(frozen=True)
class AppStatus:
    """An Application's sync status and health status, as argocd-server reports them."""

    sync: str
    health: str

    @property
    def ready(self) -> bool:
        """Synced and Healthy: the hand-off is done."""
        return self.sync == "Synced" and self.health == "Healthy"


@dataclass(frozen=True)
class _Operation:
    """What a request does, for messages and logs: `verb` ("upsert application") and `target`."""

    verb: str
    target: str

    def __str__(self) -> str:
        return f"argocd {self.verb} {self.target}"

    @property
    def key(self) -> str:
        return self.verb.replace(" ", "_")


class ArgoCDClient:
    """argocd-server's REST API with a bearer token, retrying only transient failures."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not server.startswith(("https://", "http://")):
            raise ValueError(f"argocd server {_display_url(server)!r} must be an http(s) URL")
        if not token or not token.isprintable() or not token.isascii():
            raise ValueError("argocd token is empty or has characters not allowed in a header")
        self._server = server.rstrip("/")
        self._shown_server = _display_url(self._server)
        self._token = token
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=self._server,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"ArgoCDClient(server={self._shown_server!r})"

    def __enter__(self) -> ArgoCDClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def upsert_application(self, app: dict[str, Any]) -> dict[str, Any]:
        """Create or update an Application (`upsert=true`, `validate=false`)."""
        operation = _Operation("upsert application", _object_name(app))
        params = {"upsert": "true", "validate": "false"}
        return self._call(operation, "POST", "/api/v1/applications", params=params, body=app)

    def upsert_applicationset(self, appset: dict[str, Any]) -> dict[str, Any]:
        """Create or update an ApplicationSet (`upsert=true`)."""
        operation = _Operation("upsert applicationset", _object_name(appset))
        params = {"upsert": "true"}
        return self._call(operation, "POST", "/api/v1/applicationsets", params=params, body=appset)

    def get_application(self, name: str, project: str) -> dict[str, Any]:
        """The Application `name` of `project` (given, so a missing app is a 404, not a 403)."""
        operation = _Operation("get application", name)
        path = f"/api/v1/applications/{quote(name, safe='')}"
        return self._call(operation, "GET", path, params={"project": project})

    def app_status(self, name: str, project: str) -> AppStatus:
        """The Application's `status.sync.status` and `status.health.status`, else "Unknown"."""
        return _status_of(self.get_application(name, project))

    def sync(self, name: str, project: str) -> None:
        """Ask Argo CD to sync the Application now, without pruning."""
        operation = _Operation("sync application", name)
        path = f"/api/v1/applications/{quote(name, safe='')}/sync"
        body = {"name": name, "project": project, "prune": False}
        self._call(operation, "POST", path, body=body)

    def sync_unless_automated(self, app: dict[str, Any]) -> bool:
        """Sync an Application whose sync policy is manual; True when a sync was requested."""
        if is_automated(app):
            return False
        name = _object_name(app)
        spec = app.get("spec")
        project = spec.get("project") if isinstance(spec, dict) else None
        self.sync(name, project if isinstance(project, str) and project else "default")
        return True

    def list_applications(self) -> list[dict[str, Any]]:
        """Every Application the token may see (`items` of `GET /api/v1/applications`)."""
        answer = self._call(_Operation("list", "applications"), "GET", "/api/v1/applications")
        return [item for item in answer.get("items") or [] if isinstance(item, dict)]

    def managed_resources(self, name: str, project: str) -> list[dict[str, Any]]:
        """The objects the Application manages, each with its live and target manifests."""
        path = f"/api/v1/applications/{quote(name, safe='')}/managed-resources"
        operation = _Operation("read managed resources of", name)
        answer = self._call(operation, "GET", path, params={"project": project})
        return [item for item in answer.get("items") or [] if isinstance(item, dict)]

    def resource_tree(self, name: str, project: str) -> dict[str, Any]:
        """The Application's resource tree: the managed objects and their children."""
        path = f"/api/v1/applications/{quote(name, safe='')}/resource-tree"
        operation = _Operation("read resource tree of", name)
        return self._call(operation, "GET", path, params={"project": project})

    def live_manifest(self, name: str, project: str, ref: dict[str, str]) -> str:
        """The live manifest (JSON text) of one object of the Application's tree."""
        path = f"/api/v1/applications/{quote(name, safe='')}/resource"
        keys = ("namespace", "version", "group", "kind")
        params = {"project": project, "resourceName": ref.get("name", "")}
        params |= {key: ref[key] for key in keys if ref.get(key)}
        operation = _Operation("read live object of", name)
        return str(self._call(operation, "GET", path, params=params).get("manifest") or "")

    def wait_healthy(self, name: str, project: str, timeout: float, poll: float = 2.0) -> AppStatus:
        """Poll until the Application is Synced and Healthy; ArgoCDError after `timeout` seconds."""
        deadline = self._clock() + timeout
        last: AppStatus | None = None
        while True:
            status = self._status_or_none(name, project)
            if status is not None and status.ready:
                return status
            last = status or last
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise ArgoCDError(
                    f"argocd wait application {name}: not Synced and Healthy after {timeout:g}s "
                    f"({_describe(last)})"
                )
            logger.info(
                "argocd waiting application=%s sync=%s health=%s",
                name,
                status.sync if status else "notfound",
                status.health if status else "notfound",
            )
            self._sleep(min(poll, remaining))

    def _status_or_none(self, name: str, project: str) -> AppStatus | None:
        """The status, or None while the Application does not exist yet."""
        try:
            return self.app_status(name, project)
        except ArgoCDError as exc:
            if exc.status == 404 or exc.code == _NOT_FOUND_CODE:
                return None
            raise

    def _call(
        self,
        operation: _Operation,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One API call, retried with exponential backoff while it fails transiently."""
        failure: _TransientError | None = None
        for attempt in range(1, self._attempts + 1):
            if failure is not None:
                self._pause(operation, attempt, failure)
            try:
                return self._once(operation, method, path, params, body)
            except _TransientError as exc:
                failure = exc
        assert failure is not None
        raise ArgoCDError(
            f"{failure} (gave up after {self._attempts} attempts)",
            status=failure.status,
            code=failure.code,
        )

    def _pause(self, operation: _Operation, attempt: int, failure: _TransientError) -> None:
        delay = self._backoff * 2 ** (attempt - 2)
        logger.warning(
            "argocd retry operation=%s name=%s attempt=%d status=%s delay=%.2f",
            operation.key,
            operation.target,
            attempt,
            failure.status if failure.status is not None else "unreachable",
            delay,
        )
        self._sleep(delay)

    def _once(
        self,
        operation: _Operation,
        method: str,
        path: str,
        params: dict[str, str] | None,
        body: dict[str, Any] | None,
    ) -> dict[str, Any]:
        started = time.monotonic()
        try:
            response = self._http.request(method, path, params=params, json=body)
        except _RETRYABLE_TRANSPORT_ERRORS as exc:
            raise _TransientError(self._unreachable(operation, exc)) from None
        except httpx.HTTPError as exc:
            raise ArgoCDError(self._unreachable(operation, exc)) from None
        logger.info(
            "argocd request method=%s path=%s status=%d seconds=%.3f",
            method,
            path,
            response.status_code,
            time.monotonic() - started,
        )
        if response.is_success:
            return self._answer(operation, response)
        raise self._failure(operation, response)

    def _answer(self, operation: _Operation, response: httpx.Response) -> dict[str, Any]:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ArgoCDError(
                f"{operation}: {response.status_code} answer is not a JSON object",
                status=response.status_code,
            )
        return answer

    def _failure(self, operation: _Operation, response: httpx.Response) -> ArgoCDError:
        """The ArgoCDError for a non-2xx answer; a _TransientError when worth retrying."""
        status = response.status_code
        detail, code = self._detail(response)
        if status in _TRANSIENT_STATUSES:
            message = f"{operation}: {status} {detail} from {self._shown_server}"
            return _TransientError(message, status=status, code=code)
        if status in (400, 409) and _IN_PROGRESS in detail.lower():
            return _TransientError(f"{operation}: {status} {detail}", status=status, code=code)
        if status == 401:
            message = (
                f"{operation}: 401 authentication failed ({detail}); "
                f"check the Argo CD API token for {self._shown_server}"
            )
            return ArgoCDError(message, status=status, code=code)
        return ArgoCDError(f"{operation}: {status} {detail}", status=status, code=code)

    def _detail(self, response: httpx.Response) -> tuple[str, int | None]:
        """The message and gRPC code of Argo CD's `runtimeError` body, else the raw text."""
        try:
            body = response.json()
        except ValueError:
            body = None
        code: int | None = None
        text = ""
        if isinstance(body, dict):
            raw_code = body.get("code")
            code = (
                raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
            )
            text = str(body.get("message") or body.get("error") or "")
        if not text:
            text = response.text.strip() or response.reason_phrase or "no message"
        return self._scrub(text), code

    def _unreachable(self, operation: _Operation, exc: httpx.HTTPError) -> str:
        reason = self._scrub(f"{type(exc).__name__}: {exc}")
        return f"{operation}: cannot reach {self._shown_server} ({reason})"

    def _scrub(self, text: str) -> str:
        """One line, bounded, and never the token even if the server echoed it."""
        line = " ".join(text.split()).replace(self._token, "***")
        return line if len(line) <= _DETAIL_LIMIT else line[: _DETAIL_LIMIT - 1] + "…"


def is_automated(app: dict[str, Any]) -> bool:
    """Whether `spec.syncPolicy.automated` is set and not `enabled: false`."""
    spec = app.get("spec")
    policy = spec.get("syncPolicy") if isinstance(spec, dict) else None
    automated = policy.get("automated") if isinstance(policy, dict) else None
    return isinstance(automated, dict) and automated.get("enabled", True) is not False


def _object_name(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) and name else "(unnamed)"


def _status_of(app: dict[str, Any]) -> AppStatus:
    status = app.get("status")
    status = status if isinstance(status, dict) else {}
    return AppStatus(sync=_nested_status(status, "sync"), health=_nested_status(status, "health"))


def _nested_status(status: dict[str, Any], key: str) -> str:
    part = status.get(key)
    value = part.get("status") if isinstance(part, dict) else None
    return value if isinstance(value, str) and value else "Unknown"


def _describe(status: AppStatus | None) -> str:
    if status is None:
        return "last status: application not found"
    return f"last sync={status.sync} health={status.health}"


def _display_url(url: str) -> str:
    """The URL without any user:password@ part."""
    parts = urlsplit(url)
    if not parts.netloc:
        return url.rpartition("@")[2]
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
