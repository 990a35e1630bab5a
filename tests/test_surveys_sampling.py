"""Sampling rules: only consenting customers, never the same customer twice within surveys.min_interval (90 days,
configurable per campaign), N per manager — pure rules under Hypothesis, then the campaign run and event triggers
on the database (the customers app's consent gate, the ledger's account-opened fact, the service app's complaint
closed event)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from bankcrm.core import outbox
from bankcrm.core.errors import RuleViolation
from bankcrm.surveys import rules, services
from bankcrm.surveys.models import Invitation
from tests.ledger_helpers import build_ledger
from tests.test_surveys_tokens import consent, periodic_campaign

NOW = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)

candidates = st.lists(
    st.builds(rules.Candidate, customer_id=st.integers(1, 400), manager_id=st.one_of(st.none(), st.integers(1, 6)),
              consented=st.booleans(),
              last_surveyed_at=st.one_of(st.none(), st.integers(0, 400).map(lambda d: NOW - timedelta(days=d)))),
    max_size=80, unique_by=lambda c: c.customer_id)


@given(candidates, st.integers(1, 12), st.integers(0, 365))
@settings(max_examples=300, deadline=None)
def test_sample_respects_consent_interval_and_quota(cands, n, interval):
    s = rules.sample_per_manager(cands, per_manager=n, now=NOW, min_interval_days=interval, seed="c1:2026Q4")
    chosen = {c.customer_id for c in s.chosen}
    for c in s.chosen:
        assert c.consented, "a customer who did not consent was sampled"
        assert c.last_surveyed_at is None or NOW - c.last_surveyed_at >= timedelta(days=interval)
        assert c.manager_id is not None
    per = {}
    for c in s.chosen:
        per[c.manager_id] = per.get(c.manager_id, 0) + 1
    assert all(v <= n for v in per.values())
    # every eligible manager gets min(n, eligible) — nobody eligible is left out while the quota is not full
    for m in {c.manager_id for c in cands if c.manager_id is not None}:
        eligible = [c for c in cands if c.manager_id == m and not rules.eligible(c, NOW, interval)]
        assert per.get(m, 0) == min(n, len(eligible))
    assert s.skipped_consent == sum(not c.consented for c in cands)
    assert s.skipped_interval == sum(c.consented and rules.within_interval(c.last_surveyed_at, NOW, interval)
                                     for c in cands)
    # deterministic for a seed
    again = rules.sample_per_manager(list(reversed(cands)), per_manager=n, now=NOW, min_interval_days=interval,
                                     seed="c1:2026Q4")
    assert {c.customer_id for c in again.chosen} == chosen


@given(st.integers(0, 1000), st.integers(1, 365))
def test_interval_boundary(days_ago, interval):
    last = NOW - timedelta(days=days_ago)
    assert rules.within_interval(last, NOW, interval) == (days_ago < interval)
    assert not rules.within_interval(None, NOW, interval)


@given(st.one_of(st.none(), st.integers(1, 5)), st.one_of(st.none(), st.integers(0, 10)), st.integers(1, 5),
       st.integers(0, 10))
def test_low_score_rule(csat, nps, csat_low, nps_low):
    assert rules.is_low(csat, nps, csat_low=csat_low, nps_low=nps_low) == (
        (csat is not None and csat <= csat_low) or (nps is not None and nps <= nps_low))


@given(st.lists(st.integers(0, 10), min_size=1, max_size=50))
def test_nps_formula(values):
    score = rules.nps_score(values)
    assert -100 <= score <= 100
    assert score == round(100 * (sum(v >= 9 for v in values) - sum(v <= 6 for v in values)) / len(values), 1)


def test_questions_parse_and_validate():
    qs = rules.parse_question_lines("*csat: 满意吗？\n*nps: 推荐吗？\nchoice: 办理渠道 | 网点 | 手机银行\ntext: 建议")
    assert [q["code"] for q in qs] == ["csat", "nps", "q3", "comment"] and qs[2]["options"] == ["网点", "手机银行"]
    assert rules.validate_questions(qs) == {}
    assert rules.parse_question_lines(rules.question_lines(qs)) == qs
    assert rules.validate_questions(qs + [{"code": "csat2", "kind": "csat", "text": "再问一次"}])
    answers, errors = rules.clean_answers(qs, {"csat": "6", "nps": "10", "q3": "柜台"})
    assert set(errors) == {"csat", "q3"} and answers == {"nps": 10}


# ---- On the database ----------------------------------------------------------------------------------------------
pytestmark_db = pytest.mark.django_db


@pytestmark_db
def test_campaign_run_consent_interval_and_once_per_period(bank):
    led = build_ledger(bank)
    consent(bank, led.zhang)
    consent(bank, led.wang, actor=bank.cm_b1)
    c = periodic_campaign(bank.admin)
    # li surveyed 30 days ago by another campaign → within 90 days
    other = periodic_campaign(bank.admin, name="其他活动")
    Invitation.objects.create(campaign=other, template=other.template, customer=led.li, branch=bank.a1,
                              branch_path=bank.a1.path, trigger="periodic", channel="sms", source_ref="old:li",
                              status="answered", created_at=timezone.now() - timedelta(days=30))
    consent(bank, led.li)
    with transaction.atomic():
        run = services.campaign_run(actor=bank.admin, campaign_id=c.pk)
    assert (run.sampled, run.skipped_consent, run.skipped_interval) == (2, 0, 1)
    assert set(c.invitations.values_list("customer_id", flat=True)) == {led.zhang.pk, led.wang.pk}
    with pytest.raises(RuleViolation) as e, transaction.atomic():
        services.campaign_run(actor=bank.admin, campaign_id=c.pk)
    assert e.value.code == "campaign_period_done"
    # a supervisor's campaign covers their branch subtree only; another branch's supervisor cannot see it
    cs = periodic_campaign(bank.supervisor_b, per_manager=5, min_interval_days=0)
    with transaction.atomic():
        run_b = services.campaign_run(actor=bank.supervisor_b, campaign_id=cs.pk)
    assert set(cs.invitations.values_list("customer_id", flat=True)) == {led.wang.pk} and run_b.sampled == 1
    from bankcrm.core.errors import NotFound

    with pytest.raises(NotFound), transaction.atomic():
        services.campaign_run(actor=bank.supervisor_a, campaign_id=cs.pk)


@pytestmark_db
def test_withdrawn_consent_is_checked_again_at_sending(bank):
    from bankcrm.customers import services as customer_services
    from bankcrm.customers.models import Consent

    led = build_ledger(bank)
    consent(bank, led.zhang)
    c = periodic_campaign(bank.admin)
    with transaction.atomic():
        services.campaign_run(actor=bank.admin, campaign_id=c.pk)
    with transaction.atomic():
        customer_services.consent_withdraw(actor=bank.cm_a1, customer_id=led.zhang.pk, reason="客户来电",
                                           consent_id=Consent.objects.get(customer=led.zhang, purpose="survey").pk)
    assert services.dispatch() == {"sent": 0, "cancelled": 1}
    assert Invitation.objects.get(customer=led.zhang).cancel_reason == "consent_withdrawn"


@pytestmark_db
def test_event_campaigns_account_opened_and_complaint_closed(bank):
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Product
    from bankcrm.surveys.jobs import account_opened_scan

    led = build_ledger(bank)
    consent(bank, led.zhang)
    t = services.template_install_default()
    with transaction.atomic():
        opened = services.campaign_save(actor=bank.admin, name="开户回访", trigger="account_opened", template_id=t.pk,
                                        channel="sms", active=True)
        closed = services.campaign_save(actor=bank.admin, name="投诉办结回访", trigger="complaint_closed",
                                        template_id=t.pk, channel="sms", active=True, min_interval_days=0)
    with transaction.atomic():
        acc = ledger.account_open(actor=bank.om_a1, customer_id=led.zhang.pk,
                                  product_id=Product.objects.get(code="D-CNY").pk)
        ledger.account_open(actor=bank.om_a1, customer_id=led.li.pk, product_id=Product.objects.get(code="D-CNY").pk)
    assert account_opened_scan() == 1 and account_opened_scan() == 0  # li did not consent; idempotent
    inv = Invitation.objects.get(campaign=opened)
    assert (inv.customer_id, inv.source_ref, inv.product) == (led.zhang.pk, f"c{opened.pk}:account:{acc.pk}",
                                                              acc.product.name)
    # the ledger's opening entry on the outbox meets the same source_ref: no second invitation
    with transaction.atomic():
        outbox.publish("ledger.entry_posted", {"kind": "opening", "customer_id": led.zhang.pk, "credit_id": acc.pk,
                                               "debit_id": 0, "entry_id": 0})
        outbox.publish("service.complaint_closed", {"complaint_id": 77, "customer_id": led.zhang.pk})
        outbox.publish("service.complaint_closed", {"complaint_id": 78, "customer_id": led.li.pk})
        outbox.publish("wealth.sold", {"sale_id": 5, "customer_id": led.zhang.pk})
    while outbox.consume("surveys_events"):
        pass
    assert Invitation.objects.filter(campaign=opened).count() == 1
    assert list(Invitation.objects.filter(campaign=closed).values_list("customer_id", "source_ref")) == [
        (led.zhang.pk, f"c{closed.pk}:complaint:77")]
    # the 90-day interval holds across campaigns: a second account for zhang soon after → no new invitation
    with transaction.atomic():
        opened.min_interval_days = None
        opened.save()
        ledger.account_open(actor=bank.om_a1, customer_id=led.zhang.pk,
                            product_id=Product.objects.get(code="D-CNY").pk)
    assert account_opened_scan() == 0
