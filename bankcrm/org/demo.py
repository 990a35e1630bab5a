"""Demo bank: a head office, 3 branches, 6 sub-branches and ~43 staff covering every role and employment type.

Everything goes through the services (so the audit trail, encryption and approvals are exactly as in real use),
except the first administrator, who is created by the same bootstrap service a real installation uses.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from bankcrm.core import demo
from bankcrm.core.access import EmploymentType, Role

from . import services
from .models import Staff

DEMO_PASSWORD = "Bankcrm@2026"
R = Role
E = EmploymentType

BRANCHES = [
    # code, name, name_en, parent code, kind, address
    ("101", "北京分行", "Beijing Branch", "001", "branch", "北京市西城区金融大街9号"),
    ("102", "上海分行", "Shanghai Branch", "001", "branch", "上海市浦东新区陆家嘴环路1000号"),
    ("103", "深圳分行", "Shenzhen Branch", "001", "branch", "深圳市福田区深南大道6008号"),
    ("10101", "北京朝阳支行", "Beijing Chaoyang Sub-branch", "101", "sub_branch", "北京市朝阳区建国路88号"),
    ("10102", "北京海淀支行", "Beijing Haidian Sub-branch", "101", "sub_branch", "北京市海淀区中关村大街27号"),
    ("10201", "上海浦东支行", "Shanghai Pudong Sub-branch", "102", "sub_branch", "上海市浦东新区世纪大道100号"),
    ("10202", "上海静安支行", "Shanghai Jing'an Sub-branch", "102", "sub_branch", "上海市静安区南京西路1266号"),
    ("10301", "深圳福田支行", "Shenzhen Futian Sub-branch", "103", "sub_branch", "深圳市福田区福华一路88号"),
    ("10302", "深圳南山支行", "Shenzhen Nanshan Sub-branch", "103", "sub_branch", "深圳市南山区科技园南区12号"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇鹏飞浩凯健俊帆琳雪婷欣怡晨阳佳慧博瑞"

# staff_no, role(s), branch code, employment type, title — the ones the README names first.
NAMED = [
    ("AD002", [R.ADMIN], "001", E.EMPLOYEE, "系统管理员"),
    ("CO001", [R.COMPLIANCE_MANAGER], "001", E.EMPLOYEE, "合规部经理"),
    ("RK001", [R.RISK_MANAGER], "001", E.EMPLOYEE, "风险管理部经理"),
    ("SV101", [R.BRANCH_SUPERVISOR], "101", E.EMPLOYEE, "分行行长"),
    ("RK101", [R.RISK_MANAGER], "101", E.EMPLOYEE, "分行风控经理"),
    ("CO101", [R.COMPLIANCE_MANAGER], "101", E.EMPLOYEE, "分行合规经理"),
    ("SV102", [R.BRANCH_SUPERVISOR], "102", E.EMPLOYEE, "分行行长"),
    ("RK102", [R.RISK_MANAGER], "102", E.EMPLOYEE, "分行风控经理"),
    ("SV103", [R.BRANCH_SUPERVISOR], "103", E.EMPLOYEE, "分行行长"),
    ("RK103", [R.RISK_MANAGER], "103", E.EMPLOYEE, "分行风控经理"),
    ("IN001", [R.CUSTOMER_MANAGER], "10101", E.INTERN, "实习客户经理"),
    ("IN002", [R.OPERATIONS_MANAGER], "10201", E.INTERN, "实习柜员"),
    ("TW001", [R.OPERATIONS_MANAGER], "10101", E.TEMPORARY, "临时柜员"),
    ("TW002", [R.CUSTOMER_MANAGER], "10301", E.TEMPORARY, "临时客户经理"),
    ("CS001", [R.RISK_MANAGER], "101", E.CONSULTANT, "风险顾问"),
    ("CS002", [R.CUSTOMER_MANAGER], "10102", E.CONSULTANT, "财富顾问"),
]


def _name(rng, used: set[str]) -> str:
    while True:
        n = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
        if n not in used:
            used.add(n)
            return n


def _mobile(rng) -> str:
    return rng.choice(["138", "139", "150", "186", "137", "158", "189", "135"]) + f"{rng.randrange(10**8):08d}"


def seed_org(ctx: demo.SeedContext) -> None:
    rng = ctx.rng
    used: set[str] = set()
    admin = services.bank_bootstrap(head_office_code="001", head_office_name="总行", head_office_name_en="Head Office",
                                    admin_staff_no="AD001", admin_name=_name(rng, used), admin_password=DEMO_PASSWORD)
    admin = Staff.objects.get(pk=admin.pk)
    ctx.state["admin"] = admin
    by_code = {"001": admin.branch}
    for code, name, name_en, parent, kind, address in BRANCHES:
        by_code[code] = services.branch_create(actor=admin, code=code, name=name, name_en=name_en, kind=kind,
                                               parent_id=by_code[parent].pk, address=address)
    today = timezone.localdate()
    plan = list(NAMED)
    # Every sub-branch: a supervisor, two customer managers and an operations manager.
    seq = {"SV": 200, "CM": 0, "OM": 0}
    for code, *_ in BRANCHES:
        if len(code) != 5:
            continue
        seq["SV"] += 1
        plan.append((f"SV{seq['SV']}", [R.BRANCH_SUPERVISOR], code, E.EMPLOYEE, "支行行长"))
        for _i in range(2):
            seq["CM"] += 1
            plan.append((f"CM{seq['CM']:03d}", [R.CUSTOMER_MANAGER], code, E.EMPLOYEE, rng.choice(["客户经理", "理财经理", "高级客户经理"])))
        seq["OM"] += 1
        plan.append((f"OM{seq['OM']:03d}", [R.OPERATIONS_MANAGER], code, E.EMPLOYEE, "运营主管"))
    created = {}
    for staff_no, roles, bcode, etype, title in plan:
        start = today - timedelta(days=rng.randrange(60, 3000)) if etype == E.EMPLOYEE else today - timedelta(days=rng.randrange(30, 150))
        end = None if etype == E.EMPLOYEE else today + timedelta(days=rng.randrange(20, 200))
        if staff_no == "TW002":  # one contract ends soon, so the administrators' inbox shows the reminder
            end = today + timedelta(days=10)
        created[staff_no] = services.staff_create(
            actor=admin, staff_no=staff_no, name=_name(rng, used), branch_id=by_code[bcode].pk, employment_type=etype,
            roles=[r.value for r in roles], password=DEMO_PASSWORD, contract_start=start, contract_end=end, title=title,
            mobile=_mobile(rng), email=f"{staff_no.lower()}@demo-bank.cn")
    # AD002 became the second administrator directly (single-administrator bootstrap rule); the compliance grants
    # AD001 submitted wait for a second administrator, and AD002 approves them as a real bank would.
    from bankcrm.approvals.models import PendingAction
    from bankcrm.approvals.services import approval_approve

    ad002 = Staff.objects.get(pk=created["AD002"].pk)
    for p in PendingAction.objects.filter(status="pending").order_by("pk"):
        approval_approve(actor=ad002, pending_id=p.pk, reason="演示数据初始化")
    # One pending grant stays in the inbox, so the demo shows maker-checker at work.
    services.staff_set_roles(actor=admin, staff_id=created["CO101"].pk,
                             roles=[R.COMPLIANCE_MANAGER, R.ADMIN], reason="分行合规经理兼任系统管理员（演示待复核）")
    # An expired consultant, deactivated by the nightly job as in real life.
    old = services.staff_create(actor=admin, staff_no="CS099", name=_name(rng, used), branch_id=by_code["102"].pk,
                                employment_type=E.CONSULTANT, roles=[R.CUSTOMER_MANAGER], password=DEMO_PASSWORD,
                                contract_start=today - timedelta(days=200), contract_end=today - timedelta(days=3),
                                title="前财富顾问")
    services.contracts_expire_due(today=today)
    ctx.state["staff"] = created
    ctx.out(f"  机构 {len(BRANCHES) + 1} 个，员工 {Staff.objects.count()} 名（含已到期顾问 {old.staff_no}）")


def seed_totp(ctx: demo.SeedContext) -> None:
    """Privileged demo users get an authenticator secret, written to var/demo-totp.txt, so that `make demo-code`
    prints their current code. A real bank's staff enrol on their own phone at first login."""
    from base64 import b32encode

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.core import access

    lines = []
    for staff in Staff.objects.filter(is_active=True).order_by("staff_no"):
        if access.requires_totp(staff):
            dev = TOTPDevice.objects.create(user=staff, name="demo", confirmed=True)
            lines.append(f"{staff.staff_no}\t{b32encode(dev.bin_key).decode()}")
    path = Path(settings.VAR_DIR) / "demo-totp.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    ctx.out(f"  {len(lines)} 名特权用户已配置动态口令（密钥见 {path}）")


def seed_calendar(ctx: demo.SeedContext) -> None:
    from bankcrm.core.services import calendar_import_csv

    data = (Path(__file__).resolve().parent.parent / "core" / "data" / "holidays_cn.csv").read_bytes()
    r = calendar_import_csv(actor=ctx.state["admin"], data=data)
    ctx.out(f"  工作日历：导入 {r['created']} 天")


demo.register("org", 10, seed_org)
demo.register("org_totp", 11, seed_totp)
demo.register("calendar", 12, seed_calendar)
