"""What a claimed run works on, as a worker sees it (through runs/worker_api.py): the run's
stack, repository and commit as plain values, the commit exported into a workspace, the
current state of a managed upstream, the stack's AWS role assumed for the run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from orchestrator import statestore
from orchestrator.aws import sts
from orchestrator.aws.role import AwsRole
from orchestrator.db import session_scope
from orchestrator.graph import hcl
from orchestrator.graph.facts import STACK_FILE
from orchestrator.graph.model import address_of
from orchestrator.graphstore import gate
from orchestrator.graphstore.gate import StackAtCommit
from orchestrator.models import Repository, Run, Stack
from orchestrator.repos import mirror_of
from orchestrator.settings import Settings
from orchestrator.trust import redact_state
from orchestrator.vcs.mirror import Mirror


@dataclass(frozen=True)
class RunInputs:
    """A claimed run, its stack and where its code comes from (`export_commit` opens the
    repository's mirror); `aws` the stack's role as stored (read by `aws_role_arn`,
    `assume_role`); `credential` the run's own, issued with the claim for this task (never
    shown by repr, nor is the clone URL, which may hold a token); `at_commit` what the graph
    at the run's commit says of its stack when whoever claimed the run had that graph at hand
    (the push that created it), so the worker need not build it again."""

    run_id: int
    kind: str
    commit_sha: str
    plan_sha256: str | None
    stack_id: str
    stack_path: str
    managed_state: bool
    environment: str | None
    local_state_reads: tuple[Mapping[str, Any], ...]
    aws: Mapping[str, Any] | None
    repository_id: int
    repository_name: str = ""
    clone_url: str = field(default="", repr=False)
    credential: str = field(default="", repr=False, compare=False)
    at_commit: StackAtCommit | None = field(default=None, compare=False)

    @property
    def stack_address(self) -> str:
        """The stack's key in the graph: its folder, or `folder@environment`."""
        return address_of(self.stack_path, self.environment)

    @property
    def aws_role_arn(self) -> str | None:
        return AwsRole.from_json(dict(self.aws)).role_arn if self.aws else None


def load(session: Session, run_id: int, credential: str = "") -> RunInputs:
    run = session.get(Run, run_id)
    assert run is not None
    stack = session.get(Stack, run.stack_id)
    assert stack is not None
    repository = session.get(Repository, stack.repository_id)
    assert repository is not None
    return RunInputs(
        run_id=run.id,
        kind=run.kind,
        commit_sha=run.commit_sha,
        plan_sha256=run.plan_sha256,
        stack_id=stack.id,
        stack_path=stack.path,
        managed_state=stack.managed_state,
        environment=stack.environment,
        local_state_reads=tuple(stack.local_state_reads or []),
        aws=stack.aws,
        repository_id=stack.repository_id,
        repository_name=repository.name,
        clone_url=repository.clone_url,
        credential=credential,
    )


def export_commit(
    inputs: RunInputs, root: Path, cleared: Callable[[], object] = lambda: None
) -> StackAtCommit:
    """Export the run's commit to `root`; the stack as the graph at that commit has it (its
    environment's files). ValueError, before anything is written, when that graph blocks the
    stack (a link that leaves the repository, a file over a graph limit); a link that leaves
    the repository is never written. `cleared` is called once nothing blocks the stack,
    before the export (a worker starts reading the run's environment meanwhile). The graph
    is built again unless the claim brought it (`inputs.at_commit`)."""
    sha = inputs.commit_sha
    mirror = mirror_of(inputs.repository_id, inputs.repository_name, inputs.clone_url)
    found = inputs.at_commit
    if found is None:
        mirror.ensure_commit(sha)
        found = _stack_at(mirror, sha, inputs.stack_address)
    if found.blockers:
        raise ValueError(
            f"stack {inputs.stack_address} cannot run at commit {sha[:12]}: "
            + "; ".join(found.blockers)
        )
    cleared()
    mirror.ensure_commit(sha)  # held already when the graph was built here: no git process
    mirror.export(sha, root)
    return found


def _stack_at(mirror: Mirror, sha: str, address: str) -> StackAtCommit:
    with session_scope() as session:
        return gate.stack_at(session, mirror, sha, address)


def check_stack_file(directory: Path, stack_path: str) -> None:
    """A stackrun.hcl that does not parse fails the run with the parser's message."""
    stack_file = directory / STACK_FILE
    if not stack_file.is_file():
        return
    shown = STACK_FILE if stack_path == "." else f"{stack_path}/{STACK_FILE}"
    failure = _stack_file_failure(stack_file.read_text(errors="replace"), shown)
    if failure is not None:
        raise ValueError(failure)


@lru_cache(maxsize=256)
def _stack_file_failure(text: str, shown: str) -> str | None:
    """Why a stack file's text does not parse; None when it does. Remembered by content (the
    parse takes milliseconds and a stack's file rarely changes between its runs)."""
    parsed = hcl.parse(text, shown)
    return f"parsing {parsed}" if isinstance(parsed, hcl.HclError) else None


def warm_up_parser() -> None:
    """Build the HCL parser once (the first parse of a process spends a tenth of a second)."""
    hcl.parse("stack {}\n", "warm-up.hcl")


def upstream_state(stack_id: str, trusted: bool) -> bytes | None:
    """The current managed state of `stack_id` (None when it has none yet); for an untrusted
    run with its sensitive values withheld."""
    with session_scope() as session:
        version = statestore.latest(session, stack_id)
        content = version.content if version is not None else None
    if content is None or trusted:
        return content
    return redact_state(content)


def managed_outputs(stack_id: str, run_id: int) -> dict[str, Any] | None:
    """The outputs of the managed state `run_id` saved for `stack_id`; None when it saved none."""
    with session_scope() as session:
        return statestore.outputs_of(session, stack_id, run_id)


@dataclass(frozen=True)
class AssumedRole:
    """Temporary credentials of the stack's role (`env`), and what to tell the run's log."""

    env: dict[str, str]
    role_arn: str
    session_name: str
    session_seconds: int


def assume_role(settings: Settings, inputs: RunInputs) -> AssumedRole | None:
    """The stack's role assumed for this run; None when the stack has none. Raises
    AssumeRoleFailed when STS refuses or cannot be reached."""
    if not inputs.aws:
        return None
    role = AwsRole.from_json(dict(inputs.aws))
    env = sts.assume(role, inputs.run_id, inputs.stack_id, settings)
    name = sts.session_name(inputs.run_id, inputs.stack_id)
    return AssumedRole(env, role.role_arn, name, role.session_seconds)
