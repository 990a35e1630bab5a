"""Ledger posting measured against references in the same run (QUALITY.md P1, P2).

Set-up (not timed): a branch with four tellers (operations managers), ACCOUNTS customers registered in bulk, one
demand account each opened through `services.account_open` and funded with a cash deposit through `services.post`;
the audit sealer drained; ANALYZE.

- P1 online transfers, PostgreSQL only. CLIENTS spawned OS processes, one teller each, post random transfers between
  the accounts (amounts below the approval threshold and far below the daily limits) through the real service path:
  `idempotency.run(...)` wrapping `services.post(services.internal_transfer_movement(...))` (scope check, limits,
  double entry, idempotency record, outbox row; one commit each). One more process runs the outbox relay
  (`outbox.consume("audit_sealer")` in a loop, idle sleep IDLE_SLEEP) that seals the postings into the audit chain.
  Reference: the same statements sent by hand through psycopg by the same number of processes (the idempotency
  pre-check, the actor-scoped read of the paying account as Django compiles it, the beneficiary look-up, the lock of
  both accounts in id order that also reads the limit rule and the threshold, the daily-debit upsert, INSERT entry,
  INSERT both postings, UPDATE both balances, INSERT outbox, INSERT idempotency, COMMIT; the checks in Python), whose
  outbox rows the same relay seals.
  Reference and subject phases alternate for ROUNDS rounds (after an untimed warm-up of each), every phase starting
  with the relay caught up; the median throughput ratio is reported. Also: SQL statements per transfer counted with
  CaptureQueriesContext (with what they are), p99 latency per transfer, and the relay's lag: p95 over every event of
  (sealing commit − event created_at, which is stamped just before the posting commits), plus p95 of
  `outbox.lag_seconds` sampled every LAG_SAMPLE_S.
- P2 batch posting of a file of transfers (CSV: debit account, credit account, amount). There is no services-level
  batch path in services.py, so the subject posts the file through `services.post` in chunks of CHUNK rows per
  transaction (a savepoint per row, so that a rejected row is reported and the chunk goes on);
  `bankcrm.ledger.batch.post_batch` (bulk statements per chunk, the same rules) is measured as a second subject.
  Reference: executemany of the same rows (entries, postings, balance updates) per chunk after one SELECT … FOR
  UPDATE of the chunk's accounts, via psycopg on PostgreSQL and sqlite3 on SQLite. The file is posted once by each
  variant, in ROUNDS alternating parts.

Sizes: quick 2,400 online transfers (and as many reference transfers) and a 5,000-row file; full 100,000 and 100,000.
BENCH_LEDGER_P1_N / BENCH_LEDGER_P2_N override them.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import statistics
import tempfile
import threading
import time
from datetime import date
from multiprocessing import get_context
from pathlib import Path

SEED = 20261129
ACCOUNTS = 1000
FUND_FEN = 100_000_000  # 1,000,000 CNY on every account
# 1–2,000 CNY: below the 50,000 CNY approval threshold, and small enough that every debit of a full run (online and
# batch, subject and reference) stays under the 1,000,000 CNY daily limit per account and channel.
AMOUNT_FEN = (100, 200_000)
CLIENTS = 4
ROUNDS = 3
WARMUP = 50  # untimed transfers per client before the first round, for each kind
CHUNK = 500
SEALER = "audit_sealer"
IDLE_SLEEP = 0.1
LAG_SAMPLE_S = 0.25
REF_MARK = "bench-reference"  # request_id of the reference's outbox events, to tell their lag apart
MEMO = "批量代发"
BRANCH_CODE = "902"
PASSWORD = "Bench-Passw0rd!x"


# ---- set-up ---------------------------------------------------------------------------------------------------------
def _staff(admin, branch, staff_no: str, name: str, role: str):
    from bankcrm.org import services as org
    from bankcrm.org.models import Staff

    found = Staff.objects.filter(staff_no=staff_no).first()
    if found is None:
        found = org.staff_create(actor=admin, staff_no=staff_no, name=name, branch_id=branch.pk,
                                 employment_type="employee", roles=[role], password=PASSWORD)
    return Staff.objects.select_related("branch").get(pk=found.pk)


def _ledger() -> dict:
    """The bench branch, its tellers and ACCOUNTS funded customer accounts (reused when they already exist)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bankcrm.core import outbox
    from bankcrm.customers import bulk
    from bankcrm.customers.demo_bulk import generate
    from bankcrm.customers.models import Customer
    from bankcrm.ledger import services
    from bankcrm.ledger.models import Account, Product
    from bankcrm.org import services as org
    from bankcrm.org.models import Branch, Staff

    t = time.perf_counter()
    admin = Staff.objects.filter(staff_no="BAD01").first()  # the bench bank of bench_customers, if it ran first
    if admin is None:
        admin = org.bank_bootstrap(head_office_code="900", head_office_name="基准总行", admin_staff_no="BAD01",
                                   admin_name="基准管理", admin_password=PASSWORD)
    admin = Staff.objects.get(pk=admin.pk)
    services.ledger_bootstrap(actor=admin)
    branch = Branch.objects.filter(code=BRANCH_CODE).first() or org.branch_create(
        actor=admin, code=BRANCH_CODE, name="基准账务支行", kind="branch", parent_id=admin.branch_id)
    supervisor = _staff(admin, branch, "BLS01", "账务行长", "branch_supervisor")
    manager = _staff(admin, branch, "BLC01", "账务经理", "customer_manager")
    tellers = [_staff(admin, branch, f"BLO0{i + 1}", f"账务柜员{i + 1}", "operations_manager") for i in range(CLIENTS)]
    have = Customer.objects.filter(branch=branch).count()
    if have < ACCOUNTS:
        registrar = bulk.BulkRegistrar(actor=supervisor, default_manager=manager, source="bench_ledger")
        bulk.register_rows(generate(random.Random(SEED), ACCOUNTS - have, [], timezone.localdate()),
                           registrar=registrar, workers=1)
    demand = Product.objects.get(code="D-CNY")
    with_account = set(Account.objects.filter(branch=branch, kind=Account.Kind.CUSTOMER).values_list("customer_id", flat=True))
    box = services.cash_box_open(actor=tellers[0])
    opened = []
    for cid in Customer.objects.filter(branch=branch).exclude(pk__in=with_account).order_by("id").values_list("pk", flat=True):
        opened.append(services.account_open(actor=tellers[0], customer_id=cid, product_id=demand.pk).pk)
    for i in range(0, len(opened), 200):
        with transaction.atomic():
            for acc in opened[i:i + 200]:
                services.post(services.Movement(kind=services.K.CASH_DEPOSIT, amount_fen=FUND_FEN, currency="CNY",
                                                debit_id=box.pk, credit_id=acc, memo="开户存入"), maker=tellers[0])
    while outbox.consume(SEALER):
        pass
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    accounts = sorted(Account.objects.filter(branch=branch, kind=Account.Kind.CUSTOMER, status=Account.Status.ACTIVE)
                      .values_list("pk", flat=True))
    return {"admin": admin, "tellers": tellers, "accounts": accounts, "setup_s": round(time.perf_counter() - t, 1)}


