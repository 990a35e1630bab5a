"""Batch posting (QUALITY.md P2): many movements with the rules of `services.post`, written with bulk statements.

`post_batch(movements, maker=…)` posts the movements in their order, ``chunk_size`` per transaction:

1. lock every account the chunk touches in one SELECT … FOR UPDATE in id order (`services._lock`, the order every
   posting uses, so batches and online postings wait for each other but never deadlock);
2. read what the checks need once per chunk: the limit rules, the kinds of customers not yet cached, the day's
   running debit totals of the chunk's debited accounts (their rows change only under the account's lock);
3. apply each movement in order to that locked state with the checks of `services.post`, in its order and with its
   codes and messages: amount, same account, existence, currency, status (`services._check_can_move`),
   balance/overdraft, per-transaction and per-day limits. A movement that fails is rejected and changes nothing; the
   ones after it see the state without it, exactly as a row-by-row `services.post` with a savepoint per row would;
4. write the accepted movements with one statement each per chunk: reserve their ids (so that postings and events
   follow their entries in id order), INSERT the entries, INSERT their postings (double entry, the running balance
   after each), UPDATE the balances (and last activity for customer-initiated kinds), UPSERT the daily debit totals,
   INSERT one outbox event per entry with the payload `services.post` publishes (the audit sealer chains them after
   commit). On PostgreSQL the three INSERTs go through a server-side-binding cursor of the same connection and
   transaction (`_insert`), so Django's query log (CaptureQueriesContext) does not list them.

Reversals are refused here: each one goes through maker-checker (`services.reversal_request`). Like `services.post`,
this does not check the maker's capability or the approval threshold: the caller (the batch job, whose file was
approved as a whole) does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import context
from bankcrm.core.errors import DomainError, NotFound, RuleViolation, ValidationFailed
from bankcrm.core.models import OutboxEvent
from bankcrm.core.money import format_amount

from . import rules, services
from .models import Account, DailyDebit, JournalEntry, LimitRule, Posting

A, K = Account, JournalEntry.Kind
LIMITED_KINDS = (K.CASH_WITHDRAWAL, K.INTERNAL, K.OUTWARD)  # the kinds services applies limits to (DEBIT_KINDS)


@dataclass
class BatchResult:
    posted: list[tuple[int, int]] = field(default_factory=list)  # (index in the input, entry id)
    rejected: list[tuple[int, DomainError]] = field(default_factory=list)  # (index in the input, why)


def post_batch(movements: list[services.Movement], *, maker: Any, checker: Any = None, approval_id: int | None = None,
               today: date | None = None, chunk_size: int = 500) -> BatchResult:
    """Post ``movements`` in order, ``chunk_size`` per transaction (a savepoint when the caller holds one)."""
    result = BatchResult()
    for start in range(0, len(movements), chunk_size):
        with transaction.atomic():
            _chunk(list(enumerate(movements[start:start + chunk_size], start)), maker=maker, checker=checker,
                   approval_id=approval_id, today=today or services.business_date(), result=result)
    return result


class _State:
    """The chunk's locked accounts and running totals, changed only by accepted movements."""

    def __init__(self, accounts: dict[int, Account], today: date, debit_ids: set[int], channels: set[str]) -> None:
        self.accounts = accounts
        self.balance = {pk: acc.balance_fen for pk, acc in accounts.items()}
        self.limits = {(channel, kind): (per_txn, per_day) for channel, kind, per_txn, per_day in
                       LimitRule.objects.values_list("channel", "customer_kind", "per_txn_fen", "per_day_fen")}
        rows = (DailyDebit.objects.filter(account_id__in=debit_ids, business_date=today, channel__in=channels)
                .values_list("account_id", "channel", "total_fen"))
        self.day_total = {(account_id, channel): total for account_id, channel, total in rows}
        self.day_added: dict[tuple[int, str], int] = {}
        self.touched: set[int] = set()
        self.fx: dict[str, int | DomainError] = {}
        _cache_customer_kinds({a.customer_id for a in accounts.values() if a.pk in debit_ids and a.customer_id})

    def cny(self, amount_fen: int, currency: str) -> int:
        if currency == "CNY":
            return amount_fen
        if currency not in self.fx:
            try:
                self.fx[currency] = services.fx_rate_micro(currency)
            except DomainError as e:
                self.fx[currency] = e
        rate = self.fx[currency]
        if isinstance(rate, DomainError):
            raise rate
        return rules.to_cny_fen(amount_fen, currency, rate)


