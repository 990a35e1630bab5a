"""The figures of the management reports: set-based aggregate queries over the owning apps' tables (read only),
scoped to the actor's branch subtree (head office: every branch; a supervisor: their subtree; never wider), grouped
by branch path, month or another dimension in SQL and folded into rows in Python (one row per branch one level below
the branch chosen, see `report_rules`).

Every figure is the count or sum of a **metric**: a queryset function of the report context (scope and period).
The same function answers the drill-through (`records`), so the records behind a figure are exactly the ones it
counts. The conditions a metric adds (a risk level, an overdue assignment…) are defined once below and used both in
the aggregate's ``filter=`` and in the drill-through's ``.filter()``.

Which branch a record belongs to: customers by their home branch, AUM snapshots by the customer's branch on the
snapshot day, transactions by the customer account's branch, complaints by the branch complained about, survey
answers by the branch of the invitation, AML alerts and cases by the customer's branch, training assignments by the
staff member's branch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from . import report_catalog as catalog
from . import report_rules as rules

MAX_ROWS = 200_000  # rows fetched for a median or the lost-customer months (per request)


# ---- Context: who, which branches, which period ----------------------------------------------------------------------
@dataclass
class Ctx:
    actor: Any
    period: rules.Period
    today: date
    root: str | None  # branch path prefix every read is limited to; None: every branch
    group_root: str  # rows are the branches one level below this path
    branch: Any  # the branch the report is about (None: the whole bank with several top-level branches)
    _snapshot_day: Any = field(default=False, repr=False)

    @property
    def since(self) -> datetime:
        return _start_of(self.period.start)

    @property
    def until(self) -> datetime:
        return _start_of(self.period.end + timedelta(days=1))

    @property
    def as_of(self) -> date:
        return self.period.as_of(self.today)

    def scope(self, path_field: str) -> Q:
        return Q() if self.root is None else Q(**{f"{path_field}__startswith": self.root})

    @property
    def snapshot_day(self) -> date | None:
        """The AUM snapshot day the period's stock figures are read on: the last one in [start, as of]."""
        if self._snapshot_day is False:
            self._snapshot_day = _snapshot_day(self.period.start, self.as_of)
        return self._snapshot_day


def _tz():
    return timezone.get_default_timezone()


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, _tz())


def _snapshot_day(first: date, last: date) -> date | None:
    from bankcrm.wealth.models import AumSnapshot

    if last < first:
        return None
    return (AumSnapshot.objects.filter(day__gte=first, day__lte=last).order_by("-day")
            .values_list("day", flat=True).first())


def branch_choices(actor: Any) -> list[tuple[str, str]]:
    """The branches an actor may report on (their scope subtree), indented by depth."""
    from bankcrm.org.models import Branch

    qs = Branch.objects.filter(access.branch_scope_q(actor, "path")).order_by("path")
    return [(b.path, f"{'　' * (b.path.count('/') - 2)}{b.label}") for b in qs]


def context(actor: Any, period: rules.Period, branch_path: str | None = None, *, today: date | None = None) -> Ctx:
    """The report context: the branch chosen must lie in the actor's scope (else 404, as for any record one may not
    see); without one, the actor's whole scope."""
    from bankcrm.org.models import Branch

    access.require(actor, "reports.view")
    today = today or timezone.localdate()
    scope = access.scope_root(actor)
    branch = None
    if branch_path:
        branch = Branch.objects.filter(path=branch_path).first()
        if branch is None or (scope is not None and not branch_path.startswith(scope)):
            raise NotFound("branch_not_found", _("机构不存在或不在您的管理范围内"))
        root: str | None = branch.path
    elif scope is not None:
        branch = Branch.objects.filter(path=scope).first()
        root = scope
    else:
        root = None
        tops = list(Branch.objects.filter(parent__isnull=True).order_by("path")[:2])
        branch = tops[0] if len(tops) == 1 else None
    group_root = branch.path if branch is not None else "/"
    return Ctx(actor=actor, period=period, today=today, root=root, group_root=group_root, branch=branch)


# ---- Conditions defined once (aggregates and drill-through share them) -----------------------------------------------
def _aml_q(level: str, prefix: str = "risk_profile__") -> Q:
    if level not in dict(catalog.AML_LEVELS):
        raise NotFound("group_not_found", _("没有这一行"))
    if level == "unrated":
        return Q(**{f"{prefix}aml_level__isnull": True}) | Q(**{f"{prefix}aml_level": ""})
    return Q(**{f"{prefix}aml_level": level})


def _suit_q(key: str, today: date, prefix: str = "risk_profile__") -> Q:
    if key not in dict(catalog.SUIT_LEVELS):
        raise NotFound("group_not_found", _("没有这一行"))
    level, until = f"{prefix}suitability_level", f"{prefix}suitability_valid_until"
    if key == "none":
        return Q(**{f"{level}__isnull": True})
    if key == "expired":
        return Q(**{f"{level}__isnull": False, f"{until}__lt": today})
    return Q(**{level: int(key)}) & (Q(**{f"{until}__isnull": True}) | Q(**{f"{until}__gte": today}))


