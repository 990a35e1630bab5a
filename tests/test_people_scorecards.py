"""Appraisal services: schemes (defaults, validation naming every problem, activation retiring the old version),
periods, scorecards computed from the data, and the scorecard's steps with maker ≠ checker (self-assessment, review,
calibration, sign-off, appeal)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.customers.models import Customer, ManagerAssignment
from bankcrm.people import appraisal_services as svc
from bankcrm.people import metrics
from bankcrm.people.models import Appeal, KpiScheme, Period, Scorecard
from tests.helpers import audit_seq, verbs_since

TZ = timezone.get_default_timezone()


def at(y, m, d, h=10):
    return datetime(y, m, d, h, tzinfo=TZ)


@pytest.fixture
def setup(bank):
    with transaction.atomic():
        svc.schemes_install_default(actor=bank.admin)
        period = svc.period_open(actor=bank.admin, year=2026, quarter=3)
    return bank, period


def _compute(bank, period):
    return svc.scorecards_compute(actor=bank.admin, period_id=period.pk)


def _card(staff, period) -> Scorecard:
    return Scorecard.objects.get(staff=staff, period=period)


# ---- schemes and periods ---------------------------------------------------------------------------------------------
def test_default_schemes_idempotent_and_customer_manager_satisfaction_first(setup):
    bank, _p = setup
    n = KpiScheme.objects.count()
    svc.schemes_install_default(actor=bank.admin)
    assert KpiScheme.objects.count() == n == 5
    cm = KpiScheme.objects.get(role="customer_manager", status="active")
    weights = {w.metric: w.weight for w in cm.weights.all()}
    assert sum(weights.values()) == 100
    assert weights["csat"] == max(weights.values()) and weights["csat"] > sorted(weights.values())[-2]
    assert weights["csat"] + weights["nps"] >= 40
    assert all(m in metrics.REGISTRY for m in weights)


def test_scheme_save_names_every_problem(setup):
    bank, _p = setup
    bad = [{"metric": "csat", "weight": 20, "floor": 30000, "target": 48000},
           {"metric": "nps", "weight": 10, "floor": 0, "target": 6000},
           {"metric": "retention", "weight": 30, "floor": 9900, "target": 8500},
           {"metric": "training", "weight": 30, "floor": 1, "target": 1}]
    seq = audit_seq()
    with pytest.raises(ValidationFailed) as e:
        svc.scheme_save(actor=bank.admin, role="customer_manager", name="新方案", weights=bad)
    f = e.value.fields
    assert "weights" in f and any("100" in m for m in f["weights"]) and any("40" in m for m in f["weights"])
    assert "retention" in f and "training" in f and "csat" in f
    assert verbs_since(seq) == []


def test_scheme_new_version_activates_and_retires_the_old(setup):
    bank, _p = setup
    old = KpiScheme.objects.get(role="operations_manager", status="active")
    weights = [{"metric": "visits_on_time", "weight": 50, "floor": 7000, "target": 10000},
               {"metric": "training", "weight": 50, "floor": 5000, "target": 10000}]
    with transaction.atomic():
        draft = svc.scheme_save(actor=bank.admin, role="operations_manager", name="运营 v2", weights=weights,
                                scheme_id=old.pk)
    assert draft.code == old.code and draft.version == old.version + 1 and draft.status == "draft"
    with transaction.atomic():
        svc.scheme_activate(actor=bank.admin, scheme_id=draft.pk)
    old.refresh_from_db()
    assert old.status == "retired" and KpiScheme.objects.get(role="operations_manager", status="active") == draft
    with pytest.raises(PermissionDenied):
        svc.scheme_save(actor=bank.supervisor_a, role="operations_manager", name="x", weights=weights)


def test_satisfaction_minimum_follows_the_parameter(setup):
    from bankcrm.core import services as core_services

    bank, _p = setup
    weights = [{"metric": "csat", "weight": 35, "floor": 30000, "target": 48000},
               {"metric": "nps", "weight": 5, "floor": 0, "target": 6000},
               {"metric": "retention", "weight": 30, "floor": 8500, "target": 9900},
               {"metric": "training", "weight": 30, "floor": 5000, "target": 10000}]
    assert svc.scheme_validate("customer_manager", weights) == []
    with transaction.atomic():
        core_services.parameter_set(actor=bank.admin, code="appraisal.satisfaction_weight_min", value=50,
                                    effective_from=timezone.now() - timedelta(seconds=1), reason="提高满意度权重")
    assert [p.code for p in svc.scheme_validate("customer_manager", weights)] == ["satisfaction_weight"]


def test_period_open_idempotent(setup):
    bank, period = setup
    assert svc.period_open(actor=bank.admin, year=2026, quarter=3) == period
    year = svc.period_open(actor=bank.admin, year=2026)
    assert (year.kind, str(year.starts_on), str(year.ends_on)) == ("year", "2026-01-01", "2026-12-31")
    assert Period.objects.count() == 2
    with pytest.raises(ValidationFailed):
        svc.period_open(actor=bank.admin, year=2026, quarter=5)


# ---- computation from the data ---------------------------------------------------------------------------------------
def test_scores_computed_from_surveys_and_complaints(setup):
    """CM001 has three answered surveys in Q3 (5, 4, 4 → 4.3333) and one outside it; one complaint in Q3."""
    from bankcrm.service.models import Complaint
    from bankcrm.surveys import services as survey_services
    from bankcrm.surveys.models import Campaign, Invitation, Response

    bank, period = setup
    cm = bank.cm_a1
    template = survey_services.template_install_default(actor=bank.admin)
    camp = Campaign.objects.create(name="t", trigger="periodic", template=template, branch=bank.head,
                                   branch_path=bank.head.path, created_by=bank.admin)
    customers = []
    for i in range(4):
        c = Customer.objects.create(customer_no=f"T{i:05d}", name=f"张{i}", id_type="passport", id_number=f"E{i:08d}",
                                    branch=bank.a1, created_by=bank.admin)
        Customer.objects.filter(pk=c.pk).update(created_at=at(2025, 1, 1))
        ManagerAssignment.objects.create(customer=c, staff=cm, role="primary", started_at=at(2025, 1, 1),
                                         assigned_by=bank.admin)
        customers.append(c)
    for i, (c, csat, nps, when) in enumerate([(customers[0], 5, 10, at(2026, 7, 5)), (customers[1], 4, 9, at(2026, 8, 1)),
                                              (customers[2], 4, 3, at(2026, 9, 30, 23)), (customers[3], 1, 0, at(2026, 10, 1, 1))]):
        inv = Invitation.objects.create(campaign=camp, template=template, customer=c, manager=cm, branch=bank.a1,
                                        branch_path=bank.a1.path, trigger="periodic", channel="sms", source_ref=f"t{i}")
        Response.objects.create(invitation=inv, customer=c, csat=csat, nps=nps, created_at=when)
    Complaint.objects.create(number="TC1", channel="branch", summary="排队", customer=customers[0],
                             branch_path=bank.a1.path, branch=bank.a1, received_at=at(2026, 8, 10),
                             ack_due_on=at(2026, 8, 11).date(), decision_due_on=at(2026, 8, 25).date())
    counts = _compute(bank, period)
    assert counts["created"] >= 5
    card = _card(cm, period)
    lines = {ln.metric: ln for ln in card.lines.all()}
    assert (lines["csat"].value, lines["csat"].numerator, lines["csat"].denominator) == (43333, 13, 3)
    assert (lines["nps"].value, lines["nps"].numerator, lines["nps"].denominator) == (3333, 1, 3)
    assert (lines["complaint_rate"].value, lines["complaint_rate"].numerator,
            lines["complaint_rate"].denominator) == (250000, 1, 4)
    assert lines["retention"].value == 10000
    assert lines["needs_met"].value is None and lines["needs_met"].score == 0   # nothing to measure: left out
    # csat score: (43333 − 30000) / 18000 = 74.07
    assert lines["csat"].score == 7407
    assert card.computed_score == card.final_score and card.status == "computed"
    # the supervisor's card aggregates the branch subtree (branch level)
    sv = _card(bank.supervisor_a, period)
    sv_lines = {ln.metric: ln for ln in sv.lines.all()}
    assert (sv_lines["csat"].numerator, sv_lines["csat"].denominator) == (13, 3)
    assert sv.role == "branch_supervisor"
    # evidence: the three answers in the quarter, masked names
    ev = metrics.get("csat").evidence(cm, period)
    assert len(ev) == 3 and all("*" in r["subject"] for r in ev)
    assert "张0" not in str(ev)


def test_compute_requires_capability_and_writes_one_audit_event(setup):
    bank, period = setup
    seq = audit_seq()
    with pytest.raises(PermissionDenied):
        svc.scorecards_compute(actor=bank.supervisor_a, period_id=period.pk)
    assert verbs_since(seq) == [] and not Scorecard.objects.exists()
    _compute(bank, period)
    assert verbs_since(seq) == ["people.scorecards_computed"]


# ---- the steps, maker ≠ checker ----------------------------------------------------------------------------------------
@pytest.fixture
def computed(setup):
    bank, period = setup
    _compute(bank, period)
    return bank, period, _card(bank.cm_a1, period)


def test_full_flow_self_assess_review_calibrate_sign_off(computed):
    bank, period, card = computed
    seq = audit_seq()
    with transaction.atomic():
        svc.scorecard_self_assess(actor=bank.cm_a1, scorecard_id=card.pk, comment="本季度客户满意度提升")
        svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="表现良好", adjustment=300)
    card.refresh_from_db()
    assert card.status == "reviewed" and card.final_score == card.computed_score + 300
    with transaction.atomic():
        cards = svc.scorecards_calibrate(actor=bank.supervisor_a, period_id=period.pk, branch_id=bank.a1.pk,
                                         shifts={card.pk: -100}, reason="分行内校准")
    assert {c.status for c in cards} == {"calibrated"}
    card.refresh_from_db()
    assert card.final_score == card.computed_score + 200
    with transaction.atomic():
        svc.scorecard_sign_off(actor=bank.supervisor_a, scorecard_id=card.pk)
    card.refresh_from_db()
    assert card.status == "signed_off" and card.signed_off_by == bank.supervisor_a
    assert verbs_since(seq) == ["people.self_assessed", "people.scorecard_reviewed", "people.scorecard_calibrated",
                                "people.scorecard_signed_off"]


def test_only_own_card_self_assessed_and_not_after_review(computed):
    bank, _period, card = computed
    with pytest.raises((PermissionDenied, NotFound)):
        svc.scorecard_self_assess(actor=bank.om_a1, scorecard_id=card.pk, comment="x")
    with pytest.raises(ValidationFailed):
        svc.scorecard_self_assess(actor=bank.cm_a1, scorecard_id=card.pk, comment=" ")
    svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="ok")
    with pytest.raises(RuleViolation):
        svc.scorecard_self_assess(actor=bank.cm_a1, scorecard_id=card.pk, comment="晚了")


def test_review_maker_checker_scope_and_limit(computed):
    bank, period, card = computed
    seq = audit_seq()
    with pytest.raises(NotFound):  # another branch's supervisor: invisible
        svc.scorecard_review(actor=bank.supervisor_b, scorecard_id=card.pk, comment="x")
    with pytest.raises(PermissionDenied):  # no capability
        svc.scorecard_review(actor=bank.om_a1, scorecard_id=card.pk, comment="x")
    with pytest.raises(ValidationFailed) as e:  # beyond ±10 points
        svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="x", adjustment=1001)
    assert "adjustment" in e.value.fields
    own = _card(bank.supervisor_a, period)
    with pytest.raises(NotFound):  # a supervisor's own card is reviewed higher up (not visible as a checker)
        svc.scorecard_review(actor=bank.supervisor_b, scorecard_id=own.pk, comment="x")
    with pytest.raises(PermissionDenied):
        svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=own.pk, comment="自评自审")
    assert verbs_since(seq) == []
    card.refresh_from_db()
    assert card.status == "computed" and card.review_adjustment == 0


def test_sign_off_needs_review_and_not_self(computed):
    bank, period, card = computed
    with pytest.raises(RuleViolation):
        svc.scorecard_sign_off(actor=bank.supervisor_a, scorecard_id=card.pk)
    own = _card(bank.supervisor_a, period)
    with pytest.raises(PermissionDenied):
        svc.scorecard_sign_off(actor=bank.supervisor_a, scorecard_id=own.pk)


def test_calibration_limit_reason_and_scope(computed):
    bank, period, card = computed
    svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="ok")
    with pytest.raises(ValidationFailed):
        svc.scorecards_calibrate(actor=bank.supervisor_a, period_id=period.pk, branch_id=bank.a1.pk,
                                 shifts={card.pk: 100}, reason="")
    with pytest.raises(ValidationFailed):
        svc.scorecards_calibrate(actor=bank.supervisor_a, period_id=period.pk, branch_id=bank.a1.pk,
                                 shifts={card.pk: 1500}, reason="太多")
    with pytest.raises(NotFound):
        svc.scorecards_calibrate(actor=bank.supervisor_b, period_id=period.pk, branch_id=bank.a1.pk,
                                 shifts={card.pk: 100}, reason="越权")


def test_appeal_window_decider_and_upheld_reopens_review(computed):
    bank, _period, card = computed
    with transaction.atomic():
        svc.scorecard_self_assess(actor=bank.cm_a1, scorecard_id=card.pk, comment="自评")
        svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="评语", adjustment=-500)
        svc.scorecard_sign_off(actor=bank.supervisor_a, scorecard_id=card.pk)
    with pytest.raises((PermissionDenied, NotFound)):
        svc.appeal_raise(actor=bank.om_a1, scorecard_id=card.pk, reason="代人申诉")
    appeal = svc.appeal_raise(actor=bank.cm_a1, scorecard_id=card.pk, reason="扣分不合理")
    card.refresh_from_db()
    assert card.status == "appealed"
    with pytest.raises(PermissionDenied):  # the reviewer does not decide an appeal against their review
        svc.appeal_decide(actor=bank.supervisor_a, appeal_id=appeal.pk, upheld=True, note="x")
    with pytest.raises(NotFound):  # out of scope
        svc.appeal_decide(actor=bank.supervisor_b, appeal_id=appeal.pk, upheld=True, note="x")
    with pytest.raises(PermissionDenied):
        svc.appeal_decide(actor=bank.cm_a1, appeal_id=appeal.pk, upheld=True, note="x")
    svc.appeal_decide(actor=bank.compliance, appeal_id=appeal.pk, upheld=True, note="复核后成立")
    card.refresh_from_db()
    assert card.status == "self_assessed" and card.signed_off_by is None
    assert Appeal.objects.get(pk=appeal.pk).status == "upheld"
    # the review reopens: the supervisor reviews again
    svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="重新评价", adjustment=0)
    card.refresh_from_db()
    assert card.final_score == card.computed_score


def test_appeal_rejected_returns_and_window_closes(computed):
    bank, _period, card = computed
    with transaction.atomic():
        svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="评语")
        svc.scorecard_sign_off(actor=bank.supervisor_a, scorecard_id=card.pk)
    appeal = svc.appeal_raise(actor=bank.cm_a1, scorecard_id=card.pk, reason="理由")
    svc.appeal_decide(actor=bank.compliance, appeal_id=appeal.pk, upheld=False, note="维持")
    card.refresh_from_db()
    assert card.status == "signed_off"
    Scorecard.objects.filter(pk=card.pk).update(signed_off_at=timezone.now() - timedelta(days=30))
    with pytest.raises(RuleViolation) as e:
        svc.appeal_raise(actor=bank.cm_a1, scorecard_id=card.pk, reason="再申诉")
    assert e.value.code == "appeal_window_closed"

