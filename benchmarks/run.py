#!/usr/bin/env python
"""Run every benchmarks/bench_*.py, print one JSON object per workload, and write var/bench/results.json plus a
readable table. Every figure is a ratio against a reference measured in the same run (QUALITY.md §2).

    python benchmarks/run.py [--quick] [--only NAME] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/bankcrm_bench")
PG_NAME = PG_URL.rsplit("/", 1)[-1].split("?")[0]  # BENCH_PG_URL=…/bankcrm_bench_ledger keeps runs apart


def prepare(database: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.bench"}
    if database == "postgresql":
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {PG_NAME}"], check=True)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {PG_NAME}"], check=True)
        env["BENCH_DATABASE_URL"] = PG_URL
    else:
        for suffix in ("", "-wal", "-shm"):
            (ROOT / "var" / "bench" / f"bench.sqlite3{suffix}").unlink(missing_ok=True)
        env.pop("BENCH_DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def run_in_child(database: str, quick: bool, only: str) -> list[dict]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.bench"}
    if database == "postgresql":
        env["BENCH_DATABASE_URL"] = PG_URL
    out = subprocess.run([sys.executable, __file__, "--child", "--database", database, *(["--quick"] if quick else []),
                          *(["--only", only] if only else [])], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    sys.stderr.write(out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def child(database: str, quick: bool, only: str) -> None:
    import django

    django.setup()
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        name = path.stem[len("bench_"):]
        if only and only != name:
            continue
        mod = importlib.import_module(f"benchmarks.{path.stem}")
        for result in mod.run(quick=quick, database=database):
            print(json.dumps({**result, "database": database, "quick": quick}, ensure_ascii=False), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--database", default="both", choices=["sqlite", "postgresql", "both"])
    ap.add_argument("--child", action="store_true")
    a = ap.parse_args()
    if a.child:
        child(a.database, a.quick, a.only)
        return
    results = []
    for db in (["sqlite", "postgresql"] if a.database == "both" else [a.database]):
        prepare(db)
        for r in run_in_child(db, a.quick, a.only):
            print(json.dumps(r, ensure_ascii=False))
            results.append(r)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    lines = [f"{'workload':<34}{'db':<12}{'ratio':>8}  {'target':<14}{'n':>8}  notes"]
    for r in results:
        lines.append(f"{r['workload']:<34}{r['database']:<12}{r['ratio']:>8.3f}  {r.get('target', '')!s:<14}{r['n']:>8}  {r.get('notes', '')}")
    table = "\n".join(lines)
    (out / "results.txt").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
