"""Cash-box differences reach the branch supervisor: every end-of-day count that did not balance, in the
supervisor's branch subtree, over the last days (DOMAIN_RULES §7: differences recorded and escalated)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.money import format_amount

from . import web_support


def _items(actor):
    for c in web_support.cash_differences(actor)[:50]:
        yield InboxItem(
            kind="cash_difference", kind_label=gettext_lazy("尾箱账实不符"),
            title=(_("%(name)s 的尾箱 %(d)s 短款 %(diff)s 元") if c.difference_fen < 0 else
                   _("%(name)s 的尾箱 %(d)s 长款 %(diff)s 元")) % {
                "name": c.counted_by.name, "d": c.business_date, "diff": format_amount(abs(c.difference_fen))},
            url=reverse("ledger:cash_box_detail", args=[c.cash_box_id]),
            due_at=None,
            subtitle=f"{c.cash_box.branch.label} · {c.note}")


register_provider("ledger.cash_differences", _items, lambda a: web_support.cash_differences(a).count())
