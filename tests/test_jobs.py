"""Periodic jobs: the scheduler enqueues each slot once; the foundation's jobs are idempotent (a second run changes
nothing). Test settings use django-tasks' immediate backend, so an enqueued job runs at once."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from bankcrm.approvals import services as approvals
from bankcrm.approvals.models import PendingAction
from bankcrm.core import scheduling
from bankcrm.core.models import ScheduledRun
from bankcrm.org import services as org
from bankcrm.org.models import LiveSession, Staff
from tests.conftest import COUNTING_ACTION, login_client
from tests.helpers import audit_seq, db_state, state_diff, verbs_since

pytestmark = pytest.mark.django_db


def local(y, m, d, hh=0, mm=0) -> datetime:
    return timezone.make_aware(datetime(y, m, d, hh, mm))


@pytest.fixture
def counting_jobs(monkeypatch):
    runs: list[str] = []
    jobs = {
        "t.every5": scheduling.Periodic("t.every5", lambda: runs.append("every5"), interval=timedelta(minutes=5)),
        "t.daily": scheduling.Periodic("t.daily", lambda: runs.append("daily"), daily_at=time(1, 30)),
    }
    monkeypatch.setattr(scheduling, "JOBS", jobs)
    return runs


def test_foundation_jobs_are_registered():
    assert {"approvals.expire", "core.export_audit_head", "org.expire_contracts"} <= set(scheduling.JOBS)


def test_enqueue_due_twice_for_the_same_slot_enqueues_once(counting_jobs):
    now = local(2026, 11, 2, 9, 1)
    assert sorted(scheduling.enqueue_due(now)) == ["t.daily", "t.every5"]
    assert scheduling.enqueue_due(now) == []
    assert scheduling.enqueue_due(now + timedelta(minutes=3)) == []  # same 5-minute slot (09:00-09:05)
    assert sorted(counting_jobs) == ["daily", "every5"]
    assert scheduling.enqueue_due(now + timedelta(minutes=5)) == ["t.every5"]  # next slot; daily already done today
    assert scheduling.enqueue_due(local(2026, 11, 3, 1, 0)) == ["t.every5"]  # tomorrow before 01:30: daily not yet due
    assert scheduling.enqueue_due(local(2026, 11, 3, 1, 31)) == ["t.every5", "t.daily"]
    per_slot = list(ScheduledRun.objects.values_list("name", "slot"))
    assert len(per_slot) == len(set(per_slot)) == len(counting_jobs) == 6


def test_scheduler_detector_catches_a_scheduler_without_slot_records(counting_jobs):
    """Broken variant: a scheduler loop that enqueues whatever is due, with no record of the slot."""
    from bankcrm.core.tasks import run_periodic

    def naive_enqueue_due(now):
        for job in scheduling.JOBS.values():
            if job.slot(now) is not None:
                run_periodic.enqueue(job.name)

    now = local(2026, 11, 2, 9, 1)
    naive_enqueue_due(now)
    naive_enqueue_due(now)
    assert counting_jobs.count("every5") == 2  # the duplicate the real scheduler prevents


def test_real_jobs_through_the_scheduler_once_per_slot(bank, counting_action, audit_heads_dir, monkeypatch):
    foundation = ("approvals.expire", "core.export_audit_head", "org.expire_contracts")
    monkeypatch.setattr(scheduling, "JOBS", {k: v for k, v in scheduling.JOBS.items() if k in foundation})
    Staff.objects.filter(pk=bank.temp.pk).update(contract_end=timezone.localdate() - timedelta(days=1))
    pa = approvals.approval_submit(actor=bank.cm_a1, action_code=COUNTING_ACTION, payload={"n": 1}, summary="测试")
    PendingAction.objects.filter(pk=pa.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    now = timezone.localtime().replace(hour=2, minute=0) if timezone.localtime().hour < 2 else timezone.localtime()
    seq = audit_seq()
    started = scheduling.enqueue_due(now)
    assert set(started) == set(foundation)
    verbs = verbs_since(seq)
    assert verbs.count("org.staff_contract_expired") == 1 and verbs.count("approvals.expired") == 1
    assert list(audit_heads_dir.glob("*.json"))
    seq = audit_seq()
    assert scheduling.enqueue_due(now) == []
    assert verbs_since(seq) == []


# ---- Contract expiry ---------------------------------------------------------------------------------------------
def test_contracts_expire_due_deactivates_ends_sessions_and_is_idempotent(bank):
    yesterday = timezone.localdate() - timedelta(days=1)
    Staff.objects.filter(pk=bank.temp.pk).update(contract_end=yesterday)
    login_client(bank.temp)
    assert LiveSession.objects.filter(staff=bank.temp, ended_at__isnull=True).count() == 1
    seq = audit_seq()
    assert org.contracts_expire_due() == 1
    temp = Staff.objects.get(pk=bank.temp.pk)
    assert not temp.is_active and temp.deactivated_at is not None and str(yesterday) in temp.deactivation_reason
    assert temp.auth_version == bank.temp.auth_version + 1
    assert LiveSession.objects.filter(staff=bank.temp, ended_at__isnull=True).count() == 0
    assert LiveSession.objects.get(staff=bank.temp).end_reason == "deactivated"
    assert verbs_since(seq) == ["org.staff_contract_expired"]
    # the intern and consultant (contracts still running) and employees are untouched
    assert Staff.objects.filter(pk__in=[bank.intern.pk, bank.consultant.pk, bank.cm_a1.pk], is_active=True).count() == 3
    seq, state = audit_seq(), db_state()
    assert org.contracts_expire_due() == 0
    assert verbs_since(seq) == [] and state_diff(state, db_state()) == []


def test_contract_ending_today_is_still_valid_today(bank):
    Staff.objects.filter(pk=bank.intern.pk).update(contract_end=timezone.localdate())
    assert org.contracts_expire_due() == 0
    assert org.contracts_expire_due(today=timezone.localdate() + timedelta(days=1)) == 1


# ---- Approval expiry ---------------------------------------------------------------------------------------------
def test_approvals_expire_due_marks_expired_in_batches_and_is_idempotent(bank, counting_action):
    items = [approvals.approval_submit(actor=bank.cm_a1, action_code=COUNTING_ACTION, payload={"n": n}, summary="测试")
             for n in range(5)]
    fresh = approvals.approval_submit(actor=bank.cm_a1, action_code=COUNTING_ACTION, payload={"n": 99}, summary="未到期")
    PendingAction.objects.filter(pk__in=[p.pk for p in items]).update(expires_at=timezone.now() - timedelta(seconds=1))
    seq = audit_seq()
    assert approvals.approvals_expire_due(batch=2) == 5
    assert set(PendingAction.objects.filter(pk__in=[p.pk for p in items]).values_list("status", flat=True)) == {"expired"}
    assert PendingAction.objects.get(pk=fresh.pk).status == "pending"
    assert verbs_since(seq) == ["approvals.expired"] * 5
    assert counting_action() == 0
    seq, state = audit_seq(), db_state()
    assert approvals.approvals_expire_due() == 0
    assert verbs_since(seq) == [] and state_diff(state, db_state()) == []
    # an expired item can no longer be approved
    from bankcrm.core.errors import RuleViolation

    with pytest.raises(RuleViolation):
        approvals.approval_approve(actor=bank.supervisor_a, pending_id=items[0].pk)
