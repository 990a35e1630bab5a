"""Issue 9's browser walk: a customer manager logs a call from the customer 360 page's quick form; the note says the
customer is about to retire and wants to plan for 养老. Saving the contact extracts the intent and refreshes the
customer's recommendations (the product's hook on interaction save, after commit): the panel then shows a suitable
product with its reason in plain Chinese — the day the customer mentioned 养老 and the suitability fact. The manager
opens the recommendation, accepts it with a follow-up date: a dated task and an opportunity at the proposal stage
appear in the task list, the calendar and the pipeline; the workbench on the home page shows the day's work for the
manager's own customers, in Chinese and (untranslated yet) in English. Screenshots in var/screenshots
(engagement-*.png)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from tests.e2e.test_login_flows import SHOTS, login, shot
from tests.ledger_helpers import fund, ric
from tests.wealth_helpers import CNY, assess, build_wealth, product

pytestmark = [pytest.mark.e2e]

NOTE = "客户说明年就退休了，想提前做养老规划，希望每月有稳定的收入，收益稳一些就行。"


def part_shot(locator, name: str) -> None:
    """A screenshot of one part of the page (the 360 page is long: its engagement panel alone is readable)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    locator.scroll_into_view_if_needed()
    locator.screenshot(path=str(SHOTS / f"{name}.png"))


def about_to_retire(bank):
    """A customer of A1 managed by CM001, aged 59, assessed C3, 150,000 yuan on a demand account (below the idle
    balance rule, so only the note can trigger a product), with marketing consent."""
    from bankcrm.customers import services as customer_services
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Product

    half_year = timezone.localdate() + timedelta(days=180)  # the birthday far away: no greeting in the way
    born = date(half_year.year - 60, half_year.month, min(half_year.day, 28))
    c = customer_services.customer_register(actor=bank.cm_a1, kind="person", name="孙秀英", id_type="resident_id",
                                            id_number=ric(born.strftime("%Y%m%d"), "062"), mobile="13912345679",
                                            branch_id=bank.a1.pk, primary_manager_id=bank.cm_a1.pk)
    acc = ledger.account_open(actor=bank.om_a1, customer_id=c.pk, product_id=Product.objects.get(code="D-CNY").pk)
    fund(acc, 150_000 * CNY, teller=bank.om_a1)
    assess(bank, c, 3)
    customer_services.consent_grant(actor=bank.cm_a1, customer_id=c.pk, purpose="marketing", channel="branch",
                                    evidence="营销同意书")
    c.refresh_from_db()
    return c


