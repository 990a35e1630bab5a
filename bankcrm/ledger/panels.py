"""The customer 360 page's "accounts" panel: the customer's accounts (masked numbers, balances) and latest
transactions, as far as the viewer's ledger scope reaches."""

from __future__ import annotations

from typing import Any

from bankcrm.core import access, logs
from bankcrm.core.panels import PLANNED, Panel, register

from . import selectors, web_support
from .models import Posting


def _context(request: Any, customer: Any) -> dict[str, Any]:
    user = request.user
    accounts = list(selectors.customer_accounts(user, customer.pk))
    by_id = {a.pk: a for a in accounts}
    recent = list(Posting.objects.filter(account_id__in=list(by_id)).select_related("entry").order_by("-id")[:5])
    for p in recent:
        p.acc = by_id[p.account_id]
        p.money_in = p.side == p.acc.normal_side
    if accounts:
        logs.access(actor=user, view="ledger.customer_panel", subject_type="customers.Customer", subject_ids=[customer.pk],
                    fields=["account_number", "balance", "transactions"])
    return {"customer": customer, "accounts": accounts, "recent": recent,
            "can_open": access.can(user, "ledger.open_account") and customer.status == "active",
            "can_post": access.can(user, "ledger.post"), "holder": web_support.holder_label}


register(Panel(code="accounts", title=PLANNED["accounts"], order=10, template="ledger/_panel_accounts.html",
               context=_context, capability="ledger.view"))
