"""R1 — the bank invariant under concurrency; R2 — the same workload under faults (QUALITY.md).

R1 (after Jepsen's `bank` workload): 8 OS processes (multiprocessing 'spawn', each its own PostgreSQL connection)
× 300 random transfers among 8 hot customer accounts through the service layer (`internal_transfer_movement` +
`movement_request` → `post`, one durable transaction each), amounts below the approval threshold so they post at
once, some larger than the balance (refused with `insufficient_funds`). A reader process sums the 8 balances again
and again meanwhile: the sum must never change. Then the ledger is reconciled (`selectors.invariant_report()` plus
the posting chain, the legs of every entry, one outbox event per entry) and each account's balance against the
transfers the clients saw posted. A broken variant (balances read without their row locks) must be caught.

R2: the same workload through `idempotency.run` (one key per transfer) while the parent terminates random busy
client connections (`pg_terminate_backend`) and SIGKILLs two clients mid-run (started again, they replay their
plan with the same keys). A client records a transfer as acknowledged only after `run` returned. Every acknowledged
key must have exactly one journal entry; nothing acknowledged may be lost; nothing may post twice.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import random
import signal
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from bankcrm.core.models import IdempotencyRecord
from bankcrm.ledger import services
from bankcrm.ledger.models import Account, JournalEntry, LimitRule, Product
from tests.conftest import write_figures
from tests.ledger_helpers import build_ledger, fund

PROCESSES = 8
TRANSFERS = 300
HOT = 8
INITIAL_FEN = 2_000_000          # ¥20,000 on each hot account
THRESHOLD_FEN = 5_000_000        # ¥50,000: at or above it a transfer waits for a checker (approvals threshold)
SEED = 20240601

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections, row locks, pg_terminate_backend")


# ---- Set-up ------------------------------------------------------------------------------------------------------
def hot_accounts(bank) -> tuple[list[int], dict[int, int], int]:
    """8 funded demand accounts (6 in sub-branch A1, 2 in B1); each is debited by an operations manager of its own
    branch. The per-day debit limit is lifted: 300 debits a day per account would otherwise hit it, and limits are
    not what this test is about (the per-transaction limit stays)."""
    led = build_ledger(bank)
    LimitRule.objects.update(per_day_fen=10**13)
    demand = Product.objects.get(code="D-CNY")
    accounts = [led.zhang_cny, led.li_cny, led.wang_cny]
    for customer, teller in ((led.zhang, bank.om_a1), (led.li, bank.om_a1), (led.zhang, bank.om_a1),
                             (led.li, bank.om_a1), (led.wang, bank.om_b1)):
        accounts.append(services.account_open(actor=teller, customer_id=customer.pk, product_id=demand.pk))
    actor_of = {}
    for acc in accounts:
        teller = bank.om_b1 if acc.branch_id == bank.b1.pk else bank.om_a1
        fund(acc, INITIAL_FEN, teller=teller)
        actor_of[acc.pk] = teller.pk
    ids = sorted(actor_of)
    assert len(ids) == HOT
    return ids, actor_of, _hot_total(ids)


def _hot_total(ids: list[int]) -> int:
    return sum(Account.objects.filter(id__in=ids).values_list("balance_fen", flat=True))


def make_plan(ids: list[int], idx: int, n: int, token: str) -> list[tuple[str, int, int, int]]:
    """Transfers of client ``idx``: (idempotency key, from, to, amount). Most amounts are modest, one in five is
    large (up to just under the approval threshold), so a fair share exceed the sender's balance."""
    rng = random.Random(SEED * 100 + idx)
    plan = []
    for i in range(n):
        src, dst = rng.sample(ids, 2)
        amount = rng.randint(1, 1_500_000) if rng.random() < 0.8 else rng.randint(1_500_000, THRESHOLD_FEN - 1)
        plan.append((f"bank-{token}-{idx}-{i:04d}", src, dst, amount))
    return plan


