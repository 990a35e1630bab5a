"""Engagement pages, part 3: referrals between staff, opportunities and the pipeline (kanban-like columns by stage
with counts and amounts)."""

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
from bankcrm.core.web import capability_required, paginate

from . import rules, selectors, services
from .forms import LinkSaleForm, OpportunityEditForm, OpportunityForm, OutcomeForm, ReasonForm, ReferralForm
from .models import Opportunity, Referral
from .views import _customer, form_error, log_customers, run


def _products(request: HttpRequest) -> list[Any]:
    from bankcrm.wealth.selectors import products_on_sale

    if not access.can(request.user, "wealth.view"):
        return []
    return list(products_on_sale(request.user).order_by("risk_level", "code")[:200])


# ---- Pipeline ----------------------------------------------------------------------------------------------------
@capability_required("engagement.view")
def pipeline(request: HttpRequest) -> HttpResponse:
    user = request.user
    supervisor = "branch_supervisor" in user.roles or not access.can(user, "engagement.pipeline")
    mine = request.GET.get("mine", "" if supervisor else "1") == "1"
    goal = request.GET.get("goal", "")
    data = selectors.pipeline(user, mine=mine, goal=goal)
    log_customers(request, "engagement.pipeline", [o.customer_id for c in data["columns"] for o in c["items"]])
    return render(request, "engagement/pipeline.html", {**data, "mine": mine, "goal": goal, "goals": rules.GOALS,
                                                        "goal_labels": dict(rules.GOALS)})


@capability_required("engagement.pipeline")
@require_http_methods(["GET", "POST"])
def opportunity_new(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    referral = None
    ref_id = request.GET.get("referral") or request.POST.get("referral") or ""
    if ref_id:
        referral = selectors.referral_get(request.user, ref_id)
    form = OpportunityForm(request.POST or None, products=_products(request))
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            o = entrypoint(services.opportunity_create)(
                actor=request.user, customer_id=customer.pk, goal=cd["goal"], title=cd["title"],
                product_id=cd["product"] or None, amount_fen=cd.get("amount_fen", 0),
                expected_close=cd["expected_close"], referral_id=referral.pk if referral else None)
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form_error(form, request, exc)
        else:
            messages.success(request, _("商机已创建"))
            return redirect("engagement:opportunity", pk=o.pk)
    log_customers(request, "engagement.opportunity_new", [customer.pk])
    return render(request, "engagement/opportunity_form.html", {"customer": customer, "form": form,
                                                                "referral": referral})


def _settled_sales(request: HttpRequest, o: Opportunity) -> list[Any]:
    from bankcrm.wealth.selectors import sale_queue

    if not access.can(request.user, "wealth.view"):
        return []
    linked = Opportunity.objects.filter(sale__isnull=False, customer_id=o.customer_id).values("sale_id")
    return list(sale_queue(request.user, status="settled", customer_id=o.customer_id).exclude(pk__in=linked)[:50])


@capability_required("engagement.view")
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    o = selectors.opportunity_get(user, pk)
    log_customers(request, "engagement.opportunity", [o.customer_id])
    can_act = (access.can(user, "engagement.pipeline") and o.stage in Opportunity.OPEN
               and (o.owner_id == user.pk or "branch_supervisor" in user.roles))
    edit_form = None
    if can_act:
        edit_form = OpportunityEditForm(products=_products(request), initial={
            "title": o.title, "product": o.product_id or "", "expected_close": o.expected_close,
            "amount": f"{o.amount_fen / 100:.2f}" if o.amount_fen else ""})
    return render(request, "engagement/opportunity_detail.html", {
        "o": o, "can_act": can_act,
        "next_stages": [(s, Opportunity.Stage(s).label) for s in rules.next_stages(o.stage) if s != "lost"],
        "goal_label": rules.goal_label(o.goal) if o.goal else "", "edit_form": edit_form,
        "link_form": LinkSaleForm(sales=_settled_sales(request, o)) if can_act else None,
        "referral": Referral.objects.filter(opportunity=o).select_related("from_staff").first()})


@capability_required("engagement.pipeline")
@require_POST
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    form = OpportunityEditForm(request.POST, products=_products(request))
    if not form.is_valid():
        for field, errs in form.errors.items():
            messages.error(request, f"{form.fields[field].label if field in form.fields else ''}：{'；'.join(errs)}")
        return redirect("engagement:opportunity", pk=pk)
    cd = form.cleaned_data
    run(request, services.opportunity_update, _("商机已更新"), opportunity_id=pk, title=cd["title"],
        product_id=cd["product"] or None, amount_fen=cd.get("amount_fen", 0), expected_close=cd["expected_close"])
    return redirect("engagement:opportunity", pk=pk)


@capability_required("engagement.pipeline")
@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.opportunity_move, _("商机阶段已更新"), opportunity_id=pk,
        stage=request.POST.get("stage", ""), lost_reason=request.POST.get("lost_reason", ""))
    if request.POST.get("back") == "pipeline":
        return redirect("engagement:pipeline")
    return redirect("engagement:opportunity", pk=pk)