def _pg_params() -> dict:
    from django.db import connection

    s = connection.settings_dict
    return {k: v for k, v in {"dbname": s["NAME"], "user": s.get("USER"), "password": s.get("PASSWORD"),
                              "host": s.get("HOST"), "port": s.get("PORT")}.items() if v}


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else 0.0


# ---- P1: the subject ------------------------------------------------------------------------------------------------
def _subject_transfer(actor, key: str, debit: int, credit: int, amount: int):
    from bankcrm.core import idempotency
    from bankcrm.ledger import services

    def execute():
        mv = services.internal_transfer_movement(actor=actor, from_account_id=debit, to_account_id=credit,
                                                 amount_fen=amount)
        return 201, services.entry_answer(services.post(mv, maker=actor))

    return idempotency.run(actor=actor, key=key, scope="ledger.transfer",
                           body={"from_account": debit, "to_account": credit, "amount_fen": amount}, execute=execute)


# ---- P1: the reference (hand-written SQL through psycopg) ----------------------------------------------------------
class HandSQL:
    """The statements services.post issues for a transfer, written by hand: the checks in Python, one commit."""

    LOCK = ("SELECT id, kind, status, currency, normal_side, allow_negative, balance_fen, overdraft_limit_fen, "
            "customer_id, branch_path FROM ledger_account WHERE id = ANY(%s) ORDER BY id FOR UPDATE")
    LIMIT = "SELECT per_txn_fen, per_day_fen FROM ledger_limitrule WHERE channel = %s AND customer_kind = %s"
    DAILY = ("INSERT INTO ledger_dailydebit (account_id, business_date, channel, total_fen) VALUES (%s, %s, %s, %s) "
             "ON CONFLICT (account_id, business_date, channel) DO UPDATE SET total_fen = ledger_dailydebit.total_fen "
             "+ excluded.total_fen RETURNING total_fen")
    ENTRY = ("INSERT INTO ledger_journalentry (kind, channel, currency, amount_fen, debit_account_id, credit_account_id, "
             "customer_id, branch_path, reversal_of_id, maker_id, checker_id, approval_id, counterparty_bank, "
             "counterparty_name, counterparty_account, cross_border, counterparty_country, memo, business_date, "
             "posted_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, NULL, %s, NULL, NULL, '', '', '', false, '', '', %s, %s) "
             "RETURNING id")
    POSTINGS = ("INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, balance_after_fen, business_date, "
                "posted_at) VALUES (%s, %s, 'D', %s, %s, %s, %s), (%s, %s, 'C', %s, %s, %s, %s)")
    BALANCES = ("UPDATE ledger_account SET balance_fen = CASE id WHEN %s THEN %s WHEN %s THEN %s END, "
                "last_activity_at = %s WHERE id IN (%s, %s)")
    OUTBOX = "INSERT INTO core_outboxevent (topic, payload, created_at) VALUES (%s, %s, %s)"
    IDEMPOTENCY = ("INSERT INTO core_idempotencyrecord (actor_id, key, scope, request_hash, status_code, response, "
                   "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (actor_id, key) DO NOTHING RETURNING id")
    SEEN = "SELECT id FROM core_idempotencyrecord WHERE actor_id = %s AND key = %s"
    TARGET = "SELECT id, kind, currency, customer_id, status FROM ledger_account WHERE kind = %s AND id = %s"
    STATEMENTS = ["SELECT core_idempotencyrecord", "BEGIN", "SELECT ledger_account", "SELECT ledger_account",
                  "SELECT … FOR UPDATE ledger_account", "INSERT … ON CONFLICT ledger_dailydebit",
                  "INSERT ledger_journalentry", "INSERT ledger_posting", "UPDATE ledger_account", "INSERT core_outboxevent",
                  "INSERT … ON CONFLICT core_idempotencyrecord", "COMMIT"]

    def __init__(self, params: dict, maker_id: int, today: date, actor=None) -> None:
        import psycopg

        from bankcrm.core import compiled
        from bankcrm.ledger import selectors, services

        self.conn = psycopg.connect(**params)
        self.maker_id, self.today = maker_id, today
        # The same statements the subject issues, written out once and then sent by hand: the scoped read of the
        # paying account (the SQL Django compiles for this actor's scope), the beneficiary look-up, the lock that
        # also reads the limit rule and the approval threshold.
        sql, brief_params = (selectors.accounts_visible(actor).filter(pk=compiled.STAND_IN)
                             .values_list(*selectors.BRIEF_FIELDS)[:1].query.get_compiler(using="default").as_sql())
        self.brief_sql, self.brief_params = sql, list(brief_params)
        self.brief_slot = self.brief_params.index(compiled.STAND_IN)
        self.lock_sql = services.lock_for_post_sql(2, "postgresql")
        with self.conn.cursor() as cur:  # customer kinds never change: read once, as services caches them per process
            cur.execute("SELECT id, kind FROM customers_customer")
            self.kinds = {pk: "company" if kind == "company" else "person" for pk, kind in cur.fetchall()}
        self.conn.commit()

    def transfer(self, key: str, debit_id: int, credit_id: int, amount: int) -> bool:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        conn = self.conn
        try:
            with conn.cursor() as cur:
                cur.execute(self.SEEN, [self.maker_id, key])  # the idempotency pre-check (before BEGIN)
                if cur.fetchone() is not None:
                    raise ValueError("replay")
                params = list(self.brief_params)
                params[self.brief_slot] = debit_id
                cur.execute(self.brief_sql, params)  # the paying account, scoped to the actor
                if cur.fetchone() is None:
                    raise ValueError("not_visible")
                cur.execute(self.TARGET, ["customer", credit_id])
                if cur.fetchone() is None:
                    raise ValueError("no_beneficiary")
                cur.execute(self.lock_sql, ["counter", "counter", "approvals.money_threshold.cny", now,
                                            *sorted((debit_id, credit_id))])
                acc = {r[0]: r for r in cur.fetchall()}
                d, c = acc[debit_id], acc[credit_id]
                if d[3] != "CNY" or c[3] != "CNY" or "closed" in (d[2], c[2]) or "dormant" in (d[2], c[2]) or d[2] == "frozen":
                    raise ValueError("status")
                new_d = d[6] + (amount if d[4] == "D" else -amount)
                new_c = c[6] + (amount if c[4] == "C" else -amount)
                for row, bal in ((d, new_d), (c, new_c)):
                    if not row[5] and bal < -row[7]:
                        raise ValueError("insufficient_funds")
                per_txn, per_day = d[12], d[13]
                if amount > per_txn:
                    raise ValueError("limit_per_transaction")
                cur.execute(self.DAILY, [debit_id, self.today, "counter", amount])
                if cur.fetchone()[0] > per_day:
                    raise ValueError("limit_per_day")
                customer_id = d[8] or c[8]
                cur.execute(self.ENTRY, ["internal", "counter", "CNY", amount, debit_id, credit_id, customer_id, d[9],
                                         self.maker_id, self.today, now])
                entry_id = cur.fetchone()[0]
                cur.execute(self.POSTINGS, [entry_id, debit_id, amount, new_d, self.today, now,
                                            entry_id, credit_id, amount, new_c, self.today, now])
                cur.execute(self.BALANCES, [debit_id, new_d, credit_id, new_c, now, debit_id, credit_id])
                payload = {"entry_id": entry_id, "kind": "internal", "amount_fen": amount, "currency": "CNY",
                           "cny_fen": amount, "debit_id": debit_id, "credit_id": credit_id, "customer_id": customer_id,
                           "maker_id": self.maker_id, "checker_id": None, "approval_id": None, "channel": "counter",
                           "cross_border": False, "reversal_of_id": None, "business_date": self.today.isoformat(),
                           "branch_path": d[9], "request_id": REF_MARK, "ip": "", "origin": "system"}
                cur.execute(self.OUTBOX, ["ledger.entry_posted", json.dumps(payload, ensure_ascii=False), now])
                body = {"from_account": debit_id, "to_account": credit_id, "amount_fen": amount}
                digest = hashlib.sha256(json.dumps(["ledger.transfer", body], sort_keys=True, ensure_ascii=False,
                                                   separators=(",", ":")).encode()).hexdigest()
                answer = {"status": "posted", "entry_id": entry_id, "txn_no": f"{self.today:%Y%m%d}{entry_id:010d}",
                          "kind": "internal", "amount_fen": amount, "currency": "CNY",
                          "business_date": self.today.isoformat()}
                cur.execute(self.IDEMPOTENCY, [self.maker_id, key, "ledger.transfer", digest, 201,
                                               json.dumps(answer, ensure_ascii=False), now])
                if cur.fetchone() is None:
                    raise ValueError("replay")
            conn.commit()
            return True
        except ValueError:
            conn.rollback()
            return False


