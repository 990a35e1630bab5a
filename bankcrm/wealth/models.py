"""Solutions and wealth growth (DOMAIN_RULES.md §4; issue #6).

- ``WealthProduct``: the product shelf — bank wealth-management products, funds and insurance sold as agent, time
  deposits — with issuer, risk level R1–R5 (deposits: none), minimum amount, term, fees, sales period, whether private
  (qualified investors only) and documents. Put on and taken off the shelf through maker-checker (approvals).
- ``ProductNav``: net asset value per product and day (units × NAV is what a holding is worth).
- ``QualifiedInvestor``: the qualified-investor test a private product needs (basis, evidence, valid until).
- ``Sale``: one subscription from proposal to settlement, with all its evidence in one row: who proposed it and
  whether the customer asked, the point-of-sale check's result, the risk-disclosure confirmation, the 双录 recording
  reference, the hold on the customer's account, cooling-off, settlement entry, cancellation. Database constraints
  make a settled sale without its evidence impossible.
- ``Holding``: units of a product held by a customer; ``Redemption`` and ``Payout`` (maturity and income
  distribution) move money back through the ledger.
- ``ReturnVisit``: the after-sale call (回访) by someone other than the seller.
- ``AumSnapshot``: assets under management per customer per day (deposits + wealth at market value), the basis of
  history charts and value tiers.

Money is in fen (BigInteger). Units are in hundredths (``units_x100``), NAVs in ten-thousandths (``nav_x10000``):
value in fen = units_x100 × nav_x10000 ÷ 10000 (one unit at NAV 1.0000 is one yuan).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

NAV_ONE = 10_000  # NAV 1.0000


class WealthProduct(models.Model):
    class Kind(models.TextChoices):
        WEALTH = "wealth", _("银行理财")
        FUND = "fund", _("公募基金（代销）")
        INSURANCE = "insurance", _("保险（代理）")
        DEPOSIT = "deposit", _("定期存款")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PENDING_ON = "pending_on", _("上架待复核")
        ON_SHELF = "on_shelf", _("在售")
        PENDING_OFF = "pending_off", _("下架待复核")
        OFF_SHELF = "off_shelf", _("已下架")

    code = models.CharField(_("产品代码"), max_length=20, unique=True)
    name = models.CharField(_("产品名称"), max_length=80)
    name_en = models.CharField(_("英文名称"), max_length=120, blank=True)
    kind = models.CharField(_("产品类型"), max_length=10, choices=Kind.choices)
    issuer = models.CharField(_("发行机构"), max_length=80)
    risk_level = models.PositiveSmallIntegerField(_("风险等级"), default=0, help_text=_("R1–R5；定期存款为 0（不评级）"))
    currency = models.CharField(_("币种"), max_length=3, default="CNY")
    min_amount_fen = models.BigIntegerField(_("起购金额"), default=100_000)
    step_fen = models.BigIntegerField(_("递增金额"), default=100)
    term_days = models.PositiveIntegerField(_("期限（天）"), default=0, help_text=_("0 为开放式（可随时赎回）"))
    open_ended = models.BooleanField(_("开放式（可赎回）"), default=True)
    subscribe_fee_bp = models.PositiveIntegerField(_("认/申购费率（基点）"), default=0)
    redeem_fee_bp = models.PositiveIntegerField(_("赎回费率（基点）"), default=0)
    management_fee_bp = models.PositiveIntegerField(_("管理费率（年，基点）"), default=0)
    benchmark_bp = models.PositiveIntegerField(_("业绩比较基准（年，基点）"), default=0)
    sales_start = models.DateField(_("销售起始日"))
    sales_end = models.DateField(_("销售截止日"), null=True, blank=True)
    maturity_date = models.DateField(_("到期日"), null=True, blank=True)
    private = models.BooleanField(_("私募（仅合格投资者）"), default=False)
    ledger_product = models.ForeignKey("ledger.Product", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+", verbose_name=_("对应存款产品"))
    description = models.TextField(_("产品说明书"), blank=True)
    risk_disclosure = models.TextField(_("风险揭示书"), blank=True)
    documents_version = models.PositiveIntegerField(_("文件版本"), default=1)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "risk_level", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(risk_level__gte=0, risk_level__lte=5), name="wealth_product_level_0_5"),
            models.CheckConstraint(condition=Q(kind="deposit") | Q(risk_level__gte=1), name="wealth_product_rated"),
            models.CheckConstraint(condition=Q(min_amount_fen__gt=0, step_fen__gt=0), name="wealth_product_amounts"),
            models.CheckConstraint(condition=Q(sales_end__isnull=True) | Q(sales_end__gte=models.F("sales_start")),
                                   name="wealth_product_sales_period"),
        ]
        verbose_name = _("理财产品")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def audit_repr(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def level_label(self) -> str:
        return f"R{self.risk_level}" if self.risk_level else "—"

    @property
    def suitability_kind(self) -> str:
        """The product kind the suitability rules know (risk.rules_suitability.PRODUCT_KINDS)."""
        return "private" if self.private else self.kind

    @property
    def nav_based(self) -> bool:
        return self.kind in (self.Kind.WEALTH, self.Kind.FUND)


class ProductNav(models.Model):
    product = models.ForeignKey(WealthProduct, on_delete=models.PROTECT, related_name="navs")
    nav_date = models.DateField(_("净值日期"))
    nav_x10000 = models.PositiveIntegerField(_("单位净值（×10⁻⁴）"))
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-nav_date"]
        constraints = [
            models.UniqueConstraint(fields=["product", "nav_date"], name="one_nav_per_product_day"),
            models.CheckConstraint(condition=Q(nav_x10000__gt=0), name="nav_positive"),
        ]
        verbose_name = _("产品净值")


class QualifiedInvestor(models.Model):
    """The qualified-investor test (资管新规: financial assets ≥ CNY 3 million or average annual income ≥ CNY 400,000
    over three years, and two years' investment experience; companies: net assets ≥ CNY 10 million)."""

    class Basis(models.TextChoices):
        ASSETS = "assets", _("家庭金融资产不低于500万元或金融净资产不低于300万元")
        INCOME = "income", _("近3年本人年均收入不低于40万元")
        COMPANY = "company", _("单位：最近1年末净资产不低于1000万元")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    basis = models.CharField(_("认定依据"), max_length=10, choices=Basis.choices)
    experience_years = models.PositiveSmallIntegerField(_("投资经历（年）"), default=0)
    evidence = models.CharField(_("证明材料"), max_length=200)
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(_("认定时间"))
    valid_until = models.DateField(_("有效期至"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        ordering = ["-verified_at"]
        indexes = [models.Index(fields=["customer", "valid_until"], name="qualified_customer_valid")]
        verbose_name = _("合格投资者认定")


class Sale(models.Model):
    """One subscription. Lifecycle: ``proposed`` → (disclosure confirmed, funds held) ``held`` → ``settled``; a held
    sale may be ``cancelled`` (free, the hold released) until it settles — for a private product that is the 24-hour
    cooling-off period, which settlement waits for. A proposal may also be ``withdrawn`` before confirmation."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待客户确认")
        HELD = "held", _("资金已冻结")
        SETTLED = "settled", _("已成交")
        CANCELLED = "cancelled", _("已撤销（冷静期）")
        WITHDRAWN = "withdrawn", _("已撤回")

    OPEN = (Status.PROPOSED, Status.HELD)

    number = models.CharField(_("销售编号"), max_length=24, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("客户"))
    product = models.ForeignKey(WealthProduct, on_delete=models.PROTECT, related_name="sales", verbose_name=_("产品"))
    account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("扣款账户"))
    amount_fen = models.BigIntegerField(_("认购金额"))
    fee_fen = models.BigIntegerField(_("认购费"), default=0)
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("销售人员"))
    branch_path = models.CharField(max_length=255, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    # Proposal
    customer_initiated = models.BooleanField(_("客户主动购买"), default=False)
    proposed_at = models.DateTimeField(_("推介时间"))
    # The point-of-sale check as it stood at proposal and again at confirmation (Decision.as_dict + wealth rules)
    check_result = models.JSONField(_("推介时校验结果"), default=dict)
    confirm_check = models.JSONField(_("确认时校验结果"), default=dict, blank=True)
    investor_level = models.PositiveSmallIntegerField(_("客户风险等级"), null=True, blank=True)
    product_level = models.PositiveSmallIntegerField(_("产品风险等级"), default=0)
    assessment_id = models.BigIntegerField(_("适用的风险评估"), null=True, blank=True)
    enhanced_disclosure = models.BooleanField(_("须加强风险揭示"), default=False)
    recording_required = models.BooleanField(_("须双录"), default=False)
    qualified_investor_id = models.BigIntegerField(_("合格投资者认定"), null=True, blank=True)
    # Confirmation
    disclosure_confirmed_at = models.DateTimeField(_("风险揭示确认时间"), null=True, blank=True)
    disclosure_version = models.PositiveIntegerField(_("风险揭示书版本"), null=True, blank=True)
    disclosure_method = models.CharField(_("确认方式"), max_length=20, blank=True)
    recording_id = models.CharField(_("双录编号"), max_length=40, blank=True)
    recording_booth = models.CharField(_("双录区"), max_length=40, blank=True)
    recorded_at = models.DateTimeField(_("录制时间"), null=True, blank=True)
    hold_ref = models.CharField(_("资金冻结编号"), max_length=64, blank=True)
    cooling_off_ends_at = models.DateTimeField(_("冷静期截止"), null=True, blank=True, db_index=True)
    # Settlement / cancellation
    settled_at = models.DateTimeField(_("成交时间"), null=True, blank=True)
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("扣款交易"))
    nav_x10000 = models.PositiveIntegerField(_("成交净值"), null=True, blank=True)
    units_x100 = models.BigIntegerField(_("确认份额"), null=True, blank=True)
    deposit_account = models.ForeignKey("ledger.Account", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("定期存款账户"))
    ended_at = models.DateTimeField(_("撤销/撤回时间"), null=True, blank=True)
    end_reason = models.CharField(_("撤销/撤回原因"), max_length=200, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    settle_error = models.CharField(_("最近一次结算失败原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]
        indexes = [models.Index(fields=["customer", "status"], name="sale_customer_status"),
                   models.Index(fields=["seller", "status"], name="sale_seller_status"),
                   models.Index(fields=["status", "cooling_off_ends_at"], name="sale_due_settlement")]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="sale_amount_positive"),
            # A sale past its proposal carries its disclosure confirmation and its hold…
            models.CheckConstraint(condition=Q(status__in=["proposed", "withdrawn"])
                                   | (Q(disclosure_confirmed_at__isnull=False) & ~Q(hold_ref="")),
                                   name="sale_confirmed_has_disclosure_and_hold"),
            # …its 双录 reference when one was required…
            models.CheckConstraint(condition=Q(status__in=["proposed", "withdrawn"]) | Q(recording_required=False)
                                   | (~Q(recording_id="") & ~Q(recording_booth="") & Q(recorded_at__isnull=False)),
                                   name="sale_recording_when_required"),
            # …and a settled sale its entry, after the end of any cooling-off period, at the investor's level.
            models.CheckConstraint(condition=~Q(status="settled")
                                   | (Q(entry__isnull=False) & Q(settled_at__isnull=False)
                                      & (Q(cooling_off_ends_at__isnull=True)
                                         | Q(settled_at__gte=models.F("cooling_off_ends_at")))),
                                   name="sale_settled_has_entry_after_cooling_off"),
            models.CheckConstraint(condition=Q(product_level=0)
                                   | Q(investor_level__isnull=False, investor_level__gte=models.F("product_level")),
                                   name="sale_investor_level_covers_product"),
        ]
        verbose_name = _("理财销售")

    def __str__(self) -> str:
        return self.number

    def audit_repr(self) -> str:
        return self.number

    @property
    def cancellable(self) -> bool:
        return self.status == self.Status.HELD


class Holding(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("持有中")
        CLOSED = "closed", _("已结清")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(WealthProduct, on_delete=models.PROTECT, related_name="holdings")
    branch_path = models.CharField(max_length=255, db_index=True)
    units_x100 = models.BigIntegerField(_("持有份额"), default=0)
    cost_fen = models.BigIntegerField(_("持仓成本"), default=0)
    payout_account = models.ForeignKey("ledger.Account", on_delete=models.PROTECT, related_name="+",
                                       verbose_name=_("回款账户"))
    deposit_account = models.ForeignKey("ledger.Account", null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", verbose_name=_("定期存款账户"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    opened_at = models.DateTimeField(_("首次买入"))
    closed_at = models.DateTimeField(_("结清时间"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(condition=Q(units_x100__gte=0, cost_fen__gte=0), name="holding_not_negative"),
            models.UniqueConstraint(fields=["customer", "product"], condition=Q(status="active") & Q(deposit_account=None),
                                    name="one_active_holding_per_product"),
        ]
        indexes = [models.Index(fields=["customer", "status"], name="holding_customer_status")]
        verbose_name = _("持仓")


class Redemption(models.Model):
    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="redemptions")
    units_x100 = models.BigIntegerField(_("赎回份额"))
    nav_x10000 = models.PositiveIntegerField(_("赎回净值"))
    gross_fen = models.BigIntegerField(_("赎回金额"))
    fee_fen = models.BigIntegerField(_("赎回费"))
    entry = models.ForeignKey("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("赎回时间"))

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(units_x100__gt=0), name="redemption_units_positive")]
        verbose_name = _("赎回")


class Payout(models.Model):
    """Money the product pays a holder: its income distribution (分红) or its maturity (到期兑付). One per holding
    and event key, so a job killed and re-run never pays twice."""

    class Kind(models.TextChoices):
        INCOME = "income", _("收益分配")
        MATURITY = "maturity", _("到期兑付")

    holding = models.ForeignKey(Holding, on_delete=models.PROTECT, related_name="payouts")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    event_key = models.CharField(max_length=40)
    amount_fen = models.BigIntegerField(_("金额"))
    entry = models.ForeignKey("ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["holding", "kind", "event_key"], name="one_payout_per_event")]
        verbose_name = _("兑付与分配")


class ReturnVisit(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待回访")
        DONE = "done", _("已完成")
        UNREACHABLE = "unreachable", _("无法联系")

    class Outcome(models.TextChoices):
        OK = "ok", _("无异议")
        PROBLEM = "problem", _("发现问题")

    sale = models.OneToOneField(Sale, on_delete=models.PROTECT, related_name="return_visit")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("回访人"))
    branch_path = models.CharField(max_length=255, db_index=True)
    due_on = models.DateField(_("回访期限"), db_index=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("联系次数"), default=0)
    understood_product = models.BooleanField(_("了解产品"), null=True)
    understood_risk = models.BooleanField(_("知晓风险"), null=True)
    voluntary = models.BooleanField(_("自愿购买"), null=True)
    received_documents = models.BooleanField(_("收到产品文件"), null=True)
    notes = models.TextField(_("回访记录"), blank=True)
    outcome = models.CharField(_("结论"), max_length=8, choices=Outcome.choices, blank=True)
    complaint_id = models.BigIntegerField(_("反馈工单"), null=True, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("回访")


class AumSnapshot(models.Model):
    """Assets under management of one customer at the end of one day (CNY fen): deposits (customer accounts' balances,
    USD at the day's rate) and wealth (holdings at their latest NAV, insurance at premium)."""

    day = models.DateField(_("日期"))
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    branch_path = models.CharField(max_length=255)
    manager_id = models.BigIntegerField(null=True, blank=True)
    deposits_fen = models.BigIntegerField(default=0)
    wealth_fen = models.BigIntegerField(default=0)
    total_fen = models.BigIntegerField(default=0)
    tier = models.CharField(_("客户层级"), max_length=10)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["customer", "day"], name="one_aum_per_customer_day")]
        indexes = [models.Index(fields=["day", "branch_path"], name="aum_day_branch"),
                   models.Index(fields=["day", "manager_id"], name="aum_day_manager")]
        verbose_name = _("客户资产快照")
