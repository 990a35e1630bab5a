"""Role workbenches (角色工作台, issue #11): at the top of the home page, one section per role the user holds — customer
manager, operations manager, risk manager, compliance manager, branch supervisor, administrator — with the role's
queues and figures as tiles and one or two Apache ECharts charts.

Every number is a way into the records behind it: a tile's value links to the list page of the feature that owns the
records, with the filter that shows them (``?status=open``, ``?scope=overdue``…); where no such page exists (today's
large transactions, failed background jobs, the outbox backlog, contracts ending) the tile opens the records in place
(a short list under the tiles, each row linking to its record where a record page exists). A chart's bars link to the
filtered list of their category where the list has that filter.

Figures are read through each app's scoped selectors (the same querysets the target lists show, so a number and its
list agree), as set-based counts and aggregates. Where no selector answers the question the query is written here,
scoped with ``bankcrm.core.access``. A tile only appears when the user holds the capability of the page it links to
(an intern customer manager sees fewer tiles). Each role's section stays within ~25 queries
(``tests/test_workbench.py`` measures them) and shows no customer's personal data except the large transactions an
operations manager opens in place, whose reading is written to the access log.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from bankcrm.core import access, logs, params
from bankcrm.core.access import ROLE_LABELS, Role
from bankcrm.core.money import format_amount

WAN = 1_000_000  # fen in 万元
DRILL_ROWS = 8  # records shown in place under a tile
AUDIT_VERIFY_STALE_DAYS = 7  # display only: a verification older than this is shown in amber, not a rule of the bank
SEVERITY_COLOURS = {"critical": "#b42318", "high": "#c47f17", "medium": "#2f7cc0", "low": "#9aa5b1"}
NAVY, GOLD, GREEN, RED, GREY = "#1d4e7a", "#b8860b", "#2e7d32", "#b42318", "#9aa5b1"


# ---- What a section is made of ------------------------------------------------------------------------------------------
@dataclass
class Tile:
    """One figure: ``value`` (a number, or a short text such as "86.5"), the list behind it (``url``) or the records
    themselves (``drill``), a hint line under the number and a tone (danger, warning, success, or plain)."""

    key: str
    label: str
    value: Any
    url: str = ""
    hint: str = ""
    tone: str = ""
    icon: str = ""
    links: list[dict[str, Any]] = field(default_factory=list)  # small links in the hint line: {"text", "url", "css"}
    drill: dict[str, Any] | None = None  # {"columns": [...], "rows": [{"cells": [...], "url": ...}], "empty": str}


@dataclass
class Board:
    role: str
    title: str
    scope: str
    icon: str
    tiles: list[Tile] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)

    def add(self, tile: Tile | None) -> None:
        if tile is not None:
            self.tiles.append(tile)


def chart(cid: str, title: str, labels: list[str], series: list[dict[str, Any]], *, empty: str, url: str = "",
          urls: list[str] | None = None, kind: str = "bar", unit: str = "", axes: list[dict[str, Any]] | None = None,
          note: str = "") -> dict[str, Any]:
    """A chart for static/js/workbench.js. ``series``: ``{"name", "data", "type" (bar|line), "color", "stack",
    "axis"}``; ``urls`` one per label (a bar's click target), ``url`` the chart's own list; ``empty`` is what the card
    says instead of drawing when there is nothing to draw."""
    has_data = any(v for s in series for v in s["data"] if v)
    height = max(200, 28 * len(labels) + 60) if kind == "hbar" else 260
    return {"id": cid, "title": title, "labels": labels, "series": series, "empty": empty, "url": url,
            "urls": urls or [], "kind": kind, "unit": unit, "axes": axes or [], "has_data": has_data, "note": note,
            "height": height}


def _can(actor: Any, *codes: str) -> bool:
    return all(access.can(actor, c) for c in codes)


def _url(name: str, query: str = "", *args: Any) -> str:
    return reverse(name, args=args) + (f"?{query}" if query else "")


def _wan(fen: int | None) -> str:
    """Fen as 万元 with two decimals, for display."""
    return f"{(Decimal(fen or 0) / WAN).quantize(Decimal('0.01')):,}"


def _wan_number(fen: int | None) -> float:
    """For the charts only (display), never for arithmetic on money."""
    return float((Decimal(fen or 0) / WAN).quantize(Decimal("0.01")))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.get_default_timezone())


def _late(n: int, text: str) -> tuple[str, str]:
    """A hint like "逾期 3" and its tone (danger when anything is late)."""
    return (text % {"n": n}, "danger") if n else ("", "")


def _scope_label(actor: Any) -> str:
    root = access.scope_root(actor)
    if root is None:
        return _("全行")
    return _("%(b)s及下辖机构") % {"b": actor.branch.label}


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _local_day(value: Any) -> date:
    """A TruncDate/TruncMonth result as a local date, whichever database produced it."""
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _months(today: date, n: int) -> list[date]:
    """The first days of the last ``n`` months, oldest first, ending with this month."""
    out, y, m = [], today.year, today.month
    for _i in range(n):
        out.append(date(y, m, 1))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


# ---- Shared figures -----------------------------------------------------------------------------------------------------
def approvals_tile(actor: Any) -> Tile | None:
    """Maker-checker items this actor could decide now (the approvals app's own queue: pending, unexpired, not their
    own, in their scope) — the list's "待我复核" tab."""
    if not _can(actor, "approvals.approve"):
        return None
    from bankcrm.approvals.selectors import pending_for_checker

    row = pending_for_checker(actor).aggregate(n=Count("id"), soon=Count("id", filter=Q(
        expires_at__lte=timezone.now() + timedelta(hours=4))))
    hint, tone = _late(row["soon"], _("%(n)d 项 4 小时内过期"))
    return Tile("approvals", _("待我复核"), row["n"], _url("approvals:list", "tab=todo"), hint=hint,
                tone=tone if row["n"] else "", icon="check2-square")


def complaint_figures(actor: Any, today: date) -> dict[str, int]:
    """Open complaints and feedback cases the actor sees (the complaint list's "未办结" queue): how many, how many past
    their decision deadline, how many due within the escalation lead (``complaints.escalation_lead``)."""
    from bankcrm.service.selectors import complaint_queue

    lead = math.ceil(params.value("complaints.escalation_lead") / 24)
    return complaint_queue(actor, status="open").aggregate(
        n=Count("id"), overdue=Count("id", filter=Q(decision_due_on__lt=today)),
        near=Count("id", filter=Q(decision_due_on__gte=today, decision_due_on__lte=today + timedelta(days=lead))))


def complaints_tile(actor: Any, today: date, *, key: str = "complaints") -> Tile | None:
    if not _can(actor, "service.view"):
        return None
    c = complaint_figures(actor, today)
    tile = Tile(key, _("投诉临期或超期"), c["near"] + c["overdue"], _url("service:complaints", "status=open"),
                hint=_("未办结 %(n)d") % {"n": c["n"]}, icon="megaphone",
                tone="danger" if c["overdue"] else ("warning" if c["near"] else ""))
    if c["overdue"]:
        tile.links.append({"text": _("超期 %(n)d") % {"n": c["overdue"]}, "url": tile.url, "css": "text-danger"})
    return tile


def findings_tiles(actor: Any) -> tuple[list[Tile], dict[str, int]]:
    """Live findings in scope by severity, and those past their rectification deadline (tiles, counts by severity)."""
    if not _can(actor, "supervision.view"):
        return [], {}
    from bankcrm.supervision import finding_rules as fr
    from bankcrm.supervision.finding_selectors import findings_filtered, severity_counts
    from bankcrm.supervision.models import Finding

    counts = severity_counts(actor)
    live = sum(counts.values())
    labels = dict(Finding._meta.get_field("severity").choices)
    tile = Tile("findings", _("未关闭检查发现"), live, _url("supervision:findings", "status=live"), icon="clipboard-check")
    for s in fr.SEVERITIES:
        if counts.get(s):
            tile.links.append({"text": f"{labels.get(s, s)} {counts[s]}", "css": "",
                               "url": _url("supervision:findings", f"status=live&severity={s}")})
    overdue = findings_filtered(actor, overdue=True).count()
    late = Tile("findings_overdue", _("整改逾期"), overdue, _url("supervision:findings", "status=live&overdue=on"),
                hint=_("超过整改期限仍未完成"), tone="danger" if overdue else "", icon="alarm")
    return [tile, late], counts


# ---- Customer manager ---------------------------------------------------------------------------------------------------
def customer_manager(actor: Any, now: datetime) -> Board:
    today = timezone.localdate(now)
    b = Board("customer_manager", str(ROLE_LABELS[Role.CUSTOMER_MANAGER]), _("本人管户客户"), "briefcase")
    if _can(actor, "customers.view"):
        from bankcrm.engagement.workbench import my_customers

        b.add(Tile("customers", _("管户客户"), my_customers(actor).count(), _url("customers:list"),
                   hint=_("主管或协办"), icon="people"))
    if _can(actor, "engagement.view"):
        from bankcrm.engagement import selectors as eng

        t = eng.task_queue(actor, status="open").aggregate(
            today=Count("id", filter=Q(due_on=today)), overdue=Count("id", filter=Q(due_on__lt=today)))
        hint, tone = _late(t["overdue"], _("其中逾期 %(n)d"))
        b.add(Tile("tasks", _("今日到期及逾期任务"), t["today"] + t["overdue"], _url("engagement:tasks"),
                   hint=hint or _("今天到期 %(n)d") % {"n": t["today"]}, tone=tone, icon="check2-square"))
        i = eng.interaction_queue(actor, status="planned", mine=True).aggregate(
            n=Count("id"), overdue=Count("id", filter=Q(planned_at__lt=_day_start(today))))
        hint, tone = _late(i["overdue"], _("其中逾期 %(n)d"))
        b.add(Tile("followups", _("待跟进联系"), i["n"], _url("engagement:interactions", "status=planned&mine=1"),
                   hint=hint or _("已计划的客户联系"), tone=tone, icon="telephone"))
    b.add(complaints_tile(actor, today))
    if _can(actor, "engagement.view"):
        from bankcrm.engagement.nba_selectors import recommendation_queue

        b.add(Tile("recommendations", _("待处理推荐"), recommendation_queue(actor).count(),
                   _url("engagement:recommendations"), hint=_("下一步最佳行动"), icon="lightbulb"))
    if _can(actor, "wealth.sell"):
        from bankcrm.wealth.selectors import sale_queue

        s = sale_queue(actor, status="held", seller_id=actor.pk).aggregate(
            n=Count("id"), cooling=Count("id", filter=Q(cooling_off_ends_at__gt=now)))
        b.add(Tile("cooling_off", _("冷静期及待成交"), s["n"], _url("wealth:sales", f"status=held&seller={actor.pk}"),
                   hint=_("冷静期中 %(n)d") % {"n": s["cooling"]}, icon="hourglass-split"))
    if _can(actor, "wealth.return_visit"):
        b.add(_return_visits_tile(actor, today))
    if _can(actor, "people.appraisal"):
        b.add(_scorecard_tile(actor))
    if _can(actor, "wealth.aum"):
        from bankcrm.wealth import aum

        trend = aum.trend(actor, days=90)
        last = trend[-1] if trend else None
        b.add(Tile("aum", _("管户资产（万元）"), _wan(last["total_fen"]) if last else None, _url("wealth:aum"),
                   hint=(_("截至 %(d)s · %(n)d 户") % {"d": last["day"], "n": last["customers"]}) if last
                   else _("尚无资产快照"), icon="pie-chart"))
        if len(trend) < 2:  # one day is not a trend
            trend = []
        b.charts.append(chart(
            "cm-aum", _("管户资产趋势（近90天，万元）"), [r["day"][5:] for r in trend],
            [{"name": _("存款"), "data": [_wan_number(r["deposits_fen"]) for r in trend], "type": "line",
              "stack": "aum", "color": NAVY, "area": True},
             {"name": _("理财"), "data": [_wan_number(r["wealth_fen"]) for r in trend], "type": "line",
              "stack": "aum", "color": GOLD, "area": True}],
            empty=_("资产快照每晚生成，积累两天以上后这里显示近90天的存款与理财走势。"), url=_url("wealth:aum"),
            kind="line", unit=_("万元")))
    if _can(actor, "engagement.view"):
        b.charts.append(_pipeline_chart(actor))
    return b


def _return_visits_tile(actor: Any, today: date, *, scope: str = "mine") -> Tile:
    """Open return visits of wealth sales: assigned to me (``mine``), or every one in my scope (``open``)."""
    from bankcrm.wealth.selectors import return_visit_queue

    v = return_visit_queue(actor, scope=scope).aggregate(n=Count("id"), overdue=Count("id", filter=Q(due_on__lt=today)))
    hint, tone = _late(v["overdue"], _("其中逾期 %(n)d"))
    label = _("待我回访") if scope == "mine" else _("辖内待回访")
    return Tile("return_visits", label, v["n"], _url("wealth:return_visits", f"scope={scope}"),
                hint=hint or _("理财销售回访"), tone=tone, icon="telephone-outbound")


def _scorecard_tile(actor: Any) -> Tile:
    """The actor's latest scorecard: its final score (hundredths → points) and where it stands."""
    from bankcrm.people.appraisal_selectors import my_scorecards

    card = my_scorecards(actor).order_by("-period__starts_on", "-pk").first()
    if card is None:
        return Tile("scorecard", _("考核得分"), None, _url("people:appraisal"), hint=_("尚无记分卡"), icon="clipboard-data")
    return Tile("scorecard", _("考核得分"), f"{card.final_score / 100:.1f}", _url("people:appraisal_card", "", card.pk),
                hint=f"{card.period} · {card.get_status_display()}", icon="clipboard-data")


def _pipeline_chart(actor: Any) -> dict[str, Any]:
    """My open opportunities by stage: how many, labelled with their expected amount; each bar opens my pipeline."""
    from bankcrm.engagement.models import Opportunity
    from bankcrm.engagement.selectors import opportunity_queue

    rows = {r["stage"]: r for r in opportunity_queue(actor, mine=True).filter(stage__in=Opportunity.OPEN)
            .order_by().values("stage").annotate(n=Count("id"), amount=Sum("amount_fen"))}
    labels = dict(Opportunity.Stage.choices)
    stages = list(Opportunity.OPEN)
    url = _url("engagement:pipeline", "mine=1")
    counts = [rows.get(s, {}).get("n", 0) for s in stages]
    amounts = [_wan(rows.get(s, {}).get("amount")) for s in stages]
    return chart("cm-pipeline", _("我的商机管道（未结）"), [str(labels[s]) for s in stages],
                 [{"name": _("商机数"), "data": counts, "type": "bar", "color": NAVY,
                   "labels": [_("%(n)d 个 · %(a)s 万元") % {"n": n, "a": a} if n else "" for n, a in zip(counts, amounts, strict=True)]}],
                 empty=_("没有未结商机：在客户页面发现需求后可建立商机，跟进情况会显示在这里。"), url=url,
                 urls=[url] * len(stages), kind="hbar", note=_("预计金额为商机登记的预计成交金额"))


# ---- Operations manager -------------------------------------------------------------------------------------------------
def operations_manager(actor: Any, now: datetime) -> Board:
    today = timezone.localdate(now)
    b = Board("operations_manager", str(ROLE_LABELS[Role.OPERATIONS_MANAGER]), _scope_label(actor), "bank")
    b.add(approvals_tile(actor))
    large_q = None
    if _can(actor, "ledger.view"):
        large_q = _large_q()
        b.add(_large_today_tile(actor, today, large_q))
    if _can(actor, "ledger.cash_count"):
        b.add(_cash_box_tile(actor))
    if _can(actor, "wealth.return_visit"):
        b.add(_return_visits_tile(actor, today))
    if _can(actor, "service.view"):
        from bankcrm.service.selectors import request_queue

        r = request_queue(actor, status="open", mine=True).aggregate(
            n=Count("id"), late=Count("id", filter=Q(resolve_due_at__lt=now)))
        hint, tone = _late(r["late"], _("超时 %(n)d"))
        b.add(Tile("requests", _("我的服务请求"), r["n"], _url("service:requests", "status=open&mine=1"),
                   hint=hint or _("未完成"), tone=tone, icon="headset"))
    if large_q is not None:
        b.charts.append(_week_chart(actor, today, large_q))
    return b


def _large_q() -> Q:
    """Transactions at or above the maker-checker threshold (``approvals.money_threshold.cny``; other currencies at
    today's rate), as a filter on journal entries."""
    from bankcrm.core.errors import RuleViolation
    from bankcrm.ledger.services import fx_rate_micro

    threshold = params.value("approvals.money_threshold.cny")
    q = Q(currency="CNY", amount_fen__gte=threshold)
    try:
        usd = fx_rate_micro("USD")
    except RuleViolation:  # no USD rate kept yet: no USD business either
        return q
    return q | Q(currency="USD", amount_fen__gte=math.ceil(threshold * 1_000_000 / usd))


def _large_today_tile(actor: Any, today: date, large_q: Q) -> Tile:
    """Today's large transactions in scope, opened in place (no journal list page exists): time, kind, amount and the
    two accounts (masked numbers) linking to their account pages. Showing them is written to the access log."""
    from bankcrm.ledger.selectors import entries_visible

    qs = entries_visible(actor).filter(large_q, business_date=today)
    rows = list(qs.select_related("debit_account", "credit_account").order_by("-posted_at", "-id")[:DRILL_ROWS + 1])
    total = len(rows) if len(rows) <= DRILL_ROWS else qs.count()
    drill = []
    for e in rows[:DRILL_ROWS]:
        acc = e.debit_account if e.debit_account.kind == "customer" else e.credit_account
        drill.append({"cells": [timezone.localtime(e.posted_at).strftime("%H:%M"), e.get_kind_display(),
                                f"{format_amount(e.amount_fen, e.currency)} {e.currency}",
                                f"{e.debit_account.masked_number} → {e.credit_account.masked_number}",
                                _("已复核") if e.approval_id else ""],
                      "url": reverse("ledger:account", args=[acc.pk]) if acc.kind == "customer" else ""})
    ids = sorted({e.customer_id for e in rows[:DRILL_ROWS] if e.customer_id})
    if ids:
        logs.access(actor=actor, view="reports.workbench", subject_type="customers.Customer", subject_ids=ids,
                    fields=["transactions"])
    return Tile("large_today", _("今日大额交易"), total, hint=_("≥ 复核金额标准"), icon="cash-coin",
                drill={"columns": [_("时间"), _("类型"), _("金额"), _("账户"), _("复核")], "rows": drill,
                       "more": total > DRILL_ROWS, "empty": _("今天没有大额交易")})


def _cash_box_tile(actor: Any) -> Tile:
    """The actor's own CNY cash box: book balance and today's end-of-day count."""
    from bankcrm.ledger.services import business_date
    from bankcrm.ledger.web_support import cash_box_day, own_cash_box

    url = _url("ledger:cash_box")
    box = own_cash_box(actor)
    if box is None:
        return Tile("cash_box", _("现金尾箱"), None, url, hint=_("尚未领用尾箱"), icon="safe")
    count = cash_box_day(box, business_date())["count"]
    if count is None:
        hint, tone = _("今日未轧账"), "warning"
    elif count.difference_fen:
        hint, tone = _("账实不符，差额 %(d)s 元") % {"d": format_amount(count.difference_fen)}, "danger"
    else:
        hint, tone = _("今日已轧账，账实相符"), "success"
    return Tile("cash_box", _("尾箱余额（元）"), format_amount(box.balance_fen), url, hint=hint, tone=tone, icon="safe")


def _week_chart(actor: Any, today: date, large_q: Q) -> dict[str, Any]:
    """Transactions per business day this week (Monday to today) in scope, large ones apart."""
    from bankcrm.ledger.selectors import entries_visible

    monday = today - timedelta(days=today.weekday())
    rows = {r["business_date"]: r for r in entries_visible(actor).filter(business_date__gte=monday, business_date__lte=today)
            .order_by().values("business_date").annotate(n=Count("id"), large=Count("id", filter=large_q))}
    days = _days(monday, today)
    names = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
    return chart("om-week", _("本周交易笔数"), [f"{names[d.weekday()]} {d:%m-%d}" for d in days],
                 [{"name": _("一般交易"), "data": [rows.get(d, {}).get("n", 0) - rows.get(d, {}).get("large", 0) for d in days],
                   "type": "bar", "stack": "n", "color": NAVY},
                  {"name": _("大额交易"), "data": [rows.get(d, {}).get("large", 0) for d in days], "type": "bar",
                   "stack": "n", "color": GOLD}],
                 empty=_("本周辖内还没有交易记账。"),
                 note=_("辖内账户的记账笔数（含现金尾箱等内部账户）"))


# ---- Risk manager -------------------------------------------------------------------------------------------------------
def risk_manager(actor: Any, now: datetime) -> Board:
    from bankcrm.risk import rating
    from bankcrm.risk.models import Alert, Case
    from bankcrm.risk.selectors import alert_list, alerts_visible, cases_visible, rules_current

    today = timezone.localdate(now)
    b = Board("risk_manager", str(ROLE_LABELS[Role.RISK_MANAGER]), _scope_label(actor), "shield-exclamation")
    b.add(approvals_tile(actor))
    by_rule: dict[str, int] = {}
    if _can(actor, "risk.alerts"):
        new = 0
        for r in alert_list(actor, status="open").order_by().values("rule_code", "status").annotate(n=Count("id")):
            by_rule[r["rule_code"]] = by_rule.get(r["rule_code"], 0) + r["n"]
            new += r["n"] if r["status"] == Alert.Status.NEW else 0
        b.add(Tile("alerts", _("未结预警"), sum(by_rule.values()), _url("risk:alerts", "status=open"),
                   hint=_("待处理 %(n)d") % {"n": new}, icon="bell", tone="warning" if new else ""))
        cases = {r["status"]: r for r in cases_visible(actor).order_by().values("status").annotate(
            n=Count("id"), late=Count("id", filter=Q(report_due_on__lt=today)))}
        b.add(Tile("cases_open", _("调查中案件"), cases.get(Case.Status.OPEN, {}).get("n", 0),
                   _url("risk:cases", "status=open"), hint=_("立案调查中"), icon="folder2-open"))
        esc = cases.get(Case.Status.ESCALATED, {})
        hint, tone = _late(esc.get("late", 0), _("逾期 %(n)d"))
        b.add(Tile("suspicious_due", _("待报可疑交易"), esc.get("n", 0), _url("risk:cases", "status=escalated"),
                   hint=hint or _("已上报合规，待报告"), tone=tone, icon="send-exclamation"))
        large = alerts_visible(actor).filter(report_kind="large", report__isnull=True, status__in=Alert.OPEN_STATUSES) \
            .aggregate(n=Count("id"), late=Count("id", filter=Q(due_on__lt=today)))
        hint, tone = _late(large["late"], _("逾期 %(n)d"))
        target = (_url("risk:reports") if _can(actor, "risk.report") else
                  _url("risk:dashboard") if _can(actor, "risk.dashboard") else _url("risk:alerts", "status=open"))
        b.add(Tile("large_due", _("待报大额交易"), large["n"], target, hint=hint or _("5 个工作日内报告"), tone=tone,
                   icon="cash-stack"))
    if _can(actor, "risk.rate"):
        due = rating.ratings_due(actor, today).aggregate(n=Count("pk"), late=Count("pk", filter=Q(
            Q(aml_level="", aml_rating_due_on__lt=today) | Q(aml_review_due_on__lt=today))))
        hint, tone = _late(due["late"], _("已逾期 %(n)d"))
        b.add(Tile("aml_reviews", _("30天内到期的反洗钱评级"), due["n"], _url("risk:ratings_due"),
                   hint=hint or _("首次评级与定期复评"), tone=tone, icon="person-check"))
    if _can(actor, "risk.alerts"):
        start = today - timedelta(days=29)
        per_day: dict[tuple[date, str], int] = {}
        for r in alerts_visible(actor).filter(business_date__gte=start).order_by().values(
                "business_date", "report_kind").annotate(n=Count("id")):
            per_day[(r["business_date"], r["report_kind"])] = r["n"]
        days = _days(start, today)
        b.charts.append(chart(
            "rk-daily", _("近30天预警（按交易日期）"), [f"{d:%m-%d}" for d in days],
            [{"name": _("大额"), "data": [per_day.get((d, "large"), 0) for d in days], "type": "bar", "stack": "a",
              "color": GOLD},
             {"name": _("可疑"), "data": [per_day.get((d, "suspicious"), 0) for d in days], "type": "bar",
              "stack": "a", "color": RED}],
            empty=_("近30天没有产生预警：监测规则每晚运行，命中后预警会按交易日期显示在这里。"),
            url=_url("risk:alerts", "status="), urls=[_url("risk:alerts", "status=")] * len(days)))
        english = (get_language() or "").startswith("en")
        names = {r.code: (r.name_en if english and r.name_en else r.name) for r in rules_current()}
        codes = sorted(by_rule, key=lambda c: (-by_rule[c], c))
        b.charts.append(chart(
            "rk-rules", _("未结预警（按监测规则）"), [f"{c} {names.get(c, '')}".strip() for c in codes],
            [{"name": _("未结预警"), "data": [by_rule[c] for c in codes], "type": "bar", "color": NAVY}],
            empty=_("没有未结预警。"), kind="hbar", url=_url("risk:alerts", "status=open"),
            urls=[_url("risk:alerts", f"status=open&rule={c}") for c in codes]))
    return b


# ---- Compliance manager -------------------------------------------------------------------------------------------------
def latest_control_runs() -> dict[str, Any]:
    """The latest completed run of every automated control, in one query (the coverage matrix asks per control)."""
    from bankcrm.supervision import controls as registry
    from bankcrm.supervision.models import ControlRun

    done = ControlRun.Status.DONE
    latest = (ControlRun.objects.filter(control=OuterRef("control"), status=done).order_by("-started_at", "-pk")
              .values("pk")[:1])
    codes = [c.code for c in registry.automated()]
    return {r.control: r for r in ControlRun.objects.filter(control__in=codes, status=done, pk=Subquery(latest))
            .only("control", "population", "exceptions", "started_at")}


def compliance_manager(actor: Any, now: datetime) -> Board:
    today = timezone.localdate(now)
    b = Board("compliance_manager", str(ROLE_LABELS[Role.COMPLIANCE_MANAGER]), _scope_label(actor), "shield-check")
    b.add(approvals_tile(actor))
    runs: dict[str, Any] = {}
    if _can(actor, "supervision.view"):
        from bankcrm.supervision import controls as registry

        runs = latest_control_runs()
        automated = list(registry.automated())
        failing = [c for c in automated if c.code in runs and runs[c.code].exceptions]
        tile = Tile("controls", _("存在例外的控制"), len(failing), _url("supervision:matrix"),
                    hint=(_("自动控制 %(n)d 项") % {"n": len(automated)}) if runs else _("控制检查尚未运行"),
                    tone="warning" if failing else ("success" if runs else ""), icon="grid-3x3-gap")
        b.add(tile)
    tiles, severities = findings_tiles(actor)
    for t in tiles:
        b.add(t)
    b.add(complaints_tile(actor, today))
    if _can(actor, "supervision.conduct"):
        from bankcrm.supervision.conduct_selectors import signal_list

        n = signal_list(actor, status="open").count()
        b.add(Tile("conduct", _("员工行为预警"), n, _url("supervision:conduct", "status=open"), hint=_("待核查"),
                   tone="warning" if n else "", icon="person-exclamation"))
    if _can(actor, "supervision.view"):
        from bankcrm.supervision.access_review_selectors import reviews_visible

        n = reviews_visible(actor).filter(n_overdue__gt=0).count()
        b.add(Tile("access_reviews", _("权限复核逾期"), n, _url("supervision:access_reviews", "scope=overdue"),
                   hint=_("逾期仍有角色未确认的复核"), tone="danger" if n else "", icon="person-lock"))
    if _can(actor, "risk.report"):
        from bankcrm.risk.models import Alert, Case
        from bankcrm.risk.selectors import alerts_visible, cases_visible

        large = alerts_visible(actor).filter(report_kind="large", report__isnull=True,
                                             status__in=Alert.OPEN_STATUSES).values("business_date").distinct().count()
        esc = cases_visible(actor).filter(status=Case.Status.ESCALATED).count()
        b.add(Tile("reports_due", _("待报送监管报告"), large + esc, _url("risk:reports"),
                   hint=_("大额 %(l)d 天 · 可疑 %(s)d 件") % {"l": large, "s": esc}, tone="warning" if large + esc else "",
                   icon="send"))
    if _can(actor, "supervision.view"):
        b.charts.append(_exceptions_chart(runs))
        b.charts.append(_severity_chart(severities))
    return b


def _exceptions_chart(runs: dict[str, Any]) -> dict[str, Any]:
    from bankcrm.supervision import controls as registry

    rows = sorted((r for r in runs.values() if r.exceptions), key=lambda r: (-r.exceptions, r.control))
    ctl = registry.REGISTRY
    note = _("共 %(n)d 项自动控制，其余 %(m)d 项最近一次检查无例外") % {
        "n": len(runs), "m": len(runs) - len(rows)} if runs else ""
    return chart(
        "co-exceptions", _("各控制例外数（最近一次检查）"), [str(ctl[r.control].label) for r in rows],
        [{"name": _("例外"), "data": [r.exceptions for r in rows], "type": "bar",
          "colors": [SEVERITY_COLOURS.get(ctl[r.control].severity, NAVY) for r in rows]}],
        empty=(_("最近一次控制检查没有发现例外。") if runs else
               _("控制检查尚未运行：每晚自动运行，也可在制度覆盖矩阵页面立即运行。")),
        kind="hbar", url=_url("supervision:matrix"),
        urls=[_url("supervision:control", "", r.control) for r in rows], note=note)


def _severity_chart(counts: dict[str, int]) -> dict[str, Any]:
    """Live findings by severity (the counts the findings tile already read: no query)."""
    from bankcrm.supervision import finding_rules as fr
    from bankcrm.supervision.models import Finding

    labels = dict(Finding._meta.get_field("severity").choices)
    sevs = list(fr.SEVERITIES)
    counts = {s: counts.get(s, 0) for s in sevs}
    return chart("co-findings", _("未关闭检查发现（按严重程度）"), [str(labels.get(s, s)) for s in sevs],
                 [{"name": _("检查发现"), "data": [counts[s] for s in sevs], "type": "pie",
                   "colors": [SEVERITY_COLOURS[s] for s in sevs]}],
                 empty=_("没有未关闭的检查发现。"), kind="pie", url=_url("supervision:findings", "status=live"),
                 urls=[_url("supervision:findings", f"status=live&severity={s}") for s in sevs])


# ---- Branch supervisor --------------------------------------------------------------------------------------------------
def branch_supervisor(actor: Any, now: datetime) -> Board:
    today = timezone.localdate(now)
    b = Board("branch_supervisor", str(ROLE_LABELS[Role.BRANCH_SUPERVISOR]), _scope_label(actor), "building")
    b.add(approvals_tile(actor))
    b.add(complaints_tile(actor, today))
    if _can(actor, "people.training_team"):
        from bankcrm.people.training_selectors import team_overdue_count

        n = team_overdue_count(actor, today=today)
        b.add(Tile("training", _("员工培训逾期"), n, _url("people:training_team", "status=overdue"),
                   hint=_("未按期完成的培训任务"), tone="danger" if n else "", icon="mortarboard"))
    if _can(actor, "people.review"):
        b.add(_team_scorecards_tile(actor))
    if _can(actor, "wealth.return_visit"):
        b.add(_return_visits_tile(actor, today, scope="open"))
    for t in findings_tiles(actor)[0]:
        b.add(t)
    csat_rows: dict[date, dict[str, Any]] = {}
    months = _months(today, 6)
    if _can(actor, "surveys.view"):
        from bankcrm.surveys import selectors as sv
        from bankcrm.surveys.models import Response

        scope = sv._analytics_scope(actor)  # the survey dashboard's own scope: the figures agree with it
        for r in (Response.objects.filter(scope, created_at__gte=_day_start(months[0]))
                  .annotate(m=TruncMonth("created_at")).values("m").annotate(**sv.AGG).order_by("m")):
            csat_rows[_local_day(r["m"]).replace(day=1)] = r
        q_start = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        q = [r for m, r in csat_rows.items() if m >= q_start]
        n_csat, good = sum(r["n_csat"] for r in q), sum(r["csat_good"] for r in q)
        b.add(Tile("csat", _("本季度客户满意度"), f"{100 * good / n_csat:.1f}%" if n_csat else None,
                   _url("surveys:dashboard"),
                   hint=(_("%(n)d 份评分（4–5 分为满意）") % {"n": n_csat}) if n_csat else _("本季度尚无评分"),
                   icon="emoji-smile", tone="" if not n_csat else ("success" if good * 100 >= 80 * n_csat else "warning")))
    if _can(actor, "service.view"):
        from bankcrm.service.selectors import complaints_visible

        per_month = {_local_day(r["m"]).replace(day=1): r["n"] for r in
                     complaints_visible(actor).filter(received_at__gte=_day_start(months[0]))
                     .annotate(m=TruncMonth("received_at")).order_by().values("m").annotate(n=Count("id"))}
        series = [{"name": _("投诉与反馈（件）"), "data": [per_month.get(m, 0) for m in months], "type": "bar",
                   "color": RED}]
        axes: list[dict[str, Any]] = [{}]
        if csat_rows or _can(actor, "surveys.view"):
            series.append({"name": _("满意度（%）"), "type": "line", "color": GREEN, "axis": 1,
                           "data": [(round(100 * csat_rows[m]["csat_good"] / csat_rows[m]["n_csat"], 1)
                                     if m in csat_rows and csat_rows[m]["n_csat"] else None) for m in months]})
            axes.append({"max": 100})
        b.charts.append(chart(
            "sv-months", _("近6个月投诉与满意度"), [f"{m:%Y-%m}" for m in months], series,
            empty=_("近6个月辖内没有投诉，也没有满意度评分。"), url=_url("service:complaints", "status="),
            urls=[_url("service:complaints", "status=")] * len(months), axes=axes))
    return b


def _team_scorecards_tile(actor: Any) -> Tile:
    """Cards of the latest period in the supervisor's scope whose staff have self-assessed and wait for the review."""
    from bankcrm.people.appraisal_selectors import period_get, scorecards_visible, team_scorecards
    from bankcrm.people.models import Scorecard

    S = Scorecard.Status
    pid = (scorecards_visible(actor).exclude(staff=actor).order_by("-period__starts_on")
           .values_list("period_id", flat=True).first())
    if pid is None:
        return Tile("scorecards", _("待评价记分卡"), 0, _url("people:appraisal_team"), hint=_("尚无团队记分卡"),
                    icon="people-fill")
    period = period_get(actor, pid)
    c = team_scorecards(actor, period).aggregate(
        review=Count("id", filter=Q(status=S.SELF_ASSESSED)), waiting=Count("id", filter=Q(status=S.COMPUTED)),
        sign=Count("id", filter=Q(status=S.CALIBRATED)))
    tile = Tile("scorecards", _("待评价记分卡"), c["review"],
                _url("people:appraisal_team", f"period={pid}&status={S.SELF_ASSESSED}"),
                hint=_("%(p)s · 员工待自评 %(n)d") % {"p": period, "n": c["waiting"]}, icon="people-fill",
                tone="warning" if c["review"] else "")
    if c["sign"]:
        tile.links.append({"text": _("待签署 %(n)d") % {"n": c["sign"]}, "css": "",
                           "url": _url("people:appraisal_team", f"period={pid}&status={S.CALIBRATED}")})
    return tile


# ---- Administrator ------------------------------------------------------------------------------------------------------
def administrator(actor: Any, now: datetime) -> Board:
    today = timezone.localdate(now)
    b = Board("admin", str(ROLE_LABELS[Role.ADMIN]), _scope_label(actor), "gear")
    if _can(actor, "approvals.approve", "org.manage_staff"):
        b.add(_grants_tile(actor, now))
    if _can(actor, "core.view_security_log"):
        from bankcrm.org.models import LoginThrottle

        n = LoginThrottle.objects.filter(scope=LoginThrottle.Scope.USER, locked_until__gt=now).count()
        b.add(Tile("locked", _("锁定中的账户"), n, _url("core:security_log", "kind=locked_out"),
                   hint=_("多次登录失败被临时锁定"), tone="warning" if n else "", icon="lock"))
    if _can(actor, "supervision.view", "org.view_staff"):
        from bankcrm.org.models import Staff

        cutoff = now - timedelta(days=params.value("staff.dormant_account"))
        n = (Staff.objects.filter(access.branch_scope_q(actor, "branch__path"), is_active=True)
             .filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff)).count())
        b.add(Tile("dormant", _("长期未登录账户"), n, _url("supervision:control", "", "dormant_staff"),
                   hint=_("超过 %(n)d 天未登录，应停用") % {"n": params.value("staff.dormant_account")},
                   tone="warning" if n else "", icon="person-dash"))
    if _can(actor, "org.view_staff"):
        b.add(_contracts_tile(actor))
    b.add(_failed_jobs_tile(now))
    b.add(_outbox_tile(now))
    if _can(actor, "core.view_audit"):
        b.add(_audit_tile(now))
    if _can(actor, "core.view_security_log"):
        from bankcrm.core.models import SecurityEvent

        start = today - timedelta(days=29)
        K = SecurityEvent.Kind
        per_day = {(_local_day(r["d"]), r["kind"]): r["n"] for r in
                   SecurityEvent.objects.filter(occurred_at__gte=_day_start(start), kind__in=[K.LOGIN_OK, K.LOGIN_FAILED])
                   .annotate(d=TruncDate("occurred_at")).order_by().values("d", "kind").annotate(n=Count("id"))}
        days = _days(start, today)
        b.charts.append(chart(
            "ad-logins", _("近30天登录次数"), [f"{d:%m-%d}" for d in days],
            [{"name": _("登录成功"), "data": [per_day.get((d, K.LOGIN_OK), 0) for d in days], "type": "bar",
              "stack": "l", "color": NAVY, "url": _url("core:security_log", f"kind={K.LOGIN_OK}")},
             {"name": _("登录失败"), "data": [per_day.get((d, K.LOGIN_FAILED), 0) for d in days], "type": "bar",
              "stack": "l", "color": RED, "url": _url("core:security_log", f"kind={K.LOGIN_FAILED}")}],
            empty=_("近30天没有登录记录。"), url=_url("core:security_log")))
    return b


