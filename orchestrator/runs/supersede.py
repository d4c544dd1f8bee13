"""A newer commit makes older work stale: older tracked runs waiting for a start or an
approval are DISCARDED, older or closed proposals are ended."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from orchestrator.models import Pipeline, Run
from orchestrator.runs import advance, events, service
from orchestrator.runs.queue import Doorbell
from orchestrator.runstate import ENDABLE_PROPOSAL, SUPERSEDABLE, Allowed, RunKind, RunState


def supersede(session: Session, new_run_ids: list[int]) -> list[Doorbell]:
    """A newer commit discards the older QUEUED and UNCONFIRMED tracked runs of its stacks:
    a stale plan is never applied."""
    news = session.execute(
        select(Run.id, Run.stack_id, Run.commit_sha).where(
            Run.id.in_(new_run_ids), Run.kind == RunKind.TRACKED
        )
    ).all()
    if not news:
        return []
    order = {run_id: index for index, run_id in enumerate(new_run_ids)}
    newer: dict[str, list[tuple[int, str]]] = {}
    for run_id, stack_id, sha in sorted(news, key=lambda row: order[row[0]]):
        newer.setdefault(stack_id, []).append((run_id, sha))
    candidates = select(Run).where(  # one query for all the stacks; each run's test below
        Run.stack_id.in_(list(newer)),
        Run.kind == RunKind.TRACKED,
        Run.state.in_(list(SUPERSEDABLE)),
        Run.id < max(run_id for run_id, _, _ in news),
    )
    bells: list[Doorbell] = []
    for old in list(session.scalars(candidates.order_by(Run.id))):
        by = [i for i, sha in newer[old.stack_id] if old.id < i and old.commit_sha != sha]
        if not by or old.state not in SUPERSEDABLE:  # ended since: behind a discarded upstream
            continue
        new_id = by[0]
        decision = service.transition(
            session,
            old.id,
            RunState.DISCARDED,
            actor="stackrun",
            reason=f"superseded by run {new_id}",
            expect=RunState(old.state),
        )
        if isinstance(decision, Allowed):
            bells += advance.finished(session, old)
    return bells


def supersede_proposals(session: Session, pipeline_id: int) -> list[Doorbell]:
    """A newer head commit of a branch or pull request ends the older proposals for it:
    queued runs are DISCARDED, running ones STOPPED ("superseded")."""
    new = session.get(Pipeline, pipeline_id)
    if new is None or new.kind != RunKind.PROPOSED:
        return []
    same = Pipeline.branch == new.branch
    if new.pr_number is not None:
        same = or_(same, Pipeline.pr_number == new.pr_number)
    older = select(Pipeline).where(
        Pipeline.repository_id == new.repository_id,
        Pipeline.kind == RunKind.PROPOSED,
        Pipeline.id < new.id,
        Pipeline.commit_sha != new.commit_sha,
        same,
    )
    reason = f"superseded by pipeline {new.id} at {new.commit_sha[:12]}"
    bells: list[Doorbell] = []
    for old in list(session.scalars(older.order_by(Pipeline.id))):
        bells += _end_proposal(session, old, reason)
    return bells


def end_proposals(
    session: Session, repository_id: int, pr_number: int, reason: str
) -> list[Doorbell]:
    """A closed pull/merge request ends its pending proposed runs."""
    proposals = select(Pipeline).where(
        Pipeline.repository_id == repository_id,
        Pipeline.kind == RunKind.PROPOSED,
        Pipeline.pr_number == pr_number,
    )
    bells: list[Doorbell] = []
    for proposal in list(session.scalars(proposals.order_by(Pipeline.id))):
        bells += _end_proposal(session, proposal, reason)
    return bells


def _end_proposal(session: Session, proposal: Pipeline, reason: str) -> list[Doorbell]:
    runs = session.scalars(
        select(Run)
        .where(Run.pipeline_id == proposal.id, Run.state.in_(list(ENDABLE_PROPOSAL)))
        .order_by(Run.id)
    )
    bells: list[Doorbell] = []
    for run in list(runs):
        source = RunState(run.state)
        target = RunState.DISCARDED if source == RunState.QUEUED else RunState.STOPPED
        decision = service.transition(
            session, run.id, target, actor="stackrun", reason=reason, expect=source
        )
        if isinstance(decision, Allowed):
            bells += advance.finished(session, run)
    if not proposal.note:
        proposal.note = reason
        bells += events.publish(session, events.PipelineChanged(proposal.id))
    return bells
