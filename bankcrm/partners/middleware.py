"""The partner call log: every request to the partner API, and every request anywhere that presents a partner key,
becomes one ``ApiCall`` row — answered or refused (bad key, wrong scope, unknown URL, server error alike).

Only the method, the path (never the query string or the body), the status, a stable outcome code, the duration,
the request id and the client address are kept. The key is attributed by its public id when one was presented;
the secret is never looked at here.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from bankcrm.core import context

from . import partner_rules as rules

log = logging.getLogger(__name__)
PARTNER_PATH = "/api/v1/partner/"


def _presented(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    return header[7:].strip() if header.startswith("Bearer ") else ""


def _outcome(response: HttpResponse) -> str:
    if response.status_code < 400:
        return "ok"
    if getattr(response, "streaming", False) or "json" not in response.get("Content-Type", ""):
        return f"http_{response.status_code}"
    try:
        code = json.loads(response.content).get("error", {}).get("code", "")
    except (ValueError, AttributeError):
        code = ""
    return str(code)[:40] or f"http_{response.status_code}"


class PartnerCallLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _presented(request)
        if not (request.path.startswith(PARTNER_PATH) or token.startswith(rules.KEY_PREFIX)):
            return self.get_response(request)
        started = time.monotonic()
        response = self.get_response(request)
        try:
            self._log(request, response, token, started)
        except Exception:  # the answer is already made; a logging failure is reported, never turned into an error
            log.exception("partner API call not logged")
        return response

    def _log(self, request: HttpRequest, response: HttpResponse, token: str, started: float) -> None:
        from .models import ApiCall, ApiKey

        call = getattr(request, "partner_call", {})
        key = call.get("key")
        key_id = call.get("key_id") or rules.key_id_of(token)
        if key is None and key_id:
            key = ApiKey.objects.filter(key_id=key_id).first()
        outcome = call.get("outcome") or _outcome(response)
        ctx = context.current()
        ApiCall.objects.create(
            occurred_at=timezone.now(), partner_id=key.partner_id if key else None, api_key=key, key_id=key_id[:20],
            method=request.method[:8], path=request.path[:200], status=response.status_code, outcome=outcome,
            duration_ms=int((time.monotonic() - started) * 1000), request_id=ctx.request_id, ip=(ctx.ip or "")[:45])
