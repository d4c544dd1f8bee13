"""The stackrun command: server verbs, client verbs over the HTTP API."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from orchestrator.settings import get_settings
from orchestrator.vcs.urls import LOCAL_SETTING as LOCAL_REPOSITORIES

if TYPE_CHECKING:
    from orchestrator.policy.inputs import RunFacts

app = typer.Typer(help="stackrun: Terraform run orchestrator", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (server side: writes the database)")
repos_app = typer.Typer(help="Repositories (over the API)")
stacks_app = typer.Typer(help="Stacks (over the API)")
runs_app = typer.Typer(help="Runs (over the API)")
app.add_typer(tokens_app, name="tokens")
app.add_typer(repos_app, name="repos")
app.add_typer(stacks_app, name="stacks")
app.add_typer(runs_app, name="runs")
vars_app = typer.Typer(help="Variables of a stack or a context (over the API)")
app.add_typer(vars_app, name="vars")
policy_app = typer.Typer(help="Rego policies: offline evaluation, upload of a folder")
app.add_typer(policy_app, name="policy")

UrlOpt = Annotated[str, typer.Option(envvar="STACKRUN_URL", help="API base URL")]
TokenOpt = Annotated[str, typer.Option(envvar="STACKRUN_TOKEN", help="API token")]
DEFAULT_URL = "http://127.0.0.1:8000"


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from orchestrator.migrate import upgrade

    upgrade()
    typer.echo(f"database at head: {_redacted_db_url()}")


def _redacted_db_url() -> str:
    url = get_settings().resolved_database_url
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="token name")],
    role: Annotated[str, typer.Option(help="viewer | approver | admin")],
    vcs_login: Annotated[str | None, typer.Option(help="VCS login this token acts for")] = None,
) -> None:
    """Create a token and print it once; only its hash is stored."""
    from orchestrator.auth import create_token
    from orchestrator.db import session_scope
    from orchestrator.migrate import upgrade

    upgrade()
    try:
        with session_scope() as session:
            token = create_token(session, name, role, vcs_login)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(token)


def _worker_command(pool: str, concurrency: int, name: str | None = None) -> list[str]:
    settings = get_settings()
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "worker",
        "-Q",
        pool,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        settings.log_level,
        "--hostname",
        f"{name or 'stackrun-' + pool}@%h",
    ]
    if settings.uses_filesystem_broker:
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return command


def _beat_command() -> list[str]:
    settings = get_settings()
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers.celery_app",
        "beat",
        "--loglevel",
        settings.log_level,
        "--schedule",
        str(settings.data_dir / "celerybeat-schedule"),
    ]


def _slots(concurrency: int | None) -> int:
    return concurrency if concurrency is not None else get_settings().worker_concurrency


@app.command()
def worker(
    pool: Annotated[str, typer.Option(help="worker pool (Celery queue)")] = "default",
    concurrency: Annotated[int | None, typer.Option(help="task slots (default: settings)")] = None,
    name: Annotated[str | None, typer.Option(help="worker name (unique per host)")] = None,
) -> None:
    """Run a Celery worker for one pool."""
    os.execv(sys.executable, _worker_command(pool, _slots(concurrency), name=name))  # noqa: S606


@app.command()
def beat() -> None:
    """Run Celery beat (drift ticks, reaper)."""
    os.execv(sys.executable, _beat_command())  # noqa: S606


@app.command()
def api(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    fd: Annotated[
        int | None, typer.Option(hidden=True, help="serve on this listening socket (up)")
    ] = None,
) -> None:
    """Run the HTTP API."""
    import socket

    import uvicorn

    if fd is None:
        uvicorn.run("orchestrator.api.app:app", host=host, port=port, log_level="warning")
        return
    config = uvicorn.Config("orchestrator.api.app:app", log_level="warning")
    uvicorn.Server(config).run(sockets=[socket.socket(fileno=fd)])


def _child_env(port: int) -> dict[str, str]:
    from orchestrator.toolchain import offline_cli_config

    settings = get_settings()
    env = dict(os.environ)
    env["STACKRUN_DATA_DIR"] = str(settings.data_dir)
    env.setdefault("STACKRUN_API_URL", f"http://127.0.0.1:{port}")
    if "TF_CLI_CONFIG_FILE" not in env:
        config = offline_cli_config(settings.data_dir)
        if config is not None:
            env["TF_CLI_CONFIG_FILE"] = str(config)
    return env


@app.command()
def up(
    demo: Annotated[bool, typer.Option(help="create and push a demo platform")] = False,
    port: Annotated[int, typer.Option()] = 8000,
    concurrency: Annotated[int | None, typer.Option(help="task slots (default: settings)")] = None,
) -> None:
    """API, one worker and beat in one command on embedded defaults, each restarted when it
    dies; Ctrl-C stops all. With --demo, local repositories are allowed (the demo's platform
    is one) in this process and the ones it starts."""
    from orchestrator.migrate import upgrade
    from orchestrator.supervise import supervisor

    if demo:
        os.environ[LOCAL_REPOSITORIES] = "true"
        get_settings.cache_clear()
    settings = get_settings()
    supervisor.log_to_stderr()
    try:
        listener = supervisor.listening_socket("127.0.0.1", port)
    except OSError as exc:
        why = os.strerror(exc.errno) if exc.errno else str(exc)
        _fail(f"starting the API on 127.0.0.1:{port}: {why} — stop what holds it or pass --port")
        raise
    upgrade()
    url = f"http://127.0.0.1:{port}"
    fd = listener.fileno()
    api_command = (sys.executable, "-m", "orchestrator.cli", "api", "--fd", str(fd))
    children = [
        supervisor.ChildSpec("api", api_command, pass_fds=(fd,)),
        supervisor.ChildSpec("worker", tuple(_worker_command("default", _slots(concurrency)))),
        supervisor.ChildSpec("beat", tuple(_beat_command())),
    ]

    def announce() -> None:
        typer.echo(f"stackrun is up at {url} (data in {settings.data_dir}); Ctrl-C stops it")
        if demo:
            typer.echo(f"demo: local repositories are allowed ({LOCAL_REPOSITORIES}=true)")
            _start_demo(settings.data_dir, url)

    with listener:
        failure = supervisor.run(children, _child_env(port), f"{url}/healthz", announce)
    if failure is not None:
        _fail(failure)


def _start_demo(data_dir: Path, url: str) -> None:
    from orchestrator.demo import DemoError, next_steps, pipeline_of, run_demo

    try:
        push, token = run_demo(data_dir, url)
    except DemoError as exc:
        _fail(str(exc))
        raise
    typer.echo(f"demo: pushed {push.repository} → webhook answered {push.status_code} {push.body}")
    typer.echo(f"admin token (shown once): {token}")
    pipeline = pipeline_of(push.delivery_id)
    for line in next_steps(data_dir, url, token, _own_command(), pipeline):
        typer.echo(line)


def _own_command() -> str:
    """How the user can call this same stackrun (its venv may not be on PATH)."""
    beside = Path(sys.executable).parent / "stackrun"
    return str(beside) if beside.exists() else "stackrun"


class Client:
    """A thin client of the stackrun API for the CLI's client verbs."""

    def __init__(self, url: str, token: str) -> None:
        if not token:
            _fail("no token: pass --token or set STACKRUN_TOKEN")
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            _fail(f"calling {method} {path}: {exc}")
            raise
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            _fail(f"{method} {path}: {response.status_code} {detail}")
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text


