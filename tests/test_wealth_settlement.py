"""R14 for the wealth settlement job (QUALITY.md; issue #6 "a settlement job killed and resumed settles each sale
once"): 200 private sales held through their cooling-off period are settled by `services.settle_due`, which is killed
part-way again and again and resumed. Every sale must end settled exactly once — one capture entry each, its hold
captured, holdings equal to the sum of the sales' units, one return visit and one ``wealth.sold`` event per sale,
the ledger's invariants intact — and a second run must change nothing.

A kill is an exception raised inside a sale's transaction at a random point (before the capture, after the posting,
after the holding grew, before the event): the transaction never commits, as when the process dies. On PostgreSQL
the job also runs in a real process that is SIGKILLed mid-run. Plus: a sale whose account was frozen after
confirmation waits (its refusal kept on it) and settles once the account is unfrozen; and a cancellation racing a
settlement on PostgreSQL — exactly one of them wins."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from bankcrm.core.errors import RuleViolation
from bankcrm.core.models import OutboxEvent
from bankcrm.core.transactions import entrypoint
from bankcrm.ledger import services as ledger
from bankcrm.ledger.models import Account, AccountHold, JournalEntry
from bankcrm.ledger.selectors import invariant_report
from bankcrm.wealth import rules, services
from bankcrm.wealth.models import Holding, ReturnVisit, Sale
from tests.conftest import write_figures
from tests.wealth_helpers import CNY, build_wealth, freeze, held_sale, holds_consistent, product, qualify

N_SALES = 200
KILLS = 20
N_SIGKILL = 80  # sales in the PostgreSQL test whose settling process is SIGKILLed (it pays for the set-up twice)
NAV = 10_234  # 1.0234
FEE_BP = 80   # 0.8 % subscription fee


class Killed(Exception):
    """The process dying in the middle of a sale's settlement."""


def world(bank, n: int = N_SALES):
    """The shelf, two qualified customers and ``n`` held private sales of varied amounts (cooling off)."""
    w = build_wealth(bank)
    qualify(bank, w.li)
    qualify(bank, w.zhang)
    p = product(bank, "PE-R14", level=3, private=True, min_amount_fen=10_000 * CNY, step_fen=CNY,
                subscribe_fee_bp=FEE_BP)
    services.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=timezone.localdate(), nav_x10000=NAV)
    w.products["R14"] = p
    rng = random.Random(614)
    accounts = [(w.zhang, w.ledger.zhang_cny), (w.li, w.ledger.li_cny)]
    w.sales = []
    for i in range(n):
        customer, acc = accounts[i % 2]
        amount = 10_000 * CNY + rng.randint(0, 3_000) * CNY  # whole yuan (the step is 1 yuan)
        w.sales.append(held_sale(w, customer, acc, amount, p))
    w.initial = {a.pk: Account.objects.get(pk=a.pk).balance_fen for _c, a in accounts}
    w.later = max(s.cooling_off_ends_at for s in w.sales) + timedelta(seconds=1)
    return w