# ---- P1: processes --------------------------------------------------------------------------------------------------
def _transfers(accounts: list[int], round_no: int, client: int, n: int) -> list[tuple[int, int, int]]:
    rng = random.Random(f"{SEED}-{round_no}-{client}")  # the same transfers for the reference and the subject
    return [(*rng.sample(accounts, 2), rng.randint(*AMOUNT_FEN)) for _ in range(n)]


def _client(index: int, teller_id: int, accounts: list[int], phases: list[tuple], token: str, barrier, results) -> None:
    import django

    django.setup()
    from bankcrm.core.errors import DomainError
    from bankcrm.ledger import services
    from bankcrm.org.models import Staff

    actor = Staff.objects.select_related("branch").get(pk=teller_id)
    hand = HandSQL(_pg_params(), teller_id, services.business_date(), actor=actor)
    for p, (kind, round_no, n) in enumerate(phases):
        work = _transfers(accounts, round_no, index, n)
        latencies, failed = [], 0
        barrier.wait(timeout=1800)
        for i, (debit, credit, amount) in enumerate(work):
            key = f"{token}{kind[0]}{p}c{index}n{i}"
            t = time.perf_counter()
            if kind == "subject":
                try:
                    _subject_transfer(actor, key, debit, credit, amount)
                except DomainError:
                    failed += 1
            elif not hand.transfer(key, debit, credit, amount):
                failed += 1
            latencies.append(time.perf_counter() - t)
        results.put((p, index, latencies, failed))
        barrier.wait(timeout=1800)
    hand.conn.close()


