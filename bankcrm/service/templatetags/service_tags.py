"""Countdown badges for service deadlines: dates (complaints, via the risk app's `countdown`) and moments (request
targets in hours)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from bankcrm.risk.templatetags.risk_tags import countdown as date_countdown

register = template.Library()
register.filter("countdown", date_countdown)


@register.filter
def countdown_at(value: datetime | None) -> str:
    """A target moment as a badge: hours (or days) left, or overdue."""
    if not value:
        return ""
    secs = (value - timezone.now()).total_seconds()
    hours = abs(secs) / 3600
    span = (_("%(n)d 天") % {"n": hours // 24}) if hours >= 48 else (_("%(n)d 小时") % {"n": max(1, round(hours))}) \
        if hours >= 1 else (_("%(n)d 分钟") % {"n": max(1, round(hours * 60))})
    if secs < 0:
        return format_html('<span class="badge text-bg-danger" data-testid="countdown">{}</span>',
                           _("已超时 %(s)s") % {"s": span})
    css = "text-bg-warning" if hours <= 4 else "text-bg-light border"
    return format_html('<span class="badge {}" data-testid="countdown">{}</span>', css, _("还剩 %(s)s") % {"s": span})


@register.filter
def status_css(status: str) -> str:
    return {"received": "text-bg-warning", "acknowledged": "text-bg-info", "assigned": "text-bg-primary",
            "decided": "text-bg-success", "closed": "text-bg-secondary", "open": "text-bg-warning",
            "in_progress": "text-bg-primary", "resolved": "text-bg-success"}.get(status, "text-bg-light border")
