"""Scoped reads of inspections: compliance at head office sees every branch, branch supervisors (and risk managers,
administrators) their subtree, read-only. An inspection outside the actor's scope is NotFound."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from .models import ChecklistTemplate, Inspection, InspectionPlan, SampleItem


def plans_visible(actor: Any) -> QuerySet[InspectionPlan]:
    if not access.can(actor, "supervision.view"):
        return InspectionPlan.objects.none()
    return (InspectionPlan.objects.filter(access.branch_scope_q(actor, "branch_path"))
            .select_related("branch", "template"))


def plan_get(actor: Any, plan_id: Any, *, for_update: bool = False) -> InspectionPlan:
    qs = plans_visible(actor)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=int(plan_id))
    except (InspectionPlan.DoesNotExist, ValueError, TypeError):
        raise NotFound("plan_not_found", _("检查计划不存在或无权查看")) from None


def inspections_visible(actor: Any, *, status: str = "", branch_id: Any = None) -> QuerySet[Inspection]:
    if not access.can(actor, "supervision.view"):
        return Inspection.objects.none()
    qs = Inspection.objects.filter(access.branch_scope_q(actor, "branch_path")).select_related(
        "branch", "template", "inspector", "plan")
    if status:
        qs = qs.filter(status=status)
    if branch_id:
        qs = qs.filter(branch_id=branch_id)
    return qs.annotate(n_items=Count("items", distinct=True),
                       n_checked=Count("items", filter=~Q(items__result=SampleItem.Result.PENDING), distinct=True),
                       n_failed=Count("items", filter=Q(items__result=SampleItem.Result.FAIL), distinct=True))


def inspection_get(actor: Any, inspection_id: Any, *, for_update: bool = False) -> Inspection:
    qs = Inspection.objects.filter(access.branch_scope_q(actor, "branch_path")) if access.can(
        actor, "supervision.view") else Inspection.objects.none()
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.select_related("branch", "template", "inspector", "plan").get(pk=int(inspection_id))
    except (Inspection.DoesNotExist, ValueError, TypeError):
        raise NotFound("inspection_not_found", _("检查不存在或无权查看")) from None


def items_of(inspection: Inspection) -> QuerySet[SampleItem]:
    """The inspection's sampled records by kind, member of staff and draw order (already in the actor's scope)."""
    return inspection.items.select_related("staff", "checked_by").order_by("kind", "staff__staff_no", "position", "pk")


def item_get(actor: Any, item_id: Any, *, for_update: bool = False) -> SampleItem:
    visible = Inspection.objects.filter(access.branch_scope_q(actor, "branch_path")) if access.can(
        actor, "supervision.view") else Inspection.objects.none()
    qs = SampleItem.objects.filter(inspection__in=visible)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.select_related("inspection", "inspection__template", "inspection__branch", "staff").get(
            pk=int(item_id))
    except (SampleItem.DoesNotExist, ValueError, TypeError):
        raise NotFound("sample_item_not_found", _("样本不存在或无权查看")) from None


def templates_active() -> QuerySet[ChecklistTemplate]:
    """The newest active version of each checklist (reference data, not personal: no scope)."""
    latest: dict[str, int] = {}
    for pk, code in ChecklistTemplate.objects.filter(active=True).order_by("code", "-version").values_list("pk", "code"):
        latest.setdefault(code, pk)
    return ChecklistTemplate.objects.filter(pk__in=latest.values()).order_by("code")


def template_get(template_id: Any) -> ChecklistTemplate:
    try:
        return ChecklistTemplate.objects.get(pk=int(template_id))
    except (ChecklistTemplate.DoesNotExist, ValueError, TypeError):
        raise NotFound("template_not_found", _("检查清单不存在")) from None


def findings_of(actor: Any, inspection: Inspection) -> QuerySet:
    """Findings the inspection raised, as far as the actor may see findings (section A's selector when present)."""
    try:
        from .finding_selectors import findings_visible
    except ImportError:  # section A not there yet
        return inspection.findings.none()
    return findings_visible(actor).filter(inspection=inspection)
