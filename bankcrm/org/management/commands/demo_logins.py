from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from bankcrm.core import access
from bankcrm.org.demo import DEMO_PASSWORD
from bankcrm.org.models import Staff

SHOW = ["AD001", "AD002", "CO001", "RK001", "SV101", "SV201", "CM001", "CM002", "OM001", "IN001", "TW001", "CS002", "CS099"]


class Command(BaseCommand):
    help = "Print the demo logins (all share one demo password) and which need a TOTP code."

    def handle(self, *args, **opts):
        totp = Path(settings.VAR_DIR) / "demo-totp.txt"
        self.stdout.write(f"\n演示账号 / demo logins — 密码 password: {DEMO_PASSWORD}\n")
        self.stdout.write(f"{'工号':<8}{'姓名':<8}{'机构':<14}{'角色 / 用工类型':<28}{'动态口令 TOTP'}")
        for s in Staff.objects.filter(staff_no__in=SHOW).select_related("branch").order_by("staff_no"):
            roles = "、".join(s.role_labels)
            need = "需要 (make demo-code U=%s)" % s.staff_no if access.requires_totp(s) else "-"
            state = "" if s.may_work_now() else "（合同已到期，无法登录）"
            self.stdout.write(f"{s.staff_no:<8}{s.name:<8}{s.branch.name:<14}{roles + ' / ' + s.employment_label:<28}{need}{state}")
        if totp.exists():
            self.stdout.write(f"\n特权用户的动态口令密钥在 {totp}；`make demo-code U=AD001` 打印当前6位口令。")
        self.stdout.write("全部员工见“机构与人员 → 员工”。\n")
