"""QUALITY.md R14 for the nightly AML monitoring run (services.monitoring_run): killed 20 times and resumed, the
alerts equal those of an uninterrupted run; run again for the same date (with and without force) it changes nothing
and raises no duplicate.

The data set: customers registered in bulk (the import path), one CNY demand account each (some USD, some long
dormant), a few thousand monitored transactions on the business date and the two days before (cash near the 50,000
threshold, internal transfers between customers, outward transfers to a pool of counterparties), written directly as
journal entries + postings. A kill is an exception raised inside a chunk after its alerts were written (the chunk's
transaction must roll back with its checkpoint). Size: R14_MONITORING_TXNS (default 5,000).

The detector also runs against two deliberately broken variants and must catch both (a test that cannot fail proves
nothing): a run that commits its checkpoint in one transaction and the chunk's alerts in another (a kill between them
loses the chunk), and alerts without a stable dedupe key (a re-run duplicates them).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from bankcrm.customers import bulk
from bankcrm.customers.demo_bulk import generate
from bankcrm.customers.models import Customer
from bankcrm.ledger import services as ledger
from bankcrm.ledger.models import Account, Product
from bankcrm.risk import alerting, monitoring, services
from bankcrm.risk.models import Alert, BatchRun, RiskProfile
from tests.conftest import write_figures
from tests.test_risk_monitoring_rules import Acc, World, insert, local, move

W = 100
TXNS = int(os.environ.get("R14_MONITORING_TXNS", "5000"))
KILLS = 20
SEED = 20260514


class Killed(Exception):
    """Stands for SIGKILL in the middle of a chunk."""


def build(bank, txns: int = TXNS) -> tuple[World, date, int]:
    """The data set described in the module docstring; returns the world, the business date and the entry count."""
    rng = random.Random(SEED)
    ledger.ledger_bootstrap(actor=bank.admin)
    ledger._INTERNAL_IDS.clear()
    ledger._CUSTOMER_KIND.clear()
    services.rules_install_builtin(actor=bank.admin)
    day = timezone.localdate() - timedelta(days=10)
    n_customers = max(300, txns // 5)
    registrar = bulk.BulkRegistrar(actor=bank.supervisor_a, default_manager=bank.cm_a1, source="test_r14")
    bulk.register_rows(generate(rng, n_customers, [], timezone.localdate()), registrar=registrar,
                       commit_each_batch=False)
    cids = sorted(Customer.objects.values_list("pk", flat=True))
    bands = ["<10w", "10-30w", "30-100w", "100w+", ""]
    for cid in cids:
        Customer.objects.filter(pk=cid).update(kind="company" if rng.random() < 0.1 else "person",
                                               income_band=rng.choice(bands))
    kinds = dict(Customer.objects.values_list("pk", "kind"))
    products = {p.currency: p for p in Product.objects.filter(code__in=["D-CNY", "D-USD"])}
    plan = [(cid, "CNY") for cid in cids] + [(cid, "USD") for cid in cids if rng.random() < 0.1]
    numbers = ledger._new_numbers(len(plan))
    long_ago, recent = local(day - timedelta(days=800)), local(day - timedelta(days=60))
    Account.objects.bulk_create([
        Account(number=num, kind="customer", customer_id=cid, product=products[cur], branch=bank.a1,
                branch_path=bank.a1.path, currency=cur, normal_side="C", title="客户",
                opened_at=long_ago if rng.random() < 0.2 else recent)
        for num, (cid, cur) in zip(numbers, plan, strict=True)])
    accounts = [Acc(a.pk, "customer", a.currency, a.customer_id, a.opened_at)
                for a in Account.objects.filter(kind="customer").order_by("pk")]
    internal = {}
    for cur in ("CNY", "USD"):
        internal[("cash", cur)] = Acc(ledger.cash_box_open(actor=bank.om_a1, currency=cur).pk, "cash", cur)
        internal[("clearing", cur)] = Acc(ledger.internal_account_id("clearing", cur), "clearing", cur)
    w = World(bank, day, [day], [day], {c: (kinds[c], "") for c in cids}, accounts, internal, {}, bank.om_a1.pk,
              bank.a1.path)
    cny = [a for a in accounts if a.cur == "CNY"]
    moves = []
    cash = [46_000, 47_500, 49_999, 50_000, 12_000, 30_000, 120_000, 300_000, 600_000, 2_500]
    for _ in range(txns):
        acc = rng.choice(accounts if rng.random() < 0.15 else cny)
        d = day - timedelta(days=rng.choice([0, 0, 0, 1, 2]))
        roll = rng.random()
        amount = rng.choice(cash) * W + rng.randrange(0, 100)
        if acc.cur == "USD":
            amount //= 7
        if roll < 0.4:
            moves.append(move(w, "cash_in", acc, amount, d))
        elif roll < 0.55:
            moves.append(move(w, "cash_out", acc, amount, d))
        elif roll < 0.8 and acc.cur == "CNY":
            moves.append(move(w, "internal", acc, amount, d, other=rng.choice([a for a in rng.sample(cny, 3)
                                                                                if a.id != acc.id])))
        else:
            cp = rng.randrange(15)
            moves.append(move(w, "outward", acc, amount, d, bank=f"银行{cp % 4}", name=f"对手{cp}",
                              xb=rng.random() < 0.2))
    insert(w, moves)
    return w, day, len(moves)


def alert_set() -> set[tuple]:
    return {(a["dedupe_key"], tuple(a["entry_ids"]), a["total_minor"], json.dumps(a["figures"], sort_keys=True))
            for a in Alert.objects.values("dedupe_key", "entry_ids", "total_minor", "figures")}


def duplicates() -> int:
    """The same fact alerted twice (whatever the keys say), plus open-alert counters that disagree with the alerts
    (a rolled-back chunk must not leave its notification count behind)."""
    dup = sum(r["n"] - 1 for r in Alert.objects.values("rule_code", "customer_id", "business_date", "direction",
                                                         "currency_group").annotate(n=Count("id")) if r["n"] > 1)
    per_customer = Counter(Alert.objects.values_list("customer_id", flat=True))
    profiles = dict(RiskProfile.objects.filter(open_alerts__gt=0).values_list("customer_id", "open_alerts"))
    return dup + sum(1 for c in set(per_customer) | set(profiles) if per_customer.get(c, 0) != profiles.get(c, 0))


def broken_checkpoint_first(*, day: date, force: bool = False, chunk: int) -> Any:
    """BROKEN on purpose: the checkpoint commits in its own transaction before the chunk's alerts."""
    rules_ = monitoring.rules_in_force(day)
    BatchRun.objects.bulk_create([BatchRun(job="monitoring", business_date=day, started_at=timezone.now())],
                                 ignore_conflicts=True)
    run_ = BatchRun.objects.get(job="monitoring", business_date=day)
    if run_.status == BatchRun.Status.DONE and not force:
        return run_
    while ids := monitoring.customers_active_on(day, run_.last_id, chunk):
        with transaction.atomic():
            run_.last_id = ids[-1]
            BatchRun.objects.filter(pk=run_.pk).update(last_id=run_.last_id)
        with transaction.atomic():
            alerting.raise_or_refresh(monitoring.evaluate(day, monitoring.Scope(lo=ids[0], hi=ids[-1]), rules_),
                                      source="batch")
    BatchRun.objects.filter(pk=run_.pk).update(status=BatchRun.Status.DONE)
    run_.status = BatchRun.Status.DONE
    return run_