def _training_q(kind: str, today: date) -> Q:
    from bankcrm.people.models import Assignment

    s = Assignment.Status
    return {
        "completed": Q(status=s.COMPLETED),
        "on_time": Q(status=s.COMPLETED, completed_at__date__lte=F("due_on")),
        "overdue": Q(status=s.OPEN, due_on__lt=today),
        "open": Q(status=s.OPEN, due_on__gte=today),
        "waived": Q(status=s.WAIVED),
    }[kind]


def _overdue_complaint_q(as_of: date) -> Q:
    """Decided after the deadline, or undecided with the deadline passed by the end of the period (or today)."""
    return (Q(decided_at__isnull=False, decided_at__date__gt=F("decision_due_on"))
            | Q(decided_at__isnull=True, decision_due_on__lt=as_of))


# ---- Metrics: the records behind each figure ------------------------------------------------------------------------
@dataclass(frozen=True)
class Metric:
    code: str
    kind: str  # the record kind the drill-through lists (customer, snapshot, entry, complaint, …)
    records: Callable[[Ctx], QuerySet]
    path: str  # the field holding the record's branch path
    month: str | None = None  # the date or datetime field a month row filters on
    dims: dict[str, Callable[[Ctx, str], Q]] = field(default_factory=dict)


def _customers(ctx: Ctx) -> QuerySet:
    from bankcrm.customers.models import Customer

    return Customer.objects.filter(ctx.scope("branch__path"))


def m_customers(ctx: Ctx) -> QuerySet:
    return _customers(ctx).filter(status="active", created_at__lt=ctx.until)


def m_customers_now(ctx: Ctx) -> QuerySet:
    return _customers(ctx).filter(status="active")


def m_new_customers(ctx: Ctx) -> QuerySet:
    return _customers(ctx).filter(created_at__gte=ctx.since, created_at__lt=ctx.until)


def m_lost_customers(ctx: Ctx) -> QuerySet:
    """Customers whose customer accounts are all closed, the last one within the period."""
    from bankcrm.ledger.models import Account

    accounts = Account.objects.filter(customer=OuterRef("pk"), kind=Account.Kind.CUSTOMER)
    return (_customers(ctx).filter(Exists(accounts)).exclude(Exists(accounts.exclude(status=Account.Status.CLOSED)))
            .annotate(last_closed=Subquery(accounts.order_by("-closed_at").values("closed_at")[:1]))
            .filter(last_closed__gte=ctx.since, last_closed__lt=ctx.until))


def m_aum(ctx: Ctx) -> QuerySet:
    from bankcrm.wealth.models import AumSnapshot

    day = ctx.snapshot_day
    if day is None:
        return AumSnapshot.objects.none()
    return AumSnapshot.objects.filter(ctx.scope("branch_path"), day=day)


def m_transactions(ctx: Ctx) -> QuerySet:
    from bankcrm.ledger.models import JournalEntry
    from bankcrm.ledger.services import CUSTOMER_INITIATED

    return JournalEntry.objects.filter(ctx.scope("branch_path"), business_date__gte=ctx.period.start,
                                       business_date__lte=ctx.period.end, customer__isnull=False,
                                       kind__in=sorted(CUSTOMER_INITIATED), reversal_of__isnull=True,
                                       reversed_by__isnull=True)


def _complaints(ctx: Ctx) -> QuerySet:
    from bankcrm.service.models import Complaint

    return Complaint.objects.filter(ctx.scope("branch_path"), kind=Complaint.Kind.COMPLAINT)


def m_complaints_received(ctx: Ctx) -> QuerySet:
    return _complaints(ctx).filter(received_at__gte=ctx.since, received_at__lt=ctx.until)


def m_complaints_closed(ctx: Ctx) -> QuerySet:
    return _complaints(ctx).filter(closed_at__gte=ctx.since, closed_at__lt=ctx.until)


def m_complaints_overdue(ctx: Ctx) -> QuerySet:
    return m_complaints_received(ctx).filter(_overdue_complaint_q(ctx.as_of))


def m_complaints_open(ctx: Ctx) -> QuerySet:
    from bankcrm.service.models import Complaint

    return m_complaints_received(ctx).filter(status__in=Complaint.OPEN_STATUSES)


def m_responses(ctx: Ctx) -> QuerySet:
    from bankcrm.surveys.models import Response

    return Response.objects.filter(ctx.scope("invitation__branch_path"), created_at__gte=ctx.since,
                                   created_at__lt=ctx.until)


def _alerts(ctx: Ctx) -> QuerySet:
    from bankcrm.risk.models import Alert

    return Alert.objects.filter(ctx.scope("branch_path"))


