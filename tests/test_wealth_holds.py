"""Holds on customer accounts (issue #6: funds are held during cooling-off; cancellation releases exactly the hold):
placing, releasing and capturing them, what held money is protected from (withdrawals, transfers, batch postings,
closing the account), several holds on one account, accounts that cannot take a hold, idempotency per reference, and
``Account.available_fen``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone

from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.ledger import batch
from bankcrm.ledger import services as ledger
from bankcrm.ledger.models import Account, AccountHold, JournalEntry, Product
from bankcrm.ledger.selectors import invariant_report
from bankcrm.wealth import services
from bankcrm.wealth.models import Sale
from tests.helpers import audit_seq, verbs_since
from tests.wealth_helpers import CNY, build_wealth, freeze, held_sale, holds_consistent, product, qualify

pytestmark = pytest.mark.django_db

ZERO = {"total_drift": 0, "balance_mismatches": 0, "negative_balances": 0, "unbalanced_entries": 0,
        "entries_without_postings": 0}


@pytest.fixture
def w(bank):
    w = build_wealth(bank)
    qualify(bank, w.li)
    qualify(bank, w.zhang)
    # a private product with a small minimum, so that several holds fit on one account
    w.products["PRIV_S"] = product(bank, "PE-S", level=3, private=True, min_amount_fen=100_000 * CNY,
                                   step_fen=CNY)
    return w


def state(acc: Account) -> tuple[int, int, int]:
    acc.refresh_from_db()
    return acc.balance_fen, acc.held_fen, acc.available_fen


def test_available_is_balance_plus_overdraft_minus_held(w):
    acc = w.ledger.li_cny
    bal, held, avail = state(acc)
    assert held == 0 and avail == bal
    Account.objects.filter(pk=acc.pk).update(overdraft_limit_fen=5_000 * CNY)  # an overdraft facility (set-up)
    held_sale(w, w.li, acc, 200_000 * CNY, w.products["PRIV_S"])
    acc.refresh_from_db()
    assert acc.available_fen == acc.balance_fen + 5_000 * CNY - 200_000 * CNY
    assert Account(balance_fen=10, overdraft_limit_fen=3, held_fen=7).available_fen == 6


def test_cooling_off_cancellation_releases_exactly_the_hold(w):
    bank, acc = w.bank, w.ledger.li_cny
    other = held_sale(w, w.li, acc, 150_000 * CNY, w.products["PRIV_S"])  # a second hold stays untouched
    bal0, held0, avail0 = state(acc)
    entries0 = JournalEntry.objects.count()
    s = held_sale(w, w.li, acc, 300_000 * CNY, w.products["PRIV_S"])
    bal1, held1, avail1 = state(acc)
    assert (bal1, held1, avail1) == (bal0, held0 + 300_000 * CNY, avail0 - 300_000 * CNY)
    hold = AccountHold.objects.get(ref=s.hold_ref)
    assert (hold.status, hold.amount_fen, hold.account_id) == ("active", 300_000 * CNY, acc.pk)

    seq = audit_seq()
    services.sale_cancel(actor=bank.cm_a1, sale_id=s.pk, reason="客户冷静期内申请撤销")
    assert state(acc) == (bal0, held0, avail0)  # balance never moved; held back to what it was
    assert JournalEntry.objects.count() == entries0  # free of charge: no posting at all
    hold.refresh_from_db()
    assert hold.status == "released" and hold.ended_at and hold.entry_id is None
    assert verbs_since(seq) == ["ledger.hold_released", "wealth.sale_cancelled"]
    s.refresh_from_db()
    assert s.status == Sale.Status.CANCELLED and s.ended_by_id == bank.cm_a1.pk and s.entry_id is None
    assert AccountHold.objects.get(ref=other.hold_ref).status == "active"
    # cancelled once: again is refused and changes nothing
    seq = audit_seq()
    with pytest.raises(RuleViolation) as e:
        services.sale_cancel(actor=bank.cm_a1, sale_id=s.pk, reason="再次撤销")
    assert e.value.code == "sale_state" and verbs_since(seq) == [] and state(acc) == (bal0, held0, avail0)
    with pytest.raises(RuleViolation) as e:
        ledger.hold_release(actor=bank.cm_a1, ref=s.hold_ref, reason="再次解冻")
    assert e.value.code == "hold_not_active"
    assert holds_consistent() == [] and invariant_report() == ZERO


def test_cancel_needs_a_reason_and_the_cooling_off_period(w, monkeypatch):
    bank, acc = w.bank, w.ledger.li_cny
    s = held_sale(w, w.li, acc, 100_000 * CNY, w.products["PRIV_S"])
    before = state(acc)
    with pytest.raises(ValidationFailed) as e:
        services.sale_cancel(actor=bank.cm_a1, sale_id=s.pk, reason="  ")
    assert e.value.code == "reason_required" and "reason" in e.value.fields
    later = s.cooling_off_ends_at + timedelta(seconds=1)
    monkeypatch.setattr(services, "_now", lambda: later)
    with pytest.raises(RuleViolation) as e:
        services.sale_cancel(actor=bank.cm_a1, sale_id=s.pk, reason="冷静期后撤销")
    assert e.value.code == "cooling_off_over"
    assert state(acc) == before and AccountHold.objects.get(ref=s.hold_ref).status == "active"
    with pytest.raises(NotFound):  # another branch's manager does not see the sale
        services.sale_cancel(actor=bank.cm_b1, sale_id=s.pk, reason="越权撤销")


def test_held_money_cannot_be_withdrawn_transferred_or_batch_posted(w):
    bank, led = w.bank, w.ledger
    acc = led.li_cny
    bal, _held, _avail = state(acc)
    free = 500 * CNY
    held_sale(w, w.li, acc, 100_000 * CNY, w.products["PRIV_S"])
    held_sale(w, w.li, acc, bal - 100_000 * CNY - free, w.products["PRIV_S"])  # two holds leave 500 yuan free
    assert state(acc) == (bal, bal - free, free)

    def refused(mv, available=free):
        with pytest.raises(RuleViolation) as e, transaction.atomic():
            ledger.post(mv, maker=bank.om_a1)
        assert e.value.code == "insufficient_funds"
        assert e.value.params["available_fen"] == available and e.value.params["held_fen"] == bal - free

    refused(ledger.cash_withdrawal_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=free + 1))
    refused(ledger.internal_transfer_movement(actor=bank.om_a1, from_account_id=acc.pk, to_account_id=led.zhang_cny.pk,
                                              amount_fen=free + 1))
    # a batch: the first movement takes the free money, the second would touch held money and is rejected
    moves = [ledger.internal_transfer_movement(actor=bank.om_a1, from_account_id=acc.pk,
                                               to_account_id=led.zhang_cny.pk, amount_fen=free - CNY),
             ledger.internal_transfer_movement(actor=bank.om_a1, from_account_id=acc.pk,
                                               to_account_id=led.zhang_cny.pk, amount_fen=CNY + 1),
             ledger.internal_transfer_movement(actor=bank.om_a1, from_account_id=acc.pk,
                                               to_account_id=led.zhang_cny.pk, amount_fen=CNY)]
    result = batch.post_batch(moves, maker=bank.om_a1)
    assert [n for n, _e in result.posted] == [0, 2]
    assert [(n, e.code) for n, e in result.rejected] == [(1, "insufficient_funds")]
    assert state(acc) == (bal - free, bal - free, 0)  # exactly the free money left; every held fen still there
    refused(ledger.cash_withdrawal_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=1), available=0)
    # money coming in is not blocked, and becomes available
    with transaction.atomic():
        ledger.post(ledger.cash_deposit_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=300 * CNY),
                    maker=bank.om_a1)
    with transaction.atomic():
        ledger.post(ledger.cash_withdrawal_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=300 * CNY),
                    maker=bank.om_a1)
    assert state(acc) == (bal - free, bal - free, 0)
    assert holds_consistent() == [] and invariant_report() == ZERO


def test_a_hold_cannot_exceed_the_available_balance(w):
    bank, acc = w.bank, w.ledger.li_cny
    bal, _h, _a = state(acc)
    held_sale(w, w.li, acc, bal - 100_000 * CNY, w.products["PRIV_S"])
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["PRIV_S"].pk,
                              account_id=acc.pk, amount_fen=100_000 * CNY + CNY, customer_initiated=True)
    seq = audit_seq()
    with pytest.raises(RuleViolation) as e:
        services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    assert e.value.code == "insufficient_funds" and verbs_since(seq) == []
    s.refresh_from_db()
    assert s.status == Sale.Status.PROPOSED and not s.hold_ref
    assert state(acc) == (bal, bal - 100_000 * CNY, 100_000 * CNY)
    assert not AccountHold.objects.filter(ref=f"wealth.sale:{s.pk}").exists()
    # exactly the available amount can be held
    with transaction.atomic():
        h = ledger.hold_place(actor=bank.cm_a1, account_id=acc.pk, amount_fen=100_000 * CNY, currency="CNY",
                              purpose="测试", ref="test:exact")
    assert h.status == "active" and state(acc)[2] == 0
    with pytest.raises(ValidationFailed):
        ledger.hold_place(actor=bank.cm_a1, account_id=acc.pk, amount_fen=0, currency="CNY", purpose="测试",
                          ref="test:zero")
    with pytest.raises(RuleViolation) as e:
        ledger.hold_place(actor=bank.cm_a1, account_id=w.ledger.zhang_cny.pk, amount_fen=CNY, currency="USD",
                          purpose="测试", ref="test:usd")
    assert e.value.code == "currency_mismatch"
    box = w.ledger.box
    with pytest.raises(NotFound):  # only customer accounts take holds
        ledger.hold_place(actor=bank.cm_a1, account_id=box.pk, amount_fen=CNY, currency="CNY", purpose="测试",
                          ref="test:box")


def test_hold_place_is_idempotent_per_ref(w):
    bank, acc = w.bank, w.ledger.zhang_cny
    bal, held, _a = state(acc)
    seq = audit_seq()
    with transaction.atomic():
        h1 = ledger.hold_place(actor=bank.cm_a1, account_id=acc.pk, amount_fen=7_000 * CNY, currency="CNY",
                               purpose="测试", ref="test:idem")
    with transaction.atomic():
        h2 = ledger.hold_place(actor=bank.cm_a1, account_id=acc.pk, amount_fen=7_000 * CNY, currency="CNY",
                               purpose="测试", ref="test:idem")
    assert h1.pk == h2.pk and AccountHold.objects.filter(ref="test:idem").count() == 1
    assert state(acc)[:2] == (bal, held + 7_000 * CNY)
    assert verbs_since(seq) == ["ledger.hold_placed"]
    # a sale confirmed twice (a retried request) holds once: the second confirmation is refused by the sale's state
    s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["PRIV_S"].pk,
                              account_id=w.ledger.li_cny.pk, amount_fen=100_000 * CNY, customer_initiated=True)
    services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    with pytest.raises(RuleViolation) as e:
        services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    assert e.value.code == "sale_state"
    assert AccountHold.objects.filter(ref=f"wealth.sale:{s.pk}").count() == 1
    assert state(w.ledger.li_cny)[1] == 100_000 * CNY


@pytest.mark.parametrize("status", ["frozen", "dormant", "closed"])
def test_no_hold_on_a_frozen_dormant_or_closed_account(w, status):
    bank, led = w.bank, w.ledger
    acc = led.li_cny
    if status == "frozen":
        freeze(bank, acc)
        code = "account_frozen"
    elif status == "dormant":
        assert ledger.accounts_mark_dormant(today=timezone.localdate() + relativedelta(years=3)) >= 1
        code = "account_dormant"
    else:
        acc = ledger.account_open(actor=bank.om_a1, customer_id=w.li.pk,
                                  product_id=Product.objects.get(code="D-CNY").pk)
        assert ledger.account_close_request(actor=bank.om_a1, account_id=acc.pk, payout="cash")["status"] == "closed"
        code = "account_closed"
    acc.refresh_from_db()
    assert acc.status == status
    seq = audit_seq()
    with pytest.raises(RuleViolation) as e:
        ledger.hold_place(actor=bank.cm_a1, account_id=acc.pk, amount_fen=CNY, currency="CNY", purpose="测试",
                          ref=f"test:{status}")
    assert e.value.code == code
    # and through the sale: the confirmation is refused with the same code, nothing held, nothing recorded
    if status != "closed":
        s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["PRIV_S"].pk,
                                  account_id=acc.pk, amount_fen=100_000 * CNY, customer_initiated=True)
        seq = audit_seq()
        with pytest.raises(RuleViolation) as e:
            services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
        assert e.value.code == code and verbs_since(seq) == []
        s.refresh_from_db()
        assert s.status == Sale.Status.PROPOSED
    assert verbs_since(seq) == [] and not AccountHold.objects.exists()
    acc.refresh_from_db()
    assert acc.held_fen == 0


def test_an_account_with_a_hold_cannot_be_closed_and_its_hold_survives_a_freeze(w):
    bank, acc = w.bank, w.ledger.li_cny
    s = held_sale(w, w.li, acc, 100_000 * CNY, w.products["PRIV_S"])
    bal, held, _a = state(acc)
    with pytest.raises(RuleViolation) as e:  # refused when asked, naming the held money
        ledger.account_close_request(actor=bank.om_a1, account_id=acc.pk, payout="cash", reason="客户申请销户")
    assert e.value.code == "account_has_holds"
    acc.refresh_from_db()
    assert acc.status == "active" and state(acc)[:2] == (bal, held)
    freeze(bank, acc)
    assert state(acc)[:2] == (bal, held) and AccountHold.objects.get(ref=s.hold_ref).status == "active"
    # a frozen account's hold may still be released (the customer cancels): nothing leaves the account
    services.sale_cancel(actor=bank.cm_a1, sale_id=s.pk, reason="客户冷静期内申请撤销")
    assert state(acc)[:2] == (bal, 0)


def test_a_hold_placed_while_closing_waits_for_approval_fails_the_closing(w):
    from tests.wealth_helpers import approve

    bank, acc = w.bank, w.ledger.li_cny
    r = ledger.account_close_request(actor=bank.om_a1, account_id=acc.pk, payout="cash", reason="客户申请销户")
    held_sale(w, w.li, acc, 100_000 * CNY, w.products["PRIV_S"])
    bal, held, _a = state(acc)
    pa = approve(bank, r, bank.supervisor_a)
    assert pa.status == "failed" and pa.result["error"]["code"] == "insufficient_funds"
    acc.refresh_from_db()
    assert acc.status == "active" and state(acc)[:2] == (bal, held)


def test_capture_posts_exactly_the_held_amount_once(w):
    bank, acc = w.bank, w.ledger.zhang_cny
    bal, held, _a = state(acc)
    clearing = ledger.internal_account_id(Account.Internal.WEALTH, "CNY")
    clearing_before = Account.objects.get(pk=clearing).balance_fen
    with transaction.atomic():
        ledger.hold_place(actor=bank.cm_a1, account_id=acc.pk, amount_fen=12_345_67, currency="CNY", purpose="测试",
                          ref="test:capture")
    seq = audit_seq()
    with transaction.atomic():
        entry = ledger.hold_capture(actor=bank.cm_a1, ref="test:capture", credit_id=clearing,
                                    kind=JournalEntry.Kind.WEALTH_BUY, memo="测试扣划")
    assert entry.amount_fen == 12_345_67 and entry.debit_account_id == acc.pk and entry.credit_account_id == clearing
    assert state(acc)[:2] == (bal - 12_345_67, held)
    assert Account.objects.get(pk=clearing).balance_fen - clearing_before == 12_345_67
    hold = AccountHold.objects.get(ref="test:capture")
    assert hold.status == "captured" and hold.entry_id == entry.pk
    assert "ledger.hold_captured" in verbs_since(seq)
    for again in (lambda: ledger.hold_capture(actor=bank.cm_a1, ref="test:capture", credit_id=clearing,
                                              kind=JournalEntry.Kind.WEALTH_BUY),
                  lambda: ledger.hold_release(actor=bank.cm_a1, ref="test:capture", reason="再次")):
        with pytest.raises(RuleViolation) as e, transaction.atomic():
            again()
        assert e.value.code == "hold_not_active"
    with pytest.raises(NotFound):
        ledger.hold_release(actor=bank.cm_a1, ref="test:none", reason="无")
    assert state(acc)[:2] == (bal - 12_345_67, held)
    assert holds_consistent() == [] and invariant_report() == ZERO


def test_a_failed_capture_changes_nothing(w):
    """A capture refused by the posting rules (a frozen account) rolls back with its transaction: the hold is still
    active and counted, no entry."""
    bank, acc = w.bank, w.ledger.li_cny
    with transaction.atomic():
        ledger.hold_place(actor=bank.cm_a1, account_id=acc.pk, amount_fen=1_000 * CNY, currency="CNY", purpose="测试",
                          ref="test:fail")
    freeze(bank, acc)
    before = state(acc)
    entries = JournalEntry.objects.count()
    with pytest.raises(RuleViolation) as e, transaction.atomic():
        ledger.hold_capture(actor=None, ref="test:fail", credit_id=ledger.internal_account_id("wealth", "CNY"),
                            kind=JournalEntry.Kind.WEALTH_BUY)
    assert e.value.code == "account_frozen"
    assert state(acc) == before and JournalEntry.objects.count() == entries
    assert AccountHold.objects.get(ref="test:fail").status == "active"
    assert holds_consistent() == []