def _sealer(stop, out) -> None:
    """The outbox relay, instrumented: each sealed event's lag is the sealing commit time minus its created_at."""
    import django

    django.setup()
    from django.db import connection

    from bankcrm.core import outbox

    topics, handler = outbox.CONSUMERS[SEALER]
    seen: list[tuple[float, bool]] = []

    def recording(events):
        handler(events)
        seen.extend((e.created_at.timestamp(), e.payload.get("request_id") == REF_MARK) for e in events)

    outbox.CONSUMERS[SEALER] = (topics, recording)
    lags: dict[str, list[float]] = {"subject": [], "reference": []}
    batches = failures = 0
    while not stop.is_set():
        seen.clear()
        try:
            n = outbox.consume(SEALER)
        except Exception:  # counted and reported; the relay keeps going
            failures += 1
            connection.close()
            time.sleep(IDLE_SLEEP)
            continue
        done = time.time()
        if n:
            batches += 1
            for created, is_ref in seen:
                lags["reference" if is_ref else "subject"].append(done - created)
        else:
            time.sleep(IDLE_SLEEP)
    out.put({"lags": lags, "batches": batches, "failures": failures})
    connection.close()


class _LagSampler(threading.Thread):
    """`outbox.lag_seconds` every LAG_SAMPLE_S while a phase runs (its own connection)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.kind: str | None = None
        self.samples: dict[str, list[float]] = {"subject": [], "reference": []}
        self.halt = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from bankcrm.core import outbox

        while not self.halt.wait(LAG_SAMPLE_S):
            kind = self.kind
            if kind in self.samples:
                self.samples[kind].append(outbox.lag_seconds(SEALER))
        connection.close()


def _wait_sealed(timeout: float = 300) -> None:
    from bankcrm.core import outbox

    end = time.time() + timeout
    while outbox.lag_seconds(SEALER) > 0 and time.time() < end:
        time.sleep(0.05)


def _label(sql: str) -> str:
    import re

    s = sql.strip()
    head = s.split()[0].upper()
    if head in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE", "ROLLBACK"):
        return head if head != "RELEASE" else "RELEASE SAVEPOINT"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', s, re.I)
    extra = " … FOR UPDATE" if s.upper().endswith("FOR UPDATE") or " FOR UPDATE" in s.upper()[-40:] else ""
    extra = extra or (" … ON CONFLICT" if "ON CONFLICT" in s.upper() else "")
    return f"{head}{extra} {table.group(1) if table else ''}".strip()


def _statements(ctx: dict) -> dict:
    """SQL statements of one warm transfer through the subject path (and through movement_request, the view's
    call), counted with CaptureQueriesContext. BEGIN and COMMIT are among the captured statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bankcrm.core import idempotency
    from bankcrm.ledger import services

    actor, (a, b) = ctx["tellers"][0], ctx["accounts"][:2]
    token = f"st{time.time_ns()}"
    _subject_transfer(actor, token + "w", a, b, 100)  # warm the per-process caches (both customers' kinds)
    _subject_transfer(actor, token + "x", b, a, 100)
    with CaptureQueriesContext(connection) as q:
        _subject_transfer(actor, token + "s", a, b, 100)
    labels = [_label(x["sql"]) for x in q.captured_queries]

    def via_request():
        mv = services.internal_transfer_movement(actor=actor, from_account_id=b, to_account_id=a, amount_fen=100)
        return 201, services.movement_request(actor=actor, mv=mv)

    with CaptureQueriesContext(connection) as q2:
        idempotency.run(actor=actor, key=token + "r", scope="ledger.transfer", body={"n": 1}, execute=via_request)
    return {"count": len(labels), "labels": labels, "movement_request_count": len(q2.captured_queries)}


