"""One error format for every API failure: ``{"error": {"code", "message", "fields"?}, "request_id"}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

from bankcrm.core import context, logs
from bankcrm.core.errors import DomainError

# Lazy: these are read per request, in the request's language (a plain gettext here would freeze the language
# active at import time).
DRF_CODES = {
    exceptions.NotAuthenticated: ("not_authenticated", gettext_lazy("请先登录或提供 API 令牌")),
    exceptions.AuthenticationFailed: ("authentication_failed", None),
    exceptions.PermissionDenied: ("permission_denied", None),
    exceptions.NotFound: ("not_found", gettext_lazy("资源不存在或无权查看")),
    exceptions.MethodNotAllowed: ("method_not_allowed", gettext_lazy("不支持该请求方法")),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", gettext_lazy("不支持的内容类型，请使用 application/json")),
    exceptions.ParseError: ("malformed_request", gettext_lazy("请求体格式错误（不是合法的 JSON）")),
    exceptions.Throttled: ("throttled", gettext_lazy("请求过于频繁，请稍后再试")),
    exceptions.NotAcceptable: ("not_acceptable", gettext_lazy("无法提供请求的格式")),
}


def _body(code: str, message: Any, fields: dict | None = None, **extra: Any) -> dict:
    err: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        err["fields"] = fields
    err.update(extra)
    return {"error": err, "request_id": context.current().request_id}


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for k, v in detail.items():
            if isinstance(v, dict):
                for sub, msgs in _flatten(v).items():
                    out[f"{k}.{sub}"] = msgs
            else:
                out[str(k)] = [str(m) for m in (v if isinstance(v, list) else [v])]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def exception_handler(exc: Exception, ctx: dict) -> Response | None:
    request = ctx.get("request")
    if isinstance(exc, DomainError):
        body = _body(**{**exc.as_dict()})
        if exc.status == 403:
            _log_denied(request, exc.code)
        return Response(body, status=exc.status)
    if isinstance(exc, Http404):
        return Response(_body("not_found", _("资源不存在或无权查看")), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, serializers.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.values()))[0] if fields else _("输入有误")
        return Response(_body("validation_failed", _("输入有误：%(m)s") % {"m": first}, fields), status=400)
    response = drf_handler(exc, ctx)
    if response is None:
        return None
    for cls, (code, message) in DRF_CODES.items():
        if isinstance(exc, cls):
            if isinstance(exc, exceptions.PermissionDenied):
                _log_denied(request, code)
            response.data = _body(code, message or getattr(exc, "detail", ""))
            return response
    response.data = _body("error", getattr(exc, "detail", _("请求失败")))
    return response


def _log_denied(request: Any, code: str) -> None:
    if request is None:
        return
    user = getattr(request, "user", None)
    logs.security("denied", actor=user, username=getattr(user, "staff_no", ""), path=request.path, code=code,
                  method=request.method)


