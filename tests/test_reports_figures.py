"""Management reports (issue #11): every report's figures against hand-computed numbers on a small bank built
through the owning apps' services (then dated into last year's second quarter, the period ``P`` under test); the
records behind each figure are exactly the ones it counts; scope (a supervisor sees their subtree, another branch is
404); the period and branch filters.

The bank of ``world`` in P (April–June of last year), by branch (甲 = A with sub-branch A1, 乙 = B with B1):

- customers: zhang (A1, April), li (A1, May), qian (A1, created the year before), wang (B1, May), zhao (B1, June;
  his only account closed on 25 June: a lost customer);
- cash deposits: zhang 100,000.00 in three pieces on 10 April (a large-value alert, then a case); li 5,000.00 and
  1,000.00 on 12 May (the 1,000.00 reversed later); wang 20,000.00 on 20 June and 3,000.00 on 5 July (outside P);
  AUM snapshots on 30 April, 31 May and 30 June;
- complaints: c1 zhang received 10 April, closed after 8 days; c2 li received 12 May, decided late, closed after 25
  days; c3 wang received 20 June, open (deadline 5 July: not overdue at the end of P); c4 wang received in March,
  closed 11 April after 27 days;
- survey answers: zhang CSAT 5 / NPS 10 (April), li 2 / 3 (May, low: follow-up), wang 4 / 8 (June);
- AML levels: zhang high, li medium, the others unrated; suitability: li C4, wang C2 expired;
- training due in P: cm_a1 done on time, om_a1 done late, supervisor_a (at A itself) overdue, cm_b1 overdue, om_b1
  waived; one more assignment due in July (outside P).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from bankcrm.core.errors import NotFound, PermissionDenied
from bankcrm.reports import report_catalog as catalog
from bankcrm.reports import report_rules as rules
from bankcrm.reports import report_selectors as sel
from bankcrm.reports.report_present import present
from tests.ledger_helpers import build_ledger, ric

pytestmark = pytest.mark.django_db
TZ = timezone.get_default_timezone()


def at(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour), TZ)


@dataclass
class World:
    bank: Any
    led: Any
    P: rules.Period
    y: int  # last year
    qian: Any
    zhao: Any
    complaints: dict
    alert: Any
    case: Any


def _deposit(teller, account, amount: int, day: date):
    from bankcrm.ledger import services as ledger

    left, entries = amount, []
    while left > 0:
        piece = min(left, 4_000_000)
        mv = ledger.cash_deposit_movement(actor=teller, account_id=account.pk, amount_fen=piece)
        with transaction.atomic():
            entries.append(ledger.post(mv, maker=teller, today=day))
        left -= piece
    return entries


def _complaint(bank, actor, customer, *, product_line: str, received: date, decided: date | None = None,
               closed: date | None = None, cause: str = "MKT01", supervisor=None, handler=None):
    from bankcrm.service import services as svc
    from bankcrm.service.models import Complaint, RootCause

    c = svc.complaint_register(actor=actor, customer_id=customer.pk, channel="branch", summary="对服务不满意的投诉",
                               description="客户反映办理业务时的问题", request="请尽快处理", product_line=product_line)
    if decided:
        svc.complaint_acknowledge(actor=handler, complaint_id=c.pk)
        svc.complaint_assign(actor=supervisor, complaint_id=c.pk, handler_id=handler.pk)
        svc.complaint_decide(actor=handler, complaint_id=c.pk, findings="经调查核实客户反映的情况属实",
                             decision="not_upheld", remedy="", root_cause_id=RootCause.objects.get(code=cause).pk)
        if closed:
            svc.complaint_close(actor=handler, complaint_id=c.pk)
    ack, due = svc.complaint_deadlines(at(received))
    Complaint.objects.filter(pk=c.pk).update(
        received_at=at(received), ack_due_on=ack, decision_due_on=due,
        decided_at=at(decided, 15) if decided else None, closed_at=at(closed, 16) if closed else None)
    return Complaint.objects.get(pk=c.pk)


def make_world(bank) -> World:
    """The small bank of the module docstring. Built in one transaction, as the test's own transaction holds it in
    the ordinary tests (a browser test runs without one, and some services expect their caller's)."""
    with transaction.atomic():
        return _make_world(bank)


def _make_world(bank) -> World:
    from bankcrm.approvals.services import approval_approve
    from bankcrm.core import outbox
    from bankcrm.customers import services as cs
    from bankcrm.customers.models import Customer
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Account, Product
    from bankcrm.people import training_services as ts
    from bankcrm.people.models import Assignment, Course
    from bankcrm.risk import rating, suitability
    from bankcrm.risk import services as risk
    from bankcrm.risk.demo import risk_bootstrap
    from bankcrm.risk.models import Alert, Case, RiskProfile
    from bankcrm.service import services as service
    from bankcrm.surveys import services as surveys
    from bankcrm.surveys.models import Response
    from bankcrm.wealth import aum
    from tests.test_risk_suitability import answers_for
    from tests.test_surveys_tokens import consent, periodic_campaign, sent_tokens

    y = timezone.localdate().year - 1
    P = rules.quarter_period(y, 2)
    apr, may, jun = date(y, 4, 10), date(y, 5, 12), date(y, 6, 20)
    led = build_ledger(bank)
    risk_bootstrap(actor=bank.admin)
    service.root_causes_install_default(actor=bank.admin)
    demand = Product.objects.get(code="D-CNY")
    qian = cs.customer_register(actor=bank.cm_a1, kind="person", name="钱七", id_type="resident_id",
                                id_number=ric("19700101", "021"), branch_id=bank.a1.pk)
    zhao = cs.customer_register(actor=bank.cm_b1, kind="person", name="赵六", id_type="resident_id",
                                id_number=ric("19750101", "023"), branch_id=bank.b1.pk)
    zhao_acc = ledger.account_open(actor=bank.om_b1, customer_id=zhao.pk, product_id=demand.pk)
    ledger.account_close_request(actor=bank.om_b1, account_id=zhao_acc.pk, payout="", reason="客户申请销户")
    Account.objects.filter(pk=zhao_acc.pk).update(closed_at=at(date(y, 6, 25)))
    for c, d in ((led.zhang, apr), (led.li, may), (led.wang, may), (zhao, date(y, 6, 5)), (qian, date(y - 1, 9, 1))):
        Customer.objects.filter(pk=c.pk).update(created_at=at(d))
    # money
    _deposit(bank.om_a1, led.zhang_cny, 10_000_000, apr)
    _deposit(bank.om_a1, led.li_cny, 500_000, may)
    wrong = _deposit(bank.om_a1, led.li_cny, 100_000, may)[0]
    answer = ledger.reversal_request(actor=bank.om_a1, entry_id=wrong.pk, reason="金额录错")
    assert approval_approve(actor=bank.supervisor_a, pending_id=answer["approval_id"]).status == "executed"
    _deposit(bank.om_b1, led.wang_cny, 2_000_000, jun)
    _deposit(bank.om_b1, led.wang_cny, 300_000, date(y, 7, 5))
    while outbox.consume("risk_monitor"):
        pass
    alert = Alert.objects.get(customer=led.zhang, rule_code="0501")
    case = risk.case_open(actor=bank.risk, alert_ids=[alert.pk])
    Alert.objects.filter(pk=alert.pk).update(created_at=at(may))
    Case.objects.filter(pk=case.pk).update(opened_at=at(jun))
    for d in (date(y, 4, 30), date(y, 5, 31), date(y, 6, 30)):
        aum.snapshot_run(day=d)
    # complaints
    complaints = {
        "c1": _complaint(bank, bank.cm_a1, led.zhang, product_line="wealth", received=apr, decided=apr + timedelta(5),
                         closed=apr + timedelta(8), supervisor=bank.supervisor_a, handler=bank.cm_a1),
        "c2": _complaint(bank, bank.cm_a1, led.li, product_line="deposit", received=may, decided=may + timedelta(20),
                         closed=may + timedelta(25), cause="ERR01", supervisor=bank.supervisor_a, handler=bank.cm_a1),
        "c3": _complaint(bank, bank.cm_b1, led.wang, product_line="service", received=jun),
        "c4": _complaint(bank, bank.cm_b1, led.wang, product_line="wealth", received=date(y, 3, 15),
                         decided=date(y, 4, 5), closed=date(y, 4, 11), cause="ATT01", supervisor=bank.supervisor_b,
                         handler=bank.cm_b1),
    }
    # surveys
    consent(bank, led.zhang)
    consent(bank, led.li)
    consent(bank, led.wang, actor=bank.cm_b1)
    campaign = periodic_campaign(bank.admin)
    with transaction.atomic():
        surveys.campaign_run(actor=bank.admin, campaign_id=campaign.pk)
    surveys.dispatch()
    tokens = sent_tokens(campaign.pk)
    for customer, csat, nps, d in ((led.zhang, 5, 10, apr), (led.li, 2, 3, may), (led.wang, 4, 8, jun)):
        r = surveys.response_submit(token=tokens[customer.pk], data={"csat": str(csat), "nps": str(nps), "comment": ""})
        Response.objects.filter(pk=r.pk).update(created_at=at(d, 11))
    # risk levels and suitability
    rating.risk_rate(actor=bank.risk, customer_id=led.zhang.pk, level="high", rationale="大额现金交易频繁，人工上调")
    rating.risk_rate(actor=bank.risk, customer_id=led.li.pk, level="medium", rationale="职业信息待核实，人工评为中风险")
    suitability.suitability_assess(actor=bank.cm_a1, customer_id=led.li.pk, answers=answers_for(4), face_to_face=True)
    suitability.suitability_assess(actor=bank.cm_b1, customer_id=led.wang.pk, answers=answers_for(2),
                                   face_to_face=True)
    RiskProfile.objects.filter(pk=led.wang.pk).update(suitability_valid_until=timezone.localdate() - timedelta(1))
    assert dict(RiskProfile.objects.filter(aml_level__in=["high", "medium"]).values_list("pk", "aml_level")) == {
        led.zhang.pk: "high", led.li.pk: "medium"}
    # training (after the complaints: installing the curriculum may add certification gates)
    ts.curriculum_install_default(actor=bank.admin)
    Assignment.objects.all().delete()  # the curriculum's own assignments are not part of this small world
    x, yc = Course.objects.filter(status="published").order_by("code")[:2]
    later = timezone.localdate() + timedelta(days=30)
    plan = [(bank.supervisor_a, bank.cm_a1, x, date(y, 5, 20), "on_time"),
            (bank.supervisor_a, bank.om_a1, x, date(y, 6, 10), "late"),
            (bank.admin, bank.supervisor_a, yc, date(y, 6, 15), "open"),
            (bank.supervisor_b, bank.cm_b1, x, date(y, 4, 20), "open"),
            (bank.supervisor_b, bank.om_b1, x, date(y, 5, 5), "waived"),
            (bank.supervisor_a, bank.cm_a1, yc, date(y, 7, 10), "open")]
    for boss, staff, course, due, fate in plan:
        a = ts.training_assign(actor=boss, staff_id=staff.pk, course_id=course.pk, due_on=later)
        if fate in ("on_time", "late"):
            ts.certificate_record_external(actor=boss, staff_id=staff.pk, course_id=course.pk,
                                           issued_on=timezone.localdate(), reference="行业资格考试证书")
            done = due - timedelta(days=2) if fate == "on_time" else due + timedelta(days=3)
            Assignment.objects.filter(pk=a.pk).update(completed_at=at(done))
        elif fate == "waived":
            ts.assignment_waive(actor=boss, assignment_id=a.pk, reason="长期病假，下期补训")
        Assignment.objects.filter(pk=a.pk).update(due_on=due)
    return World(bank=bank, led=led, P=P, y=y, qian=qian, zhao=zhao, complaints=complaints, alert=alert, case=case)


@pytest.fixture
def world(bank):
    return make_world(bank)


def table(data: dict, key: str) -> dict[str, dict]:
    """{row label: values} of one table, the total as "合计"."""
    t = data["tables"][key]
    out = {r["label"]: r["values"] for r in t["rows"]}
    if t.get("total"):
        out["合计"] = t["total"]["values"]
    return out


def run(actor, code: str, period: rules.Period, branch: str | None = None) -> dict:
    return sel.report_data(actor, code, period=period, branch_path=branch)


# ---- The reports ---------------------------------------------------------------------------------------------------------
def test_branch_performance_hand_computed(world):
    t = table(run(world.bank.compliance, "branch_performance", world.P), "branches")
    assert set(t) == {"甲分行", "乙分行", "合计"}
    assert t["甲分行"] == {"customers": 3, "new_customers": 2, "aum": 10_600_000, "deposits": 10_600_000,
                        "txn_count": 4, "txn_amount": 10_500_000, "complaints": 2, "csat": 50.0, "training": 66.7}
    assert t["乙分行"] == {"customers": 2, "new_customers": 2, "aum": 2_000_000, "deposits": 2_000_000,
                        "txn_count": 1, "txn_amount": 2_000_000, "complaints": 1, "csat": 100.0, "training": 0.0}
    assert t["合计"] == {"customers": 5, "new_customers": 4, "aum": 12_600_000, "deposits": 12_600_000,
                       "txn_count": 5, "txn_amount": 12_500_000, "complaints": 3, "csat": 66.7, "training": 50.0}


def test_customer_growth_hand_computed(world):
    data = run(world.bank.compliance, "customer_growth", world.P)
    m = table(data, "months")
    y = world.y
    assert m[f"{y}-04"] == {"new_customers": 1, "lost_customers": 0, "net": 1, "customers": 5, "aum": 10_000_000,
                            "deposits": 10_000_000, "wealth": 0}
    assert m[f"{y}-05"] == {"new_customers": 2, "lost_customers": 0, "net": 2, "customers": 5, "aum": 10_600_000,
                            "deposits": 10_600_000, "wealth": 0}
    assert m[f"{y}-06"] == {"new_customers": 1, "lost_customers": 1, "net": 0, "customers": 5, "aum": 12_600_000,
                            "deposits": 12_600_000, "wealth": 0}
    tiers = table(data, "tiers")
    assert tiers["大众客户"] == {"customers": 5, "customer_share": 100.0, "aum": 12_600_000, "aum_share": 100.0}
    assert tiers["富裕客户"]["customers"] == 0 and tiers["私人银行客户"]["aum"] == 0
    b = table(data, "branches")
    assert b["甲分行"] == {"new_customers": 2, "lost_customers": 0, "net": 2, "aum": 10_600_000}
    assert b["乙分行"] == {"new_customers": 2, "lost_customers": 1, "net": 1, "aum": 2_000_000}
    assert b["合计"] == {"new_customers": 4, "lost_customers": 1, "net": 3, "aum": 12_600_000}
    # a month without a snapshot shows no assets (not zero): July of the same year has none
    july = run(world.bank.compliance, "customer_growth", rules.month_period(y, 7))
    assert table(july, "months")[f"{y}-07"]["aum"] is None and july["ctx"].snapshot_day is None


def test_satisfaction_hand_computed(world):
    data = run(world.bank.compliance, "satisfaction", world.P)
    m, b = table(data, "months"), table(data, "branches")
    y = world.y
    assert m[f"{y}-04"] == {"responses": 1, "csat": 100.0, "nps": 100.0, "negative": 0, "followups": 0}
    assert m[f"{y}-05"] == {"responses": 1, "csat": 0.0, "nps": -100.0, "negative": 0, "followups": 1}
    assert m[f"{y}-06"] == {"responses": 1, "csat": 100.0, "nps": 0.0, "negative": 0, "followups": 0}
    assert b["甲分行"] == {"responses": 2, "csat": 50.0, "nps": 0.0, "negative": 0, "followups": 1}
    assert b["乙分行"] == {"responses": 1, "csat": 100.0, "nps": 0.0, "negative": 0, "followups": 0}
    assert b["合计"] == m["合计"] == {"responses": 3, "csat": 66.7, "nps": 0.0, "negative": 0, "followups": 1}
    # a month with no answers: no CSAT rather than 0
    assert table(run(world.bank.compliance, "satisfaction", rules.month_period(world.y, 7)), "months")[
        f"{world.y}-07"]["csat"] is None


def test_complaints_hand_computed(world):
    data = run(world.bank.compliance, "complaints", world.P)
    b = table(data, "branches")
    assert b["甲分行"] == {"received": 2, "closed": 2, "overdue": 1, "open": 0, "median_days": 16.5}
    assert b["乙分行"] == {"received": 1, "closed": 1, "overdue": 0, "open": 1, "median_days": 27.0}
    assert b["合计"] == {"received": 3, "closed": 3, "overdue": 1, "open": 1, "median_days": 25.0}
    c = table(data, "categories")
    assert c["理财"] == {"received": 1, "closed": 2, "overdue": 0}
    assert c["存款"] == {"received": 1, "closed": 1, "overdue": 1}
    assert c["柜面与渠道服务"] == {"received": 1, "closed": 0, "overdue": 0}
    assert c["合计"] == {"received": 3, "closed": 3, "overdue": 1}
    assert table(data, "causes") == {"营销行为": {"received": 1}, "业务差错": {"received": 1}, "未定": {"received": 1},
                                     "合计": {"received": 3}}
    y = world.y
    m = table(data, "months")
    assert (m[f"{y}-04"], m[f"{y}-05"], m[f"{y}-06"]) == (
        {"received": 1, "closed": 2}, {"received": 1, "closed": 0}, {"received": 1, "closed": 1})
    # c3's deadline (5 July) had not passed at the end of P; over the whole year it is overdue (undecided), and c4
    # (received 15 March, decided 5 April: 21 days) is counted, decided late
    year = table(run(world.bank.compliance, "complaints", rules.year_period(y)), "branches")
    assert year["乙分行"]["overdue"] == 2 and year["乙分行"]["received"] == 2


def test_risk_profile_hand_computed(world):
    data = run(world.bank.compliance, "risk_profile", world.P)
    b = table(data, "branches")
    assert b["甲分行"] == {"customers": 3, "aml_high": 1, "aml_medium": 1, "aml_low": 0, "aml_unrated": 1,
                        "suit_expired": 0, "alerts_open": 1, "alerts_new": 1, "cases_open": 1, "cases_new": 1,
                        "suit_1": 0, "suit_2": 0, "suit_3": 0, "suit_4": 1, "suit_5": 0, "suit_none": 2}
    assert b["乙分行"]["customers"] == 2 and b["乙分行"]["aml_unrated"] == 2 and b["乙分行"]["suit_expired"] == 1
    assert b["乙分行"]["alerts_open"] == b["乙分行"]["cases_new"] == 0
    aml = table(data, "aml")
    assert aml["高风险"] == {"customers": 1, "share": 20.0} and aml["未评级"] == {"customers": 3, "share": 60.0}
    suit = table(data, "suitability")
    assert suit["C4"] == {"customers": 1, "share": 20.0} and suit["测评已过期"] == {"customers": 1, "share": 20.0}
    assert suit["未测评"] == {"customers": 3, "share": 60.0} and suit["合计"] == {"customers": 5, "share": 100.0}
    # alerts and cases created in P count as new in P only
    q1 = table(run(world.bank.compliance, "risk_profile", rules.quarter_period(world.y, 1)), "branches")
    assert q1["甲分行"]["alerts_new"] == 0 and q1["甲分行"]["alerts_open"] == 1


def test_training_hand_computed(world):
    data = run(world.bank.compliance, "training", world.P)
    b = table(data, "branches")
    assert b["甲分行"] == {"total": 3, "completed": 2, "on_time": 1, "overdue": 1, "open": 0, "waived": 0, "rate": 66.7}
    assert b["乙分行"] == {"total": 2, "completed": 0, "on_time": 0, "overdue": 1, "open": 0, "waived": 1, "rate": 0.0}
    assert b["合计"] == {"total": 5, "completed": 2, "on_time": 1, "overdue": 2, "open": 0, "waived": 1, "rate": 50.0}
    courses = data["tables"]["courses"]["rows"]
    assert [(r["values"]["total"], r["values"]["completed"], r["values"]["rate"]) for r in courses] == [
        (4, 2, 66.7), (1, 0, 0.0)]
    # supervisor A: the branch itself (their own training) and the sub-branch below
    t = table(run(world.bank.supervisor_a, "training", world.P), "branches")
    assert t == {"甲分行（本级）": {"total": 1, "completed": 0, "on_time": 0, "overdue": 1, "open": 0, "waived": 0,
                                  "rate": 0.0},
                 "甲一支行": {"total": 2, "completed": 2, "on_time": 1, "overdue": 0, "open": 0, "waived": 0,
                          "rate": 100.0},
                 "合计": {"total": 3, "completed": 2, "on_time": 1, "overdue": 1, "open": 0, "waived": 0, "rate": 66.7}}


# ---- Every figure's records ---------------------------------------------------------------------------------------------
MONEY_FIELDS = {"aum": "total_fen", "deposits": "deposits_fen", "wealth": "wealth_fen", "txn_amount": "amount_fen"}


def drill_mismatches(actor, code: str, period: rules.Period, branch: str | None = None) -> list[str]:
    """Open every linked figure's records and compare: counts equal the figure, money sums to it, shares recompute
    from the records."""
    from django.db.models import Count, Q, Sum

    data = sel.report_data(actor, code, period=period, branch_path=branch)
    seen: list[tuple] = []
    view = present(data, link=lambda m, d, k: (seen.append((m, d, k)) or f"{m}|{d}|{k}"))
    ctx = data["ctx"]
    bad = []
    checked = 0
    for t in view["tables"]:
        for row in t["rows"] + ([t["total"]] if t["total"] else []):
            for cell in row["cells"]:
                if not cell["url"]:
                    continue
                metric, dim, key = cell["url"].split("|")
                _m, qs = sel.records(ctx, metric, dim, key)
                value, kind = cell["value"], cell["kind"]
                checked += 1
                if kind == catalog.INT:
                    got = qs.count()
                elif kind == catalog.MONEY:
                    got = qs.aggregate(s=Sum(MONEY_FIELDS[cell["key"]]))["s"] or 0
                elif metric == "csat":
                    a = qs.aggregate(n=Count("id"), good=Count("id", filter=Q(csat__gte=4)))
                    got = rules.pct(a["good"], a["n"])
                elif metric == "nps":
                    a = qs.aggregate(n=Count("id"), p=Count("id", filter=Q(nps__gte=9)), d=Count("id", filter=Q(nps__lte=6)))
                    got = rules.nps(a["p"], a["d"], a["n"])
                elif metric == "training_due":
                    a = qs.aggregate(n=Count("id"), c=Count("id", filter=Q(status="completed")),
                                     w=Count("id", filter=Q(status="waived")))
                    got = rules.pct(a["c"], a["n"] - a["w"])
                elif metric == "complaints_closed" and kind == catalog.DAYS:
                    days = [(c.closed_at.astimezone(TZ).date() - c.received_at.astimezone(TZ).date()).days for c in qs]
                    got = rules.median(days)
                else:
                    got = "unchecked"
                if got != value:
                    bad.append(f"{code} {t['key']} {row['label']} {cell['key']}: figure {value}, records {got}")
    assert checked > 0
    return bad


@pytest.mark.parametrize("code", list(catalog.REPORTS))
def test_every_figure_is_exactly_its_records(world, code):
    assert drill_mismatches(world.bank.compliance, code, world.P) == []
    assert drill_mismatches(world.bank.supervisor_a, code, world.P) == []


def test_drill_detector_catches_a_figure_that_disagrees_with_its_records(world, monkeypatch):
    """Broken variant: the new-customers figure counts one more than its records."""
    real = sel.branch_performance

    def inflated(ctx):
        out = real(ctx)
        out["branches"]["total"]["values"]["new_customers"] += 1
        return out

    monkeypatch.setitem(sel.BUILDERS, "branch_performance", inflated)
    assert len(drill_mismatches(world.bank.compliance, "branch_performance", world.P)) == 1


# ---- Scope and filters ---------------------------------------------------------------------------------------------------
def test_scope_supervisor_sees_only_their_subtree(world):
    bank = world.bank
    b = table(run(bank.supervisor_b, "branch_performance", world.P), "branches")
    assert set(b) == {"乙一支行", "合计"}
    assert b["合计"]["customers"] == 2 and b["合计"]["aum"] == 2_000_000 and b["合计"]["complaints"] == 1
    for code in catalog.REPORTS:
        with pytest.raises(NotFound):
            run(bank.supervisor_b, code, world.P, branch=bank.a.path)
    # the drill-through answers only within the scope too
    ctx = sel.context(bank.supervisor_b, world.P)
    with pytest.raises(NotFound):
        sel.records(ctx, "new_customers", catalog.BRANCH, bank.a1.path)
    _m, qs = sel.records(ctx, "new_customers")
    assert {c.pk for c in qs} == {world.led.wang.pk, world.zhao.pk}
    # the operations manager of A1 sees A1 only; customer managers have no reports at all
    om = table(run(bank.om_a1, "branch_performance", world.P), "branches")
    assert set(om) == {"甲一支行", "合计"} and om["合计"]["customers"] == 3
    with pytest.raises(PermissionDenied):
        run(bank.cm_a1, "branch_performance", world.P)


def test_branch_filter_and_drilling_down(world):
    bank = world.bank
    a = table(run(bank.compliance, "branch_performance", world.P, branch=bank.a.path), "branches")
    assert set(a) == {"甲分行（本级）", "甲一支行", "合计"} and a["合计"]["new_customers"] == 2
    # the branch's own row: the supervisor's overdue training, nothing else booked at the branch itself
    assert a["甲分行（本级）"]["training"] == 0.0 and a["甲分行（本级）"]["customers"] == 0
    leaf = table(run(bank.compliance, "branch_performance", world.P, branch=bank.a1.path), "branches")
    assert set(leaf) == {"甲一支行", "合计"} and leaf["甲一支行"]["txn_count"] == 4
    with pytest.raises(NotFound):
        run(bank.compliance, "branch_performance", world.P, branch="/999/")


def test_period_filters(world):
    bank, y = world.bank, world.y
    may = table(run(bank.compliance, "branch_performance", rules.month_period(y, 5)), "branches")
    assert (may["甲分行"]["new_customers"], may["乙分行"]["new_customers"]) == (1, 1)
    assert may["合计"]["txn_count"] == 1 and may["合计"]["txn_amount"] == 500_000  # the reversed 1,000.00 is out
    assert may["合计"]["aum"] == 10_600_000  # the 31 May snapshot
    rng = rules.parse_period("range", f"{y}-04-01", f"{y}-05-15", today=timezone.localdate())
    r = table(run(bank.compliance, "branch_performance", rng), "branches")
    assert r["合计"]["new_customers"] == 3 and r["合计"]["complaints"] == 2 and r["合计"]["aum"] == 10_000_000
    year = table(run(bank.compliance, "branch_performance", rules.year_period(y)), "branches")
    assert year["合计"]["txn_count"] == 6 and year["合计"]["new_customers"] == 4
    # customers at the end of the previous year: only qian existed
    prev = table(run(bank.compliance, "branch_performance", rules.year_period(y - 1)), "branches")
    assert prev["合计"]["customers"] == 1 and prev["合计"]["aum"] is None
