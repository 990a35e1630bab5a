import json

from django.core.management.base import BaseCommand

from bankcrm.core import audit


class Command(BaseCommand):
    help = "Write today's signed audit-chain head to BANKCRM_AUDIT_HEAD_DIR (outside the database). Run daily."

    def handle(self, *args, **opts):
        self.stdout.write(json.dumps(audit.export_head()))
