"""Core pages: home, inbox, audit trail, security log, rule parameters, working-day calendar, error pages."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import access, audit, inbox, logs, params, selectors, services
from . import home as home_sections
from .errors import DomainError
from .forms import AuditFilterForm, CalendarDayForm, CalendarImportForm, ParameterForm
from .models import AuditEvent, SecurityEvent
from .transactions import entrypoint
from .web import apply_error, capability_required, not_found, paginate


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    items = inbox.items_for(user)[:8]
    cards = home_sections.shortcuts_for(user, request_nav(request))  # the role's most used pages; the sidebar has all
    return render(request, "core/home.html", {
        "sections": home_sections.render_for(request),  # features' home sections (core.home), e.g. the CM workbench
        "inbox_items": items,
        "cards": cards,
        "role_labels": user.role_labels,
        "requires_totp": access.requires_totp(user),
        "capability_count": len(access.capabilities_of(user)),
    })


def request_nav(request: HttpRequest) -> list:
    from .navigation import entries_for

    return entries_for(request.user)


@login_required
def inbox_view(request: HttpRequest) -> HttpResponse:
    inbox.badge_forget(request.user)  # the inbox page counts afresh: its badge agrees with the list below it
    return render(request, "core/inbox.html", {"items": inbox.items_for(request.user)})


@capability_required("core.view_audit")
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    qs = AuditEvent.objects.none()
    if form.is_valid() or not request.GET:
        cd = form.cleaned_data if form.is_bound else {}
        qs = selectors.audit_events(actor_no=cd.get("actor", ""), verb=cd.get("verb", ""), target=cd.get("target", ""),
                                    since=cd.get("since"), until=cd.get("until"))
    page = paginate(request, qs, 30)
    for ev in page:
        ev.verb_label = audit.verb_label(ev.verb)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/audit_list.html", {"form": form, "page": page, "query": query.urlencode(),
                                                    "verify": request.session.pop("audit_verify", None)})


@capability_required("core.view_audit")
def audit_detail(request: HttpRequest, seq: int) -> HttpResponse:
    ev = AuditEvent.objects.select_related("actor").filter(seq=seq).first()
    if ev is None:
        return not_found(request)
    ev.verb_label = audit.verb_label(ev.verb)
    return render(request, "core/audit_detail.html", {"ev": ev, "hash_ok": audit.compute_hash(ev) == ev.hash})


@require_POST
@capability_required("core.verify_audit")
def audit_verify(request: HttpRequest) -> HttpResponse:
    result = audit.verify_chain()
    _record_verification(request.user, result)
    request.session["audit_verify"] = {**result.as_dict(), "at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")}
    return redirect("core:audit")


@entrypoint
def _record_verification(actor, result) -> None:
    audit.record(actor=actor, verb="core.audit_verified", target_type="core.AuditEvent", after=result.as_dict())


@capability_required("core.view_security_log")
def security_log(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    username = request.GET.get("username", "")
    page = paginate(request, selectors.security_events(kind=kind, username=username), 40)
    return render(request, "core/security_log.html", {"page": page, "kinds": SecurityEvent.Kind.choices,
                                                      "kind": kind, "username": username})


@capability_required("core.view_access_log")
def access_log(request: HttpRequest) -> HttpResponse:
    """Who was shown whose personal data, through which page or API, masked or not, and why."""
    actor_no = request.GET.get("actor", "").strip()
    unmasked = request.GET.get("unmasked", "")
    qs = selectors.access_events(actor_no=actor_no, unmasked_only=unmasked == "1")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "core/access_log.html", {"page": paginate(request, qs, 40), "actor": actor_no,
                                                    "unmasked": unmasked, "query": query.urlencode()})


@capability_required("core.view_parameters")
def parameter_list(request: HttpRequest) -> HttpResponse:
    rows = selectors.parameters_overview()
    groups: dict[str, list] = {}
    for r in rows:
        groups.setdefault(r["code"].split(".")[0], []).append(r)
    return render(request, "core/parameter_list.html", {"groups": groups.items()})



@capability_required("core.view_parameters")
@require_http_methods(["GET", "POST"])
def parameter_detail(request: HttpRequest, code: str) -> HttpResponse:
    if code not in params.DEFINITIONS:
        return not_found(request, _("不存在的规则参数"))
    d = params.DEFINITIONS[code]
    form = ParameterForm(request.POST or None)
    if request.method == "POST":
        if not access.can(request.user, "core.manage_parameters"):
            from .web import denied

            return denied(request, access.denial_reason(request.user, "core.manage_parameters"), "core.manage_parameters")
        if form.is_valid():
            try:
                entrypoint(services.parameter_set)(actor=request.user, code=code, value=form.cleaned_data["value"],
                                                   effective_from=form.cleaned_data["effective_from"],
                                                   reason=form.cleaned_data["reason"])
                messages.success(request, _("参数已更新"))
                return redirect("core:parameter", code=code)
            except DomainError as exc:
                apply_error(form, request, exc)
    current = params.value(code)
    history = [{"pv": pv, "display": params.display(code, int(pv.value))} for pv in selectors.parameter_history(code)]
    return render(request, "core/parameter_detail.html", {
        "d": d, "code": code, "current": params.display(code, current), "history": history, "form": form,
        "default_display": params.display(code, d.default), "can_edit": access.can(request.user, "core.manage_parameters"),
    })


@capability_required("core.view_calendar")
@require_http_methods(["GET", "POST"])
def calendar_view(request: HttpRequest) -> HttpResponse:
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    can_edit = access.can(request.user, "core.manage_calendar")
    form = CalendarDayForm(request.POST or None) if request.POST.get("op") == "set" else CalendarDayForm()
    import_form = CalendarImportForm(request.POST or None, request.FILES or None) if request.POST.get("op") == "import" else CalendarImportForm()
    import_errors = None
    if request.method == "POST":
        if not can_edit:
            from .web import denied

            return denied(request, access.denial_reason(request.user, "core.manage_calendar"), "core.manage_calendar")
        op = request.POST.get("op")
        try:
            if op == "set" and form.is_valid():
                entrypoint(services.calendar_day_set)(actor=request.user, day=form.cleaned_data["date"],
                                                      kind=form.cleaned_data["kind"], name=form.cleaned_data["name"])
                messages.success(request, _("已保存"))
                return redirect(f"{request.path}?year={form.cleaned_data['date'].year}")
            if op == "delete":
                day = date.fromisoformat(request.POST.get("date", ""))
                entrypoint(services.calendar_day_delete)(actor=request.user, day=day)
                messages.success(request, _("已删除"))
                return redirect(f"{request.path}?year={day.year}")
            if op == "import" and import_form.is_valid():
                result = entrypoint(services.calendar_import_csv)(actor=request.user, data=import_form.cleaned_data["file"].read())
                messages.success(request, _("导入完成：新增 %(created)d，更新 %(updated)d，未变 %(unchanged)d") % result)
                return redirect(request.path)
        except ValueError:
            messages.error(request, _("日期格式不正确"))
        except DomainError as exc:
            if exc.code == "import_rows_invalid":
                import_errors = exc.params.get("rows", [])
                import_form.add_error("file", str(exc.message))
            else:
                apply_error(form if op == "set" else import_form, request, exc)
    days = list(selectors.calendar_days(year))
    from .workdays import calendar as load_calendar
    from .workdays import working_days_between

    holidays, makeup = load_calendar()
    workdays = working_days_between(date(year - 1, 12, 31), date(year, 12, 31), holidays, makeup)
    return render(request, "core/calendar.html", {
        "year": year, "days": days, "form": form, "import_form": import_form, "import_errors": import_errors,
        "can_edit": can_edit, "workdays": workdays, "years": [year - 1, year, year + 1],
    })


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness: the database answers and the key file loads."""
    from . import crypto

    status = {"database": "ok", "keys": "ok"}
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception:
        status["database"] = "error"
    try:
        crypto.keyring()
    except Exception:
        status["keys"] = "error"
    ok = all(v == "ok" for v in status.values())
    return JsonResponse({"status": "ok" if ok else "error", **status}, status=200 if ok else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    logs.security(SecurityEvent.Kind.CSRF_FAILED, actor=request.user if hasattr(request, "user") else None,
                  method=request.method)
    if request.path.startswith("/api/"):
        from . import context

        return JsonResponse({"error": {"code": "csrf_failed", "message": _("CSRF 校验失败，请刷新页面后重试")},
                             "request_id": context.current().request_id}, status=403)
    return render(request, "errors/csrf.html", status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        from . import context

        return JsonResponse({"error": {"code": "not_found", "message": _("资源不存在")},
                             "request_id": context.current().request_id}, status=404)
    return render(request, "errors/404.html", {"inbox_count": None}, status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    from . import context

    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "server_error", "message": _("系统内部错误，请稍后重试")},
                             "request_id": context.current().request_id}, status=500)
    return render(request, "errors/500.html", {"request_id": context.current().request_id}, status=500)
