"""Authentication: the backend, login throttling per user name and per IP, and the two-step TOTP login."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import BaseBackend
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, logs
from bankcrm.core.errors import AuthenticationFailed, Throttled
from bankcrm.core.models import SecurityEvent

from .models import LoginThrottle, Staff

K = SecurityEvent.Kind


class StaffBackend(BaseBackend):
    """Checks the password and that the account may work today (active, contract in force)."""

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kw: Any):
        if not username or not password:
            return None
        staff = Staff.objects.filter(staff_no__iexact=username.strip()).select_related("branch").first()
        if staff is None:
            Staff().set_password(password)  # same cost as a real check, so timing does not reveal unknown names
            return None
        if staff.check_password(password) and staff.may_work_now():
            return staff
        return None

    def get_user(self, user_id: Any):
        staff = Staff.objects.filter(pk=user_id).select_related("branch").prefetch_related("role_assignments").first()
        return staff if staff and staff.may_work_now() else None


@dataclass
class LoginOutcome:
    staff: Staff
    needs_totp: bool
    needs_enrolment: bool


def _throttle_rows(username: str, ip: str) -> list[LoginThrottle]:
    keys = [(LoginThrottle.Scope.USER, username.lower()[:80])]
    if ip:
        keys.append((LoginThrottle.Scope.IP, ip))
    LoginThrottle.objects.bulk_create([LoginThrottle(scope=s, key=k) for s, k in keys], ignore_conflicts=True)
    rows = []
    for s, k in keys:  # always user row first, then IP: one lock order, no deadlocks
        rows.append(LoginThrottle.objects.select_for_update().get(scope=s, key=k))
    return rows


def _locked(rows: list[LoginThrottle], now: datetime) -> LoginThrottle | None:
    return next((r for r in rows if r.locked_until and r.locked_until > now), None)


def _count_failure(rows: list[LoginThrottle], now: datetime, username: str) -> bool:
    """Count one failure on every row; returns True if this failure locked a row."""
    locked_now = False
    for row in rows:
        if now - row.window_start > settings.BANKCRM_LOCKOUT_WINDOW:
            row.failures, row.window_start = 0, now
        row.failures += 1
        limit = settings.BANKCRM_LOCKOUT_FAILURES if row.scope == LoginThrottle.Scope.USER else settings.BANKCRM_LOCKOUT_IP_FAILURES
        if row.failures >= limit:
            row.locked_until, row.failures, row.window_start = now + settings.BANKCRM_LOCKOUT_DURATION, 0, now
            locked_now = True
            logs.security(K.LOCKED_OUT, username=username, scope=row.scope)
        row.save(update_fields=["failures", "window_start", "locked_until"])
    return locked_now


def _lock_message(row: LoginThrottle) -> str:
    minutes = max(1, int((row.locked_until - timezone.now()).total_seconds() // 60) + 1)
    if row.scope == LoginThrottle.Scope.IP:
        return _("该网络地址登录失败次数过多，请 %(m)d 分钟后再试") % {"m": minutes}
    return _("登录失败次数过多，账户已锁定，请 %(m)d 分钟后再试或联系管理员") % {"m": minutes}


def login_check_password(*, username: str, password: str, ip: str, request: Any = None) -> LoginOutcome:
    """First login step. Counting and checking happen under the throttle rows' locks, so N parallel attackers get
    exactly the allowed number of password checks before the lock, never more."""
    from django.contrib.auth import authenticate

    username = (username or "").strip()
    now = timezone.now()
    with transaction.atomic():
        rows = _throttle_rows(username, ip)
        locked = _locked(rows, now)
        # No raise inside this block: it would roll back the security-log entry with it.
        staff = None if locked else authenticate(request, username=username, password=password)
        if locked:
            logs.security(K.LOGIN_FAILED, username=username, reason="locked")
            outcome_error: Exception | None = Throttled("login_locked", _lock_message(locked))
        elif staff is None:
            known = Staff.objects.filter(staff_no__iexact=username).first()
            reason = "bad_credentials"
            message = _("工号或密码不正确")
            if known and known.check_password(password or "") and not known.may_work_now():
                reason = "inactive" if not known.is_active else "contract_expired"
                message = (_("账户已停用，请联系管理员") if not known.is_active
                           else _("您的合同已到期，账户已停止使用，请联系管理员"))
            logs.security(K.LOGIN_FAILED, username=username, reason=reason)
            outcome_error = AuthenticationFailed(f"login_{reason}", message)
            if reason == "bad_credentials" and _count_failure(rows, now, username):
                outcome_error = Throttled("login_locked", _lock_message(_locked(rows, now) or rows[0]))
        else:
            rows[0].failures = 0
            rows[0].save(update_fields=["failures"])
            outcome_error = None
    if outcome_error is not None:
        raise outcome_error
    needs_totp = settings.BANKCRM_REQUIRE_TOTP and access.requires_totp(staff)
    has_device = needs_totp and staff.totpdevice_set.filter(confirmed=True).exists()
    return LoginOutcome(staff=staff, needs_totp=needs_totp and has_device, needs_enrolment=needs_totp and not has_device)


def login_check_totp(*, staff: Staff, token: str, ip: str) -> None:
    """Second login step: a fresh TOTP code (django-otp refuses a code already used) under the same throttle."""
    from django_otp import match_token

    now = timezone.now()
    with transaction.atomic():
        rows = _throttle_rows(staff.staff_no, ip)
        locked = _locked(rows, now)
        if locked:
            raise Throttled("login_locked", _lock_message(locked))
        device = match_token(staff, (token or "").strip()) if token and token.strip().isdigit() else None
        if device is None or not device.confirmed:
            logs.security(K.TOTP_FAILED, actor=None, username=staff.staff_no)
            just_locked = _count_failure(rows, now, staff.staff_no)
            err: Exception | None = AuthenticationFailed("totp_invalid", _("动态口令不正确或已使用，请输入手机上最新的6位数字"))
            if just_locked:
                err = Throttled("login_locked", _lock_message(_locked(rows, now) or rows[0]))
        else:
            err = None
    if err is not None:
        raise err
    staff._otp_device = device  # type: ignore[attr-defined]


def enrolment_guard(*, staff: Staff, ip: str) -> None:
    """Before checking a first code at authenticator enrolment: refuse while the member of staff is locked out. The
    enrolment code is a second factor like the login code, so it shares the login throttle."""
    with transaction.atomic():
        locked = _locked(_throttle_rows(staff.staff_no, ip), timezone.now())
    if locked:
        raise Throttled("login_locked", _lock_message(locked))


def enrolment_failed(*, staff: Staff, ip: str) -> Throttled | None:
    """Count a wrong enrolment code in its own committed transaction (the enrolment itself rolled back); returns the
    lockout to show if this failure locked the account."""
    now = timezone.now()
    with transaction.atomic():
        rows = _throttle_rows(staff.staff_no, ip)
        logs.security(K.TOTP_FAILED, actor=staff, username=staff.staff_no)
        if _count_failure(rows, now, staff.staff_no):
            return Throttled("login_locked", _lock_message(_locked(rows, now) or rows[0]))
    return None

