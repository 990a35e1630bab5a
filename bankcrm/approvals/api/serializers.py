from rest_framework import serializers

from bankcrm.approvals.models import PendingAction


class PendingActionSerializer(serializers.ModelSerializer):
    maker = serializers.SlugRelatedField(slug_field="staff_no", read_only=True)
    checker = serializers.SlugRelatedField(slug_field="staff_no", read_only=True)

    class Meta:
        model = PendingAction
        fields = ["id", "action_code", "summary", "payload", "payload_hash", "maker", "checker", "status", "created_at",
                  "expires_at", "decided_at", "decision_reason", "submit_reason", "result", "target_type", "target_id"]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
