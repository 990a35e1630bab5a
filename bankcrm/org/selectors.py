"""Scoped reads of the organisation. An object outside the actor's scope is NotFound, never 'forbidden'."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from bankcrm.core.errors import NotFound

from .models import Branch, LiveSession, Staff


def branches_visible(actor: Any) -> QuerySet[Branch]:
    return Branch.objects.visible_to(actor).select_related("parent")


def branch_get(actor: Any, branch_id: Any, *, for_update: bool = False) -> Branch:
    qs = Branch.objects.visible_to(actor)
    if for_update:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=int(branch_id))
    except (Branch.DoesNotExist, ValueError, TypeError):
        raise NotFound("branch_not_found", _("机构不存在或无权查看")) from None


def staff_visible(actor: Any, *, q: str = "", branch_id: Any = None, role: str = "", employment_type: str = "",
                  active: str = "") -> QuerySet[Staff]:
    qs = Staff.objects.visible_to(actor).with_roles()
    if q:
        q = q.strip()
        qs = qs.filter(Q(staff_no__icontains=q) | Q(name__icontains=q))
    if branch_id:
        try:
            branch = branch_get(actor, branch_id)
            qs = qs.filter(branch__path__startswith=branch.path)
        except NotFound:
            qs = qs.none()
    if role:
        qs = qs.filter(role_assignments__role=role)
    if employment_type:
        qs = qs.filter(employment_type=employment_type)
    if active in ("1", "0"):
        qs = qs.filter(is_active=active == "1")
    return qs.distinct()


def staff_get(actor: Any, staff_id: Any, *, for_update: bool = False) -> Staff:
    qs = Staff.objects.visible_to(actor)
    if for_update:
        qs = qs.select_for_update()
    try:
        return qs.select_related("branch").get(pk=int(staff_id))
    except (Staff.DoesNotExist, ValueError, TypeError):
        raise NotFound("staff_not_found", _("员工不存在或无权查看")) from None


def live_sessions_of(staff: Staff) -> QuerySet[LiveSession]:
    return LiveSession.objects.filter(staff=staff, ended_at__isnull=True).order_by("-last_seen_at")
