"""The KPI metrics registry: what each appraisal metric measures, computed from the data (never typed in).

A ``Metric`` knows its code, label, unit, direction (``higher`` or ``lower`` is better), whether it measures customer
satisfaction, its exact definition (shown on every scorecard), how to count it in bulk and how to list its evidence.
``compute(staff_ids, period)`` answers ``{staff_id: (value | None, numerator, denominator)}`` with ONE aggregate query
per metric over all staff (GROUP BY the staff key) — never a loop per member of staff (P7: 5,000 staff). Values are
integers in ten-thousandths of the unit (``appraisal_rules``); a ratio metric with a zero denominator has value None
(nothing to measure; the scorecard leaves it out).

Two levels: ``staff`` (the member of staff's own customers / cases) and ``branch`` (branch supervisors: everything of
their branch subtree — the query groups by the rows' materialised branch path and the supervisors' subtrees are
summed from those groups, so it stays one query).

Extension point: another app registers a metric with ``register(Metric(...))`` or adds a source of findings with
``register_finding_source(FindingSource(...))`` at start-up (supervision, issue #10, adds inspection findings); the
``findings`` metric sums every registered source.

These are reporting reads of other apps' tables (read-only aggregates); no row of theirs is changed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core.masking import mask_name

from . import appraisal_rules as rules

STAFF, BRANCH = "staff", "branch"
HIGHER, LOWER = "higher", "lower"
# unit → scale applied to numerator ÷ denominator (counts are numerator × SCALE, no denominator)
UNIT_SCALE = {"points": rules.SCALE, "nps": rules.SCALE, "rate": rules.SCALE, "growth": rules.SCALE,
              "per100": 100 * rules.SCALE, "count": rules.SCALE}
UNIT_LABELS = {"points": _("分（1–5分）"), "nps": _("净推荐值（−100～100）"), "rate": _("比率"), "growth": _("增长率"),
               "per100": _("件/百户"), "count": _("件/户")}

Counts = dict[Any, tuple[int, int]]
MANY_ROOTS = 20  # above this many subtrees the branch-level aggregate runs over every branch
BIG_IN = 500  # above this many staff ids the aggregate runs over all rows and the ids are picked in Python


@dataclass(frozen=True)
class Window:
    """A period as dates and as an aware half-open datetime interval [start, end) in the bank's time zone."""

    starts_on: date
    ends_on: date
    start: datetime
    end: datetime


def window(period: Any) -> Window:
    tz = timezone.get_default_timezone()
    return Window(period.starts_on, period.ends_on, datetime.combine(period.starts_on, time.min, tz),
                  datetime.combine(period.ends_on + timedelta(days=1), time.min, tz))


@dataclass(frozen=True)
class Source:
    """One aggregate: the period's rows, the field naming the member of staff and the field holding the row's branch
    path, and the numerator / denominator aggregates. Every callable receives ``ctx``: ``{"w": Window, "level": …}``
    plus whatever ``prepare(w)`` adds (e.g. the first and last AUM snapshot days)."""

    rows: Callable[[dict], QuerySet]
    staff_key: str
    branch_key: str
    num: Callable[[dict], Any]
    den: Callable[[dict], Any] | None = None
    evidence: Callable[[QuerySet, dict], list[dict]] | None = None
    prepare: Callable[[Window], dict] | None = None

    def key(self, level: str) -> str:
        return self.staff_key if level == STAFF else self.branch_key

    def context(self, w: Window, level: str) -> dict:
        return {"w": w, "level": level, **(self.prepare(w) if self.prepare else {})}

    def counts(self, w: Window, level: str, keys: Iterable[Any]) -> Counts:
        key = self.key(level)
        keys = list(keys)
        if not keys:
            return {}
        ctx = self.context(w, level)
        if ctx.get("empty"):
            return {}
        qs = self.rows(ctx)
        wanted = None
        if level == STAFF and len(keys) > BIG_IN:
            wanted = set(keys)  # a bank-wide run: aggregate everything, keep the staff asked (no huge IN list)
        elif level == STAFF:
            qs = qs.filter(**{f"{key}__in": keys})
        else:
            roots = _minimal_roots(keys)
            if len(roots) <= MANY_ROOTS:  # else: aggregate every branch; roll_up keeps the subtrees asked
                q = Q()
                for root in roots:
                    q |= Q(**{f"{key}__startswith": root})
                qs = qs.filter(q)
        agg = {"num": self.num(ctx)}
        if self.den is not None:
            agg["den"] = self.den(ctx)
        out: Counts = {}
        for row in qs.order_by().values(key).annotate(**agg):
            if wanted is None or row[key] in wanted:
                out[row[key]] = (int(row["num"] or 0), int(row.get("den") or 0))
        return out

    def evidence_rows(self, w: Window, level: str, staff: Any) -> list[dict]:
        if self.evidence is None:
            return []
        ctx = self.context(w, level)
        if ctx.get("empty"):
            return []
        key = self.key(level)
        qs = self.rows(ctx)
        qs = qs.filter(**{key: staff.pk}) if level == STAFF else qs.filter(**{f"{key}__startswith": staff.branch.path})
        return self.evidence(qs, ctx)


