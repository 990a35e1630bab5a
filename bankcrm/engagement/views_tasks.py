"""Engagement pages, part 2: my tasks (overdue, today, upcoming), action plans started from a template, and the plan
templates that administrators maintain."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required

from . import selectors, services
from .forms import PlanStartForm, TaskForm, TemplateForm
from .views import _customer, form_error, log_customers, run


def _my_customers(request: HttpRequest) -> list:
    from bankcrm.customers.selectors import customers_visible

    return list(customers_visible(request.user).filter(status="active").only("pk", "customer_no")
                .order_by("customer_no")[:300])


@capability_required("engagement.view")
def tasks(request: HttpRequest) -> HttpResponse:
    data = selectors.my_tasks(request.user)
    shown = [t for k in ("overdue", "today", "upcoming", "done") for t in data[k]]
    log_customers(request, "engagement.tasks", [t.customer_id for t in shown])
    can_log = access.can(request.user, "engagement.log")
    form = None
    if can_log:
        form = TaskForm(customers=_my_customers(request), initial={"customer": request.GET.get("customer", "")})
    return render(request, "engagement/tasks.html", {**data, "form": form, "can_log": can_log,
                                                     "day": timezone.localdate()})


@capability_required("engagement.log")
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    form = TaskForm(request.POST or None, customers=_my_customers(request))
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            entrypoint(services.task_create)(actor=request.user, title=cd["title"], due_on=cd["due_on"],
                                             customer_id=cd["customer"] or None)
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form_error(form, request, exc)
        else:
            messages.success(request, _("任务已创建"))
            return redirect("engagement:tasks")
    return render(request, "engagement/task_form.html", {"form": form})


@capability_required("engagement.log")
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.task_complete, _("任务已完成"), task_id=pk, result=request.POST.get("result", ""))
    return redirect("engagement:tasks")


@capability_required("engagement.log")
@require_POST
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.task_cancel, _("任务已取消"), task_id=pk, reason=request.POST.get("reason", ""))
    return redirect("engagement:tasks")


# ---- Action plans -------------------------------------------------------------------------------------------------
@capability_required("engagement.log")
@require_http_methods(["GET", "POST"])
def plan_new(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    templates = list(selectors.templates(active_only=True))
    form = PlanStartForm(request.POST or None, templates=templates)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            plan = entrypoint(services.plan_start)(actor=request.user, customer_id=customer.pk,
                                                   template_id=cd["template"], start_on=cd["start_on"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form_error(form, request, exc)
        else:
            messages.success(request, _("行动计划已启动，已生成 %(n)d 条任务") % {"n": plan.tasks.count()})
            return redirect("engagement:plan", pk=plan.pk)
    log_customers(request, "engagement.plan_new", [customer.pk])
    return render(request, "engagement/plan_form.html", {"customer": customer, "form": form, "templates": templates})


@capability_required("engagement.view")
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(request.user, pk)
    log_customers(request, "engagement.plan", [plan.customer_id])
    return render(request, "engagement/plan_detail.html", {
        "plan": plan, "tasks": plan.tasks.select_related("owner").order_by("due_on", "id"),
        "can_cancel": plan.owner_id == request.user.pk and plan.status == "active"
        and access.can(request.user, "engagement.log"), "today": timezone.localdate()})


@capability_required("engagement.log")
@require_POST
def plan_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.plan_cancel, _("行动计划已取消，未完成的任务已取消"), plan_id=pk,
        reason=request.POST.get("reason", ""))
    return redirect("engagement:plan", pk=pk)


# ---- Plan templates ----------------------------------------------------------------------------------------------
@capability_required("engagement.manage")
def template_list(request: HttpRequest) -> HttpResponse:
    return render(request, "engagement/template_list.html", {"templates": selectors.templates()})


@capability_required("engagement.manage")
@require_POST
def templates_install(request: HttpRequest) -> HttpResponse:
    added = run(request, services.templates_install_default, "")
    if added is not None:
        messages.success(request, _("已安装 %(n)d 个默认模板") % {"n": added} if added else _("默认模板均已存在"))
    return redirect("engagement:templates")


def _template_form(request: HttpRequest, template=None) -> HttpResponse:
    initial = {}
    if template is not None:
        initial = {"code": template.code, "name": template.name, "name_en": template.name_en,
                   "steps": json.dumps(template.steps, ensure_ascii=False, indent=1), "active": template.active}
    form = TemplateForm(request.POST or None, initial=initial)
    if template is not None:
        form.fields["code"].disabled = True
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            t = entrypoint(services.template_save)(
                actor=request.user, template_id=template.pk if template else None, code=cd.get("code", ""),
                name=cd["name"], name_en=cd["name_en"], steps=cd["steps"], active=cd["active"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form_error(form, request, exc)
        else:
            messages.success(request, _("模板已保存"))
            return redirect("engagement:template", pk=t.pk)
    return render(request, "engagement/template_form.html", {"form": form, "template": template})


@capability_required("engagement.manage")
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    return _template_form(request)


@capability_required("engagement.manage")
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _template_form(request, selectors.template_get(pk))
