"""Demo customers: Chinese names, valid identity numbers and mobiles, companies with valid credit codes, consents,
through the registration service (same validation, encryption, blind indexes and audit as the forms)."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from bankcrm.core import demo
from bankcrm.core.identifiers import ric_check_char, uscc_check_char

REGIONS = {  # sub-branch code → resident-ID region codes nearby
    "10101": ["110105", "110101", "110102"], "10102": ["110108", "110106", "110114"],
    "10201": ["310115", "310104", "310110"], "10202": ["310106", "310101", "310105"],
    "10301": ["440304", "440303", "440306"], "10302": ["440305", "440307", "440309"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤单欧阳"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇鹏飞浩凯健俊帆琳雪婷欣怡晨阳佳慧博瑞子涵梓轩诗雨思远"
OCCUPATIONS = [("教师", "教育"), ("工程师", "信息技术"), ("医生", "医疗卫生"), ("个体经营者", "批发零售"), ("公务员", "公共管理"),
               ("会计", "金融"), ("销售经理", "制造业"), ("退休人员", ""), ("律师", "法律服务"), ("设计师", "文化创意")]
COMPANY_WORDS = ["华信", "远洋", "中科", "博达", "鑫源", "恒泰", "蓝海", "嘉禾", "天成", "润丰"]
COMPANY_KINDS = ["科技有限公司", "贸易有限公司", "餐饮管理有限公司", "建筑工程有限公司", "医药有限公司"]


def person_id(rng, region: str, born: date) -> str:
    body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric_check_char(body)


def company_code(rng) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    body = "91" + rng.choice(["110105", "310115", "440304"]) + "".join(rng.choice(alphabet) for _ in range(9))
    return body + uscc_check_char(body)


def seed_customers(ctx: demo.SeedContext) -> None:
    from bankcrm.customers import services
    from bankcrm.customers.models import Consent
    from bankcrm.org.models import Staff

    rng = ctx.rng
    per_manager = int(ctx.options.get("customers_per_manager") or 12)
    today = timezone.localdate()
    count = 0
    managers = Staff.objects.filter(is_active=True, role_assignments__role="customer_manager",
                                    branch__code__in=list(REGIONS)).select_related("branch").order_by("staff_no")
    for m in managers:
        for i in range(per_manager):
            if i == per_manager - 1:  # each manager serves one company
                name = rng.choice(["北京", "上海", "深圳"]) + rng.choice(COMPANY_WORDS) + rng.choice(COMPANY_KINDS)
                c = services.customer_register(actor=m, kind="company", name=name, id_type="uscc", id_number=company_code(rng),
                                               mobile=f"13{rng.randrange(3, 10)}{rng.randrange(10**8):08d}",
                                               legal_representative=rng.choice(SURNAMES[:60]) + rng.choice(GIVEN),
                                               industry=rng.choice(["信息技术", "批发零售", "建筑业", "医药制造"]))
            else:
                age = rng.choice([8, 24, 31, 38, 45, 52, 58, 63, 67, 72, 79]) if i < 11 else rng.randrange(20, 80)
                born = today - timedelta(days=age * 365 + rng.randrange(0, 360))
                name = rng.choice(SURNAMES[:-2] + "欧阳"[:0]) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
                if rng.random() < 0.03:
                    name = "欧阳" + rng.choice(GIVEN) + rng.choice(GIVEN)
                occ, ind = rng.choice(OCCUPATIONS) if age >= 22 else ("学生", "")
                if age >= 60 and rng.random() < 0.7:
                    occ, ind = "退休人员", ""
                expires = today + timedelta(days=rng.randrange(-40, 3650))
                c = services.customer_register(
                    actor=m, kind="person", name=name, id_type="resident_id",
                    id_number=person_id(rng, rng.choice(REGIONS[m.branch.code]), born),
                    mobile=f"1{rng.choice('3589')}{rng.randrange(10)}{rng.randrange(10**8):08d}" if age >= 16 else "",
                    email=f"user{rng.randrange(10**6)}@example.cn" if rng.random() < 0.5 else "",
                    address=f"{m.branch.address[:6]}{rng.randrange(1, 300)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2801)}室",
                    id_expires_on=expires, occupation=occ, industry=ind,
                    income_band=rng.choice(["<10w", "10-30w", "10-30w", "30-100w", "100w+"]),
                    preferred_channel=rng.choice(["phone", "wechat", "branch", "sms"]),
                    preferred_contact_time=rng.choice(["工作日白天", "工作日晚上", "周末"]))
                services.consent_grant(actor=m, customer_id=c.pk, purpose=Consent.Purpose.SENSITIVE, channel="branch",
                                       evidence=f"SQ{today:%Y}{rng.randrange(10**6):06d}",
                                       guardian_name=(rng.choice(SURNAMES[:60]) + rng.choice(GIVEN)) if age < 14 else "")
                if rng.random() < 0.6:
                    services.consent_grant(actor=m, customer_id=c.pk, purpose=Consent.Purpose.MARKETING,
                                           channel=rng.choice(["branch", "online", "phone"]),
                                           guardian_name=(rng.choice(SURNAMES[:60]) + rng.choice(GIVEN)) if age < 14 else "")
            count += 1
    _seed_relationships(ctx)
    ctx.out(f"  客户 {count} 名（个人与企业，含未成年人、老年客户、证件即将或已经到期的客户）")


demo.register("customers", 20, seed_customers)


def _seed_relationships(ctx: demo.SeedContext) -> None:
    """Families among each manager's customers (spouses, a parent and a child), and each company's legal
    representative, so the 360 page's relationship graph has something true to show."""
    from bankcrm.customers import services
    from bankcrm.customers.models import Customer, ManagerAssignment

    rng = ctx.rng
    by_manager: dict[int, list[Customer]] = {}
    for a in ManagerAssignment.objects.filter(role="primary", ended_at__isnull=True).select_related("customer", "staff"):
        by_manager.setdefault(a.staff_id, []).append(a.customer)
    for staff_id, customers in by_manager.items():
        from bankcrm.org.models import Staff

        actor = Staff.objects.get(pk=staff_id)
        people = sorted((c for c in customers if c.kind == "person"), key=lambda c: c.birth_date or timezone.localdate())
        companies = [c for c in customers if c.kind == "company"]
        adults = [c for c in people if c.birth_date and (timezone.localdate() - c.birth_date).days > 25 * 365]
        children = [c for c in people if c.birth_date and (timezone.localdate() - c.birth_date).days < 18 * 365]
        if len(adults) >= 2:
            a, b = rng.sample(adults, 2)
            services.relationship_add(actor=actor, customer_id=a.pk, other_customer_id=b.pk, kind="spouse")
            if children:
                services.relationship_add(actor=actor, customer_id=children[0].pk, other_customer_id=a.pk, kind="parent",
                                          note="监护人")
        if companies and adults:
            services.relationship_add(actor=actor, customer_id=companies[0].pk, other_customer_id=rng.choice(adults).pk,
                                      kind="legal_rep")
