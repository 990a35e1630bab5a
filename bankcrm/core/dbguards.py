"""Append-only tables: a trigger on both databases refuses the listed operations (ARCHITECTURE.md §4).

Each app that owns an immutable table lists it here from its migration (through `install`), so the test suite can drop
and restore every guard around SQLite's DELETE-based flush in one place.
"""

from __future__ import annotations

from typing import Any

# (table, operations refused). The foundation's logs and the ledger's journal.
APPEND_ONLY: list[tuple[str, tuple[str, ...]]] = [
    ("core_auditevent", ("UPDATE", "DELETE")),
    ("core_accessevent", ("UPDATE",)),
    ("core_securityevent", ("UPDATE",)),
    ("ledger_journalentry", ("UPDATE", "DELETE")),
    ("ledger_posting", ("UPDATE", "DELETE")),
]


def install(editor: Any, tables: list[tuple[str, tuple[str, ...]]]) -> None:
    vendor = editor.connection.vendor
    for table, ops in tables:
        for op in ops:
            name = f"{table}_no_{op.lower()}"
            if vendor == "postgresql":
                editor.execute(
                    """CREATE OR REPLACE FUNCTION bankcrm_append_only() RETURNS trigger AS $$
                    BEGIN RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP; END;
                    $$ LANGUAGE plpgsql""",
                    params=None,  # the % are PL/pgSQL placeholders, not driver parameters
                )
                editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                editor.execute(
                    f"CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION bankcrm_append_only()"
                )
            elif vendor == "sqlite":
                editor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END"
                )


def remove(editor: Any, tables: list[tuple[str, tuple[str, ...]]]) -> None:
    vendor = editor.connection.vendor
    for table, ops in tables:
        for op in ops:
            name = f"{table}_no_{op.lower()}"
            if vendor == "postgresql":
                editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            elif vendor == "sqlite":
                editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def existing_tables(editor: Any) -> list[tuple[str, tuple[str, ...]]]:
    names = set(editor.connection.introspection.table_names())
    return [(t, ops) for t, ops in APPEND_ONLY if t in names]
