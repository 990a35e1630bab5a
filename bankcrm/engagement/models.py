"""Needs analysis and personalised service (DOMAIN_RULES.md §1; issue #9).

- ``Interaction``: a visit, call, WeChat conversation, branch meeting or event with a customer — planned (on the
  calendar) or done, with notes, participants and next steps.
- ``PlanTemplate`` / ``ActionPlan`` / ``Task``: templates of dated steps (onboarding, annual review, maturity
  follow-up, high-value retention) that create tasks; tasks may also come from interactions, referrals, life events
  and accepted recommendations.
- ``Referral``: one member of staff introduces a customer to another (e.g. a wealth specialist), with status and
  outcome. ``Opportunity``: a need on its way to a sale (need → contacted → proposal → won/lost), linked to the
  wealth sale that wins it.
- ``NeedsProfile`` (current) and ``NeedsProfileVersion`` (history): goals, horizon, liquidity and constraints.
- ``Insight``: an intent (房贷, 理财, 留学, 养老, 保险 …) found in a note, complaint or survey comment, kept with the
  sentence it came from and its sentiment. ``LifeEvent``: birthday, time-deposit maturity, large inflow, child
  starting school, retirement.
- ``Segment``: a customer's value tier, RFM score or behaviour cluster over time (one open row per kind).
  ``ClusterModel`` and ``PropensityModel``: what was learned, with its seed and its held-out figures.
- ``Recommendation``: a next best action with its reasons in plain Chinese, its source (rule or model) and what the
  manager decided.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Interaction(models.Model):
    class Kind(models.TextChoices):
        VISIT = "visit", _("上门拜访")
        CALL = "call", _("电话")
        WECHAT = "wechat", _("微信")
        MEETING = "meeting", _("网点面谈")
        EVENT = "event", _("客户活动")

    class Status(models.TextChoices):
        PLANNED = "planned", _("计划中")
        DONE = "done", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("客户"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("记录人"))
    branch_path = models.CharField(max_length=255, db_index=True)
    kind = models.CharField(_("方式"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DONE)
    planned_at = models.DateTimeField(_("计划时间"), null=True, blank=True)
    occurred_at = models.DateTimeField(_("发生时间"), null=True, blank=True)
    subject = models.CharField(_("主题"), max_length=100)
    notes = models.TextField(_("记录"), blank=True)
    participants = models.JSONField(_("参与人"), default=list, blank=True)
    next_steps = models.CharField(_("下一步"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-planned_at", "-id"]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="interaction_customer_time"),
                   models.Index(fields=["staff", "status", "planned_at"], name="interaction_staff_planned")]
        constraints = [
            models.CheckConstraint(condition=~Q(status="planned") | Q(planned_at__isnull=False),
                                   name="interaction_planned_has_time"),
            models.CheckConstraint(condition=~Q(status="done") | Q(occurred_at__isnull=False),
                                   name="interaction_done_has_time"),
        ]
        verbose_name = _("客户互动")


class PlanTemplate(models.Model):
    """Steps: ``[{"title": "...", "title_en": "...", "offset_days": 0}, ...]`` relative to the plan's start."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    name_en = models.CharField(_("英文名称"), max_length=80, blank=True)
    steps = models.JSONField(_("步骤"), default=list)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("行动计划模板")

    def __str__(self) -> str:
        return self.name


