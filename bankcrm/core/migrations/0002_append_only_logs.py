"""Database-level guard: the audit trail refuses UPDATE and DELETE; the access and security logs refuse UPDATE.

Triggers on both databases. A DBA can still drop a trigger; that is why the chain is HMAC-keyed and its head is
exported and signed outside the database (verify_audit detects what the trigger cannot prevent).
"""

from django.db import migrations

PROTECTED = [
    ("core_auditevent", ("UPDATE", "DELETE")),
    ("core_accessevent", ("UPDATE",)),
    ("core_securityevent", ("UPDATE",)),
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, ops in PROTECTED:
        for op in ops:
            name = f"{table}_no_{op.lower()}"
            if vendor == "postgresql":
                schema_editor.execute(
                    f"""CREATE OR REPLACE FUNCTION bankcrm_append_only() RETURNS trigger AS $$
                    BEGIN RAISE EXCEPTION 'append-only table %: % refused', TG_TABLE_NAME, TG_OP; END;
                    $$ LANGUAGE plpgsql""",
                    params=None,  # the % are PL/pgSQL placeholders, not driver parameters
                )
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                schema_editor.execute(
                    f"CREATE TRIGGER {name} BEFORE {op} ON {table} FOR EACH ROW EXECUTE FUNCTION bankcrm_append_only()"
                )
            elif vendor == "sqlite":
                schema_editor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {name} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {op} refused'); END"
                )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, ops in PROTECTED:
        for op in ops:
            name = f"{table}_no_{op.lower()}"
            if vendor == "postgresql":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            elif vendor == "sqlite":
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
