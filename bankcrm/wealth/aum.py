"""Assets under management (AUM): one snapshot per customer per day, and the figures read from them.

A customer's AUM is their deposits (customer accounts' balances, USD at the day's rate; time deposits bought through
the shelf are accounts, so they count here once) plus their wealth holdings at the latest NAV (insurance at premium).
The value tier (mass, affluent, private banking) follows from the total and the thresholds in the rule parameters.

`snapshot_run(day)` computes every active customer's figures with three grouped queries and writes the day's rows in
chunks, replacing the day's earlier rows; a run killed half-way and run again leaves exactly one row per customer.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from bankcrm.core import access, params

from . import rules
from .models import NAV_ONE, AumSnapshot, Holding

CHUNK = 5_000


def _deposits() -> dict[int, int]:
    from bankcrm.ledger.models import Account
    from bankcrm.ledger.services import to_cny

    out: dict[int, int] = defaultdict(int)
    for cid, cur, total in (Account.objects.filter(kind=Account.Kind.CUSTOMER, customer__isnull=False)
                            .exclude(status=Account.Status.CLOSED).values("customer_id", "currency")
                            .annotate(t=Sum("balance_fen")).values_list("customer_id", "currency", "t")):
        out[cid] += total if cur == "CNY" else to_cny(total, cur)
    return out


def _wealth(day: date) -> dict[int, int]:
    from bankcrm.ledger.services import to_cny

    from .selectors import latest_navs

    rows = list(Holding.objects.filter(status=Holding.Status.ACTIVE, deposit_account__isnull=True)
                .values_list("customer_id", "product_id", "units_x100", "cost_fen", "product__kind", "product__currency"))
    navs = latest_navs(sorted({r[1] for r in rows}), day)
    out: dict[int, int] = defaultdict(int)
    for cid, pid, units, cost, kind, cur in rows:
        value = rules.value_of(units, navs.get(pid, NAV_ONE)) if kind in ("wealth", "fund") else cost
        out[cid] += value if cur == "CNY" else to_cny(value, cur)
    return out


def snapshot_run(*, day: date | None = None) -> int:
    """Write the day's snapshot (default: today) for every customer that is not closed. Returns rows written."""
    from bankcrm.customers.models import Customer, ManagerAssignment

    day = day or timezone.localdate()
    deposits, wealth = _deposits(), _wealth(day)
    managers = dict(ManagerAssignment.objects.filter(role="primary", ended_at__isnull=True)
                    .values_list("customer_id", "staff_id"))
    affluent, private = params.value("wealth.tier.affluent"), params.value("wealth.tier.private")
    customers = list(Customer.objects.exclude(status="closed").values_list("pk", "branch__path").order_by("pk"))
    written = 0
    for i in range(0, len(customers), CHUNK):
        chunk = customers[i:i + CHUNK]
        rows = []
        for cid, path in chunk:
            d, w = deposits.get(cid, 0), wealth.get(cid, 0)
            rows.append(AumSnapshot(day=day, customer_id=cid, branch_path=path, manager_id=managers.get(cid),
                                    deposits_fen=d, wealth_fen=w, total_fen=d + w,
                                    tier=rules.tier_of(d + w, affluent, private)))
        with transaction.atomic():
            AumSnapshot.objects.filter(day=day, customer_id__gte=chunk[0][0], customer_id__lte=chunk[-1][0]).delete()
            AumSnapshot.objects.bulk_create(rows, batch_size=1000)
        written += len(rows)
    return written


# ---- Reads ----------------------------------------------------------------------------------------------------------
def _scoped(actor: Any):
    """Snapshots an actor may aggregate: customer managers their own customers; others their branch subtree."""
    qs = AumSnapshot.objects.all()
    if not access.can(actor, "wealth.aum"):
        return qs.none()
    if "customer_manager" in actor.roles and not actor.roles & {"branch_supervisor", "compliance_manager", "admin"}:
        return qs.filter(manager_id=actor.pk)
    root = access.scope_root(actor)
    return qs if root is None else qs.filter(branch_path__startswith=root)


def latest_day(actor: Any) -> date | None:
    return _scoped(actor).order_by("-day").values_list("day", flat=True).first()


def trend(actor: Any, *, days: int = 90, manager_id: int | None = None) -> list[dict[str, Any]]:
    """Total deposits and wealth per snapshot day over the last ``days`` (the chart's series)."""
    qs = _scoped(actor).filter(day__gte=timezone.localdate() - timedelta(days=days))
    if manager_id:
        qs = qs.filter(manager_id=manager_id)
    return [{"day": r["day"].isoformat(), "deposits_fen": r["d"], "wealth_fen": r["w"], "total_fen": r["t"],
             "customers": r["n"]}
            for r in qs.values("day").annotate(d=Sum("deposits_fen"), w=Sum("wealth_fen"), t=Sum("total_fen"),
                                               n=Count("id")).order_by("day")]


def by_tier(actor: Any, day: date) -> list[dict[str, Any]]:
    rows = {r["tier"]: r for r in _scoped(actor).filter(day=day).values("tier")
            .annotate(n=Count("id"), t=Sum("total_fen"))}
    return [{"tier": t, "label": str(rules.TIER_LABELS[t]), "customers": rows.get(t, {}).get("n", 0),
             "total_fen": rows.get(t, {}).get("t") or 0} for t in ("mass", "affluent", "private")]


def by_manager(actor: Any, day: date) -> list[dict[str, Any]]:
    from bankcrm.org.models import Staff

    rows = list(_scoped(actor).filter(day=day, manager_id__isnull=False).values("manager_id")
                .annotate(n=Count("id"), d=Sum("deposits_fen"), w=Sum("wealth_fen"), t=Sum("total_fen"))
                .order_by("-t")[:50])
    names = dict(Staff.objects.filter(pk__in=[r["manager_id"] for r in rows]).values_list("pk", "name"))
    return [{"manager_id": r["manager_id"], "name": names.get(r["manager_id"], "—"), "customers": r["n"],
             "deposits_fen": r["d"], "wealth_fen": r["w"], "total_fen": r["t"]} for r in rows]


def by_branch(actor: Any, day: date) -> list[dict[str, Any]]:
    from bankcrm.org.models import Branch

    rows = list(_scoped(actor).filter(day=day).values("branch_path")
                .annotate(n=Count("id"), d=Sum("deposits_fen"), w=Sum("wealth_fen"), t=Sum("total_fen"))
                .order_by("-t"))
    names = dict(Branch.objects.filter(path__in=[r["branch_path"] for r in rows]).values_list("path", "name"))
    return [{"branch_path": r["branch_path"], "name": names.get(r["branch_path"], r["branch_path"]), "customers": r["n"],
             "deposits_fen": r["d"], "wealth_fen": r["w"], "total_fen": r["t"]} for r in rows]


def customer_history(customer_id: int, *, days: int = 365) -> list[dict[str, Any]]:
    """One customer's AUM over time (the caller has checked the customer is visible)."""
    return [{"day": d.isoformat(), "deposits_fen": dep, "wealth_fen": w, "total_fen": t, "tier": tier}
            for d, dep, w, t, tier in AumSnapshot.objects.filter(
                customer_id=customer_id, day__gte=timezone.localdate() - timedelta(days=days))
            .order_by("day").values_list("day", "deposits_fen", "wealth_fen", "total_fen", "tier")]