def _minimal_roots(paths: Iterable[str]) -> list[str]:
    roots: list[str] = []
    for p in sorted(set(paths)):
        if not roots or not p.startswith(roots[-1]):
            roots.append(p)
    return roots


def _ancestors(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def roll_up(by_path: Counts, roots: dict[Any, str]) -> Counts:
    """Sum per-branch-path counts into each supervisor's subtree (``roots``: staff id → branch path)."""
    by_root: dict[str, list[int]] = {}
    wanted = set(roots.values())
    for path, (num, den) in by_path.items():
        for anc in _ancestors(path or ""):
            if anc in wanted:
                acc = by_root.setdefault(anc, [0, 0])
                acc[0] += num
                acc[1] += den
    return {sid: tuple(by_root[p]) for sid, p in roots.items() if p in by_root}  # type: ignore[misc]


@dataclass(frozen=True)
class Metric:
    code: str
    label: Any
    unit: str
    direction: str
    satisfaction: bool
    definition: Any
    sources: tuple[Source, ...]
    levels: frozenset[str] = frozenset({STAFF, BRANCH})
    numerator_label: Any = ""
    denominator_label: Any = ""
    dynamic_sources: Callable[[], Iterable[Source]] | None = field(default=None, compare=False)

    def all_sources(self) -> tuple[Source, ...]:
        return self.sources + tuple(self.dynamic_sources() if self.dynamic_sources else ())

    def value(self, num: int, den: int) -> int | None:
        if self.unit == "count":
            return rules.count_value(num)
        return rules.ratio(num, den, UNIT_SCALE[self.unit])

    def counts(self, staff_ids: Iterable[int], period: Any, *, level: str = STAFF,
               paths: dict[int, str] | None = None) -> Counts:
        w = window(period)
        staff_ids = list(staff_ids)
        total: dict[Any, list[int]] = {}
        for src in self.all_sources():
            if level == STAFF:
                got = src.counts(w, STAFF, staff_ids)
            else:
                roots = {sid: (paths or {})[sid] for sid in staff_ids}
                got = roll_up(src.counts(w, BRANCH, set(roots.values())), roots)
            for k, (n, d) in got.items():
                acc = total.setdefault(k, [0, 0])
                acc[0] += n
                acc[1] += d
        return {k: (v[0], v[1]) for k, v in total.items()}

    def compute(self, staff_ids: Iterable[int], period: Any, *, level: str = STAFF,
                paths: dict[int, str] | None = None) -> dict[int, tuple[int | None, int, int]]:
        """{staff_id: (value | None, numerator, denominator)} for every id asked (zeros where no row matched)."""
        staff_ids = list(staff_ids)
        got = self.counts(staff_ids, period, level=level, paths=paths)
        out = {}
        for sid in staff_ids:
            n, d = got.get(sid, (0, 0))
            out[sid] = (self.value(n, d), n, d)
        return out

    def evidence(self, staff: Any, period: Any, *, level: str = STAFF, limit: int = 500) -> list[dict]:
        """The rows behind the figure, newest first: ``{"date", "ref", "subject", "detail", "counts"}`` where
        ``counts`` is ``num`` (in the numerator), ``den`` (denominator only) or ``both``."""
        w = window(period)
        rows: list[dict] = []
        for src in self.all_sources():
            rows += src.evidence_rows(w, level, staff)[:limit]
        rows.sort(key=lambda r: (str(r.get("date") or ""), str(r.get("ref"))), reverse=True)
        return rows[:limit]


REGISTRY: dict[str, Metric] = {}


def register(metric: Metric) -> None:
    REGISTRY[metric.code] = metric


def get(code: str) -> Metric:
    return REGISTRY[code]


def directions() -> dict[str, str]:
    return {m.code: m.direction for m in REGISTRY.values()}


def satisfaction_codes() -> set[str]:
    return {m.code for m in REGISTRY.values() if m.satisfaction}


def codes_at(level: str) -> set[str]:
    return {m.code for m in REGISTRY.values() if level in m.levels}


# ---- helpers for evidence rows -------------------------------------------------------------------------------------
def _local_date(dt: datetime | None) -> date | None:
    return timezone.localtime(dt).date() if dt else None


def _customer(no: str, name: str) -> str:
    """Customer number and masked name (surname + *): the drill-down is seen by the member of staff and their
    supervisors, and a scorecard is no place for full personal data (core.masking)."""
    return f"{no} {mask_name(name)}".strip()


def _on_time(done_field: str, due_field: str) -> Q:
    return Q(**{f"{done_field}__date__lte": F(due_field)})


# ---- the built-in metrics ------------------------------------------------------------------------------------------
def _responses(kind: str) -> Callable[[dict], QuerySet]:
    def rows(ctx: dict) -> QuerySet:
        from bankcrm.surveys.models import Response

        w = ctx["w"]
        qs = Response.objects.filter(**{f"{kind}__isnull": False}, created_at__gte=w.start, created_at__lt=w.end)
        return qs.filter(invitation__manager__isnull=False) if ctx["level"] == STAFF else qs
    return rows


def _response_evidence(kind: str) -> Callable[[QuerySet, dict], list[dict]]:
    def ev(qs: QuerySet, ctx: dict) -> list[dict]:
        out = []
        for r in qs.values("pk", "created_at", kind, "customer__customer_no", "customer__name"):
            score = r[kind]
            if kind == "nps":
                promoter, detractor = score >= rules.PROMOTER_MIN, score <= rules.DETRACTOR_MAX
                counts = "both" if promoter or detractor else "den"
                tag = _("推荐者（+1）") if promoter else _("贬损者（−1）") if detractor else _("中立者")
                detail = f"{score} · {tag}"
            else:
                counts, detail = "both", f"{score}"
            out.append({"date": _local_date(r["created_at"]), "ref": f"R{r['pk']}", "counts": counts,
                        "subject": _customer(r["customer__customer_no"], r["customer__name"]), "detail": detail})
        return out
    return ev


register(Metric(
    "csat", _("客户满意度（CSAT）"), "points", HIGHER, True,
    _("考核期内收到的、由本人管户客户作答的满意度调查（1–5分）的平均分：满意度分之和 ÷ 答卷数。"
      "以调查邀请记录的客户经理归属；网点负责人按其辖内机构的全部答卷计算。"),
    (Source(_responses("csat"), "invitation__manager_id", "invitation__branch_path",
            lambda ctx: Sum("csat"), lambda ctx: Count("id"), _response_evidence("csat")),),
    numerator_label=_("满意度分之和"), denominator_label=_("答卷数"),
))

register(Metric(
    "nps", _("净推荐值（NPS）"), "nps", HIGHER, True,
    _("考核期内本人管户客户答卷的推荐意愿（0–10分）：推荐者（9–10分）占比 − 贬损者（0–6分）占比；"
      "分子为推荐者数 − 贬损者数，分母为答卷数。"),
    (Source(_responses("nps"), "invitation__manager_id", "invitation__branch_path",
            lambda ctx: (Count("id", filter=Q(nps__gte=rules.PROMOTER_MIN))
                         - Count("id", filter=Q(nps__lte=rules.DETRACTOR_MAX))),
            lambda ctx: Count("id"), _response_evidence("nps")),),
    numerator_label=_("推荐者数 − 贬损者数"), denominator_label=_("答卷数"),
))


def _managed_overlapping(ctx: dict) -> QuerySet:
    from bankcrm.customers.models import ManagerAssignment

    w = ctx["w"]
    return ManagerAssignment.objects.filter(role=ManagerAssignment.Role.PRIMARY, started_at__lt=w.end).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=w.start))


