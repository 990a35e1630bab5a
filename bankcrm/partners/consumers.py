"""Outbox consumers that turn the bank's facts into partner events (webhook_services.events_record):

- ``partners_sales`` on ``wealth.sold`` → ``sale.settled`` for the partner linked to the product (PartnerProduct);
- ``partners_settlements`` on ``ledger.entry_posted`` → ``settlement.outward`` for clearing houses: outward
  interbank transfers and reversals of them (every other posting is skipped in Python, without a query, and the
  whole batch when no clearing house is configured — this consumer reads the posting hot path's events);
- ``partners_complaints`` on ``service.complaint_closed`` → ``complaint.closed`` for regulators, for complaints the
  regulator transferred to the bank (channel ``regulator``, 监管转办).

Payloads carry only what the partner needs: numbers, product codes, amounts, dates, masked names and account
numbers, and a per-partner customer pseudonym (``customer_ref``); never identity numbers, phone numbers or free text.
Each masked name handed to a partner is written to the personal-data access log. Each fact is handled in its own
savepoint, so one bad fact never blocks the relay; the outbox delivers each fact once per consumer and the
(partner, source) constraint keeps a replay from making a second event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from bankcrm.core import logs, outbox
from bankcrm.core.masking import mask_card, mask_name
from bankcrm.core.models import OutboxEvent

from . import partner_rules as rules
from .models import Partner, PartnerProduct
from .partner_services import server_key
from .webhook_services import Fact, events_record

log = logging.getLogger(__name__)
ACTIVE = Partner.Status.ACTIVE


def _iso(value: datetime | None) -> str | None:
    return timezone.localtime(value).isoformat() if value else None


def _record(facts: list[Fact], customers: dict[int, int]) -> None:
    """Store each fact in its own savepoint; log the masked names handed to each partner (customers: fact index →
    customer id)."""
    shown: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, fact in enumerate(facts):
        try:
            with transaction.atomic():
                events_record([fact])
        except Exception:
            log.warning("partner event not recorded for %s (%s)", fact.source, fact.partner.code, exc_info=True)
            continue
        if i in customers:
            shown[(fact.partner.code, fact.type)].append(customers[i])
    for (code, kind), ids in shown.items():
        logs.access(actor=None, view=f"partners.{kind}:{code}"[:100], subject_type="customers.Customer",
                    subject_ids=ids, fields=["name"], channel="partner")


def _receivers(kind: str, event_type: str) -> list[Partner]:
    return [p for p in Partner.objects.filter(kind=kind, status=ACTIVE) if event_type in p.allowed_events]


# ---- Sales -------------------------------------------------------------------------------------------------------------
def sales(events: list[OutboxEvent]) -> None:
    from bankcrm.wealth.models import Sale

    wanted = {int(e.payload["product_id"]) for e in events if str((e.payload or {}).get("product_id", "")).isdigit()}
    links = {link.product_id: link.partner for link in PartnerProduct.objects.filter(
        product_id__in=wanted, partner__status=ACTIVE).select_related("partner")}
    links = {pid: p for pid, p in links.items() if rules.SALE_SETTLED in p.allowed_events}
    if not links:
        return
    mine = [e for e in events if (e.payload or {}).get("product_id") in links]
    found = {s.pk: s for s in Sale.objects.filter(pk__in=[e.payload.get("sale_id") for e in mine])
             .select_related("product", "customer")}
    key = server_key()
    facts, customers = [], {}
    for e in mine:
        sale, partner = found.get(e.payload.get("sale_id")), links[e.payload["product_id"]]
        if sale is None or sale.settled_at is None:
            continue
        p = sale.product
        payload = {"sale_no": sale.number, "product_code": p.code, "product_name": p.name, "product_kind": p.kind,
                   "amount_fen": sale.amount_fen, "fee_fen": sale.fee_fen, "currency": p.currency,
                   "units_x100": sale.units_x100, "nav_x10000": sale.nav_x10000, "settled_at": _iso(sale.settled_at),
                   "customer_ref": rules.customer_ref(key, partner.code, sale.customer_id),
                   "customer_name": mask_name(sale.customer.name)}
        customers[len(facts)] = sale.customer_id
        facts.append(Fact(partner=partner, type=rules.SALE_SETTLED, payload=payload, source=f"outbox:{e.id}",
                          occurred_at=sale.settled_at))
    _record(facts, customers)


# ---- Settlements -------------------------------------------------------------------------------------------------------
def settlements(events: list[OutboxEvent]) -> None:
    from bankcrm.ledger.models import JournalEntry

    K = JournalEntry.Kind
    candidates = [e for e in events if (e.payload or {}).get("kind") in (K.OUTWARD, K.REVERSAL)]
    if not candidates:
        return
    houses = _receivers(rules.CLEARING_HOUSE, rules.SETTLEMENT_OUTWARD)
    if not houses:
        return
    ids = {e.payload.get("entry_id") for e in candidates} | {e.payload.get("reversal_of_id") for e in candidates}
    entries = {x.pk: x for x in JournalEntry.objects.filter(pk__in=[i for i in ids if i])
               .select_related("debit_account", "customer")}
    facts, customers = [], {}
    for e in candidates:
        entry = entries.get(e.payload.get("entry_id"))
        if entry is None:
            continue
        original = entries.get(entry.reversal_of_id) if entry.kind == K.REVERSAL else entry
        if original is None or original.kind != K.OUTWARD:
            continue
        payload = {"txn_no": entry.txn_no, "direction": "outward", "reversal": entry.kind == K.REVERSAL,
                   "reversal_of": original.txn_no if entry.kind == K.REVERSAL else None,
                   "business_date": entry.business_date.isoformat(), "posted_at": _iso(entry.posted_at),
                   "amount_fen": entry.amount_fen, "currency": entry.currency,
                   "payer_account": mask_card(original.debit_account.number),
                   "payer_name": mask_name(original.customer.name) if original.customer_id else "",
                   "payee_bank": original.counterparty_bank, "payee_account": mask_card(original.counterparty_account),
                   "payee_name": mask_name(original.counterparty_name), "cross_border": original.cross_border,
                   "payee_country": original.counterparty_country}
        for house in houses:
            if original.customer_id:
                customers[len(facts)] = original.customer_id
            facts.append(Fact(partner=house, type=rules.SETTLEMENT_OUTWARD, payload=payload, source=f"outbox:{e.id}",
                              occurred_at=entry.posted_at))
    _record(facts, customers)


# ---- Complaints --------------------------------------------------------------------------------------------------------
def complaints(events: list[OutboxEvent]) -> None:
    from bankcrm.service.models import Channel, Complaint

    regulators = _receivers(rules.REGULATOR, rules.COMPLAINT_CLOSED)
    if not regulators:
        return
    ids = [int(e.payload["complaint_id"]) for e in events if str((e.payload or {}).get("complaint_id", "")).isdigit()]
    found = {c.pk: c for c in Complaint.objects.filter(pk__in=ids, channel=Channel.REGULATOR,
                                                       kind=Complaint.Kind.COMPLAINT).select_related("customer", "branch")}
    facts, customers = [], {}
    for e in events:
        c = found.get(int(e.payload.get("complaint_id") or 0)) if str(e.payload.get("complaint_id", "")).isdigit() else None
        if c is None or c.closed_at is None:
            continue
        decided_on = timezone.localtime(c.decided_at).date() if c.decided_at else None
        payload: dict[str, Any] = {
            "complaint_no": c.number, "channel": c.channel, "product_line": c.product_line,
            "received_at": _iso(c.received_at), "acknowledged_at": _iso(c.acknowledged_at),
            "decided_at": _iso(c.decided_at), "closed_at": _iso(c.closed_at), "decision": c.decision,
            "decision_due_on": c.decision_due_on.isoformat(), "extension_level": c.extension_level,
            "on_time": bool(decided_on and decided_on <= c.decision_due_on), "branch": c.branch.name,
            "customer_name": mask_name(c.customer.name)}
        for reg in regulators:
            customers[len(facts)] = c.customer_id
            facts.append(Fact(partner=reg, type=rules.COMPLAINT_CLOSED, payload=payload, source=f"outbox:{e.id}",
                              occurred_at=c.closed_at))
    _record(facts, customers)


outbox.register_consumer("partners_sales", ("wealth.sold",), sales)
outbox.register_consumer("partners_settlements", ("ledger.entry_posted",), settlements)
outbox.register_consumer("partners_complaints", ("service.complaint_closed",), complaints)
