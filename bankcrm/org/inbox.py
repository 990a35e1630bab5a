"""Org's contributions to the inbox: contracts of consultants, interns and temporary workers ending soon."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, params
from bankcrm.core.access import EmploymentType
from bankcrm.core.inbox import InboxItem, register_provider

from .models import Staff


def _ending_soon(actor):
    if not access.can(actor, "org.manage_staff") and not access.can(actor, "org.view_staff"):
        return Staff.objects.none()
    today = timezone.localdate()
    horizon = today + timedelta(days=params.value("staff.contract_expiry_warning"))
    return (Staff.objects.visible_to(actor).filter(is_active=True, contract_end__gte=today, contract_end__lte=horizon)
            .exclude(employment_type=EmploymentType.EMPLOYEE).select_related("branch").order_by("contract_end"))


def _items(actor):
    for s in _ending_soon(actor)[:50]:
        due = timezone.make_aware(datetime.combine(s.contract_end + timedelta(days=1), time.min))
        yield InboxItem(kind="contract", kind_label=gettext_lazy("合同到期"),
                        title=_("%(name)s（%(no)s）的合同将于 %(d)s 到期") % {"name": s.name, "no": s.staff_no, "d": s.contract_end},
                        url=reverse("org:staff_detail", args=[s.pk]), due_at=due,
                        subtitle=f"{s.branch.label} · {s.employment_label}")


register_provider("org.contracts", _items, lambda actor: _ending_soon(actor).count())
