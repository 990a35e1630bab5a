"""Periodic jobs: a registry plus a small scheduler loop (`manage.py scheduler`) that enqueues each due slot once.

Each slot is recorded in ScheduledRun under a unique (name, slot) key, so two schedulers, a restart, or a rerun
never enqueue the same slot twice. Jobs themselves are idempotent and resumable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable[[], Any]
    interval: timedelta | None = None
    daily_at: time | None = None

    def slot(self, now: datetime) -> str | None:
        """The slot due at ``now``, or None if the daily time has not come yet today."""
        local = timezone.localtime(now)
        if self.interval is not None:
            secs = int(self.interval.total_seconds())
            return str(int(local.timestamp()) // secs * secs)
        assert self.daily_at is not None
        if local.time() < self.daily_at:
            return None
        return local.date().isoformat()


JOBS: dict[str, Periodic] = {}


def every(name: str, interval: timedelta, func: Callable[[], Any]) -> None:
    JOBS[name] = Periodic(name, func, interval=interval)


def daily(name: str, at: time, func: Callable[[], Any]) -> None:
    JOBS[name] = Periodic(name, func, daily_at=at)


def enqueue_due(now: datetime | None = None) -> list[str]:
    """Enqueue every job whose current slot has not been enqueued yet. Returns the names enqueued."""
    from django.db import IntegrityError, transaction

    from .models import ScheduledRun
    from .tasks import run_periodic

    now = now or timezone.now()
    started = []
    for job in JOBS.values():
        slot = job.slot(now)
        if slot is None:
            continue
        try:
            with transaction.atomic():
                run = ScheduledRun.objects.create(name=job.name, slot=slot)
                result = run_periodic.enqueue(job.name)
                run.task_result_id = str(getattr(result, "id", ""))
                run.save(update_fields=["task_result_id"])
        except IntegrityError:
            continue
        started.append(job.name)
    return started
