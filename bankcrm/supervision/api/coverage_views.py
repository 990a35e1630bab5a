"""Coverage API (under /api/v1/supervision/): clauses (list, detail, update), controls with their latest figures,
"run now", and a control's live exceptions in the caller's scope (targets masked)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import NotFound, ValidationFailed
from bankcrm.core.transactions import entrypoint

from .. import controls as registry
from .. import coverage_selectors as cov
from .. import coverage_services
from . import coverage_serializers as s


class SvClauseList(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.view"

    @extend_schema(responses={200: s.SvClauseSerializer(many=True), **ERRORS}, operation_id="supervision_clauses_list")
    def get(self, request: Request) -> Response:
        return Response(s.SvClauseSerializer(cov.clauses_visible(request.user), many=True).data)


class SvClauseDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "supervision.view", "PATCH": "supervision.clauses"}

    @extend_schema(responses={200: s.SvClauseDetailSerializer, **ERRORS}, operation_id="supervision_clauses_retrieve")
    def get(self, request: Request, code: str) -> Response:
        return Response(s.SvClauseDetailSerializer(cov.clause_get(request.user, code)).data)

    @extend_schema(request=s.SvClauseUpdateSerializer, responses={200: s.SvClauseDetailSerializer, **ERRORS},
                   operation_id="supervision_clauses_update",
                   description="修改条款：措辞变更生成新版本（旧版本保留）；controls 替换该条款对应的控制。")
    def patch(self, request: Request, code: str) -> Response:
        cov.clause_get(request.user, code)
        b = s.SvClauseUpdateSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        if not b.validated_data:
            raise ValidationFailed("nothing_to_update", _("请至少填写一个可修改的字段"))
        clause = entrypoint(coverage_services.clause_save)(actor=request.user, code=code, **b.validated_data)
        return Response(s.SvClauseDetailSerializer(cov.clause_get(request.user, clause.code)).data)


class SvControlList(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.view"

    @extend_schema(responses={200: s.SvControlSerializer(many=True), **ERRORS}, operation_id="supervision_controls_list",
                   description="每项控制及最近一次运行的全行数字（检查范围、例外、合规率），以及调用者管辖范围内未关闭的检查发现数。")
    def get(self, request: Request) -> Response:
        rows = list(cov.control_figures(request.user).values())
        return Response(s.SvControlSerializer(rows, many=True).data)


class SvControlRun(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.run_controls"

    @extend_schema(request=s.SvControlRunRequestSerializer, responses={200: s.SvControlRunSerializer(many=True), **ERRORS},
                   operation_id="supervision_controls_run")
    def post(self, request: Request) -> Response:
        b = s.SvControlRunRequestSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        codes = b.validated_data.get("controls")
        if codes is not None:
            unknown = sorted(c for c in codes if registry.get(c) is None or not registry.get(c).automated)
            if unknown or not codes:
                raise ValidationFailed("control_unknown", _("未知的自动控制：%(c)s") % {"c": "、".join(unknown) or "—"},
                                       fields={"controls": [_("未知的自动控制")]})
        runs = entrypoint(registry.controls_run)(actor=request.user, codes=codes)
        return Response(s.SvControlRunSerializer(runs, many=True).data)


class SvControlExceptions(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.view"

    @extend_schema(responses={200: s.SvExceptionSerializer(many=True), **ERRORS},
                   operation_id="supervision_controls_exceptions",
                   description="该控制当前的例外（实时计算，调用者管辖范围内，最多200条），对象已脱敏。")
    def get(self, request: Request, code: str) -> Response:
        control = registry.get(code)
        if control is None:
            raise NotFound("control_not_found", _("控制不存在"))
        live = cov.live_exceptions(request.user, control)
        ids = [int(r["exc"].target_id) for r in live["rows"] if r["exc"].target_type == "customers.Customer"]
        if ids:
            logs.access(actor=request.user, view="api.supervision_exceptions", subject_type="customers.Customer",
                        subject_ids=ids, fields=["name_masked", "customer_no"], channel="api")
        return Response(s.SvExceptionSerializer(live["rows"], many=True).data)