def _db() -> tuple[str, str]:
    return connection.settings_dict["NAME"], str(settings.BANKCRM_KEYS_FILE)


def _reader_result(results) -> dict:
    while True:
        who, summary = results.get(timeout=30)
        if who == "reader":
            return summary


def _stop_all(procs) -> None:
    """Make sure no process started by this test outlives it (they hold connections to the test database)."""
    for p in procs:
        if p.is_alive():
            p.kill()
        p.join(10)


def reconcile(ids: list[int], initial: dict[int, int], posted: list[tuple[int, int, int, int]]) -> int:
    """Accounts whose balance differs from its initial balance plus the transfers the clients saw posted."""
    expected = dict(initial)
    for _entry, src, dst, amount in posted:
        expected[src] -= amount
        expected[dst] += amount
    actual = dict(Account.objects.filter(id__in=ids).values_list("id", "balance_fen"))
    return sum(1 for i in ids if actual[i] != expected[i])


def ledger_figures() -> dict[str, int]:
    from tests.workers import ledger_checks

    return ledger_checks()


# ---- R1 ----------------------------------------------------------------------------------------------------------
def bank_workload(bank, *, processes: int, transfers: int, broken: bool = False) -> dict:
    from tests.workers import ledger_total_reader, ledger_transfers

    ids, actor_of, total = hot_accounts(bank)
    initial = dict(Account.objects.filter(id__in=ids).values_list("id", "balance_fen"))
    entries_before = JournalEntry.objects.count()
    db, keys = _db()
    token = uuid.uuid4().hex[:8]
    ctx = multiprocessing.get_context("spawn")
    start, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=ledger_total_reader, args=(ids, total, db, keys, stop, results))
    clients = [ctx.Process(target=ledger_transfers,
                           args=(i, make_plan(ids, i, transfers, token), actor_of, db, keys, start, results, broken))
               for i in range(processes)]
    procs = [reader, *clients]
    try:
        for p in procs:
            p.start()
        t0 = time.monotonic()
        start.set()
        out = dict(results.get(timeout=300) for _ in clients)
        seconds = time.monotonic() - t0
        stop.set()
        reader_out = _reader_result(results)
    finally:
        stop.set()
        for p in procs:
            p.join(20)
        _stop_all(procs)
    posted = [row for r in out.values() for row in r["posted"]]
    refused = Counter()
    errors = Counter()
    for r in out.values():
        refused.update(r["refused"])
        errors.update(r["errors"])
    checks = ledger_figures()
    entry_ids = [row[0] for row in posted]
    new_entries = JournalEntry.objects.count() - entries_before
    duplicates = (checks["duplicate_postings"] + (len(entry_ids) - len(set(entry_ids)))
                  + max(0, new_entries - len(set(entry_ids))))
    lost = len(set(entry_ids) - set(JournalEntry.objects.filter(id__in=entry_ids).values_list("id", flat=True)))
    return {
        "processes": processes, "transfers_per_process": transfers, "transfers_attempted": processes * transfers,
        "posted": len(posted), "refused_insufficient_funds": refused.pop("insufficient_funds", 0),
        "refused_other": sum(refused.values()), "refused_other_codes": dict(refused),
        "reader_reads": reader_out["reads"], "reader_wrong_totals": reader_out["wrong_totals"],
        "hot_total_drift": abs(_hot_total(ids) - total),
        "total_drift": checks["total_drift"], "balance_mismatches": checks["balance_mismatches"],
        "negative_balances": checks["negative_balances"],
        "unbalanced_transfers": (checks["unbalanced_entries"] + checks["entries_without_postings"]
                                 + checks["legs_not_matching_entry"]),
        "duplicate_postings": duplicates, "lost_postings": lost,
        "posting_chain_breaks": checks["posting_chain_breaks"],
        "entries_not_published_once": checks["entries_not_published_once"],
        "reconcile_mismatches": reconcile(ids, initial, posted),
        "deadlocks": errors.pop("deadlock", 0), "other_db_errors": sum(errors.values()),
        "other_db_error_kinds": dict(errors),
        "seconds": round(seconds, 2), "posted_per_second": round(len(posted) / seconds, 1) if seconds else 0,
    }


