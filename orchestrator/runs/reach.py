"""Which commit a manual or retried TRACKED run may be at: the tracked branch head as stackrun's
mirror last fetched it, or one of its ancestors. Pure: the mirror measures, this decides.

"As last fetched" is deliberate. Every push stackrun receives fetches the mirror before its
pipeline is made, so the branch there is the one stackrun has seen pushed, with its pushers
recorded (approvals need them). A request never fetches: fetching first would let an API
caller pull in refs nobody pushed through a webhook, and move the branch under the check.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.vcs.mirror import Placement


@dataclass(frozen=True)
class OffBranch:
    """Why a TRACKED run may not be at a commit: an HTTP status and a reason to act on."""

    status: int
    reason: str


def tracked_commit(
    place: Placement, asked: str | None, repository: str, branch: str
) -> str | OffBranch:
    """The full commit id a TRACKED run may use (`asked`, or the head when None), or why not."""
    where = f"branch {branch!r} of {repository} as stackrun last fetched it"
    if place.head is None:
        return OffBranch(
            409,
            f"{where} has no commit: stackrun fetches the repository when it receives a push "
            f"webhook; push to {branch!r} (or redeliver its webhook) and try again",
        )
    if place.commit is None:
        return OffBranch(
            422,
            f"{asked!r} is not a commit stackrun holds for {repository}: give the id of a "
            f"commit on {where} (head {place.head[:12]})",
        )
    if not place.on_branch:
        named = f"commit {place.commit[:12]}"
        if asked and not place.commit.startswith(asked):
            named += f" ({asked!r})"
        return OffBranch(
            409,
            f"{named} is not on {where} (head {place.head[:12]}): a TRACKED run may only be "
            f"at that head or one of its ancestors; merge the commit into {branch!r} first, "
            "or push it to another branch for a proposed run",
        )
    return place.commit
