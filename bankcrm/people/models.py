"""Staff development and appraisal (DOMAIN_RULES.md §1: training and education, incentive mechanism, customer-oriented
appraisal). Three parts, one app (ARCHITECTURE.md ``people/``):

**Training.** ``Course`` (versioned: a new version asks everyone affected to take it again or attest), its
``CourseAttachment`` files, ``Requirement`` rules (which roles / employment types must take which course: at
onboarding, periodically, or on an event such as a new version of the regulation), ``Assignment`` (one member of
staff must complete one course version by a date), ``QuizAttempt`` and ``Certificate`` (quiz passed or attestation
made; expires). ``GateRule`` is the configuration of which certificate a guarded action needs (gate codes asked with
``core.access.require_gate``).

**Appraisal.** ``Period`` (quarters and years), ``KpiScheme`` per role with ``KpiWeight`` lines (metric codes from
``people.metrics``; weights in percent summing to 100), ``Scorecard`` per staff and period with one ``ScorecardLine``
per metric (computed from the data, never typed in), and ``Appeal``. The scorecard moves computed → self-assessed →
reviewed → calibrated → signed off; an appeal reopens the review.

**Incentives.** ``IncentiveScheme`` (how a pool is shared by score), ``IncentivePool`` per branch and period,
``IncentiveAward`` per member of staff, ``Clawback`` when a complaint is upheld or mis-selling is found within
``incentives.clawback_window`` months of the payout.

Money is integer fen; scores are integers in hundredths of a point (0–10000) so that the bulk computation and the
hand-written SQL reference (P7) agree exactly.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


# ================================================ Training ==========================================================
class CourseCategory(models.TextChoices):
    NEEDS = "needs", _("客户需求分析")
    COMMUNICATION = "communication", _("沟通技巧")
    PERSONALISED = "personalised", _("个性化服务")
    REGULATION = "regulation", _("客户关系管理规定")
    SUITABILITY = "suitability", _("适当性与销售行为")
    AML = "aml", _("反洗钱")
    PRIVACY = "privacy", _("个人信息保护")
    COMPLAINTS = "complaints", _("投诉处理")
    PRODUCT = "product", _("产品知识")
    OTHER = "other", _("其他")


class Course(models.Model):
    """A course: text, optional attachments and video link, and a quiz with a pass mark.

    ``quiz`` is ``[{"q": "…", "q_en": "…", "options": ["…", …], "options_en": [...], "answer": index}, …]``.
    ``version`` grows each time a published course is republished with a change that everyone must take again;
    certificates carry the version they were earned on. A course without questions is completed by attestation
    (read and confirm), e.g. a new version of the regulation."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        RETIRED = "retired", _("已停用")

    code = models.SlugField(_("课程代码"), max_length=40, unique=True)
    title = models.CharField(_("课程名称"), max_length=120)
    title_en = models.CharField(_("英文名称"), max_length=160, blank=True)
    category = models.CharField(_("类别"), max_length=16, choices=CourseCategory.choices, default=CourseCategory.OTHER)
    summary = models.CharField(_("简介"), max_length=300, blank=True)
    body = models.TextField(_("课程内容"), blank=True)
    video_url = models.URLField(_("视频链接"), blank=True)
    quiz = models.JSONField(_("测验题"), default=list, blank=True)
    pass_mark = models.PositiveSmallIntegerField(_("及格分（百分制）"), default=80)
    validity_months = models.PositiveSmallIntegerField(_("证书有效期（月）"), null=True, blank=True,
                                                       help_text=_("空表示长期有效"))
    duration_minutes = models.PositiveSmallIntegerField(_("建议学时（分钟）"), default=30)
    version = models.PositiveIntegerField(_("版本"), default=1)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("培训课程")
        constraints = [models.CheckConstraint(condition=Q(pass_mark__gte=1) & Q(pass_mark__lte=100),
                                              name="course_pass_mark_range")]

    def __str__(self) -> str:
        return f"{self.title}（v{self.version}）"

    def audit_repr(self) -> str:
        return f"{self.code} v{self.version}"