@capability_required("engagement.pipeline")
@require_POST
def opportunity_link_sale(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.opportunity_link_sale, _("已关联成交记录，商机已成交"), opportunity_id=pk,
        sale_id=request.POST.get("sale", ""))
    return redirect("engagement:opportunity", pk=pk)


# ---- Referrals ---------------------------------------------------------------------------------------------------
@capability_required("engagement.pipeline")
def referral_list(request: HttpRequest) -> HttpResponse:
    box = request.GET.get("box", "received")
    if box not in ("received", "sent", "all"):
        box = "received"
    status = request.GET.get("status", "")
    page = paginate(request, selectors.referral_queue(request.user, box=box, status=status), 30)
    rows = selectors.referral_rows(request.user, page.object_list)
    log_customers(request, "engagement.referral_list", [r.customer_id for r in rows])
    return render(request, "engagement/referral_list.html", {
        "page": page, "rows": rows, "box": box, "status": status, "query": request.GET.urlencode(),
        "boxes": [("received", _("我收到的")), ("sent", _("我发出的")), ("all", _("全部"))],
        "statuses": [("", _("全部状态")), ("open", _("未完成")), *Referral.Status.choices]})


@capability_required("engagement.pipeline")
@require_http_methods(["GET", "POST"])
def referral_new(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    receivers = services.referral_receivers(request.user, customer)
    form = ReferralForm(request.POST or None, receivers=receivers)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            r = entrypoint(services.referral_send)(actor=request.user, customer_id=customer.pk,
                                                   to_staff_id=cd["to_staff"], reason=cd["reason"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form_error(form, request, exc)
        else:
            messages.success(request, _("已转介给 %(n)s，等待对方接收") % {"n": r.to_staff.name})
            return redirect("engagement:referral", pk=r.pk)
    log_customers(request, "engagement.referral_new", [customer.pk])
    return render(request, "engagement/referral_form.html", {
        "customer": customer, "form": form, "receivers": receivers,
        "grants": access.can(request.user, "customers.assign_manager")})


@capability_required("engagement.pipeline")
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    r = selectors.referral_get(request.user, pk)
    log_customers(request, "engagement.referral", [r.customer_id])
    receiver = r.to_staff_id == request.user.pk
    return render(request, "engagement/referral_detail.html", {
        "r": r, "receiver": receiver, "decline_form": ReasonForm(), "outcome_form": OutcomeForm(),
        "can_open_opportunity": receiver and r.status == Referral.Status.ACCEPTED and not r.opportunity_id})


@capability_required("engagement.pipeline")
@require_POST
def referral_accept(request: HttpRequest, pk: int) -> HttpResponse:
    r = run(request, services.referral_accept, _("已接收转介，该客户已在您的服务范围内"), referral_id=pk)
    if r is not None and request.POST.get("open_opportunity") == "1":
        return redirect(f"{_url('engagement:opportunity_new', r.customer_id)}?referral={r.pk}")
    return redirect("engagement:referral", pk=pk)


def _url(name: str, *args: Any) -> str:
    from django.urls import reverse

    return reverse(name, args=args)


@capability_required("engagement.pipeline")
@require_POST
def referral_decline(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.referral_decline, _("已退回转介"), referral_id=pk, reason=request.POST.get("reason", ""))
    return redirect("engagement:referral", pk=pk)


@capability_required("engagement.pipeline")
@require_POST
def referral_complete(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.referral_complete, _("转介已完成"), referral_id=pk, outcome=request.POST.get("outcome", ""))
    return redirect("engagement:referral", pk=pk)
