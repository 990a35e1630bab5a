"""Insight pages in the navigation (the dictionary, for administrators) and the insights section of the customer 360
engagement panel (``nav.PANEL_EXTRAS``: its data merged into the panel's context, the template included in its slot)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from bankcrm.core import logs
from bankcrm.core.navigation import NavEntry, register

from . import nav

register(NavEntry(nav.ENGAGEMENT, _("意图词典"), "engagement:intents", "engagement.manage", "book", 80))


def panel_extra(request: Any, customer: Any) -> dict[str, Any]:
    from .insight_selectors import panel_insights_context

    ctx = panel_insights_context(request.user, customer)
    if ctx.get("insights_recent") or ctx.get("insights_events"):
        logs.access(actor=request.user, view="engagement.insights_panel", subject_type="customers.Customer",
                    subject_ids=[customer.pk], fields=["insights", "life_events"])
    return ctx


if panel_extra not in nav.PANEL_EXTRAS:
    nav.PANEL_EXTRAS.append(panel_extra)
