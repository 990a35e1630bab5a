"""Service requests and complaints (DOMAIN_RULES.md §5; issue #7).

- ``ServiceRequest``: an enquiry, request or appointment from any channel, with response and resolution targets by
  priority, an owner, and escalation to the owner's supervisor before a target is missed.
- ``Complaint``: a complaint (or a *feedback case* opened from a survey) under the 2020 rules: acknowledgement by
  the next working day, decision within 15 calendar days, extensions to 30 and 60 with reasons and notices, recusal
  of the staff member complained about, findings, decision, remedy, root cause and rectification actions.
- ``RootCause``: the maintained taxonomy of causes (two levels), editable by administrators.
- ``Notification``: an in-app notice to a member of staff (escalations); one per ``dedupe_key``, so a sweep killed
  and re-run never notifies twice.

Deadlines are computed once by `rules` and stored (indexed); lists and the sweep read the columns.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    BRANCH = "branch", _("网点")
    PHONE = "phone", _("电话")
    ONLINE = "online", _("线上")
    LETTER = "letter", _("信函")
    REGULATOR = "regulator", _("监管转办")
    SURVEY = "survey", _("满意度调查")


class ProductLine(models.TextChoices):
    DEPOSIT = "deposit", _("存款")
    WEALTH = "wealth", _("理财")
    LOAN = "loan", _("贷款")
    CARD = "card", _("银行卡")
    PAYMENT = "payment", _("支付结算")
    SERVICE = "service", _("柜面与渠道服务")
    OTHER = "other", _("其他")


class RootCause(models.Model):
    """One cause in the taxonomy: a top-level category (服务态度, 业务差错…) or a sub-cause under it."""

    code = models.CharField(_("代码"), max_length=20, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("上级原因"))
    active = models.BooleanField(_("启用"), default=True)
    order = models.PositiveIntegerField(_("排序"), default=0)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("投诉原因")

    def __str__(self) -> str:
        return f"{self.parent.name} / {self.name}" if self.parent_id else self.name

    @property
    def top(self) -> RootCause:
        return self.parent if self.parent_id else self


class ServiceRequest(models.Model):
    class Kind(models.TextChoices):
        ENQUIRY = "enquiry", _("咨询")
        REQUEST = "request", _("业务申请")
        APPOINTMENT = "appointment", _("预约")

    class Priority(models.TextChoices):
        URGENT = "urgent", _("紧急")
        HIGH = "high", _("高")
        NORMAL = "normal", _("普通")
        LOW = "low", _("低")

    class Status(models.TextChoices):
        OPEN = "open", _("待响应")
        IN_PROGRESS = "in_progress", _("处理中")
        RESOLVED = "resolved", _("已解决")
        CLOSED = "closed", _("已关闭")

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    number = models.CharField(_("编号"), max_length=20, unique=True)
    kind = models.CharField(_("类型"), max_length=12, choices=Kind.choices)
    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    priority = models.CharField(_("优先级"), max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    subject = models.CharField(_("事由"), max_length=120)
    description = models.TextField(_("详细内容"), blank=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="service_requests")
    branch_path = models.CharField(max_length=255, db_index=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_requests",
                              verbose_name=_("负责人"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN, db_index=True)
    appointment_at = models.DateTimeField(_("预约时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("受理时间"))
    respond_due_at = models.DateTimeField(_("响应时限"), db_index=True)
    resolve_due_at = models.DateTimeField(_("解决时限"), db_index=True)
    responded_at = models.DateTimeField(_("响应时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    resolution = models.TextField(_("处理结果"), blank=True)
    respond_escalated_at = models.DateTimeField(null=True, blank=True)
    resolve_escalated_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("升级至"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["resolve_due_at", "id"]
        verbose_name = _("服务请求")
        indexes = [models.Index(fields=["status", "resolve_due_at"], name="svc_req_status_due")]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def next_due_at(self):
        return self.respond_due_at if self.responded_at is None else self.resolve_due_at


class Complaint(models.Model):
    """A complaint, or a feedback case opened from a low survey score (kind ``feedback``, channel ``survey``)."""

    class Kind(models.TextChoices):
        COMPLAINT = "complaint", _("投诉")
        FEEDBACK = "feedback", _("客户反馈")

    class Status(models.TextChoices):
        RECEIVED = "received", _("已登记")
        ACKNOWLEDGED = "acknowledged", _("已受理")
        ASSIGNED = "assigned", _("处理中")
        DECIDED = "decided", _("已作出决定")
        CLOSED = "closed", _("已办结")

    class Decision(models.TextChoices):
        UPHELD = "upheld", _("投诉成立")
        PARTLY = "partly", _("部分成立")
        NOT_UPHELD = "not_upheld", _("投诉不成立")

    OPEN_STATUSES = (Status.RECEIVED, Status.ACKNOWLEDGED, Status.ASSIGNED)

    number = models.CharField(_("编号"), max_length=20, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.COMPLAINT)
    channel = models.CharField(_("渠道"), max_length=12, choices=Channel.choices)
    product_line = models.CharField(_("业务类别"), max_length=10, choices=ProductLine.choices,
                                    default=ProductLine.OTHER)
    summary = models.CharField(_("投诉事由"), max_length=200)
    description = models.TextField(_("投诉内容"), blank=True)
    request = models.TextField(_("客户诉求"), blank=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="complaints")
    branch_path = models.CharField(max_length=255, db_index=True)
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("被投诉机构"))
    staff_named = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="complaints_about", verbose_name=_("被投诉员工"))
    handler = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="complaints_handled", verbose_name=_("经办人"))
    source_ref = models.CharField(_("来源编号"), max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.RECEIVED,
                              db_index=True)
    received_at = models.DateTimeField(_("收到时间"))
    ack_due_on = models.DateField(_("受理回执时限"), db_index=True)
    acknowledged_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    decision_due_on = models.DateField(_("处理决定时限"), db_index=True)
    extension_level = models.PositiveSmallIntegerField(_("延期次数"), default=0)
    assigned_at = models.DateTimeField(_("分派时间"), null=True, blank=True)
    findings = models.TextField(_("调查情况"), blank=True)
    decision = models.CharField(_("处理决定"), max_length=12, choices=Decision.choices, blank=True)
    remedy = models.TextField(_("补救措施"), blank=True)
    root_cause = models.ForeignKey(RootCause, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("根本原因"))
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    ack_escalated_at = models.DateTimeField(null=True, blank=True)
    decision_escalated_for = models.DateField(null=True, blank=True)
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("升级至"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")

    class Meta:
        ordering = ["decision_due_on", "id"]
        verbose_name = _("投诉")
        indexes = [models.Index(fields=["status", "decision_due_on"], name="svc_cmp_status_due"),
                   models.Index(fields=["status", "ack_due_on"], name="svc_cmp_status_ack")]

    def __str__(self) -> str:
        return f"{self.number} {self.summary}"

    def audit_repr(self) -> str:
        return f"{self.number} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class Extension(models.Model):
    """One extension of a complaint's decision date: who approved it, why, and the notice to the complainant."""

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="extensions")
    level = models.PositiveSmallIntegerField(_("第几次延期"))
    reason = models.TextField(_("延期理由"))
    previous_due_on = models.DateField()
    new_due_on = models.DateField(_("延至"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["level"]
        constraints = [models.UniqueConstraint(fields=["complaint", "level"], name="svc_extension_once")]


class Notice(models.Model):
    """A letter or message to the complainant (acknowledgement, extension notice, decision letter), kept as sent."""

    class Kind(models.TextChoices):
        ACKNOWLEDGEMENT = "ack", _("受理回执")
        EXTENSION = "extension", _("延期告知书")
        DECISION = "decision", _("处理决定书")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    body = models.TextField(_("内容"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]


class Rectification(models.Model):
    """An improvement action following a complaint: what, who, by when; tracked to done."""

    class Status(models.TextChoices):
        OPEN = "open", _("进行中")
        DONE = "done", _("已完成")

    complaint = models.ForeignKey(Complaint, on_delete=models.PROTECT, related_name="rectifications")
    action = models.CharField(_("整改措施"), max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("责任人"))
    due_on = models.DateField(_("完成期限"), db_index=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_note = models.CharField(_("完成情况"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_on", "id"]


class Event(models.Model):
    """The timeline of a request or a complaint: received, acknowledged, assigned, escalated, extended, decided…"""

    request = models.ForeignKey(ServiceRequest, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    complaint = models.ForeignKey(Complaint, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24)
    text = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.CheckConstraint(condition=Q(request__isnull=False) | Q(complaint__isnull=False),
                                              name="svc_event_has_subject")]


class Notification(models.Model):
    """An in-app notice for one member of staff (shown in the inbox until read). ``dedupe_key`` is unique: the
    escalation sweep may be killed and re-run any number of times and still notifies once."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="service_notices")
    dedupe_key = models.CharField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    url = models.CharField(max_length=200)
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="svc_notice_unread")]
