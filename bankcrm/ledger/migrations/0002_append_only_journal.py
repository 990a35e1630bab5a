"""The journal is immutable: triggers refuse UPDATE and DELETE on entries and postings (core.dbguards)."""

from django.db import migrations

TABLES = [("ledger_journalentry", ("UPDATE", "DELETE")), ("ledger_posting", ("UPDATE", "DELETE"))]


def forwards(apps, schema_editor):
    from bankcrm.core import dbguards

    dbguards.install(schema_editor, TABLES)


def backwards(apps, schema_editor):
    from bankcrm.core import dbguards

    dbguards.remove(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
