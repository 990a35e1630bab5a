from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo user (reads var/demo-totp.txt; demo installations only)."

    def add_arguments(self, parser):
        parser.add_argument("staff_no")

    def handle(self, *args, **opts):
        import time
        from base64 import b32decode

        from django_otp.oath import totp

        path = Path(settings.VAR_DIR) / "demo-totp.txt"
        if not path.exists():
            raise CommandError("no demo TOTP secrets: this is not a demo installation")
        secrets = dict(line.split("\t") for line in path.read_text().splitlines() if "\t" in line)
        key = secrets.get(opts["staff_no"].upper())
        if key is None:
            raise CommandError(f"{opts['staff_no']} has no demo TOTP secret (not a privileged role)")
        code = totp(b32decode(key))
        left = 30 - int(time.time()) % 30
        self.stdout.write(f"{code:06d}  ({left}s)")