def _grants_tile(actor: Any, now: datetime) -> Tile:
    """Privileged-role grants waiting for a second administrator: those this administrator may decide, and their own
    waiting for someone else."""
    from bankcrm.approvals.models import PendingAction
    from bankcrm.approvals.selectors import approvals_visible
    from bankcrm.org.services import GRANT_ACTION

    row = approvals_visible(actor).filter(action_code=GRANT_ACTION, status=PendingAction.Status.PENDING,
                                          expires_at__gt=now).aggregate(
        todo=Count("id", filter=~Q(maker=actor)), mine=Count("id", filter=Q(maker=actor)))
    tile = Tile("grants", _("待复核的特权授予"), row["todo"], _url("approvals:list", "tab=todo"),
                hint=_("授予管理员、合规等特权角色须另一名管理员复核"), tone="warning" if row["todo"] else "",
                icon="person-badge")
    if row["mine"]:
        tile.links.append({"text": _("我提交待复核 %(n)d") % {"n": row["mine"]}, "css": "",
                           "url": _url("approvals:list", "tab=mine&status=pending")})
    return tile


def _contracts_tile(actor: Any) -> Tile:
    """Contracts of consultants, interns and temporary workers ending soon: the org app's inbox provider, whose items
    (each linking to the member of staff) are the records behind the number."""
    from itertools import islice

    from bankcrm.core.inbox import PROVIDERS

    provider = PROVIDERS.get("org.contracts")
    if provider is None:
        return Tile("contracts", _("合同即将到期"), None, _url("org:staff"), icon="calendar-x")
    n = provider.count(actor)
    rows = [{"cells": [it.title, it.subtitle], "url": it.url} for it in islice(provider.items(actor), DRILL_ROWS)] if n else []
    return Tile("contracts", _("合同即将到期"), n, hint=_("%(n)d 天内到期的非正式员工") % {
        "n": params.value("staff.contract_expiry_warning")}, tone="warning" if n else "", icon="calendar-x",
        drill={"columns": [_("员工"), _("机构 · 用工类型")], "rows": rows, "more": n > DRILL_ROWS,
               "empty": _("近期没有到期的合同")})


