"""Navigation (内部监督 → 权限复核), the inbox provider (reviews the actor must decide, overdue ones flagged) and the
home-page section (supervisors: this quarter's access reviews due)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core.home import HomeSection
from bankcrm.core.home import register as register_home
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register

from . import access_review_selectors as sel

SUPERVISION = _("内部监督")
register(NavEntry(SUPERVISION, _("权限复核"), "supervision:access_reviews", "supervision.view", "person-lock", 86))


def _end(day: Any) -> datetime:
    return datetime.combine(day, time(23, 59, 59), timezone.get_default_timezone())


def _items(actor: Any):
    for r in sel.reviews_due_for(actor)[:30]:
        overdue = r.due_on < timezone.localdate()
        yield InboxItem(kind="access_review", kind_label=_("权限复核逾期") if overdue else _("权限复核"),
                        title=gettext("%(p)s %(b)s：%(n)d 个角色待确认") % {"p": r.period, "b": r.branch.label,
                                                                          "n": r.n_pending},
                        url=reverse("supervision:access_review", args=[r.pk]), due_at=_end(r.due_on),
                        subtitle=gettext("复核期限 %(d)s") % {"d": r.due_on})


register_provider("supervision.access_reviews", _items, lambda actor: sel.reviews_due_for(actor).count())


def home_context(request: Any) -> dict | None:
    rows = list(sel.reviews_due_for(request.user)[:6])
    if not rows:
        return None
    today = timezone.localdate()
    for r in rows:
        r.overdue = r.due_on < today
        r.done = r.n_items - r.n_pending
        r.progress = round(100 * r.done / r.n_items) if r.n_items else 100
    return {"rows": rows}


register_home(HomeSection(code="supervision.access_reviews", order=43, template="supervision/access_reviews/_home.html",
                          context=home_context, capability="supervision.access_review"))
