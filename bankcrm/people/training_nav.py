"""Training's navigation (the 员工发展 menu), its inbox provider (my assignments due soon or overdue, my certificates
about to expire; for supervisors, one line with the team's overdue count) and the 培训待办 home section shown to
everyone with something due."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.home import HomeSection
from bankcrm.core.home import register as register_home
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register

from . import training_selectors as sel

PEOPLE = _("员工发展")
register(NavEntry(PEOPLE, _("我的培训"), "people:training", "people.training", "mortarboard", 80))
register(NavEntry(PEOPLE, _("团队培训"), "people:training_team", "people.training_team", "people", 81))
register(NavEntry(PEOPLE, _("课程管理"), "people:courses", "people.manage_training", "journal-bookmark", 82))
register(NavEntry(PEOPLE, _("准入规则"), "people:gate_rules", "people.manage_training", "shield-lock", 83))


def _end(day: Any) -> datetime:
    return datetime.combine(day, time(23, 59, 59), timezone.get_default_timezone())


def _items(actor: Any):
    if not access.can(actor, "people.training"):
        return
    data = sel.due_items(actor)
    for a in data["due"]:
        overdue = a.urgency == "overdue"
        yield InboxItem(kind="people_training", kind_label=_("培训逾期") if overdue else _("培训待完成"),
                        title=a.course.title, url=reverse("people:course", args=[a.course_id]), due_at=_end(a.due_on),
                        subtitle=gettext("完成期限 %(d)s · %(r)s") % {"d": a.due_on, "r": a.get_reason_display()})
    for c in data["expiring"]:
        yield InboxItem(kind="people_certificate", kind_label=_("证书即将到期"), title=c.course.title,
                        url=reverse("people:course", args=[c.course_id]), due_at=_end(c.expires_on),
                        subtitle=gettext("证书 %(n)s 有效期至 %(d)s，请重新学习") % {"n": c.number, "d": c.expires_on})
    if access.can(actor, "people.training_team"):
        n = sel.team_overdue_count(actor)
        if n:
            yield InboxItem(kind="people_team_training", kind_label=_("团队培训"),
                            title=gettext("团队有 %(n)d 项培训已逾期") % {"n": n},
                            url=reverse("people:training_team") + "?status=overdue",
                            subtitle=gettext("请督促员工完成，或按规定免除"))


def _count(actor: Any) -> int:
    if not access.can(actor, "people.training"):
        return 0
    data = sel.due_items(actor)
    team = 1 if access.can(actor, "people.training_team") and sel.team_overdue_count(actor) else 0
    return len(data["due"]) + len(data["expiring"]) + team


register_provider("people_training", _items, _count)


def home_context(request: Any) -> dict[str, Any] | None:
    data = sel.due_items(request.user)
    if not data["due"] and not data["expiring"]:
        return None
    return {"td": data}


register_home(HomeSection(code="people.training", order=5, template="people/training/_home.html",
                          context=home_context, capability="people.training"))
