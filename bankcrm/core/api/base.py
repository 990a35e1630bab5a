"""Base classes for API views: a declared capability per view, domain errors mapped once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import permissions, serializers

from bankcrm.core import access


class HasCapability(permissions.BasePermission):
    """Reads ``view.capability`` (or ``view.capabilities[method]``); every API view must declare one."""

    message = _("您没有执行此操作的权限")

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        code = getattr(view, "capabilities", {}).get(request.method) or getattr(view, "capability", None)
        if code is None:
            return False
        if not access.can(request.user, code):
            self.message = access.denial_reason(request.user, code)
            return False
        return True


# The largest id a database integer column holds: an id field bounded by it refuses larger numbers with a 400 (SQLite
# cannot even bind them, PostgreSQL refuses them in a bigint column).
MAX_ID = 2**63 - 1

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(name="ErrorBody", fields={
            "code": serializers.CharField(), "message": serializers.CharField(),
            "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
        }),
        "request_id": serializers.CharField(),
    },
)

ERRORS = {code: OpenApiResponse(ErrorSerializer, description=desc) for code, desc in {
    400: "输入有误 / validation failed", 401: "未认证 / not authenticated", 403: "无权限 / forbidden",
    404: "不存在或无权查看 / not found", 409: "违反业务规则 / rule violation",
}.items()}
