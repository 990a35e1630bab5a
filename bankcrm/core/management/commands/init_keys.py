from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from bankcrm.core import crypto


class Command(BaseCommand):
    help = "Create the encryption, blind-index and audit keys file if it does not exist (never overwrites)."

    def handle(self, *args, **opts):
        path = Path(settings.BANKCRM_KEYS_FILE)
        if crypto.ensure_keys_file(path):
            self.stdout.write(self.style.SUCCESS(f"created {path} (mode 600): keep it out of the database and backups of it"))
        else:
            self.stdout.write(f"{path} exists; left unchanged")
