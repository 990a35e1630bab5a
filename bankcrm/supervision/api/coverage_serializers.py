"""Serializers of the coverage API (clauses, controls with their latest figures, exceptions). Prefixed ``Sv``."""

from rest_framework import serializers


class SvClauseSerializer(serializers.Serializer):
    code = serializers.CharField()
    position = serializers.IntegerField()
    title = serializers.CharField()
    title_en = serializers.CharField()
    text = serializers.CharField()
    version = serializers.IntegerField()
    active = serializers.BooleanField()
    controls = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    def get_controls(self, obj) -> list[str]:
        return [c.control for c in obj.controls.all()]


class SvClauseRevisionSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    title = serializers.CharField()
    title_en = serializers.CharField()
    text = serializers.CharField()
    edited_at = serializers.DateTimeField()


class SvClauseDetailSerializer(SvClauseSerializer):
    revisions = SvClauseRevisionSerializer(many=True, read_only=True)


class SvClauseUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(required=False, max_length=200)
    title_en = serializers.CharField(required=False, allow_blank=True, max_length=300)
    text = serializers.CharField(required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)
    controls = serializers.ListField(child=serializers.CharField(max_length=60), required=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SvControlSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField(source="control.label")
    severity = serializers.CharField()
    automated = serializers.BooleanField()
    clauses = serializers.ListField(child=serializers.CharField(), source="control.clause_codes")
    population = serializers.IntegerField(source="run.population", allow_null=True, default=None)
    exceptions = serializers.IntegerField(source="run.exceptions", allow_null=True, default=None)
    percent = serializers.FloatField(allow_null=True)
    measure = serializers.CharField(source="text")
    tone = serializers.CharField()
    last_run_at = serializers.DateTimeField(source="run.finished_at", allow_null=True, default=None)
    open_in_scope = serializers.IntegerField(source="scope_open")


class SvControlRunRequestSerializer(serializers.Serializer):
    controls = serializers.ListField(child=serializers.CharField(max_length=60), required=False,
                                     help_text="控制代码；省略则运行全部自动控制")


class SvControlRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    control = serializers.CharField()
    status = serializers.CharField()
    population = serializers.IntegerField()
    exceptions = serializers.IntegerField()
    new_findings = serializers.IntegerField()
    resolved_findings = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class SvExceptionSerializer(serializers.Serializer):
    key = serializers.CharField(source="exc.key")
    target_type = serializers.CharField(source="exc.target_type")
    target_id = serializers.CharField(source="exc.target_id")
    target = serializers.CharField(source="exc.target_repr", help_text="已脱敏")
    detail = serializers.CharField(source="exc.detail")
    branch_id = serializers.IntegerField(source="exc.branch_id")
    branch = serializers.CharField()
    staff_id = serializers.IntegerField(source="exc.staff_id", allow_null=True)
    finding_id = serializers.IntegerField(source="finding.pk", allow_null=True, default=None)
    finding_number = serializers.CharField(source="finding.number", allow_null=True, default=None)
