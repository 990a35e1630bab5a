"""Customer import and search, measured against references in the same run (QUALITY.md P3, P4).

- P3 import: N customers from a CSV through bulk.py (read, validate, pinyin, bigrams, blind indexes, AES-GCM,
  duplicate checks, customer numbers, manager assignments, COPY/executemany, one audit event per batch) against
  loading the already-clean result (the very rows the import wrote, dumped after the first round) into the same
  tables with the same indexes: PostgreSQL COPY, SQLite executemany. Rounds alternate; the median ratio is reported.
- P4 search: the one search box (`selectors.search_results`, what the search page calls: scoped, decrypting the
  page it shows) against the best hand-written SQL on the same indexes, p95 per kind of query over the imported
  customers, and EXPLAIN of every query kind (does each plan use an index?). Exact keys run SQL compiled once per
  actor and kind of key (ADR 0010); `subject_cold` is the p95 of the same searches with that cache emptied before
  each one, the cost of an actor's first search of a kind, reported beside the ratio and not in it.
"""

from __future__ import annotations

import csv
import random
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

SEED = 20261128
TABLES = ("customers_customer", "customers_namebigram", "customers_managerassignment")


def _bank():
    """A head office, one branch with a supervisor (the importer) and a customer manager."""
    from bankcrm.org import services
    from bankcrm.org.models import Branch, Staff

    if Branch.objects.filter(code="901").exists():
        return Staff.objects.get(staff_no="BSV01"), Staff.objects.get(staff_no="BCM01")
    admin = Staff.objects.filter(staff_no="BAD01").first()
    if admin is None:
        admin = services.bank_bootstrap(head_office_code="900", head_office_name="基准总行", admin_staff_no="BAD01",
                                        admin_name="基准管理", admin_password="Bench-Passw0rd!x")
    admin = Staff.objects.get(pk=admin.pk)
    branch = services.branch_create(actor=admin, code="901", name="基准分行", kind="branch", parent_id=admin.branch_id)
    sv = services.staff_create(actor=admin, staff_no="BSV01", name="基准行长", branch_id=branch.pk, employment_type="employee",
                               roles=["branch_supervisor"], password="Bench-Passw0rd!x")
    cm = services.staff_create(actor=admin, staff_no="BCM01", name="基准经理", branch_id=branch.pk, employment_type="employee",
                               roles=["customer_manager"], password="Bench-Passw0rd!x")
    return Staff.objects.get(pk=sv.pk), Staff.objects.get(pk=cm.pk)


def _write_csv(path: Path, n: int) -> list[tuple[str, ...]]:
    from bankcrm.customers import bulk
    from bankcrm.customers.demo_bulk import generate

    rows = [values for _row, values in generate(random.Random(SEED), n, [], date(2026, 11, 28))]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([bulk.FIELD_LABELS[f] for f in bulk.INPUT_FIELDS])
        w.writerows(rows)
    return rows


def _clear() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("TRUNCATE " + ", ".join(TABLES) + " CASCADE")
        else:
            for t in reversed(TABLES):
                cur.execute(f"DELETE FROM {t}")


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE")


def _subject(path: Path, actor, manager, workers: int) -> float:
    from bankcrm.customers import bulk, import_files

    info = import_files.FileInfo("csv", "utf-8", ",")
    with path.open("rb") as fh:
        headers, _p, _h = import_files.read_head(fh, info)
        fh.seek(0)
        mapping = import_files.auto_map(headers)
        t = time.perf_counter()
        registrar = bulk.BulkRegistrar(actor=actor, default_manager=manager, source="bench")
        total, errors = bulk.register_rows(import_files.mapped_rows(fh, info, mapping), registrar=registrar,
                                           workers=workers, batch_size=20_000)
        elapsed = time.perf_counter() - t
    assert not errors and total > 0, errors[:3]
    return elapsed


def _dump(folder: Path) -> dict[str, tuple[list[str], Path | list]]:
    """The rows the import wrote, as the clean file the reference loads."""
    from django.db import connection

    out = {}
    with connection.cursor() as cur:
        for t in TABLES:
            cur.execute(f"SELECT * FROM {t} WHERE 1 = 0")
            cols = [c[0] for c in cur.description]
            if connection.vendor == "postgresql":
                path = folder / f"{t}.copy"
                with path.open("wb") as fh, cur.cursor.copy(f"COPY {t} TO STDOUT") as copy:
                    for block in copy:
                        fh.write(block)
                out[t] = (cols, path)
            else:
                cur.execute(f"SELECT * FROM {t}")
                out[t] = (cols, cur.fetchall())
    return out


