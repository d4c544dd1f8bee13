"""The policy playground: one version of a plan policy evaluated against a run's plan input
(built exactly as after a real plan), the decision shown and nothing stored."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator import repos
from orchestrator.artifacts.store import open_store, plan_json_key
from orchestrator.models import Policy, PolicyVersion, Run
from orchestrator.policy import decide, engine, inputs
from orchestrator.policy import store as policies
from orchestrator.policy.decide import Attached
from orchestrator.settings import get_settings


@dataclass(frozen=True)
class Decision:
    result: str
    messages: tuple[str, ...]


def versions(session: Session, policy: Policy) -> list[PolicyVersion]:
    """Every kept version, newest first."""
    query = (
        select(PolicyVersion)
        .where(PolicyVersion.policy_id == policy.id)
        .order_by(PolicyVersion.version.desc())
    )
    return list(session.scalars(query))


def evaluate(session: Session, policy: Policy, version: int, run: Run) -> Decision:
    """The plan verdict of `version` of `policy` on `run`'s plan; a refusal is a decision of
    its own (`unavailable`) saying why."""
    if policy.type != "plan":
        return Decision(
            "unavailable",
            (
                f"the playground evaluates plan policies only, "
                f"and {policy.name!r} is a {policy.type} policy",
            ),
        )
    chosen = next((v for v in versions(session, policy) if v.version == version), None)
    if chosen is None:
        return Decision("unavailable", (f"{policy.name!r} has no version {version}",))
    try:
        plan = json.loads(open_store().get(plan_json_key(run.id)))
    except KeyError:
        return Decision("unavailable", (f"run {run.id} has no plan (yet)",))
    document = inputs.plan_input(policies.facts_of(session, run), plan)
    data = {"parameters": chosen.parameters} if chosen.parameters else {}
    source = engine.PolicySource(policy.name, chosen.body, data)
    outcomes = engine.evaluate([source], document, get_settings().policy_timeout_seconds)
    verdict = decide.plan_verdict([Attached(policy.name, version, "plan")], outcomes)
    result = verdict.results[0]
    return Decision(result.result, tuple(result.messages))


def reader_role(session: Session, run: Run) -> str:
    """Who may see a run's plan input: whoever may read its log (a proposed run's plan is an
    untrusted author's, like its log)."""
    return repos.logs_role(session, run)
