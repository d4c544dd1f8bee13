"""A quiet terminal: Celery's own INFO lines about the periodic tasks (beat sending them, the
worker receiving them, their success) go to DEBUG. A periodic task that did something says so
itself at INFO; one that found nothing to do writes nothing at INFO."""

from __future__ import annotations

import logging
from collections.abc import Mapping

PERIODIC_TASKS = frozenset(
    {
        "stackrun.reap",
        "stackrun.drift_tick",
        "stackrun.dispatch_drift",
        "stackrun.deliver_notifications",
        "stackrun.deliver_reports",
        "stackrun.boundary_check",
    }
)
# Celery's loggers of "Scheduler: Sending due task", "Task … received", "Task … succeeded".
CHATTY_LOGGERS = ("celery.beat", "celery.worker.strategy", "celery.app.trace")


def is_periodic_chatter(record: logging.LogRecord) -> bool:
    if record.levelno != logging.INFO:
        return False
    args = record.args
    if isinstance(args, Mapping):
        return args.get("name") in PERIODIC_TASKS
    if isinstance(args, tuple):
        return any(arg in PERIODIC_TASKS for arg in args)
    return False


class PeriodicChatterToDebug(logging.Filter):
    """Lowers a periodic task's chatter to DEBUG, and drops it unless DEBUG is on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not is_periodic_chatter(record):
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def install() -> None:
    # httpx says "HTTP Request: GET …/environment 200 OK" at INFO for each of a run's calls to
    # the API; a failed call raises and is reported by the run itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    chatter = PeriodicChatterToDebug()
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, PeriodicChatterToDebug) for f in logger.filters):
            logger.addFilter(chatter)
