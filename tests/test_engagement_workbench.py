"""The customer manager's workbench on the home page (issue #9): each block against seeded data — today's and overdue
tasks, planned contacts, time-deposit and wealth maturities, birthdays, the top open recommendations with their
reasons, suitability and AML reviews due, recent complaints and low survey scores — and its scope: the customers of
another manager, in the same branch (CM003) or another (CM002), never appear. Also the home-page extension point
(``core.home``) the workbench plugs into. Both databases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bankcrm.engagement import workbench as wbm
from bankcrm.engagement.models import Recommendation, Task
from tests.conftest import PASSWORD, login_client
from tests.ledger_helpers import ric
from tests.wealth_helpers import CNY

pytestmark = pytest.mark.django_db


# ---- Seeded data -------------------------------------------------------------------------------------------------------
@dataclass
class Seeded:
    bank: object
    w: object
    zhang: object      # cm_a1's, A1
    li: object         # cm_a1's, A1
    wang: object       # cm_b1's, B1
    qian: object       # cm_a3's (a colleague of cm_a1 in the same sub-branch)
    cm_a3: object
    rows: dict


def _bday(today: date, in_days: int, year: int) -> date:
    d = today + timedelta(days=in_days)
    return date(year, d.month, 28 if (d.month, d.day) == (2, 29) else d.day)


def _time_deposit(bank, customer, teller, *, in_days: int, amount_fen: int):
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Account, Product
    from tests.ledger_helpers import fund

    td = ledger.account_open(actor=teller, customer_id=customer.pk, product_id=Product.objects.get(code="T-1Y").pk,
                             maturity_instruction="rollover")
    fund(td, amount_fen, teller=teller)
    Account.objects.filter(pk=td.pk).update(maturity_date=timezone.localdate() + timedelta(days=in_days))  # set-up
    return td


def _rec(customer, action: str, score: float, *, status: str = "open", expires_in: int = 20, **kw) -> Recommendation:
    now = timezone.now()
    return Recommendation.objects.create(
        customer=customer, action=action, kind=kw.pop("kind", "intent"), title=kw.pop("title", f"推荐{action}"),
        score=score, reasons=kw.pop("reasons", [f"{action}的理由：客户提到养老"]), source="rule", status=status,
        created_at=now - timedelta(days=1), expires_at=now + timedelta(days=expires_in), **kw)


@pytest.fixture
def seeded(bank) -> Seeded:
    return build_seeded(bank)


def build_seeded(bank) -> Seeded:
    from bankcrm.customers import services as customer_services
    from bankcrm.customers.models import Customer
    from bankcrm.engagement import services as eg
    from bankcrm.org import services as org_services
    from bankcrm.risk.models import RiskProfile
    from bankcrm.service import services as service
    from bankcrm.surveys import services as surveys
    from bankcrm.wealth import services as wealth
    from tests.test_surveys_tokens import consent, periodic_campaign, sent_tokens
    from tests.wealth_helpers import build_wealth, product

    w = build_wealth(bank)
    led = w.ledger
    zhang, li, wang = led.zhang, led.li, led.wang
    today = timezone.localdate()
    now = timezone.now()
    cm_a3 = org_services.staff_create(actor=bank.admin, staff_no="CM003", name="何客户", branch_id=bank.a1.pk,
                                      employment_type="employee", roles=["customer_manager"], password=PASSWORD)
    qian = customer_services.customer_register(actor=cm_a3, kind="person", name="钱多多", id_type="resident_id",
                                               id_number=ric("19700505", "021"), mobile="13912340000",
                                               branch_id=bank.a1.pk, primary_manager_id=cm_a3.pk)
    rows: dict = {}

    # tasks: li today, zhang overdue (set-up moves its date back), zhang next week, one done; the others' own
    with transaction.atomic():
        rows["task_today"] = eg.task_create(actor=bank.cm_a1, title="给李先生回电", due_on=today, customer_id=li.pk)
        rows["task_overdue"] = eg.task_create(actor=bank.cm_a1, title="张老先生资料补齐", due_on=today, customer_id=zhang.pk)
        rows["task_later"] = eg.task_create(actor=bank.cm_a1, title="下周拜访", due_on=today + timedelta(days=7),
                                            customer_id=zhang.pk)
        rows["task_plain"] = eg.task_create(actor=bank.cm_a1, title="整理本周客户名单", due_on=today)
        done = eg.task_create(actor=bank.cm_a1, title="已办完的事", due_on=today, customer_id=li.pk)
        eg.task_complete(actor=bank.cm_a1, task_id=done.pk, result="已完成")
        rows["task_other_b"] = eg.task_create(actor=bank.cm_b1, title="王先生回访", due_on=today, customer_id=wang.pk)
        rows["task_other_a"] = eg.task_create(actor=cm_a3, title="钱女士回访", due_on=today, customer_id=qian.pk)
    Task.objects.filter(pk=rows["task_overdue"].pk).update(due_on=today - timedelta(days=3))  # set-up: 3 days late

    # planned contacts: li later today (evaluated at that moment), zhang overdue, li tomorrow; the others'
    soon = now + timedelta(minutes=5)
    with transaction.atomic():
        rows["contact_today"] = eg.interaction_plan(actor=bank.cm_a1, customer_id=li.pk, kind="call",
                                                    subject="约谈养老规划", planned_at=soon)
        rows["contact_overdue"] = eg.interaction_plan(actor=bank.cm_a1, customer_id=zhang.pk, kind="visit",
                                                      subject="上门送生日贺卡", planned_at=soon)
        rows["contact_tomorrow"] = eg.interaction_plan(actor=bank.cm_a1, customer_id=li.pk, kind="wechat",
                                                       subject="发送产品说明", planned_at=soon + timedelta(days=1))
        rows["contact_other_b"] = eg.interaction_plan(actor=bank.cm_b1, customer_id=wang.pk, kind="call",
                                                      subject="王先生电话", planned_at=soon)
        rows["contact_other_a"] = eg.interaction_plan(actor=cm_a3, customer_id=qian.pk, kind="call",
                                                      subject="钱女士电话", planned_at=soon)
    from bankcrm.engagement.models import Interaction
    Interaction.objects.filter(pk=rows["contact_overdue"].pk).update(planned_at=now - timedelta(days=2))  # set-up

    # maturities: li's time deposit in 5 days and one in 20 (outside 14); zhang's closed-end wealth product in 10 days;
    # wang's and qian's deposits in 5 days
    rows["td_li"] = _time_deposit(bank, li, bank.om_a1, in_days=5, amount_fen=50_000 * CNY)
    rows["td_li_late"] = _time_deposit(bank, li, bank.om_a1, in_days=20, amount_fen=30_000 * CNY)
    rows["td_wang"] = _time_deposit(bank, wang, bank.om_b1, in_days=5, amount_fen=10_000 * CNY)
    rows["td_qian"] = _time_deposit(bank, qian, bank.om_a1, in_days=5, amount_fen=10_000 * CNY)
    p = product(bank, "WM-WB", level=2, open_ended=False, min_amount_fen=1_000 * CNY, step_fen=CNY,
                sales_end=today + timedelta(days=5), maturity_date=today + timedelta(days=10))
    wealth.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=today, nav_x10000=10_000)
    s = wealth.sale_propose(actor=bank.cm_a1, customer_id=zhang.pk, product_id=p.pk, account_id=led.zhang_cny.pk,
                            amount_fen=20_000 * CNY)
    wealth.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True, recording_id=f"SL-{s.pk}",
                        recording_booth="甲一支行双录区1", recorded_at=now - timedelta(minutes=1))
    rows["wm_product"] = p

    # birthdays (set-up of the birth dates): li in 3 days, zhang in 30 (outside 7), wang today, qian tomorrow
    Customer.objects.filter(pk=li.pk).update(birth_date=_bday(today, 3, 1984))
    Customer.objects.filter(pk=zhang.pk).update(birth_date=_bday(today, 30, 1948))
    Customer.objects.filter(pk=wang.pk).update(birth_date=_bday(today, 0, 1990))
    Customer.objects.filter(pk=qian.pk).update(birth_date=_bday(today, 1, 1970))

    # recommendations: six open for cm_a1's customers (top five shown), one expired, one declined; the others'
    rows["recs"] = [_rec(li, "a1", 0.95), _rec(zhang, "a2", 0.90), _rec(li, "a3", 0.80), _rec(zhang, "a4", 0.70),
                    _rec(li, "a5", 0.60), _rec(zhang, "a6", 0.10)]
    rows["rec_expired"] = _rec(li, "old", 0.99, expires_in=-1)
    rows["rec_declined"] = _rec(li, "no", 0.98, status="declined")
    rows["rec_wang"] = _rec(wang, "w1", 0.99)
    rows["rec_qian"] = _rec(qian, "q1", 0.99)

    # reviews (set-up of the risk profiles): li's suitability expired 2 days ago; zhang's AML review 4 days late;
    # the same for wang and qian; no first ratings pending
    RiskProfile.objects.filter(customer__in=[zhang, li, wang, qian]).update(
        aml_level="low", aml_rating_due_on=None, aml_review_due_on=today + timedelta(days=300))
    for c in (li, wang, qian):
        RiskProfile.objects.update_or_create(customer=c, defaults={
            "branch_path": c.branch.path, "suitability_level": 3,
            "suitability_valid_until": today - timedelta(days=2)})
    RiskProfile.objects.filter(customer__in=[zhang, wang, qian]).update(aml_review_due_on=today - timedelta(days=4))
    RiskProfile.objects.filter(customer=zhang).update(suitability_valid_until=today + timedelta(days=200))

    # feedback: a complaint of li (today) and an old one (40 days ago); wang's; a low survey score of zhang
    with transaction.atomic():
        rows["complaint_li"] = service.complaint_register(actor=bank.cm_a1, customer_id=li.pk, channel="branch",
                                                          summary="网点排队时间过长", description="客户等了一个小时")
        old = service.complaint_register(actor=bank.cm_a1, customer_id=li.pk, channel="branch", summary="上月的旧投诉事由")
        rows["complaint_wang"] = service.complaint_register(actor=bank.cm_b1, customer_id=wang.pk, channel="branch",
                                                            summary="王先生投诉事项")
        rows["complaint_qian"] = service.complaint_register(actor=cm_a3, customer_id=qian.pk, channel="branch",
                                                            summary="钱女士投诉事项")
    from bankcrm.service.models import Complaint
    Complaint.objects.filter(pk=old.pk).update(received_at=now - timedelta(days=40))  # set-up
    rows["complaint_old"] = old
    for c in (zhang, li, qian):
        consent(bank, c, actor=cm_a3 if c == qian else None)
    campaign = periodic_campaign(bank.admin)
    with transaction.atomic():
        surveys.campaign_run(actor=bank.admin, campaign_id=campaign.pk)
    surveys.dispatch()
    tokens = sent_tokens(campaign.pk)
    with transaction.atomic():
        rows["survey_low"] = surveys.response_submit(token=tokens[zhang.pk], data={
            "csat": "1", "nps": "2", "comment": "柜台办理太慢了，很不满意"})
        rows["survey_ok"] = surveys.response_submit(token=tokens[li.pk], data={"csat": "5", "nps": "10", "comment": ""})
        rows["survey_qian"] = surveys.response_submit(token=tokens[qian.pk], data={"csat": "1", "nps": "0",
                                                                                   "comment": "很差"})
    for c in (zhang, li, wang, qian):
        c.refresh_from_db()
    return Seeded(bank=bank, w=w, zhang=zhang, li=li, wang=wang, qian=qian, cm_a3=cm_a3, rows=rows)


def customers_of(block: dict) -> set[int]:
    return {(r["customer"] if isinstance(r, dict) else r.customer).pk for r in block["rows"]
            if (r["customer"] if isinstance(r, dict) else r.customer) is not None}


def at_contact_time(s: Seeded) -> datetime:
    """The moment of li's planned call: "today" for the contacts block even when the test runs near midnight."""
    return s.rows["contact_today"].planned_at