class CourseAttachment(models.Model):
    """A file attached to a course (slides, the regulation's text)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="training/%Y/%m/")
    name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]


class Requirement(models.Model):
    """Who must take a course and when: empty ``roles`` / ``employment_types`` mean everyone.

    ``trigger``: ``onboarding`` (once, on joining or gaining the role), ``periodic`` (again every ``period_months``),
    ``event`` (whenever the course is republished as a new version: everyone affected must take or attest it)."""

    class Trigger(models.TextChoices):
        ONBOARDING = "onboarding", _("入职/上岗")
        PERIODIC = "periodic", _("定期")
        EVENT = "event", _("制度或产品规则更新")

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="requirements",
                               verbose_name=_("课程"))
    roles = models.JSONField(_("适用角色"), default=list, blank=True)
    employment_types = models.JSONField(_("适用用工类型"), default=list, blank=True)
    trigger = models.CharField(_("触发"), max_length=12, choices=Trigger.choices, default=Trigger.ONBOARDING)
    period_months = models.PositiveSmallIntegerField(_("周期（月）"), null=True, blank=True)
    due_days = models.PositiveSmallIntegerField(_("完成期限（天）"), default=30)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course__code", "pk"]
        verbose_name = _("培训要求")
        constraints = [models.CheckConstraint(
            condition=~Q(trigger="periodic") | Q(period_months__gte=1), name="requirement_periodic_has_period")]


class Assignment(models.Model):
    """One member of staff must complete one course (at ``course_version``) by ``due_on``."""

    class Status(models.TextChoices):
        OPEN = "open", _("待完成")
        COMPLETED = "completed", _("已完成")
        WAIVED = "waived", _("已免除")
        CANCELLED = "cancelled", _("已取消")

    class Reason(models.TextChoices):
        ONBOARDING = "onboarding", _("入职/上岗")
        PERIODIC = "periodic", _("定期培训")
        EVENT = "event", _("制度或产品规则更新")
        MANUAL = "manual", _("指定培训")

    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="training_assignments")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="assignments")
    course_version = models.PositiveIntegerField()
    requirement = models.ForeignKey(Requirement, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("原因"), max_length=12, choices=Reason.choices)
    branch_path = models.CharField(max_length=255, db_index=True)  # the staff member's branch, for scoped reads
    assigned_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField()
    due_on = models.DateField(_("完成期限"), db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    certificate = models.ForeignKey("Certificate", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("培训任务")
        constraints = [models.UniqueConstraint(fields=["staff", "course"], condition=Q(status="open"),
                                               name="one_open_assignment_per_course")]
        indexes = [models.Index(fields=["staff", "status"], name="assignment_staff_status")]


class QuizAttempt(models.Model):
    """One submitted quiz: the answers as given and the score in percent."""

    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="quiz_attempts")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="attempts")
    course_version = models.PositiveIntegerField()
    answers = models.JSONField(default=list)
    score = models.PositiveSmallIntegerField(_("得分"))
    passed = models.BooleanField(_("通过"))
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["-submitted_at"]


class Certificate(models.Model):
    """Proof that a member of staff completed a course version, by quiz or attestation; valid until ``expires_on``
    (none: no expiry) unless revoked."""

    class Method(models.TextChoices):
        QUIZ = "quiz", _("测验通过")
        ATTESTATION = "attestation", _("阅读确认")
        EXTERNAL = "external", _("外部证书录入")

    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="certificates")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certificates")
    course_version = models.PositiveIntegerField()
    method = models.CharField(_("方式"), max_length=12, choices=Method.choices)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    attempt = models.ForeignKey(QuizAttempt, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("证书编号"), max_length=40, unique=True)
    issued_at = models.DateTimeField(_("发证时间"))
    expires_on = models.DateField(_("有效期至"), null=True, blank=True, db_index=True)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoke_reason = models.CharField(max_length=200, blank=True)
    reminded_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("培训证书")
        indexes = [models.Index(fields=["staff", "course"], name="certificate_staff_course")]
        constraints = [models.CheckConstraint(condition=~Q(method="quiz") | Q(attempt__isnull=False),
                                              name="certificate_quiz_has_attempt")]


class GateRule(models.Model):
    """Configuration: the guarded action ``gate`` (a code asked through ``core.access.require_gate``) needs a valid
    certificate of ``course``. For ``risk.sell_certified`` the rule may apply only from ``min_product_level`` up
    (e.g. R4/R5); for ``approvals.approve`` only to pending actions whose code starts with ``action_prefix``
    (``ledger.``: large transactions)."""

    gate = models.CharField(_("受控操作"), max_length=60, db_index=True)
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="gate_rules", verbose_name=_("所需课程"))
    min_product_level = models.PositiveSmallIntegerField(_("适用的最低产品风险等级"), null=True, blank=True)
    action_prefix = models.CharField(_("适用的复核事项（代码前缀）"), max_length=60, blank=True,
                                     help_text=_("仅对复核类准入：如 ledger. 表示账务类大额交易复核"))
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["gate", "course__code"]
        verbose_name = _("培训准入规则")
        constraints = [models.UniqueConstraint(fields=["gate", "course"], name="one_gate_rule_per_course")]


# ================================================ Appraisal =========================================================
class Period(models.Model):
    """An appraisal period: a quarter (``quarter`` 1–4) or a year (``quarter`` null)."""

    class Kind(models.TextChoices):
        QUARTER = "quarter", _("季度")
        YEAR = "year", _("年度")

    class Status(models.TextChoices):
        OPEN = "open", _("考核中")
        CLOSED = "closed", _("已结束")

    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    quarter = models.PositiveSmallIntegerField(_("季度"), null=True, blank=True)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "kind"]
        verbose_name = _("考核期")
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "quarter"], name="one_period_per_kind"),
            models.UniqueConstraint(fields=["year"], condition=Q(kind="year"), name="one_year_period"),
            models.CheckConstraint(condition=(Q(kind="quarter") & Q(quarter__gte=1) & Q(quarter__lte=4))
                                   | (Q(kind="year") & Q(quarter__isnull=True)), name="period_quarter_matches_kind"),
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="period_dates_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}" if self.kind == self.Kind.QUARTER else f"{self.year}"


class KpiScheme(models.Model):
    """The metrics and weights a role is appraised on. One active scheme per role; a change is a new version (the old
    one retires, scorecards keep the scheme they were computed with)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        ACTIVE = "active", _("生效")
        RETIRED = "retired", _("已停用")

    code = models.SlugField(_("方案代码"), max_length=40)
    name = models.CharField(_("方案名称"), max_length=120)
    role = models.CharField(_("适用角色"), max_length=24)
    version = models.PositiveIntegerField(_("版本"), default=1)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role", "-version"]
        verbose_name = _("考核方案")
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="one_scheme_version"),
            models.UniqueConstraint(fields=["role"], condition=Q(status="active"), name="one_active_scheme_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def audit_repr(self) -> str:
        return f"{self.code} v{self.version}"


class KpiWeight(models.Model):
    """One metric of a scheme: weight in percent, and the values that score 0 (``floor``) and 100 (``target``);
    between them the score is linear (for lower-is-better metrics ``floor`` > ``target``). Values are in the metric's
    unit (``people.metrics``), stored as integers in ten-thousandths (e.g. a rate of 0.9731 → 9731)."""

    scheme = models.ForeignKey(KpiScheme, on_delete=models.CASCADE, related_name="weights")
    metric = models.CharField(_("指标"), max_length=40)
    weight = models.PositiveSmallIntegerField(_("权重（%）"))
    floor = models.BigIntegerField(_("零分值"))
    target = models.BigIntegerField(_("满分值"))
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scheme", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "metric"], name="one_weight_per_metric"),
            models.CheckConstraint(condition=Q(weight__gte=1) & Q(weight__lte=100), name="kpi_weight_range"),
            models.CheckConstraint(condition=~Q(floor=models.F("target")), name="kpi_floor_differs_from_target"),
        ]


