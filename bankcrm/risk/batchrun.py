"""Crash-safe batch jobs (QUALITY.md R14): work is split into chunks of ids in ascending order; each chunk's effects
and the checkpoint commit together, so a killed run resumes after the last committed chunk and a finished run is not
redone. Every job's work is idempotent too (dedupe keys), so even a forced re-run changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.db import transaction
from django.utils import timezone

from .models import BatchRun


def run(job: str, day: date, *, next_ids: Callable[[int, int], list[int]], process: Callable[[list[int]], int],
        chunk: int = 1000, force: bool = False) -> BatchRun:
    """``next_ids(after, limit)`` gives the next ids in ascending order; ``process(ids)`` does the work in the
    chunk's transaction and returns how many things it changed."""
    BatchRun.objects.bulk_create([BatchRun(job=job, business_date=day, started_at=timezone.now())],
                                 ignore_conflicts=True)
    run_ = BatchRun.objects.get(job=job, business_date=day)
    if run_.status == BatchRun.Status.DONE and not force:
        return run_
    if force and run_.status == BatchRun.Status.DONE:
        BatchRun.objects.filter(pk=run_.pk).update(status=BatchRun.Status.RUNNING, last_id=0, items=0, changes=0)
        run_.refresh_from_db()
    while True:
        ids = next_ids(run_.last_id, chunk)
        if not ids:
            break
        with transaction.atomic():
            changed = process(ids)
            run_.last_id, run_.items, run_.changes = ids[-1], run_.items + len(ids), run_.changes + changed
            BatchRun.objects.filter(pk=run_.pk).update(last_id=run_.last_id, items=run_.items, changes=run_.changes)
    run_.status, run_.finished_at = BatchRun.Status.DONE, timezone.now()
    BatchRun.objects.filter(pk=run_.pk).update(status=run_.status, finished_at=run_.finished_at)
    return run_
