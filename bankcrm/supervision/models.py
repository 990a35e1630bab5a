"""Internal supervision and compliance (DOMAIN_RULES.md §1 "Supervision", "Compliance manager", "Principle:
integrity"). The regulation as live controls:

**Coverage and controls** (section A). ``Clause``: each clause of the regulation as editable data with versions
(``ClauseRevision`` keeps every earlier text). Controls are code (``supervision.controls`` registry: an automated
check with its population and exceptions, or a manual control); ``ClauseControl`` links clauses to control codes.
``ControlRun`` records each run of an automated check (population, exceptions, measure). ``Finding``: an exception
or an inspection result with severity and an owner, rectified through ``FindingAction`` tasks with deadlines and
re-checks, closed by compliance; ``Accountability`` records what followed for the staff responsible.

**Inspections and access reviews** (section B): plans, checklists, sampled items, quarterly role confirmations.

**Conduct, audit, retention** (section C): staff-conduct records (mandatory leave, key-post rotation), legal holds
and retention runs, signed audit extracts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

USER = settings.AUTH_USER_MODEL


class Severity(models.TextChoices):
    LOW = "low", _("低")
    MEDIUM = "medium", _("中")
    HIGH = "high", _("高")
    CRITICAL = "critical", _("严重")


# ======================================= A. Coverage, controls, findings ============================================
class Clause(models.Model):
    """One clause of the regulation (DOMAIN_RULES.md §1), editable by compliance; every edit is a new version and the
    old text is kept in ``ClauseRevision``."""

    code = models.SlugField(_("条款编号"), max_length=40, unique=True)
    title = models.CharField(_("条款"), max_length=200)
    title_en = models.CharField(_("英文"), max_length=300, blank=True)
    text = models.TextField(_("系统落实方式"), blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(_("版本"), default=1)
    active = models.BooleanField(_("启用"), default=True)
    updated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("制度条款")

    def __str__(self) -> str:
        return self.title

    def audit_repr(self) -> str:
        return f"{self.code} v{self.version}"


class ClauseRevision(models.Model):
    """An earlier version of a clause, kept when it is edited."""

    clause = models.ForeignKey(Clause, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    edited_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    edited_at = models.DateTimeField()

    class Meta:
        ordering = ["clause", "-version"]
        constraints = [models.UniqueConstraint(fields=["clause", "version"], name="one_clause_revision")]


class ClauseControl(models.Model):
    """A clause is implemented by a control (code from the ``supervision.controls`` registry)."""

    clause = models.ForeignKey(Clause, on_delete=models.CASCADE, related_name="controls")
    control = models.CharField(_("控制"), max_length=60)
    note = models.CharField(_("说明"), max_length=300, blank=True)

    class Meta:
        ordering = ["clause", "control"]
        constraints = [models.UniqueConstraint(fields=["clause", "control"], name="one_clause_control")]


class ControlRun(models.Model):
    """One run of an automated control check: how many records it looked at, how many exceptions it found."""

    class Status(models.TextChoices):
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    control = models.CharField(_("控制"), max_length=60, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    population = models.BigIntegerField(_("检查范围"), default=0)
    exceptions = models.BigIntegerField(_("例外数"), default=0)
    new_findings = models.IntegerField(default=0)
    resolved_findings = models.IntegerField(default=0)
    triggered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["control", "-started_at"], name="controlrun_latest")]


class Finding(models.Model):
    """An exception to a control, an inspection result or a manual observation, with an owner and a deadline.

    ``open`` → ``rectifying`` (actions under way) → ``rectified`` (owner says done, awaiting re-check) → ``closed``
    by compliance after a re-check; a re-check that fails goes back to ``rectifying``. Automated findings are keyed
    (``key`` = control + target) so a nightly run never opens the same exception twice, and an exception that
    disappears is marked resolved by the data (``auto_resolved_at``) for compliance to close."""

    class Source(models.TextChoices):
        CONTROL = "control", _("自动控制检查")
        INSPECTION = "inspection", _("现场/非现场检查")
        MANUAL = "manual", _("人工发现")

    class Status(models.TextChoices):
        OPEN = "open", _("待整改")
        RECTIFYING = "rectifying", _("整改中")
        RECTIFIED = "rectified", _("待复查")
        CLOSED = "closed", _("已关闭")

    number = models.CharField(_("编号"), max_length=24, unique=True)
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    control = models.CharField(_("控制"), max_length=60, blank=True, db_index=True)
    clause = models.ForeignKey(Clause, null=True, blank=True, on_delete=models.PROTECT, related_name="findings",
                               verbose_name=_("条款"))
    key = models.CharField(max_length=120, blank=True)
    severity = models.CharField(_("严重程度"), max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    title = models.CharField(_("问题"), max_length=200)
    detail = models.TextField(_("详情"), blank=True)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=40, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)  # masked: never a full name or number
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("机构"))
    branch_path = models.CharField(max_length=255, db_index=True)
    staff = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="findings_about",
                              verbose_name=_("相关员工"))
    owner = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="findings_owned",
                              verbose_name=_("整改责任人"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    due_on = models.DateField(_("整改期限"), null=True, blank=True, db_index=True)
    raised_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(_("发现时间"))
    run = models.ForeignKey(ControlRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="findings")
    inspection = models.ForeignKey("Inspection", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="findings")
    auto_resolved_at = models.DateTimeField(null=True, blank=True)
    overdue_at = models.DateTimeField(null=True, blank=True)  # set by the daily job when the deadline passed unrectified
    reminded_on = models.DateField(null=True, blank=True)  # last deadline reminder (the daily job, once a day)
    rectified_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    close_note = models.TextField(_("关闭意见"), blank=True)

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("检查发现")
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~Q(key="") & ~Q(status="closed"),
                                    name="one_live_finding_per_key"),
            models.CheckConstraint(condition=~Q(status="closed") | Q(closed_by__isnull=False),
                                   name="finding_closed_has_closer"),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="finding_status_due")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def display_title(self) -> str:
        """A control finding's title in the reader's language (the control's label); other titles as written."""
        if self.source == self.Source.CONTROL and self.control:
            from .controls import get

            control = get(self.control)
            if control is not None:
                return str(control.label)
        return self.title

    def audit_repr(self) -> str:
        return self.number


class FindingAction(models.Model):
    """A rectification task for a finding: owner, deadline, what was done, and the re-check result."""

    class Status(models.TextChoices):
        OPEN = "open", _("进行中")
        DONE = "done", _("已完成")
        PASSED = "passed", _("复查通过")
        FAILED = "failed", _("复查未通过")

    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(_("整改措施"), max_length=300)
    owner = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("责任人"))
    due_on = models.DateField(_("完成期限"), db_index=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True)
    evidence = models.TextField(_("整改说明"), blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    recheck_note = models.TextField(_("复查意见"), blank=True)
    rechecked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rechecked_at = models.DateTimeField(null=True, blank=True)
    reminded_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_on", "pk"]


class Accountability(models.Model):
    """What followed for a member of staff responsible for a finding (talk, warning, training, pay deduction…)."""

    class Measure(models.TextChoices):
        TALK = "talk", _("约谈")
        WARNING = "warning", _("警示/通报")
        TRAINING = "training", _("强化培训")
        DEDUCTION = "deduction", _("绩效扣减")
        DISCIPLINE = "discipline", _("纪律处分")

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="accountabilities")
    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="accountabilities",
                              verbose_name=_("责任人员"))
    measure = models.CharField(_("问责措施"), max_length=12, choices=Measure.choices)
    note = models.TextField(_("说明"), blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-recorded_at"]


# ======================================= B. Inspections and access reviews ==========================================
class SampleKind(models.TextChoices):
    CUSTOMER = "customer", _("客户")
    TRANSACTION = "transaction", _("交易")
    COMPLAINT = "complaint", _("投诉")


class ChecklistTemplate(models.Model):
    """A versioned checklist: for each kind of sampled record, the checks an inspector answers.

    ``items`` = ``{"customer": [{"code", "text", "text_en", "severity", "clause"}, …], "transaction": […],
    "complaint": […]}``. An inspection keeps the template version it was planned with, so editing a template (a new
    version) never changes the questions of an inspection already under way."""

    code = models.SlugField(_("模板代码"), max_length=40)
    name = models.CharField(_("模板名称"), max_length=120)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    items = models.JSONField(_("检查项"), default=dict)
    active = models.BooleanField(_("启用"), default=True)
    updated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code", "-version"]
        verbose_name = _("检查清单模板")
        constraints = [models.UniqueConstraint(fields=["code", "version"], name="one_checklist_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def audit_repr(self) -> str:
        return f"{self.code} v{self.version}"

    def checks(self, kind: str) -> list[dict]:
        return list((self.items or {}).get(kind, []))


class InspectionPlan(models.Model):
    """A periodic inspection of a branch: how often, with which checklist, how many records per member of staff.
    The daily job opens an inspection when ``next_on`` comes and moves ``next_on`` one period on."""

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("每月")
        QUARTERLY = "quarterly", _("每季度")

    name = models.CharField(_("计划名称"), max_length=120)
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("被检查机构"))
    branch_path = models.CharField(max_length=255, db_index=True)
    frequency = models.CharField(_("频率"), max_length=10, choices=Frequency.choices, default=Frequency.QUARTERLY)
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="plans",
                                 verbose_name=_("检查清单"))
    sample_customers = models.PositiveSmallIntegerField(_("每人抽查客户数"), default=2)
    sample_transactions = models.PositiveSmallIntegerField(_("每人抽查交易数"), default=3)
    sample_complaints = models.PositiveSmallIntegerField(_("每人抽查投诉数"), default=2)
    risk_weighted = models.BooleanField(_("按风险加权抽样"), default=True)
    next_on = models.DateField(_("下次检查日"), db_index=True)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["branch_path", "name"]
        verbose_name = _("检查计划")

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"{self.pk} {self.name}"

    def sizes(self) -> dict[str, int]:
        return {SampleKind.CUSTOMER: self.sample_customers, SampleKind.TRANSACTION: self.sample_transactions,
                SampleKind.COMPLAINT: self.sample_complaints}


class Inspection(models.Model):
    """One inspection of a branch over a period: ``planned`` → ``in_progress`` (records sampled from the stored
    ``seed``; the same seed draws the same records on any database) → ``completed`` (every sampled record checked,
    ``summary`` counts frozen). Failed checks raise findings (section A) linked back here."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("计划中")
        IN_PROGRESS = "in_progress", _("检查中")
        COMPLETED = "completed", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    number = models.CharField(_("编号"), max_length=24, unique=True)
    plan = models.ForeignKey(InspectionPlan, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="inspections", verbose_name=_("检查计划"))
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="inspections",
                                 verbose_name=_("检查清单"))
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("被检查机构"))
    branch_path = models.CharField(max_length=255, db_index=True)
    period_start = models.DateField(_("检查期间自"))
    period_end = models.DateField(_("检查期间至"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.PLANNED, db_index=True)
    seed = models.BigIntegerField(_("抽样种子"))
    sizes = models.JSONField(_("每人抽样数"), default=dict)
    risk_weighted = models.BooleanField(_("按风险加权抽样"), default=True)
    inspector = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("检查人"))
    sampled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    summary = models.JSONField(_("检查结果汇总"), default=dict, blank=True)
    conclusion = models.TextField(_("检查结论"), blank=True)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "number"]
        verbose_name = _("检查")
        constraints = [
            models.UniqueConstraint(fields=["plan", "period_start"], condition=Q(plan__isnull=False),
                                    name="one_inspection_per_plan_period"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="inspection_period_ordered"),
        ]

    def __str__(self) -> str:
        return self.number

    def audit_repr(self) -> str:
        return self.number


class SampleItem(models.Model):
    """One sampled record of an inspection (a customer, a transaction or a complaint) with the member of staff it is
    attributed to, its sampling weight, and the inspector's answers to the checklist (``{check code: "yes" | "no" |
    "na"}``). ``label`` is masked (customer number + surname*), never a full name or number."""

    class Result(models.TextChoices):
        PENDING = "pending", _("待检查")
        PASS = "pass", _("合规")
        FAIL = "fail", _("不合规")
        NA = "na", _("不适用")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("类别"), max_length=12, choices=SampleKind.choices)
    object_id = models.BigIntegerField()
    label = models.CharField(_("样本"), max_length=120)
    staff = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("相关员工"))
    weight = models.PositiveIntegerField(_("权重"), default=1)
    position = models.PositiveIntegerField(default=0)
    answers = models.JSONField(_("检查结果"), default=dict, blank=True)
    result = models.CharField(_("结论"), max_length=8, choices=Result.choices, default=Result.PENDING, db_index=True)
    evidence = models.TextField(_("检查证据"), blank=True)
    raised = models.JSONField(default=list, blank=True)  # check codes a finding was already raised for
    checked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["inspection", "kind", "staff", "position"]
        verbose_name = _("抽查样本")
        constraints = [models.UniqueConstraint(fields=["inspection", "kind", "object_id"], name="one_sample_per_object")]

    def audit_repr(self) -> str:
        return f"{self.inspection.number} {self.label}"


class AccessReview(models.Model):
    """A quarter's confirmation of roles for one branch: its supervisor (``reviewer``) confirms or revokes each role
    held by the staff they answer for; the supervisor's own roles go to the review above. At the root, with no
    supervisor, ``reviewer`` is empty and head-office compliance decides."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("access review", "待复核")
        COMPLETED = "completed", _("已完成")

    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("机构"))
    branch_path = models.CharField(max_length=255, db_index=True)
    period = models.CharField(_("季度"), max_length=8)  # "2026Q1"
    period_start = models.DateField()
    due_on = models.DateField(_("复核期限"), db_index=True)
    reviewer = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("复核人"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField()
    completed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start", "branch_path"]
        verbose_name = _("权限复核")
        constraints = [models.UniqueConstraint(fields=["branch", "period"], name="one_access_review_per_quarter")]

    def __str__(self) -> str:
        return f"{self.period} {self.branch}"

    def audit_repr(self) -> str:
        return f"{self.period} {self.branch.code}"


class AccessReviewItem(models.Model):
    """One role held by one member of staff when the review opened, and the reviewer's decision on it."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("确认保留")
        REVOKED = "revoked", _("已撤销")

    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="items")
    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("员工"))
    role = models.CharField(_("角色"), max_length=24)
    granted_at = models.DateTimeField(null=True, blank=True)
    decision = models.CharField(_("复核结论"), max_length=10, choices=Decision.choices, default=Decision.PENDING,
                                db_index=True)
    reason = models.CharField(_("理由"), max_length=300, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["review", "staff", "role"]
        constraints = [models.UniqueConstraint(fields=["review", "staff", "role"], name="one_review_item_per_role")]

    def audit_repr(self) -> str:
        return f"{self.review.period} {self.staff.staff_no} {self.role}"


# ======================================= C. Conduct, audit, retention ===============================================
class SignalRecord(models.Model):
    """Supervision's bookkeeping for one ``core.ConductSignal``: the detector's idempotency key (a nightly rerun finds
    the key and raises nothing new) and compliance's review — ``reviewed`` (no issue, with a note) or ``escalated``
    (a finding was raised). Signals raised in real time by features (``bulk_view_unmanaged``) get their record when
    they are reviewed."""

    class Outcome(models.TextChoices):
        OPEN = "open", _("待核查")
        REVIEWED = "reviewed", _("已核查，无问题")
        ESCALATED = "escalated", _("已升级为检查发现")

    signal = models.OneToOneField("core.ConductSignal", on_delete=models.PROTECT, related_name="supervision")
    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=40, db_index=True)
    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    outcome = models.CharField(_("核查结果"), max_length=10, choices=Outcome.choices, default=Outcome.OPEN,
                               db_index=True)
    note = models.TextField(_("核查说明"), blank=True)
    finding = models.ForeignKey(Finding, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-signal_id"]
        indexes = [models.Index(fields=["kind", "staff", "period_end"], name="signalrecord_kind_staff")]


class LeaveRecord(models.Model):
    """A period of leave of a member of staff. Mandatory (强制休假) leave of key posts is what the conduct check
    counts: at least N consecutive days within the last 12 months."""

    class Kind(models.TextChoices):
        MANDATORY = "mandatory", _("强制休假")
        ANNUAL = "annual", _("年休假")
        OTHER = "other", _("其他")

    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="leave_records", verbose_name=_("员工"))
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.MANDATORY)
    start_on = models.DateField(_("开始日期"))
    end_on = models.DateField(_("结束日期"))
    days = models.PositiveSmallIntegerField(_("连续天数"))
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-start_on", "-pk"]
        verbose_name = _("休假记录")
        constraints = [models.CheckConstraint(condition=Q(end_on__gte=models.F("start_on")), name="leave_end_after_start")]
        indexes = [models.Index(fields=["staff", "kind", "end_on"], name="leave_staff_kind_end")]

    def audit_repr(self) -> str:
        return f"{self.staff_id} {self.start_on}~{self.end_on}"


class RotationRecord(models.Model):
    """A member of staff holding a key post (关键岗位) from ``from_on`` to ``to_on`` (open while current). The check
    flags staff in the same post longer than M years."""

    staff = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="rotation_records", verbose_name=_("员工"))
    post = models.CharField(_("岗位"), max_length=24)  # a Role code (operations_manager, risk_manager…)
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("机构"))
    from_on = models.DateField(_("任职起始"))
    to_on = models.DateField(_("任职结束"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["staff", "-from_on"]
        verbose_name = _("岗位轮换记录")
        constraints = [
            models.UniqueConstraint(fields=["staff", "post"], condition=Q(to_on__isnull=True), name="one_current_post"),
            models.CheckConstraint(condition=Q(to_on__isnull=True) | Q(to_on__gte=models.F("from_on")),
                                   name="rotation_end_after_start"),
        ]

    def audit_repr(self) -> str:
        return f"{self.staff_id} {self.post} {self.from_on}"


class LegalHold(models.Model):
    """A legal hold (诉讼/调查保全): while active, the retention job neither purges nor anonymises what it covers.

    A hold names a customer (covers the customer's record, contacts, survey responses and access-log rows naming
    them), a member of staff (``target_type='org.Staff'``: their access- and security-log rows), or one record
    (``target_type``/``target_id``, e.g. ``surveys.Response`` 42)."""

    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("客户"))
    target_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    target_id = models.CharField(_("对象编号"), max_length=40, blank=True)
    reason = models.CharField(_("保全原因"), max_length=300)
    placed_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField()
    released_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True, db_index=True)
    release_reason = models.CharField(_("解除原因"), max_length=300, blank=True)

    class Meta:
        ordering = ["-placed_at", "-pk"]
        verbose_name = _("法律保全")
        constraints = [models.CheckConstraint(
            condition=Q(customer__isnull=False) | (~Q(target_type="") & ~Q(target_id="")), name="hold_names_something")]

    def audit_repr(self) -> str:
        return f"#{self.pk}"


class RetentionRun(models.Model):
    """One run of the retention job: per category, how many records were past their period, how many were held,
    how many were purged or anonymised (``counts``; no personal data). A dry run counts and changes nothing."""

    class Status(models.TextChoices):
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    dry_run = models.BooleanField(_("试运行"), default=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    counts = models.JSONField(default=dict)
    triggered_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("数据保留运行")


class RetentionDisposal(models.Model):
    """A record the retention job anonymised (it still exists, so a later run must skip it). Purged rows are gone
    and only counted in their run."""

    run = models.ForeignKey(RetentionRun, on_delete=models.PROTECT, related_name="disposals")
    category = models.CharField(max_length=30)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=40)
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["category", "target_type", "target_id"], name="dispose_once")]


class AuditExtract(models.Model):
    """A signed extract of the audit trail exported by an auditor: what was selected, how many events, the file's
    SHA-256 and its HMAC signature (the file itself is handed to the auditor, not kept)."""

    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    filters = models.JSONField(default=dict)
    count = models.PositiveIntegerField(default=0)
    first_seq = models.BigIntegerField(null=True, blank=True)
    last_seq = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def audit_repr(self) -> str:
        return f"#{self.pk}"
