"""R5 for the ledger — maker-checker and segregation of duties on the ledger's approvable actions (QUALITY.md).

The generic rules are tested on a test action in tests/test_r5_approvals.py; here every forbidden path is tried on the
real ledger actions (ledger.post, ledger.freeze, ledger.close, ledger.limit) and judged by its effect on the books:
balances, statuses, journal entries and limit rules must not change. Pass bar: violations = 0, double executions = 0,
bypass paths = 0. Figures: var/figures/R5-ledger-<database>.json.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from bankcrm.approvals import registry
from bankcrm.approvals import services as approvals
from bankcrm.approvals.models import PendingAction
from bankcrm.core import idempotency
from bankcrm.core.errors import DomainError
from bankcrm.ledger import selectors, services
from bankcrm.ledger.models import Account, JournalEntry, LimitRule, Posting, Product
from bankcrm.org import services as org
from bankcrm.org.models import Staff
from tests.conftest import PASSWORD, write_figures
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.django_db
S = PendingAction.Status
K = JournalEntry.Kind
THRESHOLD = 5_000_000
LEDGER_ACTIONS = ("ledger.post", "ledger.freeze", "ledger.close", "ledger.limit")
ZEROS = {"total_drift": 0, "balance_mismatches": 0, "negative_balances": 0, "unbalanced_entries": 0,
         "entries_without_postings": 0}


@dataclass
class World:
    bank: Any
    led: Any
    om_a: Any  # a second operations manager, of branch A: may check items from A and A1


def fresh(staff) -> Staff:
    return Staff.objects.select_related("branch").get(pk=staff.pk)


def make_world(bank) -> World:
    led = build_ledger(bank)
    om_a = org.staff_create(actor=bank.admin, staff_no="OM010", name="杨运营", branch_id=bank.a.pk,
                            employment_type="employee", roles=["operations_manager"], password=PASSWORD,
                            mobile="13800138000", email="om010@example.cn")
    return World(bank, led, fresh(om_a))


def effects() -> tuple:
    """Everything an approved ledger action could change."""
    return (tuple(Account.objects.order_by("pk").values_list("pk", "balance_fen", "status")),
            JournalEntry.objects.count(), Posting.objects.count(),
            tuple(LimitRule.objects.order_by("pk").values_list("channel", "customer_kind", "per_txn_fen", "per_day_fen")))


def refused(fn, *args, **kwargs) -> str | None:
    try:
        with transaction.atomic():
            fn(*args, **kwargs)
    except DomainError as exc:
        return exc.code
    return None


# ---- Submitting each ledger action (the request half, as a view calls it) ------------------------------------------
def submit_post(w: World, tag: str, amount: int = 6_000_000) -> int:
    om = w.bank.om_a1
    mv = services.internal_transfer_movement(actor=om, from_account_id=w.led.zhang_cny.pk,
                                             to_account_id=w.led.li_cny.number, amount_fen=amount, memo=tag)
    with transaction.atomic():
        answer = services.movement_request(actor=om, mv=mv)
    assert answer["status"] == "pending_approval", answer
    return answer["approval_id"]


def submit_freeze(w: World, tag: str) -> int:
    with transaction.atomic():
        return services.account_status_request(actor=w.bank.om_a1, account_id=w.led.zhang_cny.pk, action="freeze",
                                               reason=f"司法冻结 {tag}")["approval_id"]


def submit_close(w: World, tag: str) -> int:
    with transaction.atomic():
        answer = services.account_close_request(actor=w.bank.om_a1, account_id=w.led.li_cny.pk, payout="cash",
                                                reason=f"客户申请销户 {tag}")
    assert answer["status"] == "pending_approval", answer
    return answer["approval_id"]


def submit_limit(w: World, tag: str) -> int:
    with transaction.atomic():
        return services.limit_change_request(actor=w.bank.supervisor_a, channel="counter", customer_kind="person",
                                             per_txn_fen=40_000_000, per_day_fen=80_000_000,
                                             reason=f"调整限额 {tag}")["approval_id"]


SUBMIT = {"ledger.post": submit_post, "ledger.freeze": submit_freeze, "ledger.close": submit_close,
          "ledger.limit": submit_limit}
MAKER = {"ledger.post": "om_a1", "ledger.freeze": "om_a1", "ledger.close": "om_a1", "ledger.limit": "supervisor_a"}
MAKER_ROLE = {"om_a1": "operations_manager", "supervisor_a": "branch_supervisor"}


def tamper(w: World, pa: PendingAction) -> None:
    """Edit the stored payload after submission, the way someone with database access would."""
    p = dict(pa.payload)
    if pa.action_code == "ledger.post":
        p["amount_fen"] = 9_000_000
    elif pa.action_code == "ledger.freeze":
        p["account_id"] = w.led.li_cny.pk
    elif pa.action_code == "ledger.close":
        p["cash_box_id"] = services.internal_account_id("cash", "CNY", teller_id=w.bank.temp.pk)  # another box
    else:
        p["per_txn_fen"] = 10**12
    PendingAction.objects.filter(pk=pa.pk).update(payload=p)


def expire(w: World, pa: PendingAction) -> None:
    PendingAction.objects.filter(pk=pa.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def set_role(w: World, who: str, role: str) -> None:
    staff = getattr(w.bank, who)
    org.staff_set_roles(actor=w.bank.admin, staff_id=staff.pk, roles=[role], reason="岗位调整")


def scenarios(w: World, code: str) -> list[tuple[str, Any, Any, Any]]:
    """(name, checker, prepare, undo) for each forbidden path."""
    b, maker = w.bank, MAKER[code]
    lose = (lambda pa: set_role(w, maker, "customer_manager"), lambda: set_role(w, maker, MAKER_ROLE[maker]))
    return [
        ("maker_approves_own", getattr(b, maker), None, None),
        ("intern_approves", b.intern, None, None),
        ("temporary_approves", b.temp, None, None),
        ("consultant_approves", b.consultant, None, None),
        ("customer_manager_approves", b.cm_a1, None, None),
        ("approver_without_ledger_approve", b.admin, None, None),  # holds approvals.approve, not ledger.approve
        ("risk_manager_approves", b.branch_risk, None, None),
        ("other_branch_approves", b.supervisor_b, None, None),
        ("payload_tampered", w.om_a, lambda pa: tamper(w, pa), None),
        ("expired", w.om_a, lambda pa: expire(w, pa), None),
        ("maker_lost_role", w.om_a, *lose),
    ]


def scenario_violations(w: World) -> tuple[dict[str, int], dict[str, str | None]]:
    """Every forbidden path on every ledger action, then the honest path once (it must execute, or the harness could
    not see an execution at all). A path that changes the books or marks the item executed is a violation."""
    found: dict[str, int] = {}
    codes: dict[str, str | None] = {}
    for code in LEDGER_ACTIONS:
        for name, checker, prepare, undo in scenarios(w, code):
            try:
                pid = SUBMIT[code](w, name)
            except DomainError as exc:  # only when an earlier path wrongly executed (the broken variant)
                found[f"{code}:{name}"], codes[f"{code}:{name}"] = 0, f"not_submitted:{exc.code}"
                continue
            pa = PendingAction.objects.get(pk=pid)
            if prepare:
                prepare(pa)
            before = effects()
            err = refused(approvals.approval_approve, actor=checker, pending_id=pid)
            pa.refresh_from_db()
            if undo:
                undo()
            if err is None and pa.status == S.FAILED:
                err = pa.result["error"]["code"]  # approved, but the execution re-check refused it
            codes[f"{code}:{name}"] = err
            found[f"{code}:{name}"] = int(err is None or effects() != before or pa.status == S.EXECUTED)
        try:
            pid = SUBMIT[code](w, "honest")
        except DomainError:
            found[f"{code}:honest_path_executes"] = 1
            continue
        before = effects()
        pa = approvals.approval_approve(actor=w.om_a, pending_id=pid)
        found[f"{code}:honest_path_executes"] = int(pa.status != S.EXECUTED or effects() == before)
    return found, codes


def test_forbidden_approvals_of_ledger_actions_are_refused_and_move_nothing(bank):
    w = make_world(bank)
    fund(w.led.zhang_cny, 40_000_000, teller=bank.om_a1)
    fund(w.led.li_cny, 2_000_000, teller=bank.om_a1)
    found, codes = scenario_violations(w)
    violations = sum(found.values())
    write_figures("R5-ledger", violations == 0, violations=violations, scenarios=len(found),
                  actions=list(LEDGER_ACTIONS))
    assert found == dict.fromkeys(found, 0), {k: v for k, v in found.items() if v}
    for code in LEDGER_ACTIONS:  # and each for the right reason
        assert codes[f"{code}:maker_approves_own"] == "maker_cannot_check"
        assert codes[f"{code}:payload_tampered"] == "payload_tampered"
        assert codes[f"{code}:expired"] == "approval_expired"
        assert codes[f"{code}:maker_lost_role"] == "permission_denied"
        assert codes[f"{code}:approver_without_ledger_approve"] == "permission_denied"
        assert codes[f"{code}:other_branch_approves"] == "approval_not_found"
        for who in ("intern", "temporary", "consultant", "customer_manager"):
            assert codes[f"{code}:{who}_approves"] in ("approval_not_found", "permission_denied")
    assert selectors.invariant_report() == ZEROS


def test_the_scenarios_catch_a_lax_checker_check(bank, monkeypatch):
    """Broken variant: maker ≠ checker, expiry, payload hash and the ledger capability checks removed."""
    w = make_world(bank)
    fund(w.led.zhang_cny, 40_000_000, teller=bank.om_a1)
    fund(w.led.li_cny, 2_000_000, teller=bank.om_a1)

    def lax_check(actor, pa):
        from bankcrm.core import access

        access.require(actor, "approvals.approve")
        return registry.get(pa.action_code)

    monkeypatch.setattr(approvals, "_check_checker", lax_check)
    found, _codes = scenario_violations(w)
    assert found["ledger.post:maker_approves_own"] == 1 and found["ledger.post:expired"] == 1
    assert found["ledger.limit:payload_tampered"] == 1
    assert found["ledger.post:intern_approves"] == 0  # the employment-type ceiling still holds


# ---- Duplicate submissions ---------------------------------------------------------------------------------------
def test_duplicate_submissions(bank):
    w = make_world(bank)
    om, led = bank.om_a1, w.led
    fund(led.zhang_cny, 20_000_000, teller=om)

    # A reversal of the same entry is one operation: a second request waits on the first, whoever makes it.
    entry = JournalEntry.objects.filter(credit_account=led.zhang_cny).order_by("pk").first()
    with transaction.atomic():
        first = services.reversal_request(actor=om, entry_id=entry.pk, reason="金额录错")
    assert refused(services.reversal_request, actor=om, entry_id=entry.pk, reason="金额录错") == "duplicate_submission"
    assert refused(services.reversal_request, actor=bank.supervisor_a, entry_id=entry.pk,
                   reason="金额录错") == "duplicate_submission"
    pa = approvals.approval_approve(actor=w.om_a, pending_id=first["approval_id"])
    assert pa.status == S.EXECUTED, pa.result
    assert refused(services.reversal_request, actor=om, entry_id=entry.pk, reason="再冲一次") == "already_reversed"
    # even executing the reviewed payload a second time (by any path) cannot reverse twice: reversal_of is unique
    payload = PendingAction.objects.get(pk=first["approval_id"]).payload
    before = effects()
    assert refused(services.execute_movement, payload=payload, maker=om, checker=w.om_a) == "already_reversed"
    assert effects() == before
    assert JournalEntry.objects.filter(reversal_of=entry).count() == 1

    # Two large transfers with the same payload are two customer instructions (movements use dedupe=False): both
    # wait as separate items and both execute. Retries of *one* instruction are caught by its idempotency key.
    ids = [submit_post(w, "同一笔指令", amount=5_000_000) for _ in range(2)]
    assert len(set(ids)) == 2
    items = list(PendingAction.objects.filter(pk__in=ids))
    assert {p.payload_hash for p in items} == {items[0].payload_hash} and {p.dedupe_key for p in items} == {""}
    zhang_before = Account.objects.get(pk=led.zhang_cny.pk).balance_fen
    for pid in ids:
        assert approvals.approval_approve(actor=w.om_a, pending_id=pid).status == S.EXECUTED
    assert Account.objects.get(pk=led.zhang_cny.pk).balance_fen == zhang_before - 10_000_000
    assert JournalEntry.objects.filter(memo="同一笔指令").count() == 2

    key, body = "r5-dup-retry-0001", {"op": "transfer", "amount_fen": 5_000_000}

    def execute():
        mv = services.internal_transfer_movement(actor=om, from_account_id=led.zhang_cny.pk,
                                                 to_account_id=led.li_cny.number, amount_fen=5_000_000, memo="重试")
        return 202, services.movement_request(actor=om, mv=mv)

    a = idempotency.run(actor=om, key=key, scope="ledger.transfer", body=body, execute=execute)
    b = idempotency.run(actor=om, key=key, scope="ledger.transfer", body=body, execute=execute)
    assert (a[2], b[2]) == (False, True) and a[1]["approval_id"] == b[1]["approval_id"]
    assert PendingAction.objects.filter(payload__memo="重试").count() == 1

    # Freeze, close and limit changes are deduplicated like reversals.
    for submit in (submit_freeze, submit_close_zhang, submit_limit):
        submit(w, "重复")
        assert refused(submit, w, "重复") == "duplicate_submission", submit.__name__
    assert selectors.invariant_report() == ZEROS


def submit_close_zhang(w: World, tag: str) -> int:
    with transaction.atomic():
        return services.account_close_request(actor=w.bank.om_a1, account_id=w.led.zhang_cny.pk, payout="cash",
                                              reason=f"客户申请销户 {tag}")["approval_id"]


def test_approving_twice_executes_once(bank):
    w = make_world(bank)
    fund(w.led.zhang_cny, 8_000_000, teller=bank.om_a1)
    pid = submit_post(w, "一次")
    approvals.approval_approve(actor=w.om_a, pending_id=pid)
    for checker in (w.om_a, bank.supervisor_a):
        assert refused(approvals.approval_approve, actor=checker, pending_id=pid) == "approval_not_pending"
        assert refused(approvals.approval_reject, actor=checker, pending_id=pid, reason="晚了") == "approval_not_pending"
    double = max(JournalEntry.objects.filter(memo="一次").count() - 1, 0)
    write_figures("R5-ledger", double == 0, double_executions=double)
    assert double == 0 and JournalEntry.objects.filter(memo="一次").count() == 1


# ---- No bypass ---------------------------------------------------------------------------------------------------
def goes_to_approval(fn) -> int:
    """0 if the request was submitted for approval and moved nothing; 1 if it posted (a refusal posts nothing)."""
    before = effects()
    try:
        with transaction.atomic():
            answer = fn()
    except DomainError:
        return int(effects() != before)
    return int(answer["status"] != "pending_approval" or effects() != before)


def bypass_paths(w: World) -> dict[str, int]:
    """Each way around the second person, tried directly against the services; a path that changes the books
    counts as a bypass."""
    b, led, om = w.bank, w.led, w.bank.om_a1
    out: dict[str, int] = {}

    def tried(name, fn, **kwargs):
        before = effects()
        err = refused(fn, **kwargs)
        out[name] = int(err is None or effects() != before)

    # the approval's half called directly by someone who is not a ledger checker
    payload = services.internal_transfer_movement(actor=om, from_account_id=led.zhang_cny.pk,
                                                  to_account_id=led.li_cny.number, amount_fen=6_000_000).payload()
    for who in ("none", "cm_a1", "intern", "temp", "consultant", "admin", "compliance", "branch_risk"):
        checker = None if who == "none" else getattr(b, who)
        tried(f"execute_movement:checker={who}", services.execute_movement, payload=payload, maker=om,
              checker=checker)
    tried("execute_movement:maker_without_post", services.execute_movement, payload=payload, maker=b.cm_a1,
          checker=w.om_a)
    close = {"account_id": led.li_cny.pk, "payout": "cash", "to_account_id": None, "balance_fen": 2_000_000,
             "cash_box_id": led.box.pk, "reason": "绕过复核"}
    tried("execute_close:no_checker_with_balance", services.execute_close, payload=close, maker=om, checker=None)
    tried("execute_close:maker_without_close", services.execute_close, payload=close, maker=b.cm_a1,
          checker=w.om_a)
    freeze = {"account_id": led.zhang_cny.pk, "reason": "绕过复核"}
    tried("execute_status:no_checker", services.execute_status, payload=freeze, maker=om, checker=None,
          action="freeze")
    tried("execute_status:maker_without_freeze", services.execute_status, payload=freeze, maker=b.cm_a1,
          checker=w.om_a, action="freeze")
    limit = {"channel": "counter", "customer_kind": "person", "per_txn_fen": 10**12, "per_day_fen": 10**12,
             "reason": "绕过复核"}
    tried("execute_limit:no_checker", services.execute_limit, payload=limit, maker=b.supervisor_a, checker=None)
    tried("execute_limit:maker_without_limits", services.execute_limit, payload=limit, maker=om, checker=w.om_a)

    # the request half never posts at or above the threshold, whatever the kind, and never for a reversal
    builders = {
        "cash_in": lambda amt: services.cash_deposit_movement(actor=om, account_id=led.zhang_cny.pk, amount_fen=amt),
        "cash_out": lambda amt: services.cash_withdrawal_movement(actor=om, account_id=led.zhang_cny.pk,
                                                                  amount_fen=amt),
        "internal": lambda amt: services.internal_transfer_movement(actor=om, from_account_id=led.zhang_cny.pk,
                                                                    to_account_id=led.li_cny.number, amount_fen=amt),
        "outward": lambda amt: services.outward_transfer_movement(actor=om, from_account_id=led.zhang_cny.pk,
                                                                  amount_fen=amt, bank="中国银行", name="赵六",
                                                                  account_no="6222021234567890"),
    }
    for kind, build in builders.items():
        for amount in (THRESHOLD, THRESHOLD + 1, 10**9):
            out[f"movement_request:{kind}:{amount}"] = goes_to_approval(
                lambda: services.movement_request(actor=om, mv=build(amount)))  # called at once
    usd_box = services.cash_box_open(actor=om, currency="USD")
    usd = services.account_open(actor=om, customer_id=led.zhang.pk, product_id=Product.objects.get(code="D-USD").pk)
    assert usd_box.currency == "USD"
    # USD 7,100 × 7.12 ≥ CNY 50,000: the threshold is in CNY equivalent
    out["movement_request:usd_over_cny_threshold"] = goes_to_approval(lambda: services.movement_request(
        actor=om, mv=services.cash_deposit_movement(actor=om, account_id=usd.pk, amount_fen=710_000)))
    entry = JournalEntry.objects.filter(credit_account=led.zhang_cny).order_by("pk").first()
    out["reversal_request:posts_directly"] = goes_to_approval(lambda: services.reversal_request(
        actor=om, entry_id=entry.pk, reason="小额冲正也须复核"))

    # every ledger action is declared with the ledger checker capability
    for code in (*LEDGER_ACTIONS, "ledger.unfreeze"):
        out[f"registry:{code}:checker_capability"] = int(registry.get(code).checker_capability != "ledger.approve")
    return out


def test_no_bypass_of_the_second_person(bank):
    w = make_world(bank)
    fund(w.led.zhang_cny, 40_000_000, teller=bank.om_a1)
    fund(w.led.li_cny, 2_000_000, teller=bank.om_a1)
    # below the threshold it does post at once (the boundary is where the rule says)
    with transaction.atomic():
        answer = services.movement_request(actor=bank.om_a1, mv=services.internal_transfer_movement(
            actor=bank.om_a1, from_account_id=w.led.zhang_cny.pk, to_account_id=w.led.li_cny.number,
            amount_fen=THRESHOLD - 1))
    assert answer["status"] == "posted"
    found = bypass_paths(w)
    bypass = sum(found.values())
    write_figures("R5-ledger", bypass == 0, bypass_paths=bypass, bypass_paths_tried=len(found))
    assert found == dict.fromkeys(found, 0), {k: v for k, v in found.items() if v}
    assert selectors.invariant_report() == ZEROS


def test_bypass_detector_catches_a_missing_threshold_and_checker_check(bank, monkeypatch):
    w = make_world(bank)
    fund(w.led.zhang_cny, 100_000_000, teller=bank.om_a1)  # every broken path posts
    fund(w.led.li_cny, 2_000_000, teller=bank.om_a1)
    real_post = services._post  # broken: the threshold is never looked at, so large movements post at once
    monkeypatch.setattr(services, "_post", lambda mv, stop_at_threshold=False, **kw: real_post(mv, **kw))
    monkeypatch.setattr(services, "execute_movement", lambda *, payload, maker, checker: services.entry_answer(
        services.post(services.Movement(**payload), maker=maker, checker=checker)))
    found = bypass_paths(w)
    assert found["movement_request:internal:5000000"] == 1
    assert found["execute_movement:checker=intern"] == 1 and found["execute_movement:maker_without_post"] == 1


# ---- Two checkers approving the same 100 items at once (PostgreSQL, spawned processes) ----------------------------
ITEMS = 100


def concurrent_approvals(w: World, n: int, *, unlocked: bool = False) -> dict[str, Any]:
    from django.conf import settings

    from tests.workers import approve_ledger_items

    led = w.led
    LimitRule.objects.filter(channel="counter", customer_kind="person").update(per_txn_fen=10**10, per_day_fen=10**12)
    with transaction.atomic():  # n × CNY 50,000 on Zhang's account in one approved deposit
        dep = services.movement_request(actor=w.bank.om_a1, mv=services.cash_deposit_movement(
            actor=w.bank.om_a1, account_id=led.zhang_cny.pk, amount_fen=n * THRESHOLD))
    assert approvals.approval_approve(actor=w.bank.supervisor_a, pending_id=dep["approval_id"]).status == S.EXECUTED
    ids = [submit_post(w, f"R5并发-{i:03d}", amount=THRESHOLD) for i in range(n)]
    checkers = [w.bank.supervisor_a, w.om_a]
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(len(checkers)), ctx.Queue()  # both start once both are ready
    args = (connection.settings_dict["NAME"], str(settings.BANKCRM_KEYS_FILE), start, results, unlocked)
    orders = [ids, ids]  # the same order: both reach for every item at the same moment
    procs = [ctx.Process(target=approve_ledger_items, args=(i, c.pk, orders[i], *args)) for i, c in enumerate(checkers)]
    for p in procs:
        p.start()
    outcomes = dict(results.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(30)
    per_item = dict(JournalEntry.objects.filter(kind=K.INTERNAL, memo__startswith="R5并发-")
                    .values_list("memo").annotate(n=Count("pk")))
    executed = [set(o["executed"]) for o in outcomes.values()]
    return {
        "double_executions": sum(1 for c in per_item.values() if c > 1),
        "missing": n - len(per_item),
        "both_claimed": len(executed[0] & executed[1]),
        "items_executed": PendingAction.objects.filter(pk__in=ids, status=S.EXECUTED).count(),
        "zhang_balance": Account.objects.get(pk=led.zhang_cny.pk).balance_fen,
        "errors": {k: v for o in outcomes.values() for k, v in o["outcomes"].items()
                   if k not in ("executed", "approval_not_pending")},
        "approved_by_each": [len(e) for e in executed],
        "lost_races": sum(o["outcomes"].get("approval_not_pending", 0) for o in outcomes.values()),
        "entries_with_checker": JournalEntry.objects.filter(memo__startswith="R5并发-", checker__isnull=False).count(),
    }


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_checkers_approve_the_same_100_transfers_once_each(bank):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    w = make_world(bank)
    r = concurrent_approvals(w, ITEMS)
    from bankcrm.core.audit import verify_chain

    chain_ok = verify_chain().ok
    ok = (r["double_executions"] == 0 and r["missing"] == 0 and r["both_claimed"] == 0 and not r["errors"]
          and r["items_executed"] == ITEMS and r["zhang_balance"] == 0 and chain_ok)
    write_figures("R5-ledger", ok, double_executions=r["double_executions"], concurrent_items=ITEMS,
                  concurrent_missing=r["missing"], concurrent_checkers=2, approved_by_each=r["approved_by_each"],
                  lost_races=r["lost_races"], concurrent_errors=r["errors"])
    assert r["double_executions"] == 0 and r["missing"] == 0 and r["both_claimed"] == 0, r
    assert not r["errors"] and r["items_executed"] == ITEMS and r["entries_with_checker"] == ITEMS, r
    assert r["lost_races"] == ITEMS, r  # every item was reached for by both: one executed it, the other was refused
    assert r["zhang_balance"] == 0  # exactly n × 50,000 left the account: nothing twice, nothing lost
    assert selectors.invariant_report() == ZEROS
    assert chain_ok


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrency_detector_catches_an_unlocked_pending_read(bank):
    """Broken variant (in the workers): the pending item read without its row lock; both checkers execute some."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    w = make_world(bank)
    r = concurrent_approvals(w, 10, unlocked=True)
    assert r["double_executions"] > 0, r
