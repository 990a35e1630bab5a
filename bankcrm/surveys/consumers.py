"""Outbox consumers of the surveys app (after commit, exactly once per event):

- ``surveys_events``: events that trigger a survey — an account opened (a "ledger.entry_posted" of kind opening; the
  `account_opened_scan` job reads the account-opened fact itself, so both paths meet on one source_ref), a complaint
  closed ("service.complaint_closed": {"complaint_id", "customer_id"}), a wealth product sold ("wealth.sold":
  {"sale_id", "customer_id", "product"?} — not published yet; registered so it works when it is);
- ``surveys_followup``: a low or negative answer → the feedback case (service app). If that cannot be opened now
  the answer keeps ``needs_followup`` and the retry job tries again: the relay is never blocked.
"""

from __future__ import annotations

import logging

from bankcrm.core import outbox
from bankcrm.core.models import OutboxEvent

log = logging.getLogger(__name__)


def _product_of_account(account_id: int | None) -> str:
    from bankcrm.ledger.models import Account

    a = Account.objects.filter(pk=account_id).select_related("product").first() if account_id else None
    return a.product.name if a is not None and a.product_id else ""


def survey_events(events: list[OutboxEvent]) -> None:
    from . import services

    for e in events:
        p = e.payload
        if e.topic == "ledger.entry_posted":
            if p.get("kind") != "opening" or not p.get("customer_id"):
                continue
            services.event_invitations(trigger="account_opened", customer_id=p["customer_id"],
                                       ref=f"account:{p['credit_id']}", product=_product_of_account(p["credit_id"]))
        elif e.topic == "service.complaint_closed" and p.get("customer_id"):
            services.event_invitations(trigger="complaint_closed", customer_id=p["customer_id"],
                                       ref=f"complaint:{p.get('complaint_id')}")
        elif e.topic == "wealth.sold" and p.get("customer_id"):
            services.event_invitations(trigger="wealth_sold", customer_id=p["customer_id"],
                                       ref=f"sale:{p.get('sale_id') or e.pk}", product=str(p.get("product", "")))


def followups(events: list[OutboxEvent]) -> None:
    from django.db import transaction

    from . import services

    for e in events:
        try:
            with transaction.atomic():  # a savepoint: a failure leaves the answer for the retry job
                services.followup(e.payload["response_id"])
        except Exception:  # the service app may be missing or failing: never block the relay
            log.warning("survey follow-up deferred for response %s", e.payload.get("response_id"), exc_info=True)


outbox.register_consumer("surveys_events", ("ledger.entry_posted", "service.complaint_closed", "wealth.sold"),
                         survey_events)
outbox.register_consumer("surveys_followup", ("surveys.followup",), followups)
