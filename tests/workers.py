"""Entry points for test worker processes started with 'spawn': a fresh interpreter with its own database
connection (forked children would share the parent's connection state)."""

from __future__ import annotations

import os


def _setup(db_name: str, keys_file: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = db_name  # the test database the parent is using
    settings.BANKCRM_KEYS_FILE = keys_file  # the parent's keys: the chain HMAC must match


def append_audit_events(n: int, start, results, db_name: str, keys_file: str, unlocked: bool = False) -> None:
    _setup(db_name, keys_file)
    import time

    from django.db import DatabaseError, connection, transaction

    from bankcrm.core import audit
    from bankcrm.core.models import AuditHead

    audit.register_verbs({"tests.append": "test append"})
    if unlocked:  # the broken variant: read the head without its row lock

        def unlocked_head():
            head, _ = AuditHead.objects.get_or_create(id=1)
            time.sleep(0.002)
            return head

        audit._lock_head = unlocked_head
    ok = errors = 0
    start.wait(60)
    for i in range(n):
        try:
            with transaction.atomic():
                audit.record(actor=None, verb="tests.append", target_type="tests", target_id=i)
            ok += 1
        except DatabaseError:
            errors += 1
    connection.close()
    results.put((ok, errors))


# ---- Ledger workers (tests/test_r1_r2_ledger_concurrency.py, tests/test_r16_backup_restore.py) --------------------
def _ledger_setup(db_name: str, keys_file: str, app_name: str = "") -> None:
    _setup(db_name, keys_file)
    from django.conf import settings

    if app_name:  # lets the parent pick this process's connections out of pg_stat_activity
        settings.DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = app_name


def _sqlstate(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return getattr(cause, "sqlstate", None) or getattr(exc, "sqlstate", None) or ""


def ledger_transfers(idx: int, plan: list, actor_of: dict, db_name: str, keys_file: str, start, results,
                     broken: bool = False) -> None:
    """R1 client: each planned transfer (key, from, to, amount) through the service layer in its own durable
    transaction (`movement_request` → `post`). Reports what it posted, what was refused and which database errors
    (deadlocks above all) it met. ``broken``: the naive read-modify-write variant (balances read without locks)."""
    _ledger_setup(db_name, keys_file, f"ledger-client-{idx}")
    import time
    from collections import Counter

    from django.db import DatabaseError, connection, transaction

    from bankcrm.core.errors import RuleViolation
    from bankcrm.ledger import services
    from bankcrm.ledger.models import Account
    from bankcrm.org.models import Staff

    if broken:

        def unlocked(ids, channel):
            rows = {a.id: a for a in Account.objects.only(*services.LOCK_FIELDS).filter(id__in=sorted(set(ids)))}
            for a in rows.values():  # no limit rule, the default threshold: only the missing lock differs
                a.limit_txn = a.limit_day = a.threshold = None
            time.sleep(0.002)
            return rows

        services._lock_for_post = unlocked
    actors = {pk: Staff.objects.select_related("branch").get(pk=pk) for pk in set(actor_of.values())}
    posted, refused, errors = [], Counter(), Counter()
    start.wait(120)
    for _key, src, dst, amount in plan:
        actor = actors[actor_of[src]]
        try:
            with transaction.atomic(durable=True):
                mv = services.internal_transfer_movement(actor=actor, from_account_id=src, to_account_id=dst,
                                                         amount_fen=amount)
                answer = services.movement_request(actor=actor, mv=mv)
            if answer.get("status") == "posted":
                posted.append((answer["entry_id"], src, dst, amount))
            else:
                errors[f"unexpected_status:{answer.get('status')}"] += 1
        except RuleViolation as e:
            refused[e.code] += 1
        except DatabaseError as e:
            state = _sqlstate(e)
            errors["deadlock" if state == "40P01" else f"db:{state or type(e).__name__}"] += 1
            connection.close()
    connection.close()
    results.put((idx, {"posted": posted, "refused": dict(refused), "errors": dict(errors)}))


def ledger_transfers_idempotent(idx: int, plan: list, actor_of: dict, db_name: str, keys_file: str, start, results,
                                ack_path: str) -> None:
    """R2 client: each planned transfer through `idempotency.run` with its own key; on any database error (its
    connection terminated under it, say) it reconnects and retries with the same key and body. A transfer is written
    to ``ack_path`` only after `run` returned, i.e. after its commit came back. Started again after a SIGKILL, it
    replays its whole plan: the keys already done return their stored answers."""
    _ledger_setup(db_name, keys_file, f"ledger-client-{idx}")
    import time
    from collections import Counter

    from django.db import DatabaseError, connection

    from bankcrm.core import idempotency
    from bankcrm.core.errors import RuleViolation
    from bankcrm.ledger import services
    from bankcrm.org.models import Staff

    actors: dict = {}
    refused, errors = Counter(), Counter()
    acked = replayed = replayed_after_error = gave_up = 0
    start.wait(120)
    with open(ack_path, "a", buffering=1) as ack:
        for key, src, dst, amount in plan:
            for attempt in range(100):
                try:
                    if actor_of[src] not in actors:
                        actors[actor_of[src]] = Staff.objects.select_related("branch").get(pk=actor_of[src])
                    actor = actors[actor_of[src]]

                    def execute(actor=actor, src=src, dst=dst, amount=amount):
                        mv = services.internal_transfer_movement(actor=actor, from_account_id=src, to_account_id=dst,
                                                                 amount_fen=amount)
                        return 201, services.entry_answer(services.post(mv, maker=actor))

                    _status, answer, was_replay = idempotency.run(
                        actor=actor, key=key, scope="ledger.transfer",
                        body={"from": src, "to": dst, "amount_fen": amount}, execute=execute)
                    ack.write(f"{key} {answer['entry_id']}\n")  # acknowledged: run returned after the commit
                    acked += 1
                    replayed += int(was_replay)
                    replayed_after_error += int(was_replay and attempt > 0)  # committed, but the answer was lost
                    break
                except RuleViolation as e:
                    refused[e.code] += 1
                    break
                except DatabaseError as e:
                    state = _sqlstate(e)
                    errors["deadlock" if state == "40P01" else f"db:{state or type(e).__name__}"] += 1
                    connection.close()
                    time.sleep(0.005 * min(attempt + 1, 10))
            else:
                gave_up += 1
    connection.close()
    results.put((idx, {"acked": acked, "replayed": replayed, "replayed_after_error": replayed_after_error,
                       "refused": dict(refused), "errors": dict(errors), "gave_up": gave_up}))


def ledger_total_reader(ids: list, expected: int, db_name: str, keys_file: str, stop, results) -> None:
    """The bank workload's reader: the total of the hot accounts, read again and again while clients move money
    among them (one statement, one snapshot); it must never differ from ``expected``."""
    _ledger_setup(db_name, keys_file, "ledger-reader")
    import time

    from django.db import DatabaseError, connection

    reads = wrong = errors = 0
    seen: set = set()
    while not stop.is_set():
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT SUM(balance_fen), COUNT(*) FROM ledger_account WHERE id = ANY(%s)", [list(ids)])
                total, n = cur.fetchone()
            reads += 1
            if int(total or 0) != expected or n != len(ids):
                wrong += 1
                seen.add(int(total or 0))
        except DatabaseError:
            errors += 1
            connection.close()
        time.sleep(0.005)
    connection.close()
    results.put(("reader", {"reads": reads, "wrong_totals": wrong, "totals_seen": sorted(seen)[:10], "errors": errors}))


def audit_sealer_loop(db_name: str, keys_file: str, stop, results) -> None:
    """The outbox audit sealer running beside the workload (R16), as in production."""
    _ledger_setup(db_name, keys_file, "ledger-sealer")
    import time

    from django.db import DatabaseError, connection

    from bankcrm.core import outbox

    sealed = errors = 0
    while not stop.is_set():
        try:
            n = outbox.consume("audit_sealer")
            sealed += n
            if not n:
                time.sleep(0.05)
        except DatabaseError:
            errors += 1
            connection.close()
    connection.close()
    results.put(("sealer", {"sealed": sealed, "errors": errors}))


LEDGER_CHECKS = {
    # every posting's balance_after follows from the account's previous posting (postings of an account are written
    # under its row lock, so their ids are in posting order)
    "posting_chain_breaks": (
        "SELECT COUNT(*) FROM (SELECT p.balance_after_fen, p.amount_fen, p.side, a.normal_side, "
        "LAG(p.balance_after_fen) OVER (PARTITION BY p.account_id ORDER BY p.id) AS prev "
        "FROM ledger_posting p JOIN ledger_account a ON a.id = p.account_id) x WHERE COALESCE(prev, 0) + "
        "CASE WHEN side = normal_side THEN amount_fen ELSE -amount_fen END <> balance_after_fen"),
    # an entry's two legs are the entry's own accounts and amount
    "legs_not_matching_entry": (
        "SELECT COUNT(*) FROM ledger_journalentry e WHERE NOT EXISTS (SELECT 1 FROM ledger_posting d WHERE "
        "d.entry_id = e.id AND d.side = 'D' AND d.account_id = e.debit_account_id AND d.amount_fen = e.amount_fen) "
        "OR NOT EXISTS (SELECT 1 FROM ledger_posting c WHERE c.entry_id = e.id AND c.side = 'C' AND "
        "c.account_id = e.credit_account_id AND c.amount_fen = e.amount_fen)"),
    "duplicate_postings": (
        "SELECT COUNT(*) FROM (SELECT entry_id, side FROM ledger_posting GROUP BY entry_id, side "
        "HAVING COUNT(*) > 1) x"),
    # every posted entry published exactly once to the outbox (what the audit sealer and monitoring read)
    "entries_not_published_once": (
        "SELECT COUNT(*) FROM ledger_journalentry e WHERE (SELECT COUNT(*) FROM core_outboxevent o WHERE "
        "o.topic = 'ledger.entry_posted' AND (o.payload->>'entry_id')::bigint = e.id) <> 1"),
}


def ledger_checks() -> dict:
    """`selectors.invariant_report()` plus the checks above, on the current database connection."""
    from django.db import connection

    from bankcrm.ledger import selectors

    out = dict(selectors.invariant_report())
    with connection.cursor() as cur:
        for name, sql in LEDGER_CHECKS.items():
            cur.execute(sql)
            out[name] = int(cur.fetchone()[0])
    return out


def check_restored_copy(db_name: str, keys_file: str, hot_ids: list, results) -> None:
    """R16: pointed at the restored database, re-check every ledger invariant, seal what the sealer had not sealed
    yet when the dump was taken, and verify the audit chain (HMAC with the source's keys)."""
    _ledger_setup(db_name, keys_file, "ledger-restore-check")
    from django.db import connection

    from bankcrm.core import audit, outbox
    from bankcrm.core.models import AuditEvent
    from bankcrm.ledger import rules
    from bankcrm.ledger.models import Account, JournalEntry

    out: dict = {"before_sealing": ledger_checks()}
    sealed = 0
    while True:
        n = outbox.consume("audit_sealer")
        sealed += n
        if not n:
            break
    out["sealed_after_restore"] = sealed
    out["checks"] = ledger_checks()
    out["chain"] = audit.verify_chain().as_dict()
    entries = set(JournalEntry.objects.values_list("id", flat=True))
    seals: dict = {}
    for target in AuditEvent.objects.filter(verb="ledger.entry_posted").values_list("target_id", flat=True):
        seals[int(target)] = seals.get(int(target), 0) + 1
    out["entries"] = len(entries)
    out["entries_unsealed"] = len(entries - set(seals))
    out["entries_sealed_twice"] = sum(1 for c in seals.values() if c > 1)
    out["seals_without_entry"] = len(set(seals) - entries)
    bad_numbers = 0
    for number in Account.objects.values_list("number", flat=True):  # decrypts with the source's keys
        if not rules.valid_account_number(number):
            bad_numbers += 1
    out["undecryptable_account_numbers"] = bad_numbers
    out["hot_total"] = sum(Account.objects.filter(id__in=hot_ids).values_list("balance_fen", flat=True))
    connection.close()
    results.put(out)


# ---- Ledger maker-checker (tests/test_r5_ledger_makerchecker.py) -------------------------------------------------
def approve_ledger_items(idx: int, checker_id: int, ids: list, db_name: str, keys_file: str, start, results,
                         unlocked: bool = False) -> None:
    """R5 checker: approve each pending ledger item in ``ids`` in its own durable transaction, as the approval view
    does, once every checker is ready (``start``: a Barrier). Reports which items this checker executed and every
    outcome by code. ``unlocked``: the broken variant that reads the pending item without its row lock (naive
    read-check-write)."""
    _setup(db_name, keys_file)
    import time
    from collections import Counter

    from django.db import DatabaseError, connection

    from bankcrm.approvals import services
    from bankcrm.approvals.models import PendingAction
    from bankcrm.core.errors import DomainError
    from bankcrm.core.transactions import entrypoint
    from bankcrm.org.models import Staff

    if unlocked:

        def unlocked_get(actor, pending_id):
            pa = PendingAction.objects.visible_to(actor).get(pk=pending_id)
            time.sleep(0.1)  # the other checker reads 'pending' too
            return pa

        services._get_locked = unlocked_get
    checker = Staff.objects.select_related("branch").get(pk=checker_id)
    executed, outcomes = [], Counter()
    start.wait(120)
    for pk in ids:
        try:
            pa = entrypoint(services.approval_approve)(actor=checker, pending_id=pk)
            outcomes[pa.status] += 1
            if pa.status == PendingAction.Status.EXECUTED:
                executed.append(pk)
        except DomainError as e:
            outcomes[e.code] += 1
        except DatabaseError as e:
            outcomes[f"db:{type(e).__name__}"] += 1
            connection.close()
    connection.close()
    results.put((idx, {"executed": executed, "outcomes": dict(outcomes)}))
