"""Who had a hand in a commit, and the rule that keeps them from approving its runs. Pure.

The rule follows the commit, not the run. A principal may not approve a run of commit C of a
repository when any run of C in that repository (whatever its stack, kind or state, discarded
ones included) or any stored webhook delivery of that repository whose head is C shows that
the principal:

- triggered a run of C by hand or retried one (`manual:<token>`, `retry:<token>`): matched by
  the token's name, and by that token's VCS login, so a manual run counts its caller as the
  pusher and a second token of the same person is refused too;
- pushed C, or opened or moved a pull or merge request to it (`push:<login>`,
  `pull_request:<login>`, `merge_request:<login>` runs; a delivery's pusher or sender):
  matched by VCS login;
- authored or committed C (the git author name on its runs; GitHub's author and committer
  usernames in a push delivery's entry for C): matched by VCS login.

Logins compare case-insensitively; a token without a VCS login is matched by name only.
Discarding a run and triggering another changes nothing: the earlier run and delivery still
testify. Rejecting is never refused. What stackrun never saw cannot count: a commit pushed in
the middle of a multi-commit push is known by its author only, not by the push's pusher.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from orchestrator.auth import Principal

TOKEN_TRIGGERS = {"manual": "triggered run {run} by hand", "retry": "retried a run as run {run}"}
VCS_TRIGGERS = {
    "push": "pushed it (run {run})",
    "pull_request": "opened or updated a pull request to it (run {run})",
    "merge_request": "opened or updated a merge request to it (run {run})",
}


@dataclass(frozen=True)
class Hand:
    """One part someone played in a commit: a token (by name) or a VCS identity (by login)."""

    did: str  # what they did, as a refusal reads it: "pushed it (run 12)"
    token: str = ""  # the name of the token that acted, "" for a VCS identity
    login: str = ""  # the VCS login (or git author name) that acted, "" when unknown


def token_of(triggered_by: str) -> str | None:
    """The token name of a `manual:` or `retry:` run's trigger, None for any other trigger."""
    kind, _, actor = triggered_by.partition(":")
    return actor if kind in TOKEN_TRIGGERS and actor else None


def from_run(
    run_id: int, triggered_by: str, author: str, token_logins: Mapping[str, str | None]
) -> list[Hand]:
    """What a run of the commit says: who made it (`triggered_by`) and who wrote the commit."""
    kind, _, actor = triggered_by.partition(":")
    found: list[Hand] = []
    if kind in TOKEN_TRIGGERS and actor:
        did = TOKEN_TRIGGERS[kind].format(run=run_id)
        found.append(Hand(did, token=actor, login=token_logins.get(actor) or ""))
    elif kind in VCS_TRIGGERS and actor:
        found.append(Hand(VCS_TRIGGERS[kind].format(run=run_id), login=actor))
    if author:
        found.append(Hand(f"authored it (run {run_id})", login=author))
    return found


def from_delivery(delivery_id: str, event_type: str, logins: Iterable[str]) -> list[Hand]:
    """What a stored delivery whose head is the commit says: who pushed or wrote it."""
    did = f"pushed or wrote it ({event_type} delivery {delivery_id})"
    return [Hand(did, login=login) for login in dict.fromkeys(logins) if login]


def refusal(who: Principal, sha: str, run_id: int, hands: Iterable[Hand]) -> str | None:
    """Why `who` may not approve run `run_id` of commit `sha`, or None when they may."""
    login = (who.vcs_login or "").casefold()
    for hand in hands:
        if hand.token and hand.token == who.name:
            acted = f"token {who.name!r}"
        elif login and hand.login.casefold() == login:
            acted = f"{who.vcs_login} (the VCS login of token {who.name!r})"
        else:
            continue
        return (
            f"approving run {run_id} of commit {sha[:12]}: {acted} {hand.did}; nobody approves "
            "a run of a commit they pushed, authored or triggered, so another approver must"
        )
    return None