# ---- Each block ---------------------------------------------------------------------------------------------------------
def test_tasks_today_and_overdue_only_mine(seeded):
    s, today = seeded, timezone.localdate()
    block = wbm.tasks_due(s.bank.cm_a1, today=today)
    titles = [t.title for t in block["rows"]]
    assert titles == ["张老先生资料补齐", "给李先生回电", "整理本周客户名单"]  # overdue first, then today's
    assert block["rows"][0].when["text"] == "逾期 3 天" and "text-danger" in block["rows"][0].when["css"]
    assert block["rows"][1].when["text"] == "今天"
    assert not block["more"]
    assert [t.title for t in wbm.tasks_due(s.bank.cm_b1, today=today)["rows"]] == ["王先生回访"]
    assert [t.title for t in wbm.tasks_due(s.cm_a3, today=today)["rows"]] == ["钱女士回访"]


def test_planned_contacts_today_and_overdue_only_mine(seeded):
    s = seeded
    at = at_contact_time(s)
    block = wbm.contacts_today(s.bank.cm_a1, today=timezone.localdate(at))
    assert [(i.subject, i.overdue) for i in block["rows"]] == [("上门送生日贺卡", True), ("约谈养老规划", False)]
    assert [i.subject for i in wbm.contacts_today(s.bank.cm_b1, today=timezone.localdate(at))["rows"]] == ["王先生电话"]
    assert [i.subject for i in wbm.contacts_today(s.cm_a3, today=timezone.localdate(at))["rows"]] == ["钱女士电话"]


