"""Incentive services (bankcrm/people/incentive_services.py): schemes, pools allocated from signed-off scorecards of
the branch subtree, maker-checker approval through the approvals app, payout records, and clawback (complaint
upheld or mis-selling found within the window after payout; idempotent rescans; partial amounts bounded; waivers).

Appraisal rows (Period, KpiScheme, Scorecard) are written directly with the ORM here: test set-up only, so these
tests do not depend on the appraisal services being built at the same time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from bankcrm.approvals.models import PendingAction
from bankcrm.approvals.services import approval_approve, approval_reject
from bankcrm.core import outbox
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.people import incentive_selectors as sel
from bankcrm.people import incentive_services as svc
from bankcrm.people.incentive_rules import add_months
from bankcrm.people.models import Clawback, IncentiveAward, IncentivePool, IncentiveScheme, KpiScheme, Period, Scorecard
from tests.helpers import audit_seq, verbs_since

pytestmark = pytest.mark.django_db


# ---- Set-up helpers (shared with the web tests) -------------------------------------------------------------------------
def period_q3() -> Period:
    return Period.objects.get_or_create(kind="quarter", year=2026, quarter=3,
                                        defaults=dict(starts_on=date(2026, 7, 1), ends_on=date(2026, 9, 30)))[0]


def scorecard(staff, period, score: int, *, status: str = "signed_off", signer=None) -> Scorecard:
    scheme = KpiScheme.objects.get_or_create(code="t-incentives", version=1,
                                             defaults=dict(name="测试方案", role="customer_manager"))[0]
    now = timezone.now()
    return Scorecard.objects.create(
        staff=staff, period=period, scheme=scheme, role=sorted(staff.roles)[0], branch=staff.branch,
        branch_path=staff.branch.path, computed_score=score, final_score=score, status=status, computed_at=now,
        signed_off_by=signer if status == "signed_off" else None,
        signed_off_at=now if status == "signed_off" else None)


def team_a(bank, period=None) -> Period:
    """Scorecards of branch A's subtree (and one of branch B, which must not count)."""
    period = period or period_q3()
    sv = bank.supervisor_a
    scorecard(bank.cm_a1, period, 9000, signer=sv)
    scorecard(bank.om_a1, period, 8000, signer=sv)
    scorecard(bank.intern, period, 7000, signer=sv)
    scorecard(bank.temp, period, 5000, signer=sv)                      # below the minimum of 60.00
    scorecard(bank.branch_risk, period, 9900, status="calibrated")     # not signed off
    scorecard(bank.cm_b1, period, 9500, signer=bank.supervisor_b)      # another branch
    return period


def allocated_pool(bank, *, amount="10,000.00") -> IncentivePool:
    scheme = svc.scheme_install_default()
    period = team_a(bank)
    pool = svc.pool_save(actor=bank.supervisor_a, branch_id=bank.a.pk, period_id=period.pk, scheme_id=scheme.pk,
                         amount=amount)
    return svc.pool_allocate(actor=bank.supervisor_a, pool_id=pool.pk)


def paid_pool(bank, *, paid_on=None) -> IncentivePool:
    pool = allocated_pool(bank)
    pool = svc.pool_submit(actor=bank.supervisor_a, pool_id=pool.pk)
    approval_approve(actor=bank.compliance, pending_id=pool.pending_action_id)
    return svc.pool_mark_paid(actor=bank.supervisor_a, pool_id=pool.pk, paid_on=paid_on)


def award_of(pool, staff) -> IncentiveAward:
    return IncentiveAward.objects.get(pool=pool, staff=staff)


def shift_payout(pool, paid_at: datetime) -> None:
    """Test set-up: move a pool's payout into the past (the service only records today or later-than-approval)."""
    IncentivePool.objects.filter(pk=pool.pk).update(paid_at=paid_at)
    IncentiveAward.objects.filter(pool=pool).update(paid_at=paid_at)


def local(d: date, hour: int = 10) -> datetime:
    return datetime.combine(d, time(hour), timezone.get_default_timezone())


