"""A stand-in for argocd-server: the REST operations the GitOps hand-off uses, checked against
Argo CD's own swagger.json (v3.5.1, copied to tests/data/argocd/swagger.json).

Every request is recorded, and every request body and query string is checked against the
swagger operation it targets; anything that does not match is answered 400 and kept in
`violations`, so a test ends with `assert server.violations == []`. The answers are checked
against the swagger response schemas too.

The swagger definitions mark no field as required and allow extra properties, so a body without
`metadata` would pass them. A few checks that argocd-server and the Kubernetes API server make
behind the REST layer are therefore added and labelled as such: an Application or ApplicationSet
needs `metadata.name` and `spec` (the CRDs' `required: [metadata, spec]`).

Tests script the server: `fail(operation_id, kind, times)` answers the next calls of that
operation with 401, 403, 400 "another operation is already in progress", 503 or a dropped
connection; `slow_health_gets` / `slow_health_seconds` keep a synced application Progressing
before it turns Healthy. Automated applications are Synced as soon as they exist; manual ones
are OutOfSync (and Missing) until a sync call.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft4Validator

from tests.support.json_http import json_handler

SWAGGER_PATH = Path(__file__).resolve().parents[1] / "data" / "argocd" / "swagger.json"

CREATE_APPLICATION = "ApplicationService_Create"
CREATE_APPLICATIONSET = "ApplicationSetService_Create"
GET_APPLICATION = "ApplicationService_Get"
SYNC_APPLICATION = "ApplicationService_Sync"
LIST_APPLICATIONS = "ApplicationService_List"
MANAGED_RESOURCES = "ApplicationService_ManagedResources"
RESOURCE_TREE = "ApplicationService_ResourceTree"
GET_RESOURCE = "ApplicationService_GetResource"

UNAUTHENTICATED = "unauthenticated"
PERMISSION_DENIED = "permission_denied"
IN_PROGRESS = "in_progress"
UNAVAILABLE = "unavailable"
DROP = "drop"

_ROUTES = (
    ("POST", "/api/v1/applications"),
    ("POST", "/api/v1/applicationsets"),
    ("GET", "/api/v1/applications/{name}"),
    ("POST", "/api/v1/applications/{name}/sync"),
    ("GET", "/api/v1/applications"),
    ("GET", "/api/v1/applications/{applicationName}/managed-resources"),
    ("GET", "/api/v1/applications/{applicationName}/resource-tree"),
    ("GET", "/api/v1/applications/{name}/resource"),
)
_SCRIPTED: dict[str, tuple[int, int, str]] = {
    UNAUTHENTICATED: (401, 16, "invalid session: token has invalid claims: token is expired"),
    PERMISSION_DENIED: (403, 7, "permission denied"),
    IN_PROGRESS: (400, 9, "another operation is already in progress"),
    UNAVAILABLE: (503, 14, "upstream connect error or disconnect/reset before headers"),
}


@dataclass(frozen=True)
class Recorded:
    """One request as the stand-in saw it; the Authorization value is replaced."""

    operation: str | None
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    operation: dict[str, Any]

    @property
    def operation_id(self) -> str:
        return str(self.operation["operationId"])

    @property
    def body_definition(self) -> str | None:
        """The `#/definitions/X` name of the body parameter, if the operation takes one."""
        for param in self.operation.get("parameters", []):
            if param.get("in") == "body":
                return str(param["schema"]["$ref"]).rsplit("/", 1)[1]
        return None

    @property
    def query_params(self) -> dict[str, dict[str, Any]]:
        params = self.operation.get("parameters", [])
        return {p["name"]: p for p in params if p.get("in") == "query"}

    @property
    def answer_definition(self) -> str:
        return str(self.operation["responses"]["200"]["schema"]["$ref"]).rsplit("/", 1)[1]


class SwaggerContract:
    """Argo CD's swagger.json as JSON-Schema validators for request and response bodies."""

    def __init__(self, swagger: dict[str, Any]) -> None:
        self.swagger = swagger
        self.definitions = _lenient_int64(swagger["definitions"])
        self._validators: dict[str, Draft4Validator] = {}

    def route(self, method: str, template: str) -> _Route:
        operation = self.swagger["paths"][template][method.lower()]
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "(?P<name>[^/]+)", template) + "$")
        return _Route(method, template, pattern, operation)

    def errors(self, definition: str, instance: Any) -> list[str]:
        """Every way `instance` breaks `#/definitions/<definition>`, one line each."""
        validator = self._validators.get(definition)
        if validator is None:
            schema = {"$ref": f"#/definitions/{definition}", "definitions": self.definitions}
            validator = self._validators[definition] = Draft4Validator(schema)
        found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [
            f"{definition} at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found
        ]


