"""The audit trail: every state change, unmasking and export, hash-chained and signed outside the database.

Services call `record(...)` inside their transaction, after the write, so the event commits or rolls back with the
change it describes. Verbs come from a registry of stable codes (`register_verbs`); an unregistered verb is a bug.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from . import context, crypto, masking, pii
from .models import AuditEvent, AuditHead

GENESIS = "0" * 64
VERBS: dict[str, Any] = {}


def register_verbs(verbs: dict[str, Any]) -> None:
    """Declare stable verb codes with their human labels. Codes are never renamed; add new ones instead."""
    VERBS.update(verbs)


def verb_label(code: str) -> str:
    return str(VERBS.get(code, code))


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def snapshot(instance: models.Model, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Field values for before/after, with personal data masked by its registered class."""
    label_prefix = f"{instance._meta.app_label}.{instance.__class__.__name__}."
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(instance, name)
        if isinstance(value, models.Model):
            value = value.pk
        info = pii.field_info(label_prefix + name)
        if info is not None and value:
            value = masking.mask(info.mask_kind, str(value))
        out[name] = _jsonable(value)
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def _canonical(event: AuditEvent) -> bytes:
    payload = [
        event.seq,
        event.prev_hash,
        event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        event.actor_id,
        event.actor_label,
        event.verb,
        event.target_type,
        str(event.target_id),
        event.target_repr,
        event.before,
        event.after,
        event.reason,
        event.request_id,
        event.ip,
        event.channel,
    ]
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def compute_hash(event: AuditEvent) -> str:
    return crypto.audit_mac(_canonical(event))


def _lock_head() -> AuditHead:
    """Lock the one head row (created by migration 0003). SQLite's IMMEDIATE transactions already serialise writers."""
    qs = AuditHead.objects.select_for_update() if connection.features.has_select_for_update else AuditHead.objects
    try:
        return qs.get(id=1)
    except AuditHead.DoesNotExist:  # a flushed test database: recreate, then lock
        AuditHead.objects.get_or_create(id=1)
        return qs.get(id=1)


def actor_label(actor: Any) -> str:
    if actor is None:
        return "system"
    return f"{getattr(actor, 'staff_no', '')} {getattr(actor, 'name', '')}".strip() or str(actor.pk)


