"""Navigation under 内部监督 for conduct signals, the audit explorer, process cycle times and data retention, and the
inbox of conduct signals waiting for review (it replaces core's provider of the same name, which only knew the
real-time bulk-view signal and could only link to the access log)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register

from . import conduct_rules as rules
from . import conduct_selectors as sel

SUPERVISION = _("内部监督")
register(NavEntry(SUPERVISION, _("员工行为监测"), "supervision:conduct", "supervision.conduct", "person-exclamation", 90))
register(NavEntry(SUPERVISION, _("审计查询"), "supervision:audit", "supervision.audit", "journal-check", 91))
register(NavEntry(SUPERVISION, _("流程时效"), "supervision:cycle", "supervision.cycle", "stopwatch", 92))
register(NavEntry(SUPERVISION, _("数据保留"), "supervision:retention", "supervision.retention", "archive", 93))


def _open_signals(actor: Any):
    if not access.can(actor, "supervision.conduct_review"):
        return sel.signals_visible(actor).none()
    return sel.signal_list(actor, status="open")


def _items(actor: Any):
    for s in _open_signals(actor)[:50]:
        yield InboxItem(kind="conduct", kind_label=_("员工行为预警"),
                        title=f"{s.staff.name}（{s.staff.staff_no}）：{rules.summary(s.kind, s.detail)}",
                        url=reverse("supervision:conduct_signal", args=[s.pk]), due_at=None,
                        subtitle=s.created_at.strftime("%Y-%m-%d %H:%M"))


register_provider("core.conduct", _items, lambda actor: _open_signals(actor).count())
