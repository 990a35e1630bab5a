"""Navigation (服务), the inbox provider (escalation notices, complaints to handle, requests to answer, rectification
actions) and the customer 360 "service" panel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register
from bankcrm.core.panels import PLANNED, Panel
from bankcrm.core.panels import register as register_panel

from . import rules, selectors
from .models import Complaint, ServiceRequest

SERVICE = _("服务")
register(NavEntry(SERVICE, _("投诉处理"), "service:complaints", "service.view", "megaphone", 50))
register(NavEntry(SERVICE, _("服务请求"), "service:requests", "service.view", "headset", 51))
register(NavEntry(SERVICE, _("投诉统计"), "service:stats", "service.stats", "bar-chart-line", 52))
register(NavEntry(SERVICE, _("投诉原因分类"), "service:causes", "service.manage_causes", "diagram-3", 53))


def _end(day: Any) -> datetime:
    return rules.end_of_day(day, timezone.get_default_timezone())


def _items(actor: Any):
    if not access.can(actor, "service.view"):
        return
    for n in selectors.notifications_for(actor)[:30]:
        yield InboxItem(kind="service_escalation", kind_label=_("超时预警"), title=n.title, url=n.url, due_at=n.due_at,
                        subtitle=_t("系统升级提醒 · %(t)s") % {"t": f"{timezone.localtime(n.created_at):%m-%d %H:%M}"})
    for c in (selectors.complaints_visible(actor).filter(handler=actor, status__in=Complaint.OPEN_STATUSES)
              .order_by("decision_due_on")[:30]):
        yield InboxItem(kind="complaint", kind_label=_("待办投诉"), title=f"{c.number} {c.summary}",
                        url=reverse("service:complaint", args=[c.pk]), due_at=_end(c.decision_due_on),
                        subtitle=_t("处理决定时限 %(d)s") % {"d": c.decision_due_on})
    for r in (selectors.requests_visible(actor).filter(owner=actor, status__in=ServiceRequest.OPEN_STATUSES)
              .order_by("resolve_due_at")[:30]):
        yield InboxItem(kind="service_request", kind_label=_("待办服务请求"), title=f"{r.number} {r.subject}",
                        url=reverse("service:request", args=[r.pk]), due_at=r.next_due_at,
                        subtitle=r.get_status_display())
    for a in selectors.rectifications_open(actor)[:30]:
        yield InboxItem(kind="rectification", kind_label=_("整改措施"), title=a.action,
                        url=reverse("service:complaint", args=[a.complaint_id]), due_at=_end(a.due_on),
                        subtitle=a.complaint.number)


def _count(actor: Any) -> int:
    if not access.can(actor, "service.view"):
        return 0
    return (selectors.notifications_for(actor).count()
            + selectors.complaints_visible(actor).filter(handler=actor, status__in=Complaint.OPEN_STATUSES).count()
            + selectors.requests_visible(actor).filter(owner=actor, status__in=ServiceRequest.OPEN_STATUSES).count()
            + selectors.rectifications_open(actor).count())


register_provider("service", _items, _count)


def _panel(request: Any, customer: Any) -> dict[str, Any]:
    return {"customer": customer, **selectors.customer_service(request.user, customer),
            "can_register": access.can(request.user, "service.register"), "today": timezone.localdate(),
            "now": timezone.now()}


register_panel(Panel(code="service", title=PLANNED["service"], order=40, template="service/_panel_service.html",
                     context=_panel, capability="service.view"))
