"""Fast writes for bulk paths (imports, demo history): reserve primary keys, then COPY (PostgreSQL) or executemany
(SQLite) plain tuples, skipping the ORM's per-value preparation. Callers pass values already in database form
(`db_value` converts the few Python types that need it)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import connection


def reserve_ids(table: str, count: int) -> list[int]:
    """``count`` fresh primary keys of ``table``; runs inside the caller's (write) transaction."""
    if count <= 0:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
            return [r[0] for r in cur.fetchall()]
        # SQLite: the IMMEDIATE transaction holds the write lock, so nobody else can take these keys meanwhile;
        # sqlite_sequence remembers keys of deleted rows, which AUTOINCREMENT never reuses.
        cur.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                    f"COALESCE((SELECT MAX(id) FROM {table}), 0))", [table])
        start = cur.fetchone()[0] + 1
        return list(range(start, start + count))


def copy_rows(table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    cols = ", ".join(columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(rows))


def db_value(value: Any) -> Any:
    """Datetimes and dates as the backend stores them; dicts and lists as JSON text."""
    if isinstance(value, datetime):
        return value if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return value if connection.vendor == "postgresql" else value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value