def _lenient_int64(node: Any) -> Any:
    """grpc-gateway writes int64 as a JSON string; accept `"5"` where swagger says integer."""
    if isinstance(node, list):
        return [_lenient_int64(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _lenient_int64(value) for key, value in node.items()}
    if out.get("type") == "integer" and out.get("format") == "int64":
        out["type"] = ["integer", "string"]
        out["pattern"] = "^-?[0-9]+$"
    return out


@cache
def load_contract(path: Path = SWAGGER_PATH) -> SwaggerContract:
    return SwaggerContract(json.loads(path.read_text()))


def kubernetes_errors(kind: str, body: Any) -> list[str]:
    """What argocd-server / the Kubernetes API server reject although swagger allows it."""
    if not isinstance(body, dict):
        return []
    problems = []
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        problems.append(f"{kind}: metadata is required (CRD required: [metadata, spec])")
    elif not isinstance(metadata.get("name"), str) or not metadata["name"]:
        problems.append(f"{kind}: metadata.name is required (Kubernetes: name is required)")
    if not isinstance(body.get("spec"), dict):
        problems.append(f"{kind}: spec is required (CRD required: [metadata, spec])")
    return problems


@dataclass
class _App:
    body: dict[str, Any]
    uid: str
    version: int
    created: str
    synced_at: float | None
    gets_since_sync: int = 0

    @property
    def automated(self) -> bool:
        policy = self.body.get("spec", {}).get("syncPolicy") or {}
        automated = policy.get("automated")
        return isinstance(automated, dict) and automated.get("enabled", True) is not False

    @property
    def project(self) -> str:
        return str(self.body.get("spec", {}).get("project") or "default")


@dataclass
class _Reply:
    status: int | None
    body: dict[str, Any] | None = None


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.reply = _Reply(status, _error_body(code, message))


def _error_body(code: int, message: str) -> dict[str, Any]:
    return {"error": message, "code": code, "message": message, "details": []}


@dataclass
class _State:
    apps: dict[str, _App] = field(default_factory=dict)
    appsets: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    managed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class ArgoCDStandIn:
    """A stand-in for argocd-server on 127.0.0.1, started in a thread; use it with `with`."""

    def __init__(self, token: str, *, contract: SwaggerContract | None = None) -> None:
        self.token = token
        self.contract = contract or load_contract()
        self.routes = [self.contract.route(method, template) for method, template in _ROUTES]
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.slow_health_gets = 0
        self.slow_health_seconds = 0.0
        self._state = _State()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "the stand-in is not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ArgoCDStandIn:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), json_handler(self.handle))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def fail(self, operation_id: str, kind: str, times: int = 1) -> None:
        """Answer the next `times` calls of `operation_id` with the failure `kind`."""
        assert kind in (*_SCRIPTED, DROP), kind
        assert operation_id in {r.operation_id for r in self.routes}, operation_id
        with self._lock:
            self._state.failures[operation_id].extend([kind] * times)

    def calls(self, operation_id: str) -> list[Recorded]:
        """The recorded requests of one operation, in order."""
        return [r for r in self.requests if r.operation == operation_id]

    def manage(
        self,
        app: dict[str, Any],
        objects: list[dict[str, Any]],
        children: list[dict[str, Any]] | None = None,
    ) -> None:
        """Make `app` exist (synced) managing `objects` (live manifests); `children` are
        objects below them in its resource tree (as a controller would create them)."""
        name = app["metadata"]["name"]
        with self._lock:
            existing = self._state.apps.get(name)
            if existing is None:
                existing = _App(copy.deepcopy(app), str(uuid.uuid4()), 1, _now(), time.monotonic())
                self._state.apps[name] = existing
            self._state.managed[name] = copy.deepcopy(objects)
            self._state.children[name] = copy.deepcopy(children or [])

    def application(self, name: str) -> dict[str, Any] | None:
        """The stored Application as GET would answer it (without counting as a GET)."""
        with self._lock:
            app = self._state.apps.get(name)
            return None if app is None else self._app_view(app, count=False)

    def applicationset(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._state.appsets.get(name))

    def handle(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> _Reply:
        """One request → the reply (status None: drop the connection)."""
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        route, name = self._match(method, parts.path)
        body, problems = self._check(route, query, raw)
        self._record(route, method, parts.path, query, body, headers)
        if route is None:
            return _ApiError(404, 5, "Not Found").reply
        with self._lock:
            scripted = self._next_failure(route.operation_id)
        if scripted is not None:
            return scripted
        if headers.get("authorization") != f"Bearer {self.token}":
            return self._unauthenticated(headers)
        if problems:
            return _ApiError(400, 3, "; ".join(problems)).reply
        try:
            with self._lock:
                answer = self._operate(route.operation_id, name, query, body)
        except _ApiError as exc:
            return exc.reply
        self._check_answer(route.answer_definition, answer)
        return _Reply(200, answer)

    def _match(self, method: str, path: str) -> tuple[_Route | None, str | None]:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method == method:
                return route, unquote(found.group("name")) if "{" in route.template else None
        return None, None

    def _check(
        self, route: _Route | None, query: dict[str, list[str]], raw: bytes
    ) -> tuple[Any, list[str]]:
        """The decoded body and every contract problem of the request (also kept in violations)."""
        if route is None:
            problems = ["no swagger operation serves this method and path"]
            return None, self._violate(problems)
        problems = _query_problems(route, query)
        body: Any = None
        definition = route.body_definition
        if definition is not None:
            try:
                body = json.loads(raw or b"null")
            except ValueError as exc:
                problems.append(f"body is not JSON: {exc}")
            else:
                problems += self.contract.errors(definition, body)
                if definition in ("v1alpha1Application", "v1alpha1ApplicationSet"):
                    problems += kubernetes_errors(definition, body)
        elif raw:
            problems.append(f"{route.operation_id} takes no body")
        tagged = [f"{route.operation_id}: {p}" for p in problems]
        return body, self._violate(tagged)

    def _violate(self, problems: list[str]) -> list[str]:
        with self._lock:
            self.violations.extend(problems)
        return problems

    def _check_answer(self, definition: str, answer: dict[str, Any]) -> None:
        self._violate([f"answer: {p}" for p in self.contract.errors(definition, answer)])

    def _record(
        self,
        route: _Route | None,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        headers: dict[str, str],
    ) -> None:
        shown = {k: ("<redacted>" if k == "authorization" else v) for k, v in headers.items()}
        operation_id = route.operation_id if route else None
        with self._lock:
            self.requests.append(Recorded(operation_id, method, path, query, body, shown))

    def _next_failure(self, operation_id: str) -> _Reply | None:
        queue = self._state.failures.get(operation_id)
        if not queue:
            return None
        kind = queue.popleft()
        if kind == DROP:
            return _Reply(None)
        status, code, message = _SCRIPTED[kind]
        return _Reply(status, _error_body(code, message))

    def _unauthenticated(self, headers: dict[str, str]) -> _Reply:
        given = headers.get("authorization")
        reason = "no session information" if given is None else "token signature is invalid"
        return _ApiError(401, 16, f"invalid session: {reason}").reply

    def _operate(
        self, operation_id: str, name: str | None, query: dict[str, list[str]], body: Any
    ) -> dict[str, Any]:
        upsert = query.get("upsert", ["false"])[0] == "true"
        if operation_id == CREATE_APPLICATION:
            return self._create_application(body, upsert)
        if operation_id == CREATE_APPLICATIONSET:
            return self._create_applicationset(body, upsert, query.get("dryRun", ["false"])[0])
        if operation_id == LIST_APPLICATIONS:
            items = [self._app_view(app, count=False) for app in self._state.apps.values()]
            return {"items": items, "metadata": {"resourceVersion": "1"}}
        assert name is not None
        if operation_id in (MANAGED_RESOURCES, RESOURCE_TREE, GET_RESOURCE):
            return self._resources(operation_id, name, query)
        if operation_id == GET_APPLICATION:
            app = self._find(name, query.get("project", [""])[0])
            return self._app_view(app, count=True)
        app = self._find(name, str(body.get("project") or ""))
        app.synced_at = time.monotonic()
        app.gets_since_sync = 0
        return self._app_view(app, count=False)

    def _resources(
        self, operation_id: str, name: str, query: dict[str, list[str]]
    ) -> dict[str, Any]:
        """managed-resources (ResourceDiff items with JSON-text manifests), resource-tree
        (ResourceNode of managed objects and their children) and one live object."""
        self._find(name, query.get("project", [""])[0])
        managed = self._state.managed.get(name, [])
        children = self._state.children.get(name, [])
        if operation_id == MANAGED_RESOURCES:
            return {"items": [_diff(obj) for obj in managed]}
        if operation_id == RESOURCE_TREE:
            parent = [_node(managed[0])] if managed else []
            nodes = [_node(o) for o in managed]
            nodes += [_node(o) | {"parentRefs": parent} for o in children]
            return {"nodes": nodes}
        wanted = query.get("resourceName", [""])[0]
        for obj in [*managed, *children]:
            if obj["metadata"]["name"] == wanted and obj["kind"] == query.get("kind", [""])[0]:
                return {"manifest": json.dumps(obj)}
        raise _ApiError(404, 5, f"{wanted} not found as part of application {name}")

    def _create_application(self, body: dict[str, Any], upsert: bool) -> dict[str, Any]:
        name = body["metadata"]["name"]
        existing = self._state.apps.get(name)
        if existing is not None and existing.body.get("spec") == body.get("spec"):
            return self._app_view(existing, count=False)
        if existing is not None and not upsert:
            raise _ApiError(400, 3, "existing application spec is different, use upsert flag")
        app = _App(
            body=copy.deepcopy(body),
            uid=existing.uid if existing else str(uuid.uuid4()),
            version=existing.version + 1 if existing else 1,
            created=existing.created if existing else _now(),
            synced_at=None,
        )
        if app.automated:
            app.synced_at = time.monotonic()
        self._state.apps[name] = app
        return self._app_view(app, count=False)

    def _create_applicationset(
        self, body: dict[str, Any], upsert: bool, dry_run: str
    ) -> dict[str, Any]:
        name = body["metadata"]["name"]
        existing = self._state.appsets.get(name)
        if existing is not None and existing.get("spec") == body.get("spec"):
            return copy.deepcopy(existing)
        if existing is not None and not upsert:
            raise _ApiError(400, 3, "existing ApplicationSet spec is different, use upsert flag")
        stored = copy.deepcopy(body)
        meta = stored["metadata"]
        old = existing["metadata"] if existing else {}
        meta.setdefault("namespace", "argocd")
        meta["uid"] = old.get("uid", str(uuid.uuid4()))
        meta["resourceVersion"] = str(int(old.get("resourceVersion", "0")) + 1)
        meta["creationTimestamp"] = old.get("creationTimestamp", _now())
        if dry_run != "true":
            self._state.appsets[name] = stored
        return copy.deepcopy(stored)

    def _find(self, name: str, project: str) -> _App:
        """argocd-server's lookup: 404 only when a project is given, else 403 (no leaking)."""
        app = self._state.apps.get(name)
        if app is None and project:
            message = f'applications.argoproj.io "{name}" not found'
            raise _ApiError(404, 5, message)
        if app is None or (project and project != app.project):
            raise _ApiError(403, 7, "permission denied")
        return app

    def _app_view(self, app: _App, *, count: bool) -> dict[str, Any]:
        view = copy.deepcopy(app.body)
        meta = view.setdefault("metadata", {})
        meta.setdefault("namespace", "argocd")
        meta.update(uid=app.uid, resourceVersion=str(app.version), creationTimestamp=app.created)
        if count and app.synced_at is not None:
            app.gets_since_sync += 1
        view["status"] = {
            "sync": {"status": "Synced" if app.synced_at is not None else "OutOfSync"},
            "health": {"status": self._health(app)},
        }
        return view

    def _health(self, app: _App) -> str:
        if app.synced_at is None:
            return "Missing"
        young = time.monotonic() - app.synced_at < self.slow_health_seconds
        if young or app.gets_since_sync <= self.slow_health_gets:
            return "Progressing"
        return "Healthy"


def _query_problems(route: _Route, query: dict[str, list[str]]) -> list[str]:
    declared = route.query_params
    problems = []
    for key, values in sorted(query.items()):
        param = declared.get(key)
        if param is None:
            problems.append(f"query parameter {key!r} is not declared")
        elif param.get("type") == "boolean" and any(v not in ("true", "false") for v in values):
            problems.append(f"query parameter {key!r} must be true or false, got {values}")
        elif param.get("type") != "array" and len(values) > 1:
            problems.append(f"query parameter {key!r} is not repeatable")
    return problems


def _ref(obj: dict[str, Any]) -> dict[str, Any]:
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    meta = obj["metadata"]
    ref = {"group": group, "version": version, "kind": obj["kind"], "name": meta["name"]}
    return ref | ({"namespace": meta["namespace"]} if meta.get("namespace") else {})


def _diff(obj: dict[str, Any]) -> dict[str, Any]:
    live = json.dumps(obj)
    return _ref(obj) | {"liveState": live, "targetState": live, "modified": False}


def _node(obj: dict[str, Any]) -> dict[str, Any]:
    uid = obj["metadata"].get("uid") or str(uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(_ref(obj))))
    return _ref(obj) | {"uid": uid, "health": {"status": "Healthy"}}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
