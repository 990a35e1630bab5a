"""Template helpers: Bootstrap widgets, money, masking, deadlines."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import masking, money

register = template.Library()


@register.filter
def bs_widget(field: Any) -> str:
    """Render a bound field's widget with Bootstrap classes (and is-invalid when it has errors)."""
    wt = field.widget_type
    css = {"select": "form-select", "selectmultiple": "form-select", "checkbox": "form-check-input",
           "file": "form-control", "clearablefile": "form-control"}.get(wt, "form-control")
    if field.errors:
        css += " is-invalid"
    existing = field.field.widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.filter
def fen(value: int | None, currency: str = "CNY") -> str:
    return "" if value is None else money.format_amount(int(value), currency)


@register.filter
def mask(value: str | None, kind: str) -> str:
    return masking.mask(kind, value)


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


@register.filter
def until(value: Any) -> str:
    """'3 小时后' / '已超时' for a deadline."""
    if not value:
        return ""
    delta = value - timezone.now()
    secs = int(delta.total_seconds())
    if secs <= 0:
        return _("已超时")
    if secs < 3600:
        return _("%(n)d 分钟后") % {"n": max(1, secs // 60)}
    if secs < 86400:
        return _("%(n)d 小时后") % {"n": secs // 3600}
    return _("%(n)d 天后") % {"n": secs // 86400}


@register.simple_tag
def url_with(query: str, **kwargs: Any) -> str:
    from django.http import QueryDict

    q = QueryDict(query, mutable=True)
    for k, v in kwargs.items():
        q[k] = v
    return "?" + q.urlencode()


@register.filter
def is_past(value: Any) -> bool:
    return bool(value) and value <= timezone.now()


@register.filter
def name_for(value: str | None, user: Any) -> str:
    """A customer's name as this member of staff may see it: in full, or surname + * for interns and temporary
    workers (DOMAIN_RULES.md §6)."""
    if getattr(user, "sees_masked_names", True):
        return masking.mask_name(value)
    return value or ""


@register.filter
def bp_percent(value: int | None) -> str:
    """Basis points as a percentage: 135 → '1.35%'."""
    if value is None:
        return ""
    return f"{int(value) / 100:.2f}%"


@register.filter
def micro_rate(value: int | None) -> str:
    """A rate stored ×10⁶: 7120000 → '7.120000'."""
    if value is None:
        return ""
    return f"{int(value) / 1_000_000:.6f}"
