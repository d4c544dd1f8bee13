"""The `drift_detection {}` block of a stack: what parses, what is said about what does not."""

from __future__ import annotations

from orchestrator.stackconfig import drift


def test_a_block_with_one_or_several_schedules_parses() -> None:
    one, errors = drift.parse([{"schedule": "*/30 * * * *", "reconcile": True}])
    assert errors == [] and one == drift.DriftSettings(("*/30 * * * *",), True)
    several, _ = drift.parse([{"schedule": ["0 * * * *", "30 2 * * 1"]}])
    assert several == drift.DriftSettings(("0 * * * *", "30 2 * * 1"), False)


def test_an_invalid_schedule_is_an_error_and_nothing_is_kept() -> None:
    settings, errors = drift.parse([{"schedule": ["0 * * * *", "61 * * * *"]}])
    assert settings is None
    assert errors == ["drift schedule '61 * * * *' is not a valid cron expression"]
    _, short = drift.parse({"schedule": "* * *"})
    assert short == ["drift schedule '* * *' must be a five-field cron expression (UTC)"]
    _, missing = drift.parse([{"reconcile": True}])
    assert missing == ["drift_detection needs a schedule"]


def test_no_block_means_no_drift_detection() -> None:
    assert drift.parse(None) == (None, [])
