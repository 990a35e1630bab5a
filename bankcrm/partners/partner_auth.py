"""Partner API authentication, kept apart from staff tokens and sessions.

``Authorization: Bearer bkp_<12 hex>_<secret>``. The key is looked up by its public id and the secret compared with
the stored keyed digest in constant time; then the key's state (revoked, expired, rotated past its grace), the
partner's status and its IP allow-list decide. Each refusal is a 401 with a stable code and a Chinese message
(English on request); which state a key is in is only told to a caller who knows its secret.

A verified key acts as a ``PartnerPrincipal``: the pseudo-role ``partner`` (it holds ``partners.api`` and nothing a
member of staff holds), the partner, the key, and its effective scopes (the key's ∩ the partner's). ``PartnerScope``
checks the scope a view declares. The call log middleware reads what happened from the request.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions, permissions

from bankcrm.core import context, logs
from bankcrm.core.api.errors import exception_handler as core_exception_handler

from . import partner_rules as rules
from .access_policy import PARTNER
from .models import ApiKey, Partner

TOUCH_EVERY = timedelta(seconds=60)


@dataclass(eq=False)
class PartnerPrincipal:
    """``request.user`` of a call made with a verified partner key. It is no member of staff (no pk): the audit
    trail labels its changes ``P:<code> <name>``."""

    partner: Partner
    key: ApiKey
    scopes: frozenset[str]
    roles: frozenset[str] = field(default_factory=lambda: frozenset({PARTNER}))
    pk: None = None
    is_authenticated: bool = True
    is_anonymous: bool = False
    is_active: bool = True
    employment_type: str = "employee"
    branch_path: str = ""

    @property
    def staff_no(self) -> str:
        return f"P:{self.partner.code}"

    @property
    def name(self) -> str:
        return self.partner.name

    def __str__(self) -> str:
        return self.staff_no


class PartnerAuthFailed(exceptions.AuthenticationFailed):
    """A refused partner key (401) with its own stable code."""

    def __init__(self, error_code: str, message: Any) -> None:
        super().__init__(detail=str(message))
        self.error_code = error_code


class PartnerForbidden(exceptions.PermissionDenied):
    def __init__(self, error_code: str, message: Any) -> None:
        super().__init__(detail=str(message))
        self.error_code = error_code


def _refuse(request: Any, code: str, message: Any, *, key: ApiKey | None, key_id: str) -> PartnerAuthFailed:
    _note(request, key=key, key_id=key_id, outcome=code)
    logs.security("token_failed", username=key_id[:64], path=request.path, realm="partner", code=code)
    return PartnerAuthFailed(code, message)


def _note(request: Any, **values: Any) -> None:
    """What the call log middleware records about this call (set on the Django request under DRF's)."""
    target = getattr(request, "_request", request)
    target.partner_call = {**getattr(target, "partner_call", {}), **values}


def verify(request: Any, token: str) -> PartnerPrincipal:
    from .partner_services import server_key

    now = timezone.now()
    parsed = rules.parse_token(token)
    key_id = parsed[0] if parsed else rules.key_id_of(token)
    key = (ApiKey.objects.select_related("partner").filter(key_id=key_id).first()) if key_id else None
    if parsed is None or key is None or not hmac.compare_digest(
            key.secret_digest, rules.secret_digest(server_key(), key.key_id, parsed[1])):
        raise _refuse(request, "partner_key_invalid", _("合作机构 API 密钥无效"), key=key, key_id=key_id)
    state = key.state(now)
    if state == "revoked":
        raise _refuse(request, "partner_key_revoked", _("该 API 密钥已吊销"), key=key, key_id=key_id)
    if state == "expired":
        raise _refuse(request, "partner_key_expired", _("该 API 密钥已过期"), key=key, key_id=key_id)
    if state == "retired":
        raise _refuse(request, "partner_key_rotated", _("该 API 密钥已轮换且宽限期已过，请使用新密钥"), key=key,
                      key_id=key_id)
    partner = key.partner
    if partner.status != Partner.Status.ACTIVE:
        raise _refuse(request, "partner_suspended", _("合作机构已暂停接入"), key=key, key_id=key_id)
    ip = context.current().ip or ""
    if not rules.ip_allowed(ip, partner.ip_allowlist):
        raise _refuse(request, "partner_ip_not_allowed", _("来源地址不在该合作机构的白名单内"), key=key, key_id=key_id)
    if key.last_used_at is None or now - key.last_used_at > TOUCH_EVERY or key.last_used_ip != ip:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip[:45])
    _note(request, key=key, key_id=key_id, verified=True)
    return PartnerPrincipal(partner=partner, key=key, scopes=frozenset(key.scopes) & frozenset(partner.allowed_scopes))


class PartnerKeyAuthentication(authentication.BaseAuthentication):
    """Bearer partner keys (``bkp_…``) on the partner routes; other credentials are left to the next class."""

    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[PartnerPrincipal, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        token = header[len(self.keyword) + 1:].strip()
        if not token.startswith(rules.KEY_PREFIX):
            return None
        principal = verify(request, token)
        return principal, principal.key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="bankcrm-partner"'


class PartnerScope(permissions.BasePermission):
    """The scope a partner view declares (``partner_scope``, or ``partner_scopes[method]``) must be among the key's
    effective scopes. Staff never get this far (``HasCapability`` refuses them ``partners.api``)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        principal = request.user
        if not isinstance(principal, PartnerPrincipal):
            return False
        needed = getattr(view, "partner_scopes", {}).get(request.method) or getattr(view, "partner_scope", None)
        if needed and needed not in principal.scopes:
            label = rules.SCOPES.get(needed, needed)
            raise PartnerForbidden("partner_scope_missing",
                                   _("该 API 密钥未获授权：%(s)s（%(c)s）") % {"s": label, "c": needed})
        return True


def partner_exception_handler(exc: Exception, ctx: dict) -> Any:
    """The one error format, with the partner-specific stable codes in place of DRF's generic ones."""
    response = core_exception_handler(exc, ctx)
    code = getattr(exc, "error_code", None)
    if response is not None and code and isinstance(response.data, dict) and "error" in response.data:
        response.data["error"]["code"] = code
    return response