_seq = iter(range(1, 10_000))


def upheld_complaint(bank, customer, staff, decided_at: datetime, *, decision="upheld", kind="complaint"):
    """Test set-up: a complaint already decided (the full service flow is exercised in test_consumer_*)."""
    from bankcrm.service.models import Complaint

    n = next(_seq)
    return Complaint.objects.create(
        number=f"TST{n:05d}", kind=kind, channel="branch", summary="销售时承诺保本", customer=customer,
        branch_path=staff.branch.path, branch=staff.branch, staff_named=staff, status="decided", decision=decision,
        received_at=decided_at - timedelta(days=5), ack_due_on=decided_at.date(), decision_due_on=decided_at.date(),
        decided_at=decided_at)


@pytest.fixture
def customer(bank):
    from tests.ledger_helpers import build_ledger

    return build_ledger(bank).zhang


# ---- Schemes ------------------------------------------------------------------------------------------------------------
def test_default_scheme_is_idempotent(bank):
    seq = audit_seq()
    a = svc.scheme_install_default()
    b = svc.scheme_install_default(actor=bank.admin)
    assert a.pk == b.pk and IncentiveScheme.objects.count() == 1
    assert (a.method, a.min_score, a.cap_percent) == ("proportional", 6000, 40)
    assert verbs_since(seq) == ["people.incentive_scheme_saved"]


def test_scheme_save_validates_and_needs_admin(bank):
    with pytest.raises(PermissionDenied):
        svc.scheme_save(actor=bank.supervisor_a, code="t1", name="档次方案", method="tiered", min_score=6000,
                        tiers=[[9000, 150], [6000, 80]], cap_percent=50)
    with pytest.raises(ValidationFailed) as exc:
        svc.scheme_save(actor=bank.admin, code="t1", name="档次方案", method="tiered", min_score=6000,
                        tiers=[[9000, 50], [6000, 80]], cap_percent=50)
    assert "tiers" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        svc.scheme_save(actor=bank.admin, code="t1", name="档次方案", method="proportional", min_score=12000)
    assert "min_score" in exc.value.fields
    s = svc.scheme_save(actor=bank.admin, code="t1", name="档次方案", method="tiered", min_score=6000,
                        tiers=[[6000, 80], [9000, 150]], cap_percent=50)
    assert s.tiers == [[9000, 150], [6000, 80]]
    s = svc.scheme_save(actor=bank.admin, scheme_id=s.pk, code="t1", name="比例方案", method="proportional",
                        min_score=5000, tiers=[[1, 1]])
    assert s.tiers == [] and s.method == "proportional"


# ---- Pools --------------------------------------------------------------------------------------------------------------
def test_pool_save_scope_amount_and_uniqueness(bank):
    scheme = svc.scheme_install_default()
    period = period_q3()
    with pytest.raises(PermissionDenied):
        svc.pool_save(actor=bank.cm_a1, branch_id=bank.a1.pk, period_id=period.pk, scheme_id=scheme.pk, amount="100")
    seq = audit_seq()
    with pytest.raises(ValidationFailed) as exc:  # another supervisor's branch
        svc.pool_save(actor=bank.supervisor_a, branch_id=bank.b.pk, period_id=period.pk, scheme_id=scheme.pk,
                      amount="100")
    assert "branch_id" in exc.value.fields and verbs_since(seq) == []
    with pytest.raises(ValidationFailed) as exc:
        svc.pool_save(actor=bank.supervisor_a, branch_id=bank.a.pk, period_id=period.pk, scheme_id=scheme.pk,
                      amount="12.345")
    assert "amount" in exc.value.fields
    pool = svc.pool_save(actor=bank.supervisor_a, branch_id=bank.a.pk, period_id=period.pk, scheme_id=scheme.pk,
                         amount="12,345.67")
    assert (pool.amount_fen, pool.status, pool.branch_path) == (1_234_567, "draft", bank.a.path)
    with pytest.raises(RuleViolation) as exc:
        svc.pool_save(actor=bank.admin, branch_id=bank.a.pk, period_id=period.pk, scheme_id=scheme.pk, amount="1")
    assert exc.value.code == "pool_exists"
    a1 = svc.pool_save(actor=bank.supervisor_a, branch_id=bank.a1.pk, period_id=period.pk, scheme_id=scheme.pk,
                       amount="500")  # a sub-branch of one's own branch
    assert a1.branch_id == bank.a1.pk
    assert verbs_since(seq) == ["people.pool_saved", "people.pool_saved"]


