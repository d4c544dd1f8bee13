"""The exact commit of a run in a fresh per-run workspace, with managed state wired in."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from orchestrator import worker_api
from orchestrator.settings import Settings
from orchestrator.worker_api import RunInputs, StackAtCommit

BACKEND_OVERRIDE = "zz_stackrun_backend_override.tf"
BACKEND_CONFIG = ".stackrun-backend.hcl"


def workspace_for(settings: Settings, run_id: int, phase: str) -> Path:
    return settings.workspaces_dir / f"run-{run_id}-{phase}"


def checkout(
    settings: Settings, inputs: RunInputs, phase: str, cleared: Callable[[], object]
) -> tuple[Path, StackAtCommit]:
    """Export the run's commit; return the workspace's root and the stack as the graph at
    the commit has it. ValueError, before anything is written, when that graph blocks the
    stack (a link that leaves the repository, a file over a graph limit); a link that leaves
    the repository is never written. `cleared` is called once nothing blocks the stack,
    before the export."""
    root = workspace_for(settings, inputs.run_id, phase)
    if root.exists():
        shutil.rmtree(root)
    found = worker_api.export_commit(inputs, root, cleared)
    return root, found


def stack_dir(root: Path, stack_path: str) -> Path:
    return root if stack_path == "." else root / stack_path


def state_address(settings: Settings, stack_id: str) -> str:
    return f"{settings.api_url.rstrip('/')}/api/v1/stacks/{quote(stack_id, safe='/')}/state"


def wire_managed_state(directory: Path, address: str, run_id: int) -> Path:
    """Point the stack at stackrun's http backend. The password is not written here: it goes
    in TF_HTTP_PASSWORD (terraform keeps it out of the plan file), so the plan artifact holds
    no credential and an apply in a new task uses that task's own."""
    write_new(directory / BACKEND_OVERRIDE, b'terraform {\n  backend "http" {}\n}\n')
    config = directory / BACKEND_CONFIG
    write_new(
        config,
        (
            f'address        = "{address}"\n'
            f'lock_address   = "{address}"\n'
            f'unlock_address = "{address}"\n'
            f'username       = "run-{run_id}"\n'
        ).encode(),
        mode=0o600,
    )
    return config


def write_new(path: Path, content: bytes, mode: int = 0o644) -> None:
    """Write a file of stackrun's own into a workspace the repository (and terraform) shaped:
    whatever stands at `path` is removed first and the file is created, never followed, so a
    link planted there cannot make the worker write elsewhere."""
    if path.is_dir() and not path.is_symlink():
        raise ValueError(
            f"{path.name} in the workspace is a directory; stackrun writes a file there"
        )
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def read_result(root: Path, path: Path) -> bytes:
    """A file terraform left in the workspace, read without following a link it may have
    planted there (to the key file, say): the path must stay inside `root` and be a regular
    file. FileNotFoundError when it is absent; ValueError when it is not what it should be."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise ValueError(f"{path.name} in the workspace points outside it; refusing to read it")
    try:
        fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path.name} in the workspace cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise ValueError(f"{path.name} in the workspace is not a regular file")
        return handle.read()


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
