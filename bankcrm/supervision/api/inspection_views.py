"""Inspection and access-review API (under /api/v1/supervision/): plans, inspections with one endpoint per transition
(sample, record an item, complete), the report file, access reviews and their decisions.

Reads go through the scoped selectors (an object outside the caller's scope is 404), writes through one service
inside the entry point's durable transaction; domain errors are mapped once (core.api.errors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import access_review_selectors as arsel
from .. import access_review_services as arsvc
from .. import inspection_reports as reports
from .. import inspection_selectors as sel
from .. import inspection_services as services
from ..models import AccessReview, Inspection, InspectionPlan
from . import inspection_serializers as s


def _body(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    b = serializer(data=request.data)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


def _detail(request: Request, insp: Inspection) -> Response:
    insp = sel.inspection_get(request.user, insp.pk)
    ids = list(insp.items.filter(kind="customer").values_list("object_id", flat=True))
    if ids:
        logs.access(actor=request.user, view="supervision.api_inspection", subject_type="customers.Customer",
                    subject_ids=ids, fields=["name"], channel="api")
    return Response(s.SvInspectionDetailSerializer(insp).data)


# ---- Plans ------------------------------------------------------------------------------------------------------------
class SvPlans(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.view", "POST": "supervision.inspect"}
    serializer_class = s.SvPlanSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return InspectionPlan.objects.none()
        return sel.plans_visible(self.request.user).order_by("branch_path", "name")

    @extend_schema(operation_id="supervision_inspection_plans_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.SvPlanInSerializer, responses={201: s.SvPlanSerializer, **ERRORS},
                   operation_id="supervision_inspection_plans_create",
                   description="新建检查计划（月度/季度，按员工抽样数，是否按风险加权）；到期由每日任务自动创建检查。")
    def post(self, request: Request) -> Response:
        plan = entrypoint(services.plan_save)(actor=request.user, **_body(s.SvPlanInSerializer, request))
        return Response(s.SvPlanSerializer(plan).data, status=201)


class SvPlanDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.view", "PUT": "supervision.inspect"}

    @extend_schema(responses={200: s.SvPlanSerializer, **ERRORS}, operation_id="supervision_inspection_plans_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.SvPlanSerializer(sel.plan_get(request.user, pk)).data)

    @extend_schema(request=s.SvPlanInSerializer, responses={200: s.SvPlanSerializer, **ERRORS},
                   operation_id="supervision_inspection_plans_update")
    def put(self, request: Request, pk: int) -> Response:
        plan = entrypoint(services.plan_save)(actor=request.user, plan_id=pk, **_body(s.SvPlanInSerializer, request))
        return Response(s.SvPlanSerializer(plan).data)


# ---- Inspections ------------------------------------------------------------------------------------------------------
class SvInspectionFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Inspection.Status.choices, required=False)


class SvInspections(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.view", "POST": "supervision.inspect"}
    serializer_class = s.SvInspectionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Inspection.objects.none()
        q = SvInspectionFilterSerializer(data=self.request.query_params)
        q.is_valid(raise_exception=True)
        return sel.inspections_visible(self.request.user, status=q.validated_data.get("status", "")).order_by(
            "-created_at", "-pk")

    @extend_schema(parameters=[SvInspectionFilterSerializer], operation_id="supervision_inspections_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.SvInspectionInSerializer, responses={201: s.SvInspectionDetailSerializer, **ERRORS},
                   operation_id="supervision_inspections_create",
                   description="新建临时/专项检查；不填抽样种子则由系统随机生成并保存，可复现抽样。")
    def post(self, request: Request) -> Response:
        insp = entrypoint(services.inspection_create)(actor=request.user, **_body(s.SvInspectionInSerializer, request))
        response = _detail(request, insp)
        response.status_code = 201
        return response


class SvInspectionDetail(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.view"

    @extend_schema(responses={200: s.SvInspectionDetailSerializer, **ERRORS}, operation_id="supervision_inspections_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, sel.inspection_get(request.user, pk))


class SvInspectionSample(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.inspect"

    @extend_schema(request=None, responses={200: s.SvInspectionDetailSerializer, **ERRORS},
                   operation_id="supervision_inspections_sample",
                   description="按保存的抽样种子抽取样本（计划中 → 检查中）；重复调用得到同样的样本。")
    def post(self, request: Request, pk: int) -> Response:
        return _detail(request, entrypoint(services.inspection_sample)(actor=request.user, inspection_id=pk))


class SvInspectionItemRecord(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.inspect"

    @extend_schema(request=s.SvItemRecordSerializer, responses={200: s.SvSampleItemSerializer, **ERRORS},
                   operation_id="supervision_inspection_items_record",
                   description="记录样本的检查结果；任一检查项“不符合”须填写证据，并自动登记检查发现。")
    def post(self, request: Request, pk: int) -> Response:
        item = entrypoint(services.item_record)(actor=request.user, item_id=pk, **_body(s.SvItemRecordSerializer, request))
        return Response(s.SvSampleItemSerializer(sel.item_get(request.user, item.pk)).data)


class SvInspectionComplete(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.inspect"

    @extend_schema(request=s.SvCompleteSerializer, responses={200: s.SvInspectionDetailSerializer, **ERRORS},
                   operation_id="supervision_inspections_complete")
    def post(self, request: Request, pk: int) -> Response:
        insp = entrypoint(services.inspection_complete)(actor=request.user, inspection_id=pk,
                                                        **_body(s.SvCompleteSerializer, request))
        return _detail(request, insp)


class SvInspectionCancel(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.inspect"

    @extend_schema(request=s.SvCancelSerializer, responses={200: s.SvInspectionDetailSerializer, **ERRORS},
                   operation_id="supervision_inspections_cancel",
                   description="取消计划中或检查中的检查（须填写原因）；已登记检查发现的检查不能取消（409 inspection_has_findings）。")
    def post(self, request: Request, pk: int) -> Response:
        insp = entrypoint(services.inspection_cancel)(actor=request.user, inspection_id=pk,
                                                      **_body(s.SvCancelSerializer, request))
        return _detail(request, insp)


class SvInspectionReport(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.export"

    @extend_schema(parameters=[s.SvReportQuerySerializer],
                   responses={200: OpenApiResponse(description="xlsx / pdf file"), **ERRORS},
                   operation_id="supervision_inspections_report")
    def get(self, request: Request, pk: int) -> HttpResponse:
        q = s.SvReportQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        name, content_type, data = entrypoint(reports.export)(actor=request.user, inspection_id=pk,
                                                              fmt=q.validated_data["file_type"])
        response = HttpResponse(data, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# ---- Access reviews ---------------------------------------------------------------------------------------------------
class SvAccessReviewFilterSerializer(serializers.Serializer):
    period = serializers.RegexField(r"^\d{4}Q[1-4]$", required=False)
    mine = serializers.BooleanField(required=False, default=False)


class SvAccessReviews(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.view", "POST": "supervision.access_reviews_open"}
    serializer_class = s.SvAccessReviewSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AccessReview.objects.none()
        q = SvAccessReviewFilterSerializer(data=self.request.query_params)
        q.is_valid(raise_exception=True)
        return arsel.reviews_visible(self.request.user, period=q.validated_data.get("period", ""),
                                     mine=q.validated_data.get("mine", False))

    @extend_schema(parameters=[SvAccessReviewFilterSerializer], operation_id="supervision_access_reviews_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    # A plain array (the view's pagination is for GET only; a serializer with many=True would be documented paginated).
    @extend_schema(request=None, responses={200: {"type": "array", "items": {"$ref": "#/components/schemas/SvAccessReview"}},
                                            **ERRORS},
                   operation_id="supervision_access_reviews_open",
                   description="发起（或补充）本季度权限复核；幂等。返回新建或有新增角色的复核。")
    def post(self, request: Request) -> Response:
        opened = entrypoint(arsvc.access_reviews_open)(actor=request.user)
        rows = arsel.reviews_visible(request.user).filter(pk__in=[r.pk for r in opened])
        return Response(s.SvAccessReviewSerializer(rows, many=True).data)


class SvAccessReviewDetail(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.view"

    @extend_schema(responses={200: s.SvAccessReviewDetailSerializer, **ERRORS},
                   operation_id="supervision_access_reviews_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        review = arsel.reviews_visible(request.user).get(pk=arsel.review_get(request.user, pk).pk)
        return Response(s.SvAccessReviewDetailSerializer(review).data)


class SvAccessReviewComplete(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.access_review"

    @extend_schema(request=None, responses={200: s.SvAccessReviewSerializer, **ERRORS},
                   operation_id="supervision_access_reviews_complete")
    def post(self, request: Request, pk: int) -> Response:
        review = entrypoint(arsvc.access_review_complete)(actor=request.user, review_id=pk)
        return Response(s.SvAccessReviewSerializer(arsel.reviews_visible(request.user).get(pk=review.pk)).data)


class SvAccessReviewDecide(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.access_review"

    @extend_schema(request=s.SvDecideSerializer, responses={200: s.SvAccessReviewItemSerializer, **ERRORS},
                   operation_id="supervision_access_review_items_decide",
                   description="确认或撤销一个角色；撤销须填写理由，立即生效并结束该员工的会话。不能复核本人的角色。")
    def post(self, request: Request, pk: int) -> Response:
        item = entrypoint(arsvc.access_review_decide)(actor=request.user, item_id=pk, **_body(s.SvDecideSerializer, request))
        return Response(s.SvAccessReviewItemSerializer(item).data)
