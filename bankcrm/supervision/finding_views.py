"""Pages of findings (检查发现): the list with filters, raising a manual finding, and the finding page with its
timeline, rectification actions, re-check, close and accountability. Each POST on the finding page names one
operation (``op``) and calls one service; the service checks who may do it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bankcrm.core import access
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import controls as registry
from . import finding_rules as fr
from . import finding_selectors as sel
from . import finding_services as svc
from .finding_forms import (
    AccountabilityForm,
    ActionForm,
    AssignForm,
    CloseForm,
    DoneForm,
    FindingFilterForm,
    FindingRaiseForm,
    RecheckForm,
    SubmitForm,
)
from .models import Finding

TONE = {"critical": "danger", "high": "warning", "medium": "info", "low": "secondary"}


@capability_required("supervision.view")
def finding_list(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    if "status" not in data:
        data["status"] = "live"
    form = FindingFilterForm(data, actor=request.user)
    cd: dict[str, Any] = form.cleaned_data if form.is_valid() else {"status": "live"}
    qs = sel.findings_filtered(request.user, status=cd.get("status") or "", severity=cd.get("severity") or "",
                               branch_id=cd.get("branch"), control=cd.get("control") or "",
                               overdue=bool(cd.get("overdue")))
    page = paginate(request, qs, 30)
    today = timezone.localdate()
    for f in page:
        f.overdue = fr.is_overdue(f.status, f.due_on, today)  # type: ignore[attr-defined]
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "supervision/findings/list.html", {
        "form": form, "page": page, "query": query.urlencode(), "counts": sel.severity_counts(request.user),
        "can_raise": access.can(request.user, "supervision.findings"), "tone": TONE})


@capability_required("supervision.findings")
@require_http_methods(["GET", "POST"])
def finding_new(request: HttpRequest) -> HttpResponse:
    form = FindingRaiseForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            f = entrypoint(svc.finding_raise)(actor=request.user, source="manual", title=cd["title"],
                                              severity=cd["severity"], branch_id=cd["branch"],
                                              clause_code=cd["clause"], detail=cd["detail"], due_on=cd["due_on"])
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("已登记检查发现 %(n)s") % {"n": f.number})
            return redirect("supervision:finding", pk=f.pk)
    return render(request, "supervision/findings/new.html", {"form": form})


OPS = ("assign", "action_add", "action_done", "submit", "recheck", "close", "accountability")


@capability_required("supervision.view")
@require_http_methods(["GET", "POST"])
def finding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    f = sel.finding_get(user, pk)
    forms: dict[str, Any] = {}
    if request.method == "POST":
        op = request.POST.get("op", "")
        if op not in OPS:
            raise NotFound("op_unknown", _("不支持的操作"))
        done, form = _post(request, f, op)
        if done:
            return redirect("supervision:finding", pk=f.pk)
        forms[op] = form
        f = sel.finding_get(user, pk)
    return render(request, "supervision/findings/detail.html", _context(request, f, forms))


def _post(request: HttpRequest, f: Finding, op: str) -> tuple[bool, Any]:
    user, P = request.user, request.POST
    form: Any = None
    try:
        if op == "assign":
            form = AssignForm(P, branch_path=f.branch_path)
            if form.is_valid():
                entrypoint(svc.finding_assign)(actor=user, finding_id=f.pk, owner_id=form.cleaned_data["owner"],
                                               reason=form.cleaned_data["reason"])
                messages.success(request, _("整改责任人已变更"))
                return True, form
        elif op == "action_add":
            form = ActionForm(P, branch_path=f.branch_path)
            if form.is_valid():
                cd = form.cleaned_data
                entrypoint(svc.action_add)(actor=user, finding_id=f.pk, action=cd["action"], owner_id=cd["owner"],
                                           due_on=cd["due_on"])
                messages.success(request, _("已添加整改措施"))
                return True, form
        elif op == "action_done":
            form = DoneForm(P)
            if form.is_valid():
                entrypoint(svc.action_done)(actor=user, action_id=form.cleaned_data["action_id"],
                                            evidence=form.cleaned_data["evidence"])
                messages.success(request, _("已登记整改完成"))
                return True, form
        elif op == "submit":
            form = SubmitForm(P)
            if form.is_valid():
                entrypoint(svc.finding_submit_rectified)(actor=user, finding_id=f.pk, note=form.cleaned_data["note"])
                messages.success(request, _("已提交整改，等待合规复查"))
                return True, form
        elif op == "recheck":
            form = RecheckForm(P)
            if form.is_valid():
                cd = form.cleaned_data
                a = entrypoint(svc.action_recheck)(actor=user, action_id=cd["action_id"], passed=cd["result"] == "pass",
                                                   note=cd["note"])
                if a.status == "passed":
                    messages.success(request, _("复查通过"))
                else:
                    messages.warning(request, _("复查未通过，已退回整改"))
                return True, form
        elif op == "close":
            form = CloseForm(P)
            if form.is_valid():
                entrypoint(svc.finding_close)(actor=user, finding_id=f.pk, note=form.cleaned_data["note"],
                                              reason=form.cleaned_data["reason"])
                messages.success(request, _("检查发现已关闭"))
                return True, form
        elif op == "accountability":
            form = AccountabilityForm(P, actor=user, branch_path=f.branch_path)
            if form.is_valid():
                cd = form.cleaned_data
                entrypoint(svc.accountability_record)(actor=user, finding_id=f.pk, staff_id=cd["staff"],
                                                      measure=cd["measure"], note=cd["note"])
                messages.success(request, _("已登记问责"))
                return True, form
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        apply_error(form, request, exc)
    return False, form


def _context(request: HttpRequest, f: Finding, forms: dict[str, Any]) -> dict[str, Any]:
    user = request.user
    today = timezone.localdate()
    actions = list(sel.actions_of(f))
    is_compliance = access.can(user, "supervision.findings")
    may_rectify = access.can(user, "supervision.rectify") and (f.owner_id == user.pk or is_compliance or
                                                                svc._in_scope(user, f.branch_path))
    running = f.status in fr.RUNNING
    for a in actions:
        a.can_done = running and a.status in ("open", "failed") and access.can(user, "supervision.rectify") and (  # type: ignore[attr-defined]
            a.owner_id == user.pk or ("branch_supervisor" in user.roles and svc._in_scope(user, f.branch_path)))
        a.can_recheck = is_compliance and a.status == "done" and user.pk not in (a.owner_id, f.owner_id)  # type: ignore[attr-defined]
        a.overdue = a.status in ("open", "failed") and a.due_on < today  # type: ignore[attr-defined]
        a.done_form = forms.get("action_done") if forms.get("action_done") is not None and str(  # type: ignore[attr-defined]
            forms["action_done"].data.get("action_id")) == str(a.pk) else DoneForm(initial={"action_id": a.pk})
        a.recheck_form = forms.get("recheck") if forms.get("recheck") is not None and str(  # type: ignore[attr-defined]
            forms["recheck"].data.get("action_id")) == str(a.pk) else RecheckForm(initial={"action_id": a.pk})
    statuses = [a.status for a in actions]
    control = registry.get(f.control) if f.control else None
    return {
        "f": f, "actions": actions, "timeline": sel.timeline(f), "accountabilities": sel.accountabilities_of(f),
        "control": control, "tone": TONE, "overdue": fr.is_overdue(f.status, f.due_on, today),
        "can_assign": f.status != "closed" and (is_compliance or f.owner_id == user.pk),
        "can_add_action": running and may_rectify,
        "can_submit": running and may_rectify and fr.may_submit(statuses),
        "can_close": is_compliance and f.status != "closed" and fr.may_close(actor_id=user.pk, owner_id=f.owner_id,
                                                                             staff_id=f.staff_id),
        "close_needs_reason": fr.close_needs_reason(statuses),
        "can_account": is_compliance,
        "assign_form": forms.get("assign") or AssignForm(branch_path=f.branch_path),
        "action_form": forms.get("action_add") or ActionForm(branch_path=f.branch_path, due_on=f.due_on,
                                                             initial={"owner": f.owner_id}),
        "submit_form": forms.get("submit") or SubmitForm(),
        "close_form": forms.get("close") or CloseForm(),
        "account_form": forms.get("accountability") or AccountabilityForm(actor=user, branch_path=f.branch_path,
                                                                          initial={"staff": f.staff_id}),
    }