ZERO_R1 = ("total_drift", "hot_total_drift", "reader_wrong_totals", "balance_mismatches", "negative_balances",
           "unbalanced_transfers", "duplicate_postings", "lost_postings", "posting_chain_breaks",
           "entries_not_published_once", "reconcile_mismatches", "deadlocks", "other_db_errors", "refused_other")


def test_r1_bank_invariant_under_concurrency(bank):
    _require_postgres()
    r = bank_workload(bank, processes=PROCESSES, transfers=TRANSFERS)
    bad = {k: r[k] for k in ZERO_R1 if r[k]}
    exercised = r["posted"] > PROCESSES * TRANSFERS // 3 and r["refused_insufficient_funds"] > 0 and r["reader_reads"] > 10
    passed = not bad and exercised
    write_figures("R1", passed, **r)
    assert exercised, r
    assert not bad, (bad, r)


def test_r1_catches_naive_read_modify_write(bank):
    """Broken variant: balances read without their row locks (tests/workers.py). The same checks must see it."""
    _require_postgres()
    r = bank_workload(bank, processes=4, transfers=100, broken=True)
    caught = bool(r["hot_total_drift"] or r["reader_wrong_totals"] or r["balance_mismatches"] or r["total_drift"]
                  or r["posting_chain_breaks"] or r["reconcile_mismatches"] or r["negative_balances"])
    write_figures("R1", True, broken_variant_caught=caught,
                  broken_variant={k: r[k] for k in ("total_drift", "hot_total_drift", "reader_wrong_totals",
                                                    "balance_mismatches", "posting_chain_breaks",
                                                    "reconcile_mismatches", "negative_balances")})
    assert caught, r


# ---- R2 ----------------------------------------------------------------------------------------------------------
def _busy_client_pids(db: str) -> list[int]:
    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name LIKE 'ledger-client-%%' "
                    "AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()", [db])
        return [row[0] for row in cur.fetchall()]


def _terminate(pid: int) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
        return bool(cur.fetchone()[0])


