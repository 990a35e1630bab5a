"""Navigation (内部监督 → 检查计划, 现场检查), the inbox provider (inspections in progress that the compliance manager
inspects) and the home-page section (compliance: inspections in progress with their progress)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.home import HomeSection
from bankcrm.core.home import register as register_home
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register

from . import inspection_selectors as sel
from .models import Inspection

SUPERVISION = _("内部监督")
register(NavEntry(SUPERVISION, _("检查计划"), "supervision:inspection_plans", "supervision.view", "calendar-check", 84))
register(NavEntry(SUPERVISION, _("现场检查"), "supervision:inspections", "supervision.view", "search", 85))


def _mine(actor: Any):
    """Inspections the compliance manager runs (in progress or planned) and planned ones nobody has taken yet."""
    if not access.can(actor, "supervision.inspect"):
        return Inspection.objects.none()
    live = [Inspection.Status.PLANNED, Inspection.Status.IN_PROGRESS]
    return sel.inspections_visible(actor).filter(Q(inspector=actor, status__in=live)
                                                 | Q(inspector__isnull=True, status=Inspection.Status.PLANNED))


def _items(actor: Any):
    for i in _mine(actor).order_by("period_end", "number")[:30]:
        subtitle = (gettext("已检查 %(c)d / %(n)d，不合规 %(f)d") % {"c": i.n_checked, "n": i.n_items, "f": i.n_failed}
                    if i.status == Inspection.Status.IN_PROGRESS else gettext("待抽样"))
        yield InboxItem(kind="inspection", kind_label=_("现场检查"),
                        title=f"{i.number} {i.branch.label} {i.period_start:%Y-%m-%d}~{i.period_end:%Y-%m-%d}",
                        url=reverse("supervision:inspection", args=[i.pk]), subtitle=subtitle)


register_provider("supervision.inspections", _items, lambda actor: _mine(actor).count())


def home_context(request: Any) -> dict | None:
    user = request.user
    if not access.can(user, "supervision.inspect"):
        return None
    rows = list(sel.inspections_visible(user, status=Inspection.Status.IN_PROGRESS).order_by("period_end", "number")[:8])
    planned = sel.inspections_visible(user, status=Inspection.Status.PLANNED).count()
    if not rows and not planned:
        return None
    for r in rows:
        r.progress = round(100 * r.n_checked / r.n_items) if r.n_items else 0
    return {"rows": rows, "planned": planned}


register_home(HomeSection(code="supervision.inspections", order=42, template="supervision/inspections/_home.html",
                          context=home_context, capability="supervision.inspect"))