def _complaint_during(ctx: dict) -> Q:
    """A complaint (not a feedback case) of the assignment's customer, received in the period while the assignment
    ran."""
    w, c = ctx["w"], "customer__complaints__"
    return (Q(**{f"{c}kind": "complaint", f"{c}received_at__gte": w.start, f"{c}received_at__lt": w.end})
            & Q(**{f"{c}received_at__gte": F("started_at")})
            & (Q(ended_at__isnull=True) | Q(**{f"{c}received_at__lt": F("ended_at")})))


def _complaint_rate_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    from bankcrm.service.models import Complaint

    w = ctx["w"]
    out, customers = [], {}
    for a in qs.values("customer_id", "customer__customer_no", "customer__name", "started_at", "ended_at"):
        customers.setdefault(a["customer_id"], a)
        lo, hi = max(w.start, a["started_at"]), min(w.end, a["ended_at"] or w.end)
        for c in Complaint.objects.filter(customer_id=a["customer_id"], kind="complaint", received_at__gte=lo,
                                          received_at__lt=hi).values("number", "received_at", "summary"):
            out.append({"date": _local_date(c["received_at"]), "ref": c["number"], "counts": "num",
                        "subject": _customer(a["customer__customer_no"], a["customer__name"]), "detail": c["summary"]})
    for a in customers.values():
        out.append({"date": None, "ref": a["customer__customer_no"], "counts": "den",
                    "subject": _customer(a["customer__customer_no"], a["customer__name"]), "detail": _("主管客户")})
    return out