def _lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def test_r2_faults_lose_nothing_acknowledged_and_post_nothing_twice(bank, tmp_path):
    from tests.workers import ledger_total_reader, ledger_transfers_idempotent

    _require_postgres()
    ids, actor_of, total = hot_accounts(bank)
    db, keys = _db()
    token = uuid.uuid4().hex[:8]
    rng = random.Random(SEED)
    plans = {i: make_plan(ids, i, TRANSFERS, token) for i in range(PROCESSES)}
    acks = {i: tmp_path / f"acks-{i}.txt" for i in range(PROCESSES)}
    ctx = multiprocessing.get_context("spawn")
    start, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()

    def client(i):
        return ctx.Process(target=ledger_transfers_idempotent,
                           args=(i, plans[i], actor_of, db, keys, start, results, str(acks[i])))

    reader = ctx.Process(target=ledger_total_reader, args=(ids, total, db, keys, stop, results))
    current = {i: client(i) for i in range(PROCESSES)}
    started = [reader, *current.values()]
    victims = {i: rng.randint(40, 180) for i in rng.sample(range(PROCESSES), 2)}  # kill after n acks
    killed, terminated, attempts = [], 0, 0
    out: dict[int, dict] = {}
    try:
        for p in started:
            p.start()
        t0 = time.monotonic()
        start.set()
        while len(out) < PROCESSES:
            assert time.monotonic() - t0 < 300, f"workload did not finish: {sorted(out)}"
            try:
                idx, summary = results.get(timeout=rng.uniform(0.15, 0.35))
                out[idx] = summary
            except queue.Empty:  # time for a fault
                pass
            pids = _busy_client_pids(db)
            if pids:
                attempts += 1
                terminated += _terminate(rng.choice(pids))
            for i, after in list(victims.items()):
                p = current[i]
                if i not in out and p.is_alive() and _lines(acks[i]) >= after:
                    os.kill(p.pid, signal.SIGKILL)
                    p.join(10)
                    killed.append({"client": i, "after_acks": _lines(acks[i])})
                    del victims[i]
                    current[i] = client(i)  # the client comes back and retries its plan with the same keys
                    started.append(current[i])
                    current[i].start()
        seconds = time.monotonic() - t0
        stop.set()
        reader_out = _reader_result(results)
    finally:
        stop.set()
        for p in started:
            p.join(20)
        _stop_all(started)

    acked: dict[str, set[int]] = {}
    for path in acks.values():
        for line in path.read_text().splitlines():
            key, entry_id = line.split()
            acked.setdefault(key, set()).add(int(entry_id))
    records = {}
    for key, response in IdempotencyRecord.objects.filter(scope="ledger.transfer").values_list("key", "response"):
        records[key] = int(response["entry_id"])
    entries = set(JournalEntry.objects.filter(kind=JournalEntry.Kind.INTERNAL).values_list("id", flat=True))
    lost = sum(1 for key, eids in acked.items()
               if key not in records or eids != {records[key]} or records[key] not in entries)
    answers_changed = sum(1 for eids in acked.values() if len(eids) > 1)
    per_entry = Counter(records.values())
    orphan_entries = len(entries - set(records.values()))  # money moved with no key: a retry would move it again
    duplicates = orphan_entries + sum(1 for c in per_entry.values() if c > 1) + answers_changed
    checks = ledger_figures()
    refused, errors = Counter(), Counter()
    for r in out.values():
        refused.update(r["refused"])
        errors.update(r["errors"])
    r2 = {
        "processes": PROCESSES, "transfers_per_process": TRANSFERS, "seconds": round(seconds, 2),
        "connections_terminated": terminated, "termination_attempts": attempts,
        "clients_killed": len(killed), "kills": killed,
        "client_db_errors_retried": sum(errors.values()), "client_db_error_kinds": dict(errors),
        "acknowledged": len(acked), "replayed_answers": sum(r["replayed"] for r in out.values()),
        "replayed_after_connection_error": sum(r["replayed_after_error"] for r in out.values()),
        "committed_transfers": len(records), "refused": dict(refused),
        "gave_up": sum(r["gave_up"] for r in out.values()),
        "lost_acknowledged": lost, "duplicates": duplicates, "orphan_entries": orphan_entries,
        "answers_changed_on_retry": answers_changed,
        "drift": checks["total_drift"] + abs(_hot_total(ids) - total) + reader_out["wrong_totals"],
        "total_drift": checks["total_drift"], "hot_total_drift": abs(_hot_total(ids) - total),
        "reader_reads": reader_out["reads"], "reader_wrong_totals": reader_out["wrong_totals"],
        "balance_mismatches": checks["balance_mismatches"], "negative_balances": checks["negative_balances"],
        "unbalanced_transfers": (checks["unbalanced_entries"] + checks["entries_without_postings"]
                                 + checks["legs_not_matching_entry"]),
        "duplicate_postings": checks["duplicate_postings"], "posting_chain_breaks": checks["posting_chain_breaks"],
        "entries_not_published_once": checks["entries_not_published_once"],
        "deadlocks": errors.get("deadlock", 0),
    }
    zero = ("lost_acknowledged", "duplicates", "drift", "balance_mismatches", "negative_balances",
            "unbalanced_transfers", "duplicate_postings", "posting_chain_breaks", "entries_not_published_once",
            "deadlocks", "gave_up")
    bad = {k: r2[k] for k in zero if r2[k]}
    exercised = terminated > 0 and killed and len(acked) > PROCESSES * TRANSFERS // 3
    write_figures("R2", not bad and bool(exercised), **r2)
    assert exercised, r2
    assert not bad, (bad, r2)