class Scorecard(models.Model):
    """A member of staff's appraisal for a period: computed lines, then self-assessment, the supervisor's review,
    calibration across the branch, sign-off; an appeal goes back to review. Scores in hundredths (0–10000)."""

    class Status(models.TextChoices):
        COMPUTED = "computed", _("待自评")
        SELF_ASSESSED = "self_assessed", _("待上级评价")
        REVIEWED = "reviewed", _("待校准")
        CALIBRATED = "calibrated", _("待签署")
        SIGNED_OFF = "signed_off", _("已签署")
        APPEALED = "appealed", _("申诉中")

    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="scorecards")
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="scorecards")
    scheme = models.ForeignKey(KpiScheme, on_delete=models.PROTECT, related_name="scorecards")
    role = models.CharField(max_length=24)
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+")
    branch_path = models.CharField(max_length=255, db_index=True)
    computed_score = models.IntegerField(_("系统得分"))
    review_adjustment = models.IntegerField(_("上级调整"), default=0)
    calibration_adjustment = models.IntegerField(_("校准调整"), default=0)
    final_score = models.IntegerField(_("最终得分"))
    status = models.CharField(_("状态"), max_length=14, choices=Status.choices, default=Status.COMPUTED, db_index=True)
    computed_at = models.DateTimeField()
    self_comment = models.TextField(_("自评"), blank=True)
    self_assessed_at = models.DateTimeField(null=True, blank=True)
    reviewer = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    review_comment = models.TextField(_("上级评语"), blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    calibrated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    calibration_reason = models.TextField(_("校准说明"), blank=True)
    calibrated_at = models.DateTimeField(null=True, blank=True)
    signed_off_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    signed_off_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period__starts_on", "staff__staff_no"]
        verbose_name = _("考核记分卡")
        constraints = [
            models.UniqueConstraint(fields=["staff", "period"], name="one_scorecard_per_period"),
            models.CheckConstraint(condition=Q(final_score=models.F("computed_score") + models.F("review_adjustment")
                                               + models.F("calibration_adjustment")), name="scorecard_final_sum"),
            models.CheckConstraint(condition=~Q(status="signed_off") | Q(signed_off_by__isnull=False),
                                   name="scorecard_signed_has_signer"),
        ]

    def audit_repr(self) -> str:
        return f"{self.staff_id}/{self.period}"


class ScorecardLine(models.Model):
    """One metric on a scorecard: the value measured (ten-thousandths; null when there was nothing to measure),
    its numerator and denominator as evidence, the 0–10000 score and the weighted contribution."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="lines")
    metric = models.CharField(max_length=40)
    weight = models.PositiveSmallIntegerField()
    value = models.BigIntegerField(null=True, blank=True)
    numerator = models.BigIntegerField(default=0)
    denominator = models.BigIntegerField(default=0)
    score = models.IntegerField()
    weighted = models.IntegerField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scorecard", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "metric"], name="one_line_per_metric")]


class Appeal(models.Model):
    """A member of staff contests a signed-off or reviewed scorecard; decided by someone other than the reviewer."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        UPHELD = "upheld", _("申诉成立")
        REJECTED = "rejected", _("申诉驳回")

    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="appeals")
    raised_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("申诉理由"))
    raised_at = models.DateTimeField()
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("处理意见"), blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [models.UniqueConstraint(fields=["scorecard"], condition=Q(status="open"),
                                               name="one_open_appeal_per_scorecard")]