def _tasks_backend() -> str:
    return str(getattr(settings, "TASKS", {}).get("default", {}).get("BACKEND", ""))


def _failed_jobs_tile(now: datetime) -> Tile:
    """Background jobs that failed in the last 7 days (the database task backend keeps their results)."""
    backend = _tasks_backend()
    if "django_tasks_db" not in backend:
        hint = (_("任务结果保存在 Redis 队列中，请在队列监控中查看") if "rq" in backend.lower() else
                _("当前任务后端不保存任务结果"))
        return Tile("failed_jobs", _("失败的后台任务"), None, hint=hint, icon="exclamation-octagon")
    from django_tasks_db.models import DBTaskResult

    since = now - timedelta(days=7)
    qs = DBTaskResult.objects.failed().filter(finished_at__gte=since)
    rows = list(qs.order_by("-finished_at").values("task_path", "finished_at", "exception_class_path")[:DRILL_ROWS + 1])
    n = len(rows) if len(rows) <= DRILL_ROWS else qs.count()
    return Tile("failed_jobs", _("失败的后台任务"), n, hint=_("近7天"), tone="danger" if n else "success",
                icon="exclamation-octagon",
                drill={"columns": [_("任务"), _("失败时间"), _("异常")],
                       "rows": [{"cells": [r["task_path"].rsplit(".", 1)[-1],
                                           timezone.localtime(r["finished_at"]).strftime("%m-%d %H:%M"),
                                           r["exception_class_path"].rsplit(".", 1)[-1]]} for r in rows[:DRILL_ROWS]],
                       "more": n > DRILL_ROWS, "empty": _("近7天没有失败的后台任务")})