def test_allocate_counts_signed_off_scorecards_of_the_subtree(bank):
    pool = allocated_pool(bank)
    awards = {a.staff.staff_no: a.amount_fen for a in IncentiveAward.objects.filter(pool=pool).select_related("staff")}
    # weights 9000/8000/7000 of 1,000,000 fen (hand-computed in test_people_incentive_rules), no one over the 40 % cap
    assert awards == {"CM001": 375_000, "OM001": 333_333, "IN001": 291_667}
    assert pool.status == "allocated" and pool.undistributed_fen == 0
    reasons = {e["staff_no"]: e["code"] for e in pool.exclusions}
    assert reasons == {"TW001": "below_min_score", "RK101": "not_signed_off", "SV101": "no_scorecard",
                       "CS001": "no_scorecard"}
    assert "CM002" not in reasons  # branch B is not this team


def test_allocation_with_cap_reports_what_remains(bank):
    scheme = svc.scheme_save(actor=bank.admin, code="tight", name="严格上限", method="proportional", min_score=6000,
                             cap_percent=30)
    period = team_a(bank)
    pool = svc.pool_save(actor=bank.supervisor_a, branch_id=bank.a.pk, period_id=period.pk, scheme_id=scheme.pk,
                         amount="1000")
    pool = svc.pool_allocate(actor=bank.supervisor_a, pool_id=pool.pk)
    assert sorted(IncentiveAward.objects.filter(pool=pool).values_list("amount_fen", flat=True)) == [30_000] * 3
    assert pool.undistributed_fen == 10_000


def test_saving_again_clears_the_allocation(bank):
    pool = allocated_pool(bank)
    pool = svc.pool_save(actor=bank.supervisor_a, pool_id=pool.pk, branch_id=bank.a.pk, period_id=pool.period_id,
                         scheme_id=pool.scheme_id, amount="20000")
    assert pool.status == "draft" and not IncentiveAward.objects.filter(pool=pool).exists() and pool.exclusions == []


def test_other_branch_supervisor_cannot_touch_the_pool(bank):
    pool = allocated_pool(bank)
    seq = audit_seq()
    for call in (lambda: svc.pool_allocate(actor=bank.supervisor_b, pool_id=pool.pk),
                 lambda: svc.pool_submit(actor=bank.supervisor_b, pool_id=pool.pk)):
        with pytest.raises(NotFound):
            call()
    assert verbs_since(seq) == [] and IncentivePool.objects.get(pk=pool.pk).status == "allocated"


