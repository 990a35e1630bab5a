"""Wealth API shapes. Money is in fen (integer minor units), units in hundredths (``units_x100``) and net asset values
in ten-thousandths (``nav_x10000``): value in fen = units_x100 × nav_x10000 ÷ 10000.

Output serializers are read-only throughout; input serializers name the only fields a client may set, so that
status, seller, branch path, hold reference, journal entry, units and the like can never be assigned by a client.
Customer names are masked (surname + *) in lists; in a single object they follow the viewer (interns and temporary
workers see them masked)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bankcrm.core import masking
from bankcrm.wealth.models import (
    Holding,
    Payout,
    ProductNav,
    QualifiedInvestor,
    Redemption,
    ReturnVisit,
    Sale,
    WealthProduct,
)
from bankcrm.wealth.services import DISCLOSURE_METHODS

FEN = "金额，单位：分（整数）/ amount in fen (integer minor units)"
UNITS = "份额，单位：0.01 份（整数）/ units in hundredths"
NAV = "单位净值 ×10000（整数，10000 = 1.0000）/ NAV in ten-thousandths"
BP = "基点（1 bp = 0.01%）/ basis points"


def _viewer(serializer: serializers.Serializer) -> Any:
    return getattr(serializer.context.get("request"), "user", None)


def customer_name(serializer: serializers.Serializer, customer: Any) -> str:
    """Masked in lists (``context["masked"]``) and for viewers who see masked names; in full otherwise."""
    if customer is None:
        return ""
    if serializer.context.get("masked", True) or getattr(_viewer(serializer), "sees_masked_names", True):
        return masking.mask_name(customer.name)
    return customer.name


# ---- Products -------------------------------------------------------------------------------------------------------
class WmProductSerializer(serializers.ModelSerializer):
    min_amount_fen = serializers.IntegerField(read_only=True, help_text=f"起购金额；{FEN}")
    step_fen = serializers.IntegerField(read_only=True, help_text=f"递增金额；{FEN}")
    subscribe_fee_bp = serializers.IntegerField(read_only=True, help_text=f"认/申购费率；{BP}")
    redeem_fee_bp = serializers.IntegerField(read_only=True, help_text=f"赎回费率；{BP}")
    management_fee_bp = serializers.IntegerField(read_only=True, help_text=f"管理费率（年）；{BP}")
    benchmark_bp = serializers.IntegerField(read_only=True, help_text=f"业绩比较基准（年）；{BP}")
    level_label = serializers.CharField(read_only=True, help_text="R1–R5，定期存款为 —")
    ledger_product_id = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = WealthProduct
        fields = ["id", "code", "name", "name_en", "kind", "issuer", "risk_level", "level_label", "currency",
                  "min_amount_fen", "step_fen", "term_days", "open_ended", "subscribe_fee_bp", "redeem_fee_bp",
                  "management_fee_bp", "benchmark_bp", "sales_start", "sales_end", "maturity_date", "private",
                  "ledger_product_id", "documents_version", "status", "created_at", "updated_at"]
        read_only_fields = fields


class WmProductDetailSerializer(WmProductSerializer):
    latest_nav_x10000 = serializers.SerializerMethodField(help_text=f"最新单位净值；{NAV}")

    class Meta(WmProductSerializer.Meta):
        fields = [*WmProductSerializer.Meta.fields, "description", "risk_disclosure", "latest_nav_x10000"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_latest_nav_x10000(self, obj: WealthProduct) -> int | None:
        return self.context.get("latest_nav")


class WmProductWriteSerializer(serializers.Serializer):
    """The fields of a product a client may set (create: the required ones must be given; PATCH: any subset).
    Status, documents version and creator are not among them: the shelf moves through its own endpoint."""

    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=80)
    name_en = serializers.CharField(max_length=120, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=WealthProduct.Kind.choices)
    issuer = serializers.CharField(max_length=80)
    risk_level = serializers.IntegerField(min_value=0, max_value=5, help_text="1–5 对应 R1–R5；定期存款填 0")
    currency = serializers.ChoiceField(choices=[("CNY", "CNY"), ("USD", "USD")], required=False)
    min_amount_fen = serializers.IntegerField(min_value=1, required=False, help_text=f"起购金额；{FEN}")
    step_fen = serializers.IntegerField(min_value=1, required=False, help_text=f"递增金额；{FEN}")
    term_days = serializers.IntegerField(min_value=0, max_value=36500, required=False, help_text="期限（天），0 为开放式")
    open_ended = serializers.BooleanField(required=False)
    subscribe_fee_bp = serializers.IntegerField(min_value=0, max_value=10000, required=False, help_text=BP)
    redeem_fee_bp = serializers.IntegerField(min_value=0, max_value=10000, required=False, help_text=BP)
    management_fee_bp = serializers.IntegerField(min_value=0, max_value=10000, required=False, help_text=BP)
    benchmark_bp = serializers.IntegerField(min_value=0, max_value=100000, required=False, help_text=BP)
    sales_start = serializers.DateField()
    sales_end = serializers.DateField(required=False, allow_null=True)
    maturity_date = serializers.DateField(required=False, allow_null=True)
    private = serializers.BooleanField(required=False)
    ledger_product_id = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                                 help_text="定期存款对应的存款产品 id（ledger 产品）")
    description = serializers.CharField(max_length=20000, required=False, allow_blank=True, help_text="产品说明书")
    risk_disclosure = serializers.CharField(max_length=20000, required=False, allow_blank=True, help_text="风险揭示书")


class WmShelfSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[("on", _("上架")), ("off", _("下架"))], help_text="on 上架 / off 下架")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="下架时必填")


class WmShelfResultSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="pending_approval：已提交复核")
    approval_id = serializers.IntegerField(help_text="待复核事项 id（/api/v1/approvals/{id}/）")


class WmNavSerializer(serializers.ModelSerializer):
    nav_x10000 = serializers.IntegerField(read_only=True, help_text=NAV)
    set_by = serializers.CharField(source="set_by.name", read_only=True, default=None)

    class Meta:
        model = ProductNav
        fields = ["id", "nav_date", "nav_x10000", "set_by", "created_at"]
        read_only_fields = fields


class WmNavSetSerializer(serializers.Serializer):
    nav_date = serializers.DateField()
    nav_x10000 = serializers.IntegerField(min_value=1, max_value=1_000_000, help_text=NAV)


class WmDistributionSerializer(serializers.Serializer):
    record_date = serializers.DateField(help_text="权益登记日（不晚于今天）")
    per_unit_x10000 = serializers.IntegerField(min_value=1, max_value=1_000_000,
                                               help_text="每份分配金额 ×10000（元）；每持有 1 份（100 个 units_x100）分 "
                                                         "per_unit_x10000 ÷ 100 分")


class WmDistributionResultSerializer(serializers.Serializer):
    holders = serializers.IntegerField(help_text="权益登记日的持有人数")
    paid = serializers.IntegerField(help_text="本次实际分配的持有人数（重复提交不会重复分配）")
    total_fen = serializers.IntegerField(help_text=f"本次分配总额；{FEN}")


class WmDistributionEventSerializer(serializers.Serializer):
    event_key = serializers.CharField(help_text="登记日:每份金额")
    holders = serializers.IntegerField()
    total_fen = serializers.IntegerField(help_text=FEN)
    paid_at = serializers.DateTimeField()


# ---- Point of sale --------------------------------------------------------------------------------------------------
class WmRecordingSerializer(serializers.Serializer):
    recording_id = serializers.CharField(max_length=40, help_text="双录编号")
    booth = serializers.CharField(max_length=40, help_text="双录区")
    recorded_at = serializers.DateTimeField(help_text="录制时间（不晚于现在）")


class WmPosCheckSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(min_value=1)
    product_id = serializers.IntegerField(min_value=1)
    amount_fen = serializers.IntegerField(min_value=1, help_text=f"购买金额；{FEN}")
    customer_initiated = serializers.BooleanField(default=False, help_text="客户主动要求购买（否则须有营销同意）")
    recording = WmRecordingSerializer(required=False, allow_null=True, default=None, help_text="双录记录（如已录制）")


class WmViolationSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="稳定的规则代码")
    message = serializers.CharField()


class WmDecisionSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    violations = WmViolationSerializer(many=True, help_text="每条不满足的规则，按检查顺序")
    requirements = serializers.DictField(help_text="enhanced_disclosure、recording、cooling_off_until 等要求")
    investor_level = serializers.IntegerField(allow_null=True, help_text="客户风险承受能力等级 C1–C5（1–5）")
    valid_until = serializers.DateField(allow_null=True, help_text="风险评估有效期至")


# ---- Sales ----------------------------------------------------------------------------------------------------------
class WmSaleSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    customer_name = serializers.SerializerMethodField()
    product_code = serializers.CharField(source="product.code", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    seller_name = serializers.CharField(source="seller.name", read_only=True)
    amount_fen = serializers.IntegerField(read_only=True, help_text=f"认购金额；{FEN}")
    fee_fen = serializers.IntegerField(read_only=True, help_text=f"认购费（价内）；{FEN}")
    units_x100 = serializers.IntegerField(read_only=True, allow_null=True, help_text=f"确认份额；{UNITS}")
    nav_x10000 = serializers.IntegerField(read_only=True, allow_null=True, help_text=f"成交净值；{NAV}")

    class Meta:
        model = Sale
        fields = ["id", "number", "status", "customer_id", "customer_no", "customer_name", "product_id",
                  "product_code", "product_name", "amount_fen", "fee_fen", "seller_id", "seller_name",
                  "customer_initiated", "proposed_at", "recording_required", "cooling_off_ends_at", "settled_at",
                  "units_x100", "nav_x10000", "ended_at"]
        read_only_fields = fields

    def get_customer_name(self, obj: Sale) -> str:
        return customer_name(self, obj.customer)


class WmReturnVisitSerializer(serializers.ModelSerializer):
    sale_number = serializers.CharField(source="sale.number", read_only=True)
    customer_id = serializers.IntegerField(source="sale.customer_id", read_only=True)
    customer_no = serializers.CharField(source="sale.customer.customer_no", read_only=True)
    customer_name = serializers.SerializerMethodField()
    product_code = serializers.CharField(source="sale.product.code", read_only=True)
    product_name = serializers.CharField(source="sale.product.name", read_only=True)
    seller_id = serializers.IntegerField(source="sale.seller_id", read_only=True)
    seller_name = serializers.CharField(source="sale.seller.name", read_only=True)
    assignee_name = serializers.CharField(source="assignee.name", read_only=True)

    class Meta:
        model = ReturnVisit
        fields = ["id", "sale_id", "sale_number", "customer_id", "customer_no", "customer_name", "product_code",
                  "product_name", "seller_id", "seller_name", "assignee_id", "assignee_name", "due_on", "status",
                  "attempts", "outcome", "done_at", "created_at"]
        read_only_fields = fields

    def get_customer_name(self, obj: ReturnVisit) -> str:
        return customer_name(self, obj.sale.customer)


class WmReturnVisitDetailSerializer(WmReturnVisitSerializer):
    class Meta(WmReturnVisitSerializer.Meta):
        fields = [*WmReturnVisitSerializer.Meta.fields, "understood_product", "understood_risk", "voluntary",
                  "received_documents", "notes", "complaint_id"]
        read_only_fields = fields


class WmSaleVisitSerializer(serializers.ModelSerializer):
    """The return visit as part of a sale's evidence."""

    assignee_name = serializers.CharField(source="assignee.name", read_only=True)

    class Meta:
        model = ReturnVisit
        fields = ["id", "assignee_id", "assignee_name", "due_on", "status", "attempts", "understood_product",
                  "understood_risk", "voluntary", "received_documents", "notes", "outcome", "complaint_id", "done_at"]
        read_only_fields = fields