def test_time_deposit_and_wealth_maturities_within_14_days_only_mine(seeded):
    s, today = seeded, timezone.localdate()
    block = wbm.maturities(s.bank.cm_a1, today=today, days=14)
    got = [(m["kind"], m["customer"].pk, m["on"], m["amount_fen"]) for m in block["rows"]]
    assert got == [("deposit", s.li.pk, today + timedelta(days=5), 50_000 * CNY),
                   ("wealth", s.zhang.pk, today + timedelta(days=10), 20_000 * CNY)]
    assert block["rows"][0]["when"]["text"] == "5 天后" and block["rows"][0]["note"] == "本息自动转存"
    assert block["rows"][0]["url"] == f"/ledger/accounts/{s.rows['td_li'].pk}/"
    assert block["rows"][1]["title"] == s.rows["wm_product"].name and block["rows"][1]["url"].startswith("/wealth/holdings/")
    assert customers_of(wbm.maturities(s.bank.cm_b1, today=today, days=14)) == {s.wang.pk}
    assert customers_of(wbm.maturities(s.cm_a3, today=today, days=14)) == {s.qian.pk}
    # the window is the parameter: 20 days reaches li's later deposit
    assert len(wbm.maturities(s.bank.cm_a1, today=today, days=20)["rows"]) == 3