def workbench_day(bank, w):
    """Other things on the manager's plate: li's time deposit maturing in 6 days and suitability assessment expiring in
    10, zhang's birthday in 4 days, AML review 5 days late and a visit planned later today, an overdue task, a complaint
    from li; and wang (CM002's) with the same — never shown."""
    from bankcrm.customers.models import Customer
    from bankcrm.engagement import services as eg
    from bankcrm.engagement.models import Task
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Account, Product
    from bankcrm.risk.models import RiskProfile
    from bankcrm.service import services as service

    led = w.ledger
    today = timezone.localdate()
    for c, teller in ((led.li, bank.om_a1), (led.wang, bank.om_b1)):
        td = ledger.account_open(actor=teller, customer_id=c.pk, product_id=Product.objects.get(code="T-1Y").pk,
                                 maturity_instruction="payout", payout_account_id=(led.li_cny if c == led.li else
                                                                                   led.wang_cny).pk)
        fund(td, 200_000 * CNY, teller=teller)
        Account.objects.filter(pk=td.pk).update(maturity_date=today + timedelta(days=6))  # set-up of a near maturity
    bday = today + timedelta(days=4)
    Customer.objects.filter(pk=led.zhang.pk).update(birth_date=date(1948, bday.month, bday.day))  # 1948: a leap year
    with transaction.atomic():
        later = timezone.now() + timedelta(minutes=30)
        if timezone.localdate(later) == today:  # a visit later today (not when the test runs just before midnight)
            eg.interaction_plan(actor=bank.cm_a1, customer_id=led.zhang.pk, kind="visit", subject="上门送生日贺卡",
                                planned_at=later)
        t = eg.task_create(actor=bank.cm_a1, title="补齐李先生的职业信息", due_on=today, customer_id=led.li.pk)
        eg.task_create(actor=bank.cm_b1, title="王先生回访", due_on=today, customer_id=led.wang.pk)
        service.complaint_register(actor=bank.cm_a1, customer_id=led.li.pk, channel="phone",
                                   summary="手机银行转账限额调整后仍无法转账", description="客户来电反映转账失败")
        service.complaint_register(actor=bank.cm_b1, customer_id=led.wang.pk, channel="branch",
                                   summary="王先生投诉排队时间长")
    Task.objects.filter(pk=t.pk).update(due_on=today - timedelta(days=2))  # set-up: two days overdue
    # set-up of the risk profiles (the rating and assessment history is not the point here)
    RiskProfile.objects.filter(customer__in=[led.zhang, led.wang]).update(
        aml_level="medium", aml_rating_due_on=None, aml_review_due_on=today - timedelta(days=5))
    RiskProfile.objects.filter(customer__in=[led.li, led.wang]).update(suitability_valid_until=today + timedelta(days=10))


