"""Idempotent commands (QUALITY.md R3): every money-moving or approving request carries a key chosen by the client
(the `Idempotency-Key` header on the API; a hidden field the form fills once). The first answer is stored in the same
transaction as the effect, so a retry gets that answer and moves no money twice.

- same actor, same key, same body → the stored answer, nothing executes;
- same actor, same key, another body → `Conflict("idempotency_key_reused")`;
- two requests with the same key at the same moment → the second waits on the unique index until the first commits,
  then finds the stored answer (its own work is rolled back);
- another actor's key is simply a different key (keys are per actor): nothing leaks.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import Conflict, ValidationFailed
from .models import IdempotencyRecord

KEY_RE = re.compile(r"^[A-Za-z0-9_.:\-]{8,80}$")


class Replay(Exception):
    """Raised inside the transaction when the key turns out to be taken: rolls the work back, carries the answer."""

    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record
        super().__init__("idempotent replay")


def request_hash(scope: str, body: dict[str, Any]) -> str:
    canonical = json.dumps([scope, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_key(key: str | None) -> str:
    key = (key or "").strip()
    if not KEY_RE.match(key):
        raise ValidationFailed("idempotency_key_required", _("缺少或无效的幂等键（Idempotency-Key，8–80 位字母数字）"))
    return key


def _existing(actor: Any, key: str) -> IdempotencyRecord | None:
    """The stored answer for (actor, key), if any: one indexed look-up, asked before every money command."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT request_hash, status_code, response FROM {IdempotencyRecord._meta.db_table} "
                    "WHERE actor_id = %s AND key = %s", [actor.pk, key])
        row = cur.fetchone()
    if row is None:
        return None
    response = row[2] if isinstance(row[2], dict) else json.loads(row[2])
    return IdempotencyRecord(actor_id=actor.pk, key=key, request_hash=row[0], status_code=row[1], response=response)


def _answer(record: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any], bool]:
    if record.request_hash != digest:
        raise Conflict("idempotency_key_reused", _("该幂等键已用于另一笔不同内容的请求"))
    return record.status_code, record.response, True


def run(*, actor: Any, key: str | None, scope: str, body: dict[str, Any],
        execute: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any], bool]:
    """Run ``execute`` at most once per (actor, key). Returns (status, answer, replayed).

    Opens the durable transaction itself: the caller must not be inside one. ``execute`` returns (status, answer)
    and may raise DomainError (then nothing is stored and a retry runs again: no money moved the first time).
    """
    key = check_key(key)
    digest = request_hash(scope, body)
    found = _existing(actor, key)
    if found is not None:
        return _answer(found, digest)
    try:
        with transaction.atomic(durable=True):
            status, answer = execute()
            _store(actor=actor, key=key, scope=scope, digest=digest, status=status, answer=answer)
        return status, answer, False
    except Replay as replay:
        return _answer(replay.record, digest)


def _store(*, actor: Any, key: str, scope: str, digest: str, status: int, answer: dict[str, Any]) -> None:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING (both databases). PostgreSQL makes a concurrent insert of the
    same key wait for the first transaction, so by the time we see the conflict the first answer is committed."""
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (actor_id, key, scope, request_hash, status_code, response, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (actor_id, key) DO NOTHING RETURNING id",
            [actor.pk, key, scope, digest, status, json.dumps(answer, ensure_ascii=False, default=str), timezone.now()],
        )
        inserted = cur.fetchone()
    if inserted is None:
        record = _existing(actor, key)
        if record is None:  # cannot happen under PostgreSQL or SQLite's serialised writers; never move money twice
            raise IntegrityError("idempotency key conflict without a stored answer")
        raise Replay(record)
