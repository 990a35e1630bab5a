"""Maker-checker: an operation captured with its exact payload, waiting for a second person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PendingActionQuerySet(models.QuerySet):
    def visible_to(self, actor) -> PendingActionQuerySet:
        """Makers see their own submissions; checkers see items from their branch scope."""
        from bankcrm.core import access

        if not getattr(actor, "is_authenticated", False):
            return self.none()
        own = models.Q(maker=actor)
        if access.can(actor, "approvals.approve"):
            root = access.scope_root(actor)
            # (Q(a) | Q() is just Q(a) in Django, so "all branches" must be handled on its own.)
            return self if root is None else self.filter(own | models.Q(branch_path__startswith=root))
        return self.filter(own)


class PendingAction(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("待复核")
        EXECUTED = "executed", _("已通过并执行")
        REJECTED = "rejected", _("已拒绝")
        EXPIRED = "expired", _("已过期")
        CANCELLED = "cancelled", _("已撤回")
        FAILED = "failed", _("通过但执行失败")

    action_code = models.CharField(max_length=64, db_index=True)
    payload = models.JSONField()
    payload_hash = models.CharField(max_length=64)
    summary = models.CharField(max_length=300)
    maker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    branch_path = models.CharField(max_length=255, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    submit_reason = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    checker = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=64, blank=True)

    objects = PendingActionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("待复核事项")
        constraints = [
            # The same operation cannot wait twice: a duplicate submission is refused by the database too.
            models.UniqueConstraint(fields=["dedupe_key"], condition=models.Q(status="pending") & ~models.Q(dedupe_key=""),
                                    name="one_pending_per_dedupe_key"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary}"

    def audit_repr(self) -> str:
        return f"#{self.pk} {self.action_code}"