register(Metric(
    "complaint_rate", _("投诉率"), "per100", LOWER, False,
    _("每百户投诉数：考核期内收到的、本人担任主管客户经理期间其客户的投诉件数（不含调查反馈工单）× 100 ÷ "
      "考核期内曾由本人主管的客户数。越低越好。"),
    (Source(_managed_overlapping, "staff_id", "customer__branch__path",
            lambda ctx: Count("customer__complaints__id", filter=_complaint_during(ctx), distinct=True),
            lambda ctx: Count("customer_id", distinct=True), _complaint_rate_evidence),),
    numerator_label=_("投诉件数"), denominator_label=_("主管客户数"),
))


def _decided(ctx: dict) -> QuerySet:
    from bankcrm.service.models import Complaint

    w = ctx["w"]
    qs = Complaint.objects.filter(decided_at__gte=w.start, decided_at__lt=w.end)
    return qs.filter(handler__isnull=False) if ctx["level"] == STAFF else qs


def _decided_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    out = []
    for c in qs.values("number", "decided_at", "decision_due_on", "summary", "customer__customer_no", "customer__name"):
        ok = _local_date(c["decided_at"]) <= c["decision_due_on"]
        out.append({"date": _local_date(c["decided_at"]), "ref": c["number"], "counts": "both" if ok else "den",
                    "subject": _customer(c["customer__customer_no"], c["customer__name"]),
                    "detail": (_("按期决定（时限 %(d)s）") if ok else _("超期决定（时限 %(d)s）")) % {"d": c["decision_due_on"]}})
    return out