# ---- Maker-checker ------------------------------------------------------------------------------------------------------
def test_submit_approve_and_pay(bank):
    pool = allocated_pool(bank)
    seq = audit_seq()
    pool = svc.pool_submit(actor=bank.supervisor_a, pool_id=pool.pk, reason="三季度绩效")
    pa = PendingAction.objects.get(pk=pool.pending_action_id)
    assert pool.status == "pending" and pa.action_code == "people.pool_payout"
    assert sorted(s for _a, s, _f in pa.payload["awards"]) == sorted([bank.cm_a1.pk, bank.om_a1.pk, bank.intern.pk])
    with pytest.raises(RuleViolation):  # the allocation is frozen while it waits
        svc.pool_allocate(actor=bank.supervisor_a, pool_id=pool.pk)
    with pytest.raises(RuleViolation) as exc:
        approval_approve(actor=bank.supervisor_a, pending_id=pa.pk)
    assert exc.value.code == "maker_cannot_check"
    with pytest.raises(NotFound):  # out of scope
        approval_approve(actor=bank.supervisor_b, pending_id=pa.pk)
    with pytest.raises(PermissionDenied):  # approvals.approve but not people.approve_incentives
        approval_approve(actor=bank.risk, pending_id=pa.pk)
    with pytest.raises(RuleViolation):  # not approved yet
        svc.pool_mark_paid(actor=bank.supervisor_a, pool_id=pool.pk)
    pa = approval_approve(actor=bank.compliance, pending_id=pa.pk)
    assert pa.status == "executed", pa.result
    pool.refresh_from_db()
    assert pool.status == "approved" and pool.approved_by_id == bank.compliance.pk
    with pytest.raises(ValidationFailed):
        svc.pool_mark_paid(actor=bank.supervisor_a, pool_id=pool.pk, paid_on=timezone.localdate() + timedelta(days=1))
    pool = svc.pool_mark_paid(actor=bank.supervisor_a, pool_id=pool.pk)
    assert pool.status == "paid" and pool.paid_by_id == bank.supervisor_a.pk
    assert set(IncentiveAward.objects.filter(pool=pool).values_list("paid_at", flat=True)) == {pool.paid_at}
    verbs = verbs_since(seq)
    assert verbs.count("people.pool_submitted") == 1 and "people.pool_approved" in verbs
    assert verbs[-1] == "people.pool_paid"


def test_reject_puts_the_pool_back(bank):
    pool = svc.pool_submit(actor=bank.supervisor_a, pool_id=allocated_pool(bank).pk)
    seq = audit_seq()
    approval_reject(actor=bank.compliance, pending_id=pool.pending_action_id, reason="金额需与人力资源部核对")
    pool.refresh_from_db()
    assert pool.status == "allocated" and pool.pending_action_id is None
    assert "people.pool_reopened" in verbs_since(seq)
    assert svc.pool_submit(actor=bank.supervisor_a, pool_id=pool.pk).status == "pending"  # may be submitted again


def test_checker_paid_from_the_pool_cannot_approve(bank):
    scheme = svc.scheme_install_default()
    period = period_q3()
    scorecard(bank.compliance, period, 8000, signer=bank.admin)
    scorecard(bank.risk, period, 7000, signer=bank.admin)
    pool = svc.pool_save(actor=bank.admin, branch_id=bank.head.pk, period_id=period.pk, scheme_id=scheme.pk,
                         amount="100")
    svc.pool_allocate(actor=bank.admin, pool_id=pool.pk)
    pool = svc.pool_submit(actor=bank.admin, pool_id=pool.pk)
    with pytest.raises(RuleViolation) as exc:
        approval_approve(actor=bank.compliance, pending_id=pool.pending_action_id)
    assert exc.value.code == "checker_conflict"


def test_nothing_to_pay_is_not_submitted(bank):
    scheme = svc.scheme_install_default()
    period = period_q3()
    scorecard(bank.cm_b1, period, 4000, signer=bank.supervisor_b)
    pool = svc.pool_save(actor=bank.supervisor_b, branch_id=bank.b.pk, period_id=period.pk, scheme_id=scheme.pk,
                         amount="100")
    pool = svc.pool_allocate(actor=bank.supervisor_b, pool_id=pool.pk)
    assert pool.undistributed_fen == 10_000
    with pytest.raises(RuleViolation) as exc:
        svc.pool_submit(actor=bank.supervisor_b, pool_id=pool.pk)
    assert exc.value.code == "nothing_to_pay"


# ---- Clawback -----------------------------------------------------------------------------------------------------------
def test_complaint_upheld_inside_window_proposes_and_rescans_are_idempotent(bank, customer):
    pool = paid_pool(bank)
    c = upheld_complaint(bank, customer, bank.cm_a1, timezone.now() - timedelta(minutes=1))
    seq = audit_seq()
    made = svc.clawback_scan()
    assert len(made) == 1
    cb = made[0]
    assert (cb.award.staff_id, cb.source, cb.source_id, cb.source_ref, cb.status) == (
        bank.cm_a1.pk, "complaint", c.pk, c.number, "proposed")
    assert cb.amount_fen == 75_000  # 20 % of 375,000
    assert verbs_since(seq) == ["people.clawback_proposed"]
    seq = audit_seq()
    assert svc.clawback_scan() == [] and svc.clawback_scan(actor=bank.compliance) == []
    assert Clawback.objects.count() == 1 and verbs_since(seq) == ["people.clawback_scanned"]
    assert award_of(pool, bank.cm_a1).clawed_back_fen == 0  # only proposed