class ActionPlan(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("进行中")
        DONE = "done", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    template = models.ForeignKey(PlanTemplate, on_delete=models.PROTECT, related_name="plans")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    branch_path = models.CharField(max_length=255, db_index=True)
    started_on = models.DateField(_("开始日期"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = _("行动计划")


class Task(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待办")
        DONE = "done", _("已完成")
        CANCELLED = "cancelled", _("已取消")

    class Source(models.TextChoices):
        MANUAL = "manual", _("手工")
        PLAN = "plan", _("行动计划")
        INTERACTION = "interaction", _("互动跟进")
        REFERRAL = "referral", _("转介")
        RECOMMENDATION = "recommendation", _("推荐跟进")
        LIFE_EVENT = "life_event", _("客户事件")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("负责人"))
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", verbose_name=_("客户"))
    branch_path = models.CharField(max_length=255, db_index=True)
    plan = models.ForeignKey(ActionPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(_("事项"), max_length=120)
    due_on = models.DateField(_("到期日"), db_index=True)
    remind_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices, default=Source.MANUAL)
    source_ref = models.CharField(max_length=64, blank=True)
    result = models.CharField(_("结果"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_on"], name="task_owner_due")]
        constraints = [models.UniqueConstraint(fields=["source", "source_ref"], condition=~Q(source_ref=""),
                                               name="one_task_per_source_ref")]
        verbose_name = _("任务")


class Opportunity(models.Model):
    class Stage(models.TextChoices):
        NEED = "need", _("发现需求")
        CONTACTED = "contacted", _("已沟通")
        PROPOSAL = "proposal", _("已推介")
        WON = "won", _("已成交")
        LOST = "lost", _("未成交")

    OPEN = (Stage.NEED, Stage.CONTACTED, Stage.PROPOSAL)

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("客户"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("负责人"))
    branch_path = models.CharField(max_length=255, db_index=True)
    title = models.CharField(_("商机"), max_length=120)
    goal = models.CharField(_("需求类型"), max_length=20, blank=True)
    stage = models.CharField(_("阶段"), max_length=10, choices=Stage.choices, default=Stage.NEED, db_index=True)
    product = models.ForeignKey("wealth.WealthProduct", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+", verbose_name=_("意向产品"))
    amount_fen = models.BigIntegerField(_("预计金额"), default=0)
    expected_close = models.DateField(_("预计成交日"), null=True, blank=True)
    sale = models.ForeignKey("wealth.Sale", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("成交记录"))
    lost_reason = models.CharField(_("未成交原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "stage"], name="opportunity_owner_stage")]
        constraints = [models.CheckConstraint(condition=~Q(stage="won") | Q(sale__isnull=False),
                                              name="opportunity_won_has_sale"),
                       # a sale wins at most one opportunity (the wealth.sold consumer relies on it: idempotent)
                       models.UniqueConstraint(fields=["sale"], condition=Q(sale__isnull=False),
                                               name="one_opportunity_per_sale")]
        verbose_name = _("商机")


class Referral(models.Model):
    class Status(models.TextChoices):
        SENT = "sent", _("待接收")
        ACCEPTED = "accepted", _("已接收")
        DECLINED = "declined", _("已退回")
        COMPLETED = "completed", _("已完成")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("客户"))
    from_staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("转介人"))
    to_staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("接收人"))
    branch_path = models.CharField(max_length=255, db_index=True)
    reason = models.CharField(_("转介原因"), max_length=200)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.SENT, db_index=True)
    outcome = models.CharField(_("结果"), max_length=200, blank=True)
    opportunity = models.ForeignKey(Opportunity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("转介")


class NeedsProfile(models.Model):
    """The customer's current needs; every save also writes a ``NeedsProfileVersion``."""

    class Horizon(models.TextChoices):
        SHORT = "short", _("1年以内")
        MEDIUM = "medium", _("1—5年")
        LONG = "long", _("5年以上")

    class Liquidity(models.TextChoices):
        HIGH = "high", _("随时可能用钱")
        MEDIUM = "medium", _("部分资金需灵活支取")
        LOW = "low", _("长期闲置资金")

    customer = models.OneToOneField("customers.Customer", on_delete=models.PROTECT, related_name="+")
    goals = models.JSONField(_("理财目标"), default=list)
    horizon = models.CharField(_("投资期限"), max_length=8, choices=Horizon.choices)
    liquidity = models.CharField(_("流动性需求"), max_length=8, choices=Liquidity.choices)
    constraints = models.CharField(_("约束条件"), max_length=300, blank=True)
    notes = models.TextField(_("补充说明"), blank=True)
    version = models.PositiveIntegerField(default=1)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        verbose_name = _("需求档案")


class NeedsProfileVersion(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["customer", "version"], name="one_needs_version")]


class Insight(models.Model):
    class Source(models.TextChoices):
        INTERACTION = "interaction", _("互动记录")
        COMPLAINT = "complaint", _("投诉与反馈")
        SURVEY = "survey", _("满意度调查")
        REQUEST = "request", _("服务请求")

    class Sentiment(models.TextChoices):
        POSITIVE = "pos", _("正面")
        NEUTRAL = "neu", _("中性")
        NEGATIVE = "neg", _("负面")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("来源"), max_length=12, choices=Source.choices)
    source_id = models.BigIntegerField()
    intent = models.CharField(_("意图"), max_length=20, db_index=True)
    keyword = models.CharField(_("关键词"), max_length=40)
    sentence = models.CharField(_("原句"), max_length=300)
    sentiment = models.CharField(_("情绪"), max_length=3, choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    found_at = models.DateTimeField()

    class Meta:
        ordering = ["-found_at", "-id"]
        indexes = [models.Index(fields=["customer", "found_at"], name="insight_customer_time")]
        constraints = [models.UniqueConstraint(fields=["source", "source_id", "intent"], name="one_intent_per_source")]
        verbose_name = _("客户洞察")


class LifeEvent(models.Model):
    class Kind(models.TextChoices):
        BIRTHDAY = "birthday", _("生日")
        MATURITY = "maturity", _("定期存款到期")
        WEALTH_MATURITY = "wm_maturity", _("理财产品到期")
        LARGE_INFLOW = "inflow", _("大额资金流入")
        SCHOOL = "school", _("子女入学")
        RETIREMENT = "retirement", _("临近退休")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("事件"), max_length=12, choices=Kind.choices)
    on_date = models.DateField(_("日期"), db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on_date", "id"]
        indexes = [models.Index(fields=["customer", "on_date"], name="lifeevent_customer_date")]
        verbose_name = _("客户事件")


class Segment(models.Model):
    class Kind(models.TextChoices):
        TIER = "tier", _("价值分层")
        RFM = "rfm", _("RFM 评分")
        CLUSTER = "cluster", _("行为分群")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类型"), max_length=8, choices=Kind.choices)
    code = models.CharField(_("分群"), max_length=20)
    label = models.CharField(_("名称"), max_length=60)
    detail = models.JSONField(default=dict, blank=True)
    since = models.DateField(_("起始日"))
    until = models.DateField(_("截止日"), null=True, blank=True)

    class Meta:
        ordering = ["-since", "-id"]
        constraints = [models.UniqueConstraint(fields=["customer", "kind"], condition=Q(until__isnull=True),
                                               name="one_open_segment_per_kind")]
        indexes = [models.Index(fields=["kind", "code"], condition=Q(until__isnull=True), name="segment_open_code")]
        verbose_name = _("客户分群")


class ClusterModel(models.Model):
    version = models.PositiveIntegerField(unique=True)
    seed = models.IntegerField()
    features = models.JSONField()
    scaler = models.JSONField()
    centers = models.JSONField()
    labels = models.JSONField()
    n_customers = models.PositiveIntegerField()
    inertia = models.FloatField()
    trained_at = models.DateTimeField()
    # cluster sizes, centres in the features' own units, the label rule that named each cluster (segments.py)
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-version"]


class PropensityModel(models.Model):
    version = models.PositiveIntegerField(unique=True)
    seed = models.IntegerField()
    features = models.JSONField()
    coefficients = models.JSONField()
    auc_model = models.FloatField()
    auc_baseline = models.FloatField()
    n_train = models.PositiveIntegerField()
    n_test = models.PositiveIntegerField()
    trained_at = models.DateTimeField()
    active = models.BooleanField(default=False)
    # per-category AUCs, positives, both baselines, the split rule and the data cut (propensity.py)
    figures = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-version"]


class Recommendation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        ACCEPTED = "accepted", _("已采纳")
        DECLINED = "declined", _("已拒绝")
        EXPIRED = "expired", _("已失效")

    class Source(models.TextChoices):
        RULE = "rule", _("规则")
        MODEL = "model", _("模型")

    class Kind(models.TextChoices):
        """What triggered the recommendation (its strongest reason): the "action" of the conversion statistics."""
        MATURITY = "maturity", _("定期到期续作")
        IDLE_BALANCE = "idle_balance", _("闲置资金配置")
        GOAL = "goal", _("需求目标匹配")
        INTENT = "intent", _("客户意向跟进")
        MODEL = "model", _("模型推荐")
        BIRTHDAY = "birthday", _("生日关怀")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("建议"), max_length=40)
    kind = models.CharField(_("推荐类型"), max_length=16, choices=Kind.choices, default=Kind.MODEL, db_index=True)
    category = models.CharField(_("产品类别"), max_length=12, blank=True)
    title = models.CharField(_("标题"), max_length=120)
    product = models.ForeignKey("wealth.WealthProduct", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    score = models.FloatField(_("得分"))
    reasons = models.JSONField(_("理由"), default=list)
    source = models.CharField(_("来源"), max_length=8, choices=Source.choices)
    segment = models.CharField(max_length=20, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.CharField(_("拒绝原因"), max_length=200, blank=True)
    opportunity = models.ForeignKey(Opportunity, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    converted = models.BooleanField(_("已转化"), default=False)
    converted_at = models.DateTimeField(_("转化时间"), null=True, blank=True)
    converted_sale_id = models.BigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(_("有效期至"), null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    segments = models.JSONField(default=dict, blank=True)  # the customer's tier / RFM / cluster when it was made
    detail = models.JSONField(default=dict, blank=True)  # triggers, goal, suggested amount (nba.py)

    class Meta:
        ordering = ["-score", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "action"], condition=Q(status="open"),
                                    name="one_open_recommendation_per_action"),
        ]
        indexes = [models.Index(fields=["customer", "status"], name="recommendation_customer")]
        verbose_name = _("推荐")


class IntentDictionary(models.Model):
    """A version of the intent dictionary saved by an administrator (validated, audited, never edited afterwards).
    The newest version is in force; with none, the dictionary maintained in the repository (data/intents.json) is.
    See ``insight_services.active_dictionary``."""

    version = models.PositiveIntegerField(_("版本"), unique=True)
    data = models.JSONField(_("词典"))
    digest = models.CharField(max_length=16)
    note = models.CharField(_("修改说明"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("修改人"))
    created_at = models.DateTimeField(_("保存时间"))

    class Meta:
        ordering = ["-version"]
        verbose_name = _("意图词典版本")
