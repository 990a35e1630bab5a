"""Serializers of the findings API. Prefixed ``Sv``; targets are masked labels."""

from rest_framework import serializers

from ..models import Accountability, Finding, FindingAction, Severity


class SvFindingSerializer(serializers.ModelSerializer):
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    clause_code = serializers.CharField(source="clause.code", read_only=True, default=None, allow_null=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = ["id", "number", "source", "control", "clause_code", "key", "severity", "title", "target_type",
                  "target_id", "target_repr", "branch", "branch_name", "staff", "owner", "status", "due_on", "overdue",
                  "raised_by", "raised_at", "auto_resolved_at", "rectified_at", "closed_by", "closed_at"]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        from django.utils import timezone

        from ..finding_rules import is_overdue

        return is_overdue(obj.status, obj.due_on, timezone.localdate())


class SvFindingActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = FindingAction
        fields = ["id", "action", "owner", "due_on", "status", "evidence", "done_at", "recheck_note", "rechecked_by",
                  "rechecked_at", "created_by", "created_at"]
        read_only_fields = fields


class SvAccountabilitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Accountability
        fields = ["id", "staff", "measure", "note", "recorded_by", "recorded_at"]
        read_only_fields = fields


class SvFindingDetailSerializer(SvFindingSerializer):
    actions = SvFindingActionSerializer(many=True, read_only=True)
    accountabilities = SvAccountabilitySerializer(many=True, read_only=True)

    class Meta(SvFindingSerializer.Meta):
        fields = [*SvFindingSerializer.Meta.fields, "detail", "close_note", "actions", "accountabilities"]
        read_only_fields = fields


FILTER_STATUS = [("live", "未关闭 / not closed"), *Finding.Status.choices]


class SvFindingFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=FILTER_STATUS, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    branch_id = serializers.IntegerField(min_value=1, required=False)
    control = serializers.CharField(required=False, max_length=60)
    overdue = serializers.BooleanField(required=False, default=False)


class SvFindingRaiseSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Severity.choices)
    branch_id = serializers.IntegerField(min_value=1)
    clause_code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    detail = serializers.CharField(required=False, allow_blank=True)
    due_on = serializers.DateField(required=False, allow_null=True)
    staff_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class SvAssignSerializer(serializers.Serializer):
    owner_id = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SvActionAddSerializer(serializers.Serializer):
    action = serializers.CharField(max_length=300)
    owner_id = serializers.IntegerField(min_value=1)
    due_on = serializers.DateField()


class SvActionDoneSerializer(serializers.Serializer):
    evidence = serializers.CharField(max_length=2000)


class SvRecheckSerializer(serializers.Serializer):
    passed = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SvSubmitSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class SvCloseSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class SvAccountabilityRecordSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField(min_value=1)
    measure = serializers.ChoiceField(choices=Accountability.Measure.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
