"""API shapes of management reports (prefix Report keeps names unique in the OpenAPI schema).

Report figures are returned raw: counts as integers, money as integer fen (CNY), shares as per cent with one decimal,
NPS as a score; ``null`` where nothing can be computed. Input serializers name the only fields a client may set (an
owner, a status or a file path are never assigned by a client)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from .. import report_catalog as catalog
from .. import report_rules as rules
from ..models import ReportRun, ReportSchedule

REPORT_CHOICES = [(code, code) for code in catalog.REPORTS]
FILE_TYPES = ReportSchedule.Format.choices


class ReportQuerySerializer(serializers.Serializer):
    period = serializers.CharField(required=False, max_length=40, help_text=(
        "统计期间：2026-05（月）、2026-Q2（季）、2026（年）、2026-W21（周）、2026-05-31（日），或 range（配合 start、end）；"
        "默认为该报表的默认期间（本季度或本年）"))
    start = serializers.DateField(required=False, help_text="自定义区间开始日期（period=range）")
    end = serializers.DateField(required=False, help_text="自定义区间结束日期（period=range）")
    branch = serializers.CharField(required=False, max_length=255, allow_blank=True,
                                   help_text="机构路径（如 /001/101/），须在本人范围内；默认本人可见的全部机构")

    def __init__(self, *args, report: catalog.Report | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.report = report

    def validate(self, attrs):
        today = timezone.localdate()
        default = rules.current_period(self.report.default_period if self.report else "quarter", today).key
        value = (attrs.get("period") or "").strip() or default
        start, end = attrs.get("start"), attrs.get("end")
        if value == rules.RANGE and (not start or not end):
            raise serializers.ValidationError({"start": [_("自定义区间须填写开始与结束日期")]})
        try:
            attrs["period_obj"] = rules.parse_period(value, start.isoformat() if start else "",
                                                     end.isoformat() if end else "", today=today)
        except rules.PeriodError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from None
        attrs["branch"] = (attrs.get("branch") or "").strip()
        return attrs


class ReportExportQuerySerializer(ReportQuerySerializer):
    file_type = serializers.ChoiceField(choices=FILE_TYPES, help_text="xlsx 或 pdf")


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField(help_text="int | money（分）| pct（%）| score | days")


class ReportTableDefSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    dimension = serializers.CharField(help_text="branch | month | tier | category | cause | aml | suit | course")
    columns = ReportColumnSerializer(many=True)


class ReportDefSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    default_period = serializers.CharField()
    tables = ReportTableDefSerializer(many=True)


class ReportRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="行的维度值：机构路径、月份（YYYY-MM）、层级、类别等；合计行为空")
    label = serializers.CharField()
    values = serializers.DictField(child=serializers.JSONField(allow_null=True))


class ReportTableSerializer(ReportTableDefSerializer):
    rows = ReportRowSerializer(many=True)
    total = ReportRowSerializer(allow_null=True)


class ReportPeriodSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()


class ReportDataSerializer(serializers.Serializer):
    report = serializers.CharField()
    title = serializers.CharField()
    period = ReportPeriodSerializer()
    as_of = serializers.DateField()
    snapshot_day = serializers.DateField(allow_null=True)
    scope = serializers.CharField()
    branch = serializers.CharField(help_text="统计的机构路径；空为全行")
    tables = ReportTableSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())


class ReportOwnerSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    staff_no = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class ReportScheduleSerializer(serializers.ModelSerializer):
    owner = ReportOwnerSerializer(read_only=True)
    branch = serializers.SerializerMethodField()

    class Meta:
        model = ReportSchedule
        fields = ["id", "name", "report", "branch", "frequency", "file_format", "owner", "active", "created_at",
                  "deactivated_at", "deactivation_reason"]
        read_only_fields = fields

    def get_branch(self, obj: ReportSchedule) -> str:
        return (obj.filters or {}).get("branch", "")


class ReportScheduleInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    report = serializers.ChoiceField(choices=REPORT_CHOICES)
    frequency = serializers.ChoiceField(choices=ReportSchedule.Frequency.choices)
    file_format = serializers.ChoiceField(choices=FILE_TYPES, default="xlsx")
    branch = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ReportDeactivateSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReportRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReportRun
        fields = ["id", "schedule", "period", "period_start", "period_end", "status", "size", "sha256", "error",
                  "attempts", "generated_at"]
        read_only_fields = fields
