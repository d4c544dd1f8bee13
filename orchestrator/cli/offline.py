"""Offline verbs: the stack graph of a folder, the stacks a change affects. No server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from orchestrator.cli.common import fail

if TYPE_CHECKING:
    from orchestrator.graph.model import Graph


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
        fail(f"--format must be one of {', '.join(FORMATS)}")
    if not directory.is_dir():
        fail(f"{directory} is not a directory")
    try:
        if rev is None:
            result = graph_of_directory(directory)
        else:
            mirror = Mirror(directory, "")
            result = graph_of_commit(mirror, mirror.resolve(rev))
    except VcsError as exc:
        fail(str(exc))
    typer.echo(render(result, output_format))
    _report_conflicts(result)


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
        fail(str(exc))
    reasons = affected_stacks(result, changed)
    listed = [_affected_entry(result, address, reason) for address, reason in reasons.items()]
    typer.echo(json.dumps(listed, indent=2))
    _report_conflicts(result)


def _affected_entry(result: Graph, address: str, reason: str) -> dict[str, str]:
    """`stack` names the stack as the API does (`path@environment` for an instance)."""
    node = result.stacks[address]
    entry = {"stack": address, "path": node.path, "reason": reason}
    if node.environment is not None:
        entry["environment"] = node.environment
    return entry


def _report_conflicts(result: Graph) -> None:
    """A line on stderr for each standing conflict and each error that stops stacks from
    running (a depends_on cycle, an environment's declaration): the graph is still built."""
    for warning in result.conflicts:
        typer.echo(f"warning: {warning['message']}", err=True)
    for error in result.errors:
        if error["kind"] in ("cycle", "environment"):
            typer.echo(f"error: {error['message']}", err=True)