def _cases(ctx: Ctx) -> QuerySet:
    from bankcrm.risk.models import Case

    return Case.objects.filter(ctx.scope("branch_path"))


CASE_OPEN = ("open", "escalated")


def m_training_due(ctx: Ctx) -> QuerySet:
    from bankcrm.people.models import Assignment

    return (Assignment.objects.filter(ctx.scope("branch_path"), due_on__gte=ctx.period.start,
                                      due_on__lte=ctx.period.end).exclude(status=Assignment.Status.CANCELLED))


def m_aml(ctx: Ctx, *, level: str) -> QuerySet:
    return m_customers_now(ctx).filter(_aml_q(level))


def m_training(ctx: Ctx, *, kind: str) -> QuerySet:
    return m_training_due(ctx).filter(_training_q(kind, ctx.today))


def m_alerts_open(ctx: Ctx) -> QuerySet:
    from bankcrm.risk.models import Alert

    return _alerts(ctx).filter(status__in=Alert.OPEN_STATUSES)


def _cause_q(_ctx: Ctx, key: str) -> Q:
    if key == "none":
        return Q(root_cause__isnull=True)
    return Q(root_cause__parent__code=key) | Q(root_cause__code=key, root_cause__parent__isnull=True)


def _course_q(_ctx: Ctx, key: str) -> Q:
    return Q(course_id=int(key)) if key.isdigit() else Q(pk__in=[])


_CUSTOMER_DIMS = {catalog.AML: lambda ctx, key: _aml_q(key), catalog.SUIT: lambda ctx, key: _suit_q(key, ctx.today)}
_TRAINING_DIMS = {catalog.COURSE: _course_q}
_COMPLAINT_DIMS = {catalog.CATEGORY: lambda ctx, key: Q(product_line=key), catalog.CAUSE: _cause_q}

METRICS: dict[str, Metric] = {m.code: m for m in [
    Metric("customers", "customer", m_customers, "branch__path"),
    Metric("customers_now", "customer", m_customers_now, "branch__path", dims=_CUSTOMER_DIMS),
    Metric("new_customers", "customer", m_new_customers, "branch__path", "created_at"),
    Metric("lost_customers", "customer", m_lost_customers, "branch__path", "last_closed"),
    *[Metric(f"aml_{lv}", "customer", partial(m_aml, level=lv), "branch__path") for lv, _label in catalog.AML_LEVELS],
    Metric("suit_expired", "customer", lambda ctx: m_customers_now(ctx).filter(_suit_q("expired", ctx.today)),
           "branch__path"),
    Metric("aum", "snapshot", m_aum, "branch_path", "day", dims={catalog.TIER: lambda ctx, key: Q(tier=key)}),
    Metric("transactions", "entry", m_transactions, "branch_path", "business_date"),
    Metric("complaints_received", "complaint", m_complaints_received, "branch_path", "received_at", _COMPLAINT_DIMS),
    Metric("complaints_closed", "complaint", m_complaints_closed, "branch_path", "closed_at", _COMPLAINT_DIMS),
    Metric("complaints_overdue", "complaint", m_complaints_overdue, "branch_path", "received_at", _COMPLAINT_DIMS),
    Metric("complaints_open", "complaint", m_complaints_open, "branch_path", "received_at", _COMPLAINT_DIMS),
    Metric("responses", "response", m_responses, "invitation__branch_path", "created_at"),
    Metric("csat", "response", lambda ctx: m_responses(ctx).filter(csat__isnull=False), "invitation__branch_path",
           "created_at"),
    Metric("nps", "response", lambda ctx: m_responses(ctx).filter(nps__isnull=False), "invitation__branch_path",
           "created_at"),
    Metric("negative", "response", lambda ctx: m_responses(ctx).filter(sentiment="negative"),
           "invitation__branch_path", "created_at"),
    Metric("followups", "response", lambda ctx: m_responses(ctx).filter(needs_followup=True),
           "invitation__branch_path", "created_at"),
    Metric("alerts_open", "alert", m_alerts_open, "branch_path"),
    Metric("alerts_new", "alert", lambda ctx: _alerts(ctx).filter(created_at__gte=ctx.since, created_at__lt=ctx.until),
           "branch_path", "created_at"),
    Metric("cases_open", "case", lambda ctx: _cases(ctx).filter(status__in=CASE_OPEN), "branch_path"),
    Metric("cases_new", "case", lambda ctx: _cases(ctx).filter(opened_at__gte=ctx.since, opened_at__lt=ctx.until),
           "branch_path", "opened_at"),
    Metric("training_due", "assignment", m_training_due, "branch_path", "due_on", _TRAINING_DIMS),
    *[Metric(f"training_{k}", "assignment", partial(m_training, kind=k), "branch_path", "due_on", _TRAINING_DIMS)
      for k in ("completed", "on_time", "overdue", "open", "waived")],
]}