def test_birthdays_within_7_days_only_mine(seeded):
    s, today = seeded, timezone.localdate()
    block = wbm.birthdays(s.bank.cm_a1, today=today, days=7)
    assert [(b["customer"].pk, b["on"]) for b in block["rows"]] == [(s.li.pk, today + timedelta(days=3))]
    assert block["rows"][0]["age"] == (today + timedelta(days=3)).year - 1984
    assert block["rows"][0]["when"]["text"] == "3 天后"
    assert customers_of(wbm.birthdays(s.bank.cm_b1, today=today, days=7)) == {s.wang.pk}
    assert customers_of(wbm.birthdays(s.cm_a3, today=today, days=7)) == {s.qian.pk}
    assert customers_of(wbm.birthdays(s.bank.cm_a1, today=today, days=30)) == {s.li.pk, s.zhang.pk}


def test_birthday_on_29_february_is_kept_on_28_february_in_common_years(seeded):
    from bankcrm.customers.models import Customer

    s = seeded
    Customer.objects.filter(pk=s.li.pk).update(birth_date=date(2000, 2, 29))
    block = wbm.birthdays(s.bank.cm_a1, today=date(2027, 2, 25), days=7)
    assert [(b["customer"].pk, b["on"], b["age"]) for b in block["rows"]] == [(s.li.pk, date(2027, 2, 28), 27)]


def test_top_five_open_recommendations_with_reasons_only_mine(seeded):
    s = seeded
    block = wbm.top_recommendations(s.bank.cm_a1, now=timezone.now())
    assert [r.action for r in block["rows"]] == ["a1", "a2", "a3", "a4", "a5"]  # not expired, declined or a6
    assert block["more"] and block["can_decide"]
    assert all(r.reasons for r in block["rows"])
    assert block["rows"][0].url == f"/engagement/customers/{s.li.pk}/recommendations/#rec-{s.rows['recs'][0].pk}"
    assert [r.action for r in wbm.top_recommendations(s.bank.cm_b1, now=timezone.now())["rows"]] == ["w1"]
    assert [r.action for r in wbm.top_recommendations(s.cm_a3, now=timezone.now())["rows"]] == ["q1"]