def outcome(w) -> dict:
    """What the settlement produced, per sale and in total, and every way it could have gone wrong."""
    ids = [s.pk for s in w.sales]
    sales = {s.pk: s for s in Sale.objects.filter(pk__in=ids).select_related("entry")}
    holds = {h.ref: h for h in AccountHold.objects.filter(ref__in=[s.hold_ref for s in sales.values()])}
    entries = list(JournalEntry.objects.filter(kind=JournalEntry.Kind.WEALTH_BUY).values_list("pk", "debit_account_id",
                                                                                            "amount_fen"))
    sold = Counter(e["sale_id"] for e in OutboxEvent.objects.filter(topic=services.TOPIC_SOLD).values_list("payload",
                                                                                                        flat=True))
    visits = Counter(ReturnVisit.objects.filter(sale_id__in=ids).values_list("sale_id", flat=True))
    bad_sales = []
    for s in sales.values():
        h = holds.get(s.hold_ref)
        want_units = rules.units_for(s.amount_fen - rules.fee(s.amount_fen, FEE_BP), NAV)
        ok = (s.status == Sale.Status.SETTLED and s.entry_id and s.entry.amount_fen == s.amount_fen
              and s.entry.debit_account_id == s.account_id and s.units_x100 == want_units and s.nav_x10000 == NAV
              and s.settle_error == "" and h is not None and h.status == "captured" and h.entry_id == s.entry_id
              and visits[s.pk] == 1 and sold[s.pk] == 1 and s.settled_at >= s.cooling_off_ends_at)
        if not ok:
            bad_sales.append(s.number)
    holdings = {(h.customer_id, h.product_id): (h.units_x100, h.cost_fen, h.status)
                for h in Holding.objects.filter(product=w.products["R14"])}
    want_holdings: dict = {}
    for s in sales.values():
        u, c, _st = want_holdings.get((s.customer_id, s.product_id), (0, 0, "active"))
        want_holdings[(s.customer_id, s.product_id)] = (
            u + rules.units_for(s.amount_fen - rules.fee(s.amount_fen, FEE_BP), NAV), c + s.amount_fen, "active")
    balances_off = 0
    for acc_id, initial in w.initial.items():
        paid = sum(s.amount_fen for s in sales.values() if s.account_id == acc_id)
        acc = Account.objects.get(pk=acc_id)
        balances_off += int(acc.balance_fen != initial - paid or acc.held_fen != 0)
    entry_per_sale = Counter(e for e in (s.entry_id for s in sales.values()) if e)
    return {
        "sales": len(sales),
        "settled": sum(1 for s in sales.values() if s.status == Sale.Status.SETTLED),
        "bad_sales": bad_sales,
        "buy_entries": len(entries),
        "duplicate_entries": len(entries) - len(sales) + sum(n - 1 for n in entry_per_sale.values()),
        "duplicate_events": sum(n - 1 for n in sold.values() if n > 1),
        "duplicate_visits": sum(n - 1 for n in visits.values() if n > 1),
        "holdings_ok": holdings == want_holdings,
        "active_holds": AccountHold.objects.filter(status="active").count(),
        "held_mismatch": len(holds_consistent()),
        "balances_off": balances_off,
        "invariants": invariant_report(),
    }


def fingerprint() -> tuple:
    return (list(Sale.objects.order_by("pk").values_list("pk", "status", "entry_id", "units_x100", "settle_error")),
            list(Holding.objects.order_by("pk").values_list("pk", "units_x100", "cost_fen", "status")),
            JournalEntry.objects.count(), OutboxEvent.objects.count(), ReturnVisit.objects.count(),
            list(Account.objects.order_by("pk").values_list("pk", "balance_fen", "held_fen")))


def clean(o: dict, n: int = N_SALES) -> bool:
    return (o["settled"] == o["sales"] == n and not o["bad_sales"] and o["duplicate_entries"] == 0
            and o["duplicate_events"] == 0 and o["duplicate_visits"] == 0 and o["holdings_ok"]
            and o["active_holds"] == 0 and o["held_mismatch"] == 0 and o["balances_off"] == 0
            and not any(o["invariants"].values()))


@pytest.mark.django_db
def test_r14_settlement_killed_20_times_settles_each_sale_once(bank, monkeypatch):
    w = world(bank)
    assert services.settle_due(now=w.later - timedelta(hours=25)) == 0  # nobody's cooling-off has ended yet
    rng = random.Random(14)
    budget = {"left": -1}

    def dying(real):
        def wrapper(*a, **kw):
            if budget["left"] == 0:
                raise Killed()
            if budget["left"] > 0:
                budget["left"] -= 1
            return real(*a, **kw)
        return wrapper

    # the points a kill may fall on, in the order a settlement reaches them
    monkeypatch.setattr(ledger, "hold_capture", dying(ledger.hold_capture))           # before the capture
    monkeypatch.setattr(ledger.outbox, "publish", dying(ledger.outbox.publish))       # after the posting / at the end
    monkeypatch.setattr(services, "_return_visit_create", dying(services._return_visit_create))  # after the holding
    kills = 0
    for _ in range(KILLS):
        budget["left"] = rng.randint(0, 40)
        with pytest.raises(Killed):
            services.settle_due(now=w.later, batch=rng.choice([7, 50, 500]))
        kills += 1
    part = Sale.objects.filter(pk__in=[s.pk for s in w.sales], status=Sale.Status.SETTLED).count()
    assert 0 < part < N_SALES, part  # it really stopped part-way, more than once
    assert holds_consistent() == [] and not any(invariant_report().values())
    budget["left"] = -1  # no more deaths
    resumed = services.settle_due(now=w.later)
    o = outcome(w)
    before = fingerprint()
    second = services.settle_due(now=w.later)
    changed = int(fingerprint() != before)
    write_figures("R14", clean(o) and second == 0 and changed == 0, wealth_sales=N_SALES, wealth_kills=kills,
                  wealth_settled_before_resume=part, wealth_settled_on_resume=resumed,
                  wealth_duplicate_entries=o["duplicate_entries"], wealth_duplicate_events=o["duplicate_events"],
                  wealth_bad_sales=len(o["bad_sales"]), wealth_second_run_changes=second + changed)
    assert part + resumed == N_SALES
    assert clean(o), o
    assert second == 0 and changed == 0


