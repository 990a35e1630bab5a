"""Template helpers of the risk pages: deadline countdowns and alert figures in words."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core.money import format_amount

from ..models import DueDiligence

register = template.Library()


@register.filter
def countdown(value: date | None) -> str:
    """A deadline as a badge: days left, due today, or overdue."""
    if not value:
        return ""
    days = (value - timezone.localdate()).days
    if days < 0:
        return format_html('<span class="badge text-bg-danger" data-testid="countdown">{}</span>',
                           _("逾期 %(n)d 天") % {"n": -days})
    if days == 0:
        return format_html('<span class="badge text-bg-warning" data-testid="countdown">{}</span>', _("今天到期"))
    css = "text-bg-warning" if days <= 2 else "text-bg-light border"
    return format_html('<span class="badge {}" data-testid="countdown">{}</span>', css,
                       _("还剩 %(n)d 天") % {"n": days})


FIGURE_LABELS = {
    "total": gettext_lazy("合计金额"), "count": gettext_lazy("笔数"), "threshold": gettext_lazy("阈值"), "currency_group": gettext_lazy("币种口径"), "direction": gettext_lazy("方向"),
    "band_from": gettext_lazy("识别区间下限"), "window_days": gettext_lazy("窗口（天）"), "in": gettext_lazy("转入"), "out": gettext_lazy("转出"), "out_pct": gettext_lazy("转出占比%"),
    "accounts": gettext_lazy("启用账户数"), "dormant_months": gettext_lazy("休眠期（月）"), "counterparties": gettext_lazy("交易对手数"), "inflow": gettext_lazy("转入合计"),
    "income_band": gettext_lazy("申报年收入"), "limit": gettext_lazy("判断标准"), "rule_version": gettext_lazy("规则版本"), "list_kind": gettext_lazy("名单类型"),
    "list": gettext_lazy("名单"), "entry_name": gettext_lazy("名单姓名"), "entry_birth_date": gettext_lazy("名单出生日期"), "match": gettext_lazy("匹配方式"), "score": gettext_lazy("匹配分"), "birth_date_match": gettext_lazy("出生日期一致"),
    "trigger": gettext_lazy("尽职调查起因"), "notes": gettext_lazy("尽职调查说明"),
}
HIDDEN = {"list_id", "list_version", "entry_id", "due_diligence"}
VALUE_LABELS: dict[str, Any] = {
    "trigger": dict(DueDiligence.Trigger.choices),
    "list_kind": {"sanctions": gettext_lazy("制裁名单"), "pep": gettext_lazy("政治公众人物"), "internal": gettext_lazy("内部关注名单")},
    "match": {"exact_name": gettext_lazy("姓名完全一致"), "pinyin": gettext_lazy("拼音一致"), "edit_distance_1": gettext_lazy("姓名相差一字"),
              "latin_pinyin": gettext_lazy("英文名与拼音一致")},
}
KIND_LABELS = {"watchlist": gettext_lazy("名单筛查命中"), "due_diligence": gettext_lazy("尽职调查建议可疑报告")}
MONEY = {"total", "threshold", "band_from", "in", "out", "inflow", "limit"}


@register.filter
def figure_rows(alert: Any) -> list[tuple[str, str]]:
    rows = []
    cur = "USD" if alert.currency_group == "USD" else "CNY"
    for k, v in alert.figures.items():
        if k in HIDDEN:
            continue
        if k in VALUE_LABELS:
            v = VALUE_LABELS[k].get(v, v)
        label = str(FIGURE_LABELS.get(k, k))
        if k in MONEY and isinstance(v, int):
            v = f"{cur} {format_amount(v)}"
        elif k == "direction":
            v = _("收入") if v == "in" else _("支出")
        elif isinstance(v, bool):
            v = _("是") if v else _("否")
        rows.append((label, str(v)))
    return rows


@register.filter
def alert_title(alert: Any) -> str:
    """The rule's name, or what kind of hit it is (watch-list hits have no rule row)."""
    if alert.rule_id:
        return alert.rule.name
    return str(KIND_LABELS.get(alert.kind, alert.kind))