def outbox_backlog(now: datetime) -> list[dict[str, Any]]:
    """Per outbox consumer: events not yet handled and the age of the oldest, in two queries (the cursors, then one
    aggregate with a filtered count per consumer) instead of ``outbox.lag_seconds`` per consumer."""
    from bankcrm.core.models import OutboxCursor, OutboxDelivery, OutboxEvent
    from bankcrm.core.outbox import CONSUMERS

    if not CONSUMERS:
        return []
    below = dict(OutboxCursor.objects.values_list("consumer", "below"))
    aggs: dict[str, Any] = {}
    names = sorted(CONSUMERS)
    for i, name in enumerate(names):
        topics = CONSUMERS[name][0]
        q = (Q(id__gt=below.get(name, 0), topic__in=topics)
             & ~Q(Exists(OutboxDelivery.objects.filter(consumer=name, event_id=OuterRef("id")))))
        aggs[f"n{i}"], aggs[f"t{i}"] = Count("id", filter=q), Min("created_at", filter=q)
    low = min(below.get(n, 0) for n in names)
    row = OutboxEvent.objects.filter(id__gt=low).aggregate(**aggs)
    out = []
    for i, name in enumerate(names):
        oldest = row[f"t{i}"]
        out.append({"consumer": name, "pending": row[f"n{i}"] or 0,
                    "lag_seconds": max(0.0, (now - oldest).total_seconds()) if oldest else 0.0})
    return out


