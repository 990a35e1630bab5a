"""Sign-in, profile, and the administration of branches and staff."""

from __future__ import annotations

import io
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, context, logs
from bankcrm.core.errors import DomainError
from bankcrm.core.models import AuditEvent, SecurityEvent
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import auth, selectors, services
from .forms import (
    BranchForm,
    LoginForm,
    PasswordChangeForm,
    ReasonForm,
    RolesForm,
    SetPasswordForm,
    StaffForm,
    TokenForm,
    TotpForm,
)
from .middleware import ENROLMENT_REQUIRED, SESSION_SID
from .models import Staff

PENDING_2FA = "bankcrm_pending_2fa"
K = SecurityEvent.Kind


def _safe_next(request: HttpRequest) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return nxt
    return ""


def _complete_login(request: HttpRequest, staff: Staff, *, enrolment: bool, device=None) -> HttpResponse:
    login(request, staff, backend="bankcrm.org.auth.StaffBackend")
    if device is not None:
        from django_otp import login as otp_login

        otp_login(request, device)
    live = entrypoint(services.session_register)(staff=staff, ip=context.current().ip or "",
                                                 user_agent=context.current().user_agent)
    request.session[SESSION_SID] = live.session_key
    if enrolment:
        request.session[ENROLMENT_REQUIRED] = True
    logs.security(K.LOGIN_OK, actor=staff, username=staff.staff_no, totp=device is not None)
    Staff.objects.filter(pk=staff.pk).update(last_login=timezone.now())
    if enrolment:
        messages.warning(request, _("您的岗位需要双因素认证：请先用手机验证器扫描二维码完成绑定"))
        response = redirect("org:totp")
    else:
        response = redirect(_safe_next(request) or "core:home")
    if staff.preferred_language in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, staff.preferred_language, max_age=365 * 86400, samesite="Lax")
    return response


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = auth.login_check_password(username=form.cleaned_data["username"],
                                                password=form.cleaned_data["password"],
                                                ip=context.current().ip or "", request=request)
        except DomainError as exc:
            form.add_error(None, str(exc.message))
        else:
            if outcome.needs_totp:
                request.session.cycle_key()
                request.session[PENDING_2FA] = {"uid": outcome.staff.pk, "at": timezone.now().timestamp(),
                                                "next": _safe_next(request)}
                return redirect("org:login_totp")
            return _complete_login(request, outcome.staff, enrolment=outcome.needs_enrolment)
    return render(request, "org/login.html", {"form": form, "next": _safe_next(request)})


@require_http_methods(["GET", "POST"])
def login_totp_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_2FA)
    if not pending or timezone.now().timestamp() - pending["at"] > 300:
        request.session.pop(PENDING_2FA, None)
        messages.warning(request, _("请重新输入工号和密码"))
        return redirect("org:login")
    staff = Staff.objects.filter(pk=pending["uid"]).select_related("branch").first()
    if staff is None or not staff.may_work_now():
        request.session.pop(PENDING_2FA, None)
        return redirect("org:login")
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            auth.login_check_totp(staff=staff, token=form.cleaned_data["token"], ip=context.current().ip or "")
        except DomainError as exc:
            form.add_error("token", str(exc.message))
        else:
            request.session.pop(PENDING_2FA, None)
            if pending.get("next"):
                request.POST = request.POST.copy()
                request.POST["next"] = pending["next"]
            return _complete_login(request, staff, enrolment=False, device=staff._otp_device)
    return render(request, "org/login_totp.html", {"form": form, "staff_no": staff.staff_no})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        sid = request.session.get(SESSION_SID)
        from .models import LiveSession

        if sid:
            LiveSession.objects.filter(session_key=sid, ended_at__isnull=True).update(ended_at=timezone.now(), end_reason="logout")
        logs.security(K.LOGOUT, actor=request.user, username=request.user.staff_no)
    logout(request)
    messages.info(request, _("您已安全退出"))
    return redirect("org:login")


