"""Outbox consumer ``engagement_sales`` on ``wealth.sold`` ({"sale_id", "customer_id", "product_id", …}, published at
settlement): the customer's open opportunity for that product — else their open proposal-stage opportunity without a
product — becomes won with the sale. Idempotent twice over: the outbox delivers each event once per consumer, and a
sale wins at most one opportunity (unique constraint), so a replayed event changes nothing."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from bankcrm.core import outbox
from bankcrm.core.models import OutboxEvent

log = logging.getLogger(__name__)


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def sold(events: list[OutboxEvent]) -> None:
    from . import services

    for e in events:
        p = e.payload or {}
        if not p.get("sale_id") or not p.get("customer_id"):
            continue
        try:
            with transaction.atomic():  # a savepoint: one bad event never blocks the relay
                services.opportunity_win_from_sale(sale_id=int(p["sale_id"]), customer_id=int(p["customer_id"]),
                                                   product_id=p.get("product_id"), settled_at=_when(p.get("settled_at")))
        except Exception:
            log.warning("opportunity not updated for sale %s", p.get("sale_id"), exc_info=True)


outbox.register_consumer("engagement_sales", ("wealth.sold",), sold)


def handed_over(events: list[OutboxEvent]) -> None:
    """``customers.handover_executed`` ({"handover_id", "departing_id", "moves": [[customer_id, successor_id], …]}):
    the departing manager's open work on each handed-over customer — open tasks, active action plans, open
    opportunities, planned contacts — follows the customer to the successor, so nothing is left with someone who no
    longer serves them. Replaying an event moves nothing more (only rows still owned by the departing manager move)."""
    from . import services

    for e in events:
        p = e.payload or {}
        if not p.get("departing_id") or not p.get("moves"):
            continue
        try:
            with transaction.atomic():
                services.work_follow_handover(handover_id=int(p.get("handover_id") or 0),
                                              departing_id=int(p["departing_id"]),
                                              moves=[(int(c), int(s)) for c, s in p["moves"]])
        except Exception:
            log.warning("open work not moved for handover %s", p.get("handover_id"), exc_info=True)


outbox.register_consumer("engagement_handover", ("customers.handover_executed",), handed_over)
