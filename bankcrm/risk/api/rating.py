"""AML rating and due-diligence API: a customer's rating (current + history; manual rating), reviews due, and the
due-diligence tasks (list; one task's checklist and its completion). Domain errors are mapped centrally."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import due_diligence as dd_svc
from .. import rating as svc
from ..models import AmlLevel, DueDiligence, RiskProfile, RiskRating


class RatingSerializer(serializers.ModelSerializer):
    rated_by = serializers.CharField(source="rated_by.staff_no", read_only=True, default=None)
    model_version = serializers.IntegerField(source="model.version", read_only=True, default=None)
    pending_action = serializers.IntegerField(source="pending_action_id", read_only=True)

    class Meta:
        model = RiskRating
        fields = ["id", "level", "computed_level", "score", "factors", "trigger", "rationale", "status", "rated_by",
                  "rated_at", "next_review_on", "model_version", "pending_action"]
        read_only_fields = fields


class CustomerRatingSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    level = serializers.CharField(allow_blank=True)
    rated_at = serializers.DateTimeField(allow_null=True)
    review_due_on = serializers.DateField(allow_null=True)
    overdue = serializers.BooleanField()
    pending_approval = serializers.BooleanField()
    open_due_diligence = serializers.IntegerField()
    current = RatingSerializer(allow_null=True)
    pending = RatingSerializer(allow_null=True)
    history = RatingSerializer(many=True)


class ManualRatingSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=AmlLevel.choices, required=False, allow_blank=True, allow_null=True,
                                    help_text="留空表示按模型重新评级")
    rationale = serializers.CharField(max_length=500)


class DueRowSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no")
    first_rating = serializers.SerializerMethodField()
    due_on = serializers.SerializerMethodField()

    class Meta:
        model = RiskProfile
        fields = ["customer", "customer_no", "aml_level", "aml_rated_at", "first_rating", "due_on"]
        read_only_fields = fields

    def get_first_rating(self, obj: RiskProfile) -> bool:
        return not obj.aml_level

    def get_due_on(self, obj: RiskProfile) -> Any:
        d = svc.due_on(obj)
        return d.isoformat() if d else None


class DueDiligenceSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    completed_by = serializers.CharField(source="completed_by.staff_no", read_only=True, default=None)

    class Meta:
        model = DueDiligence
        fields = ["id", "customer", "customer_no", "trigger", "source_key", "entry_id", "checklist", "status", "result",
                  "notes", "opened_at", "due_on", "completed_by", "completed_at"]
        read_only_fields = fields


class ChecklistItemSerializer(serializers.Serializer):
    done = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CompleteSerializer(serializers.Serializer):
    items = serializers.DictField(child=ChecklistItemSerializer(), help_text="检查项代码 → {done, note}")
    result = serializers.ChoiceField(choices=DueDiligence.Result.choices)
    notes = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


def _log(request: Request, view: str, ids: list[int]) -> None:
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=sorted(set(ids)),
                    fields=["occupation"], channel="api")


class CustomerRating(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "risk.view", "POST": "risk.rate"}

    def _body(self, request: Request, customer) -> dict[str, Any]:
        s = svc.rating_summary(request.user, customer)
        return {"customer": customer.pk, "level": s["level"], "rated_at": s["rated_at"], "review_due_on": s["review_due_on"],
                "overdue": s["overdue"], "pending_approval": s["pending_approval"],
                "open_due_diligence": s["open_due_diligence"], "current": svc.current_rating(customer),
                "pending": svc.pending_rating(customer), "history": list(svc.ratings_of(request.user, customer)[:50])}

    @extend_schema(responses={200: CustomerRatingSerializer, **ERRORS}, operation_id="risk_customer_rating")
    def get(self, request: Request, pk: int) -> Response:
        customer = svc.customer_for_rating(request.user, pk)
        _log(request, "api.risk_rating", [customer.pk])
        return Response(CustomerRatingSerializer(self._body(request, customer)).data)

    @extend_schema(request=ManualRatingSerializer,
                   responses={201: OpenApiResponse(RatingSerializer, description="已评级 / rated"),
                              202: OpenApiResponse(RatingSerializer, description="下调待审批 / waiting for approval"),
                              **ERRORS}, operation_id="risk_customer_rate")
    def post(self, request: Request, pk: int) -> Response:
        s = ManualRatingSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        r = entrypoint(svc.risk_rate)(actor=request.user, customer_id=pk, trigger="manual",
                                      rationale=s.validated_data["rationale"], level=s.validated_data.get("level") or None)
        return Response(RatingSerializer(r).data, status=202 if r.status == RiskRating.Status.PENDING else 201)


class RatingsDue(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "risk.rate"
    serializer_class = DueRowSerializer

    @extend_schema(parameters=[OpenApiParameter("within_days", int, description="到期日在今天之后多少天内（默认 30）")],
                   responses={200: DueRowSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "api.risk_ratings_due", [r["customer"] for r in response.data.get("results", [])])
        return response

    def get_queryset(self):
        raw = self.request.query_params.get("within_days", "30")
        days = min(int(raw), 3660) if raw.isdigit() else 30
        return svc.ratings_due(self.request.user, within_days=days)


class DueDiligenceList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "risk.due_diligence"
    serializer_class = DueDiligenceSerializer

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=DueDiligence.Status.values)],
                   responses={200: DueDiligenceSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "api.risk_due_diligence", [r["customer"] for r in response.data.get("results", [])])
        return response

    def get_queryset(self):
        qs = dd_svc.dd_visible(self.request.user)
        status = self.request.query_params.get("status")
        return qs.filter(status=status) if status in DueDiligence.Status.values else qs


class DueDiligenceComplete(APIView):
    permission_classes = [HasCapability]
    capability = "risk.due_diligence"

    @extend_schema(responses={200: DueDiligenceSerializer, **ERRORS}, operation_id="risk_due_diligence_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        dd = dd_svc.dd_get(request.user, pk)
        _log(request, "api.risk_due_diligence", [dd.customer_id])
        return Response(DueDiligenceSerializer(dd).data)

    @extend_schema(request=CompleteSerializer, responses={200: DueDiligenceSerializer, **ERRORS},
                   operation_id="risk_due_diligence_complete")
    def post(self, request: Request, pk: int) -> Response:
        s = CompleteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        dd = entrypoint(dd_svc.due_diligence_complete)(actor=request.user, dd_id=pk, items=d["items"],
                                                       result=d["result"], notes=d["notes"])
        return Response(DueDiligenceSerializer(dd_svc.dd_get(request.user, dd.pk)).data)