def test_complaint_outside_window_or_before_payout_or_not_upheld_claws_nothing(bank, customer):
    pool = paid_pool(bank)
    now = timezone.now()
    paid = now - timedelta(days=800)  # more than 24 months ago
    shift_payout(pool, paid)
    upheld_complaint(bank, customer, bank.cm_a1, now - timedelta(days=1))                      # after the window
    upheld_complaint(bank, customer, bank.om_a1, paid - timedelta(days=3))                     # before the payout
    upheld_complaint(bank, customer, bank.intern, paid + timedelta(days=30), decision="partly")  # not upheld
    upheld_complaint(bank, customer, bank.intern, paid + timedelta(days=30), kind="feedback")  # a feedback case
    assert svc.clawback_scan() == []
    inside = upheld_complaint(bank, customer, bank.om_a1, local(add_months(timezone.localdate(paid), 24), 9))
    made = svc.clawback_scan()  # the window's last day still counts
    assert [(m.source_id, m.award.staff_id) for m in made] == [(inside.pk, bank.om_a1.pk)]


def test_latest_paid_award_is_clawed_back(bank, customer):
    old = paid_pool(bank)
    shift_payout(old, timezone.now() - timedelta(days=200))
    scheme = IncentiveScheme.objects.get(code="default")
    q4 = Period.objects.create(kind="quarter", year=2026, quarter=4, starts_on=date(2026, 10, 1),
                               ends_on=date(2026, 12, 31))
    scorecard(bank.cm_a1, q4, 8000, signer=bank.supervisor_a)
    scorecard(bank.om_a1, q4, 8000, signer=bank.supervisor_a)
    new = svc.pool_save(actor=bank.supervisor_a, branch_id=bank.a.pk, period_id=q4.pk, scheme_id=scheme.pk,
                        amount="2000")
    new = svc.pool_submit(actor=bank.supervisor_a, pool_id=svc.pool_allocate(actor=bank.supervisor_a,
                                                                             pool_id=new.pk).pk)
    approval_approve(actor=bank.compliance, pending_id=new.pending_action_id)
    svc.pool_mark_paid(actor=bank.supervisor_a, pool_id=new.pk)
    shift_payout(new, timezone.now() - timedelta(days=20))
    upheld_complaint(bank, customer, bank.cm_a1, timezone.now() - timedelta(days=1))
    [cb] = svc.clawback_scan()
    # two equal scores share 2,000 yuan but each is held at the 40 % cap (800 yuan): 20 % of 80,000 fen
    assert cb.award.pool_id == new.pk and cb.amount_fen == 16_000


def test_misselling_found_on_return_visit(bank):
    from bankcrm.wealth.models import ReturnVisit
    from tests.wealth_helpers import build_wealth, held_sale, qualify

    w = build_wealth(bank)
    qualify(bank, w.li)
    sale = held_sale(w, w.li, w.ledger.li_cny, 1_000_000 * 100, seller=bank.cm_a1)
    pool = paid_pool(bank)
    ok = ReturnVisit.objects.create(sale=sale, assignee=bank.om_a1, branch_path=sale.branch_path,
                                    due_on=timezone.localdate(), status="done", outcome="problem",
                                    understood_risk=True, voluntary=True, received_documents=False,
                                    done_at=timezone.now())
    assert svc.clawback_scan() == []  # a problem, but not mis-selling (only documents missing)
    ReturnVisit.objects.filter(pk=ok.pk).update(understood_risk=False)
    [cb] = svc.clawback_scan()
    assert (cb.source, cb.source_id, cb.source_ref, cb.award.staff_id) == ("mis_selling", ok.pk, sale.number,
                                                                          bank.cm_a1.pk)
    assert cb.amount_fen == 187_500  # 50 % of 375,000
    assert award_of(pool, bank.cm_a1).pk == cb.award_id


