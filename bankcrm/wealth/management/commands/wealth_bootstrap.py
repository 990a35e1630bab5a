"""Set up a new bank's wealth shelf once: the bank's own time deposits (three months, one year, three years) as shelf
products linked to the ledger's time-deposit products, with their documents, submitted for putting on the shelf —
a branch supervisor or compliance manager approves them in the approvals inbox (idempotent; `seed_demo` does the
same for the demo bank). Run `ledger_bootstrap` first."""

from django.core.management.base import BaseCommand, CommandError

from bankcrm.core.errors import DomainError
from bankcrm.core.transactions import entrypoint
from bankcrm.org.models import Staff


class Command(BaseCommand):
    help = "Put the bank's time deposits on the wealth shelf (submitted for approval; idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--admin", required=True, help="staff number of the administrator recorded as maker")

    def handle(self, *args, **opts):
        from bankcrm.wealth.demo import wealth_bootstrap

        admin = Staff.objects.filter(staff_no=opts["admin"], is_active=True).first()
        if admin is None:
            raise CommandError(f"no active staff {opts['admin']}")
        try:
            out = entrypoint(wealth_bootstrap)(actor=admin)
        except DomainError as e:
            raise CommandError(f"{e.code}: {e.message}") from None
        self.stdout.write(f"wealth bootstrap: {out['created']} products created, {out['submitted']} submitted for approval")
