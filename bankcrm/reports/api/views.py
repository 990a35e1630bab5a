"""Management-report API (under /api/v1/reports/ and /api/v1/report-schedules/): the report catalogue, a report's
figures as JSON with the page's filters, its Excel/PDF file (audited), scheduled reports (create, change, stop,
generate now) and their files (download audited).

Reads go through the scoped selectors (a branch or schedule outside the caller's scope is 404); writes through one
service inside the entry point's durable transaction; domain errors are mapped once (core.api.errors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import report_catalog as catalog
from .. import report_selectors as sel
from .. import report_services
from .. import schedule_selectors as ssel
from .. import schedule_services as services
from ..models import ReportRun, ReportSchedule
from ..report_present import scope_label
from . import serializers as s


def _table_def(t: catalog.Table) -> dict[str, Any]:
    return {"key": t.key, "title": str(t.title), "dimension": t.dimension,
            "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in t.columns]}


def _query(request: Request, report: catalog.Report, serializer: type = s.ReportQuerySerializer) -> dict[str, Any]:
    q = serializer(data=request.query_params, report=report)
    q.is_valid(raise_exception=True)
    return dict(q.validated_data)


class ReportList(APIView):
    permission_classes = [HasCapability]
    capability = "reports.view"

    @extend_schema(responses={200: s.ReportDefSerializer(many=True), **ERRORS}, operation_id="reports_list",
                   description="管理报表目录：每个报表的表格、列（含单位）与默认统计期间。")
    def get(self, request: Request) -> Response:
        out = [{"code": r.code, "title": str(r.title), "description": str(r.description),
                "default_period": r.default_period, "tables": [_table_def(t) for t in r.tables]}
               for r in catalog.REPORTS.values()]
        return Response(s.ReportDefSerializer(out, many=True).data)


class ReportData(APIView):
    permission_classes = [HasCapability]
    capability = "reports.view"

    @extend_schema(parameters=[s.ReportQuerySerializer], responses={200: s.ReportDataSerializer, **ERRORS},
                   operation_id="reports_retrieve",
                   description="报表数据：按统计期间与机构（本人范围内）汇总；金额为分（人民币），比例为百分数，无法计算时为 null。")
    def get(self, request: Request, code: str) -> Response:
        report = sel.report_get(code)
        f = _query(request, report)
        data = sel.report_data(request.user, code, period=f["period_obj"], branch_path=f["branch"] or None)
        ctx, p = data["ctx"], f["period_obj"]
        tables = []
        for t in report.tables:
            got = data["tables"][t.key]
            rows = [{"key": r["key"], "label": str(r["label"]), "values": r["values"]} for r in got["rows"]]
            total = got.get("total")
            tables.append({**_table_def(t), "rows": rows,
                           "total": {"key": "", "label": str(total["label"]), "values": total["values"]}
                           if total else None})
        uses_snapshot = any(c.metric == "aum" for t in report.tables for c in t.columns)
        out = {"report": code, "title": str(report.title),
               "period": {"key": p.key, "kind": p.kind, "label": p.label, "start": p.start, "end": p.end},
               "as_of": ctx.as_of, "snapshot_day": ctx.snapshot_day if uses_snapshot else None,
               "scope": scope_label(ctx), "branch": ctx.root or "", "tables": tables,
               "notes": [str(n) for n in report.notes]}
        return Response(s.ReportDataSerializer(out).data)


class ReportExport(APIView):
    permission_classes = [HasCapability]
    capability = "reports.export"

    @extend_schema(parameters=[s.ReportExportQuerySerializer],
                   responses={200: OpenApiResponse(description="xlsx / pdf file"), **ERRORS},
                   operation_id="reports_export", description="导出报表文件（Excel 或 PDF，仅含汇总数据）；每次导出记入审计日志。")
    def get(self, request: Request, code: str) -> HttpResponse:
        report = sel.report_get(code)
        f = _query(request, report, s.ReportExportQuerySerializer)
        name, content_type, content = entrypoint(report_services.report_export)(
            actor=request.user, code=code, fmt=f["file_type"], period=f["period_obj"], branch_path=f["branch"] or None)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


# ---- Scheduled reports ----------------------------------------------------------------------------------------------
class ReportSchedules(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "reports.schedule"
    serializer_class = s.ReportScheduleSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReportSchedule.objects.none()
        return ssel.schedules_visible(self.request.user).order_by("-active", "name", "pk")

    @extend_schema(operation_id="reports_schedules_list", description="本人的定时报表（总行可见全行的）。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.ReportScheduleInSerializer, responses={201: s.ReportScheduleSerializer, **ERRORS},
                   operation_id="reports_schedules_create",
                   description="订阅定时报表：每日（前一天）、每周（上一周）或每月（上一个月）生成文件，按订阅人的权限范围统计。")
    def post(self, request: Request) -> Response:
        b = s.ReportScheduleInSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        sch = entrypoint(services.schedule_create)(actor=request.user, **b.validated_data)
        return Response(s.ReportScheduleSerializer(sch).data, status=201)


class ReportScheduleDetail(APIView):
    permission_classes = [HasCapability]
    capability = "reports.schedule"

    @extend_schema(responses={200: s.ReportScheduleSerializer, **ERRORS}, operation_id="reports_schedules_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.ReportScheduleSerializer(ssel.schedule_get(request.user, pk)).data)

    @extend_schema(request=s.ReportScheduleInSerializer, responses={200: s.ReportScheduleSerializer, **ERRORS},
                   operation_id="reports_schedules_update", description="修改本人的定时报表（已生成的文件不变）。")
    def put(self, request: Request, pk: int) -> Response:
        b = s.ReportScheduleInSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        sch = entrypoint(services.schedule_update)(actor=request.user, schedule_id=pk, **b.validated_data)
        return Response(s.ReportScheduleSerializer(sch).data)


class ReportScheduleDeactivate(APIView):
    permission_classes = [HasCapability]
    capability = "reports.schedule"

    @extend_schema(request=s.ReportDeactivateSerializer, responses={200: s.ReportScheduleSerializer, **ERRORS},
                   operation_id="reports_schedules_deactivate",
                   description="停用定时报表（订阅人本人；总行停用他人的须填写原因）。已生成的文件仍可下载。")
    def post(self, request: Request, pk: int) -> Response:
        b = s.ReportDeactivateSerializer(data=request.data)
        b.is_valid(raise_exception=True)
        sch = entrypoint(services.schedule_deactivate)(actor=request.user, schedule_id=pk,
                                                       reason=b.validated_data["reason"])
        return Response(s.ReportScheduleSerializer(sch).data)


class ReportScheduleRun(APIView):
    permission_classes = [HasCapability]
    capability = "reports.schedule"

    @extend_schema(request=None, responses={200: s.ReportRunSerializer, **ERRORS}, operation_id="reports_schedules_run",
                   description="立即生成上一期的文件；该期已生成则返回已有文件（同一期只生成一次）。")
    def post(self, request: Request, pk: int) -> Response:
        run = entrypoint(services.schedule_run)(actor=request.user, schedule_id=pk)
        return Response(s.ReportRunSerializer(run).data)


class ReportScheduleRuns(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "reports.schedule"
    serializer_class = s.ReportRunSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReportRun.objects.none()
        return ssel.runs_of(ssel.schedule_get(self.request.user, self.kwargs["pk"]))

    @extend_schema(operation_id="reports_schedules_runs", description="定时报表已生成（或失败）的各期文件。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ReportRunDownload(APIView):
    permission_classes = [HasCapability]
    capability = "reports.export"

    @extend_schema(responses={200: OpenApiResponse(description="xlsx / pdf file"), **ERRORS},
                   operation_id="reports_runs_download",
                   description="下载定时报表文件（下载前校验 SHA-256；每次下载记入审计日志）。")
    def get(self, request: Request, pk: int) -> HttpResponse:
        name, content_type, content = entrypoint(services.run_download)(actor=request.user, run_id=pk)
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
