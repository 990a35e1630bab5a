"""Assets under management (AUM): one snapshot per customer per day, and the figures read from them.

A customer's AUM at the end of a day is their deposits plus their wealth holdings, both as they stood then:

- **deposits**: every customer account's balance at the end of the day, converted to CNY at the rate in force that
  day (time deposits bought through the shelf are ledger accounts, so they count here, once). The balance at the end
  of day D is the account's balance now less the postings with a business date after D. That is exact whenever the
  ledger balances (``balance_fen`` = the sum of the postings, which `ledger.selectors.invariant_report` checks), even
  for postings made later with an earlier business date — where the ``balance_after_fen`` of "the last posting on or
  before D" would be wrong, because it was computed in posting order, not business-date order. One grouped query
  with a correlated subquery per account, served by the index ``posting_account_date`` (account, business date).
- **wealth**: per customer and product, the units held at the end of the day — units of sales settled by then, less
  units redeemed by then, less the units of holdings closed by a maturity payout by then — at the product's latest
  NAV on or before the day; insurance at its premium (cost). Three grouped queries and one for the NAVs.

The value tier (mass, affluent, private banking) follows from the total and the thresholds in force that day
(`wealth.tier.affluent`, `wealth.tier.private`). The customer's primary manager is the one in charge at the end of
the day (the current one for days before their first assignment); the branch is the customer's current branch.

`snapshot_run(day)` writes every customer's row for the day (customers that are not closed), in chunks of customer
ids, each chunk replacing the day's rows in its id range in one transaction; a run killed half-way and run again
leaves exactly one row per customer. `backfill(days=N)` runs it for the last N days (today included); `nightly`
(the scheduled job) writes yesterday's final figures and today's so far.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Case, Count, Exists, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from bankcrm.core import access, params

from . import rules
from .models import NAV_ONE, AumSnapshot, Holding, Payout, Redemption, Sale, WealthProduct

CHUNK = 5_000


def end_of(day: date) -> datetime:
    """The first instant after ``day`` in the bank's time zone: "as of the end of the day" means before this."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _fx(day: date) -> Any:
    """CNY conversion at the rate in force on ``day`` (the ledger's rates; before the first rate: the first rate)."""
    from bankcrm.core.errors import RuleViolation
    from bankcrm.ledger import rules as ledger_rules
    from bankcrm.ledger.models import FxRate
    from bankcrm.ledger.services import fx_rate_micro

    rates: dict[str, int] = {}

    def to_cny(amount_fen: int, currency: str) -> int:
        if currency == "CNY" or not amount_fen:
            return amount_fen
        if currency not in rates:
            try:
                rates[currency] = fx_rate_micro(currency, day)
            except RuleViolation:
                first = (FxRate.objects.filter(currency=currency).order_by("effective_date")
                         .values_list("rate_micro", flat=True).first())
                if first is None:
                    raise
                rates[currency] = first
        return ledger_rules.to_cny_fen(amount_fen, currency, rates[currency])

    return to_cny


def deposits_as_of(day: date) -> dict[int, int]:
    """{customer id: CNY fen on their accounts at the end of ``day``} (customers with accounts only)."""
    from bankcrm.ledger.models import Account, Posting

    later = (Posting.objects.filter(account_id=OuterRef("pk"), business_date__gt=day).order_by()
             .values("account_id")
             .annotate(s=Sum(Case(When(side=OuterRef("normal_side"), then=F("amount_fen")),
                                  default=-F("amount_fen"), output_field=BigIntegerField())))
             .values("s"))
    rows = (Account.objects.filter(kind=Account.Kind.CUSTOMER, customer__isnull=False).order_by()
            .annotate(as_of=F("balance_fen") - Coalesce(Subquery(later, output_field=BigIntegerField()), Value(0)))
            .values("customer_id", "currency").annotate(total=Sum("as_of"))
            .values_list("customer_id", "currency", "total"))
    to_cny = _fx(day)
    out: dict[int, int] = defaultdict(int)
    for cid, cur, total in rows:
        out[cid] += to_cny(int(total or 0), cur)
    return out


def positions_as_of(day: date) -> dict[tuple[int, int], tuple[int, int]]:
    """{(customer id, product id): (units_x100, cost_fen)} held at the end of ``day`` (time deposits excluded: they
    are ledger accounts). Cost is only kept exactly for products that cannot be redeemed (insurance)."""
    end = end_of(day)
    pos: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for cid, pid, units, amount in (Sale.objects.filter(status=Sale.Status.SETTLED, settled_at__lt=end)
                                    .exclude(product__kind=WealthProduct.Kind.DEPOSIT).order_by()
                                    .values("customer_id", "product_id")
                                    .annotate(u=Sum("units_x100"), a=Sum("amount_fen"))
                                    .values_list("customer_id", "product_id", "u", "a")):
        pos[(cid, pid)][0] += units or 0
        pos[(cid, pid)][1] += amount or 0
    for cid, pid, units in (Redemption.objects.filter(created_at__lt=end).order_by()
                            .values("holding__customer_id", "holding__product_id").annotate(u=Sum("units_x100"))
                            .values_list("holding__customer_id", "holding__product_id", "u")):
        pos[(cid, pid)][0] -= units or 0
    matured = Payout.objects.filter(holding_id=OuterRef("pk"), kind=Payout.Kind.MATURITY, created_at__lt=end)
    for cid, pid, units, cost in (Holding.objects.filter(Exists(matured), deposit_account__isnull=True).order_by()
                                  .values("customer_id", "product_id")
                                  .annotate(u=Sum("units_x100"), c=Sum("cost_fen"))
                                  .values_list("customer_id", "product_id", "u", "c")):
        pos[(cid, pid)][0] -= units or 0
        pos[(cid, pid)][1] -= cost or 0
    return {k: (u, c) for k, (u, c) in pos.items() if u or c}


