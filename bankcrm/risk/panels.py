"""The customer 360 page's "risk" panel: AML risk level, suitability, due diligence and — for staff who may see
them — open alerts and cases."""

from __future__ import annotations

from typing import Any

from bankcrm.core import access
from bankcrm.core.panels import PLANNED, Panel, register

from . import selectors


def _context(request: Any, customer: Any) -> dict[str, Any]:
    from . import rating, suitability

    user = request.user
    return {"customer": customer, "suitability": suitability.suitability_summary(user, customer),
            "rating": rating.rating_summary(user, customer), "monitoring": selectors.customer_risk(user, customer),
            "can_assess": access.can(user, "risk.assess_suitability"), "can_rate": access.can(user, "risk.rate")}


register(Panel(code="risk", title=PLANNED["risk"], order=20, template="risk/_panel_risk.html", context=_context,
               capability="risk.view"))
