"""Suitability pages: questionnaire versions (administrators), taking a customer through the active questionnaire,
results and history, the 适当性校验 page; plus the navigation entries and the expiry reminders in the inbox."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import logs, masking
from bankcrm.core.errors import DomainError
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required
from bankcrm.customers.models import Customer
from bankcrm.customers.selectors import customer_get, customers_visible

from . import rules_suitability as rules
from . import suitability as svc
from .models import Questionnaire, SuitabilityAssessment
from .suitability_forms import CheckForm, QuestionnaireForm, TakeForm, localised

GROUP = gettext_lazy("风险")
register(NavEntry(GROUP, gettext_lazy("适当性校验"), "risk:suitability_check", "risk.assess_suitability", "shield-check", 40))
register(NavEntry(GROUP, gettext_lazy("风险问卷"), "risk:questionnaires", "risk.manage_questionnaires", "ui-checks", 48))


def show_error(form: forms.Form, exc: DomainError, field_map: Any = None) -> None:
    """A domain error on the form: field messages where they belong, the message with its stable code on top."""
    for name, msgs in exc.fields.items():
        target = field_map(name) if field_map else name
        for m in msgs:
            form.add_error(target if target in form.fields else None, str(m))
    form.add_error(None, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})


def _flash(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})


def _log(request: HttpRequest, c: Customer, view: str) -> None:
    logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=[c.pk], fields=["name"])


# ---- Questionnaires -----------------------------------------------------------------------------------------------
@capability_required("risk.manage_questionnaires")
@require_http_methods(["GET", "POST"])
def questionnaire_list(request: HttpRequest) -> HttpResponse:
    """Every version; POST makes a new draft version from the latest one."""
    if request.method == "POST":
        try:
            q = entrypoint(svc.questionnaire_draft_create)(actor=request.user)
        except DomainError as exc:
            _flash(request, exc)
            return redirect("risk:questionnaires")
        messages.success(request, _("已新建草稿版本 v%(v)d，请编辑后发布") % {"v": q.version})
        return redirect("risk:questionnaire", q.pk)
    rows = list(svc.questionnaires(request.user))
    return render(request, "risk/suitability/questionnaire_list.html", {
        "rows": rows, "has_draft": any(q.status == Questionnaire.Status.DRAFT for q in rows)})


@capability_required("risk.manage_questionnaires")
@require_http_methods(["GET", "POST"])
def questionnaire_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A version's questions and bands; a draft is edited here as JSON."""
    q = svc.questionnaire_get(request.user, pk)
    editable = q.status == Questionnaire.Status.DRAFT
    form = QuestionnaireForm(initial={"content": QuestionnaireForm.dump(q)}) if editable else None
    if request.method == "POST" and editable:
        form = QuestionnaireForm(request.POST)
        if form.is_valid():
            try:
                entrypoint(svc.questionnaire_draft_save)(actor=request.user, questionnaire_id=q.pk,
                                                         content=form.cleaned_data["content"])
            except DomainError as exc:
                show_error(form, exc)
            else:
                messages.success(request, _("草稿已保存"))
                return redirect("risk:questionnaire", q.pk)
    return render(request, "risk/suitability/questionnaire_detail.html", {
        "q": q, "form": form, "editable": editable, "questions": _display_questions(q),
        "max_score": _max_score(q), "bands": q.bands})


@capability_required("risk.manage_questionnaires")
@require_POST
def questionnaire_publish(request: HttpRequest, pk: int) -> HttpResponse:
    q = svc.questionnaire_get(request.user, pk)
    try:
        entrypoint(svc.questionnaire_publish)(actor=request.user, questionnaire_id=q.pk)
    except DomainError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("问卷 v%(v)d 已发布，此前启用的版本已停用") % {"v": q.version})
    return redirect("risk:questionnaire", q.pk)


def _max_score(q: Questionnaire) -> int | None:
    try:
        return rules.max_score(q.questions)
    except (KeyError, TypeError, ValueError):
        return None


