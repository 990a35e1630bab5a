"""Demo service data, through the services: the root-cause taxonomy; a few service requests (answered, resolved,
one about to miss its response target); complaints in every state — closed with a decision letter and a finished
rectification, one a day from its decision date, one extended to 30 days, one just transferred by the regulator and
not yet acknowledged; a feedback case from a survey; then one escalation sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo


def _pick(ctx: demo.SeedContext) -> list[tuple[Any, Any, Any, Any]]:
    """(customer, its manager, the manager's supervisor, an operations manager of the branch) for a few customers
    whose managers are employees."""
    from bankcrm.customers.models import ManagerAssignment
    from bankcrm.org.models import Staff

    from . import services

    out = []
    for a in (ManagerAssignment.objects.filter(role="primary", ended_at__isnull=True, customer__status="active",
                                               customer__kind="person", staff__is_active=True,
                                               staff__employment_type="employee")
              .select_related("customer__branch", "staff__branch").order_by("customer_id")):
        sup = services.supervisor_of(a.staff)
        om = (Staff.objects.filter(is_active=True, employment_type="employee", branch=a.customer.branch,
                                   role_assignments__role="operations_manager").order_by("staff_no").first())
        if sup is None or om is None or any(o[0].branch_id == a.customer.branch_id for o in out[-1:]):
            continue
        out.append((a.customer, a.staff, sup, om))
        if len(out) == 6:
            break
    return out


def seed_service(ctx: demo.SeedContext) -> None:
    from bankcrm.org.models import Staff

    from . import services
    from .models import Complaint, RootCause, ServiceRequest

    admin = ctx.state.get("admin") or Staff.objects.filter(role_assignments__role="admin").order_by("staff_no").first()
    services.root_causes_install_default(actor=admin)
    picks = _pick(ctx)
    if len(picks) < 4:
        ctx.out("  服务：演示客户不足，跳过")
        return
    now = timezone.now()
    cause = {c.code: c for c in RootCause.objects.all()}

    def run(fn, **kw):
        with transaction.atomic():
            return fn(**kw)

    (c1, cm1, sv1, om1), (c2, cm2, sv2, om2), (c3, cm3, sv3, om3), (c4, cm4, _sv4, om4) = picks[:4]
    # Requests
    r1 = run(services.request_register, actor=cm1, customer_id=c1.pk, kind="enquiry", channel="phone",
             subject="理财产品到期后如何续作", description="客户来电询问“稳盈90天”到期资金是否自动续作及新一期收益。",
             received_at=now - timedelta(days=3))
    run(services.request_respond, actor=cm1, request_id=r1.pk, note="已电话回复到期规则，并约定到期前一周再提醒。")
    run(services.request_resolve, actor=cm1, request_id=r1.pk, resolution="客户确认不续作，到期资金转入活期。")
    run(services.request_close, actor=cm1, request_id=r1.pk)
    run(services.request_register, actor=om2, customer_id=c2.pk, kind="appointment", channel="branch",
        priority="high", subject="预约大额取现 30 万元", description="客户装修付款，需次日上午取现。",
        appointment_at=now + timedelta(days=1), received_at=now - timedelta(hours=1))
    r3 = run(services.request_register, actor=cm3, customer_id=c3.pk, kind="request", channel="online",
             subject="申请补打近三个月对账单", received_at=now - timedelta(hours=7))
    r4 = run(services.request_register, actor=cm4, customer_id=c4.pk, kind="request", channel="letter",
             priority="low", subject="更新通讯地址", received_at=now - timedelta(days=2))
    run(services.request_resolve, actor=cm4, request_id=r4.pk, resolution="已按客户来函更新通讯地址并电话确认。")
    # Complaint closed with a decision letter and a finished rectification
    a = run(services.complaint_register, actor=om1, customer_id=c1.pk, channel="branch", product_line="service",
            summary="柜面排队时间过长且叫号混乱", description="客户周五下午办理转账等候近一小时，叫号系统多次跳号。",
            request="希望改进叫号秩序并致歉", staff_named_id=None, received_at=now - timedelta(days=9))
    run(services.complaint_acknowledge, actor=om1, complaint_id=a.pk)
    run(services.complaint_assign, actor=sv1, complaint_id=a.pk, handler_id=sv1.pk)
    run(services.complaint_decide, actor=sv1, complaint_id=a.pk, decision="partly", root_cause_id=cause["SYS01"].pk,
        findings="经调取叫号系统日志，当日14:00-15:30叫号机两次重启导致跳号，窗口未及时增开。",
        remedy="当面致歉，并赠送网点服务体验券。")
    rect = run(services.rectification_add, actor=sv1, complaint_id=a.pk, owner_id=om1.pk,
               action="高峰时段增开一个综合窗口，叫号机故障时人工引导", due_on=timezone.localdate())
    run(services.rectification_done, actor=om1, rectification_id=rect.pk, note="已排班，周五下午固定增开窗口。")
    run(services.complaint_close, actor=sv1, complaint_id=a.pk)
    # One a day from its decision date (the sweep escalates it)
    b = run(services.complaint_register, actor=cm2, customer_id=c2.pk, channel="letter", product_line="wealth",
            summary="理财产品实际收益低于宣传的业绩比较基准", staff_named_id=cm2.pk,
            description="客户来信称购买时被告知“基本能拿到4%”，到期实际年化2.1%。", request="要求补偿收益差额",
            received_at=now - timedelta(days=14))
    run(services.complaint_acknowledge, actor=om2, complaint_id=b.pk)
    run(services.complaint_assign, actor=sv2, complaint_id=b.pk, handler_id=om2.pk)
    # Extended to 30 days by the supervisor
    c = run(services.complaint_register, actor=cm3, customer_id=c3.pk, channel="phone", product_line="loan",
            summary="提前还款违约金计算有异议", description="客户认为合同约定的违约金比例与实际收取不一致。",
            request="退还多收的违约金", received_at=now - timedelta(days=10))
    run(services.complaint_acknowledge, actor=om3, complaint_id=c.pk)
    run(services.complaint_assign, actor=sv3, complaint_id=c.pk, handler_id=om3.pk)
    run(services.complaint_extend, actor=sv3, complaint_id=c.pk,
        reason="需调取贷款合同原件并由总行法律合规部复核违约金条款，无法在15日内办结。")
    # Just transferred by the regulator, not yet acknowledged
    run(services.complaint_register, actor=om4, customer_id=c4.pk, channel="regulator", product_line="payment",
        summary="手机银行跨行转账失败但扣款未退回", description="金融监管局转办：客户称转账失败三天资金仍未退回。",
        request="尽快退回资金", received_at=now - timedelta(hours=5))
    # A feedback case from a survey (what the surveys app does on a low score)
    services.feedback_case_open(customer_id=c2.pk, summary="满意度调查 1 分：客户经理推荐产品时风险讲得不清楚",
                                source_ref="demo-survey-low-1", assignee_id=sv2.pk)
    done = services.sweep()
    ctx.out(f"  服务请求 {ServiceRequest.objects.count()} 件，投诉与反馈 {Complaint.objects.count()} 件；"
            f"超时预警升级 {done['requests'] + done['complaints']} 项（{r3.number} 等）")


demo.register("service", 50, seed_service)
