"""Org API: who am I, branches, staff and their transitions."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import access, logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint
from bankcrm.org import selectors, services

from .serializers import (
    BranchCreateSerializer,
    BranchSerializer,
    BranchUpdateSerializer,
    MeSerializer,
    ReasonSerializer,
    RolesResultSerializer,
    RolesSerializer,
    StaffCreateSerializer,
    StaffSerializer,
    StaffUpdateSerializer,
)


class MeView(APIView):
    permission_classes = [HasCapability]
    capability = "core.home"

    @extend_schema(responses={200: MeSerializer, **ERRORS}, operation_id="me")
    def get(self, request: Request) -> Response:
        u = request.user
        return Response(MeSerializer({
            "id": u.pk, "staff_no": u.staff_no, "name": u.name, "branch": u.branch, "employment_type": u.employment_type,
            "roles": sorted(u.roles), "capabilities": sorted(access.capabilities_of(u)), "requires_totp": access.requires_totp(u),
        }).data)


class BranchListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "org.view_branches", "POST": "org.manage_branches"}
    serializer_class = BranchSerializer

    def get_queryset(self):
        return selectors.branches_visible(self.request.user)

    @extend_schema(request=BranchCreateSerializer, responses={201: BranchSerializer, **ERRORS}, operation_id="branches_create")
    def post(self, request: Request) -> Response:
        s = BranchCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        b = entrypoint(services.branch_create)(actor=request.user, code=d["code"], name=d["name"], kind=d["kind"],
                                               parent_id=d.get("parent"), name_en=d["name_en"], address=d["address"])
        return Response(BranchSerializer(b).data, status=201)


class BranchDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "org.view_branches", "PATCH": "org.manage_branches"}

    @extend_schema(responses={200: BranchSerializer, **ERRORS}, operation_id="branches_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(BranchSerializer(selectors.branch_get(request.user, pk)).data)

    @extend_schema(request=BranchUpdateSerializer, responses={200: BranchSerializer, **ERRORS}, operation_id="branches_update")
    def patch(self, request: Request, pk: int) -> Response:
        current = selectors.branch_get(request.user, pk)
        s = BranchUpdateSerializer(data={"name": current.name, "name_en": current.name_en, "address": current.address,
                                         "is_active": current.is_active, **request.data})
        s.is_valid(raise_exception=True)
        b = entrypoint(services.branch_update)(actor=request.user, branch_id=pk, **s.validated_data)
        return Response(BranchSerializer(b).data)


class StaffListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "org.view_staff", "POST": "org.manage_staff"}
    serializer_class = StaffSerializer

    @extend_schema(parameters=[OpenApiParameter("q", str), OpenApiParameter("branch", int), OpenApiParameter("role", str),
                               OpenApiParameter("employment_type", str), OpenApiParameter("active", str, enum=["1", "0", ""])],
                   responses={200: StaffSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", []) if isinstance(response.data, dict) else response.data
        logs.access(actor=request.user, view="api.staff_list", subject_type="org.Staff",
                    subject_ids=[r["id"] for r in rows], fields=["mobile", "email"], channel="api")
        return response

    def get_queryset(self):
        g = self.request.query_params
        return selectors.staff_visible(self.request.user, q=g.get("q", ""), branch_id=g.get("branch") or None,
                                       role=g.get("role", ""), employment_type=g.get("employment_type", ""),
                                       active=g.get("active", ""))

    @extend_schema(request=StaffCreateSerializer, responses={201: StaffSerializer, **ERRORS}, operation_id="staff_create")
    def post(self, request: Request) -> Response:
        s = StaffCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        d["branch_id"] = d.pop("branch")
        staff = entrypoint(services.staff_create)(actor=request.user, **d)
        return Response(StaffSerializer(selectors.staff_get(request.user, staff.pk)).data, status=201)


class StaffDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "org.view_staff", "PATCH": "org.manage_staff"}

    @extend_schema(responses={200: StaffSerializer, **ERRORS}, operation_id="staff_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        staff = selectors.staff_get(request.user, pk)
        logs.access(actor=request.user, view="api.staff_detail", subject_type="org.Staff", subject_ids=[staff.pk],
                    fields=["mobile", "email"], channel="api")
        return Response(StaffSerializer(staff).data)

    @extend_schema(request=StaffUpdateSerializer, responses={200: StaffSerializer, **ERRORS}, operation_id="staff_update")
    def patch(self, request: Request, pk: int) -> Response:
        cur = selectors.staff_get(request.user, pk)
        base = {"name": cur.name, "branch": cur.branch_id, "employment_type": cur.employment_type, "title": cur.title,
                "contract_start": cur.contract_start, "contract_end": cur.contract_end,
                "mobile": cur.mobile, "email": cur.email}
        data = request.data if isinstance(request.data, dict) else {}
        s = StaffUpdateSerializer(data={**base, **{k: v for k, v in data.items() if k in base}})
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)
        d["branch_id"] = d.pop("branch")
        entrypoint(services.staff_update)(actor=request.user, staff_id=pk, **d)
        return Response(StaffSerializer(selectors.staff_get(request.user, pk)).data)


class StaffRoles(APIView):
    permission_classes = [HasCapability]
    capability = "org.manage_staff"

    @extend_schema(request=RolesSerializer, responses={200: RolesResultSerializer, **ERRORS}, operation_id="staff_roles_set")
    def post(self, request: Request, pk: int) -> Response:
        s = RolesSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(entrypoint(services.staff_set_roles)(actor=request.user, staff_id=pk, **s.validated_data))


class StaffTransition(APIView):
    permission_classes = [HasCapability]
    capability = "org.manage_staff"
    service = None

    @extend_schema(request=ReasonSerializer, responses={200: StaffSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = ReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        entrypoint(type(self).service)(actor=request.user, staff_id=pk, reason=s.validated_data["reason"])
        return Response(StaffSerializer(selectors.staff_get(request.user, pk)).data)


class StaffDeactivate(StaffTransition):
    service = staticmethod(services.staff_deactivate)


class StaffReactivate(StaffTransition):
    service = staticmethod(services.staff_reactivate)