def _qr_svg(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode()


@login_required
@require_http_methods(["GET", "POST"])
def totp_view(request: HttpRequest) -> HttpResponse:
    """Enrol (or re-enrol) an authenticator: QR code of an otpauth:// URI, then a first code to confirm."""
    from base64 import b32encode

    device = entrypoint(services.totp_begin_enrolment)(actor=request.user)
    form = TotpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ip = context.current().ip or ""
        try:
            auth.enrolment_guard(staff=request.user, ip=ip)
            entrypoint(services.totp_confirm)(actor=request.user, token=form.cleaned_data["token"])
        except DomainError as exc:
            if exc.code == "totp_invalid":  # counted outside the rolled-back enrolment, like a wrong login code
                exc = auth.enrolment_failed(staff=request.user, ip=ip) or exc
            apply_error(form, request, exc)
        else:
            request.session.pop(ENROLMENT_REQUIRED, None)
            logs.security(K.TOTP_ENROLLED, actor=request.user, username=request.user.staff_no)
            messages.success(request, _("动态口令绑定成功，今后每次登录都需要输入"))
            return redirect("core:home")
    secret = b32encode(device.bin_key).decode()
    return render(request, "org/totp.html", {
        "form": form, "qr_svg": _qr_svg(device.config_url), "secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
        "enrolled": request.user.totpdevice_set.filter(confirmed=True).exists(),
        "required": request.session.get(ENROLMENT_REQUIRED, False),
    })


@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    pw_form = PasswordChangeForm(request.POST if request.POST.get("op") == "password" else None)
    token_form = TokenForm(request.POST if request.POST.get("op") == "token" else None)
    new_secret = None
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "password" and pw_form.is_valid():
                entrypoint(services.password_change_own)(actor=user, old_password=pw_form.cleaned_data["old_password"],
                                                         new_password=pw_form.cleaned_data["new_password"],
                                                         keep_session_key=request.session.get(SESSION_SID, ""))
                # Keep this session signed in: Django ties sessions to the password hash.
                update_session_auth_hash(request, Staff.objects.get(pk=user.pk))
                messages.success(request, _("密码已修改，其他设备上的登录已结束"))
                return redirect("org:profile")
            if op == "token" and token_form.is_valid():
                _token, new_secret = entrypoint(services.token_create)(actor=user, name=token_form.cleaned_data["name"],
                                                                      days=token_form.cleaned_data["days"])
                token_form = TokenForm()
            if op == "revoke_token":
                entrypoint(services.token_revoke)(actor=user, token_id=int(request.POST.get("token_id", 0)))
                messages.success(request, _("令牌已吊销"))
                return redirect("org:profile")
            if op == "end_session":
                entrypoint(services.session_end)(actor=user, session_id=int(request.POST.get("session_id", 0)))
                messages.success(request, _("会话已结束"))
                return redirect("org:profile")
            if op == "language":
                lang = request.POST.get("language", "")
                entrypoint(services.staff_set_language)(actor=user, language=lang)
                response = redirect("org:profile")
                response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, max_age=365 * 86400, samesite="Lax")
                return response
        except DomainError as exc:
            apply_error(pw_form if op == "password" else token_form if op == "token" else None, request, exc)
        except ValueError:
            messages.error(request, _("请求参数不正确"))
    return render(request, "org/profile.html", {
        "pw_form": pw_form, "token_form": token_form, "new_secret": new_secret,
        "tokens": user.api_tokens.filter(revoked_at__isnull=True, expires_at__gt=timezone.now()),
        "sessions": selectors.live_sessions_of(user), "current_sid": request.session.get(SESSION_SID),
        "totp_enrolled": user.totpdevice_set.filter(confirmed=True).exists(),
        "requires_totp": access.requires_totp(user),
        "capabilities": sorted((access.POLICY[c].label, c) for c in access.capabilities_of(user)),
    })


# ---- Branches ---------------------------------------------------------------------------------------------------
@capability_required("org.view_branches")
def branch_list(request: HttpRequest) -> HttpResponse:
    from django.db.models import Count, Q

    branches = selectors.branches_visible(request.user).annotate(
        staff_count=Count("staff", filter=Q(staff__is_active=True)))
    return render(request, "org/branch_list.html", {"branches": branches,
                                                    "can_manage": access.can(request.user, "org.manage_branches")})


