from rest_framework import serializers

from bankcrm.core.models import AuditEvent, CalendarDay, ParameterVersion, SecurityEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "actor", "actor_label", "verb", "target_type", "target_id", "target_repr",
                  "before", "after", "reason", "request_id", "ip", "channel", "prev_hash", "hash"]


class SecurityEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = SecurityEvent
        fields = ["id", "occurred_at", "kind", "actor", "username", "ip", "path", "detail", "request_id"]


class VerifyResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField(allow_blank=True)
    head_seq = serializers.IntegerField()


class ParameterVersionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="staff_no", read_only=True)

    class Meta:
        model = ParameterVersion
        fields = ["id", "code", "value", "effective_from", "reason", "created_by", "created_at"]


class ParameterSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()
    currency = serializers.CharField(allow_blank=True)
    source = serializers.CharField()
    default = serializers.IntegerField()
    value = serializers.IntegerField()
    display = serializers.CharField()


class ParameterSetSerializer(serializers.Serializer):
    value = serializers.IntegerField()
    effective_from = serializers.DateTimeField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=500)


class CalendarDaySerializer(serializers.ModelSerializer):
    class Meta:
        model = CalendarDay
        fields = ["date", "kind", "name"]


class CalendarDayWriteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CalendarDay.Kind.choices)
    name = serializers.CharField(max_length=40)


class InboxItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    title = serializers.CharField()
    url = serializers.CharField()
    due_at = serializers.DateTimeField(allow_null=True)
    subtitle = serializers.CharField()