def test_partial_clawback_is_bounded_by_what_remains(bank, customer):
    pool = paid_pool(bank)
    award = award_of(pool, bank.intern)  # 291,667
    IncentiveAward.objects.filter(pk=award.pk).update(clawed_back_fen=250_000)  # earlier clawbacks (set-up)
    now = timezone.now()
    upheld_complaint(bank, customer, bank.intern, now - timedelta(minutes=3))
    upheld_complaint(bank, customer, bank.intern, now - timedelta(minutes=2))
    [first] = svc.clawback_scan()  # 20 % would be 58,333; only 41,667 remain; the second finding finds nothing left
    assert first.amount_fen == 41_667
    upheld_complaint(bank, customer, bank.intern, now - timedelta(minutes=1))
    assert svc.clawback_scan() == []
    svc.clawback_decide(actor=bank.compliance, clawback_id=first.pk, decision="confirm")
    award.refresh_from_db()
    assert award.clawed_back_fen == award.amount_fen == 291_667


def test_confirm_and_waive(bank, customer):
    pool = paid_pool(bank)
    upheld_complaint(bank, customer, bank.cm_a1, timezone.now() - timedelta(minutes=2))
    upheld_complaint(bank, customer, bank.om_a1, timezone.now() - timedelta(minutes=1))
    a, b = sorted(svc.clawback_scan(), key=lambda c: c.award.staff.staff_no)
    assert a.award.staff_id == bank.cm_a1.pk
    seq = audit_seq()
    with pytest.raises(PermissionDenied):  # no capability
        svc.clawback_decide(actor=bank.cm_a1, clawback_id=a.pk, decision="confirm")
    with pytest.raises(NotFound):  # out of scope
        svc.clawback_decide(actor=bank.supervisor_b, clawback_id=a.pk, decision="confirm")
    with pytest.raises(ValidationFailed):  # a waiver needs a reason
        svc.clawback_decide(actor=bank.compliance, clawback_id=b.pk, decision="waive", reason="")
    assert verbs_since(seq) == [] and Clawback.objects.filter(status="proposed").count() == 2
    a = svc.clawback_decide(actor=bank.supervisor_a, clawback_id=a.pk, decision="confirm", reason="投诉属实")
    b = svc.clawback_decide(actor=bank.compliance, clawback_id=b.pk, decision="waive", reason="系统原因所致，非员工过错")
    assert (a.status, b.status) == ("confirmed", "waived") and b.decided_by_id == bank.compliance.pk
    assert award_of(pool, bank.cm_a1).clawed_back_fen == 75_000
    assert award_of(pool, bank.om_a1).clawed_back_fen == 0
    with pytest.raises(RuleViolation):
        svc.clawback_decide(actor=bank.compliance, clawback_id=a.pk, decision="waive", reason="重复处理测试")
    assert verbs_since(seq) == ["people.clawback_decided", "people.clawback_decided"]


def test_no_one_decides_their_own_clawback(bank, customer):
    scheme = svc.scheme_install_default()
    period = period_q3()
    scorecard(bank.supervisor_a, period, 9000, signer=bank.admin)
    pool = svc.pool_save(actor=bank.admin, branch_id=bank.a.pk, period_id=period.pk, scheme_id=scheme.pk,
                         amount="100")
    svc.pool_submit(actor=bank.admin, pool_id=svc.pool_allocate(actor=bank.admin, pool_id=pool.pk).pk)
    pool.refresh_from_db()
    approval_approve(actor=bank.compliance, pending_id=pool.pending_action_id)
    svc.pool_mark_paid(actor=bank.admin, pool_id=pool.pk)
    upheld_complaint(bank, customer, bank.supervisor_a, timezone.now() - timedelta(minutes=1))
    [cb] = svc.clawback_scan()
    with pytest.raises(PermissionDenied):
        svc.clawback_decide(actor=bank.supervisor_a, clawback_id=cb.pk, decision="waive", reason="本人认为不成立")
    assert cb not in sel.clawbacks_to_decide(bank.supervisor_a)
    assert cb in sel.clawbacks_to_decide(bank.compliance)


