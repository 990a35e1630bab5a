"""Navigation (理财销售, 持仓, 回访任务), the inbox provider (return visits assigned to me, my proposals awaiting the
customer's confirmation, my held sales in cooling-off) and the customer 360 "wealth" panel."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, logs
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.money import format_amount
from bankcrm.core.navigation import NavEntry, register
from bankcrm.core.panels import PLANNED, Panel
from bankcrm.core.panels import register as register_panel

from . import selectors
from .models import ReturnVisit, Sale

WEALTH = _("理财")
register(NavEntry(WEALTH, _("理财销售"), "wealth:sales", "wealth.view", "bag-check", 61))
register(NavEntry(WEALTH, _("持仓查询"), "wealth:holdings", "wealth.view", "wallet2", 62))
register(NavEntry(WEALTH, _("回访任务"), "wealth:return_visits", "wealth.return_visit", "telephone-outbound", 63))


def _end(day: Any) -> datetime:
    return datetime.combine(day, time(23, 59, 59), timezone.get_default_timezone())


def _visits(actor: Any):
    if not access.can(actor, "wealth.return_visit"):
        return ReturnVisit.objects.none()
    return selectors.return_visits_visible(actor).filter(assignee=actor, status=ReturnVisit.Status.OPEN)


def _proposed(actor: Any):
    if not access.can(actor, "wealth.sell"):
        return Sale.objects.none()
    return selectors.sales_visible(actor).filter(seller=actor, status=Sale.Status.PROPOSED)


def _cooling(actor: Any):
    if not access.can(actor, "wealth.sell"):
        return Sale.objects.none()
    return selectors.sales_visible(actor).filter(seller=actor, status=Sale.Status.HELD, cooling_off_ends_at__isnull=False)


def _items(actor: Any):
    for v in _visits(actor).select_related("sale", "sale__customer", "sale__product").order_by("due_on", "id")[:30]:
        yield InboxItem(kind="wealth_return_visit", kind_label=_("理财回访"),
                        title=f"{v.sale.number} {v.sale.customer.customer_no} · {v.sale.product.name}",
                        url=reverse("wealth:return_visit", args=[v.pk]), due_at=_end(v.due_on),
                        subtitle=gettext("回访期限 %(d)s") % {"d": v.due_on})
    for s in _proposed(actor).select_related("customer", "product").order_by("proposed_at")[:30]:
        yield InboxItem(kind="wealth_proposed", kind_label=_("待客户确认"),
                        title=f"{s.number} {s.customer.customer_no} · {s.product.name}",
                        url=reverse("wealth:sale", args=[s.pk]),
                        subtitle=gettext("推介于 %(t)s，金额 %(a)s 元") % {
                            "t": f"{timezone.localtime(s.proposed_at):%m-%d %H:%M}",
                            "a": format_amount(s.amount_fen, s.product.currency)})
    for s in _cooling(actor).select_related("customer", "product").order_by("cooling_off_ends_at")[:30]:
        yield InboxItem(kind="wealth_cooling_off", kind_label=_("冷静期中"),
                        title=f"{s.number} {s.customer.customer_no} · {s.product.name}",
                        url=reverse("wealth:sale", args=[s.pk]), due_at=s.cooling_off_ends_at,
                        subtitle=gettext("冷静期至 %(t)s，期内客户可无条件撤销") % {
                            "t": f"{timezone.localtime(s.cooling_off_ends_at):%m-%d %H:%M}"})


def _count(actor: Any) -> int:
    return _visits(actor).count() + _proposed(actor).count() + _cooling(actor).count()


register_provider("wealth.sales", _items, _count)


def _panel(request: Any, customer: Any) -> dict[str, Any]:
    user = request.user
    data = selectors.customer_wealth(user, customer)
    if data["holdings"] or data["sales"]:
        logs.access(actor=user, view="wealth.customer_panel", subject_type="customers.Customer",
                    subject_ids=[customer.pk], fields=["wealth"])
    return {"customer": customer, **data,
            "can_sell": access.can(user, "wealth.sell") and customer.status == "active"}


register_panel(Panel(code="wealth", title=PLANNED["wealth"], order=30, template="wealth/_panel_wealth.html",
                     context=_panel, capability="wealth.view"))
