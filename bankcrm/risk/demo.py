"""Demo risk data: the built-in rules, questionnaire and rating model; the nightly monitoring run over the demo
history (so the alert list shows what the rules really find in it); AML ratings of every customer by the sweep;
suitability assessments for about half of the customers (taken by their managers, face to face); a small internal
watch list screened against the customers."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo


def risk_bootstrap(*, actor) -> dict[str, int]:
    """Everything a new bank needs before monitoring, rating and suitability work (idempotent):
    `manage.py risk_bootstrap` runs it in production."""
    from . import rating, services, suitability

    with transaction.atomic():
        rules = services.rules_install_builtin(actor=actor)
        suitability.questionnaire_install_default(actor=actor)
        rating.rating_model_install_default(actor=actor)
    return {"rules": rules}


def _scenarios(ctx: demo.SeedContext) -> int:
    """A few real patterns posted through the ledger services over the last three business days, so the rules have
    something true to find in the demo: a large cash deposit (0501), cash structured just below the threshold over
    three days (S01), money in by cash and straight out to another bank (S02, and 0501 on the way in), a company's
    large outward transfer (0502), and many small transfers to different people in one day (S04)."""
    from datetime import timedelta as td

    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.demo import _tellers
    from bankcrm.ledger.models import Account

    tellers: dict[str, Any] = {}
    for t in _tellers():
        tellers.setdefault(t.branch.path, t)
    accounts = [a for a in Account.objects.filter(kind="customer", status="active", currency="CNY",
                                                  product__kind="demand").select_related("customer").order_by("id")
                if a.branch_path in tellers]
    people = [a for a in accounts if a.customer.kind == "person"]
    companies = [a for a in accounts if a.customer.kind == "company"]
    if len(people) < 16 or not companies:
        return 0
    today = timezone.localdate()
    d1, d2, d3 = today - td(days=1), today - td(days=2), today - td(days=3)
    posted = 0

    def post(acc, builder, day, **kw):
        nonlocal posted
        teller = tellers[acc.branch_path]
        with transaction.atomic():
            ledger.post(builder(actor=teller, **kw), maker=teller, today=day)
        posted += 1

    cash_in = ledger.cash_deposit_movement
    post(people[0], cash_in, d1, account_id=people[0].pk, amount_fen=6_800_000, memo="现金存入")
    for amount, day in ((4_650_000, d3), (4_800_000, d2), (4_920_000, d1)):
        post(people[1], cash_in, day, account_id=people[1].pk, amount_fen=amount, memo="现金存入")
    post(people[2], cash_in, d2, account_id=people[2].pk, amount_fen=16_000_000, memo="现金存入")
    post(people[2], ledger.outward_transfer_movement, d1, from_account_id=people[2].pk, amount_fen=15_200_000,
         bank="中国工商银行深圳分行", name="深圳市鑫达贸易有限公司", account_no="4000021109200088817", memo="货款")
    company = companies[0]
    post(company, cash_in, d2, account_id=company.pk, amount_fen=260_000_000, memo="营业款存入")
    post(company, ledger.outward_transfer_movement, d1, from_account_id=company.pk, amount_fen=230_000_000,
         bank="中国建设银行上海分行", name="上海恒远建设工程有限公司", account_no="31050161373600001234", memo="工程款")
    post(people[3], cash_in, d1, account_id=people[3].pk, amount_fen=2_000_000, memo="现金存入")
    for other in people[4:15]:
        post(people[3], ledger.internal_transfer_movement, d1, from_account_id=people[3].pk, to_account_id=other.pk,
             amount_fen=120_000 + other.pk % 7 * 1000, memo="转账")
    return posted


def seed_risk(ctx: demo.SeedContext) -> None:
    from bankcrm.customers.models import Customer, ManagerAssignment
    from bankcrm.ledger.models import JournalEntry
    from bankcrm.org.models import Staff

    from . import rating, services, suitability, watchlist
    from .models import Alert, DueDiligence

    admin = ctx.state.get("admin") or Staff.objects.filter(role_assignments__role="admin").order_by("staff_no").first()
    risk_bootstrap(actor=admin)
    ctx.out(f"  可疑交易情景 {_scenarios(ctx)} 笔（近三个交易日，经柜面交易服务记账）")
    days = sorted(set(JournalEntry.objects.values_list("business_date", flat=True)))
    for day in days:
        services.monitoring_run(day=day)
    ctx.out(f"  监测规则 {len(days)} 个交易日夜间批处理：预警 {Alert.objects.count()} 条")
    today = timezone.localdate()
    rating.rating_sweep(today)
    # Suitability: about half of the people, assessed by their primary manager at the branch.
    q = suitability.questionnaire_active()
    done = 0
    rng = ctx.rng
    for a in (ManagerAssignment.objects.filter(role="primary", ended_at__isnull=True, customer__kind="person",
                                               customer__status="active", staff__is_active=True)
              .select_related("staff").order_by("customer_id")):
        if rng.random() > 0.5 or q is None:
            continue
        answers = {item["code"]: rng.choice(item["options"])["code"] for item in q.questions}
        with transaction.atomic():
            suitability.suitability_assess(actor=a.staff, customer_id=a.customer_id, answers=answers, face_to_face=True)
        done += 1
    ctx.out(f"  风险承受能力评估 {done} 位客户；洗钱风险评级已完成")
    # An internal watch list with two names of real demo customers (and one that matches nobody).
    names = list(Customer.objects.filter(kind="person").order_by("id").values_list("name", "birth_date")[3:5])
    rows = ["name,birth_date,country,note"] + [f"{n},{b or ''},CHN,分行报送关注" for n, b in names]
    rows.append("欧阳清风,1961-09-30,CHN,外部协查")
    risk_manager = Staff.objects.filter(role_assignments__role="risk_manager", is_active=True).order_by("staff_no").first()
    if risk_manager is not None:
        with transaction.atomic():
            watchlist.watchlist_import(actor=risk_manager, name="内部关注名单（演示）", kind="internal",
                                       source="演示数据", file_bytes="\n".join(rows).encode("utf-8"))
    # What the outbox relay does after commit (real-time monitoring, due diligence on one-off services, rating and
    # screening of new customers, audit sealing): done here too, so a fresh demo shows it before the relay starts.
    from bankcrm.core import outbox

    outbox.drain()
    ctx.out(f"  监控名单 1 份；未结预警 {Alert.objects.filter(status='new').count()} 条；"
            f"尽职调查待办 {DueDiligence.objects.filter(status='open').count()} 项")
    ctx.state["risk_seeded"] = today


demo.register("risk", 40, seed_risk)


HISTORY_REVIEW_DAYS = 10  # alerts and due diligence older than this were dealt with at the time


def seed_risk_history(ctx: demo.SeedContext) -> None:
    """Seeders after the risk demo post history too (the engagement demo's new customers' opening and inflow cash
    deposits, back-dated up to three months). The real-time monitor sees those entries only through the outbox, so
    when the demo's relay started it raised their alerts and one-off due diligence as if they were new, leaving
    every large-value report of the past months overdue. Here the relay's work is done first (every consumer
    drained, as the relay would) and then what the bank did at the time, through the services: the large-value
    reports of the days whose deadline has passed generated and submitted by the compliance manager, suspicious
    alerts older than ten days reviewed and closed by a risk manager, one-off due diligence on those old deposits
    completed. The last days stay open, for the users to work on. The relay then starts with nothing to replay."""
    from datetime import timedelta

    from bankcrm.core import outbox
    from bankcrm.ledger.models import JournalEntry
    from bankcrm.org.models import Staff

    from . import due_diligence as dd_services
    from . import reports, services
    from .models import Alert, DueDiligence

    outbox.drain()
    head = {"branch__parent__isnull": True}
    compliance = (Staff.objects.filter(role_assignments__role="compliance_manager", is_active=True, **head)
                  .order_by("staff_no").first())
    risk = (Staff.objects.filter(role_assignments__role="risk_manager", is_active=True, employment_type="employee",
                                 **head).order_by("staff_no").first())
    today = timezone.localdate()
    old = today - timedelta(days=HISTORY_REVIEW_DAYS)
    filed = closed = completed = 0
    if compliance is not None:
        days = sorted(set(Alert.objects.filter(report_kind="large", report__isnull=True, due_on__lt=today,
                                               status__in=Alert.OPEN_STATUSES)
                          .values_list("business_date", flat=True)))
        for day in days:
            report = reports.large_report_generate(actor=compliance, day=day)
            reports.report_submit(actor=compliance, report_id=report.pk)
            filed += 1
    if risk is not None:
        for alert_id in (Alert.objects.filter(report_kind="suspicious", business_date__lt=old, case__isnull=True,
                                              status__in=[Alert.Status.NEW, Alert.Status.REVIEWING])
                         .order_by("id").values_list("pk", flat=True)):
            services.alert_close(actor=risk, alert_id=alert_id,
                                 reason="已核实：资金来源为客户说明的售房款、奖金或他行理财到期款，有凭证，排除")
            closed += 1
        old_entries = JournalEntry.objects.filter(business_date__lt=old).values("pk")
        for dd in DueDiligence.objects.filter(status=DueDiligence.Status.OPEN, entry_id__in=old_entries).order_by("id"):
            dd_services.due_diligence_complete(actor=risk, dd_id=dd.pk, result="normal",
                                               items={i["code"]: {"done": True} for i in dd.checklist})
            completed += 1
    outbox.drain()  # what closing and reporting published (alert hooks): the relay starts with nothing left to do
    ctx.out(f"  历史交易监测：大额交易报告 {filed} 份已报送；历史可疑预警 {closed} 条已核实排除；"
            f"历史尽职调查 {completed} 项已完成；未结预警 {Alert.objects.filter(status='new').count()} 条")


demo.register("risk_history", 90, seed_risk_history)
