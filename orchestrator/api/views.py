"""JSON shapes of the API's resources."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from orchestrator.boundary import queries as boundary
from orchestrator.handoff import views as handoff_views
from orchestrator.models import Event, Pipeline, Run, RunTransition, Stack
from orchestrator.policy import store as policies
from orchestrator.policy.inputs import Review
from orchestrator.reports import service as reports
from orchestrator.runs import queries


def run_view(run: Run | Row[Any]) -> dict[str, Any]:
    """A run as lists show it (from a run, or a row of the columns lists read)."""
    if isinstance(run, Row):
        return listed_run_view(run)
    return listed_run_view(tuple(getattr(run, column.key) for column in queries.LISTED))


def listed_run_view(values: Sequence[Any]) -> dict[str, Any]:
    """A row of `queries.LISTED` as lists show it, unpacked by position: looking up 17
    columns by name on each of a page's 500 rows cost more than building the page."""
    (
        run_id,
        stack_id,
        pipeline_id,
        kind,
        state,
        commit_sha,
        commit_message,
        commit_author,
        branch,
        pr_number,
        triggered_by,
        trigger_reason,
        plan_summary,
        failure_reason,
        upstream_run_ids,
        created_at,
        finished_at,
    ) = values
    return {
        "id": run_id,
        "stack": stack_id,
        "pipeline": pipeline_id,
        "kind": kind,
        "state": state,
        "commit": {
            "sha": commit_sha,
            "message": commit_message,
            "author": commit_author,
            "branch": branch,
        },
        "branch": branch,
        "pr_number": pr_number,
        "triggered_by": triggered_by,
        "trigger_reason": trigger_reason,
        "plan_summary": plan_summary,
        "failure_reason": failure_reason,
        "upstream_runs": upstream_run_ids,
        "created_at": created_at.isoformat(),
        "finished_at": finished_at.isoformat() if finished_at else None,
    }


def run_detail_view(session: Session, run: Run) -> dict[str, Any]:
    """A run on its own: its plan, history, policy evaluations, reviews and hand-offs too."""
    return {
        **run_view(run),
        "resource_changes": run.resource_changes or [],
        "plan_sha256": run.plan_sha256,
        "history": [transition_view(t) for t in queries.history(session, run.id)],
        "policy_evaluations": policies.evaluations_of(session, run.id),
        "reviews": [review_view(r) for r in policies.reviews_of(session, run.id)],
        "handoffs": [handoff_views.view(h) for h in queries.handoffs_of(session, run.id)],
    }


def transition_view(transition: RunTransition) -> dict[str, Any]:
    return {
        "from": transition.from_state,
        "to": transition.to_state,
        "actor": transition.actor,
        "reason": transition.reason,
        "at": transition.at.isoformat(),
    }


def review_view(review: Review) -> dict[str, Any]:
    return {
        "decision": review.decision,
        "user": review.user,
        "role": review.roles[0],
        "comment": review.comment,
        "at": review.at,
    }


def stack_view(stack: Stack) -> dict[str, Any]:
    return {
        "id": stack.id,
        "repository_id": stack.repository_id,
        "path": stack.path,
        "name": stack.name,
        "environment": stack.environment,
        "backend_config_files": stack.backend_files,
        "var_files": stack.var_files,
        "labels": stack.labels,
        "autodeploy": stack.autodeploy,
        "managed_state": stack.managed_state,
        "backend": stack.backend_type,
        "worker_pool": stack.worker_pool,
        "depends_on": stack.depends_on,
        "locked_by_run": stack.locked_by_run_id,
        "state_recovery": {
            "needed": stack.state_recovery_artifact is not None,
            "artifact": stack.state_recovery_artifact,
            "run": stack.state_recovery_run_id,
        },
        "drift_status": stack.drift_status,
        "last_drift_check_at": (
            stack.last_drift_check_at.isoformat() if stack.last_drift_check_at else None
        ),
        "deleted": stack.deleted,
    }


def pipeline_view(session: Session, pipeline: Pipeline) -> dict[str, Any]:
    return pipeline_views(session, [pipeline])[0]


def pipeline_views(session: Session, pipelines: list[Pipeline]) -> list[dict[str, Any]]:
    """Pipelines with their runs, edges, hand-offs and ownership checks: two queries for the
    whole page, and the boundary's only for a pipeline that handed off."""
    ids = [p.id for p in pipelines]
    runs_of = queries.runs_of_many(session, ids)
    handoffs_of = handoff_views.views_of_many(session, ids)
    return [
        _pipeline(
            p,
            runs_of.get(p.id, []),
            handoffs_of.get(p.id, []),
            _boundary(session, p, handoffs_of.get(p.id, [])),
        )
        for p in pipelines
    ]


def _boundary(
    session: Session, pipeline: Pipeline, handoffs: list[dict[str, Any]]
) -> dict[str, Any]:
    if not handoffs:
        return {"checks": [], "findings": []}
    platforms = sorted({h["stack_id"] for h in handoffs})
    return boundary.pipeline_view(session, pipeline.id, platforms)


def _pipeline(
    pipeline: Pipeline,
    runs: list[Row[Any]],
    handoffs: list[dict[str, Any]],
    boundary_view: dict[str, Any],
) -> dict[str, Any]:
    listed = [listed_run_view(r) for r in runs]
    return {
        "id": pipeline.id,
        "repository_id": pipeline.repository_id,
        "kind": pipeline.kind,
        "commit_sha": pipeline.commit_sha,
        "branch": pipeline.branch,
        "pr_number": pipeline.pr_number,
        "note": pipeline.note,
        "graph_warnings": list(pipeline.graph_warnings or []),
        "report": reports.view(pipeline),
        "created_at": pipeline.created_at.isoformat(),
        "runs": listed,
        "edges": [
            {"from": int(upstream), "to": run["id"]}
            for run in listed
            for upstream in run["upstream_runs"]
        ],
        "handoffs": handoffs,
        "boundary": boundary_view,
    }


def event_view(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "provider": event.provider,
        "delivery_id": event.delivery_id,
        "event_type": event.event_type,
        "ref": event.ref,
        "before": event.before_sha,
        "after": event.after_sha,
        "status": event.status,
        "detail": event.detail,
        "received_at": event.received_at.isoformat(),
        "processed_at": event.processed_at.isoformat() if event.processed_at else None,
    }
