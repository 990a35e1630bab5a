"""The transactional outbox (ARCHITECTURE.md "events"): publish inside the service's transaction, consume after
commit exactly once per consumer.

Commit order is not id order (two transactions take ids 7 and 8, 8 commits first), so a consumer does not trust a
high-water mark: it keeps a delivery row per event, written in the same transaction as its effect, and a low-water
mark below which everything is known delivered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from .models import OutboxCursor, OutboxDelivery, OutboxEvent

CONSUMERS: dict[str, tuple[tuple[str, ...], Callable[[list[OutboxEvent]], None]]] = {}


def publish(topic: str, payload: dict[str, Any], *, at=None) -> None:
    """Write one event in the caller's transaction: one plain INSERT (it is on the posting hot path, QUALITY.md P1)."""
    from .bulkwrite import db_value

    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {OutboxEvent._meta.db_table} (topic, payload, created_at) VALUES (%s, %s, %s)",
                    [topic, db_value(payload), db_value(at or timezone.now())])


def register_consumer(name: str, topics: tuple[str, ...], handler: Callable[[list[OutboxEvent]], None]) -> None:
    """``handler(events)`` runs inside the delivery transaction; its writes commit with the delivery rows."""
    CONSUMERS[name] = (topics, handler)


def _lock_cursor(name: str) -> OutboxCursor:
    OutboxCursor.objects.bulk_create([OutboxCursor(consumer=name, below=0)], ignore_conflicts=True)
    qs = OutboxCursor.objects.select_for_update() if connection.features.has_select_for_update else OutboxCursor.objects
    return qs.get(consumer=name)


def consume(name: str, *, batch: int = 500) -> int:
    """Deliver up to ``batch`` undelivered events to consumer ``name``, in id order; returns how many. One consumer
    runs at a time (its cursor row is locked for the batch), so two workers never deliver the same event."""
    topics, handler = CONSUMERS[name]
    with transaction.atomic():
        cursor = _lock_cursor(name)
        delivered = OutboxDelivery.objects.filter(consumer=name, event_id__gt=cursor.below).values("event_id")
        events = list(
            OutboxEvent.objects.filter(id__gt=cursor.below, topic__in=topics)
            .exclude(id__in=delivered)
            .order_by("id")[:batch]
        )
        if events:
            handler(events)
            now = timezone.now()
            OutboxDelivery.objects.bulk_create([OutboxDelivery(consumer=name, event_id=e.id, delivered_at=now)
                                                for e in events])
        _advance(cursor, topics)
    return len(events)


def drain(names=None, *, batch: int = 2000) -> int:
    """Deliver everything waiting to the named consumers (default: every consumer, in name order), as the relay
    would; returns how many deliveries were made. Used where the relay's work must be done now (demo seeding, the
    nightly backstop)."""
    moved = 0
    for name in sorted(CONSUMERS) if names is None else names:
        while n := consume(name, batch=batch):
            moved += n
    return moved


def _advance(cursor: OutboxCursor, topics: tuple[str, ...]) -> None:
    """Move the low-water mark up to just below the oldest undelivered event that is older than a few seconds
    (younger gaps may be transactions still in flight), and forget the delivery rows below it."""
    settle = timezone.now() - timedelta(seconds=30)
    delivered = OutboxDelivery.objects.filter(consumer=cursor.consumer, event_id__gt=cursor.below).values("event_id")
    oldest_open = (
        OutboxEvent.objects.filter(id__gt=cursor.below, topic__in=topics)
        .exclude(id__in=delivered).order_by("id").values_list("id", flat=True).first()
    )
    if oldest_open is None:
        settled = (OutboxEvent.objects.filter(id__gt=cursor.below, created_at__lt=settle)
                   .order_by("-id").values_list("id", flat=True).first())
        new_below = settled or cursor.below
    else:
        new_below = oldest_open - 1
        younger = OutboxEvent.objects.filter(id=oldest_open, created_at__gte=settle).exists()
        if younger:
            new_below = cursor.below
    if new_below > cursor.below:
        OutboxDelivery.objects.filter(consumer=cursor.consumer, event_id__lte=new_below).delete()
        OutboxCursor.objects.filter(consumer=cursor.consumer).update(below=new_below)


def lag_seconds(name: str) -> float:
    """Age of the oldest event the consumer has not handled yet (0 when it is up to date)."""
    topics, _h = CONSUMERS[name]
    below = OutboxCursor.objects.filter(consumer=name).values_list("below", flat=True).first() or 0
    delivered = OutboxDelivery.objects.filter(consumer=name, event_id__gt=below).values("event_id")
    oldest = (OutboxEvent.objects.filter(id__gt=below, topic__in=topics).exclude(id__in=delivered)
              .order_by("id").values_list("created_at", flat=True).first())
    return 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
