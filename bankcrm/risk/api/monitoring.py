"""Risk API for monitoring: alerts (list, detail with evidence, close), cases (open, notes, add alerts, close,
escalate, suspicious report), rules (versions), regulatory reports (large-value report, download, submit) and the
dashboard figures. Responses naming customers write an access event."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, MAX_ID, HasCapability
from bankcrm.core.errors import NotFound
from bankcrm.core.transactions import entrypoint
from bankcrm.customers.models import Customer

from .. import reports, selectors, services
from ..models import Alert, Case, CaseNote, MonitoringRule, RegulatoryReport


def _log(request: Request, view: str, ids: Any) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=["name", "transactions"], channel="api")


# ---- Serializers ----------------------------------------------------------------------------------------------------
class AlertSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    case_number = serializers.CharField(source="case.number", read_only=True, default=None)

    class Meta:
        model = Alert
        fields = ["id", "rule_code", "kind", "report_kind", "customer_id", "customer_no", "customer_name",
                  "business_date", "currency_group", "direction", "total_minor", "threshold_minor", "figures",
                  "entry_ids", "source", "status", "case_id", "case_number", "due_on", "created_at", "closed_at",
                  "close_reason"]
        read_only_fields = fields


class EvidenceSerializer(serializers.Serializer):
    txn_no = serializers.CharField()
    kind = serializers.CharField()
    currency = serializers.CharField()
    amount_minor = serializers.IntegerField(source="amount_fen")
    posted_at = serializers.DateTimeField()
    business_date = serializers.DateField()
    debit_account = serializers.CharField(source="debit_account.masked_number")
    credit_account = serializers.CharField(source="credit_account.masked_number")
    cross_border = serializers.BooleanField()


class AlertDetailSerializer(AlertSerializer):
    evidence = serializers.SerializerMethodField()

    class Meta(AlertSerializer.Meta):
        fields = [*AlertSerializer.Meta.fields, "evidence"]
        read_only_fields = fields

    @extend_schema_field(EvidenceSerializer(many=True))
    def get_evidence(self, alert: Alert) -> list[dict[str, Any]]:
        return EvidenceSerializer(selectors.evidence(alert), many=True).data


class RiskReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, allow_blank=True)


class CaseOpenSerializer(serializers.Serializer):
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=200)
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class AlertIdsSerializer(serializers.Serializer):
    alert_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=200)


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.name", read_only=True)
    text = serializers.CharField(max_length=4000)

    class Meta:
        model = CaseNote
        fields = ["id", "author", "text", "attachment_name", "created_at"]
        read_only_fields = ["id", "author", "attachment_name", "created_at"]


class CaseSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)

    class Meta:
        model = Case
        fields = ["id", "number", "title", "status", "customer_id", "customer_no", "customer_name", "opened_at",
                  "decision_reason", "decided_at", "confirmed_at", "report_due_on", "next_followup_on"]
        read_only_fields = fields


class CaseDetailSerializer(CaseSerializer):
    alerts = AlertSerializer(many=True, read_only=True)
    notes = NoteSerializer(many=True, read_only=True)
    related_customer_ids = serializers.PrimaryKeyRelatedField(source="related_customers", many=True, read_only=True)

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "alerts", "notes", "related_customer_ids"]
        read_only_fields = fields


class RuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = MonitoringRule
        fields = ["id", "code", "version", "name", "name_en", "kind", "report_kind", "params", "customer_kinds",
                  "active", "effective_from", "effective_to", "note", "created_at"]
        read_only_fields = fields


class RuleVersionSerializer(serializers.Serializer):
    params = serializers.DictField()
    customer_kinds = serializers.ListField(child=serializers.ChoiceField(choices=Customer.Kind.choices), default=list)
    effective_from = serializers.DateField()
    active = serializers.BooleanField(default=True)
    note = serializers.CharField(max_length=200, allow_blank=True)


class ReportSerializer(serializers.ModelSerializer):
    case_number = serializers.CharField(source="case.number", read_only=True, default=None)

    class Meta:
        model = RegulatoryReport
        fields = ["id", "number", "kind", "status", "business_date", "case_id", "case_number", "followup_no",
                  "records", "sha256", "generated_at", "due_on", "submitted_at"]
        read_only_fields = fields


class LargeReportSerializer(serializers.Serializer):
    day = serializers.DateField()


# ---- Views ----------------------------------------------------------------------------------------------------------
class AlertList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "risk.alerts"
    serializer_class = AlertSerializer

    def get_queryset(self):
        q = self.request.query_params
        return selectors.alert_list(self.request.user, status=q.get("status", "open"), rule=q.get("rule", ""),
                                    q=q.get("q", ""))

    @extend_schema(parameters=[OpenApiParameter("status", str, description="open (default), new, reviewing, closed, "
                                                                            "escalated, reported, or empty for all"),
                               OpenApiParameter("rule", str), OpenApiParameter("q", str)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "risk.api_alert_list", [a["customer_id"] for a in response.data.get("results", [])])
        return response


class AlertDetail(APIView):
    permission_classes = [HasCapability]
    capability = "risk.alerts"

    @extend_schema(responses={200: AlertDetailSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        alert = selectors.alert_get(request.user, pk)
        if alert is None:
            raise NotFound("alert_not_found", "预警不存在或无权查看")
        _log(request, "risk.api_alert", [alert.customer_id])
        return Response(AlertDetailSerializer(alert).data)


class AlertClose(APIView):
    permission_classes = [HasCapability]
    capability = "risk.investigate"

    @extend_schema(request=RiskReasonSerializer, responses={200: AlertSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = RiskReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        alert = entrypoint(services.alert_close)(actor=request.user, alert_id=pk, reason=s.validated_data["reason"])
        return Response(AlertSerializer(alert).data)


class CaseListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "risk.alerts", "POST": "risk.investigate"}
    serializer_class = CaseSerializer

    def get_queryset(self):
        qs = selectors.cases_visible(self.request.user).select_related("customer").order_by("-opened_at")
        status = self.request.query_params.get("status", "")
        return qs.filter(status=status) if status else qs

    @extend_schema(request=CaseOpenSerializer, responses={201: CaseDetailSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        s = CaseOpenSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        case = entrypoint(services.case_open)(actor=request.user, alert_ids=s.validated_data["alert_ids"],
                                              title=s.validated_data["title"])
        return Response(CaseDetailSerializer(case).data, status=201)


def _case(request: Request, pk: int) -> Case:
    case = selectors.case_get(request.user, pk)
    if case is None:
        raise NotFound("case_not_found", "案件不存在或无权查看")
    return case


class CaseDetail(APIView):
    permission_classes = [HasCapability]
    capability = "risk.alerts"

    @extend_schema(responses={200: CaseDetailSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        case = _case(request, pk)
        _log(request, "risk.api_case", [case.customer_id, *case.related_customers.values_list("pk", flat=True)])
        return Response(CaseDetailSerializer(case).data)


class CaseNotes(APIView):
    permission_classes = [HasCapability]
    capability = "risk.investigate"

    @extend_schema(request=NoteSerializer, responses={201: NoteSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = NoteSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        note = entrypoint(services.case_add_note)(actor=request.user, case_id=pk, text=s.validated_data["text"])
        return Response(NoteSerializer(note).data, status=201)


class CaseAlerts(APIView):
    permission_classes = [HasCapability]
    capability = "risk.investigate"

    @extend_schema(request=AlertIdsSerializer, responses={200: CaseDetailSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = AlertIdsSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        case = entrypoint(services.case_add_alerts)(actor=request.user, case_id=pk,
                                                    alert_ids=s.validated_data["alert_ids"])
        return Response(CaseDetailSerializer(case).data)


class CustomerNoSerializer(serializers.Serializer):
    customer_no = serializers.CharField(max_length=16)


class CaseCustomers(APIView):
    permission_classes = [HasCapability]
    capability = "risk.investigate"

    @extend_schema(request=CustomerNoSerializer, responses={200: CaseDetailSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = CustomerNoSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        case = entrypoint(services.case_link_customer)(actor=request.user, case_id=pk,
                                                       customer_no=s.validated_data["customer_no"])
        return Response(CaseDetailSerializer(case).data)


class CaseDecision(APIView):
    permission_classes = [HasCapability]
    capability = "risk.investigate"
    action = ""

    @extend_schema(request=RiskReasonSerializer, responses={200: CaseDetailSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = RiskReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        fn = services.case_close if self.action == "close" else services.case_escalate
        case = entrypoint(fn)(actor=request.user, case_id=pk, reason=s.validated_data["reason"])
        return Response(CaseDetailSerializer(case).data)


class CaseClose(CaseDecision):
    action = "close"


class CaseEscalate(CaseDecision):
    action = "escalate"


class CaseReport(APIView):
    permission_classes = [HasCapability]
    capability = "risk.report"

    @extend_schema(request=None, responses={201: ReportSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        report = entrypoint(reports.suspicious_report_generate)(actor=request.user, case_id=pk)
        return Response(ReportSerializer(report).data, status=201)


class RuleList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "risk.alerts"
    serializer_class = RuleSerializer
    pagination_class = None

    def get_queryset(self):
        return MonitoringRule.objects.order_by("code", "-version")


class RuleVersions(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "risk.alerts", "POST": "risk.manage_rules"}

    @extend_schema(responses={200: RuleSerializer(many=True), **ERRORS})
    def get(self, request: Request, code: str) -> Response:
        history = selectors.rule_history(code)
        if not history:
            raise NotFound("rule_not_found", "监测规则不存在")
        return Response(RuleSerializer(history, many=True).data)

    @extend_schema(request=RuleVersionSerializer, responses={201: RuleSerializer, **ERRORS})
    def post(self, request: Request, code: str) -> Response:
        s = RuleVersionSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        rule = entrypoint(services.rule_save)(actor=request.user, code=code, params_=d["params"],
                                              customer_kinds=d["customer_kinds"], effective_from=d["effective_from"],
                                              active=d["active"], note=d["note"])
        return Response(RuleSerializer(rule).data, status=201)


class ReportList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "risk.report"
    serializer_class = ReportSerializer

    def get_queryset(self):
        return selectors.reports_visible(self.request.user).select_related("case")


class LargeReportCreate(APIView):
    permission_classes = [HasCapability]
    capability = "risk.report"

    @extend_schema(request=LargeReportSerializer, responses={201: ReportSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        s = LargeReportSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        report = entrypoint(reports.large_report_generate)(actor=request.user, day=s.validated_data["day"])
        return Response(ReportSerializer(report).data, status=201)


class ReportDownload(APIView):
    permission_classes = [HasCapability]
    capability = "risk.report"

    @extend_schema(responses={(200, "application/xml"): OpenApiResponse(description="XML report file"), **ERRORS})
    def get(self, request: Request, pk: int) -> HttpResponse:
        report = entrypoint(reports.report_download)(actor=request.user, report_id=pk)
        resp = HttpResponse(report.content, content_type="application/xml; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{report.number}.xml"'
        return resp


class ReportSubmit(APIView):
    permission_classes = [HasCapability]
    capability = "risk.report"

    @extend_schema(request=None, responses={200: ReportSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        report = entrypoint(reports.report_submit)(actor=request.user, report_id=pk)
        return Response(ReportSerializer(report).data)


class Dashboard(APIView):
    permission_classes = [HasCapability]
    capability = "risk.dashboard"

    @extend_schema(responses={200: OpenApiResponse(description="dashboard figures")})
    def get(self, request: Request) -> Response:
        d = selectors.dashboard(request.user)
        return Response({"open_alerts": d["open_alerts"], "new_alerts": d["new_alerts"],
                         "large_overdue": d["large_overdue"], "alerts_by_rule": d["by_rule"],
                         "alerts_by_age_days": d["ages"], "ratings": d["ratings"], "reviews_due_30d": d["reviews_due"],
                         "reviews_overdue": d["reviews_overdue"], "first_ratings_due": d["first_ratings_due"],
                         "suitability_expiring_30d": d["suitability_expiring"], "cases_open": d["cases_open"]})
