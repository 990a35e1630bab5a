"""Demo of coverage, controls and findings: the clauses installed, a few realistic exceptions planted through the
owning apps' services where the demo bank has none (a customer who withdrew consent, an identity card that expired,
a walk-in customer registered without a manager, an intern whose contract ended yesterday and the nightly job has not
yet run, a long-unused account), every control run as the compliance manager, a manual finding, one finding walked
through rectification to closed and one left awaiting re-check."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo
from bankcrm.core.access import Role


def _primary(customer):
    a = customer.team.filter(role="primary", ended_at__isnull=True, staff__is_active=True).select_related("staff").first()
    return a.staff if a else None


def seed_supervision_controls(ctx: demo.SeedContext) -> None:
    from bankcrm.customers import services as cs
    from bankcrm.customers.models import Customer
    from bankcrm.org import services as org
    from bankcrm.org.models import Staff

    from . import controls
    from . import finding_services as svc
    from .coverage_services import clauses_install_default
    from .models import Finding

    admin = ctx.state["admin"]
    today = timezone.localdate()
    compliance = Staff.objects.get(staff_no="CO001")
    r = clauses_install_default(actor=None)
    with transaction.atomic():
        # -- plant a few exceptions of kinds the demo bank has none of, through the owning services
        people = list(Customer.objects.filter(status="active", kind="person", branch__path__startswith="/001/101/")
                      .order_by("id")[:40])
        planted = 0
        for c in people[3:5]:  # two customers withdrew their consent to processing of account data
            m = _primary(c)
            consent = c.consents.filter(purpose="sensitive", withdrawn_at__isnull=True).first()
            if m and consent:
                cs.consent_withdraw(actor=m, customer_id=c.pk, consent_id=consent.pk, reason="客户来电撤回授权")
                planted += 1
        for c in people[6:8]:  # identity cards recorded with an expiry date already passed
            m = _primary(c)
            if m:
                cs.customer_update(actor=m, customer_id=c.pk, id_expires_on=today - timedelta(days=ctx.rng.randint(5, 60)),
                                   reason="客户出示的身份证已过有效期")
                planted += 1
        om = Staff.objects.filter(role_assignments__role=Role.OPERATIONS_MANAGER, is_active=True,
                                  branch__path__startswith="/001/101/", employment_type="employee").order_by("staff_no").first()
        if om is not None:  # a walk-in customer registered at the counter without a customer manager
            from bankcrm.core.identifiers import ric_check_char

            body = f"110105{1960 + ctx.rng.randint(0, 30)}0{ctx.rng.randint(1, 9)}1{ctx.rng.randint(0, 9)}{ctx.rng.randint(100, 999)}"
            if not Customer.objects.filter(name="欧阳柜面").exists():
                cs.customer_register(actor=om, kind="person", name="欧阳柜面", id_type="resident_id",
                                     id_number=body + ric_check_char(body), mobile="13700001111", occupation="个体经营")
                planted += 1
        intern = Staff.objects.filter(staff_no="IN002").first()
        if intern is not None and intern.is_active:  # contract ended yesterday; the nightly job has not run yet
            org.staff_update(actor=admin, staff_id=intern.pk, name=intern.name, branch_id=intern.branch_id,
                             employment_type=intern.employment_type, title=intern.title,
                             contract_start=intern.contract_start, contract_end=today - timedelta(days=1))
            planted += 1
        # a member of staff who last signed in four months ago (the login page stamps last_login the same way)
        Staff.objects.filter(staff_no="OM003").update(last_login=timezone.now() - timedelta(days=123))

    with transaction.atomic():
        runs = controls.controls_run(actor=compliance)
    figures = "；".join(f"{controls.get(r.control).measure_label} {r.exceptions}" for r in runs if r.exceptions)

    with transaction.atomic():
        head = compliance.branch
        chaoyang = Staff.objects.get(staff_no="SV101").branch.children.order_by("code").first() or head
        manual = svc.finding_raise(
            actor=compliance, source="manual", title="抽查发现理财销售双录视频缺少风险揭示环节", severity="high",
            branch_id=chaoyang.pk, clause_code="cm-wealth-solutions",
            detail="现场检查抽查 20 笔 R3 及以上产品销售，其中 2 笔双录视频未完整宣读风险揭示书。")
        # one finding walked through to closed, one left awaiting re-check: consent findings of branch 101's subtree
        done = list(Finding.objects.filter(control="consent_missing", status="open", owner__isnull=False,
                                           branch_path__startswith="/001/101/").order_by("pk")[:2])
        walked = []
        for i, f in enumerate(done):
            owner = f.owner
            a = svc.action_add(actor=owner, finding_id=f.pk, action="联系客户重新签署个人信息处理授权书",
                               owner_id=owner.pk, due_on=today + timedelta(days=5))
            svc.action_done(actor=owner, action_id=a.pk, evidence="客户已到网点重新签署授权书，凭证编号 SQ-2026-%03d" % (i + 1))
            svc.finding_submit_rectified(actor=owner, finding_id=f.pk, note="已完成")
            if i == 0:
                svc.action_recheck(actor=compliance, action_id=a.pk, passed=True, note="已核对授权书原件")
                svc.finding_close(actor=compliance, finding_id=f.pk, note="整改到位，关闭")
            walked.append(f.number)
    ctx.out(f"  制度条款 {r['clauses']} 条；植入例外 {planted} 个；控制检查 {len(runs)} 项（例外：{figures or '无'}）")
    owner = manual.owner
    ctx.out(f"  检查发现 {Finding.objects.count()} 项：人工发现 {manual.number}；已整改关闭 {walked[0] if walked else '—'}；"
            f"待复查 {walked[1] if len(walked) > 1 else '—'}")
    ctx.out(f"  演示：合规经理 CO001 登录 → 内部监督 → 制度覆盖矩阵；整改责任人 "
            f"{owner.staff_no if owner else 'SV101'}（{owner.branch.name if owner else ''}负责人）登录处理整改")


demo.register("supervision_controls", 60, seed_supervision_controls)
