"""Request context and security headers."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import context

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def client_ip(request: HttpRequest) -> str:
    # Behind a trusted proxy, production sets BANKCRM_TRUSTED_PROXY so X-Forwarded-For is believed (operations.md).
    from django.conf import settings

    if getattr(settings, "BANKCRM_TRUSTED_PROXY", False):
        fwd = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if fwd:
            return fwd.split(",")[0].strip()[:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


class RequestContextMiddleware:
    """Give every request an id (echoed as X-Request-ID), the client IP and channel, for audit and logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = incoming.replace("-", "")[:32] if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        ctx = context.RequestContext(
            request_id=rid,
            ip=client_ip(request),
            channel="api" if request.path.startswith("/api/") else "web",
            path=request.path[:200],
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:200],
        )
        request.request_id = rid  # type: ignore[attr-defined]
        with context.use(ctx):
            response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    """CSP on every page; no-store on every authenticated or personal-data response so nothing stays in caches."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/docs") or (request.path.startswith("/api/v1/") and "text/html" in response.get("Content-Type", "")):
            # Swagger UI and the browsable API need inline scripts and styles.
            response.setdefault("Content-Security-Policy", CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
                                .replace("script-src 'self'", "script-src 'self' 'unsafe-inline'"))
        else:
            response.setdefault("Content-Security-Policy", CSP)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


class LanguageMiddleware:
    """Chinese unless the person chose English: the language cookie (set by the switcher) decides, never the
    browser's Accept-Language, so a bank's branch PCs with English Windows still show Chinese."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from django.conf import settings
        from django.utils import translation

        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if lang not in dict(settings.LANGUAGES):
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response


class InboxBadgeMiddleware:
    """Whatever a signed-in person changes (any request that is not a read) may change their to-do count: their
    cached badge figure is forgotten (core.inbox.badge_count)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if request.method not in ("GET", "HEAD", "OPTIONS") and user is not None and user.is_authenticated:
            from . import inbox

            inbox.badge_forget(user)
        return response
