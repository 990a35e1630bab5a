"""Customer-360 panels: each feature registers a panel (accounts, risk, complaints…) that the customer page renders.

A feature that has not landed yet is listed honestly as "not yet enabled" instead of showing made-up figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Panel:
    code: str
    title: Any
    order: int
    template: str
    context: Callable[[Any, Any], dict]  # (request, customer) -> context; must use the app's scoped selectors
    capability: str = "customers.view"


PANELS: dict[str, Panel] = {}

# Sections of the 360 page that later features fill in (ARCHITECTURE.md "panels").
PLANNED = {
    "accounts": _("账户与交易"),
    "risk": _("风险等级与适当性"),
    "wealth": _("持仓与理财"),
    "service": _("服务请求与投诉"),
    "surveys": _("满意度调查"),
    "engagement": _("互动记录与需求"),
}


def register(panel: Panel) -> None:
    PANELS[panel.code] = panel


def render_for(request: Any, customer: Any, *, printing: bool = False) -> list[dict]:
    """The registered panels the actor may see; ``printing`` (the print view) tells their templates to leave out
    what acts (forms, buttons)."""
    from . import access

    out = []
    for p in sorted(PANELS.values(), key=lambda p: p.order):
        if access.can(request.user, p.capability):
            out.append({"code": p.code, "title": p.title,
                        "html": render_to_string(p.template, {**p.context(request, customer), "printing": printing},
                                                 request=request)})
    return out


def pending() -> list[Any]:
    return [title for code, title in PLANNED.items() if code not in PANELS]