def test_consumer_scans_a_closed_complaint(bank, customer):
    """The real path: a complaint registered naming OM001, decided upheld by its handler and closed; the outbox
    consumer proposes the clawback without waiting for the night."""
    from bankcrm.service import services as service

    pool = paid_pool(bank)
    service.root_causes_install_default(actor=bank.admin)
    from bankcrm.service.models import RootCause

    c = service.complaint_register(actor=bank.cm_a1, customer_id=customer.pk, channel="branch",
                                   summary="柜面办理时态度恶劣", staff_named_id=bank.om_a1.pk)
    service.complaint_acknowledge(actor=bank.cm_a1, complaint_id=c.pk)
    service.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    cause = RootCause.objects.filter(parent__isnull=False, active=True).order_by("code").first()
    service.complaint_decide(actor=bank.cm_a1, complaint_id=c.pk, findings="经调取监控录像，员工确有不当言行",
                             decision="upheld", remedy="当面致歉并加强培训", root_cause_id=cause.pk)
    service.complaint_close(actor=bank.cm_a1, complaint_id=c.pk)
    while outbox.consume("people_clawbacks"):
        pass
    cb = Clawback.objects.get()
    assert (cb.award_id, cb.source_id, cb.amount_fen) == (award_of(pool, bank.om_a1).pk, c.pk, 66_667)
    assert outbox.consume("people_clawbacks") == 0 and Clawback.objects.count() == 1


def test_selectors_scope(bank, customer):
    pool = paid_pool(bank)
    assert list(sel.pools_visible(bank.supervisor_b)) == []
    assert list(sel.pools_visible(bank.compliance)) == [pool]
    assert list(sel.pools_visible(bank.cm_a1)) == []
    mine = list(sel.my_awards(bank.cm_a1))
    assert [a.staff_id for a in mine] == [bank.cm_a1.pk]
    assert set(sel.awards_visible(bank.cm_a1).values_list("staff_id", flat=True)) == {bank.cm_a1.pk}
    assert sel.awards_visible(bank.supervisor_a).count() == 3
    assert sel.awards_visible(bank.supervisor_b).count() == 0
    rows = sel.pool_awards(bank.supervisor_a, pool)
    assert [a.rank for a in rows] == [1, 2, 3]
    assert all(a.rank is None for a in sel.pool_awards(bank.compliance, pool))  # approvers: amounts, no rankings


# ---- Demo ---------------------------------------------------------------------------------------------------------------
def test_demo_skips_without_scorecards_and_runs_with_them(bank):
    import random

    from bankcrm.core.demo import SeedContext
    from bankcrm.people.incentive_demo import seed_incentives
    from tests.ledger_helpers import build_ledger

    lines: list[str] = []
    ctx = SeedContext(rng=random.Random(1), options={}, out=lines.append, state={"admin": bank.admin})
    seed_incentives(ctx)
    assert "跳过" in lines[-1] and not IncentivePool.objects.exists()
    build_ledger(bank)  # customers of branch A, managed by CM001
    team_a(bank)
    lines.clear()
    seed_incentives(ctx)
    pool = IncentivePool.objects.get(branch=bank.a)
    assert pool.status == "paid"
    assert IncentivePool.objects.get(branch=bank.b).status == "pending"  # the one waiting for approval
    cb = Clawback.objects.get()
    assert cb.award.staff_id == bank.cm_a1.pk and cb.status == "proposed" and cb.source == "complaint"
    assert any("演示场景（绩效追索）" in line for line in lines), lines
    seed_incentives(ctx)  # a second run changes nothing
    assert Clawback.objects.count() == 1 and IncentivePool.objects.count() == 2