def exercise(monkeypatch, day: date, chunk: int, *, variant: str = "product") -> dict[str, int]:
    """Uninterrupted run (rolled back) vs killed KILLS times and resumed; then the same date again, not forced and
    forced. Returns the figures."""
    run = broken_checkpoint_first if variant == "checkpoint_first" else services.monitoring_run
    real = alerting.raise_or_refresh
    if variant == "no_dedupe":  # BROKEN on purpose: every run gets keys of its own
        runs = {"n": 0}

        def keyless(hits, **kw):
            return real([alerting.Hit(**{**h.__dict__, "dedupe_key": f"{h.dedupe_key}#{runs['n']}"}) for h in hits],
                        **kw)
        monkeypatch.setattr(alerting, "raise_or_refresh", keyless)
        real_run = run

        def run(**kw):  # counts runs for the keyless variant
            runs["n"] += 1
            return real_run(**kw)
    with transaction.atomic():
        run(day=day, chunk=chunk)
        baseline = alert_set()
        transaction.set_rollback(True)
    assert len(baseline) > 50, len(baseline)
    rng = random.Random(SEED)
    current = alerting.raise_or_refresh
    kills = 0
    while kills < KILLS:
        calls, kill_at = {"n": 0}, rng.choice([1, 2, 2, 3])

        def killing(hits, **kw):
            out = current(hits, **kw)  # the chunk's alerts are written, then the process dies
            calls["n"] += 1
            if calls["n"] == kill_at:
                raise Killed
            return out
        monkeypatch.setattr(alerting, "raise_or_refresh", killing)
        try:
            run(day=day, chunk=chunk)
        except Killed:
            kills += 1
        else:
            break
        finally:
            monkeypatch.setattr(alerting, "raise_or_refresh", current)
    assert kills == KILLS, f"only {kills} kills: the data set has too few chunks"
    last = run(day=day, chunk=chunk)
    assert last.status == BatchRun.Status.DONE
    resumed = alert_set()
    done = BatchRun.objects.get(job="monitoring", business_date=day)
    again = run(day=day, chunk=chunk)  # a finished run is not redone: its checkpoint must not move
    moved = int((again.changes, again.items, again.last_id) != (done.changes, done.items, done.last_id))
    forced = run(day=day, chunk=chunk, force=True)  # redone from the start: finds everything already alerted
    after = alert_set()
    changes = len(after ^ resumed) + moved + (forced.changes or 0)
    items = done.items
    return {"diff": len(baseline ^ resumed), "second_run_changes": changes, "duplicates": duplicates(),
            "alerts": len(resumed), "items": items}


