"""Demo surveys: the standard template; survey consents that customers gave at the branch (about two in three adults);
a quarterly campaign sampled and sent last quarter and this quarter through the services, with answers submitted
through the same service the public page calls (scores and comments a real bank sees; low scores open feedback
cases when the service app is there); an account-opened campaign; and this quarter's unanswered invitations waiting in
the message outbox (消息发件箱) with clickable links."""

from __future__ import annotations

import re
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo

PRAISE = ["经理很专业，每次都耐心讲解", "柜员办事利索，态度也好", "服务很周到，谢谢", "大堂经理主动帮我取号，很贴心",
          "存单到期前经理提醒了我，很及时", "手机银行越来越好用了", "整体满意，环境也干净"]
MIXED = ["还可以，就是人有点多", "一般吧，希望多开几个窗口", "没什么意见", "建议增加周末营业时间"]
COMPLAINTS = ["排队等了快一个小时，窗口太少", "手续费收得不明不白，也没人解释", "APP老是闪退，转账很麻烦",
              "理财产品亏了，当初说风险很低", "客户经理电话打不通，消息也不回"]


def _answer(rng) -> dict[str, str]:
    mood = rng.random()
    if mood < 0.62:
        csat, nps, pool = rng.choice([4, 5, 5]), rng.choice([8, 9, 9, 10, 10]), PRAISE
    elif mood < 0.85:
        csat, nps, pool = rng.choice([3, 4]), rng.choice([6, 7, 8]), MIXED
    else:
        csat, nps, pool = rng.choice([1, 2, 2, 3]), rng.choice([0, 2, 3, 4, 5]), COMPLAINTS
    return {"csat": str(csat), "nps": str(nps), "comment": rng.choice(pool) if rng.random() < 0.7 else ""}


def _token(message) -> str:
    m = re.search(r"/s/([A-Za-z0-9_-]{43})/", message.body)
    return m.group(1) if m else ""


def seed_surveys(ctx: demo.SeedContext) -> None:
    from bankcrm.core import outbox
    from bankcrm.customers import services as customer_services
    from bankcrm.customers.models import Consent, ManagerAssignment
    from bankcrm.org.models import Staff

    from . import services
    from .models import Invitation, OutboxMessage, Response

    rng = ctx.rng
    admin = ctx.state.get("admin") or Staff.objects.filter(role_assignments__role="admin").order_by("staff_no").first()
    template = services.template_install_default(actor=admin)
    today = timezone.localdate()
    # Survey consents collected at the branch by the customers' managers (adults only; about two in three).
    granted = 0
    for a in (ManagerAssignment.objects.filter(role="primary", ended_at__isnull=True, customer__status="active")
              .select_related("staff", "customer").order_by("customer_id")):
        born = a.customer.birth_date
        if (born and (today - born).days < 18 * 365) or rng.random() > 0.68 or not a.staff.is_active:
            continue
        if a.customer.consents.filter(purpose=Consent.Purpose.SURVEY, withdrawn_at__isnull=True).exists():
            continue
        with transaction.atomic():
            customer_services.consent_grant(actor=a.staff, customer_id=a.customer_id, purpose=Consent.Purpose.SURVEY,
                                            channel="branch", evidence=f"MY{today:%Y}{rng.randrange(10**6):06d}")
        granted += 1
    with transaction.atomic():
        quarterly = services.campaign_save(actor=admin, name="客户经理服务季度满意度调查", trigger="periodic",
                                           frequency="quarterly", per_manager=6, template_id=template.pk,
                                           channel="sms", active=True)
        services.campaign_save(actor=admin, name="新开户客户体验回访", trigger="account_opened", per_manager=1,
                               template_id=template.pk, channel="sms", valid_days=7, active=True)
    now = timezone.now()
    answered = 0
    for when, share in ((now - timedelta(days=100), 0.7), (now - timedelta(days=2), 0.55)):
        with transaction.atomic():
            run = services.campaign_run(actor=admin, campaign_id=quarterly.pk, now=when)
        services.dispatch(campaign_id=quarterly.pk, now=when)
        for msg in OutboxMessage.objects.filter(invitation__run=run).select_related("invitation").order_by("id"):
            if rng.random() > share:
                continue
            at = msg.invitation.sent_at + timedelta(hours=rng.randrange(1, 72))
            with transaction.atomic():
                services.response_submit(token=_token(msg), data=_answer(rng), now=min(at, now))
            answered += 1
    while outbox.consume("surveys_followup", batch=500):
        pass
    services.invitations_expire()
    waiting = Invitation.objects.filter(status="sent").count()
    low = Response.objects.filter(needs_followup=True).count()
    ctx.out(f"  满意度调查：授权 {granted} 位客户；两期季度抽样已发送，答卷 {answered} 份（需跟进 {low} 份）；"
            f"发件箱中待答复邀请 {waiting} 份")


demo.register("surveys", 51, seed_surveys)