class WmSaleDetailSerializer(WmSaleSerializer):
    """Every piece of a sale's evidence in one place: proposal, point-of-sale result, disclosure confirmation, 双录
    reference, hold and cooling-off, settlement (or cancellation), return visit."""

    account = serializers.CharField(source="account.masked_number", read_only=True, help_text="扣款账户（脱敏）")
    deposit_account = serializers.CharField(source="deposit_account.masked_number", read_only=True, default=None,
                                            help_text="定期存款账户（脱敏）")
    entry_txn_no = serializers.CharField(source="entry.txn_no", read_only=True, default=None, help_text="扣款交易流水号")
    ended_by_name = serializers.CharField(source="ended_by.name", read_only=True, default=None)
    return_visit = serializers.SerializerMethodField()

    class Meta(WmSaleSerializer.Meta):
        fields = [*WmSaleSerializer.Meta.fields, "account_id", "account", "check_result", "confirm_check", "investor_level",
                  "product_level", "assessment_id", "enhanced_disclosure", "qualified_investor_id",
                  "disclosure_confirmed_at", "disclosure_version", "disclosure_method", "recording_id",
                  "recording_booth", "recorded_at", "hold_ref", "entry_id", "entry_txn_no", "deposit_account_id",
                  "deposit_account", "end_reason", "ended_by_id", "ended_by_name", "settle_error", "return_visit"]
        read_only_fields = fields

    @extend_schema_field(WmSaleVisitSerializer(allow_null=True))
    def get_return_visit(self, obj: Sale) -> dict[str, Any] | None:
        try:
            visit = obj.return_visit
        except ReturnVisit.DoesNotExist:
            return None
        return WmSaleVisitSerializer(visit).data