@pytest.mark.django_db
def test_r14_outcome_check_catches_a_double_settlement(bank):
    """The check above can fail: a sale paid twice, a hold left active, holdings off — each is reported."""
    w = build_wealth(bank)
    qualify(bank, w.li)
    p = product(bank, "PE-R14", level=3, private=True, min_amount_fen=10_000 * CNY, step_fen=CNY,
                subscribe_fee_bp=FEE_BP)
    services.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=timezone.localdate(), nav_x10000=NAV)
    w.products["R14"] = p
    w.sales = [held_sale(w, w.li, w.ledger.li_cny, 10_000 * CNY, p) for _ in range(3)]
    w.initial = {w.ledger.li_cny.pk: Account.objects.get(pk=w.ledger.li_cny.pk).balance_fen}
    w.later = w.sales[-1].cooling_off_ends_at + timedelta(seconds=1)
    assert services.settle_due(now=w.later) == 3
    o = outcome(w)
    assert not o["bad_sales"] and o["duplicate_entries"] == 0 and o["holdings_ok"] and o["balances_off"] == 0
    s = w.sales[0]
    with transaction.atomic():  # the naive job's mistake: paying the same sale again
        ledger.post(ledger.Movement(kind=JournalEntry.Kind.WEALTH_BUY, amount_fen=s.amount_fen, currency="CNY",
                                    debit_id=s.account_id, credit_id=ledger.internal_account_id("wealth", "CNY")),
                    maker=None)
        Holding.objects.filter(product=p).update(units_x100=1)
    o = outcome(w)
    assert o["duplicate_entries"] == 1 and o["balances_off"] == 1 and not o["holdings_ok"]


@pytest.mark.django_db
def test_frozen_account_waits_keeps_the_reason_and_settles_after_unfreezing(bank):
    w = build_wealth(bank)
    qualify(bank, w.li)
    acc = w.ledger.li_cny
    s = held_sale(w, w.li, acc, 1_000_000 * CNY)
    freeze(bank, acc)
    later = s.cooling_off_ends_at + timedelta(minutes=1)
    entries = JournalEntry.objects.count()
    for _ in range(2):  # retried on every run, refused every time
        assert services.settle_due(now=later) == 0
        s.refresh_from_db()
        assert s.status == Sale.Status.HELD and "冻结" in s.settle_error and s.entry_id is None
    assert JournalEntry.objects.count() == entries and not Holding.objects.filter(customer=w.li).exists()
    assert AccountHold.objects.get(ref=s.hold_ref).status == "active" and holds_consistent() == []
    assert not ReturnVisit.objects.filter(sale=s).exists()
    freeze(bank, acc, unfreeze=True)
    assert services.settle_due(now=later) == 1
    s.refresh_from_db()
    assert s.status == Sale.Status.SETTLED and s.settle_error == "" and s.entry_id
    assert Holding.objects.get(customer=w.li, product=s.product).units_x100 == s.units_x100
    assert services.settle_due(now=later) == 0
    assert holds_consistent() == [] and not any(invariant_report().values())


@pytest.mark.django_db
def test_settle_one_sale_respects_state_and_cooling_off(bank):
    w = build_wealth(bank)
    qualify(bank, w.li)
    s = held_sale(w, w.li, w.ledger.li_cny, 1_000_000 * CNY)
    assert services.sale_settle(sale_id=s.pk, now=s.cooling_off_ends_at - timedelta(seconds=1)) is False
    assert services.sale_settle(sale_id=10**9) is False
    assert services.sale_settle(sale_id=s.pk, now=s.cooling_off_ends_at) is True  # the end itself counts
    assert services.sale_settle(sale_id=s.pk, now=s.cooling_off_ends_at) is False
    s.refresh_from_db()
    assert s.status == Sale.Status.SETTLED and s.settled_at == s.cooling_off_ends_at


