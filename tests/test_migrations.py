"""The suite's databases are built from the models (``--no-migrations``, tests/conftest.py ``django_db_setup``, with
the data migrations' functions applied after). This test keeps that honest: it runs the real migrations into a fresh
database of the same kind, in a process of its own, and checks they build the schema the tests ran on — the same
tables, columns (type, null), unique and indexed column sets, the append-only triggers — and the audit chain's head
row. Both databases."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db


def schema(conn) -> dict:
    """Tables → columns and the column sets of their unique constraints and indexes (names left out: they are
    generated), plus the triggers and whether the audit head row exists."""
    out: dict = {"tables": {}}
    with conn.cursor() as cur:
        for table in sorted(t for t in conn.introspection.table_names(cur) if t != "django_migrations"):
            columns = {c.name: [str(c.type_code), bool(c.null_ok)] for c in conn.introspection.get_table_description(cur, table)}
            keys = sorted({json.dumps([("unique" if c["unique"] else "index"), c["columns"]])
                           for c in conn.introspection.get_constraints(cur, table).values()
                           if (c["unique"] or c["index"]) and c["columns"] and not c["primary_key"]})
            out["tables"][table] = {"columns": columns, "keys": keys}
        if conn.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
        else:
            cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")
        out["triggers"] = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
        out["applied"] = [list(r) for r in cur.fetchall()]
        cur.execute("SELECT COUNT(*) FROM core_audithead WHERE id = 1")
        out["audit_head"] = cur.fetchone()[0]
    return out


def print_schema() -> None:  # run in the migrated database's own process
    from django.db import connection as migrated

    print(json.dumps(schema(migrated)))


def test_the_migrations_build_the_schema_the_tests_run_on(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    dropped = None
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(tmp_path / "migrated.sqlite3")
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    else:
        import psycopg

        base = settings.DATABASES["default"]
        name = f"bankcrm_migrated_{uuid.uuid4().hex[:10]}"
        dsn = dict(host=base.get("HOST") or "127.0.0.1", port=base.get("PORT") or 5432, user=base.get("USER") or "postgres",
                   dbname="postgres", autocommit=True)
        with psycopg.connect(**dsn) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        dropped = (dsn, name)
        env["DATABASE_URL"] = f"postgres://{dsn['user']}@{dsn['host']}:{dsn['port']}/{name}"
    try:
        run = dict(cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=900)
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], **run)
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        shown = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                                "from tests.test_migrations import print_schema; print_schema()"], **run)
        assert shown.returncode == 0, shown.stderr[-3000:]
        migrated = json.loads(shown.stdout.strip().splitlines()[-1])
    finally:
        if dropped:
            import psycopg

            with psycopg.connect(**dropped[0]) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dropped[1]}" WITH (FORCE)')
    tested = schema(connection)
    assert migrated["applied"] == tested["applied"]  # the suite's database records every migration as applied
    assert migrated["audit_head"] == 1 and tested["audit_head"] == 1
    logs = importlib.import_module("bankcrm.core.migrations.0002_append_only_logs").PROTECTED
    journal = importlib.import_module("bankcrm.ledger.migrations.0002_append_only_journal").TABLES
    guarded = [(table, op) for table, ops in logs + journal for op in ops]
    expected = {f"{table}_no_{op.lower()}" for table, op in guarded}
    assert len(expected) == 8 and expected <= set(migrated["triggers"])  # (on SQLite the flush fixture drops and
    # re-adds the suite's own triggers around transactional tests, so only the migrated side is compared here)
    assert sorted(migrated["tables"]) == sorted(tested["tables"])
    for side in (migrated, tested):  # Django's own: its auth migrations leave this M2M table's id a bigint on
        side["tables"]["auth_group_permissions"]["columns"].pop("id")  # PostgreSQL, the model an int (not our schema)
    differ = {t: (migrated["tables"][t], tested["tables"][t]) for t in tested["tables"]
              if migrated["tables"][t] != tested["tables"][t]}
    assert differ == {}, differ