class WmProposeSerializer(serializers.Serializer):
    """A proposal: who, what, how much, from which account. The seller is the caller; status, branch, hold and
    settlement fields are the service's."""

    customer_id = serializers.IntegerField(min_value=1)
    product_id = serializers.IntegerField(min_value=1)
    account_id = serializers.IntegerField(min_value=1, help_text="扣款账户（客户本人的活期账户）id")
    amount_fen = serializers.IntegerField(min_value=1, help_text=f"认购金额；{FEN}")
    customer_initiated = serializers.BooleanField(default=False, help_text="客户主动要求购买（否则须有营销同意）")


class WmConfirmSerializer(serializers.Serializer):
    disclosure_confirmed = serializers.BooleanField(help_text="客户已阅读并确认风险揭示书（须为 true）")
    disclosure_method = serializers.ChoiceField(choices=list(DISCLOSURE_METHODS.items()), default="counter_signature")
    recording_id = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                         help_text="双录编号（须双录时必填）")
    recording_booth = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                            help_text="双录区")
    recorded_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="录制时间")


class WmReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="原因（必填；为空时 400 reason_required）")


# ---- Holdings -------------------------------------------------------------------------------------------------------
class WmHoldingSerializer(serializers.Serializer):
    """A holding with its value at the latest NAV (insurance at premium, deposits at principal)."""

    id = serializers.IntegerField(source="holding.pk")
    customer_id = serializers.IntegerField(source="holding.customer_id")
    customer_no = serializers.CharField(source="holding.customer.customer_no")
    customer_name = serializers.SerializerMethodField()
    product_id = serializers.IntegerField(source="holding.product_id")
    product_code = serializers.CharField(source="holding.product.code")
    product_name = serializers.CharField(source="holding.product.name")
    product_kind = serializers.ChoiceField(source="holding.product.kind", choices=WealthProduct.Kind.choices)
    currency = serializers.CharField(source="holding.product.currency")
    status = serializers.ChoiceField(source="holding.status", choices=Holding.Status.choices)
    units_x100 = serializers.IntegerField(source="holding.units_x100", help_text=f"持有份额；{UNITS}")
    cost_fen = serializers.IntegerField(source="holding.cost_fen", help_text=f"持仓成本；{FEN}")
    nav_x10000 = serializers.IntegerField(help_text=f"最新单位净值；{NAV}")
    value_fen = serializers.IntegerField(help_text=f"市值；{FEN}")
    gain_fen = serializers.IntegerField(help_text=f"浮动盈亏；{FEN}")
    payout_account = serializers.CharField(source="holding.payout_account.masked_number", help_text="回款账户（脱敏）")
    opened_at = serializers.DateTimeField(source="holding.opened_at")
    closed_at = serializers.DateTimeField(source="holding.closed_at", allow_null=True)

    def get_customer_name(self, row: dict[str, Any]) -> str:
        return customer_name(self, row["holding"].customer)


