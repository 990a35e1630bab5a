"""Template helpers of the risk pages: deadline countdowns and alert figures in words."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from bankcrm.core.money import format_amount

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
    "total": _l("合计金额"), "count": _l("笔数"), "threshold": _l("阈值"), "currency_group": _l("币种口径"), "direction": _l("方向"),
    "band_from": _l("识别区间下限"), "window_days": _l("窗口（天）"), "in": _l("转入"), "out": _l("转出"), "out_pct": _l("转出占比%"),
    "accounts": _l("启用账户数"), "dormant_months": _l("休眠期（月）"), "counterparties": _l("交易对手数"), "inflow": _l("转入合计"),
    "income_band": _l("申报年收入"), "limit": _l("判断标准"), "rule_version": _l("规则版本"), "list_kind": _l("名单类型"),
    "list": _l("名单"), "entry_name": _l("名单姓名"), "entry_birth_date": _l("名单出生日期"), "match": _l("匹配方式"), "score": _l("匹配分"), "birth_date_match": _l("出生日期一致"),
}
HIDDEN = {"list_id", "list_version", "entry_id"}
VALUE_LABELS = {
    "list_kind": {"sanctions": _l("制裁名单"), "pep": _l("政治公众人物"), "internal": _l("内部关注名单")},
    "match": {"exact_name": _l("姓名完全一致"), "pinyin": _l("拼音一致"), "edit_distance_1": _l("姓名相差一字"),
              "latin_pinyin": _l("英文名与拼音一致")},
}
KIND_LABELS = {"watchlist": _l("名单筛查命中")}
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
