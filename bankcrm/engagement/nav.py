"""Navigation (客户经营), the inbox provider (my due or reminded tasks, referrals waiting for me, my planned contacts of
today or earlier) and the customer 360 "engagement" panel.

The panel leaves two slots for the other engagement features: ``engagement/_panel_insights.html`` (insights and life
events) and ``engagement/_panel_nba.html`` (segments and recommendations). Each is included only when its template
exists; their data comes from callables appended to ``PANEL_EXTRAS`` (``extra(request, customer) -> dict``), whose
results are merged into the panel's context.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Any

from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, logs
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register
from bankcrm.core.panels import PLANNED, Panel
from bankcrm.core.panels import register as register_panel

from . import rules, selectors

ENGAGEMENT = _("客户经营")
register(NavEntry(ENGAGEMENT, _("我的任务"), "engagement:tasks", "engagement.view", "check2-square", 70))
register(NavEntry(ENGAGEMENT, _("经营日历"), "engagement:calendar", "engagement.view", "calendar3", 71))
register(NavEntry(ENGAGEMENT, _("记录互动"), "engagement:log", "engagement.log", "chat-dots", 72))
register(NavEntry(ENGAGEMENT, _("互动记录"), "engagement:interactions", "engagement.view", "journal-text", 73))
register(NavEntry(ENGAGEMENT, _("商机管道"), "engagement:pipeline", "engagement.view", "funnel", 74))
register(NavEntry(ENGAGEMENT, _("客户转介"), "engagement:referrals", "engagement.pipeline", "arrow-left-right", 75))
register(NavEntry(ENGAGEMENT, _("行动计划模板"), "engagement:templates", "engagement.manage", "list-check", 79))

# Other engagement features add their panel data here (see the module docstring).
PANEL_EXTRAS: list[Callable[[Any, Any], dict[str, Any]]] = []
SLOTS = {"insights": "engagement/_panel_insights.html", "nba": "engagement/_panel_nba.html"}


def _end(day: Any) -> datetime:
    return datetime.combine(day, time(23, 59, 59), timezone.get_default_timezone())


def _items(actor: Any):
    if not access.can(actor, "engagement.view"):
        return
    for t in selectors.due_tasks(actor).select_related("customer").order_by("due_on", "id")[:30]:
        overdue = t.due_on < timezone.localdate()
        yield InboxItem(kind="engagement_task", kind_label=_("任务提醒") if not overdue else _("逾期任务"),
                        title=t.title, url=reverse("engagement:tasks") + f"#task-{t.pk}", due_at=_end(t.due_on),
                        subtitle=gettext("到期日 %(d)s%(c)s") % {
                            "d": t.due_on, "c": f" · {t.customer.customer_no}" if t.customer_id else ""})
    for r in selectors.referrals_to_me(actor).select_related("customer", "from_staff").order_by("created_at")[:30]:
        yield InboxItem(kind="engagement_referral", kind_label=_("待接收转介"),
                        title=f"R{r.pk} {r.customer.customer_no} · {r.reason[:40]}",
                        url=reverse("engagement:referral", args=[r.pk]),
                        subtitle=gettext("转介人 %(n)s") % {"n": r.from_staff.name})
    for i in selectors.planned_contacts_due(actor).select_related("customer").order_by("planned_at")[:30]:
        yield InboxItem(kind="engagement_contact", kind_label=_("计划联系"),
                        title=f"{i.get_kind_display()} · {i.customer.customer_no} · {i.subject}",
                        url=reverse("engagement:interaction", args=[i.pk]), due_at=i.planned_at,
                        subtitle=gettext("计划于 %(t)s") % {"t": f"{timezone.localtime(i.planned_at):%m-%d %H:%M}"})


def _count(actor: Any) -> int:
    if not access.can(actor, "engagement.view"):
        return 0
    return (selectors.due_tasks(actor).count() + selectors.referrals_to_me(actor).count()
            + selectors.planned_contacts_due(actor).count())


register_provider("engagement", _items, _count)


def template_exists(name: str) -> bool:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return False
    return True


def panel_context(request: Any, customer: Any) -> dict[str, Any]:
    from .forms import QuickInteractionForm

    user = request.user
    data = selectors.customer_engagement(user, customer)
    if data["recent"] or data["planned"] or data["needs"]:
        logs.access(actor=user, view="engagement.customer_panel", subject_type="customers.Customer",
                    subject_ids=[customer.pk], fields=["interaction_notes", "needs"])
    active = customer.status == "active"
    ctx: dict[str, Any] = {
        "customer": customer, **data, "goals": dict(rules.GOALS),
        "can_log": access.can(user, "engagement.log") and active,
        "can_needs": access.can(user, "engagement.needs") and active,
        "can_pipeline": access.can(user, "engagement.pipeline") and active,
        "quick_form": QuickInteractionForm(prefix="quick") if active else None,
        "now": timezone.now(), "today": timezone.localdate(),
    }
    for code, name in SLOTS.items():
        ctx[f"has_{code}_panel"] = template_exists(name)
    for extra in PANEL_EXTRAS:
        ctx.update(extra(request, customer) or {})
    return ctx


register_panel(Panel(code="engagement", title=PLANNED["engagement"], order=50,
                     template="engagement/_panel_engagement.html", context=panel_context,
                     capability="engagement.view"))
