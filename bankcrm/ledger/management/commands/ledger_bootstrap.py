"""Set up a new bank's ledger once: the product shelf with rates, internal accounts, default limits, a USD rate
(idempotent; `seed_demo` does the same for the demo bank)."""

from django.core.management.base import BaseCommand, CommandError

from bankcrm.core.transactions import entrypoint
from bankcrm.org.models import Staff


class Command(BaseCommand):
    help = "Install the ledger's products, internal accounts, limits and a USD rate (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--admin", required=True, help="staff number of the administrator recorded as actor")

    def handle(self, *args, **opts):
        from bankcrm.ledger.services import ledger_bootstrap

        admin = Staff.objects.filter(staff_no=opts["admin"], is_active=True).first()
        if admin is None:
            raise CommandError(f"no active staff {opts['admin']}")
        made = entrypoint(ledger_bootstrap)(actor=admin)
        self.stdout.write(f"ledger bootstrap: {made}")