def test_suitability_and_aml_reviews_due_only_mine(seeded):
    s, today = seeded, timezone.localdate()
    block = wbm.reviews_due(s.bank.cm_a1, today=today, aml_days=30)
    got = [(r["kind"], r["customer"].pk, r["due"]) for r in block["rows"]]
    assert got == [("aml", s.zhang.pk, today - timedelta(days=4)),
                   ("suitability", s.li.pk, today - timedelta(days=2))]
    assert block["rows"][0]["when"]["text"] == "逾期 4 天" and block["rows"][0]["label"] == "反洗钱复评"
    assert block["rows"][1]["url"] == f"/risk/customers/{s.li.pk}/suitability/"  # a manager may assess again
    assert block["rows"][0]["url"] == f"/risk/customers/{s.zhang.pk}/rating/"
    assert customers_of(wbm.reviews_due(s.bank.cm_b1, today=today, aml_days=30)) == {s.wang.pk}
    assert customers_of(wbm.reviews_due(s.cm_a3, today=today, aml_days=30)) == {s.qian.pk}


def test_recent_complaints_and_low_survey_scores_only_mine(seeded):
    s, now = seeded, timezone.now()
    block = wbm.recent_feedback(s.bank.cm_a1, since=now - timedelta(days=30), days=30)
    got = {(f["kind"], f["customer"].pk) for f in block["rows"]}
    assert got == {("complaint", s.li.pk), ("survey", s.zhang.pk)}  # not the old complaint, not li's good answer
    survey = next(f for f in block["rows"] if f["kind"] == "survey")
    assert survey["low"] and "CSAT 1" in survey["title"] and survey["url"] == f"/surveys/responses/{s.rows['survey_low'].pk}/"
    complaint = next(f for f in block["rows"] if f["kind"] == "complaint")
    assert complaint["url"] == f"/service/complaints/{s.rows['complaint_li'].pk}/" and complaint["open"]
    assert customers_of(wbm.recent_feedback(s.bank.cm_b1, since=now - timedelta(days=30), days=30)) == {s.wang.pk}
    assert customers_of(wbm.recent_feedback(s.cm_a3, since=now - timedelta(days=30), days=30)) == {s.qian.pk}
    # 45 days back reaches the old complaint
    assert len(wbm.recent_feedback(s.bank.cm_a1, since=now - timedelta(days=45), days=45)["rows"]) == 3


def test_whole_workbench_never_shows_another_managers_customer(seeded, django_assert_max_num_queries):
    s = seeded
    at = at_contact_time(s)
    for actor, mine in ((s.bank.cm_a1, {s.zhang.pk, s.li.pk}), (s.bank.cm_b1, {s.wang.pk}), (s.cm_a3, {s.qian.pk})):
        data = wbm.workbench(actor, now=at)
        shown = set(wbm.shown_customers(data))
        assert shown == mine, actor.staff_no
        for block in wbm.BLOCKS:
            assert customers_of(data[block]) <= mine, (actor.staff_no, block)
    # one or two queries a block: 10 for the seven blocks, plus 5 parameter reads (measured: 15)
    with django_assert_max_num_queries(15):
        wbm.workbench(s.bank.cm_a1, now=at)


def test_a_supervisor_sees_no_workbench_and_a_manager_who_sees_the_branch_sees_only_own_customers(seeded):
    from bankcrm.customers import services as customer_services
    from bankcrm.org import services as org_services

    s = seeded
    body = login_client(s.bank.supervisor_a).get("/").content.decode()
    assert 'data-testid="home-section-engagement.workbench"' not in body and 'data-testid="workbench"' not in body
    # a customer manager who is also operations manager of A1 sees every A1 customer elsewhere; the workbench shows
    # only the one they serve (zhang), never li or qian
    both = org_services.staff_create(actor=s.bank.admin, staff_no="CM004", name="严双岗", branch_id=s.bank.a1.pk,
                                     employment_type="employee", roles=["customer_manager", "operations_manager"],
                                     password=PASSWORD)
    with transaction.atomic():
        customer_services.manager_assign(actor=s.bank.supervisor_a, customer_id=s.zhang.pk, staff_id=both.pk,
                                         role="team", reason="协办")
    from bankcrm.customers.models import Customer
    assert {s.li.pk, s.qian.pk, s.zhang.pk} <= set(Customer.objects.visible_to(both).values_list("pk", flat=True))
    with transaction.atomic():
        from bankcrm.engagement import services as eg
        eg.task_create(actor=both, title="协办张老先生", due_on=timezone.localdate(), customer_id=s.zhang.pk)
    data = wbm.workbench(both, now=at_contact_time(s))
    assert set(wbm.shown_customers(data)) == {s.zhang.pk}
    assert [t.title for t in data["tasks"]["rows"]] == ["协办张老先生"]
    assert [r.action for r in data["recommendations"]["rows"]] == ["a2", "a4", "a6"]


