"""检查计划 and 现场检查 pages: plans (list, new, edit), inspections (list, new, the inspection page with its sample
table by kind and member of staff, the checklist form of each sampled record, progress, findings raised, exports).
Compliance managers plan and inspect; branch supervisors read their subtree's inspections."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate
from bankcrm.org.selectors import branches_visible

from . import inspection_reports as reports
from . import inspection_selectors as sel
from . import inspection_services as services
from .inspection_forms import CancelForm, CompleteForm, InspectionForm, ItemForm, PlanForm
from .models import Inspection, SampleItem, SampleKind


def _apply(form: Any, exc: DomainError) -> None:
    placed = False
    for name, msgs in exc.fields.items():
        for m in msgs:
            if name in form.fields:
                form.add_error(name, str(m))
                placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _choices(user: Any) -> dict[str, Any]:
    return {"branches": branches_visible(user).filter(is_active=True).order_by("path"),
            "templates": sel.templates_active()}


# ---- Plans -------------------------------------------------------------------------------------------------------
@capability_required("supervision.view")
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = sel.plans_visible(request.user).order_by("-active", "next_on", "branch_path")
    return render(request, "supervision/inspections/plans.html", {
        "page": paginate(request, plans, 30), "can_plan": access.can(request.user, "supervision.inspect")})


def _plan_form(request: HttpRequest, plan: Any = None) -> HttpResponse:
    user = request.user
    initial = {}
    if plan is not None:
        initial = {"name": plan.name, "branch": plan.branch_id, "frequency": plan.frequency,
                   "template": plan.template_id, "sample_customers": plan.sample_customers,
                   "sample_transactions": plan.sample_transactions, "sample_complaints": plan.sample_complaints,
                   "risk_weighted": plan.risk_weighted, "next_on": plan.next_on, "active": plan.active}
    form = PlanForm(request.POST if request.method == "POST" else None, initial=initial, **_choices(user))
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            saved = entrypoint(services.plan_save)(
                actor=user, plan_id=plan.pk if plan else None, name=cd["name"], branch_id=int(cd["branch"]),
                frequency=cd["frequency"], template_id=int(cd["template"]), sample_customers=cd["sample_customers"],
                sample_transactions=cd["sample_transactions"], sample_complaints=cd["sample_complaints"],
                risk_weighted=cd["risk_weighted"], next_on=cd["next_on"], active=cd["active"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("检查计划已保存，下次检查日 %(d)s") % {"d": saved.next_on})
            return redirect("supervision:inspection_plans")
    return render(request, "supervision/inspections/plan_form.html", {"form": form, "plan": plan})


@capability_required("supervision.inspect")
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest) -> HttpResponse:
    return _plan_form(request)


@capability_required("supervision.inspect")
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _plan_form(request, sel.plan_get(request.user, pk))


# ---- Inspections ----------------------------------------------------------------------------------------------------
@capability_required("supervision.view")
def inspection_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Inspection.Status.values:
        status = ""
    qs = sel.inspections_visible(request.user, status=status).order_by("-created_at", "-pk")
    page = paginate(request, qs, 25)
    for i in page:
        i.progress = round(100 * i.n_checked / i.n_items) if i.n_items else 0
    return render(request, "supervision/inspections/list.html", {
        "page": page, "status": status, "statuses": Inspection.Status.choices,
        "can_inspect": access.can(request.user, "supervision.inspect")})


@capability_required("supervision.inspect")
@require_http_methods(["GET", "POST"])
def inspection_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = InspectionForm(request.POST if request.method == "POST" else None, **_choices(user))
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            insp = entrypoint(services.inspection_create)(
                actor=user, branch_id=int(cd["branch"]), template_id=int(cd["template"]),
                period_start=cd["period_start"], period_end=cd["period_end"], sample_customers=cd["sample_customers"],
                sample_transactions=cd["sample_transactions"], sample_complaints=cd["sample_complaints"],
                risk_weighted=cd["risk_weighted"], seed=cd["seed"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("检查 %(n)s 已创建，请抽取样本") % {"n": insp.number})
            return redirect("supervision:inspection", pk=insp.pk)
    return render(request, "supervision/inspections/new.html", {"form": form})


def _detail(request: HttpRequest, insp: Inspection, *, bad: dict[int, ItemForm] | None = None,
            complete_form: CompleteForm | None = None, cancel_form: CancelForm | None = None,
            status: int = 200) -> HttpResponse:
    user = request.user
    items = list(sel.items_of(insp))
    can_inspect = access.can(user, "supervision.inspect") and insp.status == Inspection.Status.IN_PROGRESS
    checks = {k: insp.template.checks(k) for k in SampleKind.values}
    groups: list[dict[str, Any]] = []
    index: dict[tuple[str, Any], dict[str, Any]] = {}
    for it in items:
        key = (it.kind, it.staff_id)
        if key not in index:
            index[key] = {"kind": it.kind, "kind_label": it.get_kind_display(), "staff": it.staff, "rows": []}
            groups.append(index[key])
        form = (bad or {}).get(it.pk)
        if form is None and can_inspect:
            form = ItemForm(checks=checks[it.kind], prefix=f"i{it.pk}",
                            initial={"evidence": it.evidence, **{f"check_{k}": v for k, v in (it.answers or {}).items()}})
        failed = [c for c in checks[it.kind] if (it.answers or {}).get(c["code"]) == "no"]
        index[key]["rows"].append({"item": it, "form": form, "failed": failed, "open": it.pk in (bad or {}),
                                   "own": it.staff_id == user.pk,
                                   "answers": [(c, (it.answers or {}).get(c["code"])) for c in checks[it.kind]]})
    counts = {r: sum(1 for i in items if i.result == r) for r in SampleItem.Result.values}
    total = len(items)
    done = total - counts["pending"]
    customer_ids = [i.object_id for i in items if i.kind == SampleKind.CUSTOMER]
    if customer_ids:
        logs.access(actor=user, view="supervision.inspection", subject_type="customers.Customer",
                    subject_ids=customer_ids, fields=["name"])
    return render(request, "supervision/inspections/detail.html", {
        "insp": insp, "groups": groups, "counts": counts, "total": total, "done": done,
        "progress": round(100 * done / total) if total else 0, "findings": list(sel.findings_of(user, insp)),
        "can_inspect": can_inspect, "can_sample": access.can(user, "supervision.inspect") and insp.status in (
            Inspection.Status.PLANNED, Inspection.Status.IN_PROGRESS),
        "can_export": access.can(user, "supervision.export"),
        "complete_form": complete_form or CompleteForm(initial={"conclusion": insp.conclusion}),
        "can_cancel": access.can(user, "supervision.inspect") and insp.status in (
            Inspection.Status.PLANNED, Inspection.Status.IN_PROGRESS) and not insp.findings.exists(),
        "cancel_form": cancel_form or CancelForm(),
        "sizes": [(label, int((insp.sizes or {}).get(k, 0))) for k, label in SampleKind.choices]}, status=status)


@capability_required("supervision.view")
def inspection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, sel.inspection_get(request.user, pk))


@capability_required("supervision.inspect")
@require_POST
def inspection_sample(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        insp = entrypoint(services.inspection_sample)(actor=request.user, inspection_id=pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("supervision:inspection", pk=pk)
    messages.success(request, _("已按抽样种子 %(s)s 抽取 %(n)d 个样本") % {"s": insp.seed, "n": insp.items.count()})
    return redirect("supervision:inspection", pk=pk)


@capability_required("supervision.inspect")
@require_POST
def inspection_item(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    item = sel.item_get(user, pk)
    form = ItemForm(request.POST, checks=item.inspection.template.checks(item.kind), prefix=f"i{item.pk}")
    if form.is_valid():
        try:
            saved = entrypoint(services.item_record)(actor=user, item_id=item.pk, answers=form.answers(),
                                                     evidence=form.cleaned_data["evidence"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _apply(form, exc)
        else:
            if saved.result == SampleItem.Result.FAIL:
                messages.warning(request, _("%(l)s：不合规，已登记检查发现") % {"l": saved.label})
            else:
                messages.success(request, _("%(l)s：%(r)s") % {"l": saved.label, "r": saved.get_result_display()})
            return redirect(f"{_url(item.inspection_id)}#item-{item.pk}")
    return _detail(request, sel.inspection_get(user, item.inspection_id), bad={item.pk: form}, status=400)


def _url(pk: int) -> str:
    from django.urls import reverse

    return reverse("supervision:inspection", args=[pk])


def _finish(request: HttpRequest, pk: int, form_class: Any, service: Any, field: str, done: Any,
            form_key: str) -> HttpResponse:
    """Complete or cancel: one form field passed to the service; refusals shown on the form, the page re-rendered."""
    user = request.user
    insp = sel.inspection_get(user, pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            entrypoint(service)(actor=user, inspection_id=insp.pk, **{field: form.cleaned_data[field]})
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, done % {"n": insp.number})
            return redirect("supervision:inspection", pk=insp.pk)
    return _detail(request, insp, status=400, **{form_key: form})


@capability_required("supervision.inspect")
@require_POST
def inspection_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _finish(request, pk, CompleteForm, services.inspection_complete, "conclusion", _("检查 %(n)s 已完成"),
                   "complete_form")


@capability_required("supervision.inspect")
@require_POST
def inspection_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _finish(request, pk, CancelForm, services.inspection_cancel, "reason", _("检查 %(n)s 已取消"),
                   "cancel_form")


@capability_required("supervision.export")
def inspection_report(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in ("xlsx", "pdf"):
        raise NotFound("format_not_found", _("不支持的格式"))
    name, content_type, data = entrypoint(reports.export)(actor=request.user, inspection_id=pk, fmt=fmt)
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