# ---- PostgreSQL: a real process killed -------------------------------------------------------------------------------
def _settled(ids) -> int:
    return Sale.objects.filter(pk__in=ids, status=Sale.Status.SETTLED).count()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_r14_settlement_process_sigkilled_and_resumed(bank):
    from tests.workers_wealth import settle_due

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a real process with its own connection")
    w = world(bank, N_SIGKILL)
    ids = [s.pk for s in w.sales]
    ctx = multiprocessing.get_context("spawn")
    db, keys = connection.settings_dict["NAME"], str(settings.BANKCRM_KEYS_FILE)
    kills, procs = [], []
    try:
        for target in (8, 25, 45, 60):  # kill each run once it has settled this many in all
            p = ctx.Process(target=settle_due, args=(db, keys, w.later.isoformat(), 0.005))
            procs.append(p)
            p.start()
            t0 = time.monotonic()
            while _settled(ids) < target and p.is_alive():
                assert time.monotonic() - t0 < 120, "settlement worker made no progress"
                time.sleep(0.02)
            assert p.is_alive(), "the worker finished before it could be killed"
            os.kill(p.pid, signal.SIGKILL)
            p.join(10)
            kills.append(_settled(ids))
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(10)
    assert all(0 < k < N_SIGKILL for k in kills) and kills == sorted(kills)
    resumed = services.settle_due(now=w.later)
    o = outcome(w)
    before = fingerprint()
    second = services.settle_due(now=w.later)
    changed = int(fingerprint() != before)
    write_figures("R14", clean(o, N_SIGKILL) and second == 0 and changed == 0, wealth_sigkills=len(kills),
                  wealth_settled_at_kills=kills, wealth_resumed_after_sigkill=resumed,
                  wealth_sigkill_duplicate_entries=o["duplicate_entries"])
    assert kills[-1] + resumed == N_SIGKILL
    assert clean(o, N_SIGKILL), o
    assert second == 0 and changed == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_cancel_racing_settlement_exactly_one_wins(bank):
    """Two connections at once on each sale: the customer cancels (still in cooling-off by the wall clock) while the
    job settles it (its clock past the end). The sale's row lock decides; the loser is refused or does nothing."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    w = build_wealth(bank)
    qualify(bank, w.li)
    p = product(bank, "PE-RACE", level=3, private=True, min_amount_fen=10_000 * CNY, step_fen=CNY)
    sales = [held_sale(w, w.li, w.ledger.li_cny, 10_000 * CNY + i * CNY, p) for i in range(12)]
    later = max(s.cooling_off_ends_at for s in sales) + timedelta(seconds=1)
    results: dict[int, dict[str, object]] = {s.pk: {} for s in sales}
    errors: list[BaseException] = []

    def run(kind, sale, barrier, delay):
        from django.db import connection as conn

        try:
            barrier.wait(30)
            time.sleep(delay)
            if kind == "cancel":
                try:
                    entrypoint(services.sale_cancel)(actor=bank.cm_a1, sale_id=sale.pk, reason="客户冷静期内申请撤销")
                    results[sale.pk]["cancel"] = True
                except RuleViolation as e:
                    results[sale.pk]["cancel"] = e.code
            else:
                results[sale.pk]["settle"] = services.sale_settle(sale_id=sale.pk, now=later)
        except BaseException as e:  # surfaced below
            errors.append(e)
        finally:
            conn.close()

    for i, s in enumerate(sales):
        barrier = threading.Barrier(2)
        first, second = (0.0, 0.01) if i % 3 == 0 else (0.01, 0.0) if i % 3 == 1 else (0.0, 0.0)
        threads = [threading.Thread(target=run, args=("cancel", s, barrier, first)),
                   threading.Thread(target=run, args=("settle", s, barrier, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors, errors
    both = neither = 0
    for s in sales:
        r = results[s.pk]
        s.refresh_from_db()
        hold = AccountHold.objects.get(ref=s.hold_ref)
        cancelled, settled = r["cancel"] is True, r["settle"] is True
        both += cancelled and settled
        neither += not cancelled and not settled
        if cancelled:
            assert r["settle"] is False and s.status == Sale.Status.CANCELLED and hold.status == "released"
            assert s.entry_id is None and not ReturnVisit.objects.filter(sale=s).exists()
        if settled:
            assert r["cancel"] == "sale_state" and s.status == Sale.Status.SETTLED and hold.status == "captured"
    wins = Counter("cancel" if results[s.pk]["cancel"] is True else "settle" for s in sales)
    write_figures("R14", both == neither == 0, wealth_race_pairs=len(sales), wealth_race_both_won=both,
                  wealth_race_cancel_wins=wins["cancel"], wealth_race_settle_wins=wins["settle"])
    assert both == 0 and neither == 0
    paid = Sale.objects.filter(pk__in=[s.pk for s in sales], status=Sale.Status.SETTLED).aggregate(t=Sum("amount_fen"))
    acc = Account.objects.get(pk=w.ledger.li_cny.pk)
    assert acc.held_fen == 0 and holds_consistent() == [] and not any(invariant_report().values())
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.WEALTH_BUY).aggregate(t=Sum("amount_fen"))["t"] == paid["t"]
