"""Incentive demo data (after the appraisal demo, which computes and signs off the Q3 2026 scorecards): the default
scheme; a Q3 2026 pool for the branch with the most signed-off scorecards — allocated, approved by a head-office
compliance manager and paid —, a second branch's pool waiting for approval; and one clawback proposed from a
complaint upheld against a paid member of staff (registered, decided and closed through the service app's
services, so the outbox consumer proposes it). Everything goes through the services; if the scorecards are missing
the seeder says why and stops."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bankcrm.core import demo, outbox
from bankcrm.core.errors import DomainError
from bankcrm.core.money import format_amount

PERIOD = (2026, 3)
AMOUNTS = ("200,000.00", "150,000.00")


def _branch_root(path: str) -> str:
    """The first-level branch under head office of a materialised path (/001/004/007/ → /001/004/)."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:2]) + "/" if len(parts) >= 2 else path


def _supervisor(branch: Any) -> Any:
    from bankcrm.org.models import Staff

    return (Staff.objects.filter(is_active=True, employment_type="employee", branch=branch,
                                 role_assignments__role="branch_supervisor").order_by("staff_no").first())


def _complaint_against(ctx: demo.SeedContext, pool: Any, supervisor: Any) -> Any:
    """An upheld complaint naming the best-paid customer manager of ``pool`` (or whoever is paid most), through the
    service app: registered, acknowledged, assigned to the supervisor, decided upheld, closed."""
    from bankcrm.customers.models import Customer, ManagerAssignment
    from bankcrm.service import services as service
    from bankcrm.service.models import RootCause

    from .models import IncentiveAward

    awards = list(IncentiveAward.objects.filter(pool=pool, amount_fen__gt=0).exclude(staff=supervisor)
                  .select_related("staff").order_by("-amount_fen"))
    named = next((a.staff for a in awards if "customer_manager" in a.staff.roles), awards[0].staff if awards else None)
    if named is None:
        return None
    managed = ManagerAssignment.objects.filter(staff=named, ended_at__isnull=True).values("customer_id")
    visible = Customer.objects.visible_to(supervisor).filter(status="active")
    customer = visible.filter(pk__in=managed).order_by("pk").first() or visible.order_by("pk").first()
    if customer is None:
        return None
    service.root_causes_install_default()
    cause = RootCause.objects.filter(parent__isnull=False, active=True).order_by("code").first()
    c = service.complaint_register(actor=supervisor, customer_id=customer.pk, channel="phone", product_line="wealth",
                                   summary="客户经理推介理财时承诺保本保收益",
                                   description="客户称客户经理在推介理财产品时口头承诺“保本、年化4%”，到期收益不及预期。",
                                   request="要求解释并补偿收益差额", staff_named_id=named.pk)
    service.complaint_acknowledge(actor=supervisor, complaint_id=c.pk, note="已安排专人调查")
    service.complaint_assign(actor=supervisor, complaint_id=c.pk, handler_id=supervisor.pk)
    service.complaint_decide(actor=supervisor, complaint_id=c.pk,
                             findings="调取销售录音录像，确认客户经理存在“保本”表述，违反销售行为规范。",
                             decision="upheld", remedy="向客户致歉并补偿收益差额，对客户经理进行销售合规再培训",
                             root_cause_id=cause.pk)
    service.complaint_close(actor=supervisor, complaint_id=c.pk)
    while outbox.consume("people_clawbacks"):
        pass
    return c


def seed_incentives(ctx: demo.SeedContext) -> None:
    from bankcrm.approvals.services import approval_approve
    from bankcrm.org.models import Branch, Staff

    from . import incentive_services as svc
    from .models import Clawback, IncentivePool, Period, Scorecard

    admin = ctx.state.get("admin") or Staff.objects.filter(role_assignments__role="admin").order_by("staff_no").first()
    checker = (Staff.objects.filter(is_active=True, employment_type="employee", branch__parent__isnull=True,
                                    role_assignments__role="compliance_manager").order_by("staff_no").first())
    scheme = svc.scheme_install_default(actor=admin)
    period = Period.objects.filter(kind="quarter", year=PERIOD[0], quarter=PERIOD[1]).first()
    signed = (Scorecard.objects.filter(period=period, status=Scorecard.Status.SIGNED_OFF)
              if period else Scorecard.objects.none())
    if period is None or not signed.exists():
        ctx.out("  激励：没有 2026Q3 已签署的考核记分卡（考核演示数据未生成），跳过奖金池与追索演示")
        return
    if checker is None:
        ctx.out("  激励：缺少总行合规经理（复核人），跳过")
        return
    counts = Counter(_branch_root(p) for p in signed.values_list("branch_path", flat=True))
    branches = [b for b in (Branch.objects.filter(path=path).first() for path, _n in counts.most_common())
                if b is not None and b.parent_id is not None and _supervisor(b) is not None][:2]
    if not branches:
        ctx.out("  激励：已签署记分卡所在分行没有网点负责人，跳过")
        return
    done: list[str] = []
    paid = None
    for i, branch in enumerate(branches):
        sv = _supervisor(branch)
        pool = IncentivePool.objects.filter(branch=branch, period=period).first()
        try:
            if pool is None:
                pool = svc.pool_save(actor=sv, branch_id=branch.pk, period_id=period.pk, scheme_id=scheme.pk,
                                     amount=AMOUNTS[i])
            if pool.status == IncentivePool.Status.DRAFT:
                pool = svc.pool_allocate(actor=sv, pool_id=pool.pk)
            if pool.status == IncentivePool.Status.ALLOCATED:
                pool = svc.pool_submit(actor=sv, pool_id=pool.pk, reason=f"{period} 绩效奖金")
            if i == 0 and pool.status == IncentivePool.Status.PENDING:
                approval_approve(actor=checker, pending_id=pool.pending_action_id, reason="与考核结果核对一致")
                pool.refresh_from_db()
            if i == 0 and pool.status == IncentivePool.Status.APPROVED:
                pool = svc.pool_mark_paid(actor=sv, pool_id=pool.pk)
        except DomainError as exc:
            ctx.out(f"  激励：{branch.name} 奖金池未完成（{exc.code}：{exc.message}）")
            continue
        if i == 0 and pool.status == IncentivePool.Status.PAID:
            paid = (pool, sv)
        n = pool.awards.count()
        done.append(f"{branch.name} ¥{format_amount(pool.amount_fen)}（{n} 人，{pool.get_status_display()}）")
    ctx.out(f"  激励：默认方案 {scheme.code}；{period} 奖金池 " + "；".join(done))
    complaint = None
    if paid is not None and not Clawback.objects.filter(award__pool=paid[0]).exists():
        try:
            complaint = _complaint_against(ctx, *paid)
        except DomainError as exc:
            ctx.out(f"  激励：未能生成演示投诉（{exc.code}：{exc.message}），追索演示跳过")
    cb = Clawback.objects.filter(status=Clawback.Status.PROPOSED).select_related("award__staff").first()
    if cb is not None:
        ctx.out(f"  演示场景（绩效追索）：{paid[0].branch.name if paid else ''} {period} 奖金已发放；投诉 "
                f"{complaint.number if complaint else cb.source_ref} 认定成立，被投诉员工 {cb.award.staff.staff_no} "
                f"{cb.award.staff.name}，系统拟追索 ¥{format_amount(cb.amount_fen)}，待合规经理 {checker.staff_no} "
                f"在“员工发展 › 绩效追索”确认或豁免；另一奖金池待复核")


demo.register("people_incentives", 54, seed_incentives)