@pytest.fixture
def dataset(bank):
    return build(bank)


@pytest.fixture
def small_dataset(bank):
    """The detector only has to see each broken variant fail: a smaller set (still 60 chunks) is enough."""
    return build(bank, txns=min(TXNS, 1500))


def test_r14_nightly_monitoring_killed_and_rerun(dataset, monkeypatch):
    _w, day, n = dataset
    chunk = max(5, len(monitoring.customers_active_on(day, 0, 10**9)) // 60)
    f = exercise(monkeypatch, day, chunk)
    passed = f["diff"] == 0 and f["second_run_changes"] == 0 and f["duplicates"] == 0
    write_figures("R14", passed, monitoring_diff=f["diff"], monitoring_second_run_changes=f["second_run_changes"],
                  monitoring_duplicates=f["duplicates"], monitoring_kills=KILLS, monitoring_items=f["items"],
                  monitoring_transactions=n, monitoring_alerts=f["alerts"])
    assert passed, f
    assert len({a.split(":")[0] for a, *_ in alert_set()}) >= 5  # many rules fired, not just one


@pytest.mark.parametrize("variant", ["checkpoint_first", "no_dedupe"])
def test_r14_detector_catches_broken_runs(small_dataset, monkeypatch, variant):
    _w, day, _n = small_dataset
    chunk = max(5, len(monitoring.customers_active_on(day, 0, 10**9)) // 60)
    f = exercise(monkeypatch, day, chunk, variant=variant)
    if variant == "checkpoint_first":
        assert f["diff"] > 0, f
    else:
        assert f["second_run_changes"] > 0 and f["duplicates"] > 0, f
