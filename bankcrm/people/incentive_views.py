"""Incentive pages (员工发展 › 奖金池 / 我的激励 / 绩效追索 / 激励方案): thin views over incentive_selectors and
incentive_services; every write in the entry point's durable transaction, every error shown where it belongs."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import incentive_export, incentive_forms
from . import incentive_selectors as sel
from . import incentive_services as svc
from .models import Clawback, IncentivePool, IncentiveScheme


def _show(form: Any, request: HttpRequest, exc: DomainError) -> None:
    if isinstance(exc, (NotFound, PermissionDenied)):
        raise exc
    apply_error(form, request, exc)


def _branches(user: Any) -> Any:
    from bankcrm.org.models import Branch

    return Branch.objects.filter(access.branch_scope_q(user, "path")).order_by("path")


def _pool_form(request: HttpRequest, data: Any = None, initial: dict | None = None) -> incentive_forms.PoolForm:
    return incentive_forms.PoolForm(data, initial=initial, branches=_branches(request.user),
                                    periods=sel.periods_for_pools(),
                                    schemes=sel.schemes_visible(request.user).filter(active=True))


# ---- Pools --------------------------------------------------------------------------------------------------------------
@capability_required("people.incentive_pools")
def pool_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in IncentivePool.Status.values:
        status = ""
    page = paginate(request, sel.pools_list(request.user, status=status), 25)
    return render(request, "people/incentives/pool_list.html", {
        "page": page, "status": status, "statuses": IncentivePool.Status.choices,
        "can_make": access.can(request.user, "people.incentives"),
        "awaiting": sel.pools_awaiting_approval(request.user).count()})


@capability_required("people.incentives")
@require_http_methods(["GET", "POST"])
def pool_new(request: HttpRequest) -> HttpResponse:
    if not sel.schemes_visible(request.user).filter(active=True).exists():
        entrypoint(svc.scheme_install_default)(actor=request.user)
    form = _pool_form(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            pool = entrypoint(svc.pool_save)(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _show(form, request, exc)
        else:
            messages.success(request, _("奖金池已设立，请执行分配"))
            return redirect("people:pool", pk=pool.pk)
    return render(request, "people/incentives/pool_form.html", {"form": form, "pool": None})


@capability_required("people.incentives")
@require_http_methods(["GET", "POST"])
def pool_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pool = sel.pool_get(request.user, pk)
    initial = {"branch_id": pool.branch_id, "period_id": pool.period_id, "scheme_id": pool.scheme_id,
               "amount": f"{pool.amount_fen / 100:.2f}"}
    form = _pool_form(request, request.POST if request.method == "POST" else None, initial)
    if request.method == "POST" and form.is_valid():
        try:
            entrypoint(svc.pool_save)(actor=request.user, pool_id=pool.pk, **form.cleaned_data)
        except DomainError as exc:
            _show(form, request, exc)
        else:
            messages.success(request, _("奖金池已修改，原分配已清除，请重新分配"))
            return redirect("people:pool", pk=pool.pk)
    return render(request, "people/incentives/pool_form.html", {"form": form, "pool": pool})


@capability_required("people.incentive_pools")
def pool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    pool = sel.pool_get(user, pk)
    awards = sel.pool_awards(user, pool)
    maker = pool.pending_action.maker_id if pool.pending_action_id else None
    return render(request, "people/incentives/pool_detail.html", {
        "pool": pool, "awards": awards, "see_allocation": sel.can_see_allocation(user, pool),
        "see_ranking": sel.can_see_ranking(user),
        "total_fen": sum(a.amount_fen for a in awards), "clawed_fen": sum(a.clawed_back_fen for a in awards),
        "can_make": access.can(user, "people.incentives"), "can_export": access.can(user, "people.export"),
        "can_approve": (pool.status == IncentivePool.Status.PENDING and access.can(user, "people.approve_incentives")
                        and maker != user.pk),
        "paid_form": incentive_forms.PaidForm(), "clawbacks": Clawback.objects.filter(award__pool=pool).count()})


def _pool_action(request: HttpRequest, pk: int, call: Any, ok: str) -> HttpResponse:
    try:
        entrypoint(call)()
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, f"{exc.message}")
    else:
        messages.success(request, ok)
    return redirect("people:pool", pk=pk)


@capability_required("people.incentives")
@require_POST
def pool_allocate(request: HttpRequest, pk: int) -> HttpResponse:
    return _pool_action(request, pk, lambda: svc.pool_allocate(actor=request.user, pool_id=pk),
                        _("已按考核得分完成分配"))


@capability_required("people.incentives")
@require_POST
def pool_submit(request: HttpRequest, pk: int) -> HttpResponse:
    reason = (request.POST.get("reason") or "")[:500]
    return _pool_action(request, pk, lambda: svc.pool_submit(actor=request.user, pool_id=pk, reason=reason),
                        _("已提交复核，等待另一位有权人员复核"))


@capability_required("people.incentives")
@require_POST
def pool_paid(request: HttpRequest, pk: int) -> HttpResponse:
    form = incentive_forms.PaidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写正确的发放日期"))
        return redirect("people:pool", pk=pk)
    return _pool_action(request, pk, lambda: svc.pool_mark_paid(actor=request.user, pool_id=pk,
                                                                paid_on=form.cleaned_data["paid_on"]),
                        _("已登记发放"))


@capability_required("people.export")
def pool_export(request: HttpRequest, pk: int) -> HttpResponse:
    name, ctype, body = entrypoint(incentive_export.payout_xlsx)(actor=request.user, pool_id=pk)
    resp = HttpResponse(body, content_type=ctype)
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


# ---- Own awards ---------------------------------------------------------------------------------------------------------
@capability_required("people.my_incentives")
def my_incentives(request: HttpRequest) -> HttpResponse:
    awards = list(sel.my_awards(request.user))
    clawbacks = list(sel.my_clawbacks(request.user).order_by("-found_at"))
    return render(request, "people/incentives/my_incentives.html", {
        "awards": awards, "clawbacks": clawbacks, "total_fen": sum(a.amount_fen for a in awards),
        "clawed_fen": sum(a.clawed_back_fen for a in awards)})


# ---- Clawbacks ----------------------------------------------------------------------------------------------------------
@capability_required("people.clawback")
def clawback_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", Clawback.Status.PROPOSED)
    if status not in (*Clawback.Status.values, "all"):
        status = Clawback.Status.PROPOSED
    page = paginate(request, sel.clawbacks_list(request.user, status="" if status == "all" else status), 25)
    return render(request, "people/incentives/clawback_list.html", {
        "page": page, "status": status, "statuses": [*Clawback.Status.choices, ("all", _("全部"))],
        "form": incentive_forms.DecideForm()})


@capability_required("people.clawback")
@require_http_methods(["GET", "POST"])
def clawback_decide(request: HttpRequest, pk: int) -> HttpResponse:
    cb = sel.clawback_get(request.user, pk)
    form = incentive_forms.DecideForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            cb = entrypoint(svc.clawback_decide)(actor=request.user, clawback_id=pk, **form.cleaned_data)
        except DomainError as exc:
            _show(form, request, exc)
        else:
            messages.success(request, _("已确认追索") if cb.status == Clawback.Status.CONFIRMED else _("已豁免"))
            return redirect("people:clawbacks")
    return render(request, "people/incentives/clawback_decide.html", {"cb": cb, "form": form})


@capability_required("people.clawback")
@require_POST
def clawback_scan(request: HttpRequest) -> HttpResponse:
    made = svc.clawback_scan(actor=request.user)
    messages.success(request, _("检查完成：新发起 %(n)d 条追索") % {"n": len(made)})
    return redirect("people:clawbacks")


# ---- Schemes ------------------------------------------------------------------------------------------------------------
@capability_required("people.incentive_pools")
def scheme_list(request: HttpRequest) -> HttpResponse:
    return render(request, "people/incentives/scheme_list.html", {
        "schemes": sel.schemes_visible(request.user).order_by("-active", "code"),
        "can_manage": access.can(request.user, "people.manage_incentive_schemes")})


@capability_required("people.manage_incentive_schemes")
@require_http_methods(["GET", "POST"])
def scheme_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    scheme = sel.scheme_get(request.user, pk) if pk else None
    initial = None
    if scheme is not None:
        initial = {"code": scheme.code, "name": scheme.name, "method": scheme.method,
                   "min_score": scheme.min_score / 100, "tiers": incentive_forms.tiers_text(scheme.tiers),
                   "cap_percent": scheme.cap_percent, "active": scheme.active}
    form = incentive_forms.SchemeForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            entrypoint(svc.scheme_save)(actor=request.user, scheme_id=scheme.pk if scheme else None, code=cd["code"],
                                        name=cd["name"], method=cd["method"], min_score=int(cd["min_score"] * 100),
                                        tiers=form.tiers_value(), cap_percent=cd["cap_percent"], active=cd["active"])
        except DomainError as exc:
            _show(form, request, exc)
        else:
            messages.success(request, _("激励方案已保存"))
            return redirect("people:incentive_schemes")
    return render(request, "people/incentives/scheme_form.html", {"form": form, "scheme": scheme,
                                                                  "methods": IncentiveScheme.Method})