@capability_required("org.manage_branches")
@require_http_methods(["GET", "POST"])
def branch_create(request: HttpRequest) -> HttpResponse:
    branches = selectors.branches_visible(request.user).filter(is_active=True)
    form = BranchForm(request.POST or None, branches=branches, initial={"parent": request.GET.get("parent")})
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            branch = entrypoint(services.branch_create)(actor=request.user, code=cd["code"], name=cd["name"], kind=cd["kind"],
                                                        parent_id=cd["parent"].pk if cd["parent"] else None,
                                                        name_en=cd["name_en"], address=cd["address"])
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("机构“%(n)s”已创建") % {"n": branch.name})
            return redirect("org:branches")
    return render(request, "org/branch_form.html", {"form": form, "title": _("新增机构")})


@capability_required("org.manage_branches")
@require_http_methods(["GET", "POST"])
def branch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    branch = selectors.branch_get(request.user, pk)
    initial = {"code": branch.code, "name": branch.name, "name_en": branch.name_en, "kind": branch.kind,
               "parent": branch.parent_id, "address": branch.address, "is_active": branch.is_active}
    form = BranchForm(request.POST or None, initial=initial, branches=selectors.branches_visible(request.user), editing=True)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            entrypoint(services.branch_update)(actor=request.user, branch_id=branch.pk, name=cd["name"],
                                               name_en=cd["name_en"], address=cd["address"], is_active=cd["is_active"])
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("org:branches")
    return render(request, "org/branch_form.html", {"form": form, "title": _("编辑机构"), "branch": branch})


# ---- Staff ------------------------------------------------------------------------------------------------------
@capability_required("org.view_staff")
def staff_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    qs = selectors.staff_visible(request.user, q=g.get("q", ""), branch_id=g.get("branch") or None, role=g.get("role", ""),
                                 employment_type=g.get("employment_type", ""), active=g.get("active", "1"))
    page = paginate(request, qs, 25)
    logs.access(actor=request.user, view="org.staff_list", subject_type="org.Staff", subject_ids=[s.pk for s in page],
                fields=["mobile"])
    query = g.copy()
    query.pop("page", None)
    from .forms import EMPLOYMENT_CHOICES, ROLE_CHOICES

    return render(request, "org/staff_list.html", {
        "page": page, "query": query.urlencode(), "branches": selectors.branches_visible(request.user),
        "roles": ROLE_CHOICES, "types": EMPLOYMENT_CHOICES, "f": g, "active": g.get("active", "1"),
        "can_manage": access.can(request.user, "org.manage_staff"), "today": timezone.localdate(),
    })


@capability_required("org.view_staff")
def staff_detail(request: HttpRequest, pk: int) -> HttpResponse:
    staff = selectors.staff_get(request.user, pk)
    logs.access(actor=request.user, view="org.staff_detail", subject_type="org.Staff", subject_ids=[staff.pk],
                fields=["mobile", "email"])
    from bankcrm.core import audit as audit_mod

    events = list(AuditEvent.objects.filter(target_type="org.Staff", target_id=str(staff.pk)).order_by("-seq")[:20])
    for ev in events:
        ev.verb_label = audit_mod.verb_label(ev.verb)
    from bankcrm.approvals.models import PendingAction

    return render(request, "org/staff_detail.html", {
        "s": staff, "sessions": selectors.live_sessions_of(staff), "events": events,
        "pending": PendingAction.objects.filter(target_type="org.Staff", target_id=str(staff.pk), status="pending"),
        "can_manage": access.can(request.user, "org.manage_staff"),
        "totp_enrolled": staff.totpdevice_set.filter(confirmed=True).exists(),
        "requires_totp": access.requires_totp(staff), "today": timezone.localdate(),
        "contract_soon": staff.contract_end and staff.contract_end - timezone.localdate() <= timedelta(days=14),
        "roles_form": RolesForm(initial={"roles": sorted(staff.roles)}), "reason_form": ReasonForm(),
        "password_form": SetPasswordForm(),
        "can_see_audit": access.can(request.user, "core.view_audit"),
    })