def _age(seconds: float) -> str:
    if seconds < 60:
        return _("%(n)d 秒") % {"n": seconds}
    if seconds < 3600:
        return _("%(n)d 分钟") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)d 小时") % {"n": seconds // 3600}
    return _("%(n)d 天") % {"n": seconds // 86400}


def _outbox_tile(now: datetime) -> Tile:
    rows = outbox_backlog(now)
    pending = sum(r["pending"] for r in rows)
    lag = max((r["lag_seconds"] for r in rows), default=0.0)
    late = [r for r in rows if r["pending"]]
    return Tile("outbox", _("待处理事件"), pending, icon="inboxes",
                hint=(_("最久已等待 %(t)s") % {"t": _age(lag)}) if pending else _("各消费者均已处理完毕"),
                tone=("danger" if lag > 3600 else "warning") if pending else "success",
                drill={"columns": [_("消费者"), _("待处理"), _("最久等待")],
                       "rows": [{"cells": [r["consumer"], r["pending"], _age(r["lag_seconds"])]}
                                for r in sorted(late, key=lambda r: -r["lag_seconds"])],
                       "more": False, "empty": _("没有积压的事件")})


def _audit_tile(now: datetime) -> Tile:
    """When the audit chain was last verified (from the page, the API or the explorer) and what it found."""
    from bankcrm.core.models import AuditEvent

    ev = (AuditEvent.objects.filter(verb__in=["core.audit_verified", "supervision.audit_verified"])
          .order_by("-seq").values("occurred_at", "after", "verb").first())
    if ev is None:
        return Tile("audit", _("审计链校验"), _("从未校验"), _url("core:audit"), hint=_("请在审计日志页面校验完整性"),
                    tone="warning", icon="shield-check")
    url = _url("core:audit", f"verb={ev['verb']}")
    ok = bool((ev["after"] or {}).get("ok"))
    age = now - ev["occurred_at"]
    when = timezone.localtime(ev["occurred_at"]).strftime("%m-%d %H:%M")
    if not ok:
        return Tile("audit", _("审计链校验"), _("发现断链"), url, hint=_("%(t)s 校验，链上第 %(s)s 条异常") % {
            "t": when, "s": (ev["after"] or {}).get("first_bad_seq")}, tone="danger", icon="shield-exclamation")
    return Tile("audit", _("审计链校验"), _("完整"), url,
                hint=_("%(t)s 校验 %(n)s 条") % {"t": when, "n": (ev["after"] or {}).get("checked", 0)},
                tone="warning" if age > timedelta(days=AUDIT_VERIFY_STALE_DAYS) else "success", icon="shield-check")


# ---- Sections -----------------------------------------------------------------------------------------------------------
BUILDERS: dict[str, tuple[int, Callable[[Any, datetime], Board]]] = {
    # role: (order on the home page, builder); a user with several roles gets several sections
    Role.BRANCH_SUPERVISOR: (1, branch_supervisor),
    Role.CUSTOMER_MANAGER: (2, customer_manager),
    Role.OPERATIONS_MANAGER: (2, operations_manager),
    Role.RISK_MANAGER: (3, risk_manager),
    Role.COMPLIANCE_MANAGER: (3, compliance_manager),
    Role.ADMIN: (4, administrator),
}
TITLE = gettext_lazy("%(role)s工作台")


def board_for(role: str, actor: Any, *, now: datetime | None = None) -> Board | None:
    """The role's board for ``actor``, or None when the actor does not hold the role."""
    if role not in getattr(actor, "roles", ()):
        return None
    return BUILDERS[Role(role)][1](actor, now or timezone.now())


TILES_PER_ROW = 5  # wider rows cut English labels short


def tile_rows(tiles: list[Tile]) -> list[list[Tile]]:
    """Tiles in rows for a wide screen, as even as can be (the first rows the longer), each row filling the width."""
    if not tiles:
        return []
    n_rows = math.ceil(len(tiles) / TILES_PER_ROW)
    size, extra = divmod(len(tiles), n_rows)
    rows, start = [], 0
    for i in range(n_rows):
        end = start + size + (1 if i < extra else 0)
        rows.append(tiles[start:end])
        start = end
    return rows


def section_context(role: str) -> Callable[[Any], dict[str, Any] | None]:
    def context(request: Any) -> dict[str, Any] | None:
        board = board_for(role, request.user)
        if board is None:
            return None
        return {"wb": board, "rows": tile_rows(board.tiles), "today": timezone.localdate(),
                "title": TITLE % {"role": board.title},
                "charts_json": {c["id"]: c for c in board.charts}, "data_id": f"wb-data-{board.role}",
                "drills": [t for t in board.tiles if t.drill is not None and t.drill["rows"]]}

    return context


def sections() -> Iterable[tuple[str, int]]:
    return [(str(r), order) for r, (order, _b) in BUILDERS.items()]
