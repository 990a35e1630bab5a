"""Customer pages: search, registration, the customer 360 page and its transitions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, audit, logs, masking, panels
from bankcrm.core.errors import DomainError
from bankcrm.core.models import AuditEvent
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import dsr, monitoring, selectors, services
from .forms import AssignForm, ConsentForm, CustomerEditForm, CustomerForm, RevealForm
from .models import Consent, ContactPoint, Customer, DataSubjectRequest, ManagerAssignment, Relationship

MASKED_FIELDS = ["name", "id_number", "mobile"]


@capability_required("customers.view")
def customer_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    qs = selectors.search_results(request.user, q)
    page = paginate(request, qs, 20)
    logs.access(actor=request.user, view="customers.list", subject_type="customers.Customer",
                subject_ids=[c.pk for c in page], fields=MASKED_FIELDS)
    return render(request, "customers/list.html", {"page": page, "q": q, "query": f"q={q}",
                                                   "can_register": access.can(request.user, "customers.register"),
                                                   "can_export": access.can(request.user, "customers.export"),
                                                   "can_unmask": access.can(request.user, "customers.unmask")})


@capability_required("customers.register")
@require_http_methods(["GET", "POST"])
def customer_register(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            customer = entrypoint(services.customer_register)(
                actor=request.user, kind=cd["kind"], name=cd["name"], id_type=cd["id_type"], id_number=cd["id_number"],
                mobile=cd["mobile"], email=cd["email"], address=cd["address"],
                **{k: cd[k] for k in CustomerForm.PROFILE})
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("客户 %(no)s 已登记") % {"no": customer.customer_no})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/register.html", {"form": form})


@capability_required("customers.view")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer 360 page: profile, contacts, consents, managers and history, and the panels that other
    features register (accounts, risk, complaints…) as they land."""
    c = selectors.customer_get(request.user, pk)
    _log_360(request, c, view="customers.detail")
    return render(request, "customers/detail.html", _context_360(request, c))


