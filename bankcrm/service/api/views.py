"""Service API: complaints and service requests (list, create, detail) with each transition as its own endpoint,
rectification actions, the decision letter (PDF), the root-cause taxonomy and the statistics. Responses naming
customers write an access event; every write goes through the services (scope, recusal, audit)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, MAX_ID, HasCapability
from bankcrm.core.errors import NotFound
from bankcrm.core.transactions import entrypoint

from .. import reports, selectors, services
from ..models import Channel, Complaint, Event, Extension, Notice, ProductLine, Rectification, RootCause, ServiceRequest

CHANNELS = [c for c in Channel.choices if c[0] != Channel.SURVEY]


def _log(request: Request, view: str, ids: Any) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=["name", "complaint"], channel="api")


# ---- Serializers ----------------------------------------------------------------------------------------------------
class SvcEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.name", default=None, read_only=True)

    class Meta:
        model = Event
        fields = ["kind", "text", "actor", "at"]
        read_only_fields = fields


class SvcExtensionSerializer(serializers.ModelSerializer):
    approved_by = serializers.CharField(source="approved_by.name", read_only=True)

    class Meta:
        model = Extension
        fields = ["level", "reason", "previous_due_on", "new_due_on", "approved_by", "created_at"]
        read_only_fields = fields


class SvcNoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notice
        fields = ["kind", "body", "created_at"]
        read_only_fields = fields


class SvcRectificationSerializer(serializers.ModelSerializer):
    owner_name = serializers.CharField(source="owner.name", read_only=True)

    class Meta:
        model = Rectification
        fields = ["id", "complaint_id", "action", "owner_id", "owner_name", "due_on", "status", "done_at", "done_note"]
        read_only_fields = fields


class ComplaintSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    root_cause_code = serializers.CharField(source="root_cause.code", default=None, read_only=True)

    class Meta:
        model = Complaint
        fields = ["id", "number", "kind", "channel", "product_line", "summary", "status", "customer_id", "customer_no",
                  "branch_id", "staff_named_id", "handler_id", "received_at", "ack_due_on", "acknowledged_at",
                  "decision_due_on", "extension_level", "decision", "root_cause_code", "decided_at", "closed_at",
                  "source_ref"]
        read_only_fields = fields


class ComplaintDetailSerializer(ComplaintSerializer):
    events = SvcEventSerializer(many=True, read_only=True)
    extensions = SvcExtensionSerializer(many=True, read_only=True)
    notices = SvcNoticeSerializer(many=True, read_only=True)
    rectifications = SvcRectificationSerializer(many=True, read_only=True)

    class Meta(ComplaintSerializer.Meta):
        fields = [*ComplaintSerializer.Meta.fields, "description", "request", "findings", "remedy", "events",
                  "extensions", "notices", "rectifications"]
        read_only_fields = fields


class ComplaintCreateSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1)
    channel = serializers.ChoiceField(choices=CHANNELS)
    product_line = serializers.ChoiceField(choices=ProductLine.choices, default=ProductLine.OTHER)
    summary = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    request = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    staff_named_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class SvcNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class SvcHandlerSerializer(serializers.Serializer):
    handler_id = serializers.IntegerField(min_value=1)


class SvcReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, allow_blank=True)


class SvcDecisionSerializer(serializers.Serializer):
    findings = serializers.CharField(max_length=4000, allow_blank=True)
    decision = serializers.ChoiceField(choices=Complaint.Decision.choices)
    remedy = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    root_cause_id = serializers.IntegerField(min_value=1)


class SvcRectificationCreateSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=300)
    owner_id = serializers.IntegerField(min_value=1)
    due_on = serializers.DateField()


class SvcDoneSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, allow_blank=True)


class ServiceRequestSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)

    class Meta:
        model = ServiceRequest
        fields = ["id", "number", "kind", "channel", "priority", "subject", "status", "customer_id", "customer_no",
                  "owner_id", "appointment_at", "received_at", "respond_due_at", "resolve_due_at", "responded_at",
                  "resolved_at", "closed_at"]
        read_only_fields = fields


class ServiceRequestDetailSerializer(ServiceRequestSerializer):
    events = SvcEventSerializer(many=True, read_only=True)

    class Meta(ServiceRequestSerializer.Meta):
        fields = [*ServiceRequestSerializer.Meta.fields, "description", "resolution", "events"]
        read_only_fields = fields


class ServiceRequestCreateSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=ServiceRequest.Kind.choices)
    channel = serializers.ChoiceField(choices=CHANNELS)
    priority = serializers.ChoiceField(choices=ServiceRequest.Priority.choices, default="normal")
    subject = serializers.CharField(max_length=120)
    description = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    owner_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    appointment_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class SvcOwnerSerializer(serializers.Serializer):
    owner_id = serializers.IntegerField(min_value=1)


class SvcResolutionSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=4000, allow_blank=True)


class RootCauseSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", default=None, read_only=True)

    class Meta:
        model = RootCause
        fields = ["id", "code", "name", "parent_code", "active", "order"]
        read_only_fields = fields


# ---- Complaints -----------------------------------------------------------------------------------------------------
def _complaint(request: Request, pk: int) -> Complaint:
    c = selectors.complaint_get(request.user, pk)
    if c is None:
        raise NotFound("complaint_not_found", "投诉不存在或无权查看")
    return c


class ComplaintListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "service.view", "POST": "service.register"}
    serializer_class = ComplaintSerializer

    def get_queryset(self):
        q = self.request.query_params
        qs = selectors.complaint_queue(self.request.user, status=q.get("status", "open"), kind=q.get("kind", ""),
                                       mine=q.get("mine") == "1", q=q.get("q", ""))
        customer = q.get("customer", "")
        if not customer.isdigit():
            return qs
        return qs.filter(customer_id=customer) if int(customer) <= MAX_ID else qs.none()

    @extend_schema(parameters=[OpenApiParameter("status", str, description="open (default), received, acknowledged, "
                                                                            "assigned, decided, closed, or empty"),
                               OpenApiParameter("kind", str), OpenApiParameter("mine", str),
                               OpenApiParameter("q", str), OpenApiParameter("customer", int)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "service.api_complaint_list", [c["customer_id"] for c in response.data.get("results", [])])
        return response

    @extend_schema(request=ComplaintCreateSerializer, responses={201: ComplaintDetailSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        s = ComplaintCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        c = entrypoint(services.complaint_register)(actor=request.user, **s.validated_data)
        return Response(ComplaintDetailSerializer(c).data, status=201)


class ComplaintDetail(APIView):
    permission_classes = [HasCapability]
    capability = "service.view"

    @extend_schema(responses={200: ComplaintDetailSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        c = _complaint(request, pk)
        _log(request, "service.api_complaint", [c.customer_id])
        return Response(ComplaintDetailSerializer(c).data)


def _transition(capability: str, body: type[serializers.Serializer] | None, run: Any, name: str) -> type[APIView]:
    """One POST endpoint per complaint transition, answering with the complaint."""

    class Transition(APIView):
        permission_classes = [HasCapability]

        @extend_schema(request=body, responses={200: ComplaintDetailSerializer, **ERRORS}, operation_id=name)
        def post(self, request: Request, pk: int) -> Response:
            data: dict[str, Any] = {}
            if body is not None:
                s = body(data=request.data)
                s.is_valid(raise_exception=True)
                data = dict(s.validated_data)
            c = entrypoint(run)(actor=request.user, complaint_id=pk, **data)
            return Response(ComplaintDetailSerializer(selectors.complaint_get(request.user, c.pk) or c).data)

    Transition.capability = capability
    Transition.__name__ = Transition.__qualname__ = name.title().replace("_", "")
    return Transition


ComplaintAcknowledge = _transition("service.handle", SvcNoteSerializer, services.complaint_acknowledge,
                                   "service_complaint_acknowledge")
ComplaintAssign = _transition("service.assign", SvcHandlerSerializer, services.complaint_assign,
                              "service_complaint_assign")
ComplaintExtend = _transition("service.extend", SvcReasonSerializer, services.complaint_extend,
                              "service_complaint_extend")
ComplaintDecide = _transition("service.handle", SvcDecisionSerializer, services.complaint_decide,
                              "service_complaint_decide")
ComplaintClose = _transition("service.handle", None, services.complaint_close, "service_complaint_close")


class ComplaintRectifications(APIView):
    permission_classes = [HasCapability]
    capability = "service.handle"

    @extend_schema(request=SvcRectificationCreateSerializer, responses={201: SvcRectificationSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = SvcRectificationCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        r = entrypoint(services.rectification_add)(actor=request.user, complaint_id=pk, **s.validated_data)
        return Response(SvcRectificationSerializer(r).data, status=201)


class RectificationDone(APIView):
    permission_classes = [HasCapability]
    capability = "service.handle"

    @extend_schema(request=SvcDoneSerializer, responses={200: SvcRectificationSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = SvcDoneSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        r = entrypoint(services.rectification_done)(actor=request.user, rectification_id=pk,
                                                    note=s.validated_data["note"])
        return Response(SvcRectificationSerializer(r).data)


class ComplaintLetter(APIView):
    permission_classes = [HasCapability]
    capability = "service.letter"

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="decision letter (PDF)"),
                              **ERRORS})
    def get(self, request: Request, pk: int) -> HttpResponse:
        name, ctype, data = entrypoint(reports.letter_pdf)(actor=request.user, complaint_id=pk)
        resp = HttpResponse(data, content_type=ctype)
        resp["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp


# ---- Requests -------------------------------------------------------------------------------------------------------
class RequestListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "service.view", "POST": "service.register"}
    serializer_class = ServiceRequestSerializer

    def get_queryset(self):
        q = self.request.query_params
        qs = selectors.request_queue(self.request.user, status=q.get("status", "open"), mine=q.get("mine") == "1",
                                     q=q.get("q", ""))
        customer = q.get("customer", "")
        if not customer.isdigit():
            return qs
        return qs.filter(customer_id=customer) if int(customer) <= MAX_ID else qs.none()

    @extend_schema(parameters=[OpenApiParameter("status", str, description="open (default), in_progress, resolved, "
                                                                            "closed, or empty for all"),
                               OpenApiParameter("mine", str), OpenApiParameter("q", str),
                               OpenApiParameter("customer", int)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "service.api_request_list", [r["customer_id"] for r in response.data.get("results", [])])
        return response

    @extend_schema(request=ServiceRequestCreateSerializer, responses={201: ServiceRequestDetailSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        s = ServiceRequestCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        r = entrypoint(services.request_register)(actor=request.user, **s.validated_data)
        return Response(ServiceRequestDetailSerializer(r).data, status=201)


class RequestDetail(APIView):
    permission_classes = [HasCapability]
    capability = "service.view"

    @extend_schema(responses={200: ServiceRequestDetailSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        r = selectors.request_get(request.user, pk)
        if r is None:
            raise NotFound("request_not_found", "服务请求不存在或无权查看")
        _log(request, "service.api_request", [r.customer_id])
        return Response(ServiceRequestDetailSerializer(r).data)


def _request_transition(body: type[serializers.Serializer] | None, run: Any, name: str,
                        rename: dict[str, str] | None = None) -> type[APIView]:
    class Transition(APIView):
        permission_classes = [HasCapability]
        capability = "service.handle"

        @extend_schema(request=body, responses={200: ServiceRequestDetailSerializer, **ERRORS}, operation_id=name)
        def post(self, request: Request, pk: int) -> Response:
            data: dict[str, Any] = {}
            if body is not None:
                s = body(data=request.data)
                s.is_valid(raise_exception=True)
                data = {(rename or {}).get(k, k): v for k, v in s.validated_data.items()}
            r = entrypoint(run)(actor=request.user, request_id=pk, **data)
            return Response(ServiceRequestDetailSerializer(r).data)

    Transition.__name__ = Transition.__qualname__ = name.title().replace("_", "")
    return Transition


RequestRespond = _request_transition(SvcNoteSerializer, services.request_respond, "service_request_respond")
RequestAssign = _request_transition(SvcOwnerSerializer, services.request_assign, "service_request_assign")
RequestResolve = _request_transition(SvcResolutionSerializer, services.request_resolve, "service_request_resolve")
RequestClose = _request_transition(None, services.request_close, "service_request_close")


# ---- Taxonomy and statistics ----------------------------------------------------------------------------------------
class RootCauseList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "service.view"
    serializer_class = RootCauseSerializer
    pagination_class = None

    def get_queryset(self):
        return RootCause.objects.select_related("parent").order_by("order", "code")


class Stats(APIView):
    permission_classes = [HasCapability]
    capability = "service.stats"

    @extend_schema(parameters=[OpenApiParameter("start", str, description="YYYY-MM-DD"),
                               OpenApiParameter("end", str, description="YYYY-MM-DD")],
                   responses={200: OpenApiResponse(description="complaint statistics and cycle times")})
    def get(self, request: Request) -> Response:
        from ..forms import PeriodForm

        start, end = PeriodForm.default()
        form = PeriodForm(request.query_params if request.query_params.get("start") else None)
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        st = selectors.complaint_stats(request.user, start=start, end=end, kind="")
        st.pop("rows")
        return Response({"start": start, "end": end, **{k: v for k, v in st.items() if k != "by_branch"},
                         "by_branch": st["by_branch"],
                         "requests": selectors.request_cycle_times(request.user, start=start, end=end)})
