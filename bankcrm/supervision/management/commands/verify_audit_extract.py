"""Check a signed audit extract (the ZIP from the audit explorer, or a .jsonl with its .sig beside it): every event's
chain hash, the extract links, the count and the detached signature. Exit 1 naming the first bad row."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from bankcrm.core import context
from bankcrm.supervision import audit_explorer


class Command(BaseCommand):
    help = "Verify a signed audit extract; exit 1 naming the first bad row."

    def add_arguments(self, parser):
        parser.add_argument("file", help="audit-extract-*.zip, or audit-extract.jsonl with audit-extract.jsonl.sig beside it")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **opts):
        try:
            body, sig = audit_explorer.read_extract(opts["file"])
        except (OSError, KeyError, ValueError) as exc:
            raise CommandError(f"cannot read extract: {exc}") from exc
        with context.channel("command"):
            res = audit_explorer.verify_extract(body, sig)
        if opts["json"]:
            self.stdout.write(json.dumps(res.as_dict()))
        elif res.ok:
            note = f"; {len(res.redacted_rows)} redacted rows (content not verifiable, links verified)" if res.redacted_rows else ""
            self.stdout.write(self.style.SUCCESS(f"摘录完整 / extract verified: {res.rows} events, signature OK{note}"))
        else:
            where = f"row {res.first_bad_row}" + (f" (seq {res.first_bad_seq})" if res.first_bad_seq is not None else "")
            self.stderr.write(self.style.ERROR(f"摘录校验失败 / extract BROKEN at {where}: {res.problem}"))
        if not res.ok:
            sys.exit(1)
