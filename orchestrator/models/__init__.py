"""Every table of stackrun, one module per responsibility; every name is importable from here
(`from orchestrator.models import Run`), and importing this package registers every table on
`Base.metadata` (what Alembic compares against)."""

from orchestrator.models.access import AuditEntry, Token, UiSession
from orchestrator.models.base import MAX_INTEGER, Base, utcnow
from orchestrator.models.boundary import (
    BoundaryCheck,
    BoundaryFinding,
    BoundaryResource,
    BoundarySource,
)
from orchestrator.models.followups import (
    DriftCheck,
    Handoff,
    NotificationDelivery,
    NotificationTarget,
)
from orchestrator.models.policies import Policy, PolicyEvaluation, PolicyVersion, RunReview
from orchestrator.models.repositories import (
    Event,
    GraphSnapshot,
    ParseCacheEntry,
    Pipeline,
    Repository,
    ReviewComment,
    Stack,
)
from orchestrator.models.runs import Run, RunTransition, StackOutputs
from orchestrator.models.state import StateLock, StateVersion
from orchestrator.models.variables import Context, Variable

__all__ = [
    "MAX_INTEGER",
    "AuditEntry",
    "Base",
    "BoundaryCheck",
    "BoundaryFinding",
    "BoundaryResource",
    "BoundarySource",
    "Context",
    "DriftCheck",
    "Event",
    "GraphSnapshot",
    "Handoff",
    "NotificationDelivery",
    "NotificationTarget",
    "ParseCacheEntry",
    "Pipeline",
    "Policy",
    "PolicyEvaluation",
    "PolicyVersion",
    "Repository",
    "ReviewComment",
    "Run",
    "RunReview",
    "RunTransition",
    "Stack",
    "StackOutputs",
    "StateLock",
    "StateVersion",
    "Token",
    "UiSession",
    "Variable",
    "utcnow",
]
