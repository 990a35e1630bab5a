"""Audit explorer API (under /api/v1/supervision/audit/): search with keyset pages (``before`` = a seq), one event,
chain verification, and the signed extract (a ZIP: JSON Lines + detached HMAC signature)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import audit
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.models import AuditEvent

from .. import audit_explorer as ax


class SvAuditQuerySerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, max_length=20, help_text="操作人工号")
    verb = serializers.CharField(required=False, max_length=64)
    target_type = serializers.CharField(required=False, max_length=64)
    target_id = serializers.CharField(required=False, max_length=64)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)
    request_id = serializers.CharField(required=False, max_length=32)

    def validate_verb(self, value: str) -> str:
        if value and value not in audit.VERBS:
            raise serializers.ValidationError("unknown verb")
        return value

    def filters(self) -> ax.Filters:
        d = self.validated_data
        return ax.Filters(actor_no=d.get("actor", ""), verb=d.get("verb", ""), target_type=d.get("target_type", ""),
                          target_id=d.get("target_id", ""), since=d.get("since"), until=d.get("until"),
                          request_id=d.get("request_id", ""))


class SvAuditPageQuerySerializer(SvAuditQuerySerializer):
    before = serializers.IntegerField(required=False, min_value=1, help_text="上一页返回的 next_before")
    size = serializers.IntegerField(required=False, min_value=1, max_value=200, default=ax.PAGE_SIZE)


class SvAuditEventSerializer(serializers.ModelSerializer):
    verb_label = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "actor_id", "actor_label", "verb", "verb_label", "target_type", "target_id",
                  "target_repr", "before", "after", "reason", "request_id", "ip", "channel", "prev_hash", "hash"]
        read_only_fields = fields

    def get_verb_label(self, obj: AuditEvent) -> str:
        return audit.verb_label(obj.verb)


class SvAuditPageSerializer(serializers.Serializer):
    results = SvAuditEventSerializer(many=True)
    next_before = serializers.IntegerField(allow_null=True)


class SvAuditVerifySerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(allow_blank=True)
    head_seq = serializers.IntegerField()
    at = serializers.CharField()


class SvAuditEvents(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.audit"

    @extend_schema(parameters=[SvAuditPageQuerySerializer], responses={200: SvAuditPageSerializer, **ERRORS},
                   operation_id="supervision_audit_events")
    def get(self, request: Request) -> Response:
        q = SvAuditPageQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        rows, cursor = ax.page(request.user, q.filters(), before=q.validated_data.get("before"),
                               size=q.validated_data["size"])
        return Response(SvAuditPageSerializer({"results": rows, "next_before": cursor}).data)


class SvAuditEvent(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.audit"

    @extend_schema(responses={200: SvAuditEventSerializer, **ERRORS}, operation_id="supervision_audit_event")
    def get(self, request: Request, seq: int) -> Response:
        return Response(SvAuditEventSerializer(ax.event_get(request.user, seq)).data)


class SvAuditVerify(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.audit"

    @extend_schema(request=None, responses={200: SvAuditVerifySerializer, **ERRORS},
                   operation_id="supervision_audit_verify", description="校验整条审计链，返回第一个异常记录（如有）。")
    def post(self, request: Request) -> Response:
        return Response(SvAuditVerifySerializer(ax.verify(actor=request.user)).data)


class SvAuditExtract(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.audit_export"

    @extend_schema(request=SvAuditQuerySerializer,
                   responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY,
                                                                        description="audit-extract ZIP"), **ERRORS},
                   operation_id="supervision_audit_extract",
                   description="导出签名审计摘录（ZIP：audit-extract.jsonl + audit-extract.jsonl.sig）。")
    def post(self, request: Request) -> HttpResponse:
        b = SvAuditQuerySerializer(data=request.data)
        b.is_valid(raise_exception=True)
        name, data, _rec = ax.build_extract(actor=request.user, filters=b.filters())
        resp = HttpResponse(data, content_type="application/zip")
        resp["Content-Disposition"] = f'attachment; filename="{name}"'
        resp["Cache-Control"] = "no-store"
        return resp
