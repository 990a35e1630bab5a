"""Set up staff development once for a new bank: the default curriculum (courses with quizzes, requirements by role
and employment type, the gate rules that make certificates required for selling R4/R5, approving large
transactions, handling complaints and deciding AML cases), the default KPI scheme of every role and the default
incentive scheme, then assign every member of staff the courses their roles require. Idempotent; never overwrites
what an administrator changed."""

from django.core.management.base import BaseCommand, CommandError

from bankcrm.core.errors import DomainError
from bankcrm.core.transactions import entrypoint
from bankcrm.org.models import Staff


class Command(BaseCommand):
    help = "Install the default curriculum, gate rules, KPI schemes and incentive scheme; assign required courses."

    def add_arguments(self, parser):
        parser.add_argument("--admin", required=True, help="staff number of the administrator recorded as actor")

    def handle(self, *args, **opts):
        from bankcrm.people import appraisal_services, incentive_services, training_services

        admin = Staff.objects.filter(staff_no=opts["admin"], is_active=True).first()
        if admin is None:
            raise CommandError(f"no active staff {opts['admin']}")
        try:
            cur = entrypoint(training_services.curriculum_install_default)(actor=admin)
            schemes = entrypoint(appraisal_services.schemes_install_default)(actor=admin)
            entrypoint(incentive_services.scheme_install_default)(actor=admin)
            synced = entrypoint(training_services.assignments_sync)(actor=admin)
        except DomainError as e:
            raise CommandError(f"{e.code}: {e.message}") from None
        self.stdout.write(f"people bootstrap: {cur['courses']} courses, {cur['requirements']} requirements, "
                          f"{cur['gate_rules']} gate rules installed; {len(schemes)} KPI schemes activated; "
                          f"assignments: {synced}")