def record(
    *,
    actor: Any,
    verb: str,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: Any = "",
    target_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction (it locks the chain head)."""
    if verb not in VERBS:
        raise ValueError(f"unregistered audit verb {verb!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the service's transaction")
    if target is not None:
        target_type = target_type or f"{target._meta.app_label}.{target.__class__.__name__}"
        target_id = target_id or target.pk
        target_repr = target_repr or str(getattr(target, "audit_repr", lambda: str(target.pk))())
    ctx = context.current()
    head = _lock_head()
    event = AuditEvent(
        seq=head.seq + 1,
        occurred_at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=actor_label(actor)[:120],
        verb=verb,
        target_type=target_type,
        target_id=str(target_id or ""),
        target_repr=target_repr[:200],
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        reason=reason,
        request_id=ctx.request_id,
        ip=ctx.ip or "",
        channel=ctx.channel,
        prev_hash=head.hash,
    )
    event.hash = compute_hash(event)
    event.save(force_insert=True)
    AuditHead.objects.filter(id=1).update(seq=event.seq, hash=event.hash)
    return event


@dataclass(frozen=True)
class Deferred:
    """An event captured inside a high-volume transaction (a posting) and chained later by a sealer, in order
    (ARCHITECTURE.md §4: the head lock must not serialise postings). It carries the request context of its origin."""

    actor_id: int | None
    actor_label: str
    verb: str
    target_type: str
    target_id: str
    target_repr: str
    after: dict[str, Any]
    occurred_at: datetime
    request_id: str = ""
    ip: str = ""
    channel: str = "system"
    reason: str = ""


_BATCH_COLUMNS = ["seq", "occurred_at", "actor_id", "actor_label", "verb", "target_type", "target_id", "target_repr",
                  "before", "after", "reason", "request_id", "ip", "channel", "prev_hash", "hash"]


def record_batch(items: list[Deferred]) -> int:
    """Chain many events under one lock of the head: one COPY (or executemany) and one head UPDATE for the lot."""
    from types import SimpleNamespace

    from .bulkwrite import copy_rows, db_value

    if not items:
        return 0
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record_batch must run inside a transaction")
    head = _lock_head()
    seq, prev = head.seq, head.hash
    rows = []
    for it in items:
        if it.verb not in VERBS:
            raise ValueError(f"unregistered audit verb {it.verb!r}")
        seq += 1
        ev = SimpleNamespace(seq=seq, occurred_at=it.occurred_at, actor_id=it.actor_id, actor_label=it.actor_label[:120],
                             verb=it.verb, target_type=it.target_type, target_id=it.target_id,
                             target_repr=it.target_repr[:200], before={}, after=_jsonable(it.after), reason=it.reason,
                             request_id=it.request_id, ip=it.ip, channel=it.channel, prev_hash=prev, hash="")
        ev.hash = compute_hash(ev)  # type: ignore[arg-type]  (reads the same attributes as a model instance)
        prev = ev.hash
        rows.append(tuple(db_value(getattr(ev, c)) for c in _BATCH_COLUMNS))
    copy_rows(AuditEvent._meta.db_table, _BATCH_COLUMNS, rows)
    AuditHead.objects.filter(id=1).update(seq=seq, hash=prev)
    return len(rows)


# ---- Verification ------------------------------------------------------------------------------------------------
@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    head_seq: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_bad_seq": self.first_bad_seq,
                "problem": self.problem, "head_seq": self.head_seq}


def verify_chain(batch: int = 5000) -> VerifyResult:
    """Walk the chain in sequence order and name the first broken link.

    Detects: an edited row (its HMAC no longer matches), a deleted row (a gap in seq, or a prev_hash that no longer
    matches), reordered rows (prev_hash mismatch), a forged row (HMAC needs the key), and a truncated tail (the DB ends
    before the last exported signed head, or the head row disagrees with the last event).
    """
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    last_seen = 0
    qs = AuditEvent.objects.order_by("seq")
    while True:
        rows = list(qs.filter(seq__gte=expected_seq)[:batch])
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, f"missing event seq {expected_seq} (deleted)", last_seen)
            if ev.prev_hash != prev_hash:
                return VerifyResult(False, checked, ev.seq, "prev_hash does not match the previous event (reordered or deleted)", last_seen)
            if compute_hash(ev) != ev.hash:
                return VerifyResult(False, checked, ev.seq, "hash does not match content (edited or forged)", last_seen)
            prev_hash, expected_seq, last_seen = ev.hash, ev.seq + 1, ev.seq
            checked += 1
    head = AuditHead.objects.filter(id=1).first()
    if head and (head.seq != last_seen or (last_seen and head.hash != prev_hash)):
        return VerifyResult(False, checked, last_seen + 1, "chain head disagrees with the last event (truncated)", last_seen)
    for exported in exported_heads():
        seq, hsh = exported["seq"], exported["hash"]
        if seq > last_seen:
            return VerifyResult(False, checked, last_seen + 1,
                                f"events up to seq {seq} were exported on {exported['exported_at']} but are gone (truncated)",
                                last_seen)
        if seq and not AuditEvent.objects.filter(seq=seq, hash=hsh).exists():
            return VerifyResult(False, checked, seq, "event differs from the signed exported head", last_seen)
    return VerifyResult(True, checked, None, "", last_seen)


def _head_dir() -> Path:
    return Path(settings.BANKCRM_AUDIT_HEAD_DIR)


def export_head(now: datetime | None = None) -> dict[str, Any]:
    """Write the current head, signed with the audit key, to a file outside the database (one per day)."""
    now = now or timezone.now()
    head = AuditHead.objects.filter(id=1).first()
    seq, hsh = (head.seq, head.hash) if head else (0, GENESIS)
    body = {"seq": seq, "hash": hsh, "exported_at": now.astimezone(UTC).isoformat()}
    body["signature"] = crypto.audit_mac(json.dumps(body, sort_keys=True).encode())
    folder = _head_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{timezone.localtime(now).date().isoformat()}.json"
    path.write_text(json.dumps(body, indent=2))
    return body


def exported_heads() -> list[dict[str, Any]]:
    """Signed heads from the export folder whose signature checks (a file with a bad signature is reported)."""
    folder = _head_dir()
    if not folder.exists():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        body = json.loads(path.read_text())
        sig = body.pop("signature", "")
        if crypto.audit_mac(json.dumps(body, sort_keys=True).encode()) != sig:
            raise ValueError(f"exported head {path.name} has a bad signature")
        out.append(body)
    return out