@capability_required("org.manage_staff")
@require_http_methods(["GET", "POST"])
def staff_create(request: HttpRequest) -> HttpResponse:
    branches = selectors.branches_visible(request.user).filter(is_active=True)
    form = StaffForm(request.POST or None, branches=branches)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            staff = entrypoint(services.staff_create)(
                actor=request.user, staff_no=cd["staff_no"], name=cd["name"], branch_id=cd["branch"].pk,
                employment_type=cd["employment_type"], roles=cd["roles"], password=cd["password"],
                contract_start=cd["contract_start"], contract_end=cd["contract_end"], title=cd["title"],
                mobile=cd["mobile"], email=cd["email"])
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("员工 %(n)s 已创建") % {"n": staff.name})
            return redirect("org:staff_detail", pk=staff.pk)
    return render(request, "org/staff_form.html", {"form": form, "title": _("新增员工")})


@capability_required("org.manage_staff")
@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, pk: int) -> HttpResponse:
    staff = selectors.staff_get(request.user, pk)
    initial = {"staff_no": staff.staff_no, "name": staff.name, "branch": staff.branch_id, "employment_type": staff.employment_type,
               "title": staff.title, "contract_start": staff.contract_start, "contract_end": staff.contract_end,
               "mobile": staff.mobile[3:] if staff.mobile.startswith("+86") else staff.mobile, "email": staff.email}
    form = StaffForm(request.POST or None, initial=initial, branches=selectors.branches_visible(request.user), editing=True)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            entrypoint(services.staff_update)(
                actor=request.user, staff_id=staff.pk, name=cd["name"], branch_id=cd["branch"].pk,
                employment_type=cd["employment_type"], title=cd["title"], contract_start=cd["contract_start"],
                contract_end=cd["contract_end"], mobile=cd["mobile"], email=cd["email"])
        except DomainError as exc:
            apply_error(form, request, exc)
        else:
            messages.success(request, _("已保存"))
            return redirect("org:staff_detail", pk=staff.pk)
    logs.access(actor=request.user, view="org.staff_edit", subject_type="org.Staff", subject_ids=[staff.pk],
                fields=["mobile", "email"], unmasked=True, reason="edit")
    return render(request, "org/staff_form.html", {"form": form, "title": _("编辑员工"), "staff": staff})


@require_POST
@capability_required("org.manage_staff")
def staff_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One endpoint per transition: roles, deactivate, reactivate, password, totp_reset, end_sessions."""
    staff = selectors.staff_get(request.user, pk)
    try:
        if action == "roles":
            form = RolesForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("至少选择一个角色"))
            else:
                r = entrypoint(services.staff_set_roles)(actor=request.user, staff_id=staff.pk, roles=form.cleaned_data["roles"],
                                                         reason=form.cleaned_data["reason"])
                msg = _("角色已更新")
                if r["pending"]:
                    msg += _("；特权角色已提交另一名管理员复核")
                messages.success(request, msg)
        elif action in ("deactivate", "reactivate", "totp_reset"):
            form = ReasonForm(request.POST)
            reason = request.POST.get("reason", "")
            fn = {"deactivate": services.staff_deactivate, "reactivate": services.staff_reactivate}.get(action)
            if fn:
                entrypoint(fn)(actor=request.user, staff_id=staff.pk, reason=reason)
            else:
                entrypoint(services.totp_reset)(actor=request.user, staff_id=staff.pk, reason=reason)
            messages.success(request, {"deactivate": _("账户已停用，其所有会话已结束"), "reactivate": _("账户已启用"),
                                       "totp_reset": _("动态口令已重置，下次登录需重新绑定")}[action])
        elif action == "password":
            entrypoint(services.staff_set_password)(actor=request.user, staff_id=staff.pk, password=request.POST.get("password", ""))
            messages.success(request, _("密码已重置，其所有会话已结束"))
        elif action == "end_sessions":
            n = entrypoint(services.staff_end_sessions)(actor=request.user, staff_id=staff.pk)
            messages.success(request, _("已结束 %(n)d 个会话") % {"n": n})
        else:
            from bankcrm.core.web import not_found

            return not_found(request)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    return redirect("org:staff_detail", pk=staff.pk)

