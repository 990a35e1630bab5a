"""Pages of the AML risk rating and due diligence: a customer's rating, reviews due, the factor model, and the
due-diligence tasks."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError
from bankcrm.core.navigation import NavEntry, register
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import due_diligence as dd_svc
from . import rating as svc
from . import rules_rating as rules
from .models import DueDiligence, RatingModel, RiskProfile
from .rating_forms import DueDiligenceForm, ManualRatingForm, RatingModelForm

RISK = gettext_lazy("风险")
register(NavEntry(RISK, gettext_lazy("洗钱风险评级"), "risk:ratings_due", "risk.rate", "shield-exclamation", 40))
register(NavEntry(RISK, gettext_lazy("尽职调查"), "risk:dd_list", "risk.due_diligence", "clipboard-check", 41))


def _error(request: HttpRequest, exc: DomainError, form=None) -> None:
    text = f"{exc.message}（{exc.code}）"
    if form is not None:
        for field, msgs in exc.fields.items():
            if field in form.fields:
                for m in msgs:
                    form.add_error(field, m)
        form.add_error(None, text)
    else:
        messages.error(request, text)


def _log(request: HttpRequest, view: str, customer_ids: list[int]) -> None:
    if customer_ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=customer_ids,
                    fields=["name", "occupation"])


def _rating_page(request: HttpRequest, customer, form: ManualRatingForm | None = None, status: int = 200) -> HttpResponse:
    current, pending = svc.current_rating(customer), svc.pending_rating(customer)
    _log(request, "risk.customer_rating", [customer.pk])
    return render(request, "risk/rating/customer.html", {
        "customer": customer, "current": current, "pending": pending,
        "profile": RiskProfile.objects.filter(pk=customer.pk).first(),
        "reasons": svc.reason_rows(current) if current else [],
        "pending_reasons": svc.reason_rows(pending) if pending else [],
        "page": paginate(request, svc.ratings_of(request.user, customer), 20), "query": "",
        "form": form or (ManualRatingForm() if access.can(request.user, "risk.rate") else None),
        "dds": DueDiligence.objects.filter(customer=customer).order_by("status", "-opened_at")[:10],
        "today": timezone.localdate(),
    }, status=status)


@capability_required("risk.view")
@require_GET
def customer_rating(request: HttpRequest, pk: int) -> HttpResponse:
    return _rating_page(request, svc.customer_for_rating(request.user, pk))


@capability_required("risk.rate")
@require_POST
def customer_rate(request: HttpRequest, pk: int) -> HttpResponse:
    customer = svc.customer_for_rating(request.user, pk)
    form = ManualRatingForm(request.POST)
    if form.is_valid():
        try:
            r = entrypoint(svc.risk_rate)(actor=request.user, customer_id=customer.pk, trigger="manual",
                                          rationale=form.cleaned_data["rationale"], level=form.cleaned_data["level"] or None)
        except DomainError as exc:
            _error(request, exc, form)
        else:
            if r.status == r.Status.PENDING:
                messages.info(request, _("已提交审批：下调风险等级须另一名风控经理复核，通过前维持现有等级"))
            else:
                messages.success(request, _("已评级：%(l)s") % {"l": r.get_level_display()})
            return redirect("risk:customer_rating", pk=customer.pk)
    return _rating_page(request, customer, form, status=400)


@capability_required("risk.rate")
@require_GET
def ratings_due(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    page = paginate(request, svc.ratings_due(request.user, today), 25)
    rows = [{"p": p, "due": svc.due_on(p), "first": not p.aml_level} for p in page]
    _log(request, "risk.ratings_due", [r["p"].customer_id for r in rows])
    return render(request, "risk/rating/due.html", {"page": page, "rows": rows, "today": today, "query": ""})


@capability_required("risk.rate")
@require_GET
def rating_model(request: HttpRequest) -> HttpResponse:
    current = svc.rating_model_current()
    return render(request, "risk/rating/model.html", {
        "model": current, "versions": RatingModel.objects.select_related("created_by")[:20],
        "factors": [(code, rules.FACTORS[code], cfg) for code, cfg in current.factors.items() if code in rules.FACTORS],
        "can_edit": access.can(request.user, "risk.manage_rating_model")})


@capability_required("risk.manage_rating_model")
@require_http_methods(["GET", "POST"])
def rating_model_new(request: HttpRequest) -> HttpResponse:
    current = svc.rating_model_current()
    if request.method == "POST":
        form = RatingModelForm(request.POST)
        if form.is_valid():
            try:
                m = entrypoint(svc.rating_model_save)(actor=request.user, factors=form.cleaned_data["factors"],
                                                      thresholds=form.cleaned_data["thresholds"],
                                                      effective_from=form.cleaned_data["effective_from"])
            except DomainError as exc:
                _error(request, exc, form)
            else:
                messages.success(request, _("已保存评级模型第 %(v)d 版") % {"v": m.version})
                return redirect("risk:rating_model")
    else:
        form = RatingModelForm(initial={"factors": json.dumps(current.factors, ensure_ascii=False, indent=2),
                                        "thresholds": json.dumps(current.thresholds)})
    return render(request, "risk/rating/model_form.html", {"form": form, "model": current, "factors": rules.FACTORS},
                  status=400 if request.method == "POST" else 200)


@capability_required("risk.due_diligence")
@require_GET
def dd_list(request: HttpRequest) -> HttpResponse:
    qs = dd_svc.dd_visible(request.user)
    status = request.GET.get("status", "")
    if status in DueDiligence.Status.values:
        qs = qs.filter(status=status)
    page = paginate(request, qs, 25)
    _log(request, "risk.due_diligence_list", [d.customer_id for d in page])
    return render(request, "risk/dd/list.html", {"page": page, "status": status, "today": timezone.localdate(),
                                                 "query": f"status={status}" if status else ""})


@capability_required("risk.due_diligence")
@require_http_methods(["GET", "POST"])
def dd_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dd = dd_svc.dd_get(request.user, pk)
    form = DueDiligenceForm(request.POST or None, checklist=dd.checklist)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                entrypoint(dd_svc.due_diligence_complete)(actor=request.user, dd_id=dd.pk, items=form.items(),
                                                          result=form.cleaned_data["result"],
                                                          notes=form.cleaned_data["notes"])
            except DomainError as exc:
                _error(request, exc, form)
            else:
                messages.success(request, _("尽职调查已完成"))
                return redirect("risk:dd_detail", pk=dd.pk)
        status = 400
    _log(request, "risk.due_diligence", [dd.customer_id])
    return render(request, "risk/dd/detail.html", {"dd": dd, "form": form, "rows": form.rows(),
                                                   "days_left": dd_svc.days_left(dd),
                                                   "profile": RiskProfile.objects.filter(pk=dd.customer_id).first()},
                  status=status)
