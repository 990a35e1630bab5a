"""Partner organisations (DOMAIN_RULES.md §1 "Principle: cooperation with customers, partners, regulators"):
insurers and fund companies whose products the bank sells, the payment clearing house, regulators.

``Partner``: the organisation, what it may receive (events) and do (API scopes), an optional IP allow-list.
``PartnerProduct``: a wealth product issued by the partner (the only products its API key can touch).
``ApiKey``: a scoped key; only a keyed digest of the secret is stored, rotation keeps the old key working until a
grace end. ``ApiCall``: one row per call made with a partner key, allowed or refused (no bodies, no personal data).
``WebhookEndpoint``: where events are pushed, with an encrypted signing secret. ``PartnerEvent``: one event for one
partner, built from an outbox fact with only what the partner needs; ``WebhookDelivery``: its delivery to one
endpoint with retries.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bankcrm.core import pii
from bankcrm.core.fields import EncryptedTextField

USER = settings.AUTH_USER_MODEL

pii.declare("partners.WebhookEndpoint.secret", pii.PiiClass.ENCRYPTED, pii.Sensitivity.C3, "generic",
            "Webhook 签名密钥（机密，非个人信息）")
pii.declare("partners.WebhookEndpoint.previous_secret", pii.PiiClass.ENCRYPTED, pii.Sensitivity.C3, "generic",
            "轮换前的 Webhook 签名密钥（宽限期内并行签名）")


class Partner(models.Model):
    """A partner organisation with its own API keys and webhook endpoints."""

    class Kind(models.TextChoices):
        INSURER = "insurer", _("保险公司")
        FUND_COMPANY = "fund_company", _("基金公司")
        CLEARING_HOUSE = "clearing_house", _("支付清算机构")
        REGULATOR = "regulator", _("监管机构")
        OTHER = "other", _("其他机构")

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常")
        SUSPENDED = "suspended", _("已暂停")

    code = models.CharField(_("机构代码"), max_length=20, unique=True)
    name = models.CharField(_("机构名称"), max_length=100)
    kind = models.CharField(_("机构类型"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    contact = models.CharField(_("业务联系部门"), max_length=100, blank=True,
                               help_text=_("对方负责对接的部门或岗位，不填个人手机号"))
    allowed_events = models.JSONField(_("可接收事件"), default=list, blank=True)
    allowed_scopes = models.JSONField(_("可授权接口范围"), default=list, blank=True)
    ip_allowlist = models.JSONField(_("来源 IP 白名单"), default=list, blank=True)
    note = models.TextField(_("备注"), blank=True)
    suspended_reason = models.CharField(_("暂停原因"), max_length=200, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("合作机构")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def audit_repr(self) -> str:
        return f"{self.code} {self.name}"


class PartnerProduct(models.Model):
    """A product on the shelf issued by this partner: its key may read it and (fund companies) post its NAV."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="products")
    product = models.OneToOneField("wealth.WealthProduct", on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("产品"))
    linked_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner", "product__code"]
        verbose_name = _("合作机构产品")


class ApiKey(models.Model):
    """A partner's API key. The token is ``bkp_<12 hex>_<secret>``: the key id is public (lists, logs), the secret is
    shown once and only its keyed digest is kept. Rotation issues a successor and lets this key work until
    ``grace_until``; revocation stops it at once."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="keys")
    key_id = models.CharField(_("密钥编号"), max_length=20, unique=True)
    secret_digest = models.CharField(max_length=64)
    label = models.CharField(_("用途"), max_length=60)
    scopes = models.JSONField(_("接口范围"), default=list)
    created_at = models.DateTimeField(_("签发时间"))
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField(_("到期时间"))
    replaced_by = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="replaces", verbose_name=_("轮换后的新密钥"))
    grace_until = models.DateTimeField(_("旧密钥宽限至"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)
    revoked_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoke_reason = models.CharField(_("吊销原因"), max_length=200, blank=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    last_used_ip = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["partner", "-created_at", "-id"]
        verbose_name = _("合作机构 API 密钥")

    def __str__(self) -> str:
        return self.key_id

    def audit_repr(self) -> str:
        return self.key_id

    def state(self, now) -> str:
        """active / grace (rotated, still accepted) / retired (rotated, grace over) / expired / revoked."""
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.replaced_by_id:
            return "grace" if self.grace_until and self.grace_until > now else "retired"
        return "active"


class ApiCall(models.Model):
    """One request that presented a partner key or reached the partner API: who (when the key id is known), what
    (method and path only, never bodies or query strings), the answer and how long it took."""

    occurred_at = models.DateTimeField(db_index=True)
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="calls",
                                db_constraint=False)
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="calls",
                                db_constraint=False)
    key_id = models.CharField(max_length=20, blank=True)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=200)
    status = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=40, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=32, blank=True)
    ip = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["partner", "occurred_at"], name="partners_call_partner_at")]
        verbose_name = _("合作机构接口调用")


class WebhookEndpoint(models.Model):
    """An HTTPS address of the partner that receives the events it subscribed to, signed with ``secret`` (encrypted
    at rest; shown to the bank's administrator once, at creation and at each rotation, to hand to the partner)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="endpoints")
    url = models.CharField(_("推送地址"), max_length=500)
    description = models.CharField(_("说明"), max_length=100, blank=True)
    events = models.JSONField(_("订阅事件"), default=list)
    active = models.BooleanField(_("启用"), default=True)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_valid_until = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(_("签名密钥轮换时间"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["partner", "id"]
        verbose_name = _("Webhook 推送地址")

    def __str__(self) -> str:
        return self.url

    def audit_repr(self) -> str:
        return f"{self.partner.code} #{self.pk}"


class PartnerEvent(models.Model):
    """One event for one partner: the outbox fact reduced to what the partner needs (ids, product codes, amounts,
    masked names). ``source`` identifies the fact (``outbox:<id>``), so a fact yields at most one event per partner."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    digest = models.CharField(max_length=64)
    source = models.CharField(max_length=60)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["partner", "source"], name="partners_event_once_per_source")]
        verbose_name = _("合作机构事件")


class WebhookDelivery(models.Model):
    """The delivery of one event to one endpoint: retried with exponential backoff until a 2xx answer or the last
    attempt (then ``dead``). At least once on the wire (a worker may die after sending); receivers de-duplicate by
    the ``X-Bankcrm-Delivery`` id."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待推送")
        FAILED = "failed", _("失败待重试")
        DELIVERED = "delivered", _("已送达")
        DEAD = "dead", _("已放弃")

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    event = models.ForeignKey(PartnerEvent, on_delete=models.PROTECT, related_name="deliveries")
    delivery_id = models.CharField(max_length=40, unique=True)
    payload_digest = models.CharField(max_length=64)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("最近尝试"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("最近响应码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=200, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="partners_delivery_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="partners_delivery_due"),
                   models.Index(fields=["endpoint", "created_at"], name="partners_delivery_endpoint")]
        verbose_name = _("Webhook 推送记录")

    @property
    def open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.FAILED)


OPEN_DELIVERY = Q(status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.FAILED])