# ---- The page ----------------------------------------------------------------------------------------------------------
def test_home_page_renders_every_block_with_links_and_logs_access(seeded):
    from bankcrm.core.models import AccessEvent

    s = seeded
    body = login_client(s.bank.cm_a1).get("/").content.decode()
    for testid in ("workbench", "wb-tasks", "wb-contacts", "wb-maturities", "wb-birthdays", "wb-recs", "wb-reviews",
                   "wb-feedback"):
        assert f'data-testid="{testid}"' in body, testid
    for text in ("张老先生资料补齐", "逾期 3 天", s.rows["wm_product"].name, "a1的理由：客户提到养老", "网点排队时间过长",
                 "反洗钱复评", "适当性评估", "CSAT 1", "李小龙", s.li.customer_no):
        assert text in body, text
    for link in (f"/ledger/accounts/{s.rows['td_li'].pk}/", f"/service/complaints/{s.rows['complaint_li'].pk}/",
                 f"/surveys/responses/{s.rows['survey_low'].pk}/", f"/risk/customers/{s.zhang.pk}/rating/",
                 f"/engagement/customers/{s.li.pk}/recommendations/#rec-{s.rows['recs'][0].pk}",
                 f"/customers/{s.li.pk}/", "/engagement/tasks/#task-"):
        assert link in body, link
    for foreign in (s.wang.customer_no, s.qian.customer_no, "王先生", "钱女士", "钱多多"):
        assert foreign not in body, foreign
    ev = AccessEvent.objects.filter(view="engagement.workbench", actor=s.bank.cm_a1).latest("id")
    assert set(ev.subject_ids) == {str(s.zhang.pk), str(s.li.pk)} and "birth_date" in ev.fields


def test_intern_customer_manager_sees_names_masked(seeded):
    from bankcrm.customers import services as customer_services

    s = seeded
    with transaction.atomic():
        customer_services.manager_assign(actor=s.bank.supervisor_a, customer_id=s.li.pk, staff_id=s.bank.intern.pk,
                                         role="team", reason="实习协办")
    body = login_client(s.bank.intern).get("/").content.decode()
    assert 'data-testid="workbench"' in body
    assert "李*" in body and "李小龙" not in body


def test_english_page_renders(seeded, settings):
    client = login_client(seeded.bank.cm_a1)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    resp = client.get("/")
    assert resp.status_code == 200 and 'lang="en"' in resp.content.decode()
    assert 'data-testid="workbench"' in resp.content.decode()
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)  # the middleware left English active in this thread


def test_when_words():
    from django.utils import translation

    with translation.override("zh-hans"):
        assert wbm.when(-2) == {"text": "逾期 2 天", "css": "text-danger fw-semibold"}
        assert wbm.when(0)["text"] == "今天" and wbm.when(1)["text"] == "明天" and wbm.when(9)["text"] == "9 天后"


# ---- The extension point -----------------------------------------------------------------------------------------------
def test_home_sections_render_in_order_by_capability_and_skip_none(bank, monkeypatch, tmp_path, settings):
    from bankcrm.core import home

    monkeypatch.setattr(home, "SECTIONS", {})
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "a.html").write_text("<p>A {{ x }}</p>")
    (tmp_path / "t" / "b.html").write_text("<p>B</p>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    home.register(home.HomeSection("b", 20, "t/b.html", lambda r: {}))
    home.register(home.HomeSection("a", 10, "t/a.html", lambda r: {"x": r.user.staff_no}))
    home.register(home.HomeSection("none", 5, "t/b.html", lambda r: None))
    home.register(home.HomeSection("admin", 1, "t/b.html", lambda r: {}, capability="core.manage_parameters"))

    class Req:
        user = bank.cm_a1

    assert [(s["code"], s["html"]) for s in home.render_for(Req())] == [("a", "<p>A CM001</p>"), ("b", "<p>B</p>")]
    assert [s["code"] for s in home.render_for(type("R", (), {"user": bank.admin})())] == ["admin", "a", "b"]


def test_workbench_registered_as_a_home_section():
    from bankcrm.core import home

    s = home.SECTIONS["engagement.workbench"]
    assert s.capability == "engagement.view" and s.template == "engagement/_home_workbench.html"
