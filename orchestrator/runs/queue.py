"""Ring a worker's doorbell by task name; the broker carries one id, the database the truth."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from orchestrator.models import Run, Stack
from orchestrator.runstate import RunKind
from orchestrator.settings import Settings, get_settings

log = logging.getLogger(__name__)
TASK_PREFIX = "stackrun."
DEFAULT_QUEUE = "default"
LONGEST_APPLY_SECONDS = 6 * 3600
PROPOSED_PRIORITY = 6
"""Redis serves priority 0 (every other doorbell) before this: a tracked run waiting for a
worker goes before proposals that were queued earlier."""


@dataclass(frozen=True)
class Doorbell:
    """A task to ring once the transaction that decided it has committed."""

    task: str
    target_id: int
    queue: str = DEFAULT_QUEUE
    delay: float = 0.0
    priority: int = 0


def queue_for(session: Session, run: Run) -> str:
    """The queue of the worker pool of the run's stack."""
    stack = session.get(Stack, run.stack_id)
    return stack.worker_pool if stack else DEFAULT_QUEUE


def plan_bell(session: Session, run: Run) -> Doorbell:
    """The doorbell that makes a worker plan `run`, on its pool's queue."""
    priority = PROPOSED_PRIORITY if run.kind == RunKind.PROPOSED else 0
    return Doorbell("plan_run", run.id, queue_for(session, run), priority=priority)


def apply_bell(session: Session, run: Run) -> Doorbell:
    return Doorbell("apply_run", run.id, queue_for(session, run))


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings of DESIGN §6, shared by the API (sender) and the workers."""
    config: dict[str, Any] = {
        "broker_url": settings.resolved_broker_url,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "result_backend": None,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": DEFAULT_QUEUE,
        "task_acks_late": False,
        "task_reject_on_worker_lost": True,
        "broker_connection_retry_on_startup": True,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "enable_utc": True,
    }
    if settings.uses_filesystem_broker:
        config["broker_transport"] = "orchestrator.runs.fsbroker:Transport"
        config["broker_transport_options"] = filesystem_transport_options(settings)
        config["worker_enable_remote_control"] = False
    else:
        config["broker_transport_options"] = {
            "visibility_timeout": LONGEST_APPLY_SECONDS + 3600,
            "priority_steps": [0, PROPOSED_PRIORITY],
        }
    return config


def filesystem_transport_options(settings: Settings) -> dict[str, Any]:
    queue_dir = settings.broker_dir / "queue"
    for folder in (queue_dir, settings.broker_dir / "control"):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue_dir),
        "data_folder_out": str(queue_dir),
        "control_folder": str(settings.broker_dir / "control"),
        "store_processed": False,
        "polling_interval": settings.broker_polling_interval,
    }


@lru_cache(maxsize=1)
def sender() -> Celery:
    app = Celery("stackrun-sender", set_as_current=False)
    app.conf.update(celery_config(get_settings()))
    return app


def ring(
    task: str, *args: int, queue: str = DEFAULT_QUEUE, delay: float = 0.0, priority: int = 0
) -> bool:
    """Send task `stackrun.<task>` with id arguments to `queue` (after `delay` seconds; on
    Redis, priority 0 before higher numbers).

    The database already holds the work, so a broker fault is logged, not raised: the reaper
    rings again for anything left waiting."""
    try:
        sender().send_task(
            TASK_PREFIX + task,
            args=list(args),
            queue=queue,
            countdown=delay or None,
            priority=priority or None,
        )
    except Exception as exc:
        log.warning(
            "ringing task=%s args=%s queue=%s failed, the reaper will retry: %s",
            task,
            args,
            queue,
            exc,
        )
        return False
    return True


def broker_answers(timeout: int = 2) -> bool:
    try:
        with sender().connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception:
        return False
    return True


def ring_all(bells: Iterable[Doorbell]) -> None:
    """Ring every doorbell a committed transaction decided on."""
    for bell in bells:
        ring(bell.task, bell.target_id, queue=bell.queue, delay=bell.delay, priority=bell.priority)
