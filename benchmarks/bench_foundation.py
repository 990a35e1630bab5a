"""Foundation costs measured against references in the same run.

- audit_append: one audit event per transaction through `audit.record` (head-row lock, HMAC chain, JSON) against
  an INSERT of the same columns into the same table shape with no chain (reference), each committed on its own.
  With 4 concurrent writers on PostgreSQL it also shows what the head-row lock costs (ARCHITECTURE.md §4).
- field_encryption: AES-256-GCM encrypt + blind index of a mobile number against building the plain value.
"""

from __future__ import annotations

import statistics
import time
from multiprocessing import get_context


def _median_ratio(subject_fn, reference_fn, rounds: int = 3) -> tuple[float, float, float]:
    ratios, subj, ref = [], [], []
    for _ in range(rounds):
        r = reference_fn()
        s = subject_fn()
        ratios.append(s / r)  # throughput ratio: subject ops/s over reference ops/s
        subj.append(s)
        ref.append(r)
    return statistics.median(ratios), statistics.median(subj), statistics.median(ref)


def _audit_subject(n: int) -> float:
    from django.db import transaction

    from bankcrm.core import audit

    audit.register_verbs({"bench.event": "bench"})
    t = time.perf_counter()
    for i in range(n):
        with transaction.atomic():
            audit.record(actor=None, verb="bench.event", target_type="bench.Thing", target_id=i,
                         after={"amount_fen": 5_000_000 + i, "status": "posted"}, reason="bench")
    return n / (time.perf_counter() - t)


def _audit_reference(n: int) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_plain_event (id INTEGER PRIMARY KEY, occurred_at TEXT, verb TEXT, "
                    "target_type TEXT, target_id TEXT, after TEXT, reason TEXT)" if connection.vendor == "sqlite" else
                    "CREATE TABLE IF NOT EXISTS bench_plain_event (id BIGSERIAL PRIMARY KEY, occurred_at TIMESTAMPTZ, verb TEXT, "
                    "target_type TEXT, target_id TEXT, after JSONB, reason TEXT)")
    import json

    t = time.perf_counter()
    for i in range(n):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("INSERT INTO bench_plain_event (occurred_at, verb, target_type, target_id, after, reason) "
                        "VALUES (%s, %s, %s, %s, %s, %s)",
                        [timezone.now(), "bench.event", "bench.Thing", str(i),
                         json.dumps({"amount_fen": 5_000_000 + i, "status": "posted"}), "bench"])
    return n / (time.perf_counter() - t)


def _worker(args):
    kind, n, start_at = args
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    time.sleep(max(0.0, start_at - time.time()))  # every process starts together, after its own setup
    (_audit_subject if kind == "subject" else _audit_reference)(n)
    return time.time()


def _parallel(kind: str, n: int, procs: int) -> float:
    start_at = time.time() + 4.0
    with get_context("spawn").Pool(procs) as pool:
        ends = pool.map(_worker, [(kind, n, start_at)] * procs)
    return n * procs / (max(ends) - start_at)


def _encryption(n: int) -> tuple[float, float]:
    from bankcrm.core import crypto

    values = [f"+86138{i:08d}" for i in range(n)]
    t = time.perf_counter()
    for v in values:
        crypto.encrypt(v, "org.Staff.mobile")
        crypto.blind_index(v, "staff.mobile")
    enc = n / (time.perf_counter() - t)
    t = time.perf_counter()
    for v in values:
        (v + "|" + v).encode()
    plain = n / (time.perf_counter() - t)
    return enc, plain


def run(*, quick: bool, database: str) -> list[dict]:
    from bankcrm.core import audit

    n = 300 if quick else 3000
    out = []
    ratio, s, r = _median_ratio(lambda: _audit_subject(n), lambda: _audit_reference(n))
    out.append({"workload": "audit_append_1_writer", "subject": round(s, 1), "reference": round(r, 1), "ratio": round(ratio, 3),
                "target": "measure", "n": n, "unit": "events/s",
                "notes": "audit.record per commit vs plain INSERT per commit"})
    if database == "postgresql":
        procs = 4
        m = n // 2
        rs = [(_parallel("subject", m, procs), _parallel("reference", m, procs)) for _ in range(3)]
        ratios = sorted(a / b for a, b in rs)
        out.append({"workload": "audit_append_4_writers", "subject": round(statistics.median(a for a, _ in rs), 1),
                    "reference": round(statistics.median(b for _, b in rs), 1), "ratio": round(ratios[1], 3),
                    "target": "measure", "n": m * procs, "unit": "events/s",
                    "notes": "head-row lock serialises writers; reference has no lock"})
    result = audit.verify_chain()
    out.append({"workload": "audit_verify", "subject": result.checked, "reference": result.checked,
                "ratio": 1.0 if result.ok else 0.0, "target": "1.0 (chain intact)", "n": result.checked, "unit": "events",
                "notes": "chain verifies after all benchmark appends" if result.ok else result.problem})
    k = 5000 if quick else 50000
    rounds = [_encryption(k) for _ in range(3)]
    ratio = statistics.median(a / b for a, b in rounds)
    out.append({"workload": "field_encrypt_and_index", "subject": round(statistics.median(a for a, _ in rounds)),
                "reference": round(statistics.median(b for _, b in rounds)), "ratio": round(ratio, 4), "target": "measure",
                "n": k, "unit": "values/s", "notes": "AES-GCM + HMAC blind index vs plain string build"})
    return out
