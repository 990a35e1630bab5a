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
    from bankcrm.core import dbguards  # one implementation of the guard for every append-only table

    dbguards.install(schema_editor, PROTECTED)


def backwards(apps, schema_editor):
    from bankcrm.core import dbguards

    dbguards.remove(schema_editor, PROTECTED)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