register(Metric(
    "complaint_deadline", _("投诉按期处理率"), "rate", HIGHER, False,
    _("考核期内由本人经办并作出处理决定的投诉与反馈工单中，决定日期不晚于处理决定时限（含延期）的比例。"),
    (Source(_decided, "handler_id", "branch_path",
            lambda ctx: Count("id", filter=_on_time("decided_at", "decision_due_on")), lambda ctx: Count("id"),
            _decided_evidence),),
    numerator_label=_("按期决定件数"), denominator_label=_("决定件数"),
))


def _managed_at_start(ctx: dict) -> QuerySet:
    from bankcrm.customers.models import ManagerAssignment

    w = ctx["w"]
    return ManagerAssignment.objects.filter(role=ManagerAssignment.Role.PRIMARY, started_at__lte=w.start).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=w.start))


def _retention_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    seen, out = set(), []
    for a in qs.values("customer_id", "customer__customer_no", "customer__name", "customer__status"):
        if a["customer_id"] in seen:
            continue
        seen.add(a["customer_id"])
        kept = a["customer__status"] == "active"
        out.append({"date": None, "ref": a["customer__customer_no"], "counts": "both" if kept else "den",
                    "subject": _customer(a["customer__customer_no"], a["customer__name"]),
                    "detail": _("仍为正常客户") if kept else _("已流失（销户或限制处理）")})
    return out


register(Metric(
    "retention", _("客户保有率"), "rate", HIGHER, False,
    _("考核期开始时由本人主管的客户中，计算时仍为正常状态（未销户、未限制处理）的比例；客户在期内移交他人不算流失。"),
    (Source(_managed_at_start, "staff_id", "customer__branch__path",
            lambda ctx: Count("customer_id", filter=Q(customer__status="active"), distinct=True),
            lambda ctx: Count("customer_id", distinct=True), _retention_evidence),),
    numerator_label=_("仍为正常的客户数"), denominator_label=_("期初主管客户数"),
))


def aum_days(w: Window) -> dict:
    """The first and the last snapshot day inside the period (the whole bank's: one pair for everyone)."""
    from django.db.models import Max, Min

    from bankcrm.wealth.models import AumSnapshot

    d = AumSnapshot.objects.filter(day__gte=w.starts_on, day__lte=w.ends_on).aggregate(a=Min("day"), b=Max("day"))
    return {"first": d["a"], "last": d["b"], "empty": d["a"] is None}


def _aum_rows(ctx: dict) -> QuerySet:
    from bankcrm.wealth.models import AumSnapshot

    qs = AumSnapshot.objects.filter(day__in=sorted({ctx["first"], ctx["last"]}))
    return qs.filter(manager_id__isnull=False) if ctx["level"] == STAFF else qs


def _aum_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    from bankcrm.core.money import format_amount

    first, last = ctx["first"], ctx["last"]
    per: dict[str, dict] = {}
    for r in qs.values("day", "total_fen", "customer__customer_no", "customer__name"):
        row = per.setdefault(r["customer__customer_no"], {"first": 0, "last": 0, "name": r["customer__name"]})
        if r["day"] == first:
            row["first"] += r["total_fen"]
        if r["day"] == last:
            row["last"] += r["total_fen"]
    return [{"date": last, "ref": no, "counts": "both", "subject": _customer(no, v["name"]),
             "detail": f"{first}: {format_amount(v['first'])} → {last}: {format_amount(v['last'])}"}
            for no, v in sorted(per.items())]


register(Metric(
    "aum_growth", _("管户资产增长率"), "growth", HIGHER, False,
    _("按客户资产日快照：考核期内最后一个快照日本人管户客户的资产合计，相对第一个快照日合计的增长率"
      "（期末合计 − 期初合计）÷ 期初合计；快照记录当日的主管客户经理。期初合计为零时不计。"),
    (Source(_aum_rows, "manager_id", "branch_path",
            lambda ctx: (Sum("total_fen", filter=Q(day=ctx["last"]), default=0)
                         - Sum("total_fen", filter=Q(day=ctx["first"]), default=0)),
            lambda ctx: Sum("total_fen", filter=Q(day=ctx["first"]), default=0), _aum_evidence, aum_days),),
    numerator_label=_("期末 − 期初资产（分）"), denominator_label=_("期初资产（分）"),
))