def _cache_customer_kinds(customer_ids: set[int]) -> None:
    """Fill services' per-process cache of customer kinds (a kind never changes) with one query for the chunk."""
    from bankcrm.customers.models import Customer

    missing = customer_ids - set(services._CUSTOMER_KIND)
    if missing:
        for pk, kind in Customer.objects.filter(pk__in=missing).values_list("pk", "kind"):
            services._CUSTOMER_KIND[pk] = "company" if kind == "company" else "person"


def _chunk(items: list[tuple[int, services.Movement]], *, maker: Any, checker: Any, approval_id: int | None,
           today: date, result: BatchResult) -> None:
    ids = {i for _n, mv in items for i in (mv.debit_id, mv.credit_id) if isinstance(i, int)}
    accounts = services._lock(list(ids)) if ids else {}
    state = _State(accounts, today, {mv.debit_id for _n, mv in items}, {mv.channel for _n, mv in items})
    accepted: list[tuple[int, services.Movement, int, int, int]] = []  # index, movement, cny, debit after, credit after
    for n, mv in items:
        try:
            accepted.append((n, mv, *_apply(mv, state, today)))
        except DomainError as e:
            result.rejected.append((n, e))
    if not accepted:
        return
    now = timezone.now()
    maker_id, checker_id = getattr(maker, "pk", None), getattr(checker, "pk", None)
    ctx = context.current()
    entry_ids, posting_ids, event_ids = _reserve_ids([(JournalEntry, len(accepted)), (Posting, 2 * len(accepted)),
                                                      (OutboxEvent, len(accepted))])
    entries, postings, events = [], [], []
    for k, (_n, mv, cny, after_d, after_c) in enumerate(accepted):
        debit, credit = state.accounts[mv.debit_id], state.accounts[mv.credit_id]
        entry_id = entry_ids[k]
        customer_id = mv.customer_id or debit.customer_id or credit.customer_id
        branch_path = (debit if debit.kind == A.Kind.CUSTOMER else credit).branch_path
        entries.append((entry_id, mv.kind, mv.channel, mv.currency, mv.amount_fen, debit.id, credit.id, customer_id,
                        branch_path, None, maker_id, checker_id, approval_id, mv.counterparty_bank, mv.counterparty_name,
                        mv.counterparty_account, mv.cross_border, mv.counterparty_country, mv.memo[:100], today, now))
        postings.append((posting_ids[2 * k], entry_id, debit.id, A.Side.DEBIT, mv.amount_fen, after_d, today, now))
        postings.append((posting_ids[2 * k + 1], entry_id, credit.id, A.Side.CREDIT, mv.amount_fen, after_c, today, now))
        events.append((event_ids[k], services.TOPIC_POSTED, {
            "entry_id": entry_id, "kind": mv.kind, "amount_fen": mv.amount_fen, "currency": mv.currency, "cny_fen": cny,
            "debit_id": debit.id, "credit_id": credit.id, "customer_id": customer_id, "maker_id": maker_id,
            "checker_id": checker_id, "approval_id": approval_id, "channel": mv.channel, "cross_border": mv.cross_border,
            "reversal_of_id": None, "business_date": today.isoformat(), "branch_path": branch_path,
            "request_id": ctx.request_id, "ip": ctx.ip or "", "origin": ctx.channel}, now))
    _insert(JournalEntry, ENTRY_COLUMNS, entries)
    _insert(Posting, POSTING_COLUMNS, postings)
    changed = sorted({i for _n, mv, *_ in accepted for i in (mv.debit_id, mv.credit_id)})
    _set_balances(changed, state, now)
    _add_daily_debits(state, today)
    _insert(OutboxEvent, EVENT_COLUMNS, events)
    result.posted.extend((n, entry_id) for entry_id, (n, *_rest) in zip(entry_ids, accepted, strict=True))


