"""The records behind a figure, as the drill-through page lists them: one table layout per record kind, each row
linking to the record's own page in the owning app (where the reader may open it), and a link to the owning app's
list with the closest filter it offers. Customers appear by number and masked name (surname + *) only; the page
logs which customers it showed (access log), as every list of customer data does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access
from bankcrm.core.masking import mask_name
from bankcrm.core.money import format_amount

from . import report_rules as rules

METRIC_LABELS = {
    "customers": gettext_lazy("期末客户"), "customers_now": gettext_lazy("客户（当前）"),
    "new_customers": gettext_lazy("新增客户"), "lost_customers": gettext_lazy("流失客户（全部账户已销户）"),
    "aml_high": gettext_lazy("高风险客户"), "aml_medium": gettext_lazy("中风险客户"),
    "aml_low": gettext_lazy("低风险客户"), "aml_unrated": gettext_lazy("未评级客户"),
    "suit_expired": gettext_lazy("风险测评已过期的客户"), "aum": gettext_lazy("客户资产快照"),
    "transactions": gettext_lazy("客户交易"), "complaints_received": gettext_lazy("收到的投诉"),
    "complaints_closed": gettext_lazy("办结的投诉"), "complaints_overdue": gettext_lazy("逾期的投诉"),
    "complaints_open": gettext_lazy("未办结的投诉"), "responses": gettext_lazy("调查答卷"),
    "csat": gettext_lazy("有满意度评分的答卷"), "nps": gettext_lazy("有推荐意愿评分的答卷"),
    "negative": gettext_lazy("负面评价的答卷"), "followups": gettext_lazy("需跟进的答卷"),
    "alerts_open": gettext_lazy("未结监测预警"), "alerts_new": gettext_lazy("期内新增监测预警"),
    "cases_open": gettext_lazy("在办调查案件"), "cases_new": gettext_lazy("期内立案的调查案件"),
    "training_due": gettext_lazy("期内到期的培训任务"), "training_completed": gettext_lazy("已完成的培训任务"),
    "training_on_time": gettext_lazy("按期完成的培训任务"), "training_overdue": gettext_lazy("逾期未完成的培训任务"),
    "training_open": gettext_lazy("进行中的培训任务"), "training_waived": gettext_lazy("已免除的培训任务"),
}


@dataclass(frozen=True)
class Kind:
    headers: Callable[[], list[str]]
    prepare: Callable[[QuerySet], QuerySet]
    row: Callable[[Any, Any, dict[str, str]], tuple[list[str], str | None]]  # (cells, url of its page)
    customer_id: Callable[[Any], int | None]
    fields: tuple[str, ...] = ("customer_no", "name")  # what the access log records as shown


def _date(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and getattr(value, "hour", None) is not None:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


def _url(actor: Any, capability: str, name: str, *args: Any) -> str | None:
    return reverse(name, args=args) if access.can(actor, capability) else None


def _customer(c: Any) -> str:
    return f"{c.customer_no} {mask_name(c.name)}" if c is not None else ""


def _branch_names() -> dict[str, str]:
    from bankcrm.org.models import Branch

    return {b.path: b.label for b in Branch.objects.only("path", "name", "name_en")}


def _customer_row(actor: Any, c: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    profile = getattr(c, "risk_profile", None)  # None when the customer has no risk profile yet
    level = profile.get_aml_level_display() if profile is not None and profile.aml_level else _("未评级")
    return ([c.customer_no, mask_name(c.name), c.get_kind_display(), names.get(c.branch.path, c.branch.path),
             _date(c.created_at), c.get_status_display(), str(level)],
            _url(actor, "customers.view", "customers:detail", c.pk))


def _snapshot_row(actor: Any, s: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    from bankcrm.wealth.rules import TIER_LABELS

    return ([_customer(s.customer), names.get(s.branch_path, s.branch_path), _date(s.day), f"{rules.wan(s.deposits_fen):,}",
             f"{rules.wan(s.wealth_fen):,}", f"{rules.wan(s.total_fen):,}", str(TIER_LABELS.get(s.tier, s.tier))],
            _url(actor, "customers.view", "customers:detail", s.customer_id))


def _entry_row(actor: Any, e: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    account = e.debit_account_id if e.debit_account.kind == "customer" else e.credit_account_id
    return ([e.txn_no, _date(e.business_date), e.get_kind_display(), f"{format_amount(e.amount_fen, e.currency)}",
             e.currency, _customer(e.customer), names.get(e.branch_path, e.branch_path)],
            _url(actor, "ledger.view", "ledger:account", account))


def _complaint_row(actor: Any, c: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    return ([c.number, _customer(c.customer), c.get_product_line_display(), names.get(c.branch_path, c.branch_path),
             _date(c.received_at), _date(c.decision_due_on), c.get_status_display(), _date(c.closed_at)],
            _url(actor, "service.view", "service:complaint", c.pk))


def _response_row(actor: Any, r: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    return ([_date(r.created_at), _customer(r.customer), names.get(r.invitation.branch_path, r.invitation.branch_path),
             "" if r.csat is None else str(r.csat), "" if r.nps is None else str(r.nps),
             r.get_sentiment_display() if r.sentiment else "", _("是") if r.needs_followup else ""],
            _url(actor, "surveys.view", "surveys:response", r.pk))


def _alert_row(actor: Any, a: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    return ([f"A{a.pk}", a.rule_code, _customer(a.customer), names.get(a.branch_path, a.branch_path), _date(a.business_date),
             a.get_status_display(), _date(a.created_at)], _url(actor, "risk.alerts", "risk:alert", a.pk))


def _case_row(actor: Any, c: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    return ([c.number, _customer(c.customer), names.get(c.branch_path, c.branch_path), c.get_status_display(), _date(c.opened_at),
             _date(c.decided_at)], _url(actor, "risk.alerts", "risk:case", c.pk))


def _assignment_row(actor: Any, a: Any, names: dict[str, str]) -> tuple[list[str], str | None]:
    return ([f"{a.staff.staff_no} {a.staff.name}", names.get(a.branch_path, a.branch_path), a.course.title, _date(a.due_on),
             a.get_status_display(), _date(a.completed_at)],
            _url(actor, "people.training_team", "people:team_member", a.staff_id))


KINDS: dict[str, Kind] = {
    "customer": Kind(lambda: [_("客户号"), _("客户"), _("类型"), _("归属机构"), _("登记时间"), _("状态"), _("洗钱风险等级")],
                     lambda qs: qs.select_related("branch", "risk_profile").order_by("customer_no"), _customer_row,
                     lambda c: c.pk),
    "snapshot": Kind(lambda: [_("客户"), _("机构"), _("快照日"), _("存款（万元）"), _("理财（万元）"), _("合计（万元）"),
                              _("客户层级")],
                     lambda qs: qs.select_related("customer").order_by("-total_fen", "customer_id"), _snapshot_row,
                     lambda s: s.customer_id, ("customer_no", "name", "balance")),
    "entry": Kind(lambda: [_("交易流水号"), _("会计日期"), _("交易类型"), _("金额"), _("币种"), _("客户"), _("机构")],
                  lambda qs: qs.select_related("customer", "debit_account", "credit_account")
                  .order_by("-business_date", "-id"), _entry_row, lambda e: e.customer_id,
                  ("customer_no", "name", "transactions")),
    "complaint": Kind(lambda: [_("编号"), _("客户"), _("业务类别"), _("被投诉机构"), _("收到时间"), _("处理期限"),
                               _("状态"), _("办结时间")],
                      lambda qs: qs.select_related("customer").order_by("-received_at", "-id"), _complaint_row,
                      lambda c: c.customer_id),
    "response": Kind(lambda: [_("答卷时间"), _("客户"), _("机构"), _("满意度"), _("推荐意愿"), _("情感"), _("需跟进")],
                     lambda qs: qs.select_related("customer", "invitation").order_by("-created_at", "-id"),
                     _response_row, lambda r: r.customer_id),
    "alert": Kind(lambda: [_("预警"), _("规则"), _("客户"), _("机构"), _("交易日期"), _("状态"), _("生成时间")],
                  lambda qs: qs.select_related("customer").order_by("-created_at", "-id"), _alert_row,
                  lambda a: a.customer_id),
    "case": Kind(lambda: [_("案件编号"), _("客户"), _("机构"), _("状态"), _("立案时间"), _("结论时间")],
                 lambda qs: qs.select_related("customer").order_by("-opened_at", "-id"), _case_row,
                 lambda c: c.customer_id),
    "assignment": Kind(lambda: [_("员工"), _("机构"), _("课程"), _("完成期限"), _("状态"), _("完成时间")],
                       lambda qs: qs.select_related("staff", "course").order_by("due_on", "branch_path", "id"),
                       _assignment_row, lambda a: None, ()),
}


def rows(kind: str, items: list[Any], actor: Any) -> list[dict[str, Any]]:
    names = _branch_names()
    out = []
    for item in items:
        cells, url = KINDS[kind].row(actor, item, names)
        out.append({"cells": cells, "url": url})
    return out


def owning_list(metric: str, actor: Any, *, branch_code: str = "") -> tuple[str, str] | None:
    """(label, URL) of the owning app's list that comes closest to the figure's records, where the reader may open
    it. The owning lists filter by status at most (not by period or branch), so the report's own list above is the
    exact set; this is the way into the app that works on them."""
    m = metric
    target: tuple[str, str, dict[str, str], Any] | None = None
    if m in ("customers", "customers_now", "new_customers", "lost_customers", "suit_expired") or m.startswith("aml_"):
        target = ("customers.view", "customers:list", {}, gettext_lazy("客户查询"))
    elif m == "aum":
        target = ("wealth.aum", "wealth:aum", {}, gettext_lazy("客户资产（AUM）"))
    elif m == "transactions":
        target = ("ledger.view", "ledger:lookup", {}, gettext_lazy("账户查询"))
    elif m.startswith("complaints_"):
        target = ("service.view", "service:complaints",
                  {"status": "open" if m == "complaints_open" else "", "kind": "complaint"}, gettext_lazy("投诉处理"))
    elif m in ("responses", "csat", "nps", "negative", "followups"):
        q = {"sentiment": "negative"} if m == "negative" else {"low": "1"} if m == "followups" else {}
        target = ("surveys.view", "surveys:responses", q, gettext_lazy("调查答卷"))
    elif m.startswith("alerts_"):
        target = ("risk.alerts", "risk:alerts", {"status": "open" if m == "alerts_open" else ""},
                  gettext_lazy("监测预警"))
    elif m.startswith("cases_"):
        target = ("risk.alerts", "risk:cases", {}, gettext_lazy("调查案件"))
    elif m.startswith("training_"):
        q = {"branch": branch_code} if branch_code else {}
        if m == "training_overdue":
            q["status"] = "overdue"
        target = ("people.training_team", "people:training_team", q, gettext_lazy("团队培训"))
    if target is None or not access.can(actor, target[0]):
        return None
    url = reverse(target[1]) + ("?" + urlencode(target[2]) if target[2] else "")
    return str(target[3]), url
