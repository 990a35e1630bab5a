"""Outbox consumer ``engagement_nba_conversion`` on ``wealth.sold`` (published at settlement): the recommendations of
the sold product made for that customer within `engagement.conversion_window` days before the sale are marked as
converted (`nba.conversions_record`). Idempotent: the outbox delivers each event once per consumer, and a converted
recommendation is never touched again."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from bankcrm.core import outbox
from bankcrm.core.models import OutboxEvent

log = logging.getLogger(__name__)


def _when(value: str | None, default: datetime) -> datetime:
    try:
        at = datetime.fromisoformat(value) if value else default
    except ValueError:
        return default
    return at if timezone.is_aware(at) else timezone.make_aware(at)


def sold(events: list[OutboxEvent]) -> None:
    from . import nba

    for e in events:
        p = e.payload or {}
        if not (p.get("sale_id") and p.get("customer_id") and p.get("product_id")):
            continue
        try:
            with transaction.atomic():  # a savepoint: one bad event never blocks the relay
                nba.conversions_record([{"sale_id": int(p["sale_id"]), "customer_id": int(p["customer_id"]),
                                         "product_id": int(p["product_id"]),
                                         "settled_at": _when(p.get("settled_at"), e.created_at)}])
        except Exception:
            log.warning("recommendation conversion not recorded for sale %s", p.get("sale_id"), exc_info=True)


outbox.register_consumer("engagement_nba_conversion", ("wealth.sold",), sold)


# The demo turns this off while it builds its cohort (it refreshes everyone at the end).
REFRESH_ON_INTERACTION = True


def interaction_saved(interaction_id: int) -> None:
    """After a contact is saved (``services.ON_INTERACTION_SAVED``, after commit): extract its insights first (the
    insight feature's idempotent service: whichever hook runs first does the work) and refresh that customer's
    recommendations, so an intent the manager just wrote down ("客户说快退休了") is followed up at once. A failure is
    logged and never undoes the contact."""
    from . import nba
    from .models import Interaction

    if not REFRESH_ON_INTERACTION:
        return
    i = Interaction.objects.filter(pk=interaction_id).values("customer_id", "status").first()
    if i is None or i["status"] != Interaction.Status.DONE:
        return
    try:
        from .insight_services import insights_for_interaction
    except ImportError:
        insights_for_interaction = None
    try:
        with transaction.atomic():
            if insights_for_interaction is not None:
                insights_for_interaction(interaction_id)
            nba.recommendations_refresh(customer_ids=[i["customer_id"]])
    except Exception:
        log.warning("recommendations not refreshed after interaction %s", interaction_id, exc_info=True)


def _register_hook() -> None:
    from . import services

    if interaction_saved not in services.ON_INTERACTION_SAVED:
        services.ON_INTERACTION_SAVED.append(interaction_saved)


_register_hook()
