"""Approvals on the in-memory database: the rule follows the commit across every run and
stored delivery of its repository, and only approving is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from orchestrator.approvals import service as approvals
from orchestrator.auth import Principal
from orchestrator.models import Event, Repository, Run, Stack, Token
from orchestrator.runs.actions import Done, Refusal
from orchestrator.runstate import RunState
from tests.unit.rows import add_stack

SHA = "3a1937f0c2b4" + "0" * 28


def _run(db: Session, stack_id: str, triggered_by: str, state: RunState, author: str = "") -> Run:
    run = Run(
        stack_id=stack_id,
        kind="TRACKED",
        state=state,
        commit_sha=SHA,
        commit_author=author,
        branch="main",
        triggered_by=triggered_by,
    )
    db.add(run)
    db.flush()
    return run


def _delivery(db: Session, repository_id: int, after: str, pusher: str, payload: Any) -> None:
    db.add(
        Event(
            provider="github",
            delivery_id=f"d-{pusher}",
            event_type="push",
            repository_id=repository_id,
            ref="refs/heads/feature",
            before_sha="0" * 40,
            after_sha=after,
            pusher=pusher,
            payload=payload,
        )
    )


def _world(db: Session) -> Run:
    """acme/p: a discarded pushed run of SHA on vpc, a manual run of SHA on eks by carol-cli;
    a delivery of SHA to a feature branch naming erin as author; another repository's run of
    the same SHA pushed by zed."""
    add_stack(db)
    db.add(Stack(id="acme/p/eks", repository_id=1, path="eks", name="eks"))
    db.add(
        Repository(
            id=2,
            name="other/q",
            clone_url="file:///y",
            branch="main",
            provider="github",
            webhook_secret_enc=b"x",
        )
    )
    db.add(Stack(id="other/q/vpc", repository_id=2, path="vpc", name="vpc"))
    db.add(Token(name="carol-cli", role="approver", token_hash="h1", vcs_login="carol"))
    db.flush()
    _run(db, "acme/p/vpc", "push:mallory", RunState.DISCARDED, author="Dev One")
    _run(db, "other/q/vpc", "push:zed", RunState.UNCONFIRMED)
    head_commit = {"id": SHA, "author": {"username": "erin"}}
    _delivery(db, 1, SHA, "mallory", {"pusher": {"name": "mallory"}, "head_commit": head_commit})
    _delivery(db, 1, "f" * 40, "frank", {"pusher": {"name": "frank"}})
    _delivery(db, 2, SHA, "zed", {"pusher": {"name": "zed"}})
    return _run(db, "acme/p/eks", "manual:carol-cli", RunState.UNCONFIRMED)


def _approver(name: str, login: str | None = None) -> Principal:
    return Principal(name=name, role="approver", vcs_login=login)


def test_everyone_with_a_hand_in_the_commit_is_refused_on_any_run_of_it(db: Session) -> None:
    manual = _world(db)
    refused = {
        "mallory": approvals.approve(db, manual.id, _approver("m", "mallory")),
        "carol-cli": approvals.approve(db, manual.id, _approver("carol-cli")),
        "carol's other token": approvals.approve(db, manual.id, _approver("c2", "CAROL")),
        "erin": approvals.approve(db, manual.id, _approver("e", "erin")),
        "the git author": approvals.approve(db, manual.id, _approver("d", "dev one")),
    }
    for who, result in refused.items():
        assert isinstance(result, Refusal) and result.status == 403, who
    assert isinstance(refused["mallory"], Refusal)
    assert "mallory (the VCS login of token 'm') pushed it (run 1)" in refused["mallory"].reason
    assert isinstance(refused["erin"], Refusal)
    assert "pushed or wrote it (push delivery d-mallory)" in refused["erin"].reason
    assert manual.state == RunState.UNCONFIRMED


def test_only_this_repository_and_this_commit_testify(db: Session) -> None:
    manual = _world(db)
    logins = {hand.login for hand in approvals.hands_on(db, manual)}
    assert logins == {"mallory", "Dev One", "carol", "erin"}
    zed = approvals.approve(db, manual.id, _approver("z", "zed"))
    assert isinstance(zed, Done) and zed.state == RunState.CONFIRMED


def test_a_pusher_may_still_reject(db: Session) -> None:
    manual = _world(db)
    rejected = approvals.reject(db, manual.id, _approver("m", "mallory"), "no")
    assert isinstance(rejected, Done) and rejected.state == RunState.DISCARDED