# ================================================ Incentives ========================================================
class IncentiveScheme(models.Model):
    """How a pool is shared: ``proportional`` to final score above ``min_score``, or by ``tiers``
    (``[[min_score, multiplier_percent], …]`` descending), capped per person at ``cap_percent`` of the pool."""

    class Method(models.TextChoices):
        PROPORTIONAL = "proportional", _("按得分比例")
        TIERED = "tiered", _("按得分档次")

    code = models.SlugField(_("方案代码"), max_length=40, unique=True)
    name = models.CharField(_("方案名称"), max_length=120)
    method = models.CharField(_("分配方式"), max_length=14, choices=Method.choices, default=Method.PROPORTIONAL)
    min_score = models.IntegerField(_("最低得分（百分之一分）"), default=6000)
    tiers = models.JSONField(_("档次"), default=list, blank=True)
    cap_percent = models.PositiveSmallIntegerField(_("个人上限（占奖金池%）"), default=100)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("激励方案")


class IncentivePool(models.Model):
    """A branch's incentive pool for a period, allocated by score; approval by a second person before payout."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        ALLOCATED = "allocated", _("已分配")
        PENDING = "pending", _("待复核")
        APPROVED = "approved", _("已复核")
        PAID = "paid", _("已发放")

    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("机构"))
    branch_path = models.CharField(max_length=255, db_index=True)
    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="pools", verbose_name=_("考核期"))
    scheme = models.ForeignKey(IncentiveScheme, on_delete=models.PROTECT, related_name="pools",
                               verbose_name=_("激励方案"))
    amount_fen = models.BigIntegerField(_("奖金池金额（分）"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    pending_action = models.ForeignKey("approvals.PendingAction", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # What the allocation could not give (everyone eligible at the cap, or nobody eligible), and who was left out and
    # why ([{"staff_id", "staff_no", "name", "reason", "score"}]), as they stood when the pool was allocated.
    undistributed_fen = models.BigIntegerField(_("未分配金额（分）"), default=0)
    exclusions = models.JSONField(_("未参与分配人员"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("奖金池")
        constraints = [
            models.UniqueConstraint(fields=["branch", "period"], name="one_pool_per_branch_period"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="pool_amount_positive"),
        ]


class IncentiveAward(models.Model):
    """One member of staff's share of a pool."""

    pool = models.ForeignKey(IncentivePool, on_delete=models.CASCADE, related_name="awards")
    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="incentive_awards")
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="+")
    score = models.IntegerField()
    amount_fen = models.BigIntegerField(_("奖金（分）"))
    clawed_back_fen = models.BigIntegerField(_("已追索（分）"), default=0)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pool", "-amount_fen"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "staff"], name="one_award_per_pool_staff"),
            models.CheckConstraint(condition=Q(amount_fen__gte=0) & Q(clawed_back_fen__gte=0)
                                   & Q(clawed_back_fen__lte=models.F("amount_fen")), name="award_clawback_bounded"),
        ]


class Clawback(models.Model):
    """Money taken back from a paid award because a complaint was upheld or mis-selling was found within the window
    after payout. One per award and source record (idempotent)."""

    class Source(models.TextChoices):
        COMPLAINT = "complaint", _("投诉成立")
        MIS_SELLING = "mis_selling", _("销售不当")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待确认")
        CONFIRMED = "confirmed", _("已追索")
        WAIVED = "waived", _("已豁免")

    award = models.ForeignKey(IncentiveAward, on_delete=models.PROTECT, related_name="clawbacks")
    source = models.CharField(_("原因"), max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField(_("来源记录"))
    source_ref = models.CharField(_("来源编号"), max_length=40, blank=True)
    found_at = models.DateTimeField(_("发现时间"))
    amount_fen = models.BigIntegerField(_("追索金额（分）"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PROPOSED, db_index=True)
    reason = models.TextField(_("说明"), blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-found_at"]
        verbose_name = _("绩效追索")
        constraints = [
            models.UniqueConstraint(fields=["award", "source", "source_id"], name="one_clawback_per_source"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="clawback_amount_positive"),
        ]