def _month_bounds(key: str, ctx: Ctx) -> tuple[date, date] | None:
    for k, first, last in ctx.period.months():
        if k == key:
            return first, last
    return None


def records(ctx: Ctx, metric_code: str, dim: str = "", key: str = "") -> tuple[Metric, QuerySet]:
    """The records behind one figure: the metric's queryset narrowed to the row (a branch group, a month, a tier…).
    Unknown metrics, dimensions or keys are 404."""
    metric = METRICS.get(metric_code)
    if metric is None:
        raise NotFound("metric_not_found", _("没有这项统计指标"))
    if metric.code == "aum" and dim == catalog.MONTH:
        bounds = _month_bounds(key, ctx)
        day = _snapshot_day(bounds[0], min(bounds[1], ctx.as_of)) if bounds else None
        ctx = Ctx(ctx.actor, ctx.period, ctx.today, ctx.root, ctx.group_root, ctx.branch, _snapshot_day=day)
        return metric, m_aum(ctx)
    qs = metric.records(ctx)
    if not dim:
        return metric, qs
    if dim == catalog.BRANCH:
        if not key.startswith(ctx.group_root) and ctx.group_root != "/":
            raise NotFound("group_not_found", _("没有这一行"))
        if key == ctx.group_root:
            return metric, qs.filter(**{metric.path: key})
        return metric, qs.filter(**{f"{metric.path}__startswith": key})
    if dim == catalog.MONTH and metric.month:
        bounds = _month_bounds(key, ctx)
        if bounds is None:
            raise NotFound("group_not_found", _("没有这一行"))
        first, last = bounds
        if metric.month in ("business_date", "due_on", "day"):
            return metric, qs.filter(**{f"{metric.month}__gte": first, f"{metric.month}__lte": last})
        return metric, qs.filter(**{f"{metric.month}__gte": _start_of(first),
                                    f"{metric.month}__lt": _start_of(last + timedelta(days=1))})
    if dim in metric.dims:
        return metric, qs.filter(metric.dims[dim](ctx, key))
    raise NotFound("group_not_found", _("没有这一行"))


