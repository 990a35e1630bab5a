"""Batch posting (bankcrm.ledger.batch): the same outcome as services.post row by row, written in bulk per chunk."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from bankcrm.core import audit, outbox
from bankcrm.core.errors import DomainError
from bankcrm.core.models import AuditEvent, OutboxEvent
from bankcrm.ledger import batch, selectors, services
from bankcrm.ledger.models import Account, DailyDebit, JournalEntry, LimitRule, Posting, Product
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.django_db
K = JournalEntry.Kind


@pytest.fixture
def led(bank):
    return build_ledger(bank)


def _scenario(led):
    """Movements that pass, and movements refused by each rule, several depending on the rows before them."""
    bank = led.bank
    LimitRule.objects.filter(channel="counter", customer_kind="person").update(per_txn_fen=3_000_000, per_day_fen=5_000_000)
    demand, usd = Product.objects.get(code="D-CNY"), Product.objects.get(code="D-USD")
    li_frozen = services.account_open(actor=bank.om_a1, customer_id=led.li.pk, product_id=demand.pk)
    li_closed = services.account_open(actor=bank.om_a1, customer_id=led.li.pk, product_id=demand.pk)
    wang_usd = services.account_open(actor=bank.om_b1, customer_id=led.wang.pk, product_id=usd.pk)
    fund(led.zhang_cny, 9_000_000, teller=bank.om_a1)
    fund(led.li_cny, 4_000_000, teller=bank.om_a1)
    fund(li_frozen, 500_000, teller=bank.om_a1)
    Account.objects.filter(pk=li_frozen.pk).update(status=Account.Status.FROZEN)
    Account.objects.filter(pk=li_closed.pk).update(status=Account.Status.CLOSED)
    z, li, w, box = led.zhang_cny.pk, led.li_cny.pk, led.wang_cny.pk, led.box.pk

    clearing = services.internal_account_id(Account.Internal.CLEARING, "CNY")

    def mv(debit, credit, amount, kind=K.INTERNAL, currency="CNY", channel="counter", **more):
        return services.Movement(kind=kind, amount_fen=amount, currency=currency, debit_id=debit, credit_id=credit,
                                 channel=channel, memo="批量", **more)

    movements = [
        mv(z, li, 3_000_000),                 # posted
        mv(z, li, 3_000_001),                 # over the per-transaction limit
        mv(z, w, 2_000_000),                  # posted: the day's debits of zhang reach 5,000,000
        mv(z, li, 1),                         # over the daily limit (counted from the rows above)
        mv(li, z, 0),                         # amount not positive
        mv(li, li, 100),                      # same account
        mv(li, 999_999_999, 100),             # no such account
        mv(li, wang_usd.pk, 100),             # currency mismatch
        mv(li_frozen.pk, li, 100),            # a frozen account cannot be debited
        mv(li, li_frozen.pk, 100),            # … but can be credited
        mv(li, li_closed.pk, 100),            # closed
        mv(li, w, 6_999_901),                 # li has 6,999,900 now: insufficient funds
        mv(li, w, 2_999_900),                 # posted (li's day: 100 + 2,999,900)
        mv(li, box, 500_000, K.CASH_WITHDRAWAL),  # posted (li's day: 3,500,000)
        mv(li, w, 1_600_000, channel="api"),  # another channel, its own limits and day total: posted
        mv(li, w, 1_600_000),                 # counter: 3,500,000 + 1,600,000 is over li's daily limit
        mv(box, w, 200, K.CASH_DEPOSIT),      # posted
        mv(w, z, 10),                         # posted: credits do not count against zhang's limits
        mv(z, w, 1),                          # still over zhang's daily limit
        mv(w, clearing, 1_000, K.OUTWARD, counterparty_bank="招商银行", counterparty_name="赵六",
           counterparty_account="6225880212345678", cross_border=False),  # posted; the account number is encrypted
    ]
    return movements, [z, li, w, box, li_frozen.pk, li_closed.pk, wang_usd.pk, clearing]


def _outcomes_row_by_row(movements, maker) -> list:
    out = []
    for mv in movements:
        try:
            with transaction.atomic():
                services.post(mv, maker=maker)
            out.append("posted")
        except DomainError as e:
            out.append(e.code)
    return out


def _state(accounts, entry_mark: int, event_mark: int, since) -> dict:
    """What posting left behind, without ids that differ between runs."""
    entries = list(JournalEntry.objects.filter(pk__gt=entry_mark).order_by("pk"))
    legs = {e.pk: [] for e in entries}
    order = {e.pk: n for n, e in enumerate(entries)}
    postings = list(Posting.objects.filter(entry_id__in=legs).order_by("pk"))  # id order is posting order
    for p in postings:
        legs[p.entry_id].append((p.account_id, p.side, p.amount_fen, p.balance_after_fen, p.business_date))
    payloads = [{k: v for k, v in e.payload.items() if k not in ("entry_id", "request_id")}
                for e in OutboxEvent.objects.filter(pk__gt=event_mark, topic=services.TOPIC_POSTED).order_by("pk")]
    return {
        "balances": dict(Account.objects.filter(pk__in=accounts).values_list("pk", "balance_fen")),
        "active": set(Account.objects.filter(pk__in=accounts, last_activity_at__gte=since).values_list("pk", flat=True)),
        "entries": [(e.kind, e.channel, e.amount_fen, e.debit_account_id, e.credit_account_id, e.customer_id,
                     e.branch_path, e.maker_id, e.memo, e.counterparty_bank, e.counterparty_name,
                     e.counterparty_account, e.cross_border, legs[e.pk]) for e in entries],
        "posting_order": [order[p.entry_id] for p in postings],
        "daily": sorted(DailyDebit.objects.values_list("account_id", "business_date", "channel", "total_fen")),
        "events": payloads,
    }


def _both_ways(led, chunk_size: int):
    """Post the scenario row by row through services.post (then roll it back), then as a batch; return both."""
    movements, accounts = _scenario(led)
    maker = led.bank.om_a1
    entry_mark = JournalEntry.objects.order_by("-pk").values_list("pk", flat=True).first()
    event_mark = OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    since = timezone.now()

    sid = transaction.savepoint()
    expected_outcomes = _outcomes_row_by_row(movements, maker)
    expected = _state(accounts, entry_mark, event_mark, since)
    transaction.savepoint_rollback(sid)

    result = batch.post_batch(movements, maker=maker, chunk_size=chunk_size)
    outcomes = ["posted"] * len(movements)
    for n, error in result.rejected:
        outcomes[n] = error.code
    return result, outcomes, expected_outcomes, _state(accounts, entry_mark, event_mark, since), expected


@pytest.mark.parametrize("chunk_size", [1, 4, 500])
def test_batch_posts_exactly_what_row_by_row_posting_does(led, chunk_size):
    result, outcomes, expected_outcomes, state, expected = _both_ways(led, chunk_size)
    assert outcomes == expected_outcomes
    assert set(expected_outcomes) == {"posted", "limit_per_transaction", "limit_per_day", "amount_not_positive",
                                      "same_account", "account_not_found", "currency_mismatch", "account_frozen",
                                      "account_closed", "insufficient_funds"}
    assert [n for n, _e in result.posted] == [n for n, o in enumerate(outcomes) if o == "posted"]
    assert state == expected
    outward = JournalEntry.objects.get(pk=result.posted[-1][1])
    assert outward.counterparty_account == "6225880212345678"
    with connection.cursor() as cur:
        cur.execute("SELECT counterparty_account FROM ledger_journalentry WHERE id = %s", [outward.pk])
        assert "6225880212345678" not in cur.fetchone()[0]  # ciphertext at rest
    assert selectors.invariant_report() == {"total_drift": 0, "balance_mismatches": 0, "negative_balances": 0,
                                            "unbalanced_entries": 0, "entries_without_postings": 0}
    while outbox.consume("audit_sealer"):
        pass
    assert audit.verify_chain().ok
    sealed = set(AuditEvent.objects.filter(verb="ledger.entry_posted").values_list("target_id", flat=True))
    assert {str(pk) for _n, pk in result.posted} <= sealed


@pytest.mark.parametrize("broken", ["no_running_day_total", "no_daily_debit_write", "no_running_balance"])
def test_the_comparison_catches_a_broken_batch(led, monkeypatch, broken):
    """A test that cannot fail proves nothing: each broken variant must be told apart from row-by-row posting."""
    if broken == "no_running_day_total":  # every row checked against the day's total as it was before the chunk
        real = batch._apply

        def forgetful(mv, state, today):
            saved = dict(state.day_total)
            out = real(mv, state, today)
            state.day_total = saved
            return out

        monkeypatch.setattr(batch, "_apply", forgetful)
    elif broken == "no_daily_debit_write":
        monkeypatch.setattr(batch, "_add_daily_debits", lambda state, today: None)
    else:  # every row checked against the balance as it was before the chunk
        real = batch._apply

        def stale(mv, state, today):
            saved = dict(state.balance)
            out = real(mv, state, today)
            state.balance = saved | {k: v for k, v in state.balance.items() if k not in saved}
            return out

        monkeypatch.setattr(batch, "_apply", stale)
    _result, outcomes, expected_outcomes, state, expected = _both_ways(led, 500)
    assert (outcomes, state) != (expected_outcomes, expected)


def test_batch_refuses_reversals_and_writes_nothing_for_a_chunk_of_refusals(led):
    fund(led.zhang_cny, 1_000_000, teller=led.bank.om_a1)
    entry = JournalEntry.objects.filter(credit_account=led.zhang_cny).latest("pk")
    before = (JournalEntry.objects.count(), Posting.objects.count(), OutboxEvent.objects.count())
    reversal = services.Movement(kind=K.REVERSAL, amount_fen=entry.amount_fen, currency="CNY",
                                 debit_id=entry.credit_account_id, credit_id=entry.debit_account_id,
                                 reversal_of_id=entry.pk)
    too_much = services.Movement(kind=K.INTERNAL, amount_fen=2_000_000, currency="CNY", debit_id=led.zhang_cny.pk,
                                 credit_id=led.li_cny.pk)
    result = batch.post_batch([reversal, too_much], maker=led.bank.om_a1)
    assert [e.code for _n, e in result.rejected] == ["reversal_not_in_batch", "insufficient_funds"]
    assert result.posted == []
    assert (JournalEntry.objects.count(), Posting.objects.count(), OutboxEvent.objects.count()) == before
