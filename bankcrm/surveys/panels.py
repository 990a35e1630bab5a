"""The customer 360 page's "surveys" panel: the customer's survey answers with scores, comments and follow-ups."""

from __future__ import annotations

from typing import Any

from bankcrm.core.panels import PLANNED, Panel, register

from . import selectors


def _context(request: Any, customer: Any) -> dict[str, Any]:
    from .models import Invitation

    return {"customer": customer, "answers": selectors.customer_answers(request.user, customer),
            "pending": Invitation.objects.filter(customer=customer, status=Invitation.Status.SENT).count()}


register(Panel(code="surveys", title=PLANNED["surveys"], order=60, template="surveys/_panel_surveys.html",
               context=_context, capability="surveys.view"))