# ---- Folding grouped rows into report rows ------------------------------------------------------------------------------
def _fold(rows: list[dict[str, Any]], path_key: str, ctx: Ctx, fields: list[str]) -> dict[str, dict[str, int]]:
    """Sum the grouped rows' fields per branch group (one level below the group root)."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        g = rules.group_path(r[path_key] or "", ctx.group_root)
        if not g:
            continue
        for f in fields:
            out[g][f] += r.get(f) or 0
    return out


def _branch_rows(ctx: Ctx, groups: dict[str, dict[str, Any]], make: Callable[[dict[str, Any]], dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """One row per branch directly below the group root (every active one, with zeros), the root itself when it has
    records of its own (or no branches below), and any inactive branch that still has records."""
    from bankcrm.org.models import Branch

    depth = ctx.group_root.count("/") + 1 if ctx.group_root != "/" else 2
    under = list(Branch.objects.filter(path__startswith=ctx.group_root).only("path", "name", "name_en", "is_active")
                 .order_by("path"))
    names = {b.path: b.label for b in under}
    children = [b.path for b in under if b.path.count("/") == depth and (b.is_active or b.path in groups)]
    out = []
    if ctx.group_root in groups or (not children and ctx.group_root != "/"):
        label = names.get(ctx.group_root, ctx.group_root)
        out.append({"key": ctx.group_root, "label": _("%(b)s（本级）") % {"b": label} if children else label,
                    "branch": None, "values": make(groups.get(ctx.group_root, {}))})
    for path in children:
        out.append({"key": path, "label": names.get(path, path), "branch": path, "values": make(groups.get(path, {}))})
    return out


def _month_key(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value, _tz()) if timezone.is_aware(value) else value
    return f"{value.year}-{value.month:02d}"


def _month(field_name: str):
    return TruncMonth(field_name, tzinfo=_tz())


def _month_rows(ctx: Ctx, per_month: dict[str, dict[str, Any]], make: Callable[[dict[str, Any]], dict[str, Any]]
                ) -> list[dict[str, Any]]:
    return [{"key": key, "label": key, "branch": None, "values": make(per_month.get(key, {}))}
            for key, _first, _last in ctx.period.months()]


def _sum_rows(rows: list[dict[str, Any]], fields: list[str]) -> dict[str, int]:
    return {f: sum((r["values"].get(f) or 0) for r in rows) for f in fields}


def _total(values: dict[str, Any]) -> dict[str, Any]:
    return {"key": "", "label": _("合计"), "branch": None, "values": values}


# ---- The six reports ------------------------------------------------------------------------------------------------------
def _fx_to_cny(ctx: Ctx) -> Callable[[int, str], int]:
    from bankcrm.core.errors import RuleViolation
    from bankcrm.ledger import rules as ledger_rules
    from bankcrm.ledger.services import fx_rate_micro

    rates: dict[str, int | None] = {}

    def convert(amount: int, currency: str) -> int:
        if currency == "CNY" or not amount:
            return amount
        if currency not in rates:
            try:
                rates[currency] = fx_rate_micro(currency, ctx.as_of)
            except RuleViolation:
                rates[currency] = None
        rate = rates[currency]
        return ledger_rules.to_cny_fen(amount, currency, rate) if rate else 0

    return convert


def _snapshot_sums(ctx: Ctx) -> dict[str, dict[str, int]]:
    rows = list(m_aum(ctx).values("branch_path").annotate(n=Count("id"), aum=Sum("total_fen"),
                                                          deposits=Sum("deposits_fen"), wealth=Sum("wealth_fen")))
    return _fold(rows, "branch_path", ctx, ["n", "aum", "deposits", "wealth"])


def _by_path(qs: QuerySet, path: str, **aggs: Any) -> list[dict[str, Any]]:
    return list(qs.order_by().values(path).annotate(**(aggs or {"n": Count("pk")})))


def branch_performance(ctx: Ctx) -> dict[str, Any]:
    from bankcrm.surveys.selectors import AGG

    customers = _fold(_by_path(m_customers(ctx), "branch__path"), "branch__path", ctx, ["n"])
    new = _fold(_by_path(m_new_customers(ctx), "branch__path"), "branch__path", ctx, ["n"])
    snap = _snapshot_sums(ctx)
    convert = _fx_to_cny(ctx)
    txn: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in m_transactions(ctx).order_by().values("branch_path", "currency").annotate(n=Count("id"),
                                                                                        s=Sum("amount_fen")):
        g = rules.group_path(r["branch_path"], ctx.group_root)
        if g:
            txn[g]["n"] += r["n"]
            txn[g]["s"] += convert(int(r["s"] or 0), r["currency"])
    complaints = _fold(_by_path(m_complaints_received(ctx), "branch_path"), "branch_path", ctx, ["n"])
    surveys = _fold(_by_path(m_responses(ctx), "invitation__branch_path", n_csat=AGG["n_csat"],
                             csat_good=AGG["csat_good"]), "invitation__branch_path", ctx, ["n_csat", "csat_good"])
    training = _fold(_by_path(m_training_due(ctx), "branch_path", total=Count("id"),
                              completed=Count("id", filter=_training_q("completed", ctx.today)),
                              waived=Count("id", filter=_training_q("waived", ctx.today))),
                     "branch_path", ctx, ["total", "completed", "waived"])
    has_snapshot = ctx.snapshot_day is not None
    groups = {g: {} for src in (customers, new, snap, txn, complaints, surveys, training) for g in src}

    def raw(g: str) -> dict[str, int]:
        return {"customers": customers.get(g, {}).get("n", 0), "new_customers": new.get(g, {}).get("n", 0),
                "aum": snap.get(g, {}).get("aum", 0), "deposits": snap.get(g, {}).get("deposits", 0),
                "txn_count": txn.get(g, {}).get("n", 0), "txn_amount": txn.get(g, {}).get("s", 0),
                "complaints": complaints.get(g, {}).get("n", 0),
                "n_csat": surveys.get(g, {}).get("n_csat", 0), "csat_good": surveys.get(g, {}).get("csat_good", 0),
                "t_total": training.get(g, {}).get("total", 0), "t_done": training.get(g, {}).get("completed", 0),
                "t_waived": training.get(g, {}).get("waived", 0)}

    def make(r: dict[str, int]) -> dict[str, Any]:
        return {"customers": r["customers"], "new_customers": r["new_customers"],
                "aum": r["aum"] if has_snapshot else None, "deposits": r["deposits"] if has_snapshot else None,
                "txn_count": r["txn_count"], "txn_amount": r["txn_amount"], "complaints": r["complaints"],
                "csat": rules.pct(r["csat_good"], r["n_csat"]),
                "training": rules.pct(r["t_done"], r["t_total"] - r["t_waived"])}

    raws = {g: raw(g) for g in groups}
    rows = _branch_rows(ctx, raws, lambda r: make(r or raw("")))
    totals = {k: sum(r[k] for r in raws.values()) for k in raw("")} if raws else raw("")
    return {"branches": {"rows": rows, "total": _total(make(totals))}}


def customer_growth(ctx: Ctx) -> dict[str, Any]:
    from bankcrm.wealth.models import AumSnapshot
    from bankcrm.wealth.rules import TIER_LABELS

    new_rows = list(m_new_customers(ctx).order_by().annotate(m=_month("created_at"))
                    .values("branch__path", "m").annotate(n=Count("id")))
    lost_rows = list(m_lost_customers(ctx).order_by().values_list("branch__path", "last_closed")[:MAX_ROWS])
    new_m: dict[str, int] = defaultdict(int)
    lost_m: dict[str, int] = defaultdict(int)
    new_b = _fold(new_rows, "branch__path", ctx, ["n"])
    lost_b: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in new_rows:
        new_m[_month_key(r["m"])] += r["n"]
    for path, closed in lost_rows:
        lost_m[_month_key(closed)] += 1
        g = rules.group_path(path or "", ctx.group_root)
        if g:
            lost_b[g]["n"] += 1
    # month-end snapshots: the last snapshot day of each month (up to today)
    days: dict[str, date] = {}
    for key, first, last in ctx.period.months():
        d = _snapshot_day(first, min(last, ctx.as_of))
        if d is not None:
            days[key] = d
    snaps = {r["day"]: r for r in AumSnapshot.objects.filter(ctx.scope("branch_path"), day__in=list(days.values()))
             .order_by().values("day").annotate(n=Count("id"), t=Sum("total_fen"), d=Sum("deposits_fen"),
                                                w=Sum("wealth_fen"))}

    def month_values(key: str) -> dict[str, Any]:
        s = snaps.get(days.get(key)) if key in days else None
        n_new, n_lost = new_m.get(key, 0), lost_m.get(key, 0)
        empty = key not in days
        return {"new_customers": n_new, "lost_customers": n_lost, "net": n_new - n_lost,
                "customers": None if empty else (s or {}).get("n", 0), "aum": None if empty else (s or {}).get("t") or 0,
                "deposits": None if empty else (s or {}).get("d") or 0,
                "wealth": None if empty else (s or {}).get("w") or 0}

    months = [{"key": k, "label": k, "branch": None, "values": month_values(k)} for k, _f, _l in ctx.period.months()]
    # tiers at the period's snapshot day
    tiers_raw = {r["tier"]: r for r in m_aum(ctx).order_by().values("tier").annotate(n=Count("id"), t=Sum("total_fen"))}
    n_all = sum(r["n"] for r in tiers_raw.values())
    t_all = sum(r["t"] or 0 for r in tiers_raw.values())
    has_snapshot = ctx.snapshot_day is not None
    tiers = [{"key": t, "label": str(TIER_LABELS[t]), "branch": None, "values": {
        "customers": tiers_raw.get(t, {}).get("n", 0) if has_snapshot else None,
        "customer_share": rules.pct(tiers_raw.get(t, {}).get("n", 0), n_all),
        "aum": (tiers_raw.get(t, {}).get("t") or 0) if has_snapshot else None,
        "aum_share": rules.pct(tiers_raw.get(t, {}).get("t") or 0, t_all)}} for t in ("mass", "affluent", "private")]
    tier_total = _total({"customers": n_all if has_snapshot else None, "customer_share": 100.0 if n_all else None,
                         "aum": t_all if has_snapshot else None, "aum_share": 100.0 if t_all else None})
    snap = _snapshot_sums(ctx)

    def branch_values(g: str) -> dict[str, Any]:
        n_new, n_lost = new_b.get(g, {}).get("n", 0), lost_b.get(g, {}).get("n", 0)
        return {"new_customers": n_new, "lost_customers": n_lost, "net": n_new - n_lost,
                "aum": snap.get(g, {}).get("aum", 0) if has_snapshot else None}

    groups = {g: {} for src in (new_b, lost_b, snap) for g in src}
    branches = _branch_rows(ctx, groups, lambda _r: {})
    for row in branches:
        row["values"] = branch_values(row["key"])
    total_new, total_lost = sum(new_m.values()), sum(lost_m.values())
    branch_total = _total({"new_customers": total_new, "lost_customers": total_lost, "net": total_new - total_lost,
                           "aum": t_all if has_snapshot else None})
    return {"months": {"rows": months, "total": None}, "tiers": {"rows": tiers, "total": tier_total},
            "branches": {"rows": branches, "total": branch_total}}


def satisfaction(ctx: Ctx) -> dict[str, Any]:
    from bankcrm.surveys.selectors import AGG

    rows = list(m_responses(ctx).order_by().annotate(m=_month("created_at"))
                .values("invitation__branch_path", "m").annotate(**AGG))
    fields = list(AGG)
    per_month: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        for f in fields:
            per_month[_month_key(r["m"])][f] += r[f] or 0
    per_branch = _fold(rows, "invitation__branch_path", ctx, fields)

    def make(r: dict[str, int]) -> dict[str, Any]:
        return {"responses": r.get("n", 0), "csat": rules.pct(r.get("csat_good", 0), r.get("n_csat", 0)),
                "nps": rules.nps(r.get("promoters", 0), r.get("detractors", 0), r.get("n_nps", 0)),
                "negative": r.get("negative", 0), "followups": r.get("followups", 0)}

    total = {f: sum(r[f] or 0 for r in rows) for f in fields}
    return {"months": {"rows": _month_rows(ctx, per_month, make), "total": _total(make(total))},
            "branches": {"rows": _branch_rows(ctx, per_branch, make), "total": _total(make(total))}}


def complaints(ctx: Ctx) -> dict[str, Any]:
    from bankcrm.service.models import ProductLine, RootCause

    cause = Coalesce("root_cause__parent__code", "root_cause__code")
    received = list(m_complaints_received(ctx).order_by().annotate(m=_month("received_at"), cause=cause)
                    .values("branch_path", "product_line", "cause", "m").annotate(n=Count("id")))
    closed = list(m_complaints_closed(ctx).order_by().annotate(m=_month("closed_at"))
                  .values("branch_path", "product_line", "m").annotate(n=Count("id")))
    overdue = list(m_complaints_overdue(ctx).order_by().values("branch_path", "product_line").annotate(n=Count("id")))
    open_ = list(m_complaints_open(ctx).order_by().values("branch_path").annotate(n=Count("id")))
    tz = _tz()
    durations: dict[str, list[int]] = defaultdict(list)
    every: list[int] = []
    for path, got, done in m_complaints_closed(ctx).order_by().values_list("branch_path", "received_at",
                                                                            "closed_at")[:MAX_ROWS]:
        days = (done.astimezone(tz).date() - got.astimezone(tz).date()).days
        g = rules.group_path(path, ctx.group_root)
        if g:
            durations[g].append(days)
        every.append(days)
    rec_b = _fold(received, "branch_path", ctx, ["n"])
    clo_b = _fold(closed, "branch_path", ctx, ["n"])
    ovd_b = _fold(overdue, "branch_path", ctx, ["n"])
    opn_b = _fold(open_, "branch_path", ctx, ["n"])
    groups = {g: {} for src in (rec_b, clo_b, ovd_b, opn_b, durations) for g in src}
    branches = _branch_rows(ctx, groups, lambda _r: {})
    for row in branches:
        g = row["key"]
        row["values"] = {"received": rec_b.get(g, {}).get("n", 0), "closed": clo_b.get(g, {}).get("n", 0),
                         "overdue": ovd_b.get(g, {}).get("n", 0), "open": opn_b.get(g, {}).get("n", 0),
                         "median_days": rules.median(durations.get(g, []))}
    n = {"received": sum(r["n"] for r in received), "closed": sum(r["n"] for r in closed),
         "overdue": sum(r["n"] for r in overdue), "open": sum(r["n"] for r in open_)}
    branch_total = _total({**n, "median_days": rules.median(every)})

    def by(rows: list[dict[str, Any]], key: str) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in rows:
            out[r[key] or "none"] += r["n"]
        return out

    rec_c, clo_c, ovd_c = by(received, "product_line"), by(closed, "product_line"), by(overdue, "product_line")
    categories = [{"key": code, "label": str(label), "branch": None,
                   "values": {"received": rec_c.get(code, 0), "closed": clo_c.get(code, 0),
                              "overdue": ovd_c.get(code, 0)}} for code, label in ProductLine.choices]
    cat_total = _total({"received": n["received"], "closed": n["closed"], "overdue": n["overdue"]})
    rec_cause = by(received, "cause")
    tops = list(RootCause.objects.filter(parent__isnull=True).order_by("order", "code").values_list("code", "name"))
    causes = [{"key": code, "label": name, "branch": None, "values": {"received": rec_cause.get(code, 0)}}
              for code, name in tops if rec_cause.get(code, 0)]
    if rec_cause.get("none"):
        causes.append({"key": "none", "label": _("未定"), "branch": None, "values": {"received": rec_cause["none"]}})
    rec_m, clo_m = defaultdict(int), defaultdict(int)
    for r in received:
        rec_m[_month_key(r["m"])] += r["n"]
    for r in closed:
        clo_m[_month_key(r["m"])] += r["n"]
    months = [{"key": k, "label": k, "branch": None, "values": {"received": rec_m.get(k, 0), "closed": clo_m.get(k, 0)}}
              for k, _f, _l in ctx.period.months()]
    return {"branches": {"rows": branches, "total": branch_total},
            "categories": {"rows": categories, "total": cat_total},
            "causes": {"rows": causes, "total": _total({"received": n["received"]})},
            "months": {"rows": months, "total": None}}


def risk_profile(ctx: Ctx) -> dict[str, Any]:
    today = ctx.today
    aggs: dict[str, Any] = {"customers": Count("id")}
    for lv, _label in catalog.AML_LEVELS:
        aggs[f"aml_{lv}"] = Count("id", filter=_aml_q(lv))
    for key, _label in catalog.SUIT_LEVELS:
        aggs[f"suit_{key}"] = Count("id", filter=_suit_q(key, today))
    customers = _fold(_by_path(m_customers_now(ctx), "branch__path", **aggs), "branch__path", ctx, list(aggs))
    alerts_open = _fold(_by_path(METRICS["alerts_open"].records(ctx), "branch_path"), "branch_path", ctx, ["n"])
    alerts_new = _fold(_by_path(METRICS["alerts_new"].records(ctx), "branch_path"), "branch_path", ctx, ["n"])
    cases_open = _fold(_by_path(METRICS["cases_open"].records(ctx), "branch_path"), "branch_path", ctx, ["n"])
    cases_new = _fold(_by_path(METRICS["cases_new"].records(ctx), "branch_path"), "branch_path", ctx, ["n"])
    groups = {g: {} for src in (customers, alerts_open, alerts_new, cases_open, cases_new) for g in src}

    def make(g: str | None) -> dict[str, Any]:
        if g is None:
            c = {k: sum(v.get(k, 0) for v in customers.values()) for k in aggs}
            pick = (lambda src: sum(v.get("n", 0) for v in src.values()))  # noqa: E731
        else:
            c = customers.get(g, {})
            pick = (lambda src: src.get(g, {}).get("n", 0))  # noqa: E731
        return {"customers": c.get("customers", 0), **{f"aml_{lv}": c.get(f"aml_{lv}", 0) for lv, _l in
                                                        catalog.AML_LEVELS},
                "suit_expired": c.get("suit_expired", 0), "alerts_open": pick(alerts_open),
                "alerts_new": pick(alerts_new), "cases_open": pick(cases_open), "cases_new": pick(cases_new),
                **{f"suit_{k}": c.get(f"suit_{k}", 0) for k, _l in catalog.SUIT_LEVELS}}

    branches = _branch_rows(ctx, groups, lambda _r: {})
    for row in branches:
        row["values"] = make(row["key"])
    total = make(None)
    n = total["customers"]
    aml = [{"key": lv, "label": str(label), "branch": None,
            "values": {"customers": total[f"aml_{lv}"], "share": rules.pct(total[f"aml_{lv}"], n)}}
           for lv, label in catalog.AML_LEVELS]
    suit = [{"key": k, "label": str(label), "branch": None,
             "values": {"customers": total[f"suit_{k}"], "share": rules.pct(total[f"suit_{k}"], n)}}
            for k, label in catalog.SUIT_LEVELS]
    share_total = _total({"customers": n, "share": 100.0 if n else None})
    return {"branches": {"rows": branches, "total": _total(total)}, "aml": {"rows": aml, "total": share_total},
            "suitability": {"rows": suit, "total": share_total}}


def training(ctx: Ctx) -> dict[str, Any]:
    from bankcrm.people.models import Course

    kinds = ("completed", "on_time", "overdue", "open", "waived")
    aggs = {"total": Count("id"), **{k: Count("id", filter=_training_q(k, ctx.today)) for k in kinds}}
    rows = list(m_training_due(ctx).order_by().values("branch_path", "course_id").annotate(**aggs))
    fields = list(aggs)

    def make(r: dict[str, int]) -> dict[str, Any]:
        return {**{f: r.get(f, 0) for f in fields},
                "rate": rules.pct(r.get("completed", 0), r.get("total", 0) - r.get("waived", 0))}

    per_branch = _fold(rows, "branch_path", ctx, fields)
    per_course: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        for f in fields:
            per_course[r["course_id"]][f] += r[f] or 0
    titles = {c.pk: c for c in Course.objects.filter(pk__in=list(per_course)).only("title", "title_en", "code")}
    from django.utils.translation import get_language

    english = (get_language() or "").startswith("en")
    courses = [{"key": str(cid), "label": (titles[cid].title_en if english and titles[cid].title_en
                                           else titles[cid].title) if cid in titles else str(cid),
                "branch": None, "values": make(per_course[cid])}
               for cid in sorted(per_course, key=lambda c: getattr(titles.get(c), "code", ""))]
    total = {f: sum(r[f] or 0 for r in rows) for f in fields}
    return {"branches": {"rows": _branch_rows(ctx, per_branch, make), "total": _total(make(total))},
            "courses": {"rows": courses, "total": _total(make(total))}}


BUILDERS: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    "branch_performance": branch_performance, "customer_growth": customer_growth, "satisfaction": satisfaction,
    "complaints": complaints, "risk_profile": risk_profile, "training": training,
}


def report_get(code: str) -> catalog.Report:
    report = catalog.get(code)
    if report is None or code not in BUILDERS:
        raise NotFound("report_not_found", _("没有这个报表"))
    return report


def report_data(actor: Any, code: str, *, period: rules.Period, branch_path: str | None = None,
                today: date | None = None) -> dict[str, Any]:
    """Everything a report shows: ``{"report", "ctx", "tables": {key: {"rows", "total"}}}`` within the actor's scope.
    Raises PermissionDenied without reports.view and NotFound for an unknown report or a branch out of scope."""
    report = report_get(code)
    ctx = context(actor, period, branch_path, today=today)
    return {"report": report, "ctx": ctx, "tables": BUILDERS[code](ctx)}
