"""Staff-conduct API (under /api/v1/supervision/): signals (list, detail, review, escalate), the key-post leave and
rotation status, and recording leave and rotation. Scoped like the pages: compliance every branch, supervisors their
subtree; only compliance reviews."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.models import ConductSignal
from bankcrm.core.transactions import entrypoint

from .. import conduct_rules as rules
from .. import conduct_selectors as sel
from .. import conduct_services as svc
from ..models import LeaveRecord, RotationRecord, Severity


class SvSignalSerializer(serializers.ModelSerializer):
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)
    staff_name = serializers.CharField(source="staff.name", read_only=True)
    kind_label = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()

    class Meta:
        model = ConductSignal
        fields = ["id", "kind", "kind_label", "staff_no", "staff_name", "branch_path", "detail", "created_at",
                  "status", "conclusion", "closed_at", "outcome"]
        read_only_fields = fields

    def get_kind_label(self, obj: ConductSignal) -> str:
        return str(rules.KIND_LABELS.get(obj.kind, obj.kind))

    def get_outcome(self, obj: ConductSignal) -> str:
        rec = getattr(obj, "supervision", None) if hasattr(obj, "supervision") else None
        return rec.outcome if rec else ("open" if obj.status == "open" else "reviewed")


class SvSignalFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k, k) for k in rules.KIND_LABELS], required=False)
    status = serializers.ChoiceField(choices=ConductSignal.Status.choices, required=False)
    staff_no = serializers.CharField(required=False, max_length=20)


class SvSignalReviewSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)


class SvSignalEscalateSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)


class SvLeaveSerializer(serializers.ModelSerializer):
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)

    class Meta:
        model = LeaveRecord
        fields = ["id", "staff_no", "kind", "start_on", "end_on", "days", "note", "recorded_at"]
        read_only_fields = fields


class SvLeaveCreateSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=LeaveRecord.Kind.choices, default=LeaveRecord.Kind.MANDATORY)
    start_on = serializers.DateField()
    end_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class SvRotationSerializer(serializers.ModelSerializer):
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)
    branch = serializers.CharField(source="branch.code", read_only=True)

    class Meta:
        model = RotationRecord
        fields = ["id", "staff_no", "post", "branch", "from_on", "to_on", "note", "recorded_at"]
        read_only_fields = fields


class SvRotationCreateSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField()
    post = serializers.CharField(max_length=24)
    from_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class SvKeyPostSerializer(serializers.Serializer):
    staff_no = serializers.CharField()
    name = serializers.CharField()
    branch = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    last_mandatory_leave_end = serializers.DateField(allow_null=True)
    post_since = serializers.DateField(allow_null=True)
    years_in_post = serializers.FloatField(allow_null=True)
    leave_overdue = serializers.BooleanField()
    rotation_overdue = serializers.BooleanField()


class SvSignals(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "supervision.conduct"
    serializer_class = SvSignalSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ConductSignal.objects.none()
        q = SvSignalFilterSerializer(data=self.request.query_params)
        q.is_valid(raise_exception=True)
        return sel.signal_list(self.request.user, **q.validated_data)

    @extend_schema(parameters=[SvSignalFilterSerializer], operation_id="supervision_conduct_signals_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SvSignalDetail(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.conduct"

    @extend_schema(responses={200: SvSignalSerializer, **ERRORS}, operation_id="supervision_conduct_signal")
    def get(self, request: Request, pk: int) -> Response:
        return Response(SvSignalSerializer(sel.signal_get(request.user, pk)).data)


class SvSignalReview(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.conduct_review"

    @extend_schema(request=SvSignalReviewSerializer, responses={200: SvSignalSerializer, **ERRORS},
                   operation_id="supervision_conduct_signal_review", description="核查无问题，关闭预警。")
    def post(self, request: Request, pk: int) -> Response:
        b = SvSignalReviewSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        entrypoint(svc.signal_review)(actor=request.user, signal_id=pk, note=b.validated_data["note"])
        return Response(SvSignalSerializer(sel.signal_get(request.user, pk)).data)


class SvSignalEscalate(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.conduct_review"

    @extend_schema(request=SvSignalEscalateSerializer, responses={200: SvSignalSerializer, **ERRORS},
                   operation_id="supervision_conduct_signal_escalate", description="升级为检查发现并关闭预警。")
    def post(self, request: Request, pk: int) -> Response:
        b = SvSignalEscalateSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        entrypoint(svc.signal_escalate)(actor=request.user, signal_id=pk, **b.validated_data)
        return Response(SvSignalSerializer(sel.signal_get(request.user, pk)).data)


class SvKeyPosts(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.conduct"

    @extend_schema(responses={200: SvKeyPostSerializer(many=True), **ERRORS}, operation_id="supervision_conduct_key_posts",
                   description="关键岗位人员的强制休假与轮岗检查结果。")
    def get(self, request: Request) -> Response:
        rows = [{"staff_no": r["staff"].staff_no, "name": r["staff"].name, "branch": r["staff"].branch.code,
                 "roles": r["roles"], "last_mandatory_leave_end": r["last_leave"].end_on if r["last_leave"] else None,
                 "post_since": r["post_since"], "years_in_post": r["years_in_post"],
                 "leave_overdue": r["leave_overdue"], "rotation_overdue": r["rotation_overdue"]}
                for r in sel.leave_status(request.user)]
        return Response(SvKeyPostSerializer(rows, many=True).data)


class SvLeaveRecords(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.conduct", "POST": "supervision.conduct_records"}
    serializer_class = SvLeaveSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LeaveRecord.objects.none()
        return sel.leave_records(self.request.user)

    @extend_schema(operation_id="supervision_conduct_leave_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SvLeaveCreateSerializer, responses={201: SvLeaveSerializer, **ERRORS},
                   operation_id="supervision_conduct_leave_create")
    def post(self, request: Request) -> Response:
        b = SvLeaveCreateSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        rec = entrypoint(svc.leave_record)(actor=request.user, **b.validated_data)
        return Response(SvLeaveSerializer(rec).data, status=201)


class SvRotationRecords(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.conduct", "POST": "supervision.conduct_records"}
    serializer_class = SvRotationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return RotationRecord.objects.none()
        return sel.rotation_records(self.request.user)

    @extend_schema(operation_id="supervision_conduct_rotation_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SvRotationCreateSerializer, responses={201: SvRotationSerializer, **ERRORS},
                   operation_id="supervision_conduct_rotation_create")
    def post(self, request: Request) -> Response:
        b = SvRotationCreateSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        rec = entrypoint(svc.rotation_record)(actor=request.user, **b.validated_data)
        return Response(SvRotationSerializer(rec).data, status=201)
