"""Navigation entries of segments and next best action (客户经营), and their part of the customer 360 panel
(`nav.PANEL_EXTRAS`: the data of ``engagement/_panel_nba.html``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from bankcrm.core import logs
from bankcrm.core.navigation import NavEntry, register

from .nav import ENGAGEMENT, PANEL_EXTRAS

register(NavEntry(ENGAGEMENT, _("推荐清单"), "engagement:recommendations", "engagement.view", "lightbulb", 76))
register(NavEntry(ENGAGEMENT, _("客户分群"), "engagement:segments", "engagement.stats", "diagram-3", 77))
register(NavEntry(ENGAGEMENT, _("推荐转化统计"), "engagement:nba_stats", "engagement.stats", "bar-chart-line", 78))


def _panel(request: Any, customer: Any) -> dict[str, Any]:
    from .nba_selectors import panel_nba_context

    ctx = panel_nba_context(request.user, customer)
    if ctx["nba_recommendations"]:
        logs.access(actor=request.user, view="engagement.customer_panel_nba", subject_type="customers.Customer",
                    subject_ids=[customer.pk], fields=["segments", "recommendations"])
    return ctx


PANEL_EXTRAS.append(_panel)
