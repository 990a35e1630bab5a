"""R14 for the escalation sweep (QUALITY.md): a few thousand requests and complaints about to miss a target; the
sweep is killed mid-way 20 times (an exception in the middle of a chunk, after some notifications were written in
it, stands for the process dying: the chunk's transaction never commits) and resumed; the outcome equals an
uninterrupted run — every item escalated once, one notification per item and target, no duplicates, none missed —
and a second run changes nothing. Plus the sweep's behaviour on single items (lead time, extension, recusal)."""

from __future__ import annotations

import random
import time as clock
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bankcrm.service import services
from bankcrm.service.models import Complaint, Event, Notification, ServiceRequest
from tests.conftest import write_figures
from tests.ledger_helpers import build_ledger

pytestmark = pytest.mark.django_db

N_COMPLAINTS = 1200
N_REQUESTS = 1200


class Killed(Exception):
    """The process dying mid-chunk."""


def _population(bank, led) -> None:
    now = timezone.now()
    today = timezone.localdate()
    cust = [led.zhang, led.li]
    Complaint.objects.bulk_create([
        Complaint(number=f"TSR14{i:07d}", channel="phone", summary=f"批量投诉{i}", customer=cust[i % 2],
                  branch_path=bank.a1.path, branch=bank.a1, handler=bank.cm_a1 if i % 3 else None,
                  staff_named=bank.om_a1 if i % 5 == 0 else None, status="assigned" if i % 3 else "received",
                  received_at=now - timedelta(days=14), ack_due_on=today - timedelta(days=1),
                  decision_due_on=today + timedelta(days=1))
        for i in range(N_COMPLAINTS)], batch_size=500)
    ServiceRequest.objects.bulk_create([
        ServiceRequest(number=f"FWR14{i:07d}", kind="request", channel="online", subject=f"批量请求{i}",
                       customer=cust[i % 2], branch_path=bank.a1.path, owner=bank.cm_a1 if i % 2 else bank.om_a1,
                       received_at=now - timedelta(hours=7), respond_due_at=now + timedelta(minutes=50),
                       resolve_due_at=now + timedelta(minutes=90), created_by=bank.cm_a1)
        for i in range(N_REQUESTS)], batch_size=500)


def _outcome() -> dict:
    return {
        "notifications": sorted(Notification.objects.values_list("dedupe_key", "recipient_id")),
        "events": sorted(Counter(Event.objects.filter(kind="escalated").values_list("complaint_id", "request_id"))
                         .items(), key=str),
        "complaint_flags": sorted(Complaint.objects.values_list("pk", "ack_escalated_at", "decision_escalated_for",
                                                                "escalated_to_id")),
        "request_flags": sorted(ServiceRequest.objects.values_list("pk", "respond_escalated_at",
                                                                   "resolve_escalated_at", "escalated_to_id")),
    }


def _reset() -> None:
    Notification.objects.all().delete()
    Event.objects.filter(kind="escalated").delete()
    Complaint.objects.update(ack_escalated_at=None, decision_escalated_for=None, escalated_to=None)
    ServiceRequest.objects.update(respond_escalated_at=None, resolve_escalated_at=None, escalated_to=None)


