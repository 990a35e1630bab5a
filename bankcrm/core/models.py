"""The foundation's append-only logs, rule parameters, working-day calendar and job bookkeeping."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditHead(models.Model):
    """One row holding the chain's last sequence number and hash. Appends lock it, which serialises them."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")


class AuditEvent(models.Model):
    """One state change, unmasking or export: append-only and hash-chained (HMAC with a key outside the DB).

    ``hash = HMAC(audit_key, canonical_json(seq, prev_hash, fields…))``. Editing, deleting, reordering or forging a
    row breaks the chain at that row; truncating the tail shows against the signed heads exported daily.
    A trigger refuses UPDATE and DELETE on both databases (migration 0002).
    """

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", db_constraint=False)
    actor_label = models.CharField(max_length=120, blank=True)
    verb = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=32, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    channel = models.CharField(max_length=16, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["target_type", "target_id"]), models.Index(fields=["actor", "occurred_at"])]
        verbose_name = _("审计事件")


class AccessEvent(models.Model):
    """A read that revealed customer or staff personal data (masked or not): who saw whose data, where, how many."""

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                              db_constraint=False)
    channel = models.CharField(max_length=16)  # html, api, export, print
    view = models.CharField(max_length=100)
    subject_type = models.CharField(max_length=64)
    subject_ids = models.JSONField(default=list)
    subject_count = models.PositiveIntegerField(default=0)
    fields = models.JSONField(default=list)
    unmasked = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=32, blank=True)
    ip = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["actor", "occurred_at"])]
        verbose_name = _("个人信息访问记录")


class SecurityEvent(models.Model):
    """Logins, failures, lockouts, TOTP failures, denied requests, session ends."""

    class Kind(models.TextChoices):
        LOGIN_OK = "login_ok", _("登录成功")
        LOGIN_FAILED = "login_failed", _("登录失败")
        LOCKED_OUT = "locked_out", _("账户锁定")
        TOTP_FAILED = "totp_failed", _("动态口令错误")
        TOTP_ENROLLED = "totp_enrolled", _("绑定动态口令")
        LOGOUT = "logout", _("退出登录")
        SESSION_ENDED = "session_ended", _("会话被终止")
        DENIED = "denied", _("拒绝访问")
        CSRF_FAILED = "csrf_failed", _("CSRF 校验失败")
        TOKEN_FAILED = "token_failed", _("API 令牌无效")

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=24, choices=Kind.choices, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", db_constraint=False)
    username = models.CharField(max_length=64, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    path = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("安全日志")


class ParameterVersion(models.Model):
    """A value of a rule parameter in force from ``effective_from`` until the next version of the same code."""

    code = models.CharField(max_length=80, db_index=True)
    value = models.JSONField()
    effective_from = models.DateTimeField()
    reason = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-effective_from", "-id"]
        constraints = [models.UniqueConstraint(fields=["code", "effective_from"], name="param_one_version_per_instant")]
        verbose_name = _("规则参数版本")


class CalendarDay(models.Model):
    """An exception to the Monday–Friday rule: a public holiday on a weekday, or a makeup working day (调休)."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("法定节假日")
        WORKDAY = "workday", _("调休上班")

    date = models.DateField(unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=40)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("工作日历")


class ScheduledRun(models.Model):
    """One enqueued slot of a periodic job; the unique key makes the scheduler safe to run twice."""

    name = models.CharField(max_length=80)
    slot = models.CharField(max_length=32)
    enqueued_at = models.DateTimeField(auto_now_add=True)
    task_result_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="scheduled_run_once")]


class Sequence(models.Model):
    """Named counters for human-facing numbers (customer and account numbers). Reserving a block is one atomic
    UPDATE … RETURNING, so concurrent registrations and bulk imports never share a number."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)


class ConductSignal(models.Model):
    """A sign of abnormal staff behaviour for compliance to look at (viewing many customers one does not manage,
    bulk unmasking, odd hours…). Raised by detectors in the features; reviewed by compliance managers."""

    class Status(models.TextChoices):
        OPEN = "open", _("待核查")
        CLOSED = "closed", _("已核查")

    kind = models.CharField(max_length=40, db_index=True)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    branch_path = models.CharField(max_length=255, db_index=True)
    detail = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    conclusion = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]


class OutboxEvent(models.Model):
    """A fact published by a service inside its transaction (a posted transaction, a closed complaint…). It exists
    only if that transaction committed; consumers (monitoring, KPIs, the audit sealer) read it after commit, each
    exactly once (OutboxDelivery), whatever order concurrent transactions committed in."""

    topic = models.CharField(max_length=60, db_index=True)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]


class OutboxDelivery(models.Model):
    """Consumer ``consumer`` has handled event ``event_id``; written in the same transaction as the consumer's effect,
    so a crash between the two cannot deliver twice or lose an event."""

    consumer = models.CharField(max_length=40)
    event_id = models.BigIntegerField()
    delivered_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "event_id"], name="outbox_delivered_once")]


class OutboxCursor(models.Model):
    """Per consumer: every event with id ≤ ``below`` has been delivered (a low-water mark that keeps scans short)."""

    consumer = models.CharField(max_length=40, primary_key=True)
    below = models.BigIntegerField(default=0)


class IdempotencyRecord(models.Model):
    """The first answer to a money-moving or approving request, keyed by (actor, key). A retry with the same key and
    body gets this answer again; the same key with another body is refused; another user's key is just a new key."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=80)
    scope = models.CharField(max_length=60)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=200)
    response = models.JSONField(default=dict)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["actor", "key"], name="idempotency_key_once_per_actor")]
