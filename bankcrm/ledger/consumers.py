"""Outbox consumers of the ledger: the audit sealer chains every posted entry into the audit trail, in order, shortly
after commit (ADR 0009). Later features (AML monitoring, KPIs) register their own consumers of the same topic."""

from __future__ import annotations

from datetime import datetime

from bankcrm.core import audit, outbox
from bankcrm.core.models import OutboxEvent

from .models import txn_no


def _labels(ids: set[int]) -> dict[int, str]:
    from bankcrm.org.models import Staff

    return {pk: f"{no} {name}" for pk, no, name in Staff.objects.filter(pk__in=ids).values_list("pk", "staff_no", "name")}


def seal_entries(events: list[OutboxEvent]) -> None:
    labels = _labels({e.payload["maker_id"] for e in events if e.payload.get("maker_id")})
    items = []
    for e in events:
        p = e.payload
        number = txn_no(datetime.fromisoformat(p["business_date"]).date(), p["entry_id"])
        items.append(audit.Deferred(
            actor_id=p.get("maker_id"), actor_label=labels.get(p.get("maker_id"), "system"), verb="ledger.entry_posted",
            target_type="ledger.JournalEntry", target_id=str(p["entry_id"]), target_repr=f"{number} {p['kind']}",
            after={k: p.get(k) for k in ("kind", "amount_fen", "currency", "debit_id", "credit_id", "checker_id",
                                         "approval_id", "channel", "reversal_of_id", "business_date")},
            occurred_at=e.created_at, request_id=p.get("request_id", ""), ip=p.get("ip", ""),
            channel=p.get("origin", "system")))
    audit.record_batch(items)


outbox.register_consumer("audit_sealer", ("ledger.entry_posted",), seal_entries)