def test_call_mentioning_retirement_to_accepted_recommendation_and_follow_up(live_server, transactional_db, bank,
                                                                             browser_context):
    from bankcrm.engagement.models import Insight, Interaction, Opportunity, Recommendation, Task

    base = live_server.url
    w = build_wealth(bank)
    annuity = product(bank, "INS-ANN", level=2, kind="insurance")
    customer = about_to_retire(bank)
    workbench_day(bank, w)
    today = timezone.localdate()
    follow_up = today + timedelta(days=1)

    cm = browser_context()
    login(cm, base, "CM001")
    cm.wait_for_selector("[data-testid=welcome]")

    # The customer's 360 page: no recommendation yet; the manager logs the call in the panel's quick form.
    cm.goto(f"{base}/customers/{customer.pk}/")
    cm.wait_for_selector("[data-testid=engagement-panel]")
    assert cm.locator("[data-testid=nba-empty]").count() == 1
    form = cm.locator("[data-testid=quick-log]")
    form.locator("#id_quick-mode").select_option("done")
    form.locator("#id_quick-kind").select_option("call")
    form.locator("#id_quick-subject").fill("电话回访：退休规划")
    form.locator("#id_quick-notes").fill(NOTE)
    form.locator("#id_quick-next_steps").fill("推荐稳健型养老产品")
    part_shot(cm.locator("[data-testid=engagement-panel]"), "engagement-01-360-quick-log")
    cm.click("[data-testid=quick-log-submit]")
    cm.wait_for_selector("[data-testid=interaction-list]")
    i = Interaction.objects.get(customer=customer)
    assert (i.kind, i.status, i.notes) == ("call", "done", NOTE)

    # The hook on interaction save: the note's intent (养老 = retirement) feeds the recommendation at once.
    insight = Insight.objects.get(customer=customer, source="interaction", source_id=i.pk, intent="retirement")
    assert "养老" in insight.sentence
    recs = list(Recommendation.objects.filter(customer=customer, status="open").select_related("product"))
    assert recs and all(r.product is not None and r.product.risk_level <= 3 for r in recs)  # C3: never above R3
    said = f"{today.month}月{today.day}日提到养老"
    rec = next(r for r in recs if r.product_id == annuity.pk)
    assert rec.kind == "intent" and said in rec.reasons, rec.reasons
    assert any("C3" in reason and "R2" in reason for reason in rec.reasons), rec.reasons
    panel = cm.locator("[data-testid=nba-panel]")
    assert said in panel.inner_text()
    part_shot(cm.locator("[data-testid=engagement-panel]"), "engagement-02-360-panel")

    # The recommendation page: accepted with a follow-up date.
    cm.click("[data-testid=nba-more]")
    cm.wait_for_selector("[data-testid=nba-list]")
    item = cm.locator(f"[data-testid=rec-{rec.pk}]")
    assert said in item.locator("[data-testid=rec-reasons]").inner_text()
    item.locator("[data-testid=rec-follow-up]").fill(follow_up.isoformat())
    shot(cm, "engagement-03-recommendation")
    item.locator("[data-testid=rec-accept]").click()
    cm.wait_for_selector("[data-testid=nba-history]")
    cm.wait_for_selector(".alert-success")
    assert "已采纳" in cm.inner_text(".alert-success")
    rec.refresh_from_db()
    assert rec.status == "accepted" and rec.decided_by_id == bank.cm_a1.pk and rec.opportunity_id
    task = Task.objects.get(source="recommendation", source_ref=f"recommendation:{rec.pk}")
    assert (task.owner_id, task.customer_id, task.due_on, task.status) == (bank.cm_a1.pk, customer.pk, follow_up, "open")
    opp = Opportunity.objects.get(pk=rec.opportunity_id)
    assert (opp.stage, opp.product_id, opp.expected_close) == ("proposal", annuity.pk, follow_up)
    shot(cm, "engagement-04-accepted")

    # The follow-up in the task list, the calendar and the pipeline.
    cm.goto(f"{base}/engagement/tasks/")
    row = cm.locator(f"#task-{task.pk}")
    row.wait_for()
    assert task.title in row.inner_text() and follow_up.isoformat() in row.inner_text()
    shot(cm, "engagement-05-tasks")
    cm.goto(f"{base}/engagement/calendar/?month={follow_up:%Y-%m}")
    cm.wait_for_selector("[data-testid=cal-task]")
    assert cm.locator("[data-testid=cal-task]", has_text=task.title).count() >= 1
    assert cm.locator("[data-testid=cal-opportunity]", has_text=opp.title).count() >= 1
    shot(cm, "engagement-06-calendar")
    cm.goto(f"{base}/engagement/pipeline/")
    cm.wait_for_selector("text=" + opp.title)
    shot(cm, "engagement-07-pipeline")

    # The workbench on the home page: the manager's own customers only.
    cm.goto(f"{base}/")
    cm.wait_for_selector("[data-testid=workbench]")
    wb = cm.inner_text("[data-testid=workbench]")
    for piece in ("补齐李先生的职业信息", "逾期 2 天", "手机银行转账限额调整后仍无法转账", "6 天后", "4 天后",
                  "反洗钱复评", "逾期 5 天", "适当性评估", "10 天后", w.ledger.li.customer_no, w.ledger.zhang.customer_no):
        assert piece in wb, piece
    for foreign in ("王先生", w.ledger.wang.customer_no):
        assert foreign not in wb, foreign
    # the other open recommendations of the customer (the accepted one is gone), each with its reason
    assert cm.locator(f"[data-testid=wb-rec][data-rec='{rec.pk}']").count() == 0
    others = [r for r in Recommendation.objects.filter(status="open", customer__in=[customer, w.ledger.zhang,
                                                                                     w.ledger.li])]
    assert cm.locator("[data-testid=wb-rec]").count() == min(5, len(others))
    shot(cm, "engagement-08-workbench")
    cm.click("[data-testid=lang-en]")
    cm.wait_for_selector("[data-testid=lang-zh]")
    cm.wait_for_selector("[data-testid=workbench]")
    assert cm.locator("html").get_attribute("lang") == "en"
    shot(cm, "engagement-09-workbench-en")
    cm.click("[data-testid=lang-zh]")
    cm.wait_for_selector("[data-testid=lang-en]")
