"""The session guard: every authenticated request is checked against the live-session registry.

A session ends at once when it was ended in the registry (logout elsewhere, deactivation, role change, password
reset), when the person may no longer work (contract ended at midnight, account deactivated), after the idle limit,
or after the absolute limit. Privileged staff who have not yet enrolled TOTP can reach only the enrolment page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import context, logs
from bankcrm.core.models import SecurityEvent

from .models import LiveSession

SESSION_SID = "bankcrm_sid"
ENROLMENT_REQUIRED = "bankcrm_totp_enrolment_required"
TOUCH_EVERY = timedelta(seconds=60)
ENROLMENT_PATHS = ("/accounts/totp/", "/accounts/logout/", "/static/", "/i18n/")

END_MESSAGES = {
    "idle": gettext_lazy("您长时间未操作，会话已结束，请重新登录"),
    "absolute": gettext_lazy("登录已超过最长时限，请重新登录"),
    "ended": gettext_lazy("您的会话已被结束，请重新登录"),
    "not_allowed": gettext_lazy("您的账户已停用或合同已到期"),
}


class SessionGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if request.path.startswith(("/static/", "/healthz")) or user is None or not user.is_authenticated:
            return self.get_response(request)
        sid = request.session.get(SESSION_SID)
        live = LiveSession.objects.filter(session_key=sid, staff_id=user.pk).first() if sid else None
        now = timezone.now()
        reason = None
        if live is None or live.ended_at is not None or live.auth_version != user.auth_version:
            reason = "ended"
        elif not user.may_work_now():
            reason = "not_allowed"
        elif now - live.last_seen_at > settings.BANKCRM_SESSION_IDLE:
            reason = "idle"
        elif now - live.created_at > settings.BANKCRM_SESSION_ABSOLUTE:
            reason = "absolute"
        if reason:
            return self._end(request, live, reason)
        if now - live.last_seen_at > TOUCH_EVERY:
            LiveSession.objects.filter(pk=live.pk).update(last_seen_at=now)
        if request.session.get(ENROLMENT_REQUIRED) and not request.path.startswith(ENROLMENT_PATHS):
            if request.path.startswith("/api/"):
                return JsonResponse({"error": {"code": "totp_enrolment_required",
                                               "message": _("请先绑定动态口令")}, "request_id": context.current().request_id}, status=403)
            return redirect("org:totp")
        return self.get_response(request)

    def _end(self, request: HttpRequest, live: LiveSession | None, reason: str) -> HttpResponse:
        user = request.user
        if live is not None and live.ended_at is None:
            LiveSession.objects.filter(pk=live.pk, ended_at__isnull=True).update(ended_at=timezone.now(), end_reason=reason)
        logs.security(SecurityEvent.Kind.SESSION_ENDED, actor=user, username=getattr(user, "staff_no", ""), reason=reason)
        logout(request)
        message = str(END_MESSAGES[reason])
        if request.path.startswith("/api/"):
            return JsonResponse({"error": {"code": f"session_{reason}", "message": message},
                                 "request_id": context.current().request_id}, status=401)
        messages.warning(request, message)
        return redirect(reverse("org:login"))
