"""Products, accounts and the double-entry journal (DOMAIN_RULES §7; ARCHITECTURE.md §4 "Money").

Money is integer minor units (``*_fen``) with a currency code. Every account keeps its balance on its *normal side*
(a deposit account is a liability: credits increase it; a cash box is an asset: debits increase it), so balances read
the way staff expect. A journal entry has postings whose debits equal their credits, per currency; postings and
entries are immutable (a trigger refuses UPDATE and DELETE); a correction is a reversal that points to the original.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, pii
from bankcrm.core.fields import BlindIndexField, EncryptedTextField
from bankcrm.core.masking import mask_card

P, S = pii.PiiClass, pii.Sensitivity
pii.declare("ledger.Account.number", P.ENCRYPTED, S.C2, "card", "账号")
pii.declare("ledger.JournalEntry.counterparty_account", P.ENCRYPTED, S.C2, "card", "对方账号")
pii.declare("ledger.JournalEntry.counterparty_name", P.SCOPED, S.C1, "name", "对方户名")

CURRENCIES = [("CNY", _("人民币")), ("USD", _("美元"))]


class FxRate(models.Model):
    """CNY per one unit of ``currency`` (middle rate, 6 decimals as an integer), effective from a business date."""

    currency = models.CharField(_("币种"), max_length=3, choices=CURRENCIES)
    rate_micro = models.BigIntegerField(_("汇率（×10⁻⁶）"))
    effective_date = models.DateField(_("生效日期"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_date", "currency"]
        constraints = [models.UniqueConstraint(fields=["currency", "effective_date"], name="fx_rate_once_per_day")]
        verbose_name = _("汇率")


class Product(models.Model):
    """A deposit or wealth product, or the product of the bank's internal accounts."""

    class Kind(models.TextChoices):
        DEMAND = "demand", _("活期存款")
        TIME = "time", _("定期存款")
        WEALTH = "wealth", _("理财产品")
        INTERNAL = "internal", _("内部账户")

    code = models.CharField(_("产品代码"), max_length=20, unique=True)
    name = models.CharField(_("产品名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    kind = models.CharField(_("产品类型"), max_length=10, choices=Kind.choices)
    currency = models.CharField(_("币种"), max_length=3, choices=CURRENCIES, default="CNY")
    risk_level = models.PositiveSmallIntegerField(_("风险等级"), default=0, help_text=_("理财产品 R1–R5；存款为 0"))
    term_months = models.PositiveSmallIntegerField(_("期限（月）"), default=0)
    overdraft_limit_fen = models.BigIntegerField(_("透支额度"), default=0)
    min_opening_fen = models.BigIntegerField(_("起存金额"), default=0)
    active = models.BooleanField(_("在售"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(risk_level__gte=0, risk_level__lte=5), name="product_risk_level_0_5"),
            models.CheckConstraint(condition=Q(overdraft_limit_fen__gte=0), name="product_overdraft_not_negative"),
        ]
        verbose_name = _("产品")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def display_name(self) -> str:
        """The name in the reader's language (English when the page is in English and there is one)."""
        from django.utils.translation import get_language

        return self.name_en if self.name_en and (get_language() or "").startswith("en") else self.name


class ProductRate(models.Model):
    """Annual interest rate of a product in basis points (1.35% = 135), in force from ``effective_from``."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="rates")
    rate_bp = models.PositiveIntegerField(_("年利率（基点）"))
    effective_from = models.DateField(_("生效日期"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")

    class Meta:
        ordering = ["product", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["product", "effective_from"], name="product_rate_once_per_day")]


class AccountQuerySet(models.QuerySet):
    def visible_to(self, actor) -> AccountQuerySet:
        """Customer accounts follow the customer's scope (customer managers: the customers they manage); internal
        accounts and cash boxes are visible to staff of the branch subtree who may view internal accounts."""
        from bankcrm.customers.models import Customer

        if not getattr(actor, "is_authenticated", False) or not access.can(actor, "ledger.view"):
            return self.none()
        # EXISTS per account row, not "customer IN (every visible customer)": the latter makes PostgreSQL scan the
        # whole customer table on each account read (149 ms at 200,000 customers, measured for P1).
        visible = Q(Exists(Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"))))
        if access.can(actor, "ledger.view_internal"):
            visible |= Q(kind=Account.Kind.INTERNAL) & access.branch_scope_q(actor, "branch_path")
        return self.filter(visible)


class Account(models.Model):
    """A customer account or an internal account (cash box, clearing, suspense, interest expense).

    ``balance_fen`` is on the account's normal side and never goes below ``-overdraft_limit_fen`` (internal accounts
    that may run either way have ``allow_negative``). Balance changes are single conditional UPDATEs under row locks
    taken in primary-key order (services.post_entry)."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("客户账户")
        INTERNAL = "internal", _("内部账户")

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常")
        DORMANT = "dormant", _("休眠")
        FROZEN = "frozen", _("冻结")
        CLOSED = "closed", _("已销户")

    class Side(models.TextChoices):
        DEBIT = "D", _("借方")
        CREDIT = "C", _("贷方")

    class Internal(models.TextChoices):
        CASH = "cash", _("柜员尾箱")
        CLEARING = "clearing", _("清算往来")
        SUSPENSE = "suspense", _("待处理挂账")
        INTEREST = "interest", _("利息支出")
        FX = "fx", _("外汇买卖")
        WEALTH = "wealth", _("代销理财资金清算")

    class Maturity(models.TextChoices):
        ROLLOVER = "rollover", _("本息自动转存")
        PRINCIPAL_ROLLOVER = "principal", _("本金转存、利息转出")
        PAYOUT = "payout", _("到期转入结算账户")

    number = EncryptedTextField(_("账号"))
    number_bidx = BlindIndexField(source="number", purpose="ledger.account_number", unique=True, db_index=False)
    kind = models.CharField(_("账户类别"), max_length=8, choices=Kind.choices, default=Kind.CUSTOMER)
    internal_code = models.CharField(_("内部账户用途"), max_length=10, choices=Internal.choices, blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="accounts", verbose_name=_("客户"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("产品"))
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("开户机构"))
    branch_path = models.CharField(max_length=255, db_index=True)
    teller = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="cash_boxes", verbose_name=_("柜员"))
    currency = models.CharField(_("币种"), max_length=3, choices=CURRENCIES, default="CNY")
    normal_side = models.CharField(max_length=1, choices=Side.choices, default=Side.CREDIT)
    allow_negative = models.BooleanField(default=False)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    balance_fen = models.BigIntegerField(_("余额"), default=0)
    overdraft_limit_fen = models.BigIntegerField(_("透支额度"), default=0)
    # Sum of the account's active holds (AccountHold): money that stays on the account but cannot be paid out.
    held_fen = models.BigIntegerField(_("冻结（预留）金额"), default=0)
    title = models.CharField(_("账户名称"), max_length=100)
    opened_at = models.DateTimeField(_("开户时间"))
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    closed_at = models.DateTimeField(_("销户时间"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("最近客户交易"), null=True, blank=True, db_index=True)
    status_reason = models.CharField(_("状态原因"), max_length=200, blank=True)
    # Time deposits
    start_date = models.DateField(_("起息日"), null=True, blank=True)
    maturity_date = models.DateField(_("到期日"), null=True, blank=True, db_index=True)
    maturity_instruction = models.CharField(_("到期处理"), max_length=10, choices=Maturity.choices, blank=True)
    payout_account = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("到期转入账户"))
    # Interest accrued but not yet posted, in 10⁻⁶ fen (daily accruals are fractions of a fen).
    accrued_interest_micro = models.BigIntegerField(default=0)
    accrued_through = models.DateField(null=True, blank=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["customer", "status"], name="account_customer_status")]
        constraints = [
            models.CheckConstraint(condition=Q(allow_negative=True) | Q(balance_fen__gte=-models.F("overdraft_limit_fen")),
                                   name="account_balance_within_overdraft"),
            models.UniqueConstraint(fields=["teller", "currency"], condition=Q(internal_code="cash"),
                                    name="one_cash_box_per_teller_currency"),
            models.CheckConstraint(condition=Q(held_fen__gte=0), name="account_held_not_negative"),
        ]
        verbose_name = _("账户")

    def __str__(self) -> str:
        return f"{self.masked_number} {self.title}"

    def audit_repr(self) -> str:
        return f"{self.masked_number} {self.get_kind_display()}"

    @property
    def masked_number(self) -> str:
        return mask_card(self.number)

    @property
    def available_fen(self) -> int:
        return self.balance_fen + self.overdraft_limit_fen - self.held_fen


