"""API shapes of inspections and access reviews (prefix Sv keeps names unique in the OpenAPI schema).

Output serializers are read-only; input serializers name the only fields a client may set, so that status, seed
(except when asked for on creation), inspector, branch path, results and decisions of others are never assigned by a
client. Sampled records appear by their masked labels only."""

from __future__ import annotations

from rest_framework import serializers

from bankcrm.supervision.models import (
    AccessReview,
    AccessReviewItem,
    ChecklistTemplate,
    Inspection,
    InspectionPlan,
    SampleItem,
)


class SvBranchRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class SvStaffRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    staff_no = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)


class SvChecklistSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistTemplate
        fields = ["id", "code", "name", "name_en", "version", "items"]
        read_only_fields = fields


class SvPlanSerializer(serializers.ModelSerializer):
    branch = SvBranchRefSerializer(read_only=True)
    template = SvChecklistSerializer(read_only=True)

    class Meta:
        model = InspectionPlan
        fields = ["id", "name", "branch", "frequency", "template", "sample_customers", "sample_transactions",
                  "sample_complaints", "risk_weighted", "next_on", "active"]
        read_only_fields = fields


class SvPlanInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    branch_id = serializers.IntegerField()
    frequency = serializers.ChoiceField(choices=InspectionPlan.Frequency.choices)
    template_id = serializers.IntegerField()
    sample_customers = serializers.IntegerField(min_value=0)
    sample_transactions = serializers.IntegerField(min_value=0)
    sample_complaints = serializers.IntegerField(min_value=0)
    risk_weighted = serializers.BooleanField(default=True)
    next_on = serializers.DateField(required=False, allow_null=True, default=None)
    active = serializers.BooleanField(default=True)


class SvInspectionSerializer(serializers.ModelSerializer):
    branch = SvBranchRefSerializer(read_only=True)
    inspector = SvStaffRefSerializer(read_only=True, allow_null=True)
    template = serializers.CharField(source="template.__str__", read_only=True)
    items_total = serializers.IntegerField(source="n_items", read_only=True, default=None)
    items_checked = serializers.IntegerField(source="n_checked", read_only=True, default=None)
    items_failed = serializers.IntegerField(source="n_failed", read_only=True, default=None)

    class Meta:
        model = Inspection
        fields = ["id", "number", "plan", "branch", "template", "period_start", "period_end", "status", "seed",
                  "sizes", "risk_weighted", "inspector", "started_at", "finished_at", "items_total", "items_checked",
                  "items_failed", "summary", "conclusion"]
        read_only_fields = fields


class SvSampleItemSerializer(serializers.ModelSerializer):
    staff = SvStaffRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = SampleItem
        fields = ["id", "kind", "object_id", "label", "staff", "weight", "position", "answers", "result", "evidence",
                  "checked_at"]
        read_only_fields = fields


class SvInspectionDetailSerializer(SvInspectionSerializer):
    items = SvSampleItemSerializer(many=True, read_only=True)
    checklist = SvChecklistSerializer(source="template", read_only=True)

    class Meta(SvInspectionSerializer.Meta):
        fields = [*SvInspectionSerializer.Meta.fields, "checklist", "items"]
        read_only_fields = fields


class SvInspectionInSerializer(serializers.Serializer):
    branch_id = serializers.IntegerField()
    template_id = serializers.IntegerField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    sample_customers = serializers.IntegerField(min_value=0)
    sample_transactions = serializers.IntegerField(min_value=0)
    sample_complaints = serializers.IntegerField(min_value=0)
    risk_weighted = serializers.BooleanField(default=True)
    seed = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)


class SvItemRecordSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.ChoiceField(choices=["yes", "no", "na"]),
                                    help_text="检查项编号 → yes（符合）/ no（不符合）/ na（不适用）")
    evidence = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


class SvCompleteSerializer(serializers.Serializer):
    conclusion = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)


class SvCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True,
                                   help_text="取消原因（必填，空白时返回 400 reason_required）")


class SvReportQuerySerializer(serializers.Serializer):
    file_type = serializers.ChoiceField(choices=["xlsx", "pdf"], default="xlsx")


class SvAccessReviewSerializer(serializers.ModelSerializer):
    branch = SvBranchRefSerializer(read_only=True)
    reviewer = SvStaffRefSerializer(read_only=True, allow_null=True)
    items_total = serializers.IntegerField(source="n_items", read_only=True, default=None)
    items_pending = serializers.IntegerField(source="n_pending", read_only=True, default=None)
    items_overdue = serializers.IntegerField(source="n_overdue", read_only=True, default=None)

    class Meta:
        model = AccessReview
        fields = ["id", "branch", "period", "period_start", "due_on", "reviewer", "status", "completed_at",
                  "items_total", "items_pending", "items_overdue"]
        read_only_fields = fields


class SvAccessReviewItemSerializer(serializers.ModelSerializer):
    staff = SvStaffRefSerializer(read_only=True)
    decided_by = SvStaffRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AccessReviewItem
        fields = ["id", "staff", "role", "granted_at", "decision", "reason", "decided_by", "decided_at"]
        read_only_fields = fields


class SvAccessReviewDetailSerializer(SvAccessReviewSerializer):
    items = SvAccessReviewItemSerializer(many=True, read_only=True)

    class Meta(SvAccessReviewSerializer.Meta):
        fields = [*SvAccessReviewSerializer.Meta.fields, "items"]
        read_only_fields = fields


DECIDE_CHOICES = [("confirmed", "确认保留"), ("revoked", "撤销")]


class SvDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=DECIDE_CHOICES)
    reason = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)
