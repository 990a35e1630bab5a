"""Template helpers of the selling pages: risk-level and status badges, units and NAVs, links to the shelf pages
(which another part of the app provides: the links are left out while those routes do not exist)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import NAV_ONE

register = template.Library()

LEVEL_COLOURS = {1: ("#2e7d32", gettext_lazy("低风险")), 2: ("#1f7a8c", gettext_lazy("中低风险")),
                 3: ("#c47f17", gettext_lazy("中风险")), 4: ("#d9480f", gettext_lazy("中高风险")),
                 5: ("#b42318", gettext_lazy("高风险"))}  # the shelf pages' colours
SALE_CSS = {"proposed": "text-bg-warning", "held": "text-bg-info", "settled": "text-bg-success",
            "cancelled": "text-bg-secondary", "withdrawn": "text-bg-light border"}
VISIT_CSS = {"open": "text-bg-warning", "done": "text-bg-success", "unreachable": "text-bg-secondary"}


@register.filter
def level_badge(level: int | None) -> str:
    """R1–R5 as a coloured badge (R0, time deposits: 'not rated')."""
    if not level or int(level) not in LEVEL_COLOURS:
        return format_html('<span class="badge rounded-pill text-bg-light border" data-testid="level-badge">{}</span>',
                           _("不评级"))
    colour, title = LEVEL_COLOURS[int(level)]
    return format_html('<span class="badge rounded-pill" style="background:{}" title="{}" data-testid="level-badge">R{}</span>',
                       colour, title, level)


@register.filter
def sale_css(status: str) -> str:
    return SALE_CSS.get(status, "text-bg-light border")


@register.filter
def visit_css(status: str) -> str:
    return VISIT_CSS.get(status, "text-bg-light border")


@register.filter
def units(value: int | None) -> str:
    """Units stored in hundredths: 1234567 → '12,345.67'."""
    if value is None:
        return ""
    v = int(value)
    sign = "-" if v < 0 else ""
    v = abs(v)
    return f"{sign}{v // 100:,}.{v % 100:02d}"


@register.filter
def nav(value: int | None) -> str:
    """A NAV stored ×10⁴: 10234 → '1.0234'."""
    if value is None:
        return ""
    v = int(value)
    return f"{v // NAV_ONE}.{v % NAV_ONE:04d}"


def _reverse(name: str, *candidates: tuple[Any, ...]) -> str:
    for args in candidates:
        try:
            return reverse(name, args=list(args))
        except NoReverseMatch:
            continue
    return ""


@register.filter
def product_url(product_id: Any) -> str:
    """The shelf's product page, or '' while it does not exist."""
    return _reverse("wealth:product", (product_id,))


@register.filter
def qualified_url(customer_id: Any) -> str:
    """The qualified-investor page for a customer, or '' while it does not exist."""
    return _reverse("wealth:qualified", (customer_id,), ())
