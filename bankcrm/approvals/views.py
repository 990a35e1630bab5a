from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError, PermissionDenied
from bankcrm.core.models import SecurityEvent
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import registry, selectors, services
from .models import PendingAction


@capability_required("approvals.submit")
def approval_list(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab") or ("todo" if access.can(request.user, "approvals.approve") else "mine")
    if tab == "todo":
        qs = selectors.pending_for_checker(request.user).order_by("expires_at")
    elif tab == "mine":
        qs = selectors.submitted_by(request.user)
    else:
        tab = "all"
        qs = selectors.approvals_visible(request.user)
    status = request.GET.get("status", "")
    if status in PendingAction.Status.values:
        qs = qs.filter(status=status)
    return render(request, "approvals/list.html", {
        "page": paginate(request, qs, 25), "tab": tab, "status": status, "statuses": PendingAction.Status.choices,
        "can_approve": access.can(request.user, "approvals.approve"), "now": timezone.now(),
    })


@capability_required("approvals.submit")
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pa = selectors.approval_get(request.user, pk)
    action = registry.ACTIONS.get(pa.action_code)
    can_decide = (pa.status == PendingAction.Status.PENDING and pa.maker_id != request.user.pk
                  and access.can(request.user, "approvals.approve") and pa.expires_at > timezone.now()
                  and (action is None or access.can(request.user, action.checker_capability)))
    return render(request, "approvals/detail.html", {
        "pa": pa, "action_label": action.label if action else pa.action_code, "can_decide": can_decide,
        "can_cancel": pa.status == PendingAction.Status.PENDING and pa.maker_id == request.user.pk,
        "payload_ok": services.payload_digest(pa.action_code, pa.payload) == pa.payload_hash,
        "expired": pa.expires_at <= timezone.now(),
        "described": action.describe(pa.payload) if action and action.describe else [],
    })


@require_POST
@capability_required("approvals.submit")
def approval_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    reason = request.POST.get("reason", "")
    try:
        if decision == "approve":
            pa = entrypoint(services.approval_approve)(actor=request.user, pending_id=pk, reason=reason)
            if pa.status == PendingAction.Status.EXECUTED:
                messages.success(request, _("已复核通过并执行"))
            else:
                messages.error(request, _("复核通过，但执行时校验未通过：%(m)s") % {"m": pa.result.get("error", {}).get("message", "")})
        elif decision == "reject":
            entrypoint(services.approval_reject)(actor=request.user, pending_id=pk, reason=reason)
            messages.success(request, _("已拒绝"))
        elif decision == "cancel":
            entrypoint(services.approval_cancel)(actor=request.user, pending_id=pk, reason=reason)
            messages.success(request, _("已撤回"))
        else:
            messages.error(request, _("未知操作"))
    except PermissionDenied as exc:
        if not exc.code.startswith("certificate_"):
            raise  # capability_required answers 403 and writes the denial to the security log
        # a training gate (people.gates): the item stays pending; say which certificate is missing on its page
        logs.security(SecurityEvent.Kind.DENIED, actor=request.user, username=request.user.staff_no,
                      capability=exc.params.get("capability", ""), method=request.method)
        messages.error(request, str(exc.message))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("approvals:detail", pk=pk)
