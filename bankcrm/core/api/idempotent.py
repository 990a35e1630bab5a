"""The `Idempotency-Key` contract on the API (QUALITY.md R3), in one place for every money-moving or approving
endpoint: the first answer is stored with the effect; a retry gets it back with `Idempotent-Replayed: true`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from bankcrm.core import idempotency

KEY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
    description="客户端生成的唯一键（8–80 位字母数字、-_.:），重试时原样重发：同一键同一请求只执行一次并返回首次结果",
)
OPTIONAL_KEY_HEADER = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
    description="可选；提供时同一键的重试返回首次结果，不会重复执行",
)


def respond(request: Request, *, scope: str, body: dict[str, Any],
            execute: Callable[[], tuple[int, dict[str, Any]]]) -> Response:
    status, answer, replayed = idempotency.run(actor=request.user, key=request.headers.get("Idempotency-Key"),
                                               scope=scope, body=body, execute=execute)
    response = Response(answer, status=status)
    response["Idempotent-Replayed"] = "true" if replayed else "false"
    return response
