"""A stored push becomes a pipeline: the stack graph at the commit, the affected stacks, a run
for each in dependency order."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from orchestrator.graph.load import process_cache
from orchestrator.graph.model import Graph
from orchestrator.graph.push import PushImpact, impact
from orchestrator.graphstore import snapshot
from orchestrator.graphstore.cache import DatabaseCache
from orchestrator.models import Event, Pipeline, Repository, Run, Stack, utcnow
from orchestrator.policy import gates
from orchestrator.policy.decide import Verdict
from orchestrator.policy.inputs import PlannedRun, RunFacts, run_facts
from orchestrator.repos import mirror_for
from orchestrator.runs import advance, events, service, supersede
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import RunKind
from orchestrator.stacks.service import known_stacks, upsert_stacks
from orchestrator.vcs.mirror import ZERO_SHA, Mirror, VcsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushResult:
    pipeline_id: int | None
    run_ids: tuple[int, ...]
    detail: str
    closed_review: int | None = None
    repository_id: int = 0
    graph: Graph | None = None


@dataclass(frozen=True)
class _Commit:
    sha: str
    message: str
    author: str
    triggered_by: str
    branch: str
    kind: RunKind
    pr_number: int | None


@dataclass(frozen=True)
class Handled:
    """What processing a push decided: the doorbells to ring after the commit; for a new
    pipeline its runs and the graph at its commit (a worker claiming one of them in this
    transaction need not build it again)."""

    bells: list[Doorbell]
    run_ids: tuple[int, ...] = ()
    graph: Graph | None = None


def handle(session: Session, event_id: int, since: str | None = None) -> Handled:
    """Process a claimed push and carry on from it: a closed review ends its proposals; a new
    pipeline supersedes older work and starts.
    `since`: the `before` of the oldest push of a burst this one stands for (runs/bursts.py)."""
    result = process_push(session, event_id, since)
    if result is None:
        return Handled([])
    if result.closed_review is not None:
        reason = f"pull request #{result.closed_review} closed"
        return Handled(
            supersede.end_proposals(session, result.repository_id, result.closed_review, reason)
        )
    if result.pipeline_id is None:
        return Handled([])
    bells = supersede.supersede(session, list(result.run_ids))
    bells += supersede.supersede_proposals(session, result.pipeline_id)
    bells += advance.advance_pipeline(session, result.pipeline_id)
    return Handled(bells, result.run_ids, result.graph)


def process_push(session: Session, event_id: int, since: str | None = None) -> PushResult | None:
    """Turn a claimed event into a pipeline; None when the event is not being processed.

    A push to the tracked branch makes a TRACKED pipeline; a push to any other branch, or a
    pull/merge request opened or updated, a PROPOSED one (plan and policy, never an apply)."""
    event = session.get(Event, event_id, populate_existing=True)
    if event is None or event.status != "processing":
        return None
    # One push of a repository at a time: a pipeline sees every earlier one it may supersede.
    # FOR NO KEY UPDATE: the webhook intake's INSERT of an event (a foreign key share lock on
    # this row) does not wait for the push being processed.
    repository = session.get(Repository, event.repository_id, with_for_update={"key_share": True})
    assert repository is not None
    branch = event.ref.removeprefix("refs/heads/")
    proposal = event.event_type != "push" or branch != repository.branch
    if event.action == "closed" and event.pr_number is not None:
        _finish_event(event, "processed", f"pull request #{event.pr_number} closed")
        return PushResult(None, (), event.detail, event.pr_number, repository.id)
    if proposal:
        adopted = _already_proposed(session, event, repository)
        if adopted is not None:
            return adopted
    read = _read_commit(session, event, repository, branch, proposal, since)
    if isinstance(read, PushResult):
        return read
    found, commit = read
    if proposal:
        stacks = known_stacks(session, repository, found.graph)
    else:
        stacks = upsert_stacks(session, repository, found.graph)
    if not found.reasons:
        return _finish_event(
            event, "processed", "no stack is affected" + _conflicts_note(found.graph)
        )
    return _start_pipeline(session, event, repository, stacks, found, commit)


def _read_commit(
    session: Session,
    event: Event,
    repository: Repository,
    branch: str,
    proposal: bool,
    since: str | None,
) -> tuple[PushImpact, _Commit] | PushResult:
    """The pushed commit, its graph and what it affects; the event's end when it is unreadable,
    older than a commit already planned. A graph with standing conflicts is read all the same
    (DESIGN §3): they become warnings on the event."""
    mirror = mirror_for(repository)
    doing = f"reading commit {event.after_sha[:12]} of repository {repository.name}"
    try:
        mirror.ensure_commit(event.after_sha)
        tracked_head = mirror.branch_head(repository.branch)
        found = _impact(session, mirror, event, tracked_head, proposal, since)
        message, author = mirror.commit_info(event.after_sha)
    except VcsError as exc:
        return _finish_event(event, "failed", f"{doing}: {exc}")
    newer = _newer_planned_commit(session, mirror, repository, branch, event.after_sha)
    if newer is not None:
        return _finish_event(
            event,
            "ignored",
            f"commit {event.after_sha[:12]} is older than "
            f"commit {newer[:12]}, which already has a pipeline",
        )
    if not proposal:
        snapshot.save(session, repository, event.after_sha, event.id, found.graph)
    triggered_by = f"{event.event_type}:{event.pusher or 'unknown'}"[:200]
    kind = RunKind.PROPOSED if proposal else RunKind.TRACKED
    commit = _Commit(
        event.after_sha, message, author[:200], triggered_by, branch, kind, event.pr_number
    )
    return found, commit


def _start_pipeline(
    session: Session,
    event: Event,
    repository: Repository,
    stacks: dict[str, Stack],
    found: PushImpact,
    commit: _Commit,
) -> PushResult:
    """A pipeline of the affected stacks, each run as the trigger policies say."""
    reports = commit.kind == RunKind.PROPOSED and bool(repository.vcs_token_enc)
    pipeline = Pipeline(
        repository_id=repository.id,
        event_id=event.id,
        commit_sha=commit.sha,
        branch=commit.branch,
        kind=commit.kind,
        pr_number=event.pr_number,
        report_state="pending" if reports else None,
        report_due_at=utcnow() if reports else None,
        graph_warnings=_conflicts(found.graph),
    )
    session.add(pipeline)
    session.flush()
    triggers = _trigger_verdicts(session, repository, stacks, found, commit)
    run_ids = _create_runs(session, pipeline, stacks, found, commit, triggers)
    ignored = sorted(p for p, v in triggers.items() if v.decision == "ignore")
    detail = f"pipeline {pipeline.id}: {len(run_ids)} {commit.kind.lower()} runs"
    detail += f" (diff base: {found.base_reason})"
    if ignored:
        detail += f"; ignored by trigger policies: {', '.join(ignored)}"
    detail += _conflicts_note(found.graph)
    _finish_event(event, "processed", detail)
    return PushResult(pipeline.id, tuple(run_ids), detail, graph=found.graph)


def _impact(
    session: Session,
    mirror: Mirror,
    event: Event,
    tracked_head: str | None,
    proposal: bool,
    since: str | None = None,
) -> PushImpact:
    """A proposal is compared with its merge-base with the tracked branch (all it would
    change there), a tracked push with its `before` (DESIGN §3)."""
    cache = DatabaseCache(session, process_cache())
    if not proposal:
        return impact(mirror, since or event.before_sha, event.after_sha, tracked_head, cache)
    if tracked_head == event.after_sha:
        found = impact(mirror, event.after_sha, event.after_sha, tracked_head, cache)
        return PushImpact(found.graph, event.after_sha, "the tracked branch is at this commit", {})
    return impact(mirror, ZERO_SHA, event.after_sha, tracked_head, cache)


def _already_proposed(session: Session, event: Event, repository: Repository) -> PushResult | None:
    """GitHub sends a push and a pull_request event for the same commit: the second one adds
    its pull request number to the pipeline the first one made, and makes no other. A
    proposal that was ended (superseded, or its pull request closed) is proposed anew."""
    existing = session.scalar(
        select(Pipeline)
        .where(
            Pipeline.repository_id == repository.id,
            Pipeline.kind == RunKind.PROPOSED,
            Pipeline.commit_sha == event.after_sha,
            Pipeline.note == "",
        )
        .order_by(Pipeline.id.desc())
        .limit(1)
    )
    if existing is None:
        return None
    detail = f"pipeline {existing.id} already proposes commit {event.after_sha[:12]}"
    if event.pr_number is not None and existing.pr_number is None:
        existing.pr_number = event.pr_number
        session.execute(
            update(Run).where(Run.pipeline_id == existing.id).values(pr_number=event.pr_number)
        )
        if repository.vcs_token_enc:
            existing.report_state = existing.report_state or "pending"
            session.flush()
            events.publish(session, events.PipelineChanged(existing.id))
        detail += f"; now reported on pull request #{event.pr_number}"
    _finish_event(event, "processed", detail)
    return PushResult(existing.id, (), detail)


def _newer_planned_commit(
    session: Session, mirror: Mirror, repository: Repository, branch: str, sha: str
) -> str | None:
    """A push delivered late (its commit is an ancestor of one already planned on its branch)
    changes nothing: running it would roll the infrastructure back (or propose the past)."""
    latest = session.scalar(
        select(Pipeline.commit_sha)
        .where(Pipeline.repository_id == repository.id, Pipeline.branch == branch)
        .order_by(Pipeline.id.desc())
        .limit(1)
    )
    if latest and latest != sha and mirror.is_ancestor(sha, latest):
        return latest
    return None


def _trigger_verdicts(
    session: Session,
    repository: Repository,
    stacks: dict[str, Stack],
    found: PushImpact,
    commit: _Commit,
) -> dict[str, Verdict]:
    """What the trigger policies say of each affected stack (nothing attached → run them all)."""
    facts = {
        path: (_push_facts(repository, stacks[path], commit), reason)
        for path, reason in found.reasons.items()
    }
    return gates.on_push(session, facts, found.changed)


def _push_facts(repository: Repository, stack: Stack, commit: _Commit) -> RunFacts:
    planned = PlannedRun(
        kind=commit.kind,
        commit_sha=commit.sha,
        commit_author=commit.author,
        commit_message=commit.message,
        branch=commit.branch,
        triggered_by=commit.triggered_by,
    )
    return run_facts(planned, stack, repository.name)


def _create_runs(
    session: Session,
    pipeline: Pipeline,
    stacks: dict[str, Stack],
    found: PushImpact,
    commit: _Commit,
    triggers: dict[str, Verdict],
) -> list[int]:
    """A run per affected stack, upstreams first; trigger policies may ignore a stack or make
    its run plan-only (PROPOSED). A proposal's runs are all PROPOSED."""
    run_by_path: dict[str, int] = {}
    for path in found.graph.upstreams_first(found.reasons):
        verdict = triggers[path]
        if verdict.decision == "ignore":
            continue
        upstream_ids = tuple(
            run_by_path[u] for u in sorted(found.graph.upstreams_of(path)) if u in run_by_path
        )
        run = service.create_run(
            session,
            service.NewRun(
                stack_id=stacks[path].id,
                kind=RunKind.PROPOSED if verdict.decision == "propose" else commit.kind,
                commit_sha=commit.sha,
                branch=pipeline.branch,
                pr_number=commit.pr_number,
                triggered_by=commit.triggered_by,
                pipeline_id=pipeline.id,
                commit_message=commit.message,
                commit_author=commit.author,
                upstream_run_ids=upstream_ids,
                trigger_reason="; ".join([found.reasons[path], *verdict.messages]),
            ),
            # A proposal may be made again at the same commit (a reopened pull request);
            # duplicate deliveries never get here (event dedupe, _already_proposed).
            dedupe=commit.kind != RunKind.PROPOSED,
        )
        if run is not None:
            run_by_path[path] = run.id
    return list(run_by_path.values())


def _conflicts(graph: Graph) -> list[str]:
    """The standing conflicts of the graph (two stacks writing one state, cycles), which the
    push plans around: the stacks a depends_on cycle blocks fail before Terraform."""
    found = [w["message"] for w in graph.conflicts]
    return found + [e["message"] for e in graph.errors if e["kind"] == "cycle"]


def _conflicts_note(graph: Graph) -> str:
    found = _conflicts(graph)
    return f"; stack graph warnings: {'; '.join(found)}" if found else ""


def _finish_event(event: Event, status: str, detail: str) -> PushResult:
    event.status = status
    event.detail = detail
    event.processed_at = utcnow()
    log.info("event=%s status=%s detail=%r", event.id, status, detail)
    return PushResult(None, (), detail)
