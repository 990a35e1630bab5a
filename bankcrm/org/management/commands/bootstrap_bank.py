import getpass

from django.core.management.base import BaseCommand, CommandError

from bankcrm.core import context
from bankcrm.core.errors import DomainError
from bankcrm.org import services


class Command(BaseCommand):
    help = "Create the head office and the first administrator of an empty production installation."

    def add_arguments(self, parser):
        parser.add_argument("--head-office-code", default="001")
        parser.add_argument("--head-office-name", default="总行")
        parser.add_argument("--admin", required=True, help="staff number of the first administrator")
        parser.add_argument("--admin-name", required=True)

    def handle(self, *args, **o):
        password = getpass.getpass("管理员初始密码 / initial password: ")
        try:
            with context.channel("command"):
                admin = services.bank_bootstrap(head_office_code=o["head_office_code"], head_office_name=o["head_office_name"],
                                                admin_staff_no=o["admin"], admin_name=o["admin_name"], admin_password=password)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(self.style.SUCCESS(f"created head office and administrator {admin.staff_no}"))