def _apply(mv: services.Movement, state: _State, today: date) -> tuple[int, int, int]:
    """The checks of services.post, in its order, against the running state; on success the state moves on.
    Returns (CNY equivalent, debit balance after, credit balance after)."""
    if mv.amount_fen <= 0:
        raise ValidationFailed("amount_not_positive", _("金额必须大于零"))
    if mv.debit_id == mv.credit_id:
        raise ValidationFailed("same_account", _("转出和转入账户不能相同"))
    if mv.kind == K.REVERSAL or mv.reversal_of_id:
        raise RuleViolation("reversal_not_in_batch", _("冲正须逐笔复核，不能批量办理"))
    debit, credit = state.accounts.get(mv.debit_id), state.accounts.get(mv.credit_id)
    if debit is None or credit is None:
        raise NotFound("account_not_found", _("账户不存在"))
    for acc in (debit, credit):
        if acc.currency != mv.currency:
            raise RuleViolation("currency_mismatch", _("账户币种与交易币种不一致"))
    services._check_can_move(debit, A.Side.DEBIT, mv.kind)
    services._check_can_move(credit, A.Side.CREDIT, mv.kind)
    new = {}
    for acc, side in ((debit, A.Side.DEBIT), (credit, A.Side.CREDIT)):
        current = state.balance[acc.id]
        delta = services._delta(acc, side, mv.amount_fen)
        bal = current + delta
        floor = services.balance_floor(acc, delta)
        if floor is not None and bal < floor:
            raise services.insufficient(acc, current)
        new[acc.id] = bal
    cny = state.cny(mv.amount_fen, mv.currency)
    day_key = None
    if debit.kind == A.Kind.CUSTOMER and mv.kind in LIMITED_KINDS:
        rule = state.limits.get((mv.channel, services._customer_kind(debit.customer_id)))
        if rule is not None:
            per_txn, per_day = rule
            if cny > per_txn:
                raise RuleViolation("limit_per_transaction", _("超过单笔限额（%(l)s 元）") % {"l": format_amount(per_txn)},
                                    limit_fen=per_txn)
            day_key = (debit.id, mv.channel)
            total = state.day_total.get(day_key, 0) + cny
            if total > per_day:
                raise RuleViolation("limit_per_day", _("超过日累计限额（%(l)s 元），今日已用 %(u)s 元") % {
                    "l": format_amount(per_day), "u": format_amount(total - cny)}, limit_fen=per_day)
    # Accepted: the state moves on.
    state.balance.update(new)
    if day_key is not None:
        state.day_total[day_key] = state.day_total.get(day_key, 0) + cny
        state.day_added[day_key] = state.day_added.get(day_key, 0) + cny
    if mv.kind in services.CUSTOMER_INITIATED:
        state.touched.update(a.id for a in (debit, credit) if a.kind == A.Kind.CUSTOMER)
    return cny, new[debit.id], new[credit.id]


def _set_balances(ids: list[int], state: _State, now) -> None:
    """Every changed balance in one statement (PostgreSQL) or one executemany (SQLite); rows are locked."""
    rows = [(state.balance[i], i in state.touched, i) for i in ids]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "UPDATE ledger_account AS a SET balance_fen = v.balance, last_activity_at = CASE WHEN v.touch "
                "THEN %s ELSE a.last_activity_at END FROM (SELECT unnest(%s::bigint[]) AS balance, "
                "unnest(%s::boolean[]) AS touch, unnest(%s::bigint[]) AS id) AS v WHERE a.id = v.id",
                [now, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]])
        else:
            cur.executemany("UPDATE ledger_account SET balance_fen = %s, last_activity_at = CASE WHEN %s THEN %s "
                            "ELSE last_activity_at END WHERE id = %s", [(b, t, now, i) for b, t, i in rows])


