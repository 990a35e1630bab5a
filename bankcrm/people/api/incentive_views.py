"""Incentive API (under /api/v1/people/): schemes, pools with one endpoint per transition (allocate, submit for
approval, mark paid), a pool's awards, the payout workbook, my awards and clawbacks, the clawback queue with its
decision, and an on-demand scan. Reads through scoped selectors (invisible → 404), writes through the services in
the entry point's durable transaction; domain errors are mapped once by core.api."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import incentive_export
from .. import incentive_selectors as sel
from .. import incentive_services as svc
from ..models import Clawback, IncentiveAward, IncentivePool
from . import incentive_serializers as s


def _body(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    b = serializer(data=request.data)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


def _query(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    q = serializer(data=request.query_params)
    q.is_valid(raise_exception=True)
    return {k: v for k, v in q.validated_data.items() if v is not None}


def _pool(pool: IncentivePool) -> dict[str, Any]:
    return s.PpPoolSerializer(pool).data


# ---- Schemes ------------------------------------------------------------------------------------------------------------
class SchemeListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.incentive_pools", "POST": "people.manage_incentive_schemes"}
    serializer_class = s.PpIncentiveSchemeSerializer

    def get_queryset(self):
        return sel.schemes_visible(self.request.user).order_by("code")

    @extend_schema(operation_id="people_incentive_schemes_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpIncentiveSchemeWriteSerializer,
                   responses={201: s.PpIncentiveSchemeSerializer, **ERRORS}, operation_id="people_incentive_schemes_create")
    def post(self, request: Request) -> Response:
        d = _body(s.PpIncentiveSchemeWriteSerializer, request)
        scheme = entrypoint(svc.scheme_save)(actor=request.user, **d)
        return Response(s.PpIncentiveSchemeSerializer(scheme).data, status=201)


class SchemeDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.incentive_pools", "PUT": "people.manage_incentive_schemes"}

    @extend_schema(responses={200: s.PpIncentiveSchemeSerializer, **ERRORS},
                   operation_id="people_incentive_schemes_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.PpIncentiveSchemeSerializer(sel.scheme_get(request.user, pk)).data)

    @extend_schema(request=s.PpIncentiveSchemeWriteSerializer, responses={200: s.PpIncentiveSchemeSerializer, **ERRORS},
                   operation_id="people_incentive_schemes_update",
                   description="修改方案；已完成的分配不受影响（重新分配后生效）。")
    def put(self, request: Request, pk: int) -> Response:
        sel.scheme_get(request.user, pk)
        d = _body(s.PpIncentiveSchemeWriteSerializer, request)
        scheme = entrypoint(svc.scheme_save)(actor=request.user, scheme_id=pk, **d)
        return Response(s.PpIncentiveSchemeSerializer(scheme).data)


# ---- Pools --------------------------------------------------------------------------------------------------------------
class PoolListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.incentive_pools", "POST": "people.incentives"}
    serializer_class = s.PpPoolSerializer

    def get_queryset(self):
        f = _query(s.PpPoolFilterSerializer, self.request)
        return sel.pools_list(self.request.user, status=f.get("status", ""), period_id=f.get("period_id"))

    @extend_schema(parameters=[s.PpPoolFilterSerializer], operation_id="people_pools_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpPoolWriteSerializer, responses={201: s.PpPoolSerializer, **ERRORS},
                   operation_id="people_pools_create",
                   description="设立机构本期奖金池（网点负责人：本人管辖机构；管理员：任意机构）。金额单位为元。")
    def post(self, request: Request) -> Response:
        d = _body(s.PpPoolWriteSerializer, request)
        return Response(_pool(entrypoint(svc.pool_save)(actor=request.user, **d)), status=201)


class PoolDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.incentive_pools", "PUT": "people.incentives"}

    @extend_schema(responses={200: s.PpPoolSerializer, **ERRORS}, operation_id="people_pools_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(_pool(sel.pool_get(request.user, pk)))

    @extend_schema(request=s.PpPoolWriteSerializer, responses={200: s.PpPoolSerializer, **ERRORS},
                   operation_id="people_pools_update", description="修改草稿或已分配的奖金池（原分配清除）。")
    def put(self, request: Request, pk: int) -> Response:
        sel.pool_get(request.user, pk)
        d = _body(s.PpPoolWriteSerializer, request)
        return Response(_pool(entrypoint(svc.pool_save)(actor=request.user, pool_id=pk, **d)))


class PoolAllocate(APIView):
    permission_classes = [HasCapability]
    capability = "people.incentives"

    @extend_schema(request=None, responses={200: s.PpPoolSerializer, **ERRORS}, operation_id="people_pools_allocate",
                   description="按方案与已签署的考核得分分配；返回未分配金额及未参与分配人员与原因。")
    def post(self, request: Request, pk: int) -> Response:
        return Response(_pool(entrypoint(svc.pool_allocate)(actor=request.user, pool_id=pk)))


class PoolSubmit(APIView):
    permission_classes = [HasCapability]
    capability = "people.incentives"

    @extend_schema(request=s.PpPoolSubmitSerializer,
                   responses={202: OpenApiResponse(s.PpPoolSerializer, description="已提交复核"), **ERRORS},
                   operation_id="people_pools_submit",
                   description="提交复核（复核事项 people.pool_payout；复核人须有 people.approve_incentives，且不是提交人或获奖人）。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.PpPoolSubmitSerializer, request)
        return Response(_pool(entrypoint(svc.pool_submit)(actor=request.user, pool_id=pk, **d)), status=202)


class PoolPaid(APIView):
    permission_classes = [HasCapability]
    capability = "people.incentives"

    @extend_schema(request=s.PpPoolPaidSerializer, responses={200: s.PpPoolSerializer, **ERRORS},
                   operation_id="people_pools_mark_paid", description="登记已复核奖金池的发放日期（追索期由此起算）。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.PpPoolPaidSerializer, request)
        return Response(_pool(entrypoint(svc.pool_mark_paid)(actor=request.user, pool_id=pk, **d)))


class PoolAwards(APIView):
    permission_classes = [HasCapability]
    capability = "people.incentive_pools"

    @extend_schema(responses={200: s.PpAwardSerializer(many=True), **ERRORS}, operation_id="people_pools_awards",
                   description="奖金池的分配明细（设立人、团队考核人、复核人可见；排名仅前两者可见）。")
    def get(self, request: Request, pk: int) -> Response:
        pool = sel.pool_get(request.user, pk)
        return Response(s.PpAwardSerializer(sel.pool_awards(request.user, pool), many=True).data)


class PoolExport(APIView):
    permission_classes = [HasCapability]
    capability = "people.export"

    @extend_schema(responses={(200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
                              OpenApiTypes.BINARY, **ERRORS}, operation_id="people_pools_export",
                   description="奖金发放表（Excel）；姓名按导出规则脱敏；记入审计。")
    def get(self, request: Request, pk: int) -> HttpResponse:
        name, ctype, body = entrypoint(incentive_export.payout_xlsx)(actor=request.user, pool_id=pk)
        resp = HttpResponse(body, content_type=ctype)
        resp["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp


# ---- Awards -------------------------------------------------------------------------------------------------------------
class AwardList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.my_incentives"
    serializer_class = s.PpAwardSerializer

    def get_queryset(self):
        return sel.awards_visible(self.request.user).order_by("-pool__period__starts_on", "pool_id", "-amount_fen",
                                                              "pk")

    @extend_schema(operation_id="people_awards_list",
                   description="可见的奖金：本人已复核的奖金，以及有权查看的奖金池分配明细（不含排名）。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MyAwards(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.my_incentives"
    serializer_class = s.PpAwardSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return IncentiveAward.objects.none()
        return sel.my_awards(self.request.user)

    @extend_schema(operation_id="people_my_awards", description="本人的奖金（仅本人）。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MyClawbacks(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.my_incentives"
    serializer_class = s.PpClawbackSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Clawback.objects.none()
        return sel.my_clawbacks(self.request.user).order_by("-found_at", "-pk")

    @extend_schema(operation_id="people_my_clawbacks", description="本人奖金的追索记录（仅本人）。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# ---- Clawbacks ----------------------------------------------------------------------------------------------------------
class ClawbackList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.clawback"
    serializer_class = s.PpClawbackSerializer

    def get_queryset(self):
        f = _query(s.PpClawbackFilterSerializer, self.request)
        return sel.clawbacks_list(self.request.user, status=f.get("status", ""))

    @extend_schema(parameters=[s.PpClawbackFilterSerializer], operation_id="people_clawbacks_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ClawbackDecide(APIView):
    permission_classes = [HasCapability]
    capability = "people.clawback"

    @extend_schema(request=s.PpClawbackDecideSerializer, responses={200: s.PpClawbackSerializer, **ERRORS},
                   operation_id="people_clawbacks_decide", description="确认追索（计入已追索金额）或豁免（须填写理由）。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.PpClawbackDecideSerializer, request)
        cb = entrypoint(svc.clawback_decide)(actor=request.user, clawback_id=pk, **d)
        return Response(s.PpClawbackSerializer(cb).data)


class ClawbackScan(APIView):
    permission_classes = [HasCapability]
    capability = "people.clawback"

    @extend_schema(request=None, responses={200: s.PpScanResultSerializer, **ERRORS}, operation_id="people_clawbacks_scan",
                   description="立即检查追索期内的投诉成立与销售不当，发起新的追索（幂等）。")
    def post(self, request: Request) -> Response:
        made = svc.clawback_scan(actor=request.user)
        return Response({"proposed": s.PpClawbackSerializer(made, many=True).data})