@capability_required("customers.view")
def customer_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer 360 page to print: the same template, sections and masking, without its forms, reveal buttons
    and graph, under a print layout. A print reveals personal data, so it is logged like the page (channel print)."""
    c = selectors.customer_get(request.user, pk)
    _log_360(request, c, view="customers.print", channel="print")
    return render(request, "customers/detail.html", _context_360(request, c, printing=True))


def _log_360(request: HttpRequest, c: Customer, *, view: str, channel: str | None = None) -> None:
    logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=[c.pk],
                fields=MASKED_FIELDS + ["email", "address", "birth_date"], channel=channel)
    monitoring.check_bulk_view(request.user)


def change_summary(after: Any) -> str:
    """An audit event's after-state in words for the change history: 「职业：教师；首选渠道：电话」, each field with its
    label and choice label in the reader's language, instead of raw JSON. Empty values and internal ids (branch,
    manager) are left out; the values are the ones the audit stored, masked where personal."""
    if not isinstance(after, dict):
        return ""
    fields = {f.name: f for m in (Customer, Consent) for f in reversed(m._meta.concrete_fields)}
    parts = []
    for key, value in after.items():
        f = fields.get(key)
        if value in (None, "", [], {}) or (f is not None and (f.is_relation or f.primary_key)):
            continue
        if isinstance(value, bool):
            shown = _("是") if value else _("否")
        elif f is not None and f.choices:
            shown = str(dict(f.flatchoices).get(value, value))
        else:
            shown = str(value)
        parts.append(_("%(field)s：%(value)s") % {"field": f.verbose_name if f is not None else key, "value": shown})
    return _("；").join(parts)


def _context_360(request: HttpRequest, c: Customer, *, printing: bool = False) -> dict:
    """What the 360 page shows; ``printing`` keeps what is read and leaves out what acts (forms, reveal, graph)."""
    events = list(AuditEvent.objects.filter(target_type="customers.Customer", target_id=str(c.pk)).order_by("-seq")[:15])
    for ev in events:
        ev.verb_label = audit.verb_label(ev.verb)
        ev.summary = change_summary(ev.after)
    graph = selectors.relationship_graph(request.user, c)
    team = list(c.team.select_related("staff", "staff__branch", "assigned_by").order_by("ended_at", "-started_at"))
    ctx = {
        "c": c, "age": services.customer_age(c), "team": team,
        "primary": next((a.staff for a in team if a.role == ManagerAssignment.Role.PRIMARY and a.ended_at is None), None),
        "consents": c.consents.select_related("granted_recorded_by"), "events": events,
        "panels": panels.render_for(request, c, printing=printing), "graph": graph,
        "subject_requests": c.subject_requests.select_related("opened_by", "completed_by"),
        "contacts": [{"c": cp, "field": f"contact_{cp.pk}", "masked": masking.mask(ContactPoint.MASK[cp.kind], cp.value)}
                     for cp in c.contacts.filter(ended_at__isnull=True)],
        "today": timezone.localdate(), "can_see_audit": access.can(request.user, "core.view_audit"),
        "printing": printing,
    }
    if printing:
        return {**ctx, "base_template": "customers/print_base.html", "printed_at": timezone.now()}
    can_assign = access.can(request.user, "customers.assign_manager")
    assign_form = None
    if can_assign:
        from bankcrm.org.models import Staff

        managers = (Staff.objects.visible_to(request.user).filter(is_active=True, role_assignments__role="customer_manager")
                    .select_related("branch").distinct())
        assign_form = AssignForm(managers=managers)
    return {
        **ctx,
        "can_edit": access.can(request.user, "customers.edit") and c.status == Customer.Status.ACTIVE,
        "can_reveal": access.can(request.user, "customers.unmask"),
        "can_consent": access.can(request.user, "customers.manage_consent"),
        "can_assign": can_assign, "assign_form": assign_form, "consent_form": ConsentForm(),
        "pending_panels": panels.pending(), "graph_data": {"nodes": graph["nodes"], "links": graph["links"]},
        "relationship_kinds": Relationship.Kind.choices, "contact_kinds": ContactPoint.Kind.choices,
        "dsr_kinds": DataSubjectRequest.Kind.choices, "channels": Consent.Channel.choices,
    }


@capability_required("customers.edit")
@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    c = selectors.customer_get(request.user, pk)
    fields = [f for f in CustomerEditForm.base_fields if f != "reason"]
    initial = {f: getattr(c, f) for f in fields}
    initial["mobile"] = c.mobile[3:] if c.mobile.startswith("+86") else c.mobile
    form = CustomerEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        changes = {f: cd[f] for f in fields if cd[f] != initial[f]}
        try:
            entrypoint(services.customer_update)(actor=request.user, customer_id=c.pk, reason=cd["reason"], **changes)
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("客户信息已更新") if changes else _("没有需要保存的修改"))
            return redirect("customers:detail", pk=c.pk)
    # The edit form shows contact details in full: that is an unmasked read, logged with its purpose.
    logs.access(actor=request.user, view="customers.edit", subject_type="customers.Customer", subject_ids=[c.pk],
                fields=["mobile", "email", "address"], unmasked=True, reason="edit")
    return render(request, "customers/edit.html", {"form": form, "c": c})


@require_POST
@capability_required("customers.view")
def customer_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    form = RevealForm(request.POST)
    ctx: dict = {"field": request.POST.get("field", "")}
    if not form.is_valid():
        ctx["error"] = _("请填写查看事由")
    else:
        try:
            ctx["value"] = entrypoint(services.customer_reveal)(actor=request.user, customer_id=pk,
                                                                field=form.cleaned_data["field"], reason=form.cleaned_data["reason"])
        except DomainError as exc:
            if exc.status == 403:
                logs.security("denied", actor=request.user, username=request.user.staff_no, capability="customers.unmask")
            ctx["error"] = str(exc.message)
    if request.htmx:
        return render(request, "customers/_revealed.html", ctx)
    if "error" in ctx:
        messages.error(request, ctx["error"])
    else:
        messages.info(request, _("完整信息：%(v)s（本次查看已记录）") % {"v": ctx["value"]})
    return redirect("customers:detail", pk=pk)


@require_POST
@capability_required("customers.view")
def customer_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One endpoint per transition: verify, consent, withdraw_consent, assign, remove_manager."""
    p = request.POST
    try:
        if action == "verify":
            entrypoint(services.customer_verify)(actor=request.user, customer_id=pk, note=p.get("note", ""))
            messages.success(request, _("已记录本次信息核实"))
        elif action == "consent":
            form = ConsentForm(p)
            if not form.is_valid():
                messages.error(request, _("请完整填写授权信息"))
            else:
                entrypoint(services.consent_grant)(actor=request.user, customer_id=pk, **form.cleaned_data)
                messages.success(request, _("授权已登记"))
        elif action == "withdraw_consent":
            entrypoint(services.consent_withdraw)(actor=request.user, customer_id=pk, consent_id=int(p.get("consent_id", 0)),
                                                  reason=p.get("reason", ""))
            messages.success(request, _("授权已撤回"))
        elif action == "assign":
            entrypoint(services.manager_assign)(actor=request.user, customer_id=pk, staff_id=int(p.get("staff") or 0),
                                                role=p.get("role", "primary"), reason=p.get("reason", ""))
            messages.success(request, _("客户经理已调整"))
        elif action == "relationship":
            other = selectors.search(request.user, p.get("other", "")).filter(customer_no=p.get("other", "").strip()).first()
            if other is None:
                messages.error(request, _("未找到该客户号，或该客户不在您的管户范围内"))
            else:
                entrypoint(services.relationship_add)(actor=request.user, customer_id=pk, other_customer_id=other.pk,
                                                      kind=p.get("kind", ""), note=p.get("note", ""))
                messages.success(request, _("关系已登记"))
        elif action == "end_relationship":
            entrypoint(services.relationship_end)(actor=request.user, customer_id=pk,
                                                  relationship_id=int(p.get("relationship_id", 0)))
            messages.success(request, _("关系已解除"))
        elif action == "contact":
            entrypoint(services.contact_add)(actor=request.user, customer_id=pk, kind=p.get("kind", ""), value=p.get("value", ""),
                                             label=p.get("label", ""))
            messages.success(request, _("联系方式已增加"))
        elif action == "end_contact":
            entrypoint(services.contact_end)(actor=request.user, customer_id=pk, contact_id=int(p.get("contact_id", 0)))
            messages.success(request, _("联系方式已停用"))
        elif action == "dsr_open":
            entrypoint(dsr.dsr_open)(actor=request.user, customer_id=pk, kind=p.get("kind", ""), channel=p.get("channel", ""),
                                     details=p.get("details", ""))
            messages.success(request, _("已受理，答复期限已计算（工作日）"))
        elif action == "dsr_complete":
            entrypoint(dsr.dsr_complete)(actor=request.user, request_id=int(p.get("request_id", 0)), outcome=p.get("outcome", ""))
            messages.success(request, _("请求已完成"))
        elif action == "dsr_erase":
            entrypoint(dsr.dsr_erase)(actor=request.user, request_id=int(p.get("request_id", 0)))
            messages.success(request, _("已删除非必要个人信息；该客户已限制处理"))
            return redirect("customers:list")
        elif action == "remove_manager":
            entrypoint(services.manager_remove)(actor=request.user, customer_id=pk, assignment_id=int(p.get("assignment_id", 0)),
                                                reason=p.get("reason", ""))
            messages.success(request, _("已移除"))
        else:
            messages.error(request, _("未知操作"))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    except ValueError:
        messages.error(request, _("请求参数不正确"))
    return redirect("customers:detail", pk=pk)


@require_POST
@capability_required("customers.unmask")
def dsr_download(request: HttpRequest, pk: int, request_id: int) -> HttpResponse:
    try:
        data = entrypoint(dsr.dsr_export)(actor=request.user, request_id=request_id)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("customers:detail", pk=pk)
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="subject-access-{request_id}.json"'
    return response
