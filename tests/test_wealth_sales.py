"""Wealth sales end to end through the services: propose → confirm → settle, cooling-off, return visits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.core.errors import PermissionDenied, RuleViolation
from bankcrm.ledger.models import Account, AccountHold
from bankcrm.wealth import services
from bankcrm.wealth.models import Holding, ReturnVisit, Sale
from tests.wealth_helpers import CNY, build_wealth

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(bank):
    return build_wealth(bank)


def _bal(acc):
    acc.refresh_from_db()
    return acc.balance_fen, acc.held_fen


def test_public_sale_settles_at_confirmation_with_return_visit_by_someone_else(w):
    bank, led = w.bank, w.ledger
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["R2"].pk,
                              account_id=led.li_cny.pk, amount_fen=20_000 * CNY)
    assert s.status == Sale.Status.PROPOSED and s.check_result["allowed"]
    before, _h = _bal(led.li_cny)
    s = services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    s.refresh_from_db()
    assert s.status == Sale.Status.SETTLED and s.entry_id and s.units_x100 == 20_000 * CNY
    after, held = _bal(led.li_cny)
    assert before - after == 20_000 * CNY and held == 0
    h = Holding.objects.get(customer=w.li, product=w.products["R2"])
    assert h.units_x100 == 20_000 * CNY and h.cost_fen == 20_000 * CNY
    rv = ReturnVisit.objects.get(sale=s)
    assert rv.assignee_id != bank.cm_a1.pk


def test_elderly_r3_needs_recording(w):
    bank, led = w.bank, w.ledger
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.zhang.pk, product_id=w.products["R3"].pk,
                              account_id=led.zhang_cny.pk, amount_fen=50_000 * CNY)
    assert s.recording_required
    with pytest.raises(RuleViolation) as e:
        services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    assert e.value.code == "suitability_recording_required"
    s = services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True, recording_id="SL-0001",
                              recording_booth="甲一支行双录区1", recorded_at=timezone.now() - timedelta(minutes=5))
    s.refresh_from_db()
    assert s.status == Sale.Status.SETTLED and s.recording_id == "SL-0001"


def test_level_too_low_refused_with_rule_named(w):
    bank, led = w.bank, w.ledger
    with pytest.raises(RuleViolation) as e:
        services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["R4"].pk,
                              account_id=led.li_cny.pk, amount_fen=20_000 * CNY)
    assert "suitability_level_too_low" in [v["code"] for v in e.value.params["violations"]]
    assert not Sale.objects.exists()


def test_private_cooling_off_cancel_releases_exactly_the_hold(w):
    bank, led = w.bank, w.ledger
    services.qualified_investor_certify(actor=bank.cm_a1, customer_id=w.li.pk, basis="income", experience_years=3,
                                        evidence="纳税记录 2023-2025")
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["PRIV"].pk,
                              account_id=led.li_cny.pk, amount_fen=1_000_000 * CNY, customer_initiated=True)
    bal0, held0 = _bal(led.li_cny)
    s = services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    assert s.status == Sale.Status.HELD and s.cooling_off_ends_at
    bal1, held1 = _bal(led.li_cny)
    assert bal1 == bal0 and held1 - held0 == 1_000_000 * CNY
    assert services.settle_due() == 0  # still cooling off
    services.sale_cancel(actor=bank.cm_a1, sale_id=s.pk, reason="客户冷静期内申请撤销")
    assert _bal(led.li_cny) == (bal0, held0)
    assert AccountHold.objects.get(ref=s.hold_ref).status == AccountHold.Status.RELEASED


def test_private_settles_after_cooling_off_once(w):
    bank, led = w.bank, w.ledger
    services.qualified_investor_certify(actor=bank.cm_a1, customer_id=w.li.pk, basis="income", experience_years=3,
                                        evidence="纳税记录 2023-2025")
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["PRIV"].pk,
                              account_id=led.li_cny.pk, amount_fen=1_000_000 * CNY, customer_initiated=True)
    s = services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    later = s.cooling_off_ends_at + timedelta(seconds=1)
    assert services.settle_due(now=later) == 1
    assert services.settle_due(now=later) == 0
    s.refresh_from_db()
    assert s.status == Sale.Status.SETTLED
    assert _bal(led.li_cny)[1] == 0
    with pytest.raises(RuleViolation):
        services.sale_cancel(actor=bank.cm_a1, sale_id=s.pk, reason="晚了")


def test_held_money_cannot_be_withdrawn(w):
    from bankcrm.ledger import services as ledger

    bank, led = w.bank, w.ledger
    services.qualified_investor_certify(actor=bank.cm_a1, customer_id=w.li.pk, basis="income", experience_years=3,
                                        evidence="纳税记录 2023-2025")
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["PRIV"].pk,
                              account_id=led.li_cny.pk, amount_fen=1_000_000 * CNY, customer_initiated=True)
    services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    bal, held = _bal(led.li_cny)
    free = bal - held
    mv = ledger.cash_withdrawal_movement(actor=bank.om_a1, account_id=led.li_cny.pk, amount_fen=free + CNY)
    with pytest.raises(RuleViolation) as e:
        ledger.post(mv, maker=bank.om_a1)
    assert e.value.code == "insufficient_funds"


def test_seller_cannot_do_own_return_visit(w):
    bank, led = w.bank, w.ledger
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["R2"].pk,
                              account_id=led.li_cny.pk, amount_fen=20_000 * CNY)
    services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    rv = ReturnVisit.objects.get(sale_id=s.pk)
    with pytest.raises((PermissionDenied, Exception)):
        services.return_visit_record(actor=bank.cm_a1, visit_id=rv.pk, reached=True, understood_product=True,
                                     understood_risk=True, voluntary=True, received_documents=True)
    rv = services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=True, understood_product=True,
                                      understood_risk=False, voluntary=True, received_documents=True,
                                      notes="客户表示不清楚产品可能亏损本金")
    assert rv.outcome == "problem" and rv.complaint_id


def test_deposit_sale_opens_time_deposit(w):
    bank, led = w.bank, w.ledger
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["DEP"].pk,
                              account_id=led.li_cny.pk, amount_fen=10_000 * CNY)
    s = services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    s.refresh_from_db()
    acc = Account.objects.get(pk=s.deposit_account_id)
    assert acc.balance_fen == 10_000 * CNY and acc.maturity_date and acc.payout_account_id == led.li_cny.pk