def test_r14_sweep_killed_20_times_notifies_once(bank, monkeypatch):
    led = build_ledger(bank)
    _population(bank, led)
    now = timezone.now()
    t0 = clock.monotonic()
    clean = services.sweep(now=now, chunk=150)
    clean_secs = clock.monotonic() - t0
    expected = _outcome()
    expected_notes = 2 * N_COMPLAINTS + 2 * N_REQUESTS
    assert clean == {"requests": 2 * N_REQUESTS, "complaints": 2 * N_COMPLAINTS}
    assert len(expected["notifications"]) == expected_notes
    _reset()

    rng = random.Random(14)
    real_notify = services.notify
    budget = {"left": 0}

    def dying_notify(**kw):
        if budget["left"] == 0:
            raise Killed()
        budget["left"] -= 1
        return real_notify(**kw)

    monkeypatch.setattr(services, "notify", dying_notify)
    kills = 0
    for _ in range(20):
        budget["left"] = rng.randint(1, 400)
        with pytest.raises(Killed):
            services.sweep(now=now, chunk=150)
        kills += 1
    assert 0 < Notification.objects.count() < expected_notes  # it really stopped part-way
    budget["left"] = -1  # no more deaths
    services.sweep(now=now, chunk=150)
    resumed = _outcome()
    second = services.sweep(now=now, chunk=150)

    keys = [k for k, _r in resumed["notifications"]]
    duplicates = len(keys) - len(set(keys))
    missed = len(set(expected["notifications"]) - set(resumed["notifications"]))
    extra = len(set(resumed["notifications"]) - set(expected["notifications"]))
    # each item has one timeline event per target escalated (two here): compare with the uninterrupted run
    want, got = dict(expected["events"]), dict(resumed["events"])
    timeline_dupes = sum(max(0, n - want.get(k, 0)) for k, n in got.items())
    diff = int(resumed != expected)
    write_figures("R14", duplicates == missed == extra == diff == 0 and second == {"requests": 0, "complaints": 0},
                  service_items=N_COMPLAINTS + N_REQUESTS, service_kills=kills,
                  service_notifications=len(keys), service_duplicate_notifications=duplicates,
                  service_missed_notifications=missed, service_timeline_duplicates=timeline_dupes,
                  service_diff_vs_uninterrupted=diff, service_second_run_changes=sum(second.values()),
                  service_clean_run_seconds=round(clean_secs, 2))
    assert (duplicates, missed, extra, timeline_dupes, diff) == (0, 0, 0, 0, 0)
    assert second == {"requests": 0, "complaints": 0}
    # the recipients: request owners' and complaint handlers' supervisor; never the person complained about
    assert {r for _k, r in resumed["notifications"]} == {bank.supervisor_a.pk}


def test_sweep_detector_catches_a_non_transactional_variant(bank, monkeypatch):
    """Broken variant: notifications sent outside the chunk's transaction (autocommit per item, flags later) — a kill
    after the notice and before the flag makes the resumed run notify again."""
    led = build_ledger(bank)
    now = timezone.now()
    c = services.complaint_register(actor=bank.cm_a1, customer_id=led.zhang.pk, channel="phone", summary="测试投诉变体",
                                    received_at=now - timedelta(days=14))
    sent: list[str] = []

    def naive_sweep():
        for row in Complaint.objects.filter(pk=c.pk, decision_escalated_for__isnull=True):
            sent.append(f"cmp:{row.pk}:decision")  # "sent" (e.g. an SMS) before the flag is stored
            raise Killed()

    with pytest.raises(Killed):
        naive_sweep()
    with pytest.raises(Killed):
        naive_sweep()
    assert len(sent) == 2  # the naive design notifies twice; ours keeps notice and flag in one transaction
    services.sweep(now=now)
    services.sweep(now=now)
    assert Notification.objects.filter(dedupe_key__startswith=f"cmp:{c.pk}:decision").count() == 1


def test_lead_time_extension_and_recusal(bank):
    led = build_ledger(bank)
    now = timezone.now()
    c = services.complaint_register(actor=bank.cm_a1, customer_id=led.zhang.pk, channel="phone", summary="提前量测试",
                                    staff_named_id=bank.supervisor_a.pk, received_at=now - timedelta(days=12))
    services.complaint_acknowledge(actor=bank.cm_a1, complaint_id=c.pk)
    assert services.sweep(now=now)["complaints"] == 0  # due in 3 days, lead 48 h
    assert services.sweep(now=now + timedelta(days=2))["complaints"] == 1
    c.refresh_from_db()
    # the supervisor is the person complained about: head-office compliance is told instead
    assert c.escalated_to_id == bank.compliance.pk
    with transaction.atomic():
        services.complaint_extend(actor=bank.compliance, complaint_id=c.pk, reason="需调取更多资料，延长处理时限")
    c.refresh_from_db()
    assert services.sweep(now=now + timedelta(days=2))["complaints"] == 0  # new date far away
    assert services.sweep(now=now + timedelta(days=17))["complaints"] == 1  # escalated again for the new date
    assert Notification.objects.filter(dedupe_key__startswith=f"cmp:{c.pk}:").count() == 2
    r = services.request_register(actor=bank.cm_a1, customer_id=led.zhang.pk, kind="enquiry", channel="phone",
                                  subject="提前量测试请求")
    services.request_respond(actor=bank.cm_a1, request_id=r.pk, note="已回复")
    assert services.sweep(now=now + timedelta(hours=7))["requests"] == 0  # responded: nothing for that target
    assert services.sweep(now=now + timedelta(hours=119))["requests"] == 1  # resolution 120 h, lead 2 h
    assert Notification.objects.get(dedupe_key__startswith=f"req:{r.pk}:resolve").recipient_id == bank.supervisor_a.pk
