"""Maker-checker services: submit, approve (which executes exactly the reviewed payload), reject, cancel, expire."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, params
from bankcrm.core.errors import DomainError, NotFound, RuleViolation, ValidationFailed

from . import registry
from .models import PendingAction

S = PendingAction.Status


def payload_digest(action_code: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps([action_code, payload], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def approval_submit(*, actor: Any, action_code: str, payload: dict[str, Any], summary: str, target: Any = None,
                    reason: str = "", dedupe: bool = True) -> PendingAction:
    """Capture an operation for a second person. The payload is stored exactly and hashed; the same pending
    operation cannot be submitted twice."""
    access.require(actor, "approvals.submit")
    try:
        registry.get(action_code)
    except KeyError:
        raise ValidationFailed("unknown_action", _("未注册的复核事项类型")) from None
    payload = json.loads(json.dumps(payload, ensure_ascii=False))  # exactly what JSON will store and return
    digest = payload_digest(action_code, payload)
    with transaction.atomic():
        pa = PendingAction(
            action_code=action_code,
            payload=payload,
            payload_hash=digest,
            summary=summary[:300],
            maker=actor,
            branch_path=actor.branch_path,
            target_type=f"{target._meta.app_label}.{target.__class__.__name__}" if target is not None else "",
            target_id=str(target.pk) if target is not None else "",
            submit_reason=reason,
            expires_at=timezone.now() + timedelta(hours=params.value("approvals.expiry")),
            dedupe_key=digest if dedupe else "",
        )
        try:
            with transaction.atomic():
                pa.save(force_insert=True)
        except IntegrityError:
            raise RuleViolation("duplicate_submission", _("相同的事项已在等待复核，请勿重复提交")) from None
        audit.record(actor=actor, verb="approvals.submitted", target=pa,
                     after={"action_code": action_code, "payload_hash": digest, "summary": pa.summary}, reason=reason)
    return pa


def _get_locked(actor: Any, pending_id: int) -> PendingAction:
    qs = PendingAction.objects.visible_to(actor).select_for_update()
    try:
        return qs.get(pk=pending_id)
    except (PendingAction.DoesNotExist, ValueError, TypeError):
        raise NotFound("approval_not_found", _("待复核事项不存在或无权查看")) from None


def _check_checker(actor: Any, pa: PendingAction) -> registry.ApprovableAction:
    action = registry.get(pa.action_code)
    access.require(actor, "approvals.approve")
    if action.checker_capability != "approvals.approve":
        access.require(actor, action.checker_capability)
    if pa.status != S.PENDING:
        raise RuleViolation("approval_not_pending", _("该事项已处理（%(s)s），不能再次复核") % {"s": pa.get_status_display()})
    if pa.maker_id == actor.pk:
        raise RuleViolation("maker_cannot_check", _("复核人不能是提交人本人"))
    if pa.expires_at <= timezone.now():
        raise RuleViolation("approval_expired", _("该事项已超过复核时限，请重新提交"))
    if payload_digest(pa.action_code, pa.payload) != pa.payload_hash:
        raise RuleViolation("payload_tampered", _("复核内容与提交时不一致，已拒绝执行"))
    if action.conflicts_with_checker and action.conflicts_with_checker(payload=pa.payload, checker=actor):
        raise RuleViolation("checker_conflict", _("您与该事项存在利益关联，不能复核"))
    return action


def approval_approve(*, actor: Any, pending_id: int, reason: str = "") -> PendingAction:
    """Approve and execute exactly the reviewed payload in the same transaction. If the action's rules no longer
    hold against the current state, nothing executes and the item is marked failed with the reason."""
    with transaction.atomic():
        pa = _get_locked(actor, pending_id)
        action = _check_checker(actor, pa)
        # certification of the checker (people's training gates): a refusal leaves the item pending, unchanged
        access.require_gate("approvals.approve", actor, action_code=pa.action_code)
        pa.checker, pa.decided_at, pa.decision_reason = actor, timezone.now(), reason
        try:
            with transaction.atomic():
                extra = {"pending_id": pa.pk} if action.wants_pending_id else {}
                result = action.execute(payload=pa.payload, maker=pa.maker, checker=actor, **extra) or {}
            pa.status, pa.result = S.EXECUTED, audit._jsonable(result)
            verb = "approvals.approved"
        except DomainError as exc:
            pa.status, pa.result = S.FAILED, {"error": exc.as_dict()}
            verb = "approvals.execution_failed"
            _not_executed(pa)
        pa.save(update_fields=["checker", "decided_at", "decision_reason", "status", "result"])
        audit.record(actor=actor, verb=verb, target=pa, before={"status": S.PENDING},
                     after={"status": pa.status, "result": pa.result}, reason=reason)
    return pa


def _not_executed(pa: PendingAction) -> None:
    action = registry.ACTIONS.get(pa.action_code)
    if action is not None and action.on_not_executed is not None:
        action.on_not_executed(pa.payload)


def approval_reject(*, actor: Any, pending_id: int, reason: str) -> PendingAction:
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("拒绝时必须填写理由"), fields={"reason": [_("请填写拒绝理由")]})
    with transaction.atomic():
        pa = _get_locked(actor, pending_id)
        _check_checker(actor, pa)
        pa.status, pa.checker, pa.decided_at, pa.decision_reason = S.REJECTED, actor, timezone.now(), reason
        pa.save(update_fields=["status", "checker", "decided_at", "decision_reason"])
        _not_executed(pa)
        audit.record(actor=actor, verb="approvals.rejected", target=pa, before={"status": S.PENDING},
                     after={"status": S.REJECTED}, reason=reason)
    return pa


def approval_cancel(*, actor: Any, pending_id: int, reason: str = "") -> PendingAction:
    with transaction.atomic():
        pa = _get_locked(actor, pending_id)
        if pa.maker_id != actor.pk:
            raise NotFound("approval_not_found", _("待复核事项不存在或无权查看"))
        if pa.status != S.PENDING:
            raise RuleViolation("approval_not_pending", _("该事项已处理，不能撤回"))
        pa.status, pa.decided_at, pa.decision_reason = S.CANCELLED, timezone.now(), reason
        pa.save(update_fields=["status", "decided_at", "decision_reason"])
        _not_executed(pa)
        audit.record(actor=actor, verb="approvals.cancelled", target=pa, before={"status": S.PENDING},
                     after={"status": S.CANCELLED}, reason=reason)
    return pa


def approvals_expire_due(*, now=None, batch: int = 500) -> int:
    """Mark pending items past their deadline as expired. Idempotent; safe to kill and rerun."""
    now = now or timezone.now()
    done = 0
    while True:
        with transaction.atomic():
            ids = list(PendingAction.objects.filter(status=S.PENDING, expires_at__lte=now)
                       .order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return done
            for pa in PendingAction.objects.select_for_update().filter(pk__in=ids, status=S.PENDING):
                pa.status, pa.decided_at = S.EXPIRED, now
                pa.save(update_fields=["status", "decided_at"])
                _not_executed(pa)
                audit.record(actor=None, verb="approvals.expired", target=pa, before={"status": S.PENDING},
                             after={"status": S.EXPIRED})
                done += 1
