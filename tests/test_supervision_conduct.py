"""Staff-conduct signals (issue #10): each detector's threshold (just below → none, at → one signal), idempotent
reruns, review and escalation, and the mandatory-leave and key-post-rotation checks."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from freezegun import freeze_time

from bankcrm.core import audit, logs
from bankcrm.core.models import ConductSignal, ParameterVersion, SecurityEvent
from bankcrm.supervision import conduct_rules as rules
from bankcrm.supervision import conduct_selectors as sel
from bankcrm.supervision import conduct_services as svc
from bankcrm.supervision.models import LeaveRecord, SignalRecord

pytestmark = pytest.mark.django_db
TZ = timezone.get_default_timezone()


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), TZ)


def a_weekday(back: int = 7):
    d = timezone.localdate() - timedelta(days=back)
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def set_param(bank, code, value):
    ParameterVersion.objects.create(code=code, value=value, effective_from=timezone.now() - timedelta(days=400),
                                    reason="test", created_by=bank.admin)


def signals(kind):
    return ConductSignal.objects.filter(kind=kind)


def access_rows(actor, when, n, *, unmasked=False, ids=None, view="customers.detail"):
    with freeze_time(when):
        for i in range(n):
            logs.access(actor=actor, view=view, subject_type="customers.Customer",
                        subject_ids=[ids[i]] if ids else [100000 + i], unmasked=unmasked, reason="x" if unmasked else "")


# ---- bulk unmasking ---------------------------------------------------------------------------------------------------
def test_bulk_unmask_threshold_and_idempotence(bank):
    set_param(bank, "conduct.unmask_day", 5)
    day = a_weekday()
    access_rows(bank.cm_a1, at(day, 10), 4, unmasked=True)
    access_rows(bank.cm_b1, at(day, 10), 5, unmasked=True)
    access_rows(bank.cm_a1, at(day, 11), 20, unmasked=False)  # masked reads do not count
    assert svc.detect_bulk_unmask(day) == 1
    s = signals(rules.KIND_UNMASK).get()
    assert s.staff_id == bank.cm_b1.pk and s.detail["unmasked"] == 5 and s.branch_path == bank.b1.path
    assert svc.detect_bulk_unmask(day) == 0 and svc.run_detectors(day=day)[rules.KIND_UNMASK] == 0
    assert signals(rules.KIND_UNMASK).count() == 1
    assert SignalRecord.objects.get(signal=s).key == f"bulk_unmask:{bank.cm_b1.pk}:{day.isoformat()}"
    # the next day is another period
    access_rows(bank.cm_b1, at(day + timedelta(days=1), 9), 5, unmasked=True)
    assert svc.detect_bulk_unmask(day + timedelta(days=1)) == 1


# ---- viewing many unmanaged customers in a day --------------------------------------------------------------------------
def test_unmanaged_views_day_threshold(bank):
    set_param(bank, "conduct.unmanaged_views_day", 6)
    day = a_weekday()
    access_rows(bank.cm_a1, at(day, 10), 5, ids=[str(i) for i in range(1, 6)])
    access_rows(bank.cm_a1, at(day, 12), 3, ids=["1", "2", "3"])  # the same customers again: still 5 distinct
    access_rows(bank.cm_b1, at(day, 10), 6)
    access_rows(bank.om_a1, at(day, 10), 9, view="customers.list")  # lists are not "opening" a customer
    assert svc.detect_unmanaged_views(day) == 1
    assert signals(rules.KIND_VIEWS_DAY).get().staff_id == bank.cm_b1.pk
    assert svc.detect_unmanaged_views(day) == 0


def test_managed_customers_do_not_count(bank):
    from tests.ledger_helpers import build_ledger

    set_param(bank, "conduct.unmanaged_views_day", 3)
    led = build_ledger(bank)
    day = a_weekday()
    # cm_a1 manages zhang and li: viewing them plus one other is 1 unmanaged customer
    access_rows(bank.cm_a1, at(day, 10), 3, ids=[str(led.zhang.pk), str(led.li.pk), str(led.wang.pk)])
    assert svc.detect_unmanaged_views(day) == 0
    access_rows(bank.cm_b1, at(day, 10), 3, ids=[str(led.zhang.pk), str(led.li.pk), str(led.wang.pk)])
    assert svc.detect_unmanaged_views(day) == 0  # cm_b1 manages wang: 2 < 3
    access_rows(bank.om_a1, at(day, 10), 3, ids=[str(led.zhang.pk), str(led.li.pk), str(led.wang.pk)])
    assert svc.detect_unmanaged_views(day) == 1


# ---- unusual hours ------------------------------------------------------------------------------------------------------
def logins(actor, when_list):
    for when in when_list:
        with freeze_time(when):
            logs.security(SecurityEvent.Kind.LOGIN_OK, actor=actor, username=actor.staff_no)


def test_odd_hours_threshold_window_and_one_signal_per_window(bank):
    set_param(bank, "conduct.odd_hours_count", 3)
    day = a_weekday(10)
    logins(bank.om_a1, [at(day, 22), at(day, 23, 30)])         # 2 odd acts
    logins(bank.om_a1, [at(day, 9), at(day, 14), at(day, 20, 59)])  # in hours: not counted
    assert svc.detect_odd_hours(day) == 0
    with freeze_time(at(day, 6, 30)):  # an audited state change before 07:00 is the third act
        with transaction.atomic():
            audit.record(actor=bank.om_a1, verb="supervision.leave_recorded", target_type="x", target_id=1)
    totals, first = svc.odd_hour_counts(day)
    assert totals[bank.om_a1.pk] == 3 and first == day - timedelta(days=6)
    assert svc.detect_odd_hours(day) == 1
    assert svc.detect_odd_hours(day) == 0
    assert svc.detect_odd_hours(day + timedelta(days=1)) == 0  # the same acts, next night: same window, no new signal
    assert svc.detect_odd_hours(day + timedelta(days=7)) == 0  # the acts have left the window


def test_non_working_day_counts_and_makeup_day_does_not(bank):
    from bankcrm.core.models import CalendarDay

    set_param(bank, "conduct.odd_hours_count", 2)
    saturday = timezone.localdate() - timedelta(days=20)
    while saturday.weekday() != 5:
        saturday -= timedelta(days=1)
    sunday = saturday + timedelta(days=1)
    CalendarDay.objects.create(date=sunday, kind=CalendarDay.Kind.WORKDAY, name="调休")
    logins(bank.cm_a1, [at(saturday, 10), at(sunday, 10), at(sunday, 11)])
    totals, _first = svc.odd_hour_counts(sunday)
    assert totals.get(bank.cm_a1.pk) == 1  # Saturday only; Sunday is a makeup working day
    assert svc.detect_odd_hours(sunday) == 0
    logins(bank.cm_a1, [at(saturday, 15)])
    assert svc.detect_odd_hours(sunday) == 1


@pytest.mark.parametrize("hour,odd", [(6, True), (7, False), (20, False), (21, True), (0, True)])
def test_outside_hours_band(hour, odd):
    assert rules.outside_hours(hour, 7, 21) is odd


# ---- related parties ----------------------------------------------------------------------------------------------------
def test_related_party_transactions(bank):
    from bankcrm.customers import services as cs
    from bankcrm.customers.models import Relationship
    from bankcrm.ledger import services as ls
    from tests.ledger_helpers import build_ledger, ric

    led = build_ledger(bank)
    day = timezone.localdate()
    # om_a1's own phone (13800138000 in the fixture) belongs to a customer: om_a1 themself; a spouse is linked to them
    me = cs.customer_register(actor=bank.cm_a1, kind="person", name="陈运营", id_type="resident_id",
                              id_number=ric("19800101", "021"), mobile="13800138000", branch_id=bank.a1.pk)
    spouse = led.li
    with transaction.atomic():
        Relationship.objects.create(from_customer=me, to_customer=spouse, kind="spouse", created_by=bank.cm_a1)
    related = svc.related_customers()
    assert {me.pk, spouse.pk} <= related[bank.om_a1.pk]
    assert led.zhang.pk not in related[bank.om_a1.pk]
    assert svc.detect_related_party(day) == 0
    # a deposit for an unrelated customer: nothing; for the spouse: a signal (threshold 1)
    for acc in (led.zhang_cny, led.li_cny):
        mv = ls.cash_deposit_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=10_000)
        with transaction.atomic():
            ls.post(mv, maker=bank.om_a1)
    assert svc.detect_related_party(day) == 1
    s = signals(rules.KIND_RELATED).get()
    assert s.staff_id == bank.om_a1.pk and s.detail["transactions"] == 1
    assert svc.detect_related_party(day) == 0


def test_related_party_threshold_just_below(bank):
    from bankcrm.customers import services as cs
    from bankcrm.ledger import services as ls
    from tests.ledger_helpers import build_ledger, ric

    set_param(bank, "conduct.related_party_count", 2)
    build_ledger(bank)
    from bankcrm.ledger.models import Product

    me = cs.customer_register(actor=bank.cm_a1, kind="person", name="陈运营", id_type="resident_id",
                              id_number=ric("19800101", "021"), mobile="13800138000", branch_id=bank.a1.pk)
    acc = ls.account_open(actor=bank.om_a1, customer_id=me.pk, product_id=Product.objects.get(code="D-CNY").pk)
    day = timezone.localdate()

    def deposit():
        mv = ls.cash_deposit_movement(actor=bank.om_a1, account_id=acc.pk, amount_fen=10_000)
        with transaction.atomic():
            ls.post(mv, maker=bank.om_a1)

    deposit()
    assert svc.detect_related_party(day) == 0
    deposit()
    assert svc.detect_related_party(day) == 1


# ---- review and escalation ------------------------------------------------------------------------------------------------
def test_review_and_scope(bank):
    set_param(bank, "conduct.unmask_day", 1)
    day = a_weekday()
    access_rows(bank.cm_b1, at(day, 10), 1, unmasked=True)
    svc.detect_bulk_unmask(day)
    s = signals(rules.KIND_UNMASK).get()
    assert sel.signals_visible(bank.supervisor_b).filter(pk=s.pk).exists()
    assert not sel.signals_visible(bank.supervisor_a).filter(pk=s.pk).exists()
    assert not sel.signals_visible(bank.cm_b1).exists()
    from bankcrm.core.errors import NotFound, PermissionDenied, ValidationFailed

    with pytest.raises(PermissionDenied):
        svc.signal_review(actor=bank.supervisor_b, signal_id=s.pk, note="ok")
    with pytest.raises(ValidationFailed):
        svc.signal_review(actor=bank.compliance, signal_id=s.pk, note=" ")
    with pytest.raises(NotFound):
        svc.signal_review(actor=bank.compliance, signal_id=999999, note="x")
    rec = svc.signal_review(actor=bank.compliance, signal_id=s.pk, note="客户来电核实身份，正常")
    s.refresh_from_db()
    assert s.status == "closed" and rec.outcome == "reviewed" and rec.reviewed_by_id == bank.compliance.pk


def test_review_of_a_realtime_signal_creates_its_record(bank):
    s = ConductSignal.objects.create(kind=rules.KIND_BULK_VIEW, staff=bank.cm_a1, branch_path=bank.a1.path,
                                     detail={"customers": 60})
    rec = svc.signal_review(actor=bank.compliance, signal_id=s.pk, note="批量回访名单，正常")
    assert rec.key == f"core:{s.pk}" and rec.outcome == "reviewed"


def test_escalation_raises_a_finding(bank):
    pytest.importorskip("bankcrm.supervision.finding_services")
    from bankcrm.supervision.models import Finding

    s = ConductSignal.objects.create(kind=rules.KIND_UNMASK, staff=bank.cm_a1, branch_path=bank.a1.path,
                                     detail={"unmasked": 40})
    rec = svc.signal_escalate(actor=bank.compliance, signal_id=s.pk, note="无业务理由批量查看", severity="high")
    f = Finding.objects.get(pk=rec.finding_id)
    assert f.staff_id == bank.cm_a1.pk and f.severity == "high" and rec.outcome == "escalated"
    s.refresh_from_db()
    assert s.status == "closed"


# ---- mandatory leave and rotation -----------------------------------------------------------------------------------------
def test_leave_overdue(bank):
    set_param(bank, "conduct.mandatory_leave_days", 10)
    today = timezone.localdate()
    key = {bank.om_a1.pk, bank.om_b1.pk, bank.temp.pk, bank.risk.pk, bank.branch_risk.pk, bank.consultant.pk}
    assert set(sel.conduct_leave_overdue().values_list("pk", flat=True)) == key
    svc.leave_record(actor=bank.compliance, staff_id=bank.om_a1.pk, start_on=today - timedelta(days=40),
                     end_on=today - timedelta(days=31))  # 10 days: enough
    svc.leave_record(actor=bank.compliance, staff_id=bank.om_b1.pk, start_on=today - timedelta(days=40),
                     end_on=today - timedelta(days=32))  # 9 days: just below
    svc.leave_record(actor=bank.compliance, staff_id=bank.risk.pk, start_on=today - timedelta(days=420),
                     end_on=today - timedelta(days=400))  # long ago
    svc.leave_record(actor=bank.compliance, staff_id=bank.branch_risk.pk, kind="annual",
                     start_on=today - timedelta(days=40), end_on=today - timedelta(days=20))  # not mandatory
    overdue = set(sel.conduct_leave_overdue().values_list("pk", flat=True))
    assert overdue == key - {bank.om_a1.pk}
    assert LeaveRecord.objects.get(staff=bank.om_a1).days == 10
    # scoped: supervisor of A sees only their subtree
    assert set(sel.conduct_leave_overdue(bank.supervisor_a).values_list("pk", flat=True)) == {
        bank.temp.pk, bank.branch_risk.pk, bank.consultant.pk}


def test_rotation_overdue(bank):
    from bankcrm.org.models import RoleAssignment

    set_param(bank, "conduct.rotation_years", 5)
    today = timezone.localdate()
    assert not sel.conduct_rotation_overdue().exists()  # roles were granted today
    RoleAssignment.objects.filter(staff=bank.om_b1).update(granted_at=timezone.now() - timedelta(days=6 * 366))
    assert list(sel.conduct_rotation_overdue().values_list("pk", flat=True)) == [bank.om_b1.pk]
    # a rotation record dated recently resets the clock; an old one for another person flags them
    svc.rotation_record(actor=bank.compliance, staff_id=bank.om_b1.pk, post="operations_manager",
                        from_on=today - timedelta(days=200))
    svc.rotation_record(actor=bank.compliance, staff_id=bank.om_a1.pk, post="operations_manager",
                        from_on=today - timedelta(days=5 * 366))
    assert list(sel.conduct_rotation_overdue().values_list("pk", flat=True)) == [bank.om_a1.pk]
    svc.rotation_record(actor=bank.compliance, staff_id=bank.om_a1.pk, post="operations_manager",
                        from_on=today - timedelta(days=3))
    assert not sel.conduct_rotation_overdue().exists()
    rows = {r["staff"].pk: r for r in sel.leave_status(bank.compliance)}
    assert rows[bank.om_a1.pk]["post_since"] == today - timedelta(days=3)


def test_records_refused_out_of_scope(bank):
    from bankcrm.core.errors import NotFound, PermissionDenied, ValidationFailed

    today = timezone.localdate()
    with pytest.raises(NotFound):
        svc.leave_record(actor=bank.supervisor_a, staff_id=bank.om_b1.pk, start_on=today, end_on=today)
    with pytest.raises(PermissionDenied):
        svc.leave_record(actor=bank.cm_a1, staff_id=bank.om_a1.pk, start_on=today, end_on=today)
    with pytest.raises(ValidationFailed):
        svc.leave_record(actor=bank.compliance, staff_id=bank.om_a1.pk, start_on=today, end_on=today - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        svc.rotation_record(actor=bank.compliance, staff_id=bank.om_a1.pk, post="customer_manager", from_on=today)


def test_params_are_declared():
    from bankcrm.core import params

    for code in ("conduct.unmask_day", "conduct.unmanaged_views_day", "conduct.odd_hours_count",
                 "conduct.related_party_count", "conduct.mandatory_leave_days", "conduct.rotation_years"):
        assert params.definition(code)


# ---- pages ----------------------------------------------------------------------------------------------------------------
def test_conduct_pages(bank):
    from django.urls import reverse

    from tests.conftest import login_client
    from tests.helpers import audit_seq, verbs_since

    s = ConductSignal.objects.create(kind=rules.KIND_UNMASK, staff=bank.cm_b1, branch_path=bank.b1.path,
                                     detail={"unmasked": 30, "period_start": "2025-01-01", "period_end": "2025-01-01"})
    co = login_client(bank.compliance)
    page = co.get(reverse("supervision:conduct"))
    assert page.status_code == 200 and "批量查看完整个人信息" in page.content.decode() and "冯客户" in page.content.decode()
    assert co.get(reverse("supervision:conduct_signal", args=[s.pk])).status_code == 200
    # supervisors read their subtree only, and cannot review
    sv_a = login_client(bank.supervisor_a)
    assert sv_a.get(reverse("supervision:conduct_signal", args=[s.pk])).status_code == 404
    assert "冯客户" not in sv_a.get(reverse("supervision:conduct")).content.decode()
    sv_b = login_client(bank.supervisor_b)
    assert sv_b.get(reverse("supervision:conduct_signal", args=[s.pk])).status_code == 200
    seq = audit_seq()
    assert sv_b.post(reverse("supervision:conduct_decide", args=[s.pk]), {"note": "x"}).status_code == 403
    assert login_client(bank.cm_a1).get(reverse("supervision:conduct")).status_code == 403
    assert verbs_since(seq) == []
    # an empty note is shown next to the field
    r = co.post(reverse("supervision:conduct_decide", args=[s.pk]), {"note": "", "action": "review"})
    assert r.status_code == 400 and 'data-testid="field-error-note"' in r.content.decode()
    r = co.post(reverse("supervision:conduct_decide", args=[s.pk]), {"note": "已核实", "action": "review"})
    assert r.status_code == 302
    s.refresh_from_db()
    assert s.status == "closed" and verbs_since(seq) == ["supervision.conduct_signal_reviewed"]
    # run now and record leave through the page
    assert co.post(reverse("supervision:conduct_run")).status_code == 302
    today = timezone.localdate()
    r = co.post(reverse("supervision:conduct_leave_new"), {"staff_id": bank.om_a1.pk, "kind": "mandatory",
                                                           "start_on": today, "end_on": today - timedelta(days=2)})
    assert r.status_code == 200 and 'data-testid="field-error-end_on"' in r.content.decode()
    r = co.post(reverse("supervision:conduct_leave_new"), {"staff_id": bank.om_a1.pk, "kind": "mandatory",
                                                           "start_on": today - timedelta(days=12), "end_on": today})
    assert r.status_code == 302 and LeaveRecord.objects.filter(staff=bank.om_a1, days=13).exists()
    r = co.post(reverse("supervision:conduct_rotation_new"), {"staff_id": bank.om_a1.pk, "post": "operations_manager",
                                                              "from_on": today})
    assert r.status_code == 302


def test_conduct_api(bank):
    from tests.conftest import login_client

    s = ConductSignal.objects.create(kind=rules.KIND_UNMASK, staff=bank.cm_b1, branch_path=bank.b1.path,
                                     detail={"unmasked": 30})
    co = login_client(bank.compliance)
    r = co.get("/api/v1/supervision/conduct/signals/", {"status": "open"})
    assert r.status_code == 200 and r.json()["count"] == 1 and r.json()["results"][0]["staff_no"] == "CM002"
    assert login_client(bank.supervisor_a).get(f"/api/v1/supervision/conduct/signals/{s.pk}/").status_code == 404
    assert login_client(bank.supervisor_b).post(f"/api/v1/supervision/conduct/signals/{s.pk}/review/",
                                                {"note": "x"}, content_type="application/json").status_code == 403
    assert co.post(f"/api/v1/supervision/conduct/signals/{s.pk}/review/", {"note": ""},
                   content_type="application/json").status_code == 400
    r = co.post(f"/api/v1/supervision/conduct/signals/{s.pk}/review/", {"note": "ok", "status": "open"},
                content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["outcome"] == "reviewed"
    assert co.post(f"/api/v1/supervision/conduct/signals/{s.pk}/review/", {"note": "again"},
                   content_type="application/json").status_code == 409
    today = timezone.localdate().isoformat()
    r = co.post("/api/v1/supervision/conduct/leave/", {"staff_id": bank.om_a1.pk, "start_on": today, "end_on": today,
                                                       "days": 99}, content_type="application/json")
    assert r.status_code == 201 and r.json()["days"] == 1
    assert co.get("/api/v1/supervision/conduct/key-posts/").status_code == 200
    r = co.post("/api/v1/supervision/conduct/rotations/", {"staff_id": bank.om_a1.pk, "post": "operations_manager",
                                                           "from_on": today}, content_type="application/json")
    assert r.status_code == 201
    assert login_client(bank.cm_a1).get("/api/v1/supervision/conduct/signals/").status_code == 403


# ---- the demo ------------------------------------------------------------------------------------------------------------
def check_conduct_demo(ctx, lines) -> None:
    """Run by tests/test_demo_bank.py on the small demo bank."""
    from bankcrm.supervision.models import LegalHold, RetentionRun

    kinds = set(ConductSignal.objects.values_list("kind", flat=True))
    assert {rules.KIND_UNMASK, rules.KIND_VIEWS_DAY, rules.KIND_ODD_HOURS, rules.KIND_RELATED} <= kinds, kinds
    assert ConductSignal.objects.filter(status="closed").count() == 1
    assert sel.conduct_leave_overdue().count() >= 1 and sel.conduct_rotation_overdue().count() >= 1
    assert LegalHold.objects.count() == 1 and RetentionRun.objects.filter(dry_run=True).count() == 1
    assert any(line.startswith("supervision conduct:") for line in lines)
    # the nightly job the next time finds nothing new
    assert sum(svc.run_detectors(day=timezone.localdate()).values()) == 0


def test_changes_made_by_commands_and_tasks_are_not_someone_working_at_night(bank):
    from bankcrm.core import context

    set_param(bank, "conduct.odd_hours_count", 1)
    day = a_weekday(12)
    for channel in ("command", "task"):
        with freeze_time(at(day, 23)), context.channel(channel), transaction.atomic():
            audit.record(actor=bank.om_a1, verb="supervision.leave_recorded", target_type="x", target_id=1)
    assert svc.odd_hour_counts(day)[0].get(bank.om_a1.pk, 0) == 0
    assert svc.detect_odd_hours(day) == 0