def _first_primary(ctx: dict) -> QuerySet:
    from bankcrm.customers.models import ManagerAssignment

    w = ctx["w"]
    earlier = ManagerAssignment.objects.filter(customer_id=OuterRef("customer_id"), role=ManagerAssignment.Role.PRIMARY).filter(
        Q(started_at__lt=OuterRef("started_at")) | Q(started_at=OuterRef("started_at"), pk__lt=OuterRef("pk")))
    return ManagerAssignment.objects.filter(role=ManagerAssignment.Role.PRIMARY, customer__created_at__gte=w.start,
                                            customer__created_at__lt=w.end).filter(~Exists(earlier))


def _new_customer_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    return [{"date": _local_date(a["customer__created_at"]), "ref": a["customer__customer_no"], "counts": "num",
             "subject": _customer(a["customer__customer_no"], a["customer__name"]), "detail": _("新开客户（首任主管）")}
            for a in qs.values("customer__created_at", "customer__customer_no", "customer__name")]


register(Metric(
    "new_customers", _("新增客户数"), "count", HIGHER, False,
    _("考核期内新建立的客户中，本人为其第一任主管客户经理的客户数。"),
    (Source(_first_primary, "staff_id", "customer__branch__path", lambda ctx: Count("customer_id", distinct=True), None,
            _new_customer_evidence),),
    numerator_label=_("新增客户数"),
))


def _closed_needs(ctx: dict) -> QuerySet:
    from bankcrm.engagement.models import Opportunity

    w = ctx["w"]
    return Opportunity.objects.filter(stage__in=[Opportunity.Stage.WON, Opportunity.Stage.LOST],
                                      closed_at__gte=w.start, closed_at__lt=w.end)


def _needs_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    return [{"date": _local_date(o["closed_at"]), "ref": f"O{o['pk']}", "counts": "both" if o["stage"] == "won" else "den",
             "subject": _customer(o["customer__customer_no"], o["customer__name"]),
             "detail": f"{o['title']} · " + (str(_("已成交（方案被接受并购买）")) if o["stage"] == "won"
                                              else str(_("未成交：%(r)s") % {"r": o["lost_reason"] or "—"}))}
            for o in qs.values("pk", "closed_at", "stage", "title", "lost_reason", "customer__customer_no",
                               "customer__name")]


register(Metric(
    "needs_met", _("需求满足率"), "rate", HIGHER, False,
    _("已记录的客户需求即商机（来自需求分析、转介或被采纳的推荐）。考核期内由本人负责且有结果（成交或未成交）的商机中，"
      "以成交结束（客户接受方案并完成购买，关联销售记录）的比例。"),
    (Source(_closed_needs, "owner_id", "branch_path", lambda ctx: Count("id", filter=Q(stage="won")),
            lambda ctx: Count("id"), _needs_evidence),),
    numerator_label=_("成交的需求数"), denominator_label=_("有结果的需求数"),
))


def _visits_done(ctx: dict) -> QuerySet:
    from bankcrm.wealth.models import ReturnVisit

    w = ctx["w"]
    return ReturnVisit.objects.filter(status=ReturnVisit.Status.DONE, done_at__gte=w.start, done_at__lt=w.end)


def _visit_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    return [{"date": _local_date(v["done_at"]), "ref": v["sale__number"],
             "counts": "both" if v["outcome"] == "ok" else "den",
             "subject": _customer(v["sale__customer__customer_no"], v["sale__customer__name"]),
             "detail": str(_("回访无异议")) if v["outcome"] == "ok" else str(_("回访发现问题"))}
            for v in qs.values("done_at", "outcome", "sale__number", "sale__customer__customer_no",
                               "sale__customer__name")]


