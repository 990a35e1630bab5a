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
