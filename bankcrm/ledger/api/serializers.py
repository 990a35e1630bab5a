"""Ledger API shapes. Account numbers and counterparties are masked; holders' names follow the viewer's masking."""

from __future__ import annotations

from rest_framework import serializers

from bankcrm.core import masking
from bankcrm.ledger.models import CURRENCIES, Account, CashCount, JournalEntry, LimitRule, Product


def _holder(obj: Account, viewer) -> str:
    if obj.customer_id is None:
        return obj.title
    name = obj.customer.name
    return masking.mask_name(name) if getattr(viewer, "sees_masked_names", True) else name


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["id", "code", "name", "name_en", "kind", "currency", "risk_level", "term_months",
                  "overdraft_limit_fen", "min_opening_fen", "active"]


class AccountSerializer(serializers.ModelSerializer):
    number = serializers.SerializerMethodField()
    holder = serializers.SerializerMethodField()
    product_code = serializers.CharField(source="product.code", read_only=True)
    available_fen = serializers.IntegerField(read_only=True)

    class Meta:
        model = Account
        fields = ["id", "number", "kind", "internal_code", "customer", "holder", "product", "product_code", "currency",
                  "status", "balance_fen", "overdraft_limit_fen", "available_fen", "opened_at", "closed_at",
                  "last_activity_at", "start_date", "maturity_date", "maturity_instruction", "branch"]
        read_only_fields = fields

    def get_number(self, obj: Account) -> str:
        return obj.masked_number

    def get_holder(self, obj: Account) -> str:
        return _holder(obj, getattr(self.context.get("request"), "user", None))


class AccountOpenSerializer(serializers.Serializer):
    customer = serializers.IntegerField()
    product = serializers.IntegerField()
    maturity_instruction = serializers.ChoiceField(choices=Account.Maturity.choices, required=False, default="")
    payout_account = serializers.IntegerField(required=False, allow_null=True, default=None)


class EntrySerializer(serializers.ModelSerializer):
    txn_no = serializers.CharField(read_only=True)
    counterparty_name = serializers.SerializerMethodField()
    counterparty_account = serializers.SerializerMethodField()
    reversed = serializers.SerializerMethodField()

    class Meta:
        model = JournalEntry
        fields = ["id", "txn_no", "kind", "channel", "currency", "amount_fen", "debit_account", "credit_account",
                  "customer", "reversal_of", "reversed", "maker", "checker", "counterparty_bank", "counterparty_name",
                  "counterparty_account", "cross_border", "counterparty_country", "memo", "business_date", "posted_at"]
        read_only_fields = fields

    def get_counterparty_name(self, obj: JournalEntry) -> str:
        return masking.mask_name(obj.counterparty_name) if obj.counterparty_name else ""

    def get_counterparty_account(self, obj: JournalEntry) -> str:
        return masking.mask_card(obj.counterparty_account) if obj.counterparty_account else ""

    def get_reversed(self, obj: JournalEntry) -> bool:
        return bool(getattr(obj, "is_reversed", False))


class MovementSerializer(serializers.Serializer):
    """A money command. ``amount`` is a decimal string in the account's currency ("50000.00")."""

    kind = serializers.ChoiceField(choices=["cash_in", "cash_out", "internal", "outward"])
    account = serializers.CharField(help_text="账户 id 或 19 位账号（转出/存取账户）")
    amount = serializers.CharField()
    to_account = serializers.CharField(required=False, allow_blank=True, default="", help_text="行内转账的转入账户")
    counterparty_bank = serializers.CharField(required=False, allow_blank=True, default="")
    counterparty_name = serializers.CharField(required=False, allow_blank=True, default="")
    counterparty_account = serializers.CharField(required=False, allow_blank=True, default="")
    cross_border = serializers.BooleanField(required=False, default=False)
    counterparty_country = serializers.CharField(required=False, allow_blank=True, default="")
    memo = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class CommandResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    entry_id = serializers.IntegerField(required=False)
    txn_no = serializers.CharField(required=False)
    approval_id = serializers.IntegerField(required=False)
    amount_fen = serializers.IntegerField(required=False)
    currency = serializers.CharField(required=False)
    account_id = serializers.IntegerField(required=False)


class LedgerReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class CloseSerializer(serializers.Serializer):
    payout = serializers.ChoiceField(choices=["cash", "transfer"], required=False, default="cash")
    to_account = serializers.IntegerField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CashCountSerializer(serializers.ModelSerializer):
    class Meta:
        model = CashCount
        fields = ["id", "cash_box", "business_date", "denominations", "counted_fen", "expected_fen", "difference_fen",
                  "status", "counted_by", "note", "counted_at"]
        read_only_fields = fields


class CashCountCreateSerializer(serializers.Serializer):
    denominations = serializers.DictField(child=serializers.IntegerField(min_value=0))
    currency = serializers.ChoiceField(choices=CURRENCIES, required=False, default="CNY")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class LimitSerializer(serializers.ModelSerializer):
    class Meta:
        model = LimitRule
        fields = ["id", "channel", "customer_kind", "per_txn_fen", "per_day_fen", "updated_at"]
        read_only_fields = fields


class LimitChangeSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=LimitRule.Channel.choices)
    customer_kind = serializers.ChoiceField(choices=["person", "company"])
    per_txn_fen = serializers.IntegerField(min_value=1)
    per_day_fen = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=200)


class StatementRowSerializer(serializers.Serializer):
    entry = serializers.IntegerField(source="entry_id")
    txn_no = serializers.CharField(source="entry.txn_no")
    kind = serializers.CharField(source="entry.kind")
    side = serializers.CharField()
    amount_fen = serializers.IntegerField()
    balance_after_fen = serializers.IntegerField()
    business_date = serializers.DateField()
    posted_at = serializers.DateTimeField()
    memo = serializers.CharField(source="entry.memo")


class StatementSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account.pk")
    start = serializers.DateField()
    end = serializers.DateField()
    opening_fen = serializers.IntegerField()
    closing_fen = serializers.IntegerField()
    credits_fen = serializers.IntegerField()
    debits_fen = serializers.IntegerField()
    rows = StatementRowSerializer(many=True)


class FxRateSerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=[("USD", "USD")])
    rate_micro = serializers.IntegerField(min_value=1, help_text="1 外币折合人民币 ×10⁶（7.12 → 7120000）")
    effective_date = serializers.DateField()


class ProductRateSerializer(serializers.Serializer):
    rate_bp = serializers.IntegerField(min_value=0, max_value=10_000, help_text="年利率，基点（1.35% → 135）")
    effective_from = serializers.DateField()