register(Metric(
    "return_visits", _("销售回访满意率"), "rate", HIGHER, False,
    _("考核期内完成的、针对本人销售的理财产品的回访中，结论为“无异议”的比例（无法联系的不计入）。"),
    (Source(_visits_done, "sale__seller_id", "branch_path", lambda ctx: Count("id", filter=Q(outcome="ok")),
            lambda ctx: Count("id"), _visit_evidence),),
    numerator_label=_("无异议回访数"), denominator_label=_("完成回访数"),
))


def _visits_due(ctx: dict) -> QuerySet:
    from bankcrm.wealth.models import ReturnVisit

    w = ctx["w"]
    return ReturnVisit.objects.filter(due_on__gte=w.starts_on, due_on__lte=w.ends_on)


def _visit_due_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    out = []
    for v in qs.values("due_on", "done_at", "status", "sale__number", "sale__customer__customer_no",
                       "sale__customer__name"):
        ok = v["status"] == "done" and v["done_at"] is not None and _local_date(v["done_at"]) <= v["due_on"]
        out.append({"date": v["due_on"], "ref": v["sale__number"], "counts": "both" if ok else "den",
                    "subject": _customer(v["sale__customer__customer_no"], v["sale__customer__name"]),
                    "detail": str(_("按期完成")) if ok else str(_("未按期完成"))})
    return out


register(Metric(
    "visits_on_time", _("回访按期完成率"), "rate", HIGHER, False,
    _("回访期限在考核期内、分派给本人的理财回访中，在期限当日或之前完成的比例。"),
    (Source(_visits_due, "assignee_id", "branch_path",
            lambda ctx: Count("id", filter=Q(status="done") & _on_time("done_at", "due_on")), lambda ctx: Count("id"),
            _visit_due_evidence),),
    numerator_label=_("按期完成数"), denominator_label=_("到期回访数"),
))


def _dd_done(ctx: dict) -> QuerySet:
    from bankcrm.risk.models import DueDiligence

    w = ctx["w"]
    qs = DueDiligence.objects.filter(status=DueDiligence.Status.DONE, completed_at__gte=w.start, completed_at__lt=w.end)
    return qs.filter(completed_by__isnull=False) if ctx["level"] == STAFF else qs


def _dd_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    out = []
    for d in qs.values("pk", "completed_at", "due_on", "customer__customer_no", "customer__name"):
        ok = _local_date(d["completed_at"]) <= d["due_on"]
        out.append({"date": _local_date(d["completed_at"]), "ref": f"DD{d['pk']}", "counts": "both" if ok else "den",
                    "subject": _customer(d["customer__customer_no"], d["customer__name"]),
                    "detail": (_("按期完成（期限 %(d)s）") if ok else _("超期完成（期限 %(d)s）")) % {"d": d["due_on"]}})
    return out


register(Metric(
    "dd_on_time", _("尽职调查按期完成率"), "rate", HIGHER, False,
    _("考核期内由本人完成的客户尽职调查中，完成日期不晚于完成期限的比例。"),
    (Source(_dd_done, "completed_by_id", "branch_path",
            lambda ctx: Count("id", filter=_on_time("completed_at", "due_on")), lambda ctx: Count("id"), _dd_evidence),),
    numerator_label=_("按期完成数"), denominator_label=_("完成数"),
))


# ---- findings (negative), open to other apps -----------------------------------------------------------------------
@dataclass(frozen=True)
class FindingSource:
    """One kind of finding against a member of staff, counted in the ``findings`` metric (numerator only)."""

    code: str
    label: Any
    source: Source


FINDING_SOURCES: dict[str, FindingSource] = {}


def register_finding_source(fs: FindingSource) -> None:
    FINDING_SOURCES[fs.code] = fs


def _problem_visits(ctx: dict) -> QuerySet:
    from bankcrm.wealth.models import ReturnVisit

    w = ctx["w"]
    return ReturnVisit.objects.filter(status=ReturnVisit.Status.DONE, outcome=ReturnVisit.Outcome.PROBLEM,
                                      done_at__gte=w.start, done_at__lt=w.end)