def _reference(clean: dict) -> float:
    from django.db import connection, transaction

    t = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        for table in TABLES:
            cols, data = clean[table]
            if connection.vendor == "postgresql":
                with data.open("rb") as fh, cur.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    while block := fh.read(1 << 20):
                        copy.write(block)
            else:
                marks = ", ".join(["%s"] * len(cols))
                cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", data)
    return time.perf_counter() - t


# ---- P4 -----------------------------------------------------------------------------------------------------------------
def _queries(rows: list[tuple[str, ...]], k: int) -> dict[str, list[str]]:
    from bankcrm.core.identifiers import normalise_mobile
    from bankcrm.customers import rules
    from bankcrm.customers.models import Customer

    rng = random.Random(SEED + 1)
    people = [r for r in rows if r[0] == "person"]
    sample = rng.sample(people, min(k, len(people)))
    numbers = list(Customer.objects.order_by("?").values_list("customer_no", flat=True)[:k])
    q = {
        "name_2chars": [r[1][1:3] if len(r[1]) >= 3 else r[1][:2] for r in sample],
        "name_3chars": [r[1][:3] for r in sample if len(r[1]) >= 3] or [r[1] for r in sample],
        "pinyin": [rules.name_keys(r[1])[0][:6] for r in sample],
        "initials": [rules.name_keys(r[1])[1] for r in sample],
        "mobile_last4": [r[4][-4:] for r in sample],
        "mobile": [normalise_mobile(r[4])[3:] for r in sample],
        "id_number": [r[3] for r in sample],
        "customer_no": numbers,
    }
    return q


REFERENCE_SQL = {
    # The same filters, written by hand against the same indexes, returning the same first page.
    "name_2chars": "c.id IN (SELECT customer_id FROM customers_namebigram WHERE bigram = %s) AND c.name LIKE %s",
    "name_3chars": "c.id IN (SELECT customer_id FROM customers_namebigram WHERE bigram = %s) "
                   "AND c.id IN (SELECT customer_id FROM customers_namebigram WHERE bigram = %s) AND c.name LIKE %s",
    "pinyin": "(c.name_initials LIKE %s OR c.name_pinyin LIKE %s)",
    "initials": "(c.name_initials LIKE %s OR c.name_pinyin LIKE %s)",
    "mobile_last4": "c.mobile_last4 = %s",
    "mobile": "c.mobile_bidx = %s",
    "id_number": "c.id_number_bidx = %s",
    "customer_no": "c.customer_no = %s",
}


def _reference_params(kind: str, q: str) -> list:
    from bankcrm.core import crypto
    from bankcrm.core.identifiers import normalise_mobile
    from bankcrm.customers import rules

    if kind == "name_2chars":
        return [q, f"%{q}%"]
    if kind == "name_3chars":
        grams = sorted(rules.bigrams(q))
        return [grams[0], grams[-1], f"%{q}%"]
    if kind in ("pinyin", "initials"):
        return [f"{q}%", f"{q}%"]
    if kind == "mobile":
        return [crypto.blind_index(normalise_mobile(q), "customer.mobile")]
    if kind == "id_number":
        return [crypto.blind_index(q.upper(), "customer.id_number")]
    return [q]


def _reference_query(kind: str, q: str, root: str, actor_id: int) -> float:
    from django.db import connection

    # The same scope as Customer.objects.visible_to for a supervisor: the branch subtree, or managed by the actor.
    sql = ("SELECT c.* FROM customers_customer c JOIN org_branch b ON b.id = c.branch_id "
           "WHERE (b.path LIKE %s OR EXISTS (SELECT 1 FROM customers_managerassignment m WHERE m.customer_id = c.id "
           f"AND m.staff_id = %s AND m.ended_at IS NULL)) AND {REFERENCE_SQL[kind]} ORDER BY c.customer_no LIMIT 20")
    t = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(sql, [root + "%", actor_id, *_reference_params(kind, q)])
        cur.fetchall()
    return time.perf_counter() - t


def _subject_query(actor, q: str, *, cold: bool = False) -> float:
    from bankcrm.customers import selectors

    if cold:
        selectors.clear_search_plans()
    t = time.perf_counter()
    list(selectors.search_results(actor, q)[:20])  # what the search page loads
    return time.perf_counter() - t