class AccountHold(models.Model):
    """Money reserved on a customer account for a pending purpose (a wealth subscription in its cooling-off period):
    it stays on the account and earns interest, but withdrawals and transfers cannot touch it. A hold ends once,
    either released (the money is free again) or captured (released and paid out by one posting, in one
    transaction). ``ref`` names what it is for and is unique, so a retried request never holds twice."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("冻结中")
        RELEASED = "released", _("已解冻")
        CAPTURED = "captured", _("已扣划")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds", verbose_name=_("账户"))
    amount_fen = models.BigIntegerField(_("金额"))
    currency = models.CharField(_("币种"), max_length=3, choices=CURRENCIES, default="CNY")
    purpose = models.CharField(_("用途"), max_length=60)
    ref = models.CharField(_("业务编号"), max_length=64, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    placed_at = models.DateTimeField(_("冻结时间"))
    ended_at = models.DateTimeField(_("解冻/扣划时间"), null=True, blank=True)
    end_reason = models.CharField(_("解冻/扣划原因"), max_length=200, blank=True)
    entry = models.ForeignKey("JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("扣划交易"))

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(condition=Q(status="active", ended_at__isnull=True)
                                   | (~Q(status="active") & Q(ended_at__isnull=False)), name="hold_end_consistent"),
            models.CheckConstraint(condition=~Q(status="captured") | Q(entry__isnull=False), name="hold_capture_has_entry"),
        ]
        verbose_name = _("资金冻结（预留）")

    def __str__(self) -> str:
        return f"{self.ref} {self.amount_fen}"


class LimitRule(models.Model):
    """Per-transaction and per-day debit limits by channel and customer type (CNY-equivalent). Changed only through
    maker-checker (`ledger.limit_change`)."""

    class Channel(models.TextChoices):
        COUNTER = "counter", _("柜面")
        API = "api", _("开放接口")
        BATCH = "batch", _("批量")

    channel = models.CharField(_("渠道"), max_length=8, choices=Channel.choices)
    customer_kind = models.CharField(_("客户类型"), max_length=8, choices=[("person", _("个人客户")), ("company", _("单位客户"))])
    per_txn_fen = models.BigIntegerField(_("单笔限额"))
    per_day_fen = models.BigIntegerField(_("日累计限额"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel", "customer_kind"]
        constraints = [models.UniqueConstraint(fields=["channel", "customer_kind"], name="limit_rule_once")]
        verbose_name = _("交易限额")


class DailyDebit(models.Model):
    """Running total of customer debits per account, business date and channel, for the per-day limit (one UPSERT
    per transfer instead of summing the day's postings)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField()
    channel = models.CharField(max_length=8)
    total_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "business_date", "channel"], name="daily_debit_once")]


