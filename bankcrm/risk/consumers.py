"""Outbox consumers of the risk app (ARCHITECTURE.md "events"), each run after the facts commit, exactly once:

- ``risk_monitor``: every posted ledger entry → real-time monitoring of the customers on both legs for that business
  date (the same SQL as the nightly run) and a due-diligence task for one-off services at or above the threshold;
- ``risk_customers``: registered and changed customers → AML rating and watch-list screening;
- ``risk_alert_hooks``: customers with new alerts → re-rating (alerting.ON_NEW_ALERTS).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bankcrm.core import outbox, params
from bankcrm.core.models import OutboxEvent

ONE_OFF_KINDS = ("cash_in", "cash_out", "outward")


def _due_diligence_needed(p: dict[str, Any]) -> bool:
    if p.get("kind") not in ONE_OFF_KINDS or not p.get("customer_id"):
        return False
    if p.get("currency") == "CNY":
        return p["amount_fen"] >= params.value("aml.due_diligence.cny")
    if p.get("currency") == "USD":
        return p["amount_fen"] >= params.value("aml.due_diligence.usd")
    return (p.get("cny_fen") or 0) >= params.value("aml.due_diligence.cny")


def monitor_entries(events: list[OutboxEvent]) -> None:
    from bankcrm.ledger.models import Account

    from . import due_diligence, services

    accounts = {e.payload[k] for e in events for k in ("debit_id", "credit_id")}
    owner = dict(Account.objects.filter(pk__in=accounts, kind="customer").values_list("pk", "customer_id"))
    pairs: set[tuple[date, int]] = set()
    for e in events:
        p = e.payload
        if p.get("kind") == "reversal":
            continue
        day = date.fromisoformat(p["business_date"])
        pairs |= {(day, owner[p[k]]) for k in ("debit_id", "credit_id") if p[k] in owner}
        if _due_diligence_needed(p):
            due_diligence.due_diligence_open(customer_id=p["customer_id"], trigger="one_off",
                                             source_key=f"entry:{p['entry_id']}", entry_id=p["entry_id"])
    services.monitor_realtime(pairs)


def customer_events(events: list[OutboxEvent]) -> None:
    from . import rating, watchlist

    new = sorted({e.payload["customer_id"] for e in events if e.topic == "customers.registered"})
    changed = sorted({e.payload["customer_id"] for e in events if e.topic == "customers.changed"} - set(new))
    if new:
        rating.on_customers_registered(new)
        watchlist.on_customers_registered(new)
    if changed:
        rating.on_customers_changed(changed)
        watchlist.on_customers_changed(changed)


def alert_hooks(events: list[OutboxEvent]) -> None:
    from . import alerting

    alerting.run_hooks({c for e in events for c in e.payload["customer_ids"]})


outbox.register_consumer("risk_alert_hooks", ("risk.alerts_raised",), alert_hooks)
outbox.register_consumer("risk_monitor", ("ledger.entry_posted",), monitor_entries)
outbox.register_consumer("risk_customers", ("customers.registered", "customers.changed"), customer_events)