class WmRedemptionSerializer(serializers.ModelSerializer):
    units_x100 = serializers.IntegerField(read_only=True, help_text=UNITS)
    nav_x10000 = serializers.IntegerField(read_only=True, help_text=NAV)
    gross_fen = serializers.IntegerField(read_only=True, help_text=f"赎回金额；{FEN}")
    fee_fen = serializers.IntegerField(read_only=True, help_text=f"赎回费；{FEN}")
    net_fen = serializers.SerializerMethodField(help_text=f"到账金额；{FEN}")
    entry_txn_no = serializers.CharField(source="entry.txn_no", read_only=True)

    class Meta:
        model = Redemption
        fields = ["id", "holding_id", "units_x100", "nav_x10000", "gross_fen", "fee_fen", "net_fen", "entry_txn_no",
                  "requested_by_id", "created_at"]
        read_only_fields = fields

    def get_net_fen(self, obj: Redemption) -> int:
        return obj.gross_fen - obj.fee_fen


class WmPayoutSerializer(serializers.ModelSerializer):
    amount_fen = serializers.IntegerField(read_only=True, help_text=FEN)
    entry_txn_no = serializers.CharField(source="entry.txn_no", read_only=True, default=None)

    class Meta:
        model = Payout
        fields = ["id", "kind", "event_key", "amount_fen", "entry_txn_no", "created_at"]
        read_only_fields = fields