def _display_questions(q: Questionnaire, answers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    out = []
    for item in q.questions if isinstance(q.questions, list) else []:
        if not isinstance(item, dict):
            continue
        opts = [{"code": o.get("code"), "text": localised(o), "score": o.get("score"),
                 "chosen": answers is not None and answers.get(item.get("code")) == o.get("code")}
                for o in item.get("options", []) if isinstance(o, dict)]
        out.append({"code": item.get("code"), "text": localised(item), "options": opts,
                    "chosen": next((o for o in opts if o["chosen"]), None)})
    return out


# ---- Taking the questionnaire ------------------------------------------------------------------------------------
@capability_required("risk.assess_suitability")
@require_http_methods(["GET", "POST"])
def suitability_take(request: HttpRequest, pk: int) -> HttpResponse:
    c = customer_get(request.user, pk)
    q = svc.questionnaire_active()
    first = not SuitabilityAssessment.objects.filter(customer=c).exists()
    form = None
    if q is not None:
        form = TakeForm(request.POST if request.method == "POST" else None, questionnaire=q, first_time=first)
        if request.method == "POST" and form.is_valid():
            try:
                a = entrypoint(svc.suitability_assess)(
                    actor=request.user, customer_id=c.pk, answers=form.answers(),
                    face_to_face=form.cleaned_data["face_to_face"], questionnaire_id=form.cleaned_data["questionnaire_id"])
            except DomainError as exc:
                show_error(form, exc, form.field_for)
            else:
                messages.success(request, _("评估完成：风险承受能力 C%(l)d") % {"l": a.level})
                return redirect("risk:suitability_result", c.pk, a.pk)
    _log(request, c, "risk.suitability_take")
    return render(request, "risk/suitability/take.html", {
        "c": c, "q": q, "form": form, "first_time": first, "summary": svc.suitability_summary(request.user, c)})


@capability_required("risk.view")
def suitability_result(request: HttpRequest, pk: int, assessment_id: int) -> HttpResponse:
    a = svc.assessment_get(request.user, pk, assessment_id)
    _log(request, a.customer, "risk.suitability_result")
    return render(request, "risk/suitability/result.html", {
        "a": a, "c": a.customer, "questions": _display_questions(a.questionnaire, a.answers),
        "expired": rules.is_expired(a.valid_until, timezone.localdate())})


@capability_required("risk.view")
def suitability_history(request: HttpRequest, pk: int) -> HttpResponse:
    rows = list(svc.assessments_of(request.user, pk))
    c = customer_get(request.user, pk)
    _log(request, c, "risk.suitability_history")
    return render(request, "risk/suitability/history.html", {
        "c": c, "rows": rows, "summary": svc.suitability_summary(request.user, c)})


# ---- 适当性校验 ----------------------------------------------------------------------------------------------------
@capability_required("risk.assess_suitability")
@require_http_methods(["GET", "POST"])
def suitability_check(request: HttpRequest) -> HttpResponse:
    """Pick a customer (by customer number) and a product; see whether it may be recommended or sold, every rule
    named. The check is recorded in the audit trail with its decision."""
    decision, customer = None, None
    if request.method == "POST":
        form = CheckForm(request.POST)
        if form.is_valid():
            cd = form.cleaned_data
            customer = customers_visible(request.user).filter(customer_no=cd["customer_no"].strip()).first()
            if customer is None:
                form.add_error("customer_no", _("客户不存在或不在您的管户范围内"))
            else:
                try:
                    decision = entrypoint(svc.suitability_check_recorded)(
                        actor=request.user, customer_id=customer.pk, product_level=cd["product_level"],
                        product_kind=cd["product_kind"], recording=form.recording())
                except DomainError as exc:
                    show_error(form, exc)
                _log(request, customer, "risk.suitability_check")
    else:
        initial = {}
        if request.GET.get("customer", "").isdigit():
            found = customers_visible(request.user).filter(pk=int(request.GET["customer"])).first()
            initial["customer_no"] = found.customer_no if found else ""
        form = CheckForm(initial=initial)
    return render(request, "risk/suitability/check.html", {"form": form, "decision": decision, "c": customer})


# ---- Reminders (computed on read: nothing to schedule) -----------------------------------------------------------
def _inbox_items(actor: Any):
    today = timezone.localdate()
    for p in svc.expiring_profiles(actor)[:50]:
        c, until = p.customer, p.suitability_valid_until
        name = masking.mask_name(c.name) if actor.sees_masked_names else c.name
        expired = rules.is_expired(until, today)
        title = (_("%(name)s 的风险承受能力评估已于 %(d)s 过期，请重新评估") if expired else
                 _("%(name)s 的风险承受能力评估将于 %(d)s 到期")) % {"name": name, "d": until}
        yield InboxItem(kind="suitability_expiry",
                        kind_label=gettext_lazy("风险评估已过期") if expired else gettext_lazy("风险评估即将到期"),
                        title=title, url=reverse("risk:suitability_take", args=[c.pk]),
                        due_at=timezone.make_aware(datetime.combine(until, time.max)),
                        subtitle=f"{c.customer_no} · C{p.suitability_level}")


register_provider("risk.suitability_expiry", _inbox_items, lambda a: svc.expiring_profiles(a).count())
