"""R5 — maker-checker and segregation of duties (QUALITY.md).

Every scenario runs against a test action registered in the approvals registry whose executions are counted as rows
in the database. Pass bar: violations = 0, double executions = 0, bypass paths = 0.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from bankcrm.approvals import services
from bankcrm.approvals.models import PendingAction
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied, RuleViolation
from bankcrm.core.models import AuditEvent
from bankcrm.core.transactions import entrypoint
from tests.conftest import COUNTING_ACTION, login_client, write_figures

pytestmark = pytest.mark.django_db
S = PendingAction.Status


def submit(maker, n, **extra):
    return services.approval_submit(actor=maker, action_code=COUNTING_ACTION, payload={"n": n, **extra},
                                    summary=f"测试事项 {n}")


def refused(fn, *args, **kwargs) -> str | None:
    """Run a decision; return the error code if it was refused, None if it went through."""
    try:
        fn(*args, **kwargs)
    except DomainError as exc:
        return exc.code
    return None


def scenario_violations(bank, executions) -> dict[str, int]:
    """Each forbidden path, tried through the service; a path that executes the action counts as a violation."""
    out: dict[str, int] = {}

    def attempt(name, actor, pa, tamper=None):
        if tamper:
            tamper(pa)
        before = executions(pa.payload["n"])
        code = refused(services.approval_approve, actor=actor, pending_id=pa.pk)
        pa.refresh_from_db()
        out[name] = int(code is None or executions(pa.payload["n"]) != before or pa.status != S.PENDING)

    attempt("maker_approves_own", bank.supervisor_a, submit(bank.supervisor_a, 1))
    attempt("intern_approves", bank.intern, submit(bank.cm_a1, 2))
    attempt("temporary_approves", bank.temp, submit(bank.cm_a1, 3))
    attempt("consultant_approves", bank.consultant, submit(bank.cm_a1, 4))
    attempt("other_branch_approves", bank.supervisor_b, submit(bank.cm_a1, 5))
    attempt("payload_tampered", bank.supervisor_a, submit(bank.cm_a1, 6),
            lambda pa: PendingAction.objects.filter(pk=pa.pk).update(payload={"n": 6, "extra": "改过"}))
    attempt("expired", bank.supervisor_a, submit(bank.cm_a1, 7),
            lambda pa: PendingAction.objects.filter(pk=pa.pk).update(expires_at=timezone.now() - timedelta(seconds=1)))
    return out


def test_forbidden_paths_are_refused_and_nothing_executes(bank, counting_action):
    found = scenario_violations(bank, counting_action)
    write_figures("R5", sum(found.values()) == 0, violations=sum(found.values()), scenarios=len(found))
    assert found == dict.fromkeys(found, 0)
    assert counting_action() == 0


def test_detector_catches_a_removed_maker_check(bank, counting_action, monkeypatch):
    """The same scenarios against a broken service whose maker ≠ checker, expiry and payload checks were removed."""
    from bankcrm.approvals import registry

    def lax_check(actor, pa):
        from bankcrm.core import access

        access.require(actor, "approvals.approve")
        return registry.get(pa.action_code)

    monkeypatch.setattr(services, "_check_checker", lax_check)
    found = scenario_violations(bank, counting_action)
    assert found["maker_approves_own"] == 1 and found["payload_tampered"] == 1 and found["expired"] == 1
    assert found["intern_approves"] == 0  # the capability check was kept: the ceiling still holds


def test_refusal_reasons(bank, counting_action):
    pa = submit(bank.supervisor_a, 1)
    assert refused(services.approval_approve, actor=bank.supervisor_a, pending_id=pa.pk) == "maker_cannot_check"
    assert refused(services.approval_reject, actor=bank.supervisor_a, pending_id=pa.pk, reason="自己拒绝") == "maker_cannot_check"
    other = submit(bank.cm_a1, 2)
    for actor in (bank.intern, bank.temp, bank.consultant):
        with pytest.raises((NotFound, PermissionDenied)):  # an item they may not decide is not even visible to them
            services.approval_approve(actor=actor, pending_id=other.pk)
    with pytest.raises(NotFound):
        services.approval_approve(actor=bank.supervisor_b, pending_id=other.pk)
    PendingAction.objects.filter(pk=other.pk).update(payload={"n": 2, "amount": 10**9})
    assert refused(services.approval_approve, actor=bank.supervisor_a, pending_id=other.pk) == "payload_tampered"
    late = submit(bank.cm_a1, 3)
    PendingAction.objects.filter(pk=late.pk).update(expires_at=timezone.now())
    assert refused(services.approval_approve, actor=bank.supervisor_a, pending_id=late.pk) == "approval_expired"
    assert counting_action() == 0


def test_interns_temporary_and_consultants_hold_no_approval_capability(bank):
    """Also where they *could* see the item (it is theirs): the capability check refuses before anything runs."""
    from bankcrm.core import access

    for actor in (bank.intern, bank.temp, bank.consultant):
        assert not access.can(actor, "approvals.approve")
        with pytest.raises(PermissionDenied):
            services._check_checker(actor, PendingAction(action_code="org.grant_privileged_role", maker=bank.admin,
                                                          status=S.PENDING, expires_at=timezone.now() + timedelta(hours=1)))


def test_duplicate_submission_refused_by_service_and_database(bank, counting_action):
    pa = submit(bank.cm_a1, 1)
    assert refused(submit, bank.cm_a1, 1) == "duplicate_submission"
    assert refused(submit, bank.om_a1, 1) == "duplicate_submission"  # the same operation by someone else too
    with pytest.raises(IntegrityError), transaction.atomic():  # a bypass through the ORM hits the unique constraint
        PendingAction.objects.create(action_code=pa.action_code, payload=pa.payload, payload_hash=pa.payload_hash,
                                     summary="x", maker=bank.cm_a1, branch_path=pa.branch_path,
                                     expires_at=pa.expires_at, dedupe_key=pa.dedupe_key)
    assert PendingAction.objects.filter(status=S.PENDING).count() == 1
    services.approval_approve(actor=bank.supervisor_a, pending_id=pa.pk)
    submit(bank.cm_a1, 1)  # once decided, the same operation may be submitted again


def test_failed_rule_at_execution_marks_failed_and_executes_nothing(bank, counting_action):
    pa = submit(bank.cm_a1, 1, fail=True)
    seq_before = AuditEvent.objects.count()
    result = services.approval_approve(actor=bank.supervisor_a, pending_id=pa.pk)
    assert result.status == S.FAILED
    assert result.result["error"]["code"] == "test_rule_failed"
    assert counting_action(1) == 0  # the action's own write was rolled back with it
    assert list(AuditEvent.objects.filter(seq__gt=seq_before).values_list("verb", flat=True)) == ["approvals.execution_failed"]
    assert refused(services.approval_approve, actor=bank.om_a1, pending_id=pa.pk) == "approval_not_pending"


def test_double_approve_executes_once(bank, counting_action):
    pa = submit(bank.cm_a1, 1)
    services.approval_approve(actor=bank.supervisor_a, pending_id=pa.pk)
    assert refused(services.approval_approve, actor=bank.supervisor_a, pending_id=pa.pk) == "approval_not_pending"
    assert refused(services.approval_approve, actor=bank.om_a1, pending_id=pa.pk) == "approval_not_pending"
    assert refused(services.approval_reject, actor=bank.om_a1, pending_id=pa.pk, reason="晚了") == "approval_not_pending"
    assert refused(services.approval_cancel, actor=bank.cm_a1, pending_id=pa.pk) == "approval_not_pending"
    write_figures("R5", counting_action(1) == 1, double_executions=counting_action(1) - 1)
    assert counting_action(1) == 1
    pa.refresh_from_db()
    assert (pa.status, pa.checker_id) == (S.EXECUTED, bank.supervisor_a.pk)


def test_checker_conflict_rule_is_enforced(bank, counting_action):
    from bankcrm.approvals import registry

    action = registry.get(COUNTING_ACTION)
    registry.register(registry.ApprovableAction(
        code=COUNTING_ACTION, label=action.label, execute=action.execute,
        conflicts_with_checker=lambda payload, checker: payload.get("owner") == checker.pk))
    pa = submit(bank.cm_a1, 1, owner=bank.supervisor_a.pk)
    assert refused(services.approval_approve, actor=bank.supervisor_a, pending_id=pa.pk) == "checker_conflict"
    services.approval_approve(actor=bank.om_a1, pending_id=pa.pk)
    assert counting_action(1) == 1


def test_privileged_grant_needs_an_administrator_checker(bank):
    """An action with its own checker capability (org.manage_staff) cannot be approved by an ordinary approver."""
    from bankcrm.org import services as org

    r = org.staff_set_roles(actor=bank.admin, staff_id=bank.om_a1.pk, roles=["operations_manager", "compliance_manager"])
    assert r["pending"] == ["compliance_manager"]
    pa = PendingAction.objects.get(status=S.PENDING, target_id=str(bank.om_a1.pk))
    with pytest.raises(PermissionDenied):
        services.approval_approve(actor=bank.compliance, pending_id=pa.pk)  # approver, but not an administrator
    assert refused(services.approval_approve, actor=bank.admin, pending_id=pa.pk) == "maker_cannot_check"
    services.approval_approve(actor=bank.admin2, pending_id=pa.pk)
    assert "compliance_manager" in type(bank.om_a1).objects.get(pk=bank.om_a1.pk).roles


def test_no_bypass_through_html_or_api(bank, counting_action):
    """The same refusals hold through every entry point: the HTML decision route and the API."""
    bypass = 0
    own = submit(bank.supervisor_a, 1)
    foreign = submit(bank.cm_a1, 2)
    html = login_client(bank.supervisor_a)
    html.post(reverse("approvals:decide", args=[own.pk, "approve"]), {"reason": ""})
    api = login_client(bank.supervisor_a)
    r = api.post(f"/api/v1/approvals/{own.pk}/approve/", data=json.dumps({}), content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "maker_cannot_check"
    bypass += counting_action(1)
    for actor in (bank.intern, bank.temp, bank.supervisor_b):
        c = login_client(actor)
        c.post(reverse("approvals:decide", args=[foreign.pk, "approve"]), {"reason": ""})
        r = c.post(f"/api/v1/approvals/{foreign.pk}/approve/", data="{}", content_type="application/json")
        assert r.status_code in (403, 404), (actor.staff_no, r.status_code)
    bypass += counting_action(2)
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert (own.status, foreign.status) == (S.PENDING, S.PENDING)
    r = login_client(bank.om_a1).post(f"/api/v1/approvals/{foreign.pk}/approve/", data="{}", content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == S.EXECUTED
    write_figures("R5", bypass == 0, bypass_paths=bypass, entry_points=3)
    assert bypass == 0


# ---- Two checkers approving the same 100 items at once (PostgreSQL) ----------------------------------------------
ITEMS = 100


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_checkers_same_items_execute_exactly_once(bank, counting_action):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    ids = [submit(bank.cm_a1, n).pk for n in range(ITEMS)]
    checkers = [bank.supervisor_a, bank.om_a1]
    barrier = threading.Barrier(len(checkers))
    outcomes: dict[str, list] = {c.staff_no: [] for c in checkers}
    errors: list[BaseException] = []

    def run(checker, order):
        from django.db import connection as conn

        try:
            barrier.wait(30)
            for pk in order:
                try:
                    entrypoint(services.approval_approve)(actor=checker, pending_id=pk)
                    outcomes[checker.staff_no].append(pk)
                except RuleViolation as exc:
                    assert exc.code == "approval_not_pending", exc.code
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run, args=(checkers[0], ids)), threading.Thread(target=run, args=(checkers[1], ids[::-1]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    per_item = [counting_action(n) for n in range(ITEMS)]
    approvals = sorted(outcomes[checkers[0].staff_no] + outcomes[checkers[1].staff_no])
    double = sum(1 for c in per_item if c > 1)
    missing = sum(1 for c in per_item if c == 0)
    from bankcrm.core.audit import verify_chain

    chain_ok = verify_chain().ok
    write_figures("R5", double == 0 and missing == 0 and chain_ok, double_executions=double, concurrent_items=ITEMS,
                  concurrent_missing=missing, concurrent_checkers=len(checkers),
                  approved_by_each=[len(v) for v in outcomes.values()])
    assert double == 0 and missing == 0
    assert approvals == sorted(ids)
    assert PendingAction.objects.filter(pk__in=ids, status=S.EXECUTED).count() == ITEMS
    assert chain_ok


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrency_detector_catches_an_unlocked_read(bank, counting_action, monkeypatch):
    """Broken variant: the pending row read without a lock (naive read-check-write) lets both checkers execute."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    ids = [submit(bank.cm_a1, n).pk for n in range(20)]
    barrier = threading.Barrier(2)
    original = services.approval_approve

    def unlocked_get(actor, pending_id):
        pa = PendingAction.objects.visible_to(actor).get(pk=pending_id)
        barrier.wait(5)  # both checkers have read 'pending' before either writes
        return pa

    monkeypatch.setattr(services, "_get_locked", unlocked_get)

    def run(checker, pk):
        from django.db import connection as conn

        try:
            entrypoint(original)(actor=checker, pending_id=pk)
        except (DomainError, threading.BrokenBarrierError):
            pass
        finally:
            conn.close()

    for pk in ids[:5]:
        threads = [threading.Thread(target=run, args=(c, pk)) for c in (bank.supervisor_a, bank.om_a1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert sum(1 for n in range(5) if counting_action(n) > 1) > 0
