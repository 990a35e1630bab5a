"""Appraisal API (under /api/v1/people/): periods, schemes, scorecards with their lines and evidence, one endpoint per
transition (self-assess, review, calibrate, sign off, appeal, decide). Reads through the scoped selectors (an invisible
scorecard is 404); writes through one service each in the entry point's transaction; domain errors mapped once."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import access
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import NotFound
from bankcrm.core.transactions import entrypoint

from .. import appraisal_selectors as sel
from .. import appraisal_services as svc
from .. import metrics
from ..models import Appeal, KpiScheme, Period, Scorecard
from . import appraisal_serializers as s


def _body(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    b = serializer(data=request.data)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


def _card(request: Request, pk: int) -> dict:
    card = sel.scorecard_get(request.user, pk)
    return s.PpApprScorecardDetailSerializer(card).data


class Periods(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.appraisal", "POST": "people.manage_appraisal"}
    serializer_class = s.PpApprPeriodSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Period.objects.none()
        return sel.periods_visible(self.request.user).order_by("-starts_on", "kind")

    @extend_schema(operation_id="people_appraisal_periods_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpApprPeriodOpenSerializer, responses={201: s.PpApprPeriodSerializer, **ERRORS},
                   operation_id="people_appraisal_periods_open", description="开启季度或年度考核期（已存在则返回）。")
    def post(self, request: Request) -> Response:
        d = _body(s.PpApprPeriodOpenSerializer, request)
        p = entrypoint(svc.period_open)(actor=request.user, year=d["year"], quarter=d.get("quarter"))
        return Response(s.PpApprPeriodSerializer(p).data, status=201)


class PeriodCompute(APIView):
    permission_classes = [HasCapability]
    capability = "people.manage_appraisal"

    @extend_schema(request=s.PpApprComputeSerializer, responses={200: s.PpApprComputeResultSerializer, **ERRORS},
                   operation_id="people_appraisal_periods_compute",
                   description="按生效方案批量计算（或重算尚未自评的）记分卡。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.PpApprComputeSerializer, request)
        sel.period_get(request.user, pk)
        return Response(entrypoint(svc.scorecards_compute)(actor=request.user, period_id=pk, branch_id=d.get("branch_id")))


class Schemes(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.appraisal", "POST": "people.manage_appraisal"}
    serializer_class = s.PpApprSchemeSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return KpiScheme.objects.none()
        return sel.schemes_visible(self.request.user).order_by("role", "-version")

    @extend_schema(operation_id="people_appraisal_schemes_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpApprSchemeSaveSerializer, responses={201: s.PpApprSchemeSerializer, **ERRORS},
                   operation_id="people_appraisal_schemes_save",
                   description="保存考核方案草稿；校验权重合计 100%、客户经理方案满意度权重下限与 CSAT 最高，逐项列出问题。")
    def post(self, request: Request) -> Response:
        d = _body(s.PpApprSchemeSaveSerializer, request)
        scheme = entrypoint(svc.scheme_save)(actor=request.user, role=d["role"], name=d["name"],
                                             weights=[dict(w) for w in d["weights"]], scheme_id=d.get("base_scheme_id"),
                                             code=d.get("code") or "")
        return Response(s.PpApprSchemeSerializer(KpiScheme.objects.get(pk=scheme.pk)).data, status=201)


class SchemeDetail(APIView):
    permission_classes = [HasCapability]
    capability = "people.appraisal"

    @extend_schema(responses={200: s.PpApprSchemeSerializer, **ERRORS}, operation_id="people_appraisal_schemes_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.PpApprSchemeSerializer(sel.scheme_get(request.user, pk)).data)


class SchemeActivate(APIView):
    permission_classes = [HasCapability]
    capability = "people.manage_appraisal"

    @extend_schema(request=None, responses={200: s.PpApprSchemeSerializer, **ERRORS},
                   operation_id="people_appraisal_schemes_activate", description="启用草稿方案，同角色原生效方案停用。")
    def post(self, request: Request, pk: int) -> Response:
        scheme = entrypoint(svc.scheme_activate)(actor=request.user, scheme_id=pk)
        return Response(s.PpApprSchemeSerializer(KpiScheme.objects.get(pk=scheme.pk)).data)


class Scorecards(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.appraisal"
    serializer_class = s.PpApprScorecardSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Scorecard.objects.none()
        q = s.PpApprScorecardFilterSerializer(data=self.request.query_params)
        q.is_valid(raise_exception=True)
        f = q.validated_data
        user = self.request.user
        if f["scope"] == "mine":
            qs = sel.my_scorecards(user)
        elif f["scope"] == "team":
            qs = sel.scorecards_visible(user).exclude(staff=user) if access.can(user, "people.review") else Scorecard.objects.none()
        else:
            qs = sel.scorecards_visible(user)
        if f.get("period"):
            qs = qs.filter(period_id=f["period"])
        if f.get("status"):
            qs = qs.filter(status=f["status"])
        return qs.order_by("-period__starts_on", "staff__staff_no")

    @extend_schema(parameters=[s.PpApprScorecardFilterSerializer], operation_id="people_appraisal_scorecards_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ScorecardDetail(APIView):
    permission_classes = [HasCapability]
    capability = "people.appraisal"

    @extend_schema(responses={200: s.PpApprScorecardDetailSerializer, **ERRORS},
                   operation_id="people_appraisal_scorecards_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(_card(request, pk))


class ScorecardEvidence(APIView):
    permission_classes = [HasCapability]
    capability = "people.appraisal"

    @extend_schema(responses={200: s.PpApprEvidenceSerializer(many=True), **ERRORS},
                   operation_id="people_appraisal_scorecards_evidence",
                   description="某一指标的明细记录（客户姓名脱敏）。")
    def get(self, request: Request, pk: int, metric: str) -> Response:
        card = sel.scorecard_get(request.user, pk)
        m = metrics.REGISTRY.get(metric)
        if m is None or not card.lines.filter(metric=metric).exists():
            raise NotFound("line_not_found", _("指标不存在"))
        rows = m.evidence(card.staff, card.period, level=svc.level_of(card.role))
        return Response(s.PpApprEvidenceSerializer(rows, many=True).data)


def _transition(op_id: str, req: type[serializers.Serializer] | None, capability: str, description: str, run: Any):
    class View(APIView):
        permission_classes = [HasCapability]

        @extend_schema(request=req, responses={200: s.PpApprScorecardDetailSerializer, **ERRORS}, operation_id=op_id,
                       description=description)
        def post(self, request: Request, pk: int) -> Response:
            d = _body(req, request) if req else {}
            entrypoint(run)(request.user, pk, d)
            return Response(_card(request, pk))

    View.capability = capability
    View.__name__ = View.__qualname__ = "".join(p.title() for p in op_id.split("_"))
    return View


ScorecardSelfAssess = _transition(
    "people_appraisal_scorecards_self_assess", s.PpApprCommentSerializer, "people.appraisal", "本人自评。",
    lambda u, pk, d: svc.scorecard_self_assess(actor=u, scorecard_id=pk, comment=d["comment"]))
ScorecardReview = _transition(
    "people_appraisal_scorecards_review", s.PpApprReviewSerializer, "people.review",
    "上级评价（不能评价本人；调整幅度受规则参数限制）。",
    lambda u, pk, d: svc.scorecard_review(actor=u, scorecard_id=pk, comment=d["comment"], adjustment=d["adjustment"]))
ScorecardSignOff = _transition(
    "people_appraisal_scorecards_sign_off", None, "people.review", "签署考核结果（不能签署本人的）。",
    lambda u, pk, d: svc.scorecard_sign_off(actor=u, scorecard_id=pk))


class ScorecardAppeal(APIView):
    permission_classes = [HasCapability]
    capability = "people.appraisal"

    @extend_schema(request=s.PpApprReasonSerializer, responses={201: s.PpApprAppealSerializer, **ERRORS},
                   operation_id="people_appraisal_scorecards_appeal", description="本人对考核结果提出申诉（签署后限期内）。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.PpApprReasonSerializer, request)
        a = entrypoint(svc.appeal_raise)(actor=request.user, scorecard_id=pk, reason=d["reason"])
        return Response(s.PpApprAppealSerializer(sel.appeal_get(request.user, a.pk)).data, status=201)


class Calibrations(APIView):
    permission_classes = [HasCapability]
    capability = "people.review"

    @extend_schema(request=s.PpApprCalibrateSerializer, responses={200: s.PpApprScorecardSerializer(many=True), **ERRORS},
                   operation_id="people_appraisal_calibrate", description="对某机构已评价的记分卡进行校准（须说明理由）。")
    def post(self, request: Request) -> Response:
        d = _body(s.PpApprCalibrateSerializer, request)
        shifts = {int(k): v for k, v in (d.get("shifts") or {}).items() if str(k).isdigit()}
        cards = entrypoint(svc.scorecards_calibrate)(actor=request.user, period_id=d["period_id"],
                                                     branch_id=d["branch_id"], shifts=shifts, reason=d["reason"])
        return Response(s.PpApprScorecardSerializer(cards, many=True).data)


class Appeals(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.appraisal"
    serializer_class = s.PpApprAppealSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Appeal.objects.none()
        return sel.appeals_visible(self.request.user).order_by("-raised_at")

    @extend_schema(operation_id="people_appraisal_appeals_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AppealDecide(APIView):
    permission_classes = [HasCapability]
    capability = "people.appeal_decide"

    @extend_schema(request=s.PpApprDecideSerializer, responses={200: s.PpApprAppealSerializer, **ERRORS},
                   operation_id="people_appraisal_appeals_decide",
                   description="处理申诉（评价人、申诉人本人不能处理）；成立则重新评价。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.PpApprDecideSerializer, request)
        a = entrypoint(svc.appeal_decide)(actor=request.user, appeal_id=pk, upheld=d["upheld"], note=d["note"])
        return Response(s.PpApprAppealSerializer(sel.appeal_get(request.user, a.pk)).data)
