"""Key rotation: re-encrypt ciphertext under the active key, chunk by chunk, resumable and safe under traffic.

Each row is updated only if its ciphertext is still the one read (a compare-and-set), so a concurrent write by the
application is never overwritten with stale data; the next run picks up whatever remains.
"""

from __future__ import annotations

from collections.abc import Callable

from django.apps import apps
from django.db import connection, transaction

from . import audit, crypto
from .fields import EncryptedTextField


def encrypted_columns() -> list[tuple[str, str, str, str]]:
    """(table, pk column, column, label) for every encrypted field."""
    out = []
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, EncryptedTextField):
                out.append((model._meta.db_table, model._meta.pk.column, f.column, f.label))
    return out


def rows_on_key(kid: str) -> int:
    total = 0
    qn = connection.ops.quote_name
    with connection.cursor() as cur:
        for table, _pk, col, _label in encrypted_columns():
            cur.execute(f"SELECT COUNT(*) FROM {qn(table)} WHERE {qn(col)} LIKE %s", [f"{crypto.PREFIX}:{kid}:%"])
            total += cur.fetchone()[0]
    return total


def rotate_all(*, chunk: int = 1000, progress: Callable[[str, int], None] | None = None) -> int:
    active = crypto.keyring().active
    prefix = f"{crypto.PREFIX}:{active}:"
    qn = connection.ops.quote_name
    total = 0
    for table, pk, col, label in encrypted_columns():
        done = 0
        last = None
        while True:
            with transaction.atomic():
                with connection.cursor() as cur:
                    where = f"{qn(col)} <> '' AND {qn(col)} IS NOT NULL AND {qn(col)} NOT LIKE %s"
                    args: list = [prefix + "%"]
                    if last is not None:
                        where += f" AND {qn(pk)} > %s"
                        args.append(last)
                    cur.execute(f"SELECT {qn(pk)}, {qn(col)} FROM {qn(table)} WHERE {where} ORDER BY {qn(pk)} LIMIT %s",
                                [*args, chunk])
                    rows = cur.fetchall()
                    if not rows:
                        break
                    for row_pk, token in rows:
                        new = crypto.encrypt(crypto.decrypt(token, label), label)
                        cur.execute(f"UPDATE {qn(table)} SET {qn(col)} = %s WHERE {qn(pk)} = %s AND {qn(col)} = %s",
                                    [new, row_pk, token])
                        done += cur.rowcount
                    last = rows[-1][0]
        if done:
            with transaction.atomic():
                audit.record(actor=None, verb="core.keys_rotated", target_type=label, after={"rows": done, "key": active})
        if progress:
            progress(label, done)
        total += done
    return total