def wealth_as_of(day: date) -> dict[int, int]:
    """{customer id: CNY fen of wealth holdings at the end of ``day``}: units × the latest NAV on or before the day
    (insurance at premium)."""
    from .selectors import latest_navs

    pos = positions_as_of(day)
    pids = sorted({pid for _cid, pid in pos})
    products = dict(WealthProduct.objects.filter(pk__in=pids).values_list("pk", "kind"))
    currencies = dict(WealthProduct.objects.filter(pk__in=pids).values_list("pk", "currency"))
    navs = latest_navs(pids, day)
    to_cny = _fx(day)
    out: dict[int, int] = defaultdict(int)
    for (cid, pid), (units, cost) in pos.items():
        if products[pid] in (WealthProduct.Kind.WEALTH, WealthProduct.Kind.FUND):
            value = rules.value_of(units, navs.get(pid, NAV_ONE))
        else:
            value = cost
        out[cid] += to_cny(value, currencies[pid])
    return out


def managers_as_of(day: date) -> dict[int, int]:
    """{customer id: primary manager at the end of ``day``}; customers who had none yet get their current one."""
    from bankcrm.customers.models import ManagerAssignment

    end = end_of(day)
    primary = ManagerAssignment.objects.filter(role=ManagerAssignment.Role.PRIMARY)
    out = dict(primary.filter(ended_at__isnull=True).values_list("customer_id", "staff_id"))
    out.update(primary.filter(started_at__lt=end).filter(Q(ended_at__isnull=True) | Q(ended_at__gte=end))
               .order_by("started_at", "pk").values_list("customer_id", "staff_id"))
    return out


def _customers() -> list[tuple[int, str]]:
    from bankcrm.customers.models import Customer

    return list(Customer.objects.exclude(status=Customer.Status.CLOSED).values_list("pk", "branch__path").order_by("pk"))


def snapshot_run(*, day: date | None = None, customers: list[tuple[int, str]] | None = None) -> int:
    """Write the day's snapshot (default: today, as it stands now) for every customer that is not closed, replacing
    the day's earlier rows. Returns rows written."""
    day = day or timezone.localdate()
    customers = _customers() if customers is None else customers
    deposits, wealth, managers = deposits_as_of(day), wealth_as_of(day), managers_as_of(day)
    at = min(end_of(day) - timedelta(microseconds=1), timezone.now())
    affluent, private = params.value("wealth.tier.affluent", at), params.value("wealth.tier.private", at)
    written = 0
    for i in range(0, len(customers), CHUNK):
        chunk = customers[i:i + CHUNK]
        rows = []
        for cid, path in chunk:
            d, w = deposits.get(cid, 0), wealth.get(cid, 0)
            rows.append(AumSnapshot(day=day, customer_id=cid, branch_path=path, manager_id=managers.get(cid),
                                    deposits_fen=d, wealth_fen=w, total_fen=d + w,
                                    tier=rules.tier_of(d + w, affluent, private)))
        # The chunks' id ranges tile the whole id line, so rows of customers closed since an earlier run go too.
        span = Q(customer_id__lte=chunk[-1][0]) if i + CHUNK < len(customers) else Q()
        if i:
            span &= Q(customer_id__gt=customers[i - 1][0])
        with transaction.atomic():
            AumSnapshot.objects.filter(span, day=day).delete()
            AumSnapshot.objects.bulk_create(rows, batch_size=1000)
        written += len(rows)
    if not customers:
        AumSnapshot.objects.filter(day=day).delete()
    return written


def backfill(*, days: int = 90, today: date | None = None) -> int:
    """Write the snapshots of the last ``days`` days (today included), oldest first. Idempotent per day."""
    today = today or timezone.localdate()
    customers = _customers()
    return sum(snapshot_run(day=today - timedelta(days=n), customers=customers) for n in range(days - 1, -1, -1))


def nightly() -> int:
    """The scheduled job: yesterday's final figures, and today's so far (replaced by tomorrow's run)."""
    today = timezone.localdate()
    return snapshot_run(day=today - timedelta(days=1)) + snapshot_run(day=today)


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
