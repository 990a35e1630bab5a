import json
import sys

from django.core.management.base import BaseCommand

from bankcrm.core import audit, context


class Command(BaseCommand):
    help = "Verify the audit chain; exit 1 naming the first broken link if any row was edited, deleted, reordered, forged or truncated."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts):
        with context.channel("command"):
            result = audit.verify_chain()
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        elif result.ok:
            self.stdout.write(self.style.SUCCESS(f"审计链完整 / audit chain intact: {result.checked} events, head seq {result.head_seq}"))
        else:
            self.stderr.write(self.style.ERROR(
                f"审计链被破坏 / audit chain BROKEN at seq {result.first_bad_seq}: {result.problem} "
                f"({result.checked} events verified before it)"))
        if not result.ok:
            sys.exit(1)
