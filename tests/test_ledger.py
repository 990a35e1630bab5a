"""Ledger services: opening, posting, limits, maker-checker, reversal, freeze, close, cash count, interest, dormancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bankcrm.approvals import services as approvals
from bankcrm.core import outbox
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.models import AuditEvent, OutboxEvent
from bankcrm.ledger import rules, selectors, services
from bankcrm.ledger.models import Account, JournalEntry, Posting, Product
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def led(bank):
    return build_ledger(bank)


def _bal(acc):
    return Account.objects.get(pk=acc.pk).balance_fen


def test_account_numbers_carry_a_luhn_check_digit(led):
    assert rules.valid_account_number(led.zhang_cny.number)
    wrong = led.zhang_cny.number[:-1] + str((int(led.zhang_cny.number[-1]) + 1) % 10)
    assert not rules.valid_account_number(wrong)
    with pytest.raises(ValidationFailed) as e:
        selectors.account_by_number(led.bank.om_a1, wrong)
    assert e.value.code == "invalid_account_number"
    assert selectors.account_by_number(led.bank.om_a1, led.zhang_cny.number).pk == led.zhang_cny.pk


def test_cash_deposit_is_double_entry_and_published(led):
    om = led.bank.om_a1
    mv = services.cash_deposit_movement(actor=om, account_id=led.zhang_cny.pk, amount_fen=1_000_000)
    with transaction.atomic():
        answer = services.movement_request(actor=om, mv=mv)
    assert answer["status"] == "posted" and len(answer["txn_no"]) == 18
    assert _bal(led.zhang_cny) == 1_000_000 and _bal(led.box) == 1_000_000
    entry = JournalEntry.objects.get(pk=answer["entry_id"])
    legs = list(entry.postings.order_by("side").values_list("side", "amount_fen", "account_id"))
    assert legs == [("C", 1_000_000, led.zhang_cny.pk), ("D", 1_000_000, led.box.pk)]
    assert OutboxEvent.objects.filter(topic="ledger.entry_posted", payload__entry_id=entry.pk).count() == 1
    assert selectors.invariant_report() == {"total_drift": 0, "balance_mismatches": 0, "negative_balances": 0,
                                            "unbalanced_entries": 0, "entries_without_postings": 0}


def test_the_sealer_chains_postings_into_the_audit_trail_once(led):
    fund(led.zhang_cny, 3_000_000, teller=led.bank.om_a1)
    assert outbox.consume("audit_sealer") >= 1
    assert outbox.consume("audit_sealer") == 0
    ev = AuditEvent.objects.filter(verb="ledger.entry_posted").get()
    assert ev.actor_id == led.bank.om_a1.pk and ev.after["amount_fen"] == 3_000_000
    from bankcrm.core.audit import verify_chain

    assert verify_chain().ok


def test_withdrawal_beyond_balance_is_refused_and_nothing_is_written(led):
    om = led.bank.om_a1
    fund(led.zhang_cny, 100_000, teller=om)
    before = Posting.objects.count()
    mv = services.cash_withdrawal_movement(actor=om, account_id=led.zhang_cny.pk, amount_fen=100_001)
    with pytest.raises(RuleViolation) as e, transaction.atomic():
        services.movement_request(actor=om, mv=mv)
    assert e.value.code == "insufficient_funds"
    assert Posting.objects.count() == before and _bal(led.zhang_cny) == 100_000


def test_overdraft_product_allows_going_negative_up_to_its_limit(led):
    od = Product.objects.get(code="D-OD")
    acc = services.account_open(actor=led.bank.om_a1, customer_id=led.zhang.pk, product_id=od.pk)
    fund(led.li_cny, 10_000_000, teller=led.bank.om_a1)  # the cash box needs cash to pay out
    mv = services.cash_withdrawal_movement(actor=led.bank.om_a1, account_id=acc.pk, amount_fen=4_000_000)
    with transaction.atomic():
        services.movement_request(actor=led.bank.om_a1, mv=mv)
    assert _bal(acc) == -4_000_000
    mv = services.cash_withdrawal_movement(actor=led.bank.om_a1, account_id=acc.pk, amount_fen=1_000_001)
    with pytest.raises(RuleViolation) as e, transaction.atomic():
        services.movement_request(actor=led.bank.om_a1, mv=mv)
    assert e.value.code == "insufficient_funds"


def test_large_transfer_waits_for_a_second_operations_manager(led, bank):
    fund(led.zhang_cny, 8_000_000, teller=bank.om_a1)
    mv = services.internal_transfer_movement(actor=bank.om_a1, from_account_id=led.zhang_cny.pk,
                                             to_account_id=led.li_cny.number, amount_fen=5_000_000)
    with transaction.atomic():
        answer = services.movement_request(actor=bank.om_a1, mv=mv)
    assert answer["status"] == "pending_approval"
    assert _bal(led.zhang_cny) == 8_000_000
    for checker in (bank.om_a1, bank.intern, bank.temp):  # maker, intern, temporary worker
        with pytest.raises((RuleViolation, PermissionDenied, NotFound)):
            approvals.approval_approve(actor=checker, pending_id=answer["approval_id"])
    pa = approvals.approval_approve(actor=bank.supervisor_a, pending_id=answer["approval_id"])
    assert pa.status == "executed", pa.result
    assert _bal(led.zhang_cny) == 3_000_000 and _bal(led.li_cny) == 5_000_000
    entry = JournalEntry.objects.get(pk=pa.result["entry_id"])
    assert entry.maker_id == bank.om_a1.pk and entry.checker_id == bank.supervisor_a.pk


def test_rules_are_checked_again_at_approval(led, bank):
    fund(led.zhang_cny, 6_000_000, teller=bank.om_a1)
    mv = services.internal_transfer_movement(actor=bank.om_a1, from_account_id=led.zhang_cny.pk,
                                             to_account_id=led.li_cny.pk, amount_fen=5_500_000)
    with transaction.atomic():
        answer = services.movement_request(actor=bank.om_a1, mv=mv)
    out = services.cash_withdrawal_movement(actor=bank.om_a1, account_id=led.zhang_cny.pk, amount_fen=1_000_000)
    with transaction.atomic():
        services.movement_request(actor=bank.om_a1, mv=out)
    pa = approvals.approval_approve(actor=bank.supervisor_a, pending_id=answer["approval_id"])
    assert pa.status == "failed" and pa.result["error"]["code"] == "insufficient_funds"
    assert _bal(led.li_cny) == 0


def test_reversal_needs_approval_points_to_the_original_and_happens_once(led, bank):
    fund(led.zhang_cny, 1_000_000, teller=bank.om_a1)
    entry = JournalEntry.objects.filter(credit_account=led.zhang_cny).get()
    with transaction.atomic():
        answer = services.reversal_request(actor=bank.om_a1, entry_id=entry.pk, reason="金额录错")
    assert _bal(led.zhang_cny) == 1_000_000
    pa = approvals.approval_approve(actor=bank.supervisor_a, pending_id=answer["approval_id"])
    assert pa.status == "executed", pa.result
    rev = JournalEntry.objects.get(reversal_of=entry)
    assert rev.kind == "reversal" and _bal(led.zhang_cny) == 0 and _bal(led.box) == 0
    with pytest.raises(RuleViolation) as e:
        services.reversal_request(actor=bank.om_a1, entry_id=entry.pk, reason="再来一次")
    assert e.value.code == "already_reversed"
    with pytest.raises(Exception):  # postings are immutable at the database
        with transaction.atomic():
            Posting.objects.filter(entry=entry).update(amount_fen=1)


def test_freeze_stops_debits_but_not_credits(led, bank):
    fund(led.zhang_cny, 1_000_000, teller=bank.om_a1)
    with transaction.atomic():
        answer = services.account_status_request(actor=bank.branch_risk, account_id=led.zhang_cny.pk,
                                                 action="freeze", reason="司法冻结")
    approvals.approval_approve(actor=bank.supervisor_a, pending_id=answer["approval_id"])
    assert Account.objects.get(pk=led.zhang_cny.pk).status == "frozen"
    out = services.cash_withdrawal_movement(actor=bank.om_a1, account_id=led.zhang_cny.pk, amount_fen=100)
    with pytest.raises(RuleViolation) as e, transaction.atomic():
        services.movement_request(actor=bank.om_a1, mv=out)
    assert e.value.code == "account_frozen"
    fund(led.zhang_cny, 100, teller=bank.om_a1)
    assert _bal(led.zhang_cny) == 1_000_100


def test_daily_limit_counts_the_days_debits(led, bank):
    from bankcrm.ledger.models import LimitRule

    LimitRule.objects.filter(channel="counter", customer_kind="person").update(per_txn_fen=3_000_000, per_day_fen=5_000_000)
    fund(led.zhang_cny, 9_000_000, teller=bank.om_a1)
    for amount, ok in ((3_000_000, True), (3_000_001, False), (2_000_000, True), (1, False)):
        mv = services.internal_transfer_movement(actor=bank.om_a1, from_account_id=led.zhang_cny.pk,
                                                 to_account_id=led.li_cny.pk, amount_fen=amount)
        if ok:
            with transaction.atomic():
                services.movement_request(actor=bank.om_a1, mv=mv)
        else:
            with pytest.raises(RuleViolation) as e, transaction.atomic():
                services.movement_request(actor=bank.om_a1, mv=mv)
            assert e.value.code in ("limit_per_transaction", "limit_per_day")
    assert _bal(led.li_cny) == 5_000_000


def test_close_with_balance_pays_out_after_approval(led, bank):
    fund(led.li_cny, 2_000_000, teller=bank.om_a1)
    with transaction.atomic():
        answer = services.account_close_request(actor=bank.om_a1, account_id=led.li_cny.pk, payout="cash",
                                                reason="客户申请")
    assert answer["status"] == "pending_approval"
    pa = approvals.approval_approve(actor=bank.supervisor_a, pending_id=answer["approval_id"])
    assert pa.status == "executed", pa.result
    acc = Account.objects.get(pk=led.li_cny.pk)
    assert acc.status == "closed" and acc.balance_fen == 0


def test_cash_count_records_and_escalates_differences(led, bank):
    fund(led.zhang_cny, 1_000_000, teller=bank.om_a1)  # ¥10,000 in the box
    with pytest.raises(ValidationFailed):
        services.cash_count(actor=bank.om_a1, denominations={"10000": 99})
    row = services.cash_count(actor=bank.om_a1, denominations={"10000": 99, "5000": 1}, note="少一张百元")
    assert row.difference_fen == -5_000 and row.status == "difference"
    with pytest.raises(RuleViolation):
        services.cash_count(actor=bank.om_a1, denominations={"10000": 100})


def test_interest_accrues_once_per_day_and_posts_at_settlement(led, bank):
    fund(led.zhang_cny, 36_000_000, teller=bank.om_a1)  # ¥360,000 at 0.05% → ¥5 a day... 0.5 yuan per day
    day = timezone.localdate()  # opened today: the first accrual is for today's closing balance
    assert services.interest_accrue(on=day) >= 1
    assert services.interest_accrue(on=day) == 0  # idempotent per business date
    acc = Account.objects.get(pk=led.zhang_cny.pk)
    assert acc.accrued_interest_micro == rules.daily_interest_micro(36_000_000, 5) == 50 * 1_000_000
    assert services.interest_post(account_ids=[acc.pk]) == 1
    assert _bal(led.zhang_cny) == 36_000_050
    assert selectors.invariant_report()["total_drift"] == 0


def test_dormant_accounts_need_reactivation(led, bank):
    old = timezone.now() - timedelta(days=400)
    Account.objects.filter(pk=led.wang_cny.pk).update(opened_at=old, last_activity_at=old)
    assert services.accounts_mark_dormant() == 1
    assert services.accounts_mark_dormant() == 0
    mv = Account.objects.get(pk=led.wang_cny.pk)
    assert mv.status == "dormant"
    with pytest.raises(RuleViolation) as e:
        services.cash_deposit_movement(actor=bank.om_b1, account_id=led.wang_cny.pk, amount_fen=100)
        with transaction.atomic():
            services.post(services.cash_deposit_movement(actor=bank.om_b1, account_id=led.wang_cny.pk, amount_fen=100),
                          maker=bank.om_b1)
    assert e.value.code == "account_dormant"
    services.account_reactivate(actor=bank.om_b1, account_id=led.wang_cny.pk, reason="核验身份证原件")
    fund(led.wang_cny, 100, teller=bank.om_b1)


def test_scope_customer_manager_sees_only_their_customers_accounts(led, bank):
    assert set(selectors.accounts_visible(bank.cm_a1).values_list("pk", flat=True)) == {led.zhang_cny.pk, led.li_cny.pk}
    assert led.wang_cny.pk not in selectors.accounts_visible(bank.om_a1).values_list("pk", flat=True)
    assert not selectors.accounts_visible(bank.intern).filter(kind="internal").exists()
    mv = services.cash_deposit_movement(actor=bank.om_a1, account_id=led.zhang_cny.pk, amount_fen=1)
    for who in (bank.cm_a1, bank.consultant, bank.intern):  # no money movement for them
        with pytest.raises(PermissionDenied):
            services.movement_request(actor=who, mv=mv)


def test_demand_interest_posts_on_the_quarterly_settlement_day_only(led, bank):
    from datetime import date

    fund(led.zhang_cny, 36_000_000, teller=bank.om_a1)
    Account.objects.filter(pk=led.zhang_cny.pk).update(accrued_interest_micro=123_456_789)
    assert services.interest_post(today=date(2026, 12, 19)) == 0
    assert services.interest_post(today=date(2026, 12, 20)) == 1
    acc = Account.objects.get(pk=led.zhang_cny.pk)
    assert acc.balance_fen == 36_000_123 and acc.accrued_interest_micro == 456_789
    assert services.interest_post(today=date(2026, 12, 20)) == 0  # nothing left to post: idempotent


def test_usd_amounts_are_compared_to_the_threshold_in_cny(led, bank):
    usd = Product.objects.get(code="D-USD")
    acc = services.account_open(actor=bank.om_a1, customer_id=led.zhang.pk, product_id=usd.pk)
    services.cash_box_open(actor=bank.om_a1, currency="USD")
    services._INTERNAL_IDS.clear()
    small = services.cash_deposit_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=700_000)  # USD 7,000
    big = services.cash_deposit_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=800_000)  # ≈ CNY 56,960
    with transaction.atomic():
        assert services.movement_request(actor=bank.om_a1, mv=small)["status"] == "posted"
    with transaction.atomic():
        assert services.movement_request(actor=bank.om_a1, mv=big)["status"] == "pending_approval"
    mixed = services.Movement(kind="cash_in", amount_fen=1, currency="CNY", debit_id=led.box.pk, credit_id=acc.pk)
    with pytest.raises(RuleViolation) as e, transaction.atomic():
        services.post(mixed, maker=bank.om_a1)
    assert e.value.code == "currency_mismatch"


def test_an_approved_movement_points_to_its_approval_and_a_frozen_account_cannot_be_closed(led, bank):
    fund(led.zhang_cny, 6_000_000, teller=bank.om_a1)
    mv = services.internal_transfer_movement(actor=bank.om_a1, from_account_id=led.zhang_cny.pk,
                                             to_account_id=led.li_cny.pk, amount_fen=5_000_000)
    with transaction.atomic():
        answer = services.movement_request(actor=bank.om_a1, mv=mv)
    pa = approvals.approval_approve(actor=bank.supervisor_a, pending_id=answer["approval_id"])
    assert JournalEntry.objects.get(pk=pa.result["entry_id"]).approval_id == pa.pk
    Account.objects.filter(pk=led.li_cny.pk).update(status="frozen")
    with pytest.raises(RuleViolation) as e:
        services.account_close_request(actor=bank.om_a1, account_id=led.li_cny.pk, payout="cash", reason="客户申请")
    assert e.value.code == "account_frozen"
