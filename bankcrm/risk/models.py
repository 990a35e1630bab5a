"""Risk management (DOMAIN_RULES.md §3 and §4): investor suitability, AML customer risk rating and due diligence,
transaction-monitoring rules as data, alerts with their evidence, cases, watch lists and regulatory reports.

Each customer has one ``RiskProfile`` row: the current AML level, suitability level and their due dates, kept by the
services so that lists, dashboards and the 360 page read one row instead of the history tables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from bankcrm.core import pii
from bankcrm.core.fields import EncryptedTextField

LEVELS = [(1, "C1"), (2, "C2"), (3, "C3"), (4, "C4"), (5, "C5")]


class AmlLevel(models.TextChoices):
    LOW = "low", _("低风险")
    MEDIUM = "medium", _("中风险")
    HIGH = "high", _("高风险")


AML_ORDER = {AmlLevel.LOW: 1, AmlLevel.MEDIUM: 2, AmlLevel.HIGH: 3}


class RiskProfile(models.Model):
    """The customer's current risk picture (one row per customer, written only by risk services)."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="risk_profile",
                                    primary_key=True)
    branch_path = models.CharField(max_length=255, db_index=True)
    aml_level = models.CharField(_("洗钱风险等级"), max_length=8, choices=AmlLevel.choices, blank=True)
    aml_rated_at = models.DateTimeField(_("最近评级时间"), null=True, blank=True)
    aml_rating_due_on = models.DateField(_("首次评级截止日"), null=True, blank=True, db_index=True)
    aml_review_due_on = models.DateField(_("下次复评日"), null=True, blank=True, db_index=True)
    suitability_level = models.PositiveSmallIntegerField(_("风险承受能力"), null=True, blank=True, choices=LEVELS)
    suitability_valid_until = models.DateField(_("评估有效期至"), null=True, blank=True, db_index=True)
    suitability_reminded_on = models.DateField(null=True, blank=True)
    open_alerts = models.PositiveIntegerField(_("未结预警"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("客户风险概况")


# ---- Suitability ----------------------------------------------------------------------------------------------------
class Questionnaire(models.Model):
    """A versioned risk-tolerance questionnaire. ``questions``: [{code, text, text_en, options: [{code, text, text_en,
    score}]}]; ``bands``: [[max_score, level], ...] ascending. Published versions are never edited: a change is a new
    version."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        ACTIVE = "active", _("启用")
        RETIRED = "retired", _("停用")

    code = models.CharField(_("问卷代码"), max_length=20)
    version = models.PositiveIntegerField(_("版本"))
    title = models.CharField(_("标题"), max_length=100)
    title_en = models.CharField(_("英文标题"), max_length=120, blank=True)
    questions = models.JSONField(_("题目"), default=list)
    bands = models.JSONField(_("分数段"), default=list)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True)
    effective_from = models.DateField(_("生效日期"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="questionnaire_version_once")]
        verbose_name = _("风险承受能力问卷")

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class SuitabilityAssessment(models.Model):
    """One completed questionnaire: the answers as given, the score and the investor level (C1–C5)."""

    class Status(models.TextChoices):
        CURRENT = "current", _("有效")
        SUPERSEDED = "superseded", _("已被替代")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="suitability_assessments")
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.PROTECT, related_name="assessments")
    answers = models.JSONField(_("答案"), default=dict)
    score = models.PositiveIntegerField(_("得分"))
    level = models.PositiveSmallIntegerField(_("风险承受能力"), choices=LEVELS)
    face_to_face = models.BooleanField(_("网点面签"), default=False)
    first_time = models.BooleanField(_("首次评估"), default=False)
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+")
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(_("评估时间"))
    valid_until = models.DateField(_("有效期至"))
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CURRENT, db_index=True)

    class Meta:
        ordering = ["-assessed_at", "-id"]
        verbose_name = _("风险承受能力评估")


# ---- AML customer risk rating and due diligence --------------------------------------------------------------------
class RatingModel(models.Model):
    """A versioned factor model. ``factors``: {factor: {"weight": int, "values": {value: points}, "default": points}};
    ``thresholds``: {"high": min_score, "medium": min_score}."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    factors = models.JSONField(_("因子"), default=dict)
    thresholds = models.JSONField(_("等级分界"), default=dict)
    effective_from = models.DateField(_("生效日期"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("洗钱风险评级模型")


class RiskRating(models.Model):
    """One AML rating of a customer: level, score, the factor-by-factor reasons and the rationale."""

    class Trigger(models.TextChoices):
        NEW = "new", _("新客户评级")
        PERIODIC = "periodic", _("定期复评")
        ALERT = "alert", _("预警触发")
        PROFILE = "profile", _("客户信息变更")
        DUE_DILIGENCE = "dd", _("尽职调查结果")
        MANUAL = "manual", _("人工调整")

    class Status(models.TextChoices):
        CURRENT = "current", _("有效")
        SUPERSEDED = "superseded", _("已被替代")
        PENDING = "pending", _("待审批")
        REJECTED = "rejected", _("已驳回")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="risk_ratings")
    model = models.ForeignKey(RatingModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("等级"), max_length=8, choices=AmlLevel.choices)
    computed_level = models.CharField(_("模型等级"), max_length=8, choices=AmlLevel.choices, blank=True)
    score = models.IntegerField(_("得分"), default=0)
    factors = models.JSONField(_("因子明细"), default=list)
    trigger = models.CharField(_("触发原因"), max_length=10, choices=Trigger.choices)
    rationale = models.CharField(_("评级理由"), max_length=500, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.CURRENT, db_index=True)
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    rated_at = models.DateTimeField(_("评级时间"))
    next_review_on = models.DateField(_("下次复评日"), null=True, blank=True)
    pending_action = models.ForeignKey("approvals.PendingAction", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")

    class Meta:
        ordering = ["-rated_at", "-id"]
        verbose_name = _("洗钱风险评级")


class DueDiligence(models.Model):
    """A due-diligence task with its checklist (``checklist``: [{code, label, label_en, done, note}])."""

    class Trigger(models.TextChoices):
        ONE_OFF = "one_off", _("一次性大额业务")
        RATING_RAISED = "raised", _("风险等级上调")
        ALERT = "alert", _("监测预警")
        MANUAL = "manual", _("人工发起")

    class Status(models.TextChoices):
        OPEN = "open", _("待办")
        DONE = "done", _("已完成")

    class Result(models.TextChoices):
        NORMAL = "normal", _("未见异常")
        RAISE = "raise", _("建议上调风险等级")
        REPORT = "report", _("建议可疑报告")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="due_diligences")
    branch_path = models.CharField(max_length=255, db_index=True)
    trigger = models.CharField(_("触发原因"), max_length=10, choices=Trigger.choices)
    source_key = models.CharField(max_length=80, unique=True, help_text="dedupe: one task per triggering fact")
    entry_id = models.BigIntegerField(null=True, blank=True)
    checklist = models.JSONField(_("检查清单"), default=list)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    result = models.CharField(_("结论"), max_length=8, choices=Result.choices, blank=True)
    notes = models.CharField(_("说明"), max_length=1000, blank=True)
    opened_at = models.DateTimeField(_("发起时间"))
    due_on = models.DateField(_("完成期限"))
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "due_on", "id"]
        verbose_name = _("尽职调查")


# ---- Transaction monitoring ----------------------------------------------------------------------------------------
class MonitoringRule(models.Model):
    """A monitoring rule as data. Each edit is a new version with its own effective dates; the version in force on a
    business date is the one whose [effective_from, effective_to) contains it. ``params`` depend on ``kind``
    (see rules.RULE_KINDS)."""

    class Kind(models.TextChoices):
        LARGE_VALUE = "large_value", _("大额交易")
        STRUCTURING = "structuring", _("拆分交易（化整为零）")
        RAPID_IN_OUT = "rapid_in_out", _("快进快出")
        DORMANT = "dormant", _("休眠账户突然启用")
        COUNTERPARTIES = "counterparties", _("短期内交易对手众多")
        PROFILE = "profile", _("交易与客户身份不符")

    code = models.CharField(_("规则代码"), max_length=12)
    version = models.PositiveIntegerField(_("版本"), default=1)
    name = models.CharField(_("规则名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    kind = models.CharField(_("规则类型"), max_length=16, choices=Kind.choices)
    report_kind = models.CharField(_("报告类型"), max_length=10, choices=[("large", _("大额交易报告")),
                                                                      ("suspicious", _("可疑交易报告"))])
    params = models.JSONField(_("参数"), default=dict)
    customer_kinds = models.JSONField(_("适用客户类型"), default=list)
    active = models.BooleanField(_("启用"), default=True)
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)
    note = models.CharField(_("修改说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="rule_version_once")]
        verbose_name = _("监测规则")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Alert(models.Model):
    """One rule hit: which customer, which day (the window's last day), the figures and the transactions that fired
    it. ``dedupe_key`` makes the same fact raise one alert whether it is seen in real time or by the nightly run."""

    class Status(models.TextChoices):
        NEW = "new", _("待处理")
        REVIEWING = "reviewing", _("调查中")
        CLOSED = "closed", _("已排除")
        ESCALATED = "escalated", _("已上报合规")
        REPORTED = "reported", _("已报告")

    OPEN_STATUSES = (Status.NEW, Status.REVIEWING, Status.ESCALATED)

    dedupe_key = models.CharField(max_length=120, unique=True)
    rule = models.ForeignKey(MonitoringRule, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    rule_code = models.CharField(_("规则代码"), max_length=12, db_index=True)
    kind = models.CharField(_("预警类型"), max_length=16)
    report_kind = models.CharField(_("报告类型"), max_length=10)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="aml_alerts")
    branch_path = models.CharField(max_length=255, db_index=True)
    business_date = models.DateField(_("交易日期"), db_index=True)
    currency_group = models.CharField(_("币种口径"), max_length=3, blank=True)
    direction = models.CharField(_("方向"), max_length=3, blank=True)
    total_minor = models.BigIntegerField(_("金额"), default=0)
    threshold_minor = models.BigIntegerField(_("阈值"), default=0)
    figures = models.JSONField(_("触发数据"), default=dict)
    entry_ids = models.JSONField(_("相关交易"), default=list)
    source = models.CharField(_("来源"), max_length=12, default="batch")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.NEW, db_index=True)
    case = models.ForeignKey("Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    report = models.ForeignKey("RegulatoryReport", null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    due_on = models.DateField(_("报告截止日"), null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(_("生成时间"))
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    close_reason = models.CharField(_("排除理由"), max_length=500, blank=True)

    class Meta:
        ordering = ["-business_date", "-id"]
        indexes = [models.Index(fields=["status", "rule_code"], name="alert_status_rule"),
                   models.Index(fields=["customer", "status"], name="alert_customer_status")]
        verbose_name = _("监测预警")

    def audit_repr(self) -> str:
        return f"A{self.pk} {self.rule_code} {self.business_date}"


class Case(models.Model):
    """An investigation grouping alerts of one (or related) customers, ending in a decision: a false positive with its
    reason, or escalated to compliance and reported (with the suspicious-report clock)."""

    class Status(models.TextChoices):
        OPEN = "open", _("调查中")
        ESCALATED = "escalated", _("已上报合规")
        CLOSED = "closed", _("已结案（排除）")
        REPORTED = "reported", _("已报告")

    number = models.CharField(_("案件编号"), max_length=20, unique=True)
    title = models.CharField(_("标题"), max_length=120)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="aml_cases")
    related_customers = models.ManyToManyField("customers.Customer", blank=True, related_name="+")
    branch_path = models.CharField(max_length=255, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(_("立案时间"))
    decision_reason = models.CharField(_("结论说明"), max_length=1000, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(_("可疑确认时间"), null=True, blank=True)
    report_due_on = models.DateField(_("报告截止日"), null=True, blank=True, db_index=True)
    next_followup_on = models.DateField(_("下次持续报告日"), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("调查案件")

    def __str__(self) -> str:
        return self.number

    def audit_repr(self) -> str:
        return self.number


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("调查记录"), max_length=4000)
    attachment_name = models.CharField(_("附件"), max_length=120, blank=True)
    attachment_type = models.CharField(max_length=80, blank=True)
    attachment = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class BatchRun(models.Model):
    """Checkpoint of one batch job (nightly monitoring, re-rating, screening) for one business date: a killed run
    resumes after ``last_id``; a finished one is not redone."""

    class Status(models.TextChoices):
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")

    job = models.CharField(max_length=40)
    business_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    last_id = models.BigIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    changes = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "business_date"], name="batch_run_once")]


# ---- Watch lists ---------------------------------------------------------------------------------------------------
class WatchList(models.Model):
    class Kind(models.TextChoices):
        SANCTIONS = "sanctions", _("制裁名单")
        PEP = "pep", _("政治公众人物")
        INTERNAL = "internal", _("内部关注名单")

    name = models.CharField(_("名单名称"), max_length=100)
    kind = models.CharField(_("名单类型"), max_length=10, choices=Kind.choices)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    entries_count = models.PositiveIntegerField(_("条目数"), default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    imported_at = models.DateTimeField(_("导入时间"))
    active = models.BooleanField(_("启用"), default=True)
    # Re-importing a list under the same name makes a new version and retires the older ones (watchlist.py).
    version = models.PositiveIntegerField(_("版本"), default=1)
    file_sha256 = models.CharField(max_length=64, blank=True)
    rows_total = models.PositiveIntegerField(_("文件行数"), default=0)
    rejected_rows = models.PositiveIntegerField(_("错误行数"), default=0)
    errors = models.JSONField(_("错误行"), default=list, blank=True)  # [{row, code, message}], first 500
    screened_at = models.DateTimeField(_("筛查完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="watchlist_version_once")]
        verbose_name = _("监控名单")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def audit_repr(self) -> str:
        return f"{self.name} v{self.version}"


class WatchListEntry(models.Model):
    watch_list = models.ForeignKey(WatchList, on_delete=models.CASCADE, related_name="entries")
    name = models.CharField(_("姓名/名称"), max_length=200)
    name_key = models.CharField(max_length=200, db_index=True)  # normalised (simplified, no spaces/punctuation)
    name_pinyin = models.CharField(max_length=300, db_index=True, blank=True)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    country = models.CharField(_("国家/地区"), max_length=3, blank=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    row_no = models.PositiveIntegerField(_("文件行号"), default=0)
    # The same person in an earlier version of the list (its first entry id): alerts dedupe on it across versions.
    origin_id = models.BigIntegerField(null=True, blank=True)
    # Piece-pair keys of name_key (rules_screening.edit_keys): indexed look-up of names within one edit.
    ed_a = models.CharField(max_length=210, blank=True, db_index=True)
    ed_b = models.CharField(max_length=210, blank=True, db_index=True)
    ed_c = models.CharField(max_length=210, blank=True, db_index=True)

    class Meta:
        ordering = ["row_no", "id"]
        verbose_name = _("名单条目")

    @property
    def identity(self) -> int:
        return self.origin_id or self.pk


# ---- Regulatory reports --------------------------------------------------------------------------------------------
class RegulatoryReport(models.Model):
    """A large-value or suspicious transaction report file, generated from alerts or a case (format: docs/adr)."""

    class Kind(models.TextChoices):
        LARGE = "large", _("大额交易报告")
        SUSPICIOUS = "suspicious", _("可疑交易报告")

    class Status(models.TextChoices):
        GENERATED = "generated", _("已生成")
        SUBMITTED = "submitted", _("已报送")

    number = models.CharField(_("报告编号"), max_length=40, unique=True)
    kind = models.CharField(_("报告类型"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.GENERATED)
    business_date = models.DateField(_("交易日期"), null=True, blank=True)
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    followup_no = models.PositiveSmallIntegerField(_("持续报告序号"), default=0)
    records = models.PositiveIntegerField(_("记录数"), default=0)
    content = EncryptedTextField(_("报告内容"))
    sha256 = models.CharField(max_length=64)
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField(_("生成时间"))
    due_on = models.DateField(_("报送截止日"), null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    class Meta:
        ordering = ["-generated_at", "-id"]
        verbose_name = _("监管报告")


pii.declare("risk.RegulatoryReport.content", pii.PiiClass.ENCRYPTED, pii.Sensitivity.C3, "generic",
            "监管报告文件（含客户身份与交易信息）")
