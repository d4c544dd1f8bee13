"""The Celery application of the workers (DESIGN §6)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init

from orchestrator import worker_api
from orchestrator.settings import get_settings
from workers import api_client, quiet


def create_app() -> Celery:
    worker_api.hear_run_events()
    quiet.install()
    app = Celery("stackrun", include=["workers.tasks"])
    config = worker_api.celery_config(get_settings())
    app.conf.update(config)
    app.conf.beat_schedule = {
        "reap": {"task": "stackrun.reap", "schedule": get_settings().reap_seconds},
        "drift_tick": {
            "task": "stackrun.drift_tick",
            "schedule": get_settings().drift_tick_seconds,
        },
        "deliver_notifications": {
            "task": "stackrun.deliver_notifications",
            "schedule": get_settings().notify_seconds,
        },
        "deliver_reports": {
            "task": "stackrun.deliver_reports",
            "schedule": get_settings().report_seconds,
        },
    }
    if get_settings().boundary_check_seconds > 0:
        app.conf.beat_schedule["boundary_check"] = {
            "task": "stackrun.boundary_check",
            "schedule": get_settings().boundary_check_seconds,
        }
    app.conf.beat_schedule_filename = str(get_settings().data_dir / "celerybeat-schedule")
    return app


app = create_app()


@worker_init.connect
def _warm_up(**_: Any) -> None:
    """Build the HCL parser and the API client's TLS context once in the parent, before the
    pool forks: the first run of each child process would otherwise spend a tenth of a second
    on each."""
    worker_api.warm_up_parser()
    api_client.warm_up()
