"""Incentive API shapes (prefix Pp). Money in fen, scores in hundredths (0–10000). Output serializers are read-only;
input serializers name the only fields a client may set (status, approvals, payout records and clawed-back amounts
are never assignable)."""

from __future__ import annotations

from rest_framework import serializers

from bankcrm.core.api.base import MAX_ID

from ..models import Clawback, IncentiveAward, IncentivePool, IncentiveScheme

FEN = "金额，单位：分 / amount in fen"
SCORE = "得分，单位：0.01 分（0–10000）/ score in hundredths"


class PpIncentiveSchemeSerializer(serializers.ModelSerializer):
    tiers = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()), read_only=True,
                                  help_text="[[最低得分(0.01分), 系数%], …] 从高到低")

    class Meta:
        model = IncentiveScheme
        fields = ["id", "code", "name", "method", "min_score", "tiers", "cap_percent", "active", "created_at"]
        read_only_fields = fields


class PpIncentiveSchemeWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=120)
    method = serializers.ChoiceField(choices=IncentiveScheme.Method.choices)
    min_score = serializers.IntegerField(min_value=0, max_value=10000, help_text=SCORE)
    tiers = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()), required=False,
                                  default=list, help_text="按档次分配时必填：[[最低得分, 系数%], …]")
    cap_percent = serializers.IntegerField(min_value=1, max_value=100, default=100)
    active = serializers.BooleanField(default=True)


class PpExclusionSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField()
    staff_no = serializers.CharField()
    name = serializers.CharField()
    code = serializers.CharField(help_text="not_signed_off / inactive / no_scorecard / below_min_score / no_tier")
    reason = serializers.CharField()
    score = serializers.IntegerField(allow_null=True)


class PpPoolSerializer(serializers.ModelSerializer):
    branch_code = serializers.CharField(source="branch.code", read_only=True)
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    period = serializers.CharField(source="period.__str__", read_only=True)
    scheme_code = serializers.CharField(source="scheme.code", read_only=True)
    amount_fen = serializers.IntegerField(read_only=True, help_text=FEN)
    undistributed_fen = serializers.IntegerField(read_only=True, help_text=FEN)
    exclusions = PpExclusionSerializer(many=True, read_only=True)

    class Meta:
        model = IncentivePool
        fields = ["id", "branch", "branch_code", "branch_name", "period_id", "period", "scheme", "scheme_code",
                  "amount_fen", "undistributed_fen", "status", "created_by", "created_at", "allocated_at",
                  "pending_action", "approved_by", "approved_at", "paid_at", "exclusions"]
        read_only_fields = fields


class PpPoolWriteSerializer(serializers.Serializer):
    branch_id = serializers.IntegerField(min_value=1)
    period_id = serializers.IntegerField(min_value=1)
    scheme_id = serializers.IntegerField(min_value=1)
    amount = serializers.CharField(max_length=24, help_text="金额，单位：元（最多两位小数），如 \"50000.00\"")


class PpPoolSubmitSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PpPoolPaidSerializer(serializers.Serializer):
    paid_on = serializers.DateField(required=False, allow_null=True, default=None, help_text="发放日期（默认今天）")


class PpAwardSerializer(serializers.ModelSerializer):
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)
    staff_name = serializers.CharField(source="staff.name", read_only=True)
    pool_id = serializers.IntegerField(read_only=True)
    period = serializers.CharField(source="pool.period.__str__", read_only=True)
    score = serializers.IntegerField(read_only=True, help_text=SCORE)
    amount_fen = serializers.IntegerField(read_only=True, help_text=FEN)
    clawed_back_fen = serializers.IntegerField(read_only=True, help_text=FEN)
    rank = serializers.SerializerMethodField(help_text="团队内排名（仅有权查看排名者可见，否则为 null）")

    class Meta:
        model = IncentiveAward
        fields = ["id", "pool_id", "period", "staff", "staff_no", "staff_name", "score", "amount_fen",
                  "clawed_back_fen", "paid_at", "rank"]
        read_only_fields = fields

    def get_rank(self, obj: IncentiveAward) -> int | None:
        return getattr(obj, "rank", None)


class PpClawbackSerializer(serializers.ModelSerializer):
    staff = serializers.IntegerField(source="award.staff_id", read_only=True)
    staff_no = serializers.CharField(source="award.staff.staff_no", read_only=True)
    pool_id = serializers.IntegerField(source="award.pool_id", read_only=True)
    amount_fen = serializers.IntegerField(read_only=True, help_text=FEN)

    class Meta:
        model = Clawback
        fields = ["id", "award", "pool_id", "staff", "staff_no", "source", "source_id", "source_ref", "found_at",
                  "amount_fen", "status", "reason", "decided_by", "decided_at", "created_at"]
        read_only_fields = fields


class PpClawbackDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("confirm", "确认追索"), ("waive", "豁免")])
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class PpClawbackFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Clawback.Status.choices, required=False)


class PpPoolFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=IncentivePool.Status.choices, required=False)
    period_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class PpScanResultSerializer(serializers.Serializer):
    proposed = PpClawbackSerializer(many=True)
