"""Appraisal API serializers (prefix Pp: unique names in the OpenAPI schema)."""

from __future__ import annotations

from rest_framework import serializers

from .. import metrics
from ..models import Appeal, KpiScheme, KpiWeight, Period, Scorecard, ScorecardLine


class PpApprPeriodSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()

    class Meta:
        model = Period
        fields = ["id", "kind", "year", "quarter", "starts_on", "ends_on", "status", "label"]

    def get_label(self, obj: Period) -> str:
        return str(obj)


class PpApprPeriodOpenSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    quarter = serializers.IntegerField(min_value=1, max_value=4, required=False, allow_null=True)


class PpApprComputeSerializer(serializers.Serializer):
    branch_id = serializers.IntegerField(required=False, allow_null=True)


class PpApprComputeResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    kept = serializers.IntegerField()
    staff = serializers.IntegerField()


class PpApprWeightSerializer(serializers.ModelSerializer):
    class Meta:
        model = KpiWeight
        fields = ["metric", "weight", "floor", "target"]


class PpApprSchemeSerializer(serializers.ModelSerializer):
    weights = PpApprWeightSerializer(many=True, read_only=True)

    class Meta:
        model = KpiScheme
        fields = ["id", "code", "name", "role", "version", "status", "activated_at", "weights"]


class PpApprWeightInSerializer(serializers.Serializer):
    metric = serializers.CharField(max_length=40)
    weight = serializers.IntegerField()
    floor = serializers.IntegerField()
    target = serializers.IntegerField()


class PpApprSchemeSaveSerializer(serializers.Serializer):
    role = serializers.CharField(max_length=24)
    name = serializers.CharField(max_length=120)
    code = serializers.SlugField(max_length=40, required=False, allow_blank=True)
    base_scheme_id = serializers.IntegerField(required=False, allow_null=True,
                                              help_text="修改已有方案：草稿就地修改，生效或停用的方案另存为新版本草稿")
    weights = PpApprWeightInSerializer(many=True)


class PpApprLineSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()
    definition = serializers.SerializerMethodField()
    unit = serializers.SerializerMethodField()
    direction = serializers.SerializerMethodField()
    measured = serializers.SerializerMethodField()

    class Meta:
        model = ScorecardLine
        fields = ["metric", "label", "definition", "unit", "direction", "weight", "value", "numerator", "denominator",
                  "score", "weighted", "measured"]

    def _m(self, obj: ScorecardLine) -> metrics.Metric | None:
        return metrics.REGISTRY.get(obj.metric)

    def get_label(self, obj: ScorecardLine) -> str:
        m = self._m(obj)
        return str(m.label) if m else obj.metric

    def get_definition(self, obj: ScorecardLine) -> str:
        m = self._m(obj)
        return str(m.definition) if m else ""

    def get_unit(self, obj: ScorecardLine) -> str:
        m = self._m(obj)
        return m.unit if m else ""

    def get_direction(self, obj: ScorecardLine) -> str:
        m = self._m(obj)
        return m.direction if m else ""

    def get_measured(self, obj: ScorecardLine) -> bool:
        return obj.value is not None


class PpApprScorecardSerializer(serializers.ModelSerializer):
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)
    staff_name = serializers.CharField(source="staff.name", read_only=True)
    period_label = serializers.CharField(source="period.__str__", read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True)

    class Meta:
        model = Scorecard
        fields = ["id", "staff_id", "staff_no", "staff_name", "period_id", "period_label", "scheme_id", "role",
                  "branch_id", "branch_name", "computed_score", "review_adjustment", "calibration_adjustment",
                  "final_score", "status", "computed_at", "self_assessed_at", "reviewed_at", "calibrated_at",
                  "signed_off_at"]


class PpApprScorecardDetailSerializer(PpApprScorecardSerializer):
    lines = PpApprLineSerializer(many=True, read_only=True)

    class Meta(PpApprScorecardSerializer.Meta):
        fields = PpApprScorecardSerializer.Meta.fields + ["self_comment", "review_comment", "reviewer_id",
                                                      "calibration_reason", "calibrated_by_id", "signed_off_by_id",
                                                      "lines"]


class PpApprEvidenceSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True)
    ref = serializers.CharField()
    subject = serializers.CharField()
    detail = serializers.CharField()
    counts = serializers.ChoiceField(choices=["num", "den", "both"])


class PpApprCommentSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=4000)


class PpApprReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=4000)
    adjustment = serializers.IntegerField(default=0, help_text="百分之一分，如 -250 表示扣 2.5 分")


class PpApprReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class PpApprCalibrateSerializer(serializers.Serializer):
    period_id = serializers.IntegerField()
    branch_id = serializers.IntegerField()
    reason = serializers.CharField(max_length=2000)
    shifts = serializers.DictField(child=serializers.IntegerField(), required=False,
                                   help_text="{记分卡 id: 调整（百分之一分）}；未列出的记分卡调整为 0")


class PpApprAppealSerializer(serializers.ModelSerializer):
    staff_name = serializers.CharField(source="scorecard.staff.name", read_only=True)
    period_label = serializers.CharField(source="scorecard.period.__str__", read_only=True)

    class Meta:
        model = Appeal
        fields = ["id", "scorecard_id", "staff_name", "period_label", "raised_by_id", "reason", "raised_at", "status",
                  "decided_by_id", "decided_at", "decision_note"]


class PpApprDecideSerializer(serializers.Serializer):
    upheld = serializers.BooleanField()
    note = serializers.CharField(max_length=4000)


class PpApprScorecardFilterSerializer(serializers.Serializer):
    period = serializers.IntegerField(required=False)
    scope = serializers.ChoiceField(choices=["mine", "team", "all"], default="mine")
    status = serializers.ChoiceField(choices=Scorecard.Status.choices, required=False)
