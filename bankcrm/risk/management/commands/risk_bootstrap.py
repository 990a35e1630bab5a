"""Install what risk management needs on a new bank: built-in monitoring rules, the default risk-tolerance
questionnaire and the default AML rating model (idempotent)."""

from django.core.management.base import BaseCommand, CommandError

from bankcrm.core.transactions import entrypoint
from bankcrm.org.models import Staff


class Command(BaseCommand):
    help = "Install the built-in monitoring rules, questionnaire and rating model (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--admin", required=True, help="staff number of the administrator recorded as actor")

    def handle(self, *args, **opts):
        from bankcrm.risk.demo import risk_bootstrap

        admin = Staff.objects.filter(staff_no=opts["admin"], is_active=True).first()
        if admin is None:
            raise CommandError(f"no active staff {opts['admin']}")
        out = entrypoint(risk_bootstrap)(actor=admin)
        self.stdout.write(f"risk bootstrap: {out['rules']} rules added")
