"""Findings and rectification (issue #10): deadlines by severity, owners, the rectification flow with re-checks that
fail and pass, close rules, segregation of duties (the owner never closes), scope, reminders and the overdue job."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from bankcrm.core import inbox
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.models import ParameterVersion
from bankcrm.supervision import finding_rules as fr
from bankcrm.supervision import finding_services as svc
from bankcrm.supervision.coverage_services import clauses_install_default
from bankcrm.supervision.models import Finding, FindingAction
from tests.helpers import audit_seq, verbs_since

pytestmark = pytest.mark.django_db


@pytest.fixture
def sv(bank):
    clauses_install_default()
    return bank


def raise_one(bank, severity="high", branch=None, **kw):
    return svc.finding_raise(actor=bank.compliance, source="manual", title="客户档案缺失风险揭示书签字",
                             severity=severity, branch_id=(branch or bank.a1).pk, **kw)


# ---- Deadlines and owners ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("severity,days", [("critical", 7), ("high", 15), ("medium", 30), ("low", 60)])
def test_rectification_deadline_by_severity(sv, severity, days):
    f = raise_one(sv, severity)
    assert f.due_on == timezone.localdate() + timedelta(days=days)
    assert f.status == "open" and f.number.startswith("F")


def test_deadline_follows_the_parameter_in_force(sv):
    ParameterVersion.objects.create(code="supervision.rectify_days.high", value=10,
                                    effective_from=timezone.now() - timedelta(days=1), reason="收紧", created_by=sv.admin)
    assert raise_one(sv, "high").due_on == timezone.localdate() + timedelta(days=10)


def test_explicit_deadline_must_not_be_past(sv):
    with pytest.raises(ValidationFailed) as e:
        raise_one(sv, due_on=timezone.localdate() - timedelta(days=1))
    assert "due_on" in e.value.fields


def test_owner_defaults_to_the_nearest_branch_supervisor(sv):
    assert raise_one(sv, branch=sv.a1).owner_id == sv.supervisor_a.pk  # no supervisor at A1: branch A's
    assert raise_one(sv, branch=sv.a).owner_id == sv.supervisor_a.pk
    assert raise_one(sv, branch=sv.b1).owner_id == sv.supervisor_b.pk
    assert raise_one(sv, branch=sv.head).owner_id is None


def test_keyed_findings_are_idempotent_until_closed(sv):
    a = raise_one(sv, key="manual:x:1")
    b = raise_one(sv, key="manual:x:1")
    assert a.pk == b.pk and Finding.objects.count() == 1
    svc.finding_close(actor=sv.compliance, finding_id=a.pk, reason="误报")
    c = raise_one(sv, key="manual:x:1")
    assert c.pk != a.pk


@given(st.sampled_from(fr.SEVERITIES), st.integers(min_value=1, max_value=365))
def test_due_on_rule_is_raised_on_plus_days(severity, days):
    d = timezone.localdate()
    assert fr.due_on_for(severity, d, days) == d + timedelta(days=days)
    assert not fr.is_overdue("closed", d - timedelta(days=days), d)
    assert fr.is_overdue("rectifying", d - timedelta(days=1), d)


# ---- The flow --------------------------------------------------------------------------------------------------------
def test_rectification_with_a_failed_then_passed_recheck(sv):
    seq = audit_seq()
    f = raise_one(sv)
    a = svc.action_add(actor=sv.supervisor_a, finding_id=f.pk, action="补签风险揭示书并归档",
                       owner_id=sv.supervisor_a.pk, due_on=timezone.localdate() + timedelta(days=5))
    f.refresh_from_db()
    assert f.status == "rectifying"
    with pytest.raises(RuleViolation):  # not every action done yet
        svc.finding_submit_rectified(actor=sv.supervisor_a, finding_id=f.pk)
    with pytest.raises(ValidationFailed):
        svc.action_done(actor=sv.supervisor_a, action_id=a.pk, evidence="  ")
    svc.action_done(actor=sv.supervisor_a, action_id=a.pk, evidence="已补签，档案号 DA-2026-001")
    svc.finding_submit_rectified(actor=sv.supervisor_a, finding_id=f.pk)
    f.refresh_from_db()
    assert f.status == "rectified" and f.rectified_at
    with pytest.raises(ValidationFailed):  # a failure needs a note
        svc.action_recheck(actor=sv.compliance, action_id=a.pk, passed=False)
    svc.action_recheck(actor=sv.compliance, action_id=a.pk, passed=False, note="签字日期晚于销售日期")
    f.refresh_from_db()
    a.refresh_from_db()
    assert f.status == "rectifying" and f.rectified_at is None and a.status == "failed"
    svc.action_done(actor=sv.supervisor_a, action_id=a.pk, evidence="补充双录回访记录")
    svc.finding_submit_rectified(actor=sv.supervisor_a, finding_id=f.pk)
    svc.action_recheck(actor=sv.compliance, action_id=a.pk, passed=True, note="已核实")
    svc.finding_close(actor=sv.compliance, finding_id=f.pk, note="整改到位")
    f.refresh_from_db()
    assert f.status == "closed" and f.closed_by_id == sv.compliance.pk
    assert verbs_since(seq) == [
        "supervision.finding_raised", "supervision.action_added", "supervision.action_done",
        "supervision.finding_rectified", "supervision.action_rechecked", "supervision.action_done",
        "supervision.finding_rectified", "supervision.action_rechecked", "supervision.finding_closed"]


def test_close_needs_a_reason_unless_every_action_passed(sv):
    f = raise_one(sv)
    with pytest.raises(ValidationFailed) as e:
        svc.finding_close(actor=sv.compliance, finding_id=f.pk, note="")
    assert "reason" in e.value.fields
    a = svc.action_add(actor=sv.compliance, finding_id=f.pk, action="整改", owner_id=sv.supervisor_a.pk,
                       due_on=timezone.localdate())
    svc.action_done(actor=sv.supervisor_a, action_id=a.pk, evidence="完成")
    with pytest.raises(ValidationFailed):  # done but not re-checked
        svc.finding_close(actor=sv.compliance, finding_id=f.pk)
    svc.finding_close(actor=sv.compliance, finding_id=f.pk, reason="经现场核实已整改，免于逐项复查")
    assert Finding.objects.get(pk=f.pk).status == "closed"
    with pytest.raises(RuleViolation):
        svc.finding_close(actor=sv.compliance, finding_id=f.pk, reason="again")


# ---- Segregation of duties, capability and scope ---------------------------------------------------------------------
def test_owner_never_closes_or_rechecks_their_own_rectification(sv):
    f = raise_one(sv)
    svc.finding_assign(actor=sv.compliance, finding_id=f.pk, owner_id=sv.compliance.pk, reason="合规牵头")
    a = svc.action_add(actor=sv.compliance, finding_id=f.pk, action="整改", owner_id=sv.compliance.pk,
                       due_on=timezone.localdate())
    svc.action_done(actor=sv.compliance, action_id=a.pk, evidence="完成")
    seq = audit_seq()
    with pytest.raises(PermissionDenied):
        svc.action_recheck(actor=sv.compliance, action_id=a.pk, passed=True)
    with pytest.raises(PermissionDenied):
        svc.finding_close(actor=sv.compliance, finding_id=f.pk, reason="自己关闭")
    assert verbs_since(seq) == [] and Finding.objects.get(pk=f.pk).status == "rectifying"


def test_the_person_concerned_cannot_own_or_close(sv):
    from bankcrm.org import services as org

    org.staff_set_roles(actor=sv.admin, staff_id=sv.supervisor_b.pk, roles=["branch_supervisor"])
    f = raise_one(sv, staff_id=sv.compliance.pk)
    with pytest.raises(PermissionDenied):
        svc.finding_close(actor=sv.compliance, finding_id=f.pk, reason="x")
    with pytest.raises(ValidationFailed):
        svc.finding_assign(actor=sv.compliance, finding_id=f.pk, owner_id=sv.compliance.pk)


def test_supervisors_rectify_but_never_raise_recheck_or_close(sv):
    f = raise_one(sv)
    seq = audit_seq()
    for call in (lambda: svc.finding_raise(actor=sv.supervisor_a, source="manual", title="x", severity="low",
                                           branch_id=sv.a1.pk),
                 lambda: svc.finding_close(actor=sv.supervisor_a, finding_id=f.pk, reason="x"),
                 lambda: svc.accountability_record(actor=sv.supervisor_a, finding_id=f.pk, staff_id=sv.cm_a1.pk,
                                                   measure="talk")):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(PermissionDenied):  # no supervision capability at all
        svc.action_add(actor=sv.cm_a1, finding_id=f.pk, action="x", owner_id=sv.cm_a1.pk, due_on=timezone.localdate())
    assert verbs_since(seq) == []


def test_other_branch_supervisor_sees_nothing(sv):
    f = raise_one(sv, branch=sv.a1)
    with pytest.raises(NotFound):
        svc.action_add(actor=sv.supervisor_b, finding_id=f.pk, action="x", owner_id=sv.supervisor_b.pk,
                       due_on=timezone.localdate())
    from bankcrm.supervision.finding_selectors import findings_visible

    assert not findings_visible(sv.supervisor_b).filter(pk=f.pk).exists()
    assert findings_visible(sv.supervisor_a).filter(pk=f.pk).exists()
    assert findings_visible(sv.compliance).filter(pk=f.pk).exists()
    with pytest.raises(ValidationFailed):  # an owner from outside the branch
        svc.finding_assign(actor=sv.compliance, finding_id=f.pk, owner_id=sv.supervisor_b.pk)


def test_action_owner_must_be_able_to_rectify_there(sv):
    f = raise_one(sv)
    with pytest.raises(ValidationFailed) as e:
        svc.action_add(actor=sv.supervisor_a, finding_id=f.pk, action="x", owner_id=sv.cm_a1.pk,
                       due_on=timezone.localdate())
    assert "owner" in e.value.fields
    with pytest.raises(ValidationFailed):
        svc.action_add(actor=sv.supervisor_a, finding_id=f.pk, action="x", owner_id=sv.supervisor_a.pk,
                       due_on=timezone.localdate() - timedelta(days=1))


def test_accountability_is_recorded(sv):
    f = raise_one(sv, staff_id=sv.cm_a1.pk)
    rec = svc.accountability_record(actor=sv.compliance, finding_id=f.pk, staff_id=sv.cm_a1.pk, measure="training",
                                    note="参加适当性管理强化培训")
    assert rec.finding_id == f.pk and f.accountabilities.count() == 1


# ---- Reminders and the overdue job -----------------------------------------------------------------------------------
def test_overdue_job_marks_once_and_reminders_reach_the_owner(sv):
    f = raise_one(sv, severity="critical")
    Finding.objects.filter(pk=f.pk).update(due_on=timezone.localdate() - timedelta(days=1))
    soon = raise_one(sv, severity="critical")
    a = svc.action_add(actor=sv.supervisor_a, finding_id=soon.pk, action="整改", owner_id=sv.supervisor_a.pk,
                       due_on=timezone.localdate() + timedelta(days=1))
    seq = audit_seq()
    r = svc.findings_mark_overdue()
    assert r["overdue"] == 1 and verbs_since(seq) == ["supervision.finding_overdue"]
    assert Finding.objects.get(pk=f.pk).overdue_at is not None
    assert FindingAction.objects.get(pk=a.pk).reminded_on == timezone.localdate()
    assert svc.findings_mark_overdue() == {"overdue": 0, "reminded": 0}  # second run the same day: nothing
    kinds = [i.kind for i in inbox.items_for(sv.supervisor_a)]
    assert kinds.count("supervision_finding") == 2 and kinds.count("supervision_action") == 1
    titles = [i.subtitle for i in inbox.items_for(sv.supervisor_a) if i.kind == "supervision_finding"]
    assert any("逾期" in t for t in titles)
    assert not [i for i in inbox.items_for(sv.supervisor_b) if i.kind.startswith("supervision")]


def test_compliance_inbox_shows_findings_awaiting_recheck(sv):
    f = raise_one(sv)
    a = svc.action_add(actor=sv.supervisor_a, finding_id=f.pk, action="整改", owner_id=sv.supervisor_a.pk,
                       due_on=timezone.localdate())
    svc.action_done(actor=sv.supervisor_a, action_id=a.pk, evidence="完成")
    svc.finding_submit_rectified(actor=sv.supervisor_a, finding_id=f.pk)
    assert [i.kind for i in inbox.items_for(sv.compliance) if i.kind.startswith("supervision")] == ["supervision_recheck"]
    assert inbox.count_for(sv.compliance) >= 1