def _p1(ctx: dict, n_total: int) -> list[dict]:
    from django.db import connection

    from bankcrm.core import audit, outbox
    from bankcrm.ledger import selectors

    statements = _statements(ctx)
    per_client = max(1, n_total // (ROUNDS * CLIENTS))
    phases = [("reference", -1, WARMUP), ("subject", -1, WARMUP)]
    for r in range(ROUNDS):
        phases += [("reference", r, per_client), ("subject", r, per_client)]
    mp = get_context("spawn")
    barrier, results, stop, sealed = mp.Barrier(CLIENTS + 1), mp.Queue(), mp.Event(), mp.Queue()
    token = f"p1{int(time.time()) % 10**8}"
    while outbox.consume(SEALER):  # start with nothing to seal (the relay process is not running yet)
        pass
    connection.close()  # no connection carried into the children's start (spawn: they open their own)
    sealer = mp.Process(target=_sealer, args=(stop, sealed), daemon=True)
    clients = [mp.Process(target=_client, daemon=True,
                          args=(i, ctx["tellers"][i].pk, ctx["accounts"], phases, token, barrier, results))
               for i in range(CLIENTS)]
    sealer.start()
    for c in clients:
        c.start()
    sampler = _LagSampler()
    sampler.start()
    timing: dict[str, list[float]] = {"subject": [], "reference": []}
    latency: dict[str, list[float]] = {"subject": [], "reference": []}
    failed = {"subject": 0, "reference": 0}
    try:
        for kind, round_no, n in phases:
            _wait_sealed()
            sampler.kind = kind if round_no >= 0 else None
            barrier.wait(timeout=1800)
            t0 = time.perf_counter()
            barrier.wait(timeout=1800)
            elapsed = time.perf_counter() - t0
            sampler.kind = None
            got = [results.get(timeout=60) for _ in range(CLIENTS)]
            if round_no >= 0:
                timing[kind].append(n * CLIENTS / elapsed)
                for _p, _i, lat, bad in got:
                    latency[kind].extend(lat)
                    failed[kind] += bad
        _wait_sealed()
    finally:
        sampler.halt.set()
        stop.set()
        try:
            relay = sealed.get(timeout=120)
        except Exception:  # the relay died: report what the clients measured
            relay = {"lags": {"subject": [], "reference": []}, "batches": 0, "failures": -1}
        for proc in (*clients, sealer):
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
        sampler.join(timeout=5)
    ratios = [s / r for s, r in zip(timing["subject"], timing["reference"], strict=True)]
    subj_tps, ref_tps = statistics.median(timing["subject"]), statistics.median(timing["reference"])
    n = per_client * CLIENTS * ROUNDS
    p99_s, p99_r = _pct(latency["subject"], 0.99) * 1000, _pct(latency["reference"], 0.99) * 1000
    p50_s, p50_r = _pct(latency["subject"], 0.5) * 1000, _pct(latency["reference"], 0.5) * 1000
    lag_s, lag_r = _pct(relay["lags"]["subject"], 0.95), _pct(relay["lags"]["reference"], 0.95)
    smp_s, smp_r = _pct(sampler.samples["subject"], 0.95), _pct(sampler.samples["reference"], 0.95)
    invariant = selectors.invariant_report()
    chain = audit.verify_chain()
    from bankcrm.customers.models import Customer

    # The scoped account reads of internal_transfer_movement cost more as the customer table grows (bench_customers
    # may have left a million in the same database): say how many there were.
    common = {"n": n, "clients": CLIENTS, "accounts": len(ctx["accounts"]), "rounds": ROUNDS,
              "customers_in_table": Customer.objects.count(),
              "failed_subject": failed["subject"], "failed_reference": failed["reference"]}
    stmts = statements["count"]
    return [
        {"workload": "P1_online_transfers_throughput", "subject": round(subj_tps, 1), "reference": round(ref_tps, 1),
         "ratio": round(statistics.median(ratios), 3), "target": ">= 0.5", "met": statistics.median(ratios) >= 0.5,
         "unit": "transfers/s", "round_ratios": [round(x, 3) for x in ratios], **common,
         "invariant": invariant, "audit_chain_ok": chain.ok, "audit_events_checked": chain.checked,
         "notes": (f"{CLIENTS} procs: idempotency.run + internal_transfer_movement + post vs hand SQL via psycopg; "
                   f"failed {failed['subject']}/{failed['reference']}; drift {invariant['total_drift']}; "
                   f"chain {'ok' if chain.ok else 'BROKEN'}")},
        {"workload": "P1_sql_statements_per_transfer", "subject": stmts, "reference": len(HandSQL.STATEMENTS),
         "ratio": round(stmts / len(HandSQL.STATEMENTS), 3), "target": "<= 12", "met": stmts <= 12,
         "unit": "statements", "n": 1, "statements": statements["labels"], "reference_statements": HandSQL.STATEMENTS,
         "movement_request_count": statements["movement_request_count"],
         "notes": f"{stmts} (BEGIN/COMMIT included): " + ", ".join(statements["labels"])},
        {"workload": "P1_latency_p99", "subject": round(p99_s, 2), "reference": round(p99_r, 2),
         "ratio": round(p99_s / p99_r, 3) if p99_r else 0.0, "target": "<= 50 ms", "met": p99_s <= 50, "unit": "ms p99",
         "p50_subject": round(p50_s, 2), "p50_reference": round(p50_r, 2), **common,
         "notes": f"p99 {p99_s:.1f} ms (p50 {p50_s:.1f}) vs reference p99 {p99_r:.1f} ms (p50 {p50_r:.1f}), per transfer"},
        {"workload": "P1_sealer_lag_p95", "subject": round(lag_s, 3), "reference": round(lag_r, 3),
         "ratio": round(lag_s / lag_r, 3) if lag_r else 0.0, "target": "<= 1 s", "met": lag_s <= 1.0, "unit": "s p95",
         "events_sealed": len(relay["lags"]["subject"]) + len(relay["lags"]["reference"]), "batches": relay["batches"],
         "relay_failures": relay["failures"], "lag_seconds_p95_sampled": round(smp_s, 3),
         "lag_seconds_p95_sampled_reference": round(smp_r, 3), "lag_max": round(max(relay["lags"]["subject"] or [0]), 3),
         "idle_sleep_s": IDLE_SLEEP, **common,
         "notes": (f"commit→sealed p95 {lag_s:.3f} s during subject phases ({lag_r:.3f} s during reference); "
                   f"lag_seconds() sampled p95 {smp_s:.3f} s")},
    ]


# ---- P2 -------------------------------------------------------------------------------------------------------------
def _write_file(path: Path, accounts: list[int], n: int) -> None:
    rng = random.Random(SEED + 2)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["debit_account", "credit_account", "amount_fen"])
        for _ in range(n):
            w.writerow([*rng.sample(accounts, 2), rng.randint(*AMOUNT_FEN)])