def _problem_visit_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    return [{"date": _local_date(v["done_at"]), "ref": v["sale__number"], "counts": "num",
             "subject": _customer(v["sale__customer__customer_no"], v["sale__customer__name"]),
             "detail": str(_("销售回访发现问题"))}
            for v in qs.values("done_at", "sale__number", "sale__customer__customer_no", "sale__customer__name")]


def _upheld(ctx: dict) -> QuerySet:
    from bankcrm.service.models import Complaint

    w = ctx["w"]
    qs = Complaint.objects.filter(decision=Complaint.Decision.UPHELD, decided_at__gte=w.start, decided_at__lt=w.end)
    return qs.filter(staff_named__isnull=False) if ctx["level"] == STAFF else qs


def _upheld_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    return [{"date": _local_date(c["decided_at"]), "ref": c["number"], "counts": "num",
             "subject": _customer(c["customer__customer_no"], c["customer__name"]),
             "detail": str(_("投诉成立：%(s)s") % {"s": c["summary"]})}
            for c in qs.values("number", "decided_at", "summary", "customer__customer_no", "customer__name")]


register_finding_source(FindingSource("return_visit_problem", _("回访发现问题"), Source(
    _problem_visits, "sale__seller_id", "branch_path", lambda ctx: Count("id"), None, _problem_visit_evidence)))
register_finding_source(FindingSource("complaint_upheld", _("被投诉且投诉成立"), Source(
    _upheld, "staff_named_id", "branch_path", lambda ctx: Count("id"), None, _upheld_evidence)))

register(Metric(
    "findings", _("风险与检查发现"), "count", LOWER, False,
    _("考核期内的负面发现件数（越少越好）：本人销售的理财产品回访发现问题的件数，加上指名本人且处理决定为“投诉成立”的投诉件数，"
      "再加上其他模块登记的发现（如内部检查发现）。网点负责人按辖内全部发现计算。"),
    (),
    dynamic_sources=lambda: tuple(fs.source for fs in FINDING_SOURCES.values()),
    numerator_label=_("发现件数"),
))


def _assignments_due(ctx: dict) -> QuerySet:
    from .models import Assignment

    w = ctx["w"]
    return Assignment.objects.filter(due_on__gte=w.starts_on, due_on__lte=w.ends_on).exclude(
        status__in=[Assignment.Status.WAIVED, Assignment.Status.CANCELLED])


def _training_evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    out = []
    for a in qs.values("pk", "due_on", "completed_at", "status", "course__title", "staff__staff_no", "staff__name"):
        ok = a["status"] == "completed" and a["completed_at"] is not None and _local_date(a["completed_at"]) <= a["due_on"]
        out.append({"date": a["due_on"], "ref": f"T{a['pk']}", "counts": "both" if ok else "den",
                    "subject": f"{a['staff__staff_no']} {a['staff__name']}",
                    "detail": f"{a['course__title']} · " + (str(_("按期完成")) if ok else str(_("未按期完成")))})
    return out


register(Metric(
    "training", _("培训按期完成率"), "rate", HIGHER, False,
    _("完成期限在考核期内的本人培训任务（已免除、已取消的除外）中，在期限当日或之前完成的比例。"),
    (Source(_assignments_due, "staff_id", "branch_path",
            lambda ctx: Count("id", filter=Q(status="completed") & _on_time("completed_at", "due_on")),
            lambda ctx: Count("id"), _training_evidence),),
    numerator_label=_("按期完成数"), denominator_label=_("到期任务数"),
))


def format_value(metric: Metric, value: int | None) -> str:
    """A value for display in its unit (ten-thousandths → the unit)."""
    if value is None:
        return "—"
    if metric.unit == "points":
        return f"{value / rules.SCALE:.2f}"
    if metric.unit == "nps":
        return f"{value / 100:.1f}"
    if metric.unit in ("rate", "growth"):
        return f"{value / 100:.2f}%"
    if metric.unit == "per100":
        return f"{value / rules.SCALE:.2f}"
    return f"{value / rules.SCALE:g}"


def format_bound(metric: Metric, v: int) -> str:
    return format_value(metric, v)
