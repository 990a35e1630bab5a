"""Customer API: search and register, retrieve (masked), update, reveal one field with a reason, consents, managers.
Every response that shows personal data writes an access event."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint
from bankcrm.customers import monitoring, selectors, services

from .serializers import (
    AssignmentSerializer,
    AssignSerializer,
    ConsentCreateSerializer,
    ConsentSerializer,
    CustomerCreateSerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    RevealResultSerializer,
    RevealSerializer,
)

SHOWN = ["name", "id_number", "mobile", "email", "address", "birth_date"]


def _log(request: Request, view: str, ids: list[int]) -> None:
    logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids, fields=SHOWN, channel="api")


class CustomerListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "customers.view", "POST": "customers.register"}
    serializer_class = CustomerSerializer

    @extend_schema(parameters=[OpenApiParameter("q", str, description="客户号、姓名、拼音/首字母、手机号或后四位、证件号码")],
                   responses={200: CustomerSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        response = super().get(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        _log(request, "api.customers_list", [r["id"] for r in rows])
        return response

    def get_queryset(self):
        return selectors.search(self.request.user, self.request.query_params.get("q", "")).select_related("branch").order_by("pk")

    @extend_schema(request=CustomerCreateSerializer, responses={201: CustomerSerializer, **ERRORS}, operation_id="customers_create")
    def post(self, request: Request) -> Response:
        s = CustomerCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        branch, manager = d.pop("branch"), d.pop("primary_manager")
        c = entrypoint(services.customer_register)(actor=request.user, branch_id=branch, primary_manager_id=manager, **d)
        _log(request, "api.customers_create", [c.pk])
        return Response(CustomerSerializer(c, context={"request": request}).data, status=201)


class CustomerDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "customers.view", "PATCH": "customers.edit"}

    @extend_schema(responses={200: CustomerSerializer, **ERRORS}, operation_id="customers_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        c = selectors.customer_get(request.user, pk)
        _log(request, "api.customers_detail", [c.pk])
        monitoring.check_bulk_view(request.user)
        return Response(CustomerSerializer(c, context={"request": request}).data)

    @extend_schema(request=CustomerUpdateSerializer, responses={200: CustomerSerializer, **ERRORS}, operation_id="customers_update")
    def patch(self, request: Request, pk: int) -> Response:
        s = CustomerUpdateSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        c = entrypoint(services.customer_update)(actor=request.user, customer_id=pk, reason=d.pop("reason", ""), **d)
        _log(request, "api.customers_update", [c.pk])
        return Response(CustomerSerializer(c, context={"request": request}).data)


class CustomerReveal(APIView):
    permission_classes = [HasCapability]
    capability = "customers.view"

    @extend_schema(request=RevealSerializer, responses={200: RevealResultSerializer, **ERRORS}, operation_id="customers_reveal")
    def post(self, request: Request, pk: int) -> Response:
        s = RevealSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        value = entrypoint(services.customer_reveal)(actor=request.user, customer_id=pk, **s.validated_data)
        return Response({"field": s.validated_data["field"], "value": value})


class CustomerConsents(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "customers.view", "POST": "customers.manage_consent"}

    @extend_schema(responses={200: ConsentSerializer(many=True), **ERRORS}, operation_id="customers_consents_list")
    def get(self, request: Request, pk: int) -> Response:
        c = selectors.customer_get(request.user, pk)
        return Response(ConsentSerializer(c.consents.all(), many=True).data)

    @extend_schema(request=ConsentCreateSerializer, responses={201: ConsentSerializer, **ERRORS}, operation_id="customers_consents_create")
    def post(self, request: Request, pk: int) -> Response:
        s = ConsentCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        consent = entrypoint(services.consent_grant)(actor=request.user, customer_id=pk, **s.validated_data)
        return Response(ConsentSerializer(consent).data, status=201)


class CustomerConsentWithdraw(APIView):
    permission_classes = [HasCapability]
    capability = "customers.manage_consent"

    @extend_schema(request=None, responses={200: ConsentSerializer, **ERRORS}, operation_id="customers_consents_withdraw")
    def post(self, request: Request, pk: int, consent_id: int) -> Response:
        consent = entrypoint(services.consent_withdraw)(actor=request.user, customer_id=pk, consent_id=consent_id)
        return Response(ConsentSerializer(consent).data)


class CustomerManagers(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "customers.view", "POST": "customers.assign_manager"}

    @extend_schema(responses={200: AssignmentSerializer(many=True), **ERRORS}, operation_id="customers_managers_list")
    def get(self, request: Request, pk: int) -> Response:
        c = selectors.customer_get(request.user, pk)
        return Response(AssignmentSerializer(c.team.select_related("staff"), many=True).data)

    @extend_schema(request=AssignSerializer, responses={201: AssignmentSerializer, **ERRORS}, operation_id="customers_managers_assign")
    def post(self, request: Request, pk: int) -> Response:
        s = AssignSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        a = entrypoint(services.manager_assign)(actor=request.user, customer_id=pk, staff_id=s.validated_data["staff"],
                                                role=s.validated_data["role"], reason=s.validated_data["reason"])
        return Response(AssignmentSerializer(a).data, status=201)
