"""Set up internal supervision once for a new bank: the regulation's clauses (DOMAIN_RULES.md §1) linked to the
control checks that implement them, the default inspection checklists, and a first run of every automated check so
that the coverage matrix shows live figures from the first day. Idempotent: clauses compliance has edited are never
overwritten, an unchanged checklist is left alone, and a rerun of the checks raises no finding twice."""

from django.core.management.base import BaseCommand, CommandError

from bankcrm.core.errors import DomainError
from bankcrm.core.transactions import entrypoint
from bankcrm.org.models import Staff


class Command(BaseCommand):
    help = "Install the regulation's clauses and the default checklists, then run every automated control check."

    def add_arguments(self, parser):
        parser.add_argument("--compliance", required=True,
                            help="staff number of the compliance manager recorded as actor")
        parser.add_argument("--no-run", action="store_true", help="install only; the nightly job runs the checks")

    def handle(self, *args, **opts):
        from bankcrm.supervision import controls, coverage_services, inspection_services

        actor = Staff.objects.filter(staff_no=opts["compliance"], is_active=True).first()
        if actor is None:
            raise CommandError(f"no active staff {opts['compliance']}")
        try:
            clauses = entrypoint(coverage_services.clauses_install_default)(actor=actor)
            templates = entrypoint(inspection_services.templates_install_default)(actor=actor)
            runs = [] if opts["no_run"] else entrypoint(controls.controls_run)(actor=actor)
        except DomainError as e:
            raise CommandError(f"{e.code}: {e.message}") from None
        self.stdout.write(f"supervision bootstrap: {clauses['clauses']} clauses and {clauses['links']} control links "
                          f"installed; {len(templates)} checklists; {len(runs)} control checks run, "
                          f"{sum(r.exceptions for r in runs)} exceptions, {sum(r.new_findings for r in runs)} new findings")
