from rest_framework import serializers

from bankcrm.approvals.models import PendingAction


class DetailRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.CharField()


class PendingActionSerializer(serializers.ModelSerializer):
    """``details`` is what the checker reviews, as the feature describes its payload (masked where it holds personal
    data); ``payload`` is the exact data that will execute (personal data in it is stored encrypted)."""

    maker = serializers.SlugRelatedField(slug_field="staff_no", read_only=True)
    checker = serializers.SlugRelatedField(slug_field="staff_no", read_only=True)
    details = serializers.SerializerMethodField()

    class Meta:
        model = PendingAction
        fields = ["id", "action_code", "summary", "details", "payload", "payload_hash", "maker", "checker", "status",
                  "created_at", "expires_at", "decided_at", "decision_reason", "submit_reason", "result", "target_type",
                  "target_id"]
        read_only_fields = fields

    def get_details(self, obj: PendingAction) -> list[dict[str, str]]:
        from bankcrm.approvals import registry

        action = registry.ACTIONS.get(obj.action_code)
        if action is None or action.describe is None:
            return []
        return [{"label": str(k), "value": str(v)} for k, v in action.describe(obj.payload)]


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