def _print(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2) if not isinstance(value, str) else value)


@repos_app.command("add")
def repos_add(
    name: Annotated[str, typer.Option()],
    clone_url: Annotated[str, typer.Option()],
    webhook_secret_file: Annotated[
        Path | None, typer.Option(help="file holding the webhook secret")
    ] = None,
    branch: Annotated[str, typer.Option()] = "main",
    provider: Annotated[str, typer.Option()] = "github",
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Register a repository. The webhook secret comes from --webhook-secret-file,
    STACKRUN_WEBHOOK_SECRET or a prompt; never from the command line."""
    webhook_secret = _read_secret(webhook_secret_file)
    _print(
        Client(url, token).call(
            "POST",
            "/api/v1/repositories",
            json={
                "name": name,
                "clone_url": clone_url,
                "branch": branch,
                "provider": provider,
                "webhook_secret": webhook_secret,
            },
        )
    )


def _read_secret(path: Path | None) -> str:
    if path is not None:
        return path.read_text().strip()
    from_env = os.environ.get("STACKRUN_WEBHOOK_SECRET")
    if from_env:
        return from_env
    return str(typer.prompt("webhook secret", hide_input=True))


@repos_app.command("report")
def repos_report(
    repository_id: Annotated[int, typer.Argument(help="the repository's id")],
    api_url: Annotated[
        str | None, typer.Option(help="VCS API base URL (GitHub Enterprise, GitLab)")
    ] = None,
    project: Annotated[str | None, typer.Option(help="owner/repo or GitLab project")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Report proposed runs to the VCS. The VCS token comes from STACKRUN_VCS_TOKEN or a
    prompt; never from the command line."""
    vcs_token = os.environ.get("STACKRUN_VCS_TOKEN") or str(
        typer.prompt("vcs token", hide_input=True)
    )
    body: dict[str, str] = {"vcs_token": vcs_token}
    if api_url is not None:
        body["vcs_api_url"] = api_url
    if project is not None:
        body["vcs_project"] = project
    _print(Client(url, token).call("PATCH", f"/api/v1/repositories/{repository_id}", json=body))


@repos_app.command("list")
def repos_list(url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    _print(Client(url, token).call("GET", "/api/v1/repositories"))


@stacks_app.command("list")
def stacks_list(url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    _print(Client(url, token).call("GET", "/api/v1/stacks"))


@runs_app.command("list")
def runs_list(
    stack: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option()] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    params = {k: v for k, v in {"stack": stack, "state": state}.items() if v}
    runs = Client(url, token).call("GET", "/api/v1/runs", params=params)
    for run in runs:
        summary = run["plan_summary"] or {}
        typer.echo(
            f"{run['id']:>5}  {run['state']:<12} {run['kind']:<8} {run['stack']:<30} "
            f"{run['commit']['sha'][:10]}  +{summary.get('add', 0)} "
            f"~{summary.get('change', 0)} -{summary.get('destroy', 0)}"
        )


@runs_app.command("show")
def runs_show(run_id: int, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    _print(Client(url, token).call("GET", f"/api/v1/runs/{run_id}"))


@runs_app.command("logs")
def runs_logs(run_id: int, url: UrlOpt = DEFAULT_URL, token: TokenOpt = "") -> None:
    _print(Client(url, token).call("GET", f"/api/v1/runs/{run_id}/logs"))


def _review(action: str, run_id: int, comment: str, url: str, token: str) -> None:
    _print(
        Client(url, token).call(
            "POST", f"/api/v1/runs/{run_id}/{action}", json={"comment": comment}
        )
    )


@runs_app.command("approve")
def runs_approve(
    run_id: int, comment: str = "", url: UrlOpt = DEFAULT_URL, token: TokenOpt = ""
) -> None:
    _review("approve", run_id, comment, url, token)


@runs_app.command("discard")
def runs_discard(
    run_id: int, comment: str = "", url: UrlOpt = DEFAULT_URL, token: TokenOpt = ""
) -> None:
    _review("discard", run_id, comment, url, token)


@runs_app.command("reject")
def runs_reject(
    run_id: int, comment: str = "", url: UrlOpt = DEFAULT_URL, token: TokenOpt = ""
) -> None:
    _review("reject", run_id, comment, url, token)


KindOpt = Annotated[str, typer.Option(help='"env" (NAME) or "terraform" (TF_VAR_name)')]


def _variables_path(target: str, context: bool) -> str:
    return (
        f"/api/v1/contexts/{target}/variables" if context else f"/api/v1/stacks/{target}/variables"
    )


@vars_app.command("set")
def vars_set(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    name: str,
    secret: Annotated[bool, typer.Option(help="write-only: the API shows its checksum")] = False,
    kind: KindOpt = "env",
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Set a variable. The value is read from stdin (or a hidden prompt), never from argv."""
    value = _read_value(name, secret)
    body = {"name": name, "value": value, "secret": secret, "kind": kind}
    _print(Client(url, token).call("PUT", _variables_path(target, context), json=body))


def _read_value(name: str, secret: bool) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.read().rstrip("\n")
    return str(typer.prompt(f"value of {name}", hide_input=secret))


@vars_app.command("list")
def vars_list(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    for variable in Client(url, token).call("GET", _variables_path(target, context)):
        shown = (
            f"(secret, sha256 {variable['checksum'][:12]})"
            if variable["secret"]
            else variable["value"]
        )
        typer.echo(f"{variable['kind']:<10} {variable['name']:<30} {shown}")


@vars_app.command("unset")
def vars_unset(
    target: Annotated[str, typer.Argument(help="stack id (or context name with --context)")],
    name: str,
    kind: KindOpt = "env",
    context: Annotated[bool, typer.Option(help="TARGET is a context name")] = False,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    path = f"{_variables_path(target, context)}/{name}"
    Client(url, token).call("DELETE", path, params={"kind": kind})
    typer.echo(f"unset {kind} variable {name}")


@policy_app.command("eval")
def policy_eval(
    policy: Annotated[Path, typer.Argument(help="a .rego file")],
    input_file: Annotated[Path, typer.Option("--input", help="the input document (JSON)")],
    kind: Annotated[str, typer.Option("--type", help="plan | approval | trigger")] = "plan",
) -> None:
    """Evaluate a policy offline. Exit 0 allowed, 1 denied/rejected, 2 unusable policy or input.

    For `--type plan`, a bare `terraform show -json` document is wrapped as `input.terraform`."""
    from orchestrator.policy import decide, engine, inputs

    if kind not in ("plan", "approval", "trigger"):
        typer.echo("error: --type must be plan, approval or trigger", err=True)
        raise typer.Exit(2)
    try:
        body = policy.read_text()
        document = json.loads(input_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        typer.echo(f"error: reading {policy} and {input_file}: {exc}", err=True)
        raise typer.Exit(2) from None
    if kind == "plan" and isinstance(document, dict) and "resource_changes" in document:
        document = inputs.plan_input(_offline_facts(), document)
    outcome = engine.evaluate([engine.PolicySource(policy.stem, body)], document)[0]
    if isinstance(outcome, engine.PolicyError):
        typer.echo(f"error: {outcome}", err=True)
        raise typer.Exit(2)
    attached = [decide.Attached(policy.stem, 1, kind)]
    if kind == "plan":
        verdict = decide.plan_verdict(attached, [outcome])
    elif kind == "approval":
        verdict = decide.approval_verdict(attached, [outcome], [])
    else:
        verdict = decide.trigger_verdict(attached, [outcome])
    _print(
        {"decision": verdict.decision, "messages": list(verdict.messages), "rules": outcome.rules}
    )
    raise typer.Exit(1 if verdict.decision in ("deny", "reject") else 0)


def _offline_facts() -> RunFacts:
    """Placeholder run and stack facts for a bare plan evaluated offline."""
    from orchestrator.policy.inputs import RunFacts

    return RunFacts(
        run_id=0,
        kind="TRACKED",
        state="PLANNING",
        commit_sha="0" * 40,
        commit_author="",
        commit_message="",
        branch="main",
        triggered_by="offline",
        stack_id="offline",
        stack_name="offline",
        stack_path=".",
        labels=(),
        autodeploy=False,
        repository="offline",
        worker_pool="default",
    )


@policy_app.command("sync")
def policy_sync(
    folder: Annotated[Path, typer.Argument(help="a folder of .rego files")],
    labels: Annotated[list[str] | None, typer.Option("--label", help="attach_labels")] = None,
    url: UrlOpt = DEFAULT_URL,
    token: TokenOpt = "",
) -> None:
    """Upload every .rego file: created when new, a new version when changed. The type comes
    from a `# type:` header or the file name (`plan-*.rego`, `*.approval.rego`, …)."""
    from orchestrator.policy.store import TYPES, type_from_header

    client = Client(url, token)
    existing = {p["name"]: p for p in client.call("GET", "/api/v1/policies")["policies"]}
    for path in sorted(folder.glob("*.rego")):
        body = path.read_text()
        kind = type_from_header(body) or next((t for t in TYPES if t in path.stem), None)
        if kind is None:
            _fail(f"{path}: no `# type:` header and no type in the file name")
        payload = {"type": kind, "body": body, "attach_labels": labels or []}
        name = path.stem
        if name not in existing:
            client.call("POST", "/api/v1/policies", json={"name": name, **payload})
            typer.echo(f"created {name} ({kind})")
        elif existing[name]["body"] != body:
            client.call("PUT", f"/api/v1/policies/{name}", json=payload)
            typer.echo(f"updated {name} ({kind})")
        else:
            typer.echo(f"unchanged {name}")


@app.command()
def graph(
    directory: Annotated[Path, typer.Argument(help="a checkout or any folder of .tf files")],
    rev: Annotated[str | None, typer.Option(help="read this git revision, not the files")] = None,
    output_format: Annotated[str, typer.Option("--format", help="json | dot | mermaid")] = "json",
) -> None:
    """Print the stack graph of a folder (offline: no server needed)."""
    from orchestrator.graph.load import graph_of_commit, graph_of_directory
    from orchestrator.graph.render import FORMATS, render
    from orchestrator.vcs.mirror import Mirror, VcsError

    if output_format not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}")
    if not directory.is_dir():
        _fail(f"{directory} is not a directory")
    try:
        if rev is None:
            result = graph_of_directory(directory)
        else:
            mirror = Mirror(directory, "")
            result = graph_of_commit(mirror, mirror.resolve(rev))
    except VcsError as exc:
        _fail(str(exc))
    typer.echo(render(result, output_format))
    if result.fatal_errors():
        raise typer.Exit(2)


@app.command()
def affected(
    directory: Annotated[Path, typer.Argument(help="a git checkout")],
    base: Annotated[str, typer.Option(help="the revision before the change")],
    head: Annotated[str, typer.Option(help="the revision after the change")] = "HEAD",
) -> None:
    """Print the stacks a change affects, with the reason for each (offline)."""
    from orchestrator.graph.affected import affected as affected_stacks
    from orchestrator.graph.load import graph_of_commit
    from orchestrator.vcs.mirror import Mirror, VcsError

    mirror = Mirror(directory, "")
    try:
        base_sha, head_sha = mirror.resolve(base), mirror.resolve(head)
        result = graph_of_commit(mirror, head_sha)
        changed = mirror.changed_paths(base_sha, head_sha) or []
    except VcsError as exc:
        _fail(str(exc))
    reasons = affected_stacks(result, changed)
    typer.echo(json.dumps([{"path": p, "reason": r} for p, r in reasons.items()], indent=2))
    if result.fatal_errors():
        typer.echo(f"error: {result.fatal_errors()[0]['message']}", err=True)
        raise typer.Exit(2)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