def _read_part(path: Path, part: int, parts: int) -> list[tuple[int, int, int]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [(int(a), int(b), int(c)) for a, b, c in list(csv.reader(fh))[1:]]
    size = -(-len(rows) // parts)
    return rows[part * size:(part + 1) * size]


def _movements(rows):
    from bankcrm.ledger import services

    return [services.Movement(kind=services.K.INTERNAL, amount_fen=amt, currency="CNY", debit_id=d, credit_id=c,
                              channel="batch", memo=MEMO) for d, c, amt in rows]


def _p2_services(path: Path, part: int, maker) -> tuple[float, int, int]:
    """The file through services.post, CHUNK rows per transaction. post() takes no savepoint of its own (a failure
    dooms the caller's transaction), so each row gets one: a rejected row is reported and the chunk goes on."""
    from django.db import transaction

    from bankcrm.core.errors import DomainError
    from bankcrm.ledger import services

    t = time.perf_counter()
    rows = _read_part(path, part, ROUNDS)
    rejected = 0
    for i in range(0, len(rows), CHUNK):
        with transaction.atomic():
            for mv in _movements(rows[i:i + CHUNK]):
                try:
                    with transaction.atomic():
                        services.post(mv, maker=maker)
                except DomainError:
                    rejected += 1
    return time.perf_counter() - t, len(rows), rejected


def _p2_batch(path: Path, part: int, maker) -> tuple[float, int, int]:
    from bankcrm.ledger import batch

    t = time.perf_counter()
    rows = _read_part(path, part, ROUNDS)
    result = batch.post_batch(_movements(rows), maker=maker, chunk_size=CHUNK)
    return time.perf_counter() - t, len(rows), len(result.rejected)


ENTRY_COLS = ("id, kind, channel, currency, amount_fen, debit_account_id, credit_account_id, customer_id, branch_path, "
              "reversal_of_id, maker_id, checker_id, approval_id, counterparty_bank, counterparty_name, "
              "counterparty_account, cross_border, counterparty_country, memo, business_date, posted_at")


def _reference_chunk(cur, chunk, maker_id: int, today: date, now, entry_ids: list[int], lock_sql: str) -> None:
    ids = sorted({a for d, c, _ in chunk for a in (d, c)})
    cur.execute(lock_sql.format(marks=", ".join(["%s"] * len(ids))), ids)
    acc = {r[0]: [r[1], r[2], r[3]] for r in cur.fetchall()}  # balance, customer, branch path
    entries, postings = [], []
    for (d, c, amt), eid in zip(chunk, entry_ids, strict=True):
        acc[d][0] -= amt  # customer deposit accounts are credit-normal
        acc[c][0] += amt
        entries.append((eid, "internal", "batch", "CNY", amt, d, c, acc[d][1], acc[d][2], None, maker_id, None, None,
                        "", "", "", False, "", MEMO, today, now))
        postings.append((eid, d, "D", amt, acc[d][0], today, now))
        postings.append((eid, c, "C", amt, acc[c][0], today, now))
    cur.executemany(f"INSERT INTO ledger_journalentry ({ENTRY_COLS}) VALUES ({', '.join(['%s'] * 21)})", entries)
    cur.executemany("INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, balance_after_fen, business_date, "
                    "posted_at) VALUES (%s, %s, %s, %s, %s, %s, %s)", postings)
    cur.executemany("UPDATE ledger_account SET balance_fen = %s, last_activity_at = %s WHERE id = %s",
                    [(acc[i][0], now, i) for i in ids])


def _p2_reference(path: Path, part: int, maker_id: int, database: str) -> tuple[float, int, int]:
    """executemany of the same rows: PostgreSQL through its own psycopg connection, SQLite through sqlite3."""
    from django.db import connection, transaction
    from django.utils import timezone

    from bankcrm.ledger import services

    today, lock = services.business_date(), "SELECT id, balance_fen, customer_id, branch_path FROM ledger_account WHERE id IN ({marks}) ORDER BY id"
    if database == "postgresql":
        import psycopg

        conn = psycopg.connect(**_pg_params())
        t = time.perf_counter()
        rows = _read_part(path, part, ROUNDS)
        with conn.cursor() as cur:
            for i in range(0, len(rows), CHUNK):
                chunk = rows[i:i + CHUNK]
                cur.execute("SELECT nextval(pg_get_serial_sequence('ledger_journalentry', 'id')) "
                            "FROM generate_series(1, %s)", [len(chunk)])
                entry_ids = [r[0] for r in cur.fetchall()]
                _reference_chunk(cur, chunk, maker_id, today, timezone.now(), entry_ids, lock + " FOR UPDATE")
                conn.commit()
        elapsed = time.perf_counter() - t
        conn.close()
        return elapsed, len(rows), 0
    t = time.perf_counter()
    rows = _read_part(path, part, ROUNDS)
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i:i + CHUNK]
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_journalentry")
            first = cur.fetchone()[0] + 1
            _reference_chunk(cur, chunk, maker_id, today, timezone.now(), list(range(first, first + len(chunk))), lock)
    return time.perf_counter() - t, len(rows), 0


def _p2(ctx: dict, n: int, database: str) -> list[dict]:
    from django.conf import settings

    from bankcrm.core import outbox
    from bankcrm.ledger import selectors

    try:
        from bankcrm.ledger import batch  # noqa: F401
        variants = ["services", "batch"]
    except ImportError:
        variants = ["services"]
    maker = ctx["tellers"][0]
    speed: dict[str, list[float]] = {v: [] for v in ["reference", *variants]}
    rejected = dict.fromkeys(variants, 0)
    with tempfile.TemporaryDirectory(dir=getattr(settings, "BENCH_DIR", None)) as tmp:
        path = Path(tmp) / "transfers.csv"
        _write_file(path, ctx["accounts"], n)
        for part in range(ROUNDS):
            secs, rows, _ = _p2_reference(path, part, maker.pk, database)
            speed["reference"].append(rows / secs)
            for v in variants:
                secs, rows, bad = (_p2_services if v == "services" else _p2_batch)(path, part, maker)
                speed[v].append(rows / secs)
                rejected[v] += bad
            while outbox.consume(SEALER):  # keep the relay's backlog out of the next part
                pass
    invariant = selectors.invariant_report()
    out = []
    ref = statistics.median(speed["reference"])
    for v in variants:
        ratios = [s / r for s, r in zip(speed[v], speed["reference"], strict=True)]
        label = ("services.post per row, %d rows per transaction" % CHUNK if v == "services"
                 else "batch.post_batch, bulk statements per %d-row chunk" % CHUNK)
        out.append({"workload": f"P2_batch_file_{v}", "subject": round(statistics.median(speed[v]), 1),
                    "reference": round(ref, 1), "ratio": round(statistics.median(ratios), 4), "target": ">= 0.5",
                    "met": statistics.median(ratios) >= 0.5, "unit": "rows/s", "n": n, "chunk": CHUNK,
                    "round_ratios": [round(x, 4) for x in ratios], "rejected": rejected[v], "invariant": invariant,
                    "notes": (f"{label} vs executemany (entries, postings, balances) via "
                              f"{'psycopg' if database == 'postgresql' else 'sqlite3'}; rejected {rejected[v]}; "
                              f"drift {invariant['total_drift']}, mismatches {invariant['balance_mismatches']}")})
    return out


def run(*, quick: bool, database: str) -> list[dict]:
    n1 = int(os.environ.get("BENCH_LEDGER_P1_N") or (2_400 if quick else 100_000))
    n2 = int(os.environ.get("BENCH_LEDGER_P2_N") or (5_000 if quick else 100_000))
    ctx = _ledger()
    out = []
    if database == "postgresql":
        out += _p1(ctx, n1)
    out += _p2(ctx, n2, database)
    for r in out:
        r.setdefault("setup_s", ctx["setup_s"])
    return out