class JournalEntry(models.Model):
    """One business transaction: a deposit, withdrawal, transfer, reversal, interest or maturity posting.

    Immutable (trigger). ``reversal_of`` is unique, so an entry can be reversed once; whether an entry has been
    reversed is read from its reversal, never written back onto it."""

    class Kind(models.TextChoices):
        CASH_DEPOSIT = "cash_in", _("现金存入")
        CASH_WITHDRAWAL = "cash_out", _("现金支取")
        INTERNAL = "internal", _("行内转账")
        OUTWARD = "outward", _("跨行汇出")
        REVERSAL = "reversal", _("冲正")
        INTEREST = "interest", _("结息")
        MATURITY = "maturity", _("到期处理")
        OPENING = "opening", _("开户存入")
        CLOSING = "closing", _("销户结清")
        WEALTH_BUY = "wm_buy", _("理财认购/申购")
        WEALTH_REDEEM = "wm_redeem", _("理财赎回")
        WEALTH_PAYOUT = "wm_payout", _("理财到期兑付/收益分配")

    kind = models.CharField(_("交易类型"), max_length=10, choices=Kind.choices)
    channel = models.CharField(_("渠道"), max_length=8, default="counter")
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    amount_fen = models.BigIntegerField(_("金额"))
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("借方账户"))
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("贷方账户"))
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("客户"))
    branch_path = models.CharField(max_length=255, db_index=True)
    reversal_of = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="reversed_by", verbose_name=_("冲正原交易"))
    maker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", verbose_name=_("经办"))
    checker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("复核"))
    approval_id = models.BigIntegerField(null=True, blank=True)
    counterparty_bank = models.CharField(_("对方银行"), max_length=100, blank=True)
    counterparty_name = models.CharField(_("对方户名"), max_length=100, blank=True)
    counterparty_account = EncryptedTextField(_("对方账号"), blank=True, default="")
    cross_border = models.BooleanField(_("跨境"), default=False)
    counterparty_country = models.CharField(_("对方国家/地区"), max_length=2, blank=True)
    memo = models.CharField(_("摘要"), max_length=100, blank=True)
    business_date = models.DateField(_("会计日期"), db_index=True)
    posted_at = models.DateTimeField(_("记账时间"), db_index=True)

    class Meta:
        ordering = ["-posted_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="entry_amount_positive")]
        verbose_name = _("交易")

    def __str__(self) -> str:
        return self.txn_no

    @property
    def txn_no(self) -> str:
        """Printed transaction number: business date + the entry id (no extra sequence row to lock per posting)."""
        return txn_no(self.business_date, self.pk)

    def audit_repr(self) -> str:
        return f"{self.txn_no} {self.get_kind_display()}"


def txn_no(business_date, pk: int) -> str:
    return f"{business_date:%Y%m%d}{pk:010d}"


def parse_txn_no(value: str) -> int | None:
    value = (value or "").strip()
    return int(value[8:]) if len(value) == 18 and value.isdigit() else None


class Posting(models.Model):
    """One leg of a journal entry on one account. Immutable (trigger)."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    side = models.CharField(max_length=1, choices=Account.Side.choices)
    amount_fen = models.BigIntegerField()
    balance_after_fen = models.BigIntegerField()
    business_date = models.DateField()
    posted_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "business_date", "id"], name="posting_account_date")]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="posting_amount_positive")]


class InterestAccrual(models.Model):
    """One day's accrual on one account; the unique key makes the nightly job idempotent per business date."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField()
    rate_bp = models.PositiveIntegerField()
    balance_fen = models.BigIntegerField()
    amount_micro = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "business_date"], name="accrual_once_per_day")]


class CashCount(models.Model):
    """End-of-day count of a teller's cash box by denomination, against the ledger's expected balance."""

    class Status(models.TextChoices):
        BALANCED = "balanced", _("账实相符")
        DIFFERENCE = "difference", _("账实不符（已上报）")

    cash_box = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="counts", verbose_name=_("尾箱"))
    business_date = models.DateField(_("会计日期"))
    denominations = models.JSONField(_("券别明细"), default=dict)
    counted_fen = models.BigIntegerField(_("实点金额"))
    expected_fen = models.BigIntegerField(_("账面金额"))
    difference_fen = models.BigIntegerField(_("差额"))
    status = models.CharField(_("结果"), max_length=10, choices=Status.choices)
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("清点人"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    counted_at = models.DateTimeField(_("清点时间"))

    class Meta:
        ordering = ["-business_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["cash_box", "business_date"], name="one_count_per_box_day")]
        verbose_name = _("尾箱轧账")
