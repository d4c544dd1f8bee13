"""A stack's `aws_role_arn`, `aws_external_id` and `aws_session_duration`, checked. Pure."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}", re.ASCII)
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", re.ASCII)
MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 43200
DEFAULT_SESSION_SECONDS = 3600


@dataclass(frozen=True)
class AwsRole:
    role_arn: str
    external_id: str | None = None
    session_seconds: int = DEFAULT_SESSION_SECONDS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AwsRole:
        return cls(**data)


def parse_role(block: dict[str, Any]) -> tuple[AwsRole | None, list[str]]:
    """The role attributes of a `stack {}` block → role, errors (no role without an ARN)."""
    arn = block.get("aws_role_arn")
    external = block.get("aws_external_id")
    duration = block.get("aws_session_duration")
    if arn is None:
        if external is not None or duration is not None:
            return None, ["aws_external_id and aws_session_duration need aws_role_arn"]
        return None, []
    errors: list[str] = []
    if not isinstance(arn, str) or not _ROLE_ARN.fullmatch(arn):
        errors.append(
            f"aws_role_arn {arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        )
    if external is not None and (
        not isinstance(external, str) or not _EXTERNAL_ID.fullmatch(external)
    ):
        errors.append(
            "aws_external_id must be 2 to 1224 characters of letters, digits and +=,.@:/-"
        )
    seconds = _seconds(duration, errors)
    if errors:
        return None, errors
    assert isinstance(arn, str)
    return AwsRole(arn, external if isinstance(external, str) else None, seconds), []


def _seconds(raw: Any, errors: list[str]) -> int:
    if raw is None:
        return DEFAULT_SESSION_SECONDS
    match = _DURATION.fullmatch(raw) if isinstance(raw, str) and raw else None
    if match is None:
        errors.append(f'aws_session_duration {raw!r} must be a duration such as "1h" or "90m"')
        return DEFAULT_SESSION_SECONDS
    hours, minutes, secs = (int(g or 0) for g in match.groups())
    seconds = hours * 3600 + minutes * 60 + secs
    if not MIN_SESSION_SECONDS <= seconds <= MAX_SESSION_SECONDS:
        errors.append(f"aws_session_duration {raw!r} must be between 15m and 12h (STS's limits)")
    return seconds
