"""R16 — backup/restore round trip under load (QUALITY.md).

While an R1-style workload runs (clients moving money among 8 hot accounts, the audit sealer consuming the outbox,
a reader summing the hot balances), a signed audit head is exported and the operations drill's own script,
`scripts/backup.sh` (`pg_dump -Fc`, the heads, the keys to a separate folder), takes a copy of the test database.
`scripts/restore.sh` restores the copy into a fresh database (checksums, `pg_restore`, `verify_audit` against the
backed-up heads with the backed-up keys), and there, in a process whose Django settings point at it, every ledger
invariant is checked again
(`invariant_report()`, posting chain, entry legs, one outbox event per entry, the hot total as it was before the
workload), the entries the sealer had not reached when the dump was taken are sealed, and the audit chain is
verified with the source's keys (every entry sealed exactly once). violations = 0. The restored database is dropped.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import time
import uuid

import pytest
from django.db import connection

from bankcrm.ledger.models import JournalEntry
from tests import backup_tools
from tests.conftest import write_figures
from tests.test_r1_r2_ledger_concurrency import _db, _hot_total, _stop_all, hot_accounts, make_plan

PROCESSES = 4
TRANSFERS = 150
TOOLS = ("pg_dump", "pg_restore", "createdb", "dropdb")

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _pg_args() -> tuple[list[str], dict[str, str]]:
    s = connection.settings_dict
    args = []
    if s.get("HOST"):
        args += ["-h", str(s["HOST"])]
    if s.get("PORT"):
        args += ["-p", str(s["PORT"])]
    if s.get("USER"):
        args += ["-U", str(s["USER"])]
    env = dict(os.environ)
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (cmd[0], done.returncode, done.stderr[-2000:])


def test_r16_backup_restore_round_trip_under_load(bank, tmp_path, settings):
    from bankcrm.core import audit
    from tests.workers import audit_sealer_loop, check_restored_copy, ledger_checks, ledger_total_reader, ledger_transfers

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: pg_dump / pg_restore")
    missing = [t for t in TOOLS if shutil.which(t) is None] + backup_tools.missing_tools()
    if missing:
        pytest.skip(f"PostgreSQL client tools not on PATH: {', '.join(missing)}")
    settings.BANKCRM_AUDIT_HEAD_DIR = tmp_path / "audit-heads"  # this test's heads only, none from other tests

    ids, actor_of, total = hot_accounts(bank)
    db, keys = _db()
    args, env = _pg_args()
    url = backup_tools.pg_url(connection.settings_dict)
    restored = f"{db}_restore_{uuid.uuid4().hex[:8]}"[:63]
    token = uuid.uuid4().hex[:8]
    ctx = multiprocessing.get_context("spawn")
    start, stop, results = ctx.Event(), ctx.Event(), ctx.Queue()
    reader = ctx.Process(target=ledger_total_reader, args=(ids, total, db, keys, stop, results))
    sealer = ctx.Process(target=audit_sealer_loop, args=(db, keys, stop, results))
    clients = [ctx.Process(target=ledger_transfers,
                           args=(i, make_plan(ids, i, TRANSFERS, token), actor_of, db, keys, start, results))
               for i in range(PROCESSES)]
    procs = [reader, sealer, *clients]
    entries_before = JournalEntry.objects.count()
    fig: dict = {"processes": PROCESSES, "transfers_per_process": TRANSFERS}
    created = False
    try:
        for p in procs:
            p.start()
        start.set()
        t0 = time.monotonic()
        while JournalEntry.objects.count() - entries_before < 100:  # the dump starts in the thick of the workload
            assert time.monotonic() - t0 < 90, "workload did not start"
            time.sleep(0.05)
        fig["exported_head_seq"] = audit.export_head()["seq"]  # the restored chain must reach at least this far
        fig["entries_posted_when_dump_started"] = JournalEntry.objects.count() - entries_before
        t1 = time.monotonic()
        done, folder = backup_tools.backup(url, keys, settings.BANKCRM_AUDIT_HEAD_DIR, tmp_path / "backups",
                                           tmp_path / "keys-backups")
        assert done.returncode == 0, done.stderr[-2000:]
        fig["dump_seconds"] = round(time.monotonic() - t1, 2)
        fig["dump_bytes"] = (folder / "bankcrm.dump").stat().st_size
        fig["entries_posted_when_dump_ended"] = JournalEntry.objects.count() - entries_before
        out = dict(results.get(timeout=300) for _ in clients)
        fig["workload_seconds"] = round(time.monotonic() - t0, 2)
        fig["entries_posted_at_end"] = JournalEntry.objects.count() - entries_before
        fig["client_errors"] = sum(sum(r["errors"].values()) for r in out.values())
        stop.set()
        side = dict(results.get(timeout=30) for _ in ("reader", "sealer"))
        reader_out = side["reader"]
        fig["sealed_during_workload"] = side["sealer"]["sealed"]
        fig["sealer_errors"] = side["sealer"]["errors"]
        fig["reader_wrong_totals"] = reader_out["wrong_totals"]
        fig["reader_reads"] = reader_out["reads"]
        for p in procs:
            p.join(20)

        t2 = time.monotonic()
        created = True
        done = backup_tools.restore(folder, tmp_path / "keys-backups" / "drill" / "keys.json",
                                    backup_tools.pg_url(connection.settings_dict, restored))
        fig["restore_script_ok"] = done.returncode == 0
        assert done.returncode == 0, done.stderr[-3000:]
        fig["restore_seconds"] = round(time.monotonic() - t2, 2)
        checker = ctx.Process(target=check_restored_copy, args=(restored, keys, ids, results))
        procs.append(checker)
        checker.start()
        restored_out = results.get(timeout=120)
        checker.join(20)
    finally:
        stop.set()
        for p in procs:
            p.join(20)
        _stop_all(procs)
        if created:
            subprocess.run(["dropdb", *args, "--if-exists", "--force", restored], env=env, capture_output=True,
                           timeout=60)

    checks = restored_out["checks"]
    source = ledger_checks()
    chain = restored_out["chain"]
    restored_entries = restored_out["entries"] - entries_before
    violations = {
        **{f"restored_{k}": v for k, v in checks.items() if v},
        **{f"restored_before_sealing_{k}": v for k, v in restored_out["before_sealing"].items() if v},
        **{f"source_{k}": v for k, v in source.items() if v},
        "restored_hot_total_drift": abs(restored_out["hot_total"] - total),
        "source_hot_total_drift": abs(_hot_total(ids) - total),
        "reader_wrong_totals": fig["reader_wrong_totals"],
        "audit_chain_broken": int(not chain["ok"]),
        "entries_unsealed": restored_out["entries_unsealed"],
        "entries_sealed_twice": restored_out["entries_sealed_twice"],
        "seals_without_entry": restored_out["seals_without_entry"],
        "undecryptable_account_numbers": restored_out["undecryptable_account_numbers"],
        "entries_missing_from_dump": max(0, fig["entries_posted_when_dump_started"] - restored_entries),
    }
    violations = {k: v for k, v in violations.items() if v}
    fig.update({
        "restored_entries": restored_entries,
        "restored_sealed_after_restore": restored_out["sealed_after_restore"],
        "audit_chain_ok": chain["ok"], "audit_events_checked": chain["checked"], "audit_problem": chain["problem"],
        "restored_checks": checks, "violations": sum(violations.values()), "violation_kinds": violations,
    })
    # the dump is one snapshot taken while clients were posting: strictly between the counts before and after it
    in_flight = fig["entries_posted_when_dump_started"] <= restored_entries <= fig["entries_posted_when_dump_ended"]
    fig["dump_snapshot_within_dump_window"] = in_flight
    passed = not violations and in_flight and fig["client_errors"] == 0 and fig["sealer_errors"] == 0
    write_figures("R16", passed, **fig)
    assert in_flight, fig
    assert fig["client_errors"] == 0, out
    assert not violations, fig


def test_r16_checks_catch_a_damaged_copy(bank, tmp_path):
    """Broken variant: the restored copy damaged behind the application's back (one balance nudged, one audit event
    edited, with the table triggers bypassed the way a superuser could); the same checks must report both."""
    from bankcrm.core import outbox
    from tests.workers import check_restored_copy

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: pg_dump / pg_restore")
    missing = [t for t in (*TOOLS, "psql") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"PostgreSQL client tools not on PATH: {', '.join(missing)}")
    ids, _actor_of, total = hot_accounts(bank)
    while outbox.consume("audit_sealer"):
        pass
    db, keys = _db()
    args, env = _pg_args()
    dump = tmp_path / "bankcrm.dump"
    restored = f"{db}_damaged_{uuid.uuid4().hex[:8]}"[:63]
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    checker = None
    created = False
    try:
        _run(["pg_dump", *args, "-Fc", "-f", str(dump), db], env)
        _run(["createdb", *args, "-T", "template0", restored], env)
        created = True
        _run(["pg_restore", *args, "--exit-on-error", "--no-owner", "-d", restored, str(dump)], env)
        damage = ("SET session_replication_role = replica; "
                  f"UPDATE ledger_account SET balance_fen = balance_fen + 1 WHERE id = {ids[0]}; "
                  "UPDATE core_auditevent SET reason = 'edited' WHERE seq = 3;")
        _run(["psql", *args, "-v", "ON_ERROR_STOP=1", "-d", restored, "-c", damage], env)
        checker = ctx.Process(target=check_restored_copy, args=(restored, keys, ids, results))
        checker.start()
        out = results.get(timeout=120)
        checker.join(20)
    finally:
        if checker is not None:
            _stop_all([checker])
        if created:
            subprocess.run(["dropdb", *args, "--if-exists", "--force", restored], env=env, capture_output=True,
                           timeout=60)
    caught = {"balance": out["checks"]["balance_mismatches"] > 0 and out["checks"]["total_drift"] > 0
              and out["hot_total"] != total,
              "audit": not out["chain"]["ok"] and out["chain"]["first_bad_seq"] == 3}
    write_figures("R16", True, broken_variant_caught=all(caught.values()), broken_variant=caught)
    assert all(caught.values()), out
