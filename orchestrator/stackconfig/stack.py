"""The settings of one `stack {}` block beyond the graph: drift checks, the Argo CD hand-off
and the AWS role, each checked by its own module. An invalid one is dropped, and said why. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orchestrator.aws.role import AwsRole, parse_role
from orchestrator.stackconfig import drift
from orchestrator.stackconfig.drift import DriftSettings
from orchestrator.stackconfig.handoff import HandoffSpec, parse_handoff


@dataclass(frozen=True)
class SettingError:
    kind: str  # "drift_schedule", "handoff" or "aws": the kind of the graph error it becomes
    message: str


@dataclass(frozen=True)
class StackSettings:
    drift: DriftSettings | None = None
    handoff: HandoffSpec | None = None
    aws: AwsRole | None = None
    errors: tuple[SettingError, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The settings as a stack of the graph JSON shows them: only those declared."""
        view: dict[str, Any] = {}
        if self.drift is not None:
            view["drift_detection"] = {
                "schedules": list(self.drift.schedules),
                "reconcile": self.drift.reconcile,
            }
        if self.handoff is not None:
            view["handoff"] = {"argocd": self.handoff.to_json()}
        if self.aws is not None:
            view["aws"] = self.aws.to_json()
        return view


def read(block: dict[str, Any]) -> StackSettings:
    """A stack block's settings; its errors in the order drift, hand-off, AWS."""
    drift_settings, drift_errors = drift.parse(block.get("drift_detection"))
    handoff, handoff_errors = parse_handoff(block.get("handoff"))
    aws, aws_errors = parse_role(block)
    errors = (
        *(SettingError("drift_schedule", m) for m in drift_errors),
        *(SettingError("handoff", m) for m in handoff_errors),
        *(SettingError("aws", m) for m in aws_errors),
    )
    return StackSettings(drift_settings, handoff, aws, errors)