EXPECTED_INDEX = {  # the index each kind of query should be served by (a fragment of its name)
    "name_2chars": "bigram", "name_3chars": "bigram", "pinyin": "name_", "initials": "name_",
    "mobile_last4": "mobile_last4", "mobile": "mobile_bidx", "id_number": "id_number_bidx", "customer_no": "customer_no",
}


def _plan_uses_index(actor, kind: str, q: str) -> tuple[bool, str]:
    """Does the plan reach the customers through the index meant for this kind of query? A scan of the whole
    table, or of an unrelated index in ORDER BY order with a filter, does not count."""
    from django.db import connection

    from bankcrm.customers import selectors

    plan = selectors.search(actor, q)[:20].explain()
    if connection.vendor == "postgresql":
        uses = (EXPECTED_INDEX[kind] in plan and "Seq Scan on customers_customer" not in plan
                and "Seq Scan on customers_namebigram" not in plan)
    else:  # SQLite names unique indexes sqlite_autoindex_*: judge by SEARCH (index lookup) against SCAN (full walk)
        uses = "SCAN customers_customer" not in plan and "SCAN customers_namebigram" not in plan and "SEARCH" in plan
    return uses, " | ".join(line.strip() for line in plan.splitlines()[:8])


def _p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def run(*, quick: bool, database: str) -> list[dict]:
    import os

    from django.conf import settings

    from bankcrm.customers import bulk

    # BENCH_CUSTOMERS_N sets the size; BENCH_P3_ROUNDS=0 loads once and measures only P4 (a 1M-customer search run
    # without three 1M import rounds against COPY).
    n = int(os.environ.get("BENCH_CUSTOMERS_N") or (20_000 if quick else 1_000_000))
    rounds = 3
    p3_rounds = int(os.environ.get("BENCH_P3_ROUNDS", rounds))
    actor, manager = _bank()
    out = []
    with tempfile.TemporaryDirectory(dir=getattr(settings, "BENCH_DIR", None)) as tmp:
        folder = Path(tmp)
        path = folder / "customers.csv"
        rows = _write_csv(path, n)
        workers = bulk.default_workers(n)
        _clear()
        first = _subject(path, actor, manager, workers)
        clean = _dump(folder)
        ratios, subj, ref = [], [], []
        for _ in range(p3_rounds):
            _clear()
            r = _reference(clean)
            _clear()
            s = _subject(path, actor, manager, workers)
            ratios.append(r / s)
            subj.append(n / s)
            ref.append(n / r)
        _analyze()
        if not p3_rounds:
            out.append({"workload": "P3_import_customers_load_only", "subject": round(n / first), "reference": 0, "ratio": 0.0,
                        "target": "not compared (BENCH_P3_ROUNDS=0)", "n": n, "unit": "customers/s", "workers": workers,
                        "first_round_s": round(first, 2), "notes": "one load through bulk.py, for the P4 runs below"})
        else:
            out.append({"workload": "P3_import_customers", "subject": round(statistics.median(subj)), "reference": round(statistics.median(ref)),
                        "ratio": round(statistics.median(ratios), 3), "target": ">= 0.25", "n": n, "unit": "customers/s",
                        "workers": workers, "first_round_s": round(first, 2), "rounds": [round(x, 3) for x in ratios],
                        "notes": ("bulk.py from CSV vs " + ("COPY" if database == "postgresql" else "executemany")
                                  + " of the same clean rows (customers, bigrams, assignments) into the same tables")})
        k = 30 if quick else 100
        queries = _queries(rows, k)
        root = actor.branch.path
        for kind, qs in queries.items():
            s_times, r_times = [], []
            cold_times = [_subject_query(actor, q, cold=True) for q in qs]  # first, so that warm rounds stay warm
            for q in qs * 1:
                for _ in range(rounds):
                    r_times.append(_reference_query(kind, q, root, actor.pk))
                    s_times.append(_subject_query(actor, q))
            uses, plan = _plan_uses_index(actor, kind, qs[0])
            ps, pr = _p95(s_times) * 1000, _p95(r_times) * 1000
            out.append({"workload": f"P4_search_{kind}", "subject": round(ps, 2), "reference": round(pr, 2),
                        "ratio": round(ps / pr, 3) if pr else 0.0, "target": "p95 <= 2x ref and <= 30 ms; index used",
                        "subject_cold": round(_p95(cold_times) * 1000, 2),
                        "n": n, "unit": "ms p95", "queries": len(qs) * rounds, "plan_uses_index": uses,
                        "notes": ("index: yes" if uses else "index: NO") + f"; plan: {plan[:300]}"})
    return out
