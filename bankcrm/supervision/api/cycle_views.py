"""Process cycle-time API (under /api/v1/supervision/cycle-times/): medians and nearest-rank p90 per period and per
branch, within the caller's branch scope (cycle_selectors documents the processes and the method)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability

from .. import cycle_selectors as cy
from ..cycle_views import default_window, parse_month

METHOD = ("median: middle value (mean of the two middle values for an even count); p90: nearest rank, the "
          "ceil(0.9*n)-th smallest; hours; finished cases only, by start period (local time)")


class SvCycleQuerySerializer(serializers.Serializer):
    start = serializers.RegexField(r"^\d{4}-\d{2}$", required=False, help_text="起始月份 YYYY-MM（默认近 12 个月）")
    end = serializers.RegexField(r"^\d{4}-\d{2}$", required=False, help_text="截止月份 YYYY-MM")
    granularity = serializers.ChoiceField(choices=[("month", "month"), ("quarter", "quarter")], default="month")
    branch = serializers.CharField(required=False, max_length=255, help_text="机构路径（如 /001/101/），须在本人范围内")
    process = serializers.MultipleChoiceField(choices=[(c, c) for c in cy.PROCESS_CODES], required=False)

    def validate(self, attrs):
        d_start, d_end = default_window()
        start = parse_month(attrs.get("start", "")) if attrs.get("start") else d_start
        end = parse_month(attrs.get("end", "")) if attrs.get("end") else d_end
        if start is None or end is None:
            raise serializers.ValidationError({"start": [_("请输入年月，如 2025-01")]})
        if end < start or (end.year - start.year) * 12 + end.month - start.month >= cy.MAX_MONTHS:
            raise serializers.ValidationError({"end": [_("统计期无效（最长 %(n)d 个月）") % {"n": cy.MAX_MONTHS}]})
        attrs["start_date"], attrs["end_date"] = start, end
        return attrs


class SvCyclePointSerializer(serializers.Serializer):
    period = serializers.CharField()
    n = serializers.IntegerField()
    median_h = serializers.FloatField(allow_null=True)
    p90_h = serializers.FloatField(allow_null=True)


class SvCycleSeriesSerializer(serializers.Serializer):
    process = serializers.CharField()
    label = serializers.CharField()
    n = serializers.IntegerField()
    median_h = serializers.FloatField(allow_null=True)
    p90_h = serializers.FloatField(allow_null=True)
    points = SvCyclePointSerializer(many=True)


class SvCycleBranchSerializer(serializers.Serializer):
    process = serializers.CharField()
    branch_path = serializers.CharField()
    branch = serializers.CharField()
    n = serializers.IntegerField()
    median_h = serializers.FloatField(allow_null=True)
    p90_h = serializers.FloatField(allow_null=True)


class SvCycleSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    granularity = serializers.CharField()
    method = serializers.CharField()
    periods = serializers.ListField(child=serializers.CharField())
    series = SvCycleSeriesSerializer(many=True)
    branches = SvCycleBranchSerializer(many=True)


class SvCycleTimes(APIView):
    permission_classes = [HasCapability]
    capability = "supervision.cycle"

    @extend_schema(parameters=[SvCycleQuerySerializer], responses={200: SvCycleSerializer, **ERRORS},
                   operation_id="supervision_cycle_times",
                   description="流程时效：开户、复核审批、投诉、服务请求、反洗钱预警的中位数与 90 分位（小时），按月/季、按机构。")
    def get(self, request: Request) -> Response:
        q = SvCycleQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        f = q.validated_data
        codes = [c for c in cy.PROCESS_CODES if c in f.get("process", set())] or cy.PROCESS_CODES
        data = cy.cycle_times(request.user, start=f["start_date"], end=f["end_date"], granularity=f["granularity"],
                              branch_path=f.get("branch"), processes=codes)
        labels = {p.code: str(p.label) for p in cy.PROCESSES}
        out = {"start": f["start_date"], "end": f["end_date"], "granularity": f["granularity"], "method": METHOD,
               "periods": data["periods"],
               "series": [{"process": c, "label": labels[c], **data["totals"][c], "points": data["series"][c]}
                          for c in codes],
               "branches": data["branches"]}
        return Response(SvCycleSerializer(out).data)
