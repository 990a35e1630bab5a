"""API authentication: personal bearer tokens (hashed at rest) and the session, with CSRF."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from bankcrm.core import logs


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer bcrm_<prefix>_<secret>``. Expired, revoked or ended-access tokens are refused."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        secret = header[len(self.keyword) + 1:].strip()
        from bankcrm.org.models import ApiToken
        from bankcrm.org.services import token_digest

        token = (ApiToken.objects.select_related("staff", "staff__branch")
                 .filter(digest=token_digest(secret)).first()) if secret else None
        now = timezone.now()
        if token is None or token.revoked_at or token.expires_at <= now or not token.staff.may_work_now():
            logs.security("token_failed", username=token.staff.staff_no if token else "", path=request.path)
            raise exceptions.AuthenticationFailed(_("API 令牌无效、已过期或已吊销"))
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.staff, token

    def authenticate_header(self, request):
        return self.keyword


class GuardedSessionAuthentication(authentication.SessionAuthentication):
    """The browser session (already checked by the session guard middleware), with CSRF enforced."""
