"""Server verbs: the database schema, tokens, and the processes of a deployment (API, workers,
beat, or all of them under `up`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.cli.common import fail
from orchestrator.settings import get_settings
from orchestrator.vcs.urls import LOCAL_SETTING as LOCAL_REPOSITORIES

tokens_app = typer.Typer(help="API tokens (server side: writes the database)")


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
        fail(str(exc))
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


def worker(
    pool: Annotated[str, typer.Option(help="worker pool (Celery queue)")] = "default",
    concurrency: Annotated[int | None, typer.Option(help="task slots (default: settings)")] = None,
    name: Annotated[str | None, typer.Option(help="worker name (unique per host)")] = None,
) -> None:
    """Run a Celery worker for one pool."""
    os.execv(sys.executable, _worker_command(pool, _slots(concurrency), name=name))  # noqa: S606


def beat() -> None:
    """Run Celery beat (drift ticks, reaper)."""
    os.execv(sys.executable, _beat_command())  # noqa: S606


def api(
    host: Annotated[str, typer.Option(help="the address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="the port to listen on")] = 8000,
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


def up(
    demo: Annotated[bool, typer.Option(help="create and push a demo platform")] = False,
    port: Annotated[int, typer.Option(help="the API's port on 127.0.0.1")] = 8000,
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
        fail(f"starting the API on 127.0.0.1:{port}: {why} — stop what holds it or pass --port")
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
        fail(failure)


def _start_demo(data_dir: Path, url: str) -> None:
    from orchestrator.demo import DemoError, next_steps, pipeline_of, run_demo

    try:
        started = run_demo(data_dir, url)
    except DemoError as exc:
        fail(str(exc))
    push = started.push
    if push is None:
        typer.echo(
            f"demo: kept {started.platform} as you left it (main at {started.head[:12]}); "
            "nothing pushed. The hook delivers your next git push."
        )
    else:
        typer.echo(f"demo: pushed {push.repository} → webhook answered {push.status_code}")
    typer.echo(f"admin token (shown once): {started.token}")
    pipeline = pipeline_of(push.delivery_id) if push is not None else None
    for line in next_steps(data_dir, url, started.token, _own_command(), pipeline):
        typer.echo(line)


def _own_command() -> str:
    """How the user can call this same stackrun (its venv may not be on PATH)."""
    beside = Path(sys.executable).parent / "stackrun"
    return str(beside) if beside.exists() else "stackrun"