class WmHoldingDetailSerializer(WmHoldingSerializer):
    deposit_account = serializers.CharField(source="holding.deposit_account.masked_number", default=None,
                                            help_text="定期存款账户（脱敏）")
    redemptions = WmRedemptionSerializer(source="holding.redemptions.all", many=True)
    payouts = WmPayoutSerializer(source="holding.payouts.all", many=True)


class WmRedeemSerializer(serializers.Serializer):
    units_x100 = serializers.IntegerField(min_value=1, help_text=f"赎回份额；{UNITS}")


# ---- Return visits --------------------------------------------------------------------------------------------------
class WmVisitRecordSerializer(serializers.Serializer):
    reached = serializers.BooleanField(help_text="是否联系上客户；false 记一次未接通")
    understood_product = serializers.BooleanField(required=False, allow_null=True, default=None)
    understood_risk = serializers.BooleanField(required=False, allow_null=True, default=None)
    voluntary = serializers.BooleanField(required=False, allow_null=True, default=None)
    received_documents = serializers.BooleanField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="",
                                  help_text="回访记录；发现问题时必填")


# ---- Qualified investors --------------------------------------------------------------------------------------------
class WmQualifiedInvestorSerializer(serializers.ModelSerializer):
    verified_by_name = serializers.CharField(source="verified_by.name", read_only=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = QualifiedInvestor
        fields = ["id", "customer_id", "basis", "experience_years", "evidence", "verified_by_id", "verified_by_name",
                  "verified_at", "valid_until", "revoked_at", "current"]
        read_only_fields = fields

    def get_current(self, obj: QualifiedInvestor) -> bool:
        from django.utils import timezone

        return obj.revoked_at is None and obj.valid_until >= timezone.localdate()


class WmCertifySerializer(serializers.Serializer):
    basis = serializers.ChoiceField(choices=QualifiedInvestor.Basis.choices)
    experience_years = serializers.IntegerField(min_value=0, max_value=80)
    evidence = serializers.CharField(max_length=200, help_text="证明材料（如资产证明、纳税记录的编号）")


# ---- Assets under management ----------------------------------------------------------------------------------------
class WmAumPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    deposits_fen = serializers.IntegerField(help_text=FEN)
    wealth_fen = serializers.IntegerField(help_text=FEN)
    total_fen = serializers.IntegerField(help_text=FEN)
    customers = serializers.IntegerField()


class WmAumTierSerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=[("mass", "mass"), ("affluent", "affluent"), ("private", "private")])
    label = serializers.CharField()
    customers = serializers.IntegerField()
    total_fen = serializers.IntegerField(help_text=FEN)


class WmAumManagerSerializer(serializers.Serializer):
    manager_id = serializers.IntegerField()
    name = serializers.CharField()
    customers = serializers.IntegerField()
    deposits_fen = serializers.IntegerField(help_text=FEN)
    wealth_fen = serializers.IntegerField(help_text=FEN)
    total_fen = serializers.IntegerField(help_text=FEN)


class WmAumBranchSerializer(serializers.Serializer):
    branch_path = serializers.CharField()
    name = serializers.CharField()
    customers = serializers.IntegerField()
    deposits_fen = serializers.IntegerField(help_text=FEN)
    wealth_fen = serializers.IntegerField(help_text=FEN)
    total_fen = serializers.IntegerField(help_text=FEN)


class WmAumSerializer(serializers.Serializer):
    day = serializers.DateField(allow_null=True, help_text="统计日（默认最近一次快照日；尚无快照时为 null）")
    by_tier = WmAumTierSerializer(many=True)
    by_manager = WmAumManagerSerializer(many=True)
    by_branch = WmAumBranchSerializer(many=True)
    trend = WmAumPointSerializer(many=True)


class WmCustomerAumPointSerializer(serializers.Serializer):
    day = serializers.DateField()
    deposits_fen = serializers.IntegerField(help_text=FEN)
    wealth_fen = serializers.IntegerField(help_text=FEN)
    total_fen = serializers.IntegerField(help_text=FEN)
    tier = serializers.CharField()


class WmCustomerAumSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    history = WmCustomerAumPointSerializer(many=True)
