"""Bulk history for demos and load tests (`seed_demo --transactions N`).

Writes exactly what the posting service would for each movement — a journal entry, two postings with running
balances, the accounts' final balances and last customer activity, and the audit event the sealer would chain — but
in large batches, in chronological order, with every rule of `services.post` applied in Python against running
balances (status, currency, overdraft, the cash box never negative). Movements that would break a rule are skipped,
as the service would refuse them. Afterwards `selectors.invariant_report()` must be all zeros (the command checks).

It does not publish to the outbox: history is not "new" for consumers such as real-time monitoring; the audit events
are chained directly (`audit.record_batch`), as the sealer would.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from bankcrm.core import audit, bulkwrite

from .models import Account, JournalEntry, Posting, txn_no

K = JournalEntry.Kind


@dataclass
class _Acc:
    id: int
    side: str
    balance: int
    floor: int  # lowest allowed balance (−overdraft), or None for accounts that may run either way
    customer_id: int | None
    branch_path: str
    currency: str
    last_activity: datetime | None = None


def _load(ids: list[int]) -> dict[int, _Acc]:
    out = {}
    for a in Account.objects.filter(id__in=ids).values("id", "normal_side", "balance_fen", "overdraft_limit_fen",
                                                       "allow_negative", "customer_id", "branch_path", "currency",
                                                       "last_activity_at"):
        out[a["id"]] = _Acc(a["id"], a["normal_side"], a["balance_fen"],
                            None if a["allow_negative"] else -a["overdraft_limit_fen"], a["customer_id"],
                            a["branch_path"], a["currency"], a["last_activity_at"])
    return out


def _apply(acc: _Acc, side: str, amount: int) -> int | None:
    bal = acc.balance + (amount if side == acc.side else -amount)
    if acc.floor is not None and bal < acc.floor:
        return None
    return bal


def generate(*, customer_accounts: list[int], cash_boxes: dict[str, list[int]], clearing_id: int, n: int,
             start: date, end: date, rng: random.Random, makers: dict[str, list[int]],
             labels: dict[int, str], batch: int = 5000, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Post about ``n`` movements among ``customer_accounts`` (CNY) between ``start`` and ``end``.

    ``cash_boxes`` and ``makers`` map a branch path prefix (the sub-branch) to its tellers' cash box ids and staff ids.
    Returns counts of posted and skipped movements.
    """
    accs = _load(customer_accounts + [b for v in cash_boxes.values() for b in v] + [clearing_id])
    branches = sorted(cash_boxes)
    by_branch = {b: [a for a in customer_accounts if accs[a].branch_path.startswith(b)] for b in branches}
    days = max(1, (end - start).days + 1)
    per_day = max(1, n // days)
    posted = skipped = 0
    tz = timezone.get_current_timezone()
    pending: list[tuple] = []

    def flush() -> None:
        nonlocal pending
        if pending:
            _write(pending, accs, labels)
            pending = []

    for d in range(days):
        day = start + timedelta(days=d)
        for _ in range(per_day if d < days - 1 else n - per_day * (days - 1)):
            branch = rng.choice(branches)
            own = by_branch[branch]
            if not own:
                continue
            at = datetime.combine(day, time(9, 0), tzinfo=tz) + timedelta(seconds=rng.randrange(0, 8 * 3600))
            maker = rng.choice(makers[branch])
            roll = rng.random()
            amount = rng.choice([5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000]) + \
                rng.randrange(0, 100) * 100
            box = rng.choice(cash_boxes[branch])
            acc = rng.choice(own)
            if roll < 0.40:
                kind, debit, credit = K.CASH_DEPOSIT, box, acc
                amount *= 3  # salaries and takings come in bigger than they go out
            elif roll < 0.65:
                kind, debit, credit = K.CASH_WITHDRAWAL, acc, box
            elif roll < 0.92:
                other = rng.choice(customer_accounts)
                if other == acc:
                    skipped += 1
                    continue
                kind, debit, credit = K.INTERNAL, acc, other
            else:
                kind, debit, credit = K.OUTWARD, acc, clearing_id
            a, b = accs[debit], accs[credit]
            nd, nc = _apply(a, "D", amount), _apply(b, "C", amount)
            if nd is None or nc is None:
                skipped += 1
                continue
            a.balance, b.balance = nd, nc
            for x in (a, b):
                if x.customer_id:
                    x.last_activity = at
            pending.append((kind, amount, debit, credit, nd, nc, a.customer_id or b.customer_id,
                            (a if a.customer_id else b).branch_path, maker, day, at))
            posted += 1
            if len(pending) >= batch:
                flush()
                if progress:
                    progress(posted)
    flush()
    return {"posted": posted, "skipped": skipped}


ENTRY_COLUMNS = ["id", "kind", "channel", "currency", "amount_fen", "debit_account_id", "credit_account_id", "customer_id",
                 "branch_path", "maker_id", "counterparty_bank", "counterparty_name", "counterparty_account",
                 "cross_border", "counterparty_country", "memo", "business_date", "posted_at"]
POSTING_COLUMNS = ["entry_id", "account_id", "side", "amount_fen", "balance_after_fen", "business_date", "posted_at"]


def _write(rows: list[tuple], accs: dict[int, _Acc], labels: dict[int, str]) -> None:
    """One transaction per batch: entries (keys reserved first), postings, balances, audit events — written with
    COPY/executemany of plain tuples (the ORM's per-value preparation was most of the time)."""
    with transaction.atomic():
        ids = bulkwrite.reserve_ids(JournalEntry._meta.db_table, len(rows))
        v = bulkwrite.db_value
        entries, postings, items = [], [], []
        for pk, (kind, amount, d, c, nd, nc, cust, path, maker, day, at) in zip(ids, rows, strict=True):
            day_v, at_v = v(day), v(at)
            entries.append((pk, kind, "counter", "CNY", amount, d, c, cust, path, maker, "", "", "", False, "", "",
                            day_v, at_v))
            postings.append((pk, d, "D", amount, nd, day_v, at_v))
            postings.append((pk, c, "C", amount, nc, day_v, at_v))
            items.append(audit.Deferred(
                actor_id=maker, actor_label=labels.get(maker, ""), verb="ledger.entry_posted",
                target_type="ledger.JournalEntry", target_id=str(pk), target_repr=f"{txn_no(day, pk)} {kind}",
                after={"kind": kind, "amount_fen": amount, "currency": "CNY", "debit_id": d, "credit_id": c,
                       "checker_id": None, "approval_id": None, "channel": "counter", "reversal_of_id": None,
                       "business_date": day.isoformat()},
                occurred_at=at, channel="command"))
        bulkwrite.copy_rows(JournalEntry._meta.db_table, ENTRY_COLUMNS, entries)
        bulkwrite.copy_rows(Posting._meta.db_table, POSTING_COLUMNS, postings)
        audit.record_batch(items)
        touched = {x for r in rows for x in (r[2], r[3])}
        _set(touched, accs)


def _set(ids: set[int], accs: dict[int, _Acc]) -> None:
    params: list[Any] = []
    rows = []
    for i in ids:
        a = accs[i]
        rows.append("(%s::bigint, %s::bigint, %s::timestamptz)" if connection.vendor == "postgresql" else "(%s, %s, %s)")
        params += [i, a.balance, a.last_activity]
    with connection.cursor() as cur:
        for start in range(0, len(rows), 500):
            chunk_rows = rows[start:start + 500]
            chunk = params[start * 3:(start + 500) * 3]
            if connection.vendor == "postgresql":
                cur.execute(
                    "UPDATE ledger_account a SET balance_fen = v.bal, last_activity_at = COALESCE(v.at, a.last_activity_at) "
                    f"FROM (VALUES {', '.join(chunk_rows)}) AS v(id, bal, at) WHERE a.id = v.id",
                    chunk)
            else:
                for j in range(0, len(chunk), 3):
                    cur.execute("UPDATE ledger_account SET balance_fen = %s, last_activity_at = COALESCE(%s, "
                                "last_activity_at) WHERE id = %s", [chunk[j + 1], chunk[j + 2], chunk[j]])