def _add_daily_debits(state: _State, today: date) -> None:
    """Add the chunk's debits to the day's running totals (the rows belong to accounts this chunk holds locked)."""
    if not state.day_added:
        return
    table = DailyDebit._meta.db_table
    keys = sorted(state.day_added)
    upsert = (f"ON CONFLICT (account_id, business_date, channel) DO UPDATE SET total_fen = {table}.total_fen "
              "+ excluded.total_fen")
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                f"INSERT INTO {table} (account_id, business_date, channel, total_fen) SELECT a, %s, c, t FROM "
                f"unnest(%s::bigint[], %s::varchar[], %s::bigint[]) AS v(a, c, t) {upsert}",
                [today, [k[0] for k in keys], [k[1] for k in keys], [state.day_added[k] for k in keys]])
        else:
            cur.executemany(f"INSERT INTO {table} (account_id, business_date, channel, total_fen) VALUES (%s, %s, %s, %s) "
                            f"{upsert}", [(k[0], today, k[1], state.day_added[k]) for k in keys])


# ---- Bulk writes ---------------------------------------------------------------------------------------------------
# Every concrete column, in this order (`_insert` refuses a model that gained a column: add it here).
ENTRY_COLUMNS = ("id", "kind", "channel", "currency", "amount_fen", "debit_account_id", "credit_account_id", "customer_id",
                 "branch_path", "reversal_of_id", "maker_id", "checker_id", "approval_id", "counterparty_bank",
                 "counterparty_name", "counterparty_account", "cross_border", "counterparty_country", "memo",
                 "business_date", "posted_at")
POSTING_COLUMNS = ("id", "entry_id", "account_id", "side", "amount_fen", "balance_after_fen", "business_date", "posted_at")
EVENT_COLUMNS = ("id", "topic", "payload", "created_at")
_PLAIN = {"AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
          "PositiveSmallIntegerField", "PositiveBigIntegerField", "CharField", "BooleanField", "ForeignKey", "OneToOneField"}


def _reserve_ids(wanted: list[tuple[Any, int]]) -> list[list[int]]:
    """Ids for the rows about to be inserted, in order, so that postings and events follow their entries and ids
    follow posting order (statements and the sealer read in id order). PostgreSQL: from each table's sequence, in one
    round trip. SQLite: after the highest id handed out (the transaction holds SQLite's single write lock)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT " + ", ".join(
                "ARRAY(SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s))" for _ in wanted),
                [v for model, n in wanted for v in (model._meta.db_table, n)])
            return [list(ids) for ids in cur.fetchone()]
        out = []
        for model, n in wanted:
            table = model._meta.db_table
            cur.execute(f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                        f"COALESCE((SELECT MAX(id) FROM {table}), 0))", [table])
            first = int(cur.fetchone()[0]) + 1
            out.append(list(range(first, first + n)))
        return out


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """One INSERT of many rows, values prepared by each field as the ORM would (encryption, JSON, dates).
    PostgreSQL: INSERT … SELECT FROM unnest(arrays) on a server-side-binding cursor of the same connection and
    transaction (Django's client-side binding would quote every array element in Python). SQLite: executemany."""
    opts = model._meta
    missing = {f.attname for f in opts.concrete_fields} - set(columns)
    if missing:
        raise RuntimeError(f"batch insert into {opts.label} does not know the columns {sorted(missing)}")
    fields = [opts.get_field(c) for c in columns]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    cols = [list(c) for c in zip(*rows, strict=True)]
    for k, f in enumerate(fields):
        kind = f.get_internal_type()
        if kind in _PLAIN:  # as they are; a choices member (a str Enum) as its value
            cols[k] = [v.value if isinstance(v, Enum) else v for v in cols[k]]
        elif kind in ("DateField", "DateTimeField"):  # a chunk has one date and one time: adapt each once
            memo: dict[Any, Any] = {}
            cols[k] = [memo[v] if v in memo else memo.setdefault(v, f.get_db_prep_save(v, connection)) for v in cols[k]]
        else:  # encrypted text (a fresh nonce per value), JSON
            cols[k] = [f.get_db_prep_save(v, connection) for v in cols[k]]
    if connection.vendor == "postgresql":
        import psycopg

        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cur:
            cur.execute(f"INSERT INTO {opts.db_table} ({names}) SELECT * FROM unnest({arrays})", cols)
    else:
        marks = ", ".join(["%s"] * len(fields))
        with connection.cursor() as cur:
            cur.executemany(f"INSERT INTO {opts.db_table} ({names}) VALUES ({marks})", list(zip(*cols, strict=True)))
