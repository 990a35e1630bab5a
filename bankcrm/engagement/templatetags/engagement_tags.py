"""Template helpers of the engagement pages: goal labels, badge colours by status and stage, kind icons."""

from __future__ import annotations

from typing import Any

from django import template

from bankcrm.engagement import rules

register = template.Library()

KIND_ICONS = {"visit": "house-door", "call": "telephone", "wechat": "wechat", "meeting": "building", "event": "people"}
STAGE_CSS = {"need": "text-bg-light border", "contacted": "text-bg-info", "proposal": "text-bg-primary",
             "won": "text-bg-success", "lost": "text-bg-secondary"}
STATUS_CSS = {"planned": "text-bg-warning", "done": "text-bg-success", "cancelled": "text-bg-secondary",
              "open": "text-bg-primary", "active": "text-bg-primary", "sent": "text-bg-warning",
              "accepted": "text-bg-info", "declined": "text-bg-secondary", "completed": "text-bg-success"}


@register.filter
def goal_label(code: str) -> str:
    return rules.goal_label(code) if code else ""


@register.filter
def goals_text(codes: Any) -> str:
    return "、".join(rules.goal_label(c) for c in (codes or []))


@register.filter
def kind_icon(kind: str) -> str:
    return KIND_ICONS.get(kind, "chat")


@register.filter
def stage_css(stage: str) -> str:
    return STAGE_CSS.get(stage, "text-bg-light")


@register.filter
def status_css(status: str) -> str:
    return STATUS_CSS.get(status, "text-bg-light border")


@register.filter
def joined(values: Any) -> str:
    return "、".join(str(v) for v in (values or []))
