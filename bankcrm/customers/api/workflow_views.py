"""Customer workflows through the API: relationships, handovers, exports, data-subject requests."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint
from bankcrm.customers import dsr, exports, handover, selectors, services
from bankcrm.customers.models import Consent, CustomerExport, DataSubjectRequest, Handover, Relationship

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RelationshipIn(serializers.Serializer):
    other_customer = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Relationship.Kind.choices)
    note = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class RelationshipOut(serializers.Serializer):
    relationship = serializers.IntegerField()
    word = serializers.CharField()
    name = serializers.CharField()
    other_customer_no = serializers.CharField(allow_null=True)


class CustomerRelationships(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "customers.view", "POST": "customers.edit"}

    @extend_schema(responses={200: RelationshipOut(many=True), **ERRORS}, operation_id="customers_relationships_list")
    def get(self, request: Request, pk: int) -> Response:
        c = selectors.customer_get(request.user, pk)
        g = selectors.relationship_graph(request.user, c)
        return Response([{"relationship": r["rel"].pk, "word": r["word"], "name": r["name"],
                          "other_customer_no": r["other"].customer_no if r["other"] else None} for r in g["rows"]])

    @extend_schema(request=RelationshipIn, responses={201: RelationshipOut, **ERRORS}, operation_id="customers_relationships_add")
    def post(self, request: Request, pk: int) -> Response:
        s = RelationshipIn(data=request.data)
        s.is_valid(raise_exception=True)
        rel = entrypoint(services.relationship_add)(actor=request.user, customer_id=pk, other_customer_id=s.validated_data["other_customer"],
                                                    kind=s.validated_data["kind"], note=s.validated_data["note"])
        return Response({"relationship": rel.pk, "word": rel.get_kind_display(), "name": "", "other_customer_no": rel.to_customer.customer_no},
                        status=201)


class HandoverSerializer(serializers.ModelSerializer):
    departing_staff_no = serializers.CharField(source="departing.staff_no", read_only=True)
    items = serializers.SerializerMethodField()

    class Meta:
        model = Handover
        fields = ["id", "departing", "departing_staff_no", "reason", "status", "created_at", "executed_at", "pending_action", "items"]
        read_only_fields = fields

    def get_items(self, obj: Handover) -> list[dict]:
        return [{"id": i.pk, "customer": i.customer_id, "role": i.role, "successor": i.successor_id} for i in obj.items.all()]


class HandoverOpenIn(serializers.Serializer):
    staff = serializers.IntegerField()
    reason = serializers.CharField(max_length=200)


class SuccessorIn(serializers.Serializer):
    successor = serializers.IntegerField()
    items = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)


class Handovers(APIView):
    permission_classes = [HasCapability]
    capability = "customers.assign_manager"

    @extend_schema(responses={200: HandoverSerializer(many=True), **ERRORS}, operation_id="handovers_list")
    def get(self, request: Request) -> Response:
        return Response(HandoverSerializer(handover.handovers_visible(request.user)[:200], many=True).data)

    @extend_schema(request=HandoverOpenIn, responses={201: HandoverSerializer, **ERRORS}, operation_id="handovers_open")
    def post(self, request: Request) -> Response:
        s = HandoverOpenIn(data=request.data)
        s.is_valid(raise_exception=True)
        h = entrypoint(handover.handover_open)(actor=request.user, staff_id=s.validated_data["staff"], reason=s.validated_data["reason"])
        return Response(HandoverSerializer(h).data, status=201)


class HandoverDetail(APIView):
    permission_classes = [HasCapability]
    capability = "customers.assign_manager"

    @extend_schema(responses={200: HandoverSerializer, **ERRORS}, operation_id="handovers_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(HandoverSerializer(handover.handover_get(request.user, pk)).data)


class HandoverSuccessor(APIView):
    permission_classes = [HasCapability]
    capability = "customers.assign_manager"

    @extend_schema(request=SuccessorIn, responses={200: HandoverSerializer, **ERRORS}, operation_id="handovers_set_successor")
    def post(self, request: Request, pk: int) -> Response:
        s = SuccessorIn(data=request.data)
        s.is_valid(raise_exception=True)
        entrypoint(handover.handover_set_successor)(actor=request.user, handover_id=pk, successor_id=s.validated_data["successor"],
                                                    item_ids=s.validated_data["items"] or None)
        return Response(HandoverSerializer(handover.handover_get(request.user, pk)).data)


class HandoverSubmit(APIView):
    permission_classes = [HasCapability]
    capability = "customers.assign_manager"

    @extend_schema(request=None, responses={200: HandoverSerializer, **ERRORS}, operation_id="handovers_submit")
    def post(self, request: Request, pk: int) -> Response:
        return Response(HandoverSerializer(entrypoint(handover.handover_submit)(actor=request.user, handover_id=pk)).data)


class ExportSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerExport
        fields = ["id", "query", "masked", "reason", "status", "row_count", "created_at", "expires_at", "downloaded_at"]
        read_only_fields = fields


class ExportIn(serializers.Serializer):
    q = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    masked = serializers.BooleanField(default=True)
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class Exports(APIView):
    permission_classes = [HasCapability]
    capability = "customers.export"

    @extend_schema(responses={200: ExportSerializer(many=True), **ERRORS}, operation_id="customer_exports_list")
    def get(self, request: Request) -> Response:
        return Response(ExportSerializer(CustomerExport.objects.filter(requested_by=request.user)[:200], many=True).data)

    @extend_schema(request=ExportIn, responses={200: OpenApiResponse(description="xlsx file (masked export)"),
                                                201: ExportSerializer, **ERRORS}, operation_id="customer_exports_create")
    def post(self, request: Request):
        s = ExportIn(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        if d["masked"]:
            exp, data = entrypoint(exports.export_masked)(actor=request.user, query=d["q"])
            response = HttpResponse(data, content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="{exp.file_name}"'
            return response
        exp = entrypoint(exports.export_request_unmasked)(actor=request.user, query=d["q"], reason=d["reason"])
        return Response(ExportSerializer(exp).data, status=201)


class ExportDownload(APIView):
    permission_classes = [HasCapability]
    capability = "customers.export"

    @extend_schema(request=None, responses={200: OpenApiResponse(description="xlsx file"), **ERRORS}, operation_id="customer_exports_download")
    def post(self, request: Request, pk: int):
        exp, data = entrypoint(exports.export_download)(actor=request.user, export_id=pk)
        response = HttpResponse(data, content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="{exp.file_name}"'
        return response


class DsrSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataSubjectRequest
        fields = ["id", "customer", "kind", "channel", "details", "received_at", "due_on", "status", "completed_at", "outcome"]
        read_only_fields = fields


class DsrIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DataSubjectRequest.Kind.choices)
    channel = serializers.ChoiceField(choices=Consent.Channel.choices)
    details = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class OutcomeIn(serializers.Serializer):
    outcome = serializers.CharField(max_length=500)


class SubjectRequests(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "customers.view", "POST": "customers.edit"}

    @extend_schema(responses={200: DsrSerializer(many=True), **ERRORS}, operation_id="subject_requests_list")
    def get(self, request: Request, pk: int) -> Response:
        return Response(DsrSerializer(selectors.customer_get(request.user, pk).subject_requests.all(), many=True).data)

    @extend_schema(request=DsrIn, responses={201: DsrSerializer, **ERRORS}, operation_id="subject_requests_open")
    def post(self, request: Request, pk: int) -> Response:
        s = DsrIn(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(DsrSerializer(entrypoint(dsr.dsr_open)(actor=request.user, customer_id=pk, **s.validated_data)).data, status=201)


class SubjectRequestAction(APIView):
    permission_classes = [HasCapability]
    capabilities = {"POST": "customers.edit"}
    action = ""

    @extend_schema(request=OutcomeIn, responses={200: DsrSerializer, **ERRORS})
    def post(self, request: Request, pk: int, request_id: int):
        selectors.customer_get(request.user, pk)
        if self.action == "complete":
            s = OutcomeIn(data=request.data)
            s.is_valid(raise_exception=True)
            return Response(DsrSerializer(entrypoint(dsr.dsr_complete)(actor=request.user, request_id=request_id,
                                                                       outcome=s.validated_data["outcome"])).data)
        if self.action == "erase":
            return Response(DsrSerializer(entrypoint(dsr.dsr_erase)(actor=request.user, request_id=request_id)).data)
        data = entrypoint(dsr.dsr_export)(actor=request.user, request_id=request_id)
        return HttpResponse(data, content_type="application/json; charset=utf-8")


class SubjectRequestComplete(SubjectRequestAction):
    action = "complete"


class SubjectRequestErase(SubjectRequestAction):
    action = "erase"

    @extend_schema(request=None, responses={200: DsrSerializer, **ERRORS}, operation_id="subject_requests_erase")
    def post(self, request: Request, pk: int, request_id: int):
        return super().post(request, pk, request_id)


class SubjectRequestCopy(SubjectRequestAction):
    action = "copy"
    capabilities = {"POST": "customers.unmask"}

    @extend_schema(request=None, responses={200: OpenApiResponse(description="JSON package of the customer's data"), **ERRORS},
                   operation_id="subject_requests_copy")
    def post(self, request: Request, pk: int, request_id: int):
        return super().post(request, pk, request_id)
