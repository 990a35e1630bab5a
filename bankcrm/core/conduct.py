"""Compliance's view of staff-conduct signals: an inbox provider. The supervision app replaces it (same name) with one
that knows every kind of signal and links to the signal's review page."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import access
from .inbox import InboxItem, register_provider
from .models import ConductSignal

LABELS = {"bulk_view_unmanaged": gettext_lazy("短时间内查看大量非管户客户")}


def signals_for(actor):
    if not access.can(actor, "core.view_access_log"):
        return ConductSignal.objects.none()
    root = access.scope_root(actor)
    qs = ConductSignal.objects.filter(status=ConductSignal.Status.OPEN).select_related("staff")
    return qs if root is None else qs.filter(branch_path__startswith=root)


def _items(actor):
    for s in signals_for(actor)[:50]:
        yield InboxItem(kind="conduct", kind_label=gettext_lazy("员工行为预警"),
                        title=_("%(name)s（%(no)s）：%(what)s（%(n)s 名）") % {
                            "name": s.staff.name, "no": s.staff.staff_no, "what": LABELS.get(s.kind, s.kind),
                            "n": s.detail.get("customers", "")},
                        url=reverse("core:access_log") + f"?actor={s.staff.staff_no}", due_at=None,
                        subtitle=s.created_at.strftime("%Y-%m-%d %H:%M"))


register_provider("core.conduct", _items, lambda a: signals_for(a).count())
