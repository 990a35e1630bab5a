"""Gap-tolerant, never-repeating counters (one row per name, advanced with UPDATE … RETURNING)."""

from __future__ import annotations

from django.db import connection, transaction

from .models import Sequence


def reserve(name: str, count: int = 1) -> range:
    """Reserve ``count`` consecutive values; returns them as a range. Runs in the caller's transaction."""
    if count < 1:
        raise ValueError("count must be >= 1")
    with transaction.atomic():
        Sequence.objects.bulk_create([Sequence(name=name, value=0)], ignore_conflicts=True)
        with connection.cursor() as cur:
            cur.execute("UPDATE core_sequence SET value = value + %s WHERE name = %s RETURNING value", [count, name])
            last = cur.fetchone()[0]
    return range(last - count + 1, last + 1)


def next_value(name: str) -> int:
    return reserve(name, 1)[0]
