from django.db import migrations


def create_head(apps, schema_editor):
    apps.get_model("core", "AuditHead").objects.get_or_create(id=1)


class Migration(migrations.Migration):
    """The chain head exists from the start, so appending is one locked read, one insert, one update."""

    dependencies = [("core", "0002_append_only_logs")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
