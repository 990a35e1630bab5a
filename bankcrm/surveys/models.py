"""Satisfaction surveys: versioned templates, campaigns (periodic samples or event-triggered), invitations reached by
a single-use token (only its hash is stored), the customer's answers with scores, sentiment and keywords, and the
demo/test transport's message outbox."""

from __future__ import annotations

import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import pii
from bankcrm.core.fields import EncryptedTextField

pii.declare("surveys.OutboxMessage.body", pii.PiiClass.ENCRYPTED, pii.Sensitivity.C2, "generic",
            "调查邀请消息正文（含一次性答卷链接）")


LINK_RE = re.compile(r"(?:https?://[^\s/]+)?/s/[A-Za-z0-9_-]{43}/")


class QuestionKind(models.TextChoices):
    CSAT = "csat", _("满意度（1–5分）")
    NPS = "nps", _("推荐意愿（0–10分）")
    RATING = "rating", _("评分（1–5分）")
    CHOICE = "choice", _("单选")
    TEXT = "text", _("文字意见")


class SurveyTemplate(models.Model):
    """One version of a questionnaire. Editing saves a new version; campaigns and invitations keep the version they
    were sent with, so answers are always read against the questions the customer saw."""

    code = models.SlugField(_("模板代码"), max_length=40)
    version = models.PositiveIntegerField(_("版本"))
    name = models.CharField(_("名称"), max_length=80)
    intro = models.CharField(_("开场说明"), max_length=300, blank=True)
    questions = models.JSONField(_("题目"), default=list)  # [{"code","kind","text","required","options"?}]
    is_current = models.BooleanField(default=True)
    note = models.CharField(_("修改说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="survey_template_version_once"),
            models.UniqueConstraint(fields=["code"], condition=Q(is_current=True), name="survey_template_one_current"),
        ]
        verbose_name = _("调查模板")

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def audit_repr(self) -> str:
        return f"{self.code} v{self.version}"


class Campaign(models.Model):
    class Trigger(models.TextChoices):
        PERIODIC = "periodic", _("定期抽样")
        ACCOUNT_OPENED = "account_opened", _("开户后")
        COMPLAINT_CLOSED = "complaint_closed", _("投诉办结后")
        WEALTH_SOLD = "wealth_sold", _("理财产品销售后")

    class Frequency(models.TextChoices):
        MONTHLY = "monthly", _("每月")
        QUARTERLY = "quarterly", _("每季度")

    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        EMAIL = "email", _("电子邮件")

    name = models.CharField(_("活动名称"), max_length=80)
    trigger = models.CharField(_("触发方式"), max_length=20, choices=Trigger.choices)
    frequency = models.CharField(_("周期"), max_length=10, choices=Frequency.choices, blank=True)
    per_manager = models.PositiveIntegerField(_("每位客户经理抽样数"), default=10)
    template = models.ForeignKey(SurveyTemplate, verbose_name=_("调查模板"), on_delete=models.PROTECT,
                                 related_name="campaigns")
    channel = models.CharField(_("发送渠道"), max_length=8, choices=Channel.choices, default=Channel.SMS)
    min_interval_days = models.PositiveIntegerField(_("同一客户最短间隔（天）"), null=True, blank=True,
                                                    help_text=_("留空则使用规则参数 surveys.min_interval"))
    valid_days = models.PositiveIntegerField(_("链接有效期（天）"), null=True, blank=True)
    csat_low = models.PositiveSmallIntegerField(_("满意度低分线（≤）"), null=True, blank=True)
    nps_low = models.PositiveSmallIntegerField(_("推荐意愿低分线（≤）"), null=True, blank=True)
    branch = models.ForeignKey("org.Branch", verbose_name=_("范围机构"), on_delete=models.PROTECT, related_name="+")
    branch_path = models.CharField(max_length=255, db_index=True)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("调查活动")

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"C{self.pk} {self.name}"


class CampaignRun(models.Model):
    """One sampling of a periodic campaign for one period (unique), which plans its invitations."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    period = models.CharField(_("期间"), max_length=10)
    sampled = models.PositiveIntegerField(default=0)
    skipped_consent = models.PositiveIntegerField(default=0)
    skipped_interval = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["campaign", "period"], name="survey_run_once_per_period")]


class Invitation(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", _("待发送")
        SENT = "sent", _("已发送")
        ANSWERED = "answered", _("已答复")
        EXPIRED = "expired", _("已过期")
        CANCELLED = "cancelled", _("已取消")

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="invitations")
    run = models.ForeignKey(CampaignRun, null=True, blank=True, on_delete=models.PROTECT, related_name="invitations")
    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="survey_invitations")
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+")
    branch_path = models.CharField(max_length=255, db_index=True)
    trigger = models.CharField(max_length=20, choices=Campaign.Trigger.choices)
    product = models.CharField(_("产品"), max_length=60, blank=True)
    channel = models.CharField(max_length=8, choices=Campaign.Channel.choices)
    source_ref = models.CharField(max_length=80, unique=True)  # what caused it: one invitation per cause
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED, db_index=True)
    cancel_reason = models.CharField(max_length=60, blank=True)
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "created_at"])]
        verbose_name = _("调查邀请")

    def audit_repr(self) -> str:
        return f"S{self.pk}"


class Response(models.Model):
    class Sentiment(models.TextChoices):
        POSITIVE = "positive", _("正面")
        NEUTRAL = "neutral", _("中性")
        NEGATIVE = "negative", _("负面")

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="response")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="survey_responses")
    answers = models.JSONField(default=dict)
    csat = models.PositiveSmallIntegerField(null=True, blank=True)
    nps = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, blank=True)
    keywords = models.JSONField(default=list)
    low_score = models.BooleanField(default=False)
    needs_followup = models.BooleanField(default=False)
    case_ref = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("调查答卷")


class OutboxMessage(models.Model):
    """What the outbox transport "sent": the demo and tests read invitations here (消息发件箱). The recipient is
    stored masked; the body (with its one-time link) is encrypted at rest."""

    invitation = models.OneToOneField(Invitation, on_delete=models.PROTECT, related_name="message")
    channel = models.CharField(max_length=8, choices=Campaign.Channel.choices)
    recipient_masked = models.CharField(max_length=60)
    subject = models.CharField(max_length=120, blank=True)
    body = EncryptedTextField()
    branch_path = models.CharField(max_length=255, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def link(self) -> str:
        """The one-time answer link in the message (for the outbox page's button)."""
        m = LINK_RE.search(self.body or "")
        return m.group(0) if m else ""
