"""合作机构 pages: the list, a partner's page (keys, webhook endpoints, products, recent deliveries and calls), the
forms that change them, the deliveries and the API call log.

A new API key or signing secret is shown once, in the answer to the POST that made it (never in a URL, a redirect,
a message or a log); the page is no-store like every authenticated page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bankcrm.core import access, params
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import partner_rules as rules
from . import partner_selectors as sel
from . import partner_services as services
from . import webhook_services as webhooks
from .forms import (
    CallFilterForm,
    DeliveryFilterForm,
    EndpointForm,
    KeyIssueForm,
    KeyRevokeForm,
    KeyRotateForm,
    PartnerForm,
    ProductsForm,
    StatusForm,
)
from .models import Partner, WebhookDelivery

STATE_LABELS = {"active": gettext_lazy("使用中"), "grace": gettext_lazy("轮换宽限中"),
                "retired": gettext_lazy("已轮换停用"), "expired": gettext_lazy("已过期"), "revoked": gettext_lazy("已吊销")}
FILTER_KEYS = ("partner", "status", "type", "page")
OUTCOME_LABELS = {
    "ok": gettext_lazy("成功"), "not_authenticated": gettext_lazy("未提供密钥"),
    "authentication_failed": gettext_lazy("认证失败"), "partner_key_invalid": gettext_lazy("密钥无效"),
    "partner_key_revoked": gettext_lazy("密钥已吊销"), "partner_key_expired": gettext_lazy("密钥已过期"),
    "partner_key_rotated": gettext_lazy("旧密钥已停用"), "partner_suspended": gettext_lazy("机构已暂停"),
    "partner_ip_not_allowed": gettext_lazy("来源地址不在白名单"), "partner_scope_missing": gettext_lazy("超出授权范围"),
    "permission_denied": gettext_lazy("无权限"), "not_found": gettext_lazy("资源不存在"),
    "product_not_found": gettext_lazy("产品不存在或不属于本机构"), "validation_failed": gettext_lazy("输入有误"),
}


def _partner_choices(user: Any) -> list[tuple[int, str]]:
    return [(p.pk, f"{p.code} {p.name}") for p in sel.partners_visible(user)]


def _errors(form: Any, request: HttpRequest, exc: DomainError) -> None:
    if isinstance(exc, (NotFound, PermissionDenied)):
        raise exc
    apply_error(form, request, exc)


# ---- Partners -----------------------------------------------------------------------------------------------------------
@capability_required("partners.view")
def partner_list(request: HttpRequest) -> HttpResponse:
    q, kind, status = request.GET.get("q", "").strip(), request.GET.get("kind", ""), request.GET.get("status", "")
    page = paginate(request, sel.partners_visible(request.user, q=q, kind=kind, status=status), 30)
    return render(request, "partners/list.html", {
        "page": page, "q": q, "kind": kind, "status": status, "kinds": Partner.Kind.choices,
        "statuses": Partner.Status.choices, "can_manage": access.can(request.user, "partners.manage"),
        "query": request.GET.urlencode()})


@capability_required("partners.manage")
def partner_new(request: HttpRequest) -> HttpResponse:
    form = PartnerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            p = entrypoint(services.partner_create)(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _errors(form, request, exc)
        else:
            messages.success(request, _("已登记合作机构 %(n)s") % {"n": p.name})
            return redirect("partners:detail", pk=p.pk)
    return render(request, "partners/form.html", {"form": form, "partner": None},
                  status=400 if form.errors else 200)


def _key_rows(partner: Partner) -> list[dict[str, Any]]:
    now = timezone.now()
    rows = []
    for k in sel.keys_of(partner):
        state = k.state(now)
        rows.append({"key": k, "state": state, "state_label": STATE_LABELS[state],
                     "scope_labels": [(s, rules.SCOPES.get(s, s), s in partner.allowed_scopes) for s in k.scopes],
                     "expiring": state == "active" and (k.expires_at - now).days < 30})
    return rows


def _detail(request: HttpRequest, partner: Partner, *, status: int = 200, **forms: Any) -> HttpResponse:
    user = request.user
    can_manage = access.can(user, "partners.manage")
    now = timezone.now()
    endpoints = list(sel.endpoints_of(partner))
    for ep in endpoints:
        ep.event_labels = [(e, rules.EVENT_LABELS.get(e, e), e in partner.allowed_events) for e in ep.events]
    linked = list(sel.products_of(partner))
    ctx: dict[str, Any] = {
        "partner": partner, "keys": _key_rows(partner), "endpoints": endpoints, "linked": linked,
        "events": [(e, rules.EVENT_LABELS.get(e, e)) for e in partner.allowed_events],
        "scopes": [(s, rules.SCOPES.get(s, s)) for s in partner.allowed_scopes],
        "deliveries": list(sel.deliveries_visible(user, partner_id=partner.pk)[:10]),
        "calls": list(sel.calls_visible(user, partner_id=partner.pk)[:10]),
        "can_manage": can_manage, "has_products": partner.kind in services.PRODUCT_KINDS, "now": now,
        "grace_default": params.value("partners.key_grace_hours", now),
    }
    if can_manage:
        ctx["issue_form"] = forms.get("issue_form") or KeyIssueForm(
            partner=partner, initial={"days": params.value("partners.key_valid_days", now)})
        ctx["status_form"] = forms.get("status_form") or StatusForm()
        if ctx["has_products"]:
            choices = [(str(w.pk), f"{w.code} {w.name}") for w in sel.linkable_products(partner)]
            ctx["products_form"] = forms.get("products_form") or ProductsForm(
                choices=choices, initial={"products": [str(x.product_id) for x in linked]})
    return render(request, "partners/detail.html", ctx, status=status)


@capability_required("partners.view")
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, sel.partner_get(request.user, pk))


@capability_required("partners.manage")
def partner_edit(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.partner_get(request.user, pk)
    initial = {"name": p.name, "contact": p.contact, "allowed_events": p.allowed_events,
               "allowed_scopes": p.allowed_scopes, "ip_allowlist": "\n".join(p.ip_allowlist), "note": p.note}
    form = PartnerForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            entrypoint(services.partner_update)(actor=request.user, partner_id=p.pk, **form.cleaned_data)
        except DomainError as exc:
            _errors(form, request, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("partners:detail", pk=p.pk)
    return render(request, "partners/form.html", {"form": form, "partner": p}, status=400 if form.errors else 200)


@capability_required("partners.manage")
@require_POST
def partner_status(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.partner_get(request.user, pk)
    form = StatusForm(request.POST)
    form.is_valid()
    target = Partner.Status.SUSPENDED if request.POST.get("op") == "suspend" else Partner.Status.ACTIVE
    try:
        entrypoint(services.partner_set_status)(actor=request.user, partner_id=p.pk, status=target,
                                                reason=form.cleaned_data.get("reason", ""))
    except DomainError as exc:
        _errors(form, request, exc)
        return _detail(request, p, status=400, status_form=form)
    if target == Partner.Status.SUSPENDED:
        messages.warning(request, _("已暂停 %(n)s：其 API 密钥即时失效，推送暂停") % {"n": p.name})
    else:
        messages.success(request, _("已恢复 %(n)s") % {"n": p.name})
    return redirect("partners:detail", pk=p.pk)


@capability_required("partners.manage")
@require_POST
def partner_products(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.partner_get(request.user, pk)
    choices = [(str(w.pk), f"{w.code} {w.name}") for w in sel.linkable_products(p)]
    form = ProductsForm(request.POST, choices=choices)
    if form.is_valid():
        try:
            codes = entrypoint(services.partner_products_set)(actor=request.user, partner_id=p.pk,
                                                              product_ids=form.cleaned_data["products"])
        except DomainError as exc:
            _errors(form, request, exc)
        else:
            messages.success(request, _("已关联 %(n)d 个产品") % {"n": len(codes)})
            return redirect(reverse("partners:detail", args=[p.pk]) + "#products")
    return _detail(request, p, status=400, products_form=form)


# ---- Keys -------------------------------------------------------------------------------------------------------------
def _secret_page(request: HttpRequest, partner: Partner, *, kind: str, secret: str, name: str,
                 note: str = "") -> HttpResponse:
    return render(request, "partners/secret.html", {"partner": partner, "kind": kind, "secret": secret, "name": name,
                                                    "note": note})


@capability_required("partners.manage")
@require_POST
def key_issue(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.partner_get(request.user, pk)
    form = KeyIssueForm(request.POST, partner=p)
    if form.is_valid():
        try:
            key, token = entrypoint(services.key_issue)(actor=request.user, partner_id=p.pk, **form.cleaned_data)
        except DomainError as exc:
            _errors(form, request, exc)
        else:
            return _secret_page(request, p, kind="key", secret=token, name=key.key_id,
                                note=_("有效期至 %(d)s") % {"d": timezone.localtime(key.expires_at).strftime("%Y-%m-%d")})
    return _detail(request, p, status=400, issue_form=form)


@capability_required("partners.manage")
@require_POST
def key_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    old = sel.key_get(request.user, pk)
    form = KeyRotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("宽限期应为0至720小时"))
        return redirect(reverse("partners:detail", args=[old.partner_id]) + "#keys")
    try:
        key, token = entrypoint(services.key_rotate)(actor=request.user, key_pk=old.pk, **form.cleaned_data)
    except DomainError as exc:
        _errors(None, request, exc)
        return redirect(reverse("partners:detail", args=[old.partner_id]) + "#keys")
    old.refresh_from_db()
    return _secret_page(request, old.partner, kind="key", secret=token, name=key.key_id,
                        note=_("旧密钥 %(k)s 在 %(t)s 前仍可使用，之后停用") % {
                            "k": old.key_id, "t": timezone.localtime(old.grace_until).strftime("%Y-%m-%d %H:%M")})


@capability_required("partners.manage")
@require_POST
def key_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    key = sel.key_get(request.user, pk)
    form = KeyRevokeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写吊销原因"))
    else:
        try:
            entrypoint(services.key_revoke)(actor=request.user, key_pk=key.pk, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            _errors(None, request, exc)
        else:
            messages.warning(request, _("密钥 %(k)s 已吊销，即时失效") % {"k": key.key_id})
    return redirect(reverse("partners:detail", args=[key.partner_id]) + "#keys")


# ---- Endpoints --------------------------------------------------------------------------------------------------------
@capability_required("partners.manage")
def endpoint_new(request: HttpRequest, pk: int) -> HttpResponse:
    p = sel.partner_get(request.user, pk)
    form = EndpointForm(request.POST or None, partner=p, initial={"active": True, "events": p.allowed_events})
    if request.method == "POST" and form.is_valid():
        try:
            ep, secret = entrypoint(services.endpoint_create)(actor=request.user, partner_id=p.pk, **form.cleaned_data)
        except DomainError as exc:
            _errors(form, request, exc)
        else:
            return _secret_page(request, p, kind="endpoint", secret=secret, name=ep.url)
    return render(request, "partners/endpoint_form.html", {"form": form, "partner": p, "endpoint": None},
                  status=400 if form.errors else 200)


@capability_required("partners.manage")
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    ep = sel.endpoint_get(request.user, pk)
    form = EndpointForm(request.POST or None, partner=ep.partner, initial={
        "url": ep.url, "description": ep.description, "events": ep.events, "active": ep.active})
    if request.method == "POST" and form.is_valid():
        try:
            entrypoint(services.endpoint_update)(actor=request.user, endpoint_id=ep.pk, **form.cleaned_data)
        except DomainError as exc:
            _errors(form, request, exc)
        else:
            messages.success(request, _("已保存推送地址"))
            return redirect(reverse("partners:detail", args=[ep.partner_id]) + "#endpoints")
    return render(request, "partners/endpoint_form.html", {"form": form, "partner": ep.partner, "endpoint": ep},
                  status=400 if form.errors else 200)


@capability_required("partners.manage")
@require_POST
def endpoint_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    ep = sel.endpoint_get(request.user, pk)
    ep, secret = entrypoint(services.endpoint_rotate_secret)(actor=request.user, endpoint_id=ep.pk)
    note = (_("旧签名密钥在 %(t)s 前仍并行签名（签名头含两个 v1 值）") % {
        "t": timezone.localtime(ep.previous_valid_until).strftime("%Y-%m-%d %H:%M")}) if ep.previous_valid_until else ""
    return _secret_page(request, ep.partner, kind="endpoint", secret=secret, name=ep.url, note=note)


def _sent_message(request: HttpRequest, d: WebhookDelivery, status: str) -> None:
    d.refresh_from_db()
    if d.status == WebhookDelivery.Status.DELIVERED:
        messages.success(request, _("推送成功：对方返回 %(c)s") % {"c": d.last_status_code})
    elif status == "busy":
        messages.info(request, _("推送已排队，将由后台任务发送"))
    else:
        messages.error(request, _("推送失败：%(e)s；已安排重试") % {"e": d.last_error or d.last_status_code}
                       if d.status == WebhookDelivery.Status.FAILED else
                       _("推送失败：%(e)s；已达最多尝试次数") % {"e": d.last_error or d.last_status_code})


def _send_now(request: HttpRequest, service, **kwargs) -> WebhookDelivery | None:
    """Run ``service`` (it queues a delivery), then attempt the delivery at once — after the commit, outside any
    transaction — and say what happened; None, with the refusal shown, when the service refused."""
    try:
        d = entrypoint(service)(actor=request.user, **kwargs)
    except DomainError as exc:
        _errors(None, request, exc)
        return None
    _sent_message(request, d, webhooks.attempt(d.pk))
    return d


@capability_required("partners.manage")
@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    ep = sel.endpoint_get(request.user, pk)
    if _send_now(request, webhooks.endpoint_test, endpoint_id=ep.pk) is None:
        return redirect(reverse("partners:detail", args=[ep.partner_id]) + "#endpoints")
    return redirect(reverse("partners:deliveries") + f"?partner={ep.partner_id}")


# ---- Deliveries and calls ---------------------------------------------------------------------------------------------
@capability_required("partners.view")
def delivery_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DeliveryFilterForm(request.GET or None, partners=_partner_choices(user))
    cd = form.cleaned_data if form.is_valid() else {}
    qs = sel.deliveries_visible(user, partner_id=cd.get("partner"), status=cd.get("status", ""),
                                event_type=cd.get("type", ""))
    page = paginate(request, qs, 50)
    for d in page:
        d.type_label = rules.EVENT_LABELS.get(d.event.type, d.event.type)
    return render(request, "partners/deliveries.html", {
        "form": form, "page": page, "can_manage": access.can(user, "partners.manage"),
        "query": request.GET.urlencode()})


@capability_required("partners.manage")
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    _send_now(request, webhooks.delivery_retry, delivery_id=sel.delivery_get(request.user, pk).pk)
    back = QueryDict(request.POST.get("query", ""))
    kept = {k: back[k] for k in FILTER_KEYS if back.get(k)}
    return redirect(reverse("partners:deliveries") + (f"?{urlencode(kept)}" if kept else ""))


@capability_required("partners.view")
def call_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = CallFilterForm(request.GET or None, partners=_partner_choices(user))
    cd = form.cleaned_data if form.is_valid() else {}
    result = cd.get("result", "")
    qs = sel.calls_visible(user, partner_id=cd.get("partner"), key_id=cd.get("key_id", ""), since=cd.get("since"),
                           until=cd.get("until"), denied=True if result == "denied" else False if result == "ok" else None)
    page = paginate(request, qs, 50)
    for c in page:
        c.outcome_label = OUTCOME_LABELS.get(c.outcome, "")
    return render(request, "partners/calls.html", {"form": form, "page": page, "query": request.GET.urlencode()})
