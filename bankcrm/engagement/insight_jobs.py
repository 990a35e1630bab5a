"""Periodic insight jobs: the daily life-event sweep (birthdays, time-deposit and wealth maturities, large inflows,
children starting school), and the feedback sweep that reads new complaints, survey comments and service requests
(every 30 minutes over the last few hours; once a day over the last two days as a safety net). All idempotent."""

from __future__ import annotations

from datetime import time, timedelta

from bankcrm.core.scheduling import daily, every
from bankcrm.core.transactions import run_as_task


def _life_events() -> None:
    from . import insight_services

    insight_services.life_events_sweep()


def _feedback_recent() -> None:
    from . import insight_services

    insight_services.feedback_sweep(days=0, hours=3)


def _feedback_daily() -> None:
    from . import insight_services

    insight_services.feedback_sweep(days=2)


daily("engagement.life_events", time(6, 30), lambda: run_as_task(_life_events))
every("engagement.feedback_insights", timedelta(minutes=30), lambda: run_as_task(_feedback_recent))
daily("engagement.feedback_insights_daily", time(2, 40), lambda: run_as_task(_feedback_daily))
