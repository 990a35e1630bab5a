"""Retention API (under /api/v1/supervision/): legal holds (list, place, release) and retention runs (list, start a
dry run or a real run). Counts only: no personal data in a run."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import masking
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import retention_services as rs
from ..models import LegalHold, RetentionRun


class SvLegalHoldSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", default="", read_only=True)
    customer_name = serializers.SerializerMethodField()
    placed_by = serializers.CharField(source="placed_by.staff_no", read_only=True)
    released_by = serializers.CharField(source="released_by.staff_no", default="", read_only=True)

    class Meta:
        model = LegalHold
        fields = ["id", "customer_no", "customer_name", "target_type", "target_id", "reason", "placed_by", "placed_at",
                  "released_by", "released_at", "release_reason"]
        read_only_fields = fields

    def get_customer_name(self, obj: LegalHold) -> str:
        return masking.mask_name(obj.customer.name) if obj.customer_id else ""


class SvLegalHoldCreateSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(required=False, help_text="客户内部编号（或填写 target_type + target_id）")
    target_type = serializers.ChoiceField(choices=[(k, k) for k in rs.HOLD_TYPES], required=False, allow_blank=True)
    target_id = serializers.CharField(required=False, allow_blank=True, max_length=40)
    reason = serializers.CharField(max_length=300)


class SvHoldReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class SvRetentionRunSerializer(serializers.ModelSerializer):
    triggered_by = serializers.CharField(source="triggered_by.staff_no", default="", read_only=True)
    counts = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()), read_only=True)

    class Meta:
        model = RetentionRun
        fields = ["id", "started_at", "finished_at", "dry_run", "status", "counts", "triggered_by", "error"]
        read_only_fields = fields


class SvRetentionRunCreateSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(default=True)
    categories = serializers.MultipleChoiceField(choices=[(c, c) for c in rs.CATEGORY_CODES], required=False)


class SvLegalHolds(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.retention", "POST": "supervision.legal_hold"}
    serializer_class = SvLegalHoldSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LegalHold.objects.none()
        return rs.holds_visible(self.request.user)

    @extend_schema(operation_id="supervision_legal_holds_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SvLegalHoldCreateSerializer, responses={201: SvLegalHoldSerializer, **ERRORS},
                   operation_id="supervision_legal_holds_create")
    def post(self, request: Request) -> Response:
        b = SvLegalHoldCreateSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        hold = entrypoint(rs.hold_place)(actor=request.user, **b.validated_data)
        return Response(SvLegalHoldSerializer(hold).data, status=201)


class SvLegalHoldRelease(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.legal_hold"

    @extend_schema(request=SvHoldReleaseSerializer, responses={200: SvLegalHoldSerializer, **ERRORS},
                   operation_id="supervision_legal_holds_release")
    def post(self, request: Request, pk: int) -> Response:
        b = SvHoldReleaseSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        hold = entrypoint(rs.hold_release)(actor=request.user, hold_id=pk, reason=b.validated_data["reason"])
        return Response(SvLegalHoldSerializer(hold).data)


class SvRetentionRuns(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.retention", "POST": "supervision.retention_run"}
    serializer_class = SvRetentionRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RetentionRun.objects.none()
        return rs.runs_visible(self.request.user)

    @extend_schema(operation_id="supervision_retention_runs_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SvRetentionRunCreateSerializer, responses={201: SvRetentionRunSerializer, **ERRORS},
                   operation_id="supervision_retention_runs_create",
                   description="执行数据保留清理：dry_run=true 只统计（默认），false 清理或匿名化到期数据（法律保全除外）。")
    def post(self, request: Request) -> Response:
        b = SvRetentionRunCreateSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        run = rs.retention_run(actor=request.user, dry_run=b.validated_data["dry_run"],
                               categories=sorted(b.validated_data.get("categories") or []) or None)
        return Response(SvRetentionRunSerializer(run).data, status=201)
