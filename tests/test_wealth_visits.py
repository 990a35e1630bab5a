"""Return visits (回访, issue #6): assigned after a sale to someone other than the seller — never the seller, whatever
the branch's staffing (Hypothesis over generated branches: the seller as the only operations manager or supervisor,
the seller as a supervisor, several candidates with different loads, inactive staff, a parent branch without a
supervisor) — and recorded by that person: the seller cannot record it; unreachable after the configured number of
attempts; a problem opens exactly one feedback case; missing answers are field errors."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bankcrm.core import params
from bankcrm.core.access import EmploymentType as E
from bankcrm.core.access import Role as R
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.org import services as org
from bankcrm.service.models import Complaint
from bankcrm.wealth import services
from bankcrm.wealth.models import ReturnVisit, Sale
from tests.conftest import PASSWORD, write_figures
from tests.helpers import audit_seq, verbs_since
from tests.wealth_helpers import CNY, build_wealth

pytestmark = pytest.mark.django_db

HYP = dict(deadline=None, derandomize=True,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture
def w(bank):
    return build_wealth(bank)


# ---- Who is assigned ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Member:
    roles: tuple[str, ...]
    etype: str
    active: bool
    open_visits: int
    done_visits: int


@st.composite
def staffing(draw):
    members = draw(st.lists(st.builds(
        Member,
        roles=st.sampled_from([(R.OPERATIONS_MANAGER,), (R.BRANCH_SUPERVISOR,), (R.CUSTOMER_MANAGER,),
                               (R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR), (R.CUSTOMER_MANAGER, R.BRANCH_SUPERVISOR),
                               (R.OPERATIONS_MANAGER,)]),
        etype=st.sampled_from([E.EMPLOYEE, E.EMPLOYEE, E.TEMPORARY, E.INTERN]),
        active=st.sampled_from([True, True, True, False]),
        open_visits=st.integers(0, 3), done_visits=st.integers(0, 2)), min_size=0, max_size=5))
    parent = draw(st.sampled_from(["a", "new"]))  # under branch A (supervisor_a) or a new branch without a supervisor
    # the seller: the branch's own customer manager, or one of the members who may sell (a customer manager or an
    # operations manager, possibly also a supervisor)
    sellers = [i for i, m in enumerate(members) if m.active and {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER} & set(m.roles)]
    seller = draw(st.sampled_from(["cm", *sellers]))
    return parent, members, seller


def expected_assignee(members, staff, seller, parent, bank, fallback_parent):
    """The rule in words: the least-loaded (open visits) active operations manager or supervisor of the customer's
    branch other than the seller (ties by staff number); none → the nearest supervisor above; none → a head-office
    compliance manager."""
    eligible = [(m.open_visits, s.staff_no, s) for m, s in zip(members, staff, strict=True)
                if m.active and {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR} & set(m.roles) and s.pk != seller.pk]
    if eligible:
        return min(eligible, key=lambda t: t[:2])[2]
    return bank.supervisor_a if fallback_parent == "a" else bank.compliance


def make_branch(w, parent: str, members, n: int):
    from bankcrm.customers import services as customer_services
    from tests.ledger_helpers import ric

    bank = w.bank
    if parent == "a":
        sub = org.branch_create(actor=bank.admin, code=f"1019{n % 10}", name="测试支行", kind="sub_branch",
                                parent_id=bank.a.pk)
    else:
        top = org.branch_create(actor=bank.admin, code=f"1{n % 10}9", name="测试分行", kind="branch",
                                parent_id=bank.head.pk)
        sub = org.branch_create(actor=bank.admin, code=f"1{n % 10}91", name="测试支行", kind="sub_branch",
                                parent_id=top.pk)
    soon = timezone.localdate() + timedelta(days=90)

    def hire(i, roles, etype, active=True):
        contract = {} if etype == E.EMPLOYEE else {"contract_start": timezone.localdate() - timedelta(days=5),
                                                   "contract_end": soon}
        s = org.staff_create(actor=bank.admin, staff_no=f"RV{n:03d}{i}", name=f"回访测{i}", branch_id=sub.pk,
                             employment_type=etype, roles=list(roles), password=PASSWORD, **contract)
        if not active:
            s = org.staff_deactivate(actor=bank.admin, staff_id=s.pk, reason="离职")
        from bankcrm.org.models import Staff

        return Staff.objects.select_related("branch").get(pk=s.pk)

    cm = hire(9, [R.CUSTOMER_MANAGER], E.EMPLOYEE)
    staff = [hire(i, m.roles, m.etype, m.active) for i, m in enumerate(members)]
    customer = customer_services.customer_register(actor=cm, kind="person", name="回访客户", id_type="resident_id",
                                                   id_number=ric("19800101", f"{n % 900 + 100:03d}", "310101"),
                                                   branch_id=sub.pk)
    return sub, cm, staff, customer


def load_visits(w, customer, staff, members) -> None:
    """Open and finished return visits already on each member's desk (rows written directly: set-up)."""
    now = timezone.now()
    seq = itertools.count(1)
    sales, visits = [], []
    for s, m in zip(staff, members, strict=True):
        for status in ["open"] * m.open_visits + ["done"] * m.done_visits:
            sale = Sale(number=f"WSLOAD{s.pk:05d}{next(seq):04d}", customer=customer, product=w.products["R2"],
                        account=w.ledger.li_cny, amount_fen=10_000 * CNY, seller=w.bank.cm_a1,
                        branch_path=customer.branch.path, proposed_at=now, status="proposed", investor_level=3,
                        product_level=2)
            sales.append(sale)
            visits.append((sale, s, status))
    Sale.objects.bulk_create(sales)
    ReturnVisit.objects.bulk_create([ReturnVisit(sale=sale, assignee=s, branch_path=sale.branch_path,
                                                 due_on=timezone.localdate(), status=status,
                                                 done_at=now if status == "done" else None)
                                     for sale, s, status in visits])


def test_assignee_is_never_the_seller_and_the_least_loaded(w):
    counter = itertools.count(1)
    stats = {"examples": 0, "in_branch": 0, "fallback_supervisor": 0, "fallback_compliance": 0, "seller_member": 0}

    @settings(max_examples=60, **HYP)
    @given(staffing())
    def run(case):
        parent, members, seller_ix = case
        n = next(counter)
        with transaction.atomic():
            sub, cm, staff, customer = make_branch(w, parent, members, n)
            load_visits(w, customer, staff, members)
            seller = cm if seller_ix == "cm" else staff[seller_ix]
            sale = Sale(customer=customer, seller=seller, product=w.products["R2"])
            got = services.return_visit_assignee(sale)
            want = expected_assignee(members, staff, seller, parent, w.bank, parent)
            transaction.set_rollback(True)
        assert got is not None and got.pk != seller.pk
        table = [(s.staff_no, [str(r) for r in m.roles], m.etype, m.active, m.open_visits)
                 for s, m in zip(staff, members, strict=True)]
        assert got.pk == want.pk, f"{table} seller={seller.staff_no} parent={parent}: got {got.staff_no}, want {want.staff_no}"
        stats["examples"] += 1
        stats["seller_member"] += seller_ix != "cm"
        key = ("in_branch" if got.branch_id == sub.pk else
               "fallback_supervisor" if got.pk == w.bank.supervisor_a.pk else "fallback_compliance")
        stats[key] += 1

    run()
    write_figures("WEALTH-VISITS", True, **stats)
    assert all(stats.values()), stats  # every path was taken


def test_seller_who_is_the_only_operations_manager_gets_someone_else(w):
    """End to end: the only operations manager of a sub-branch sells; the visit goes up to the supervisor."""
    from tests.ledger_helpers import fund

    bank = w.bank
    from bankcrm.customers import services as customer_services
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Product
    from tests.wealth_helpers import assess

    _sub, _cm, staff, customer = make_branch(w, "a", [Member((R.OPERATIONS_MANAGER,), E.EMPLOYEE, True, 0, 0)], 7)
    om = staff[0]
    acc = ledger.account_open(actor=om, customer_id=customer.pk, product_id=Product.objects.get(code="D-CNY").pk)
    ledger.cash_box_open(actor=om)
    fund(acc, 50_000 * CNY, teller=om)
    assess(bank, customer, 3, actor=om)
    customer_services.consent_grant(actor=om, customer_id=customer.pk, purpose="marketing", channel="branch",
                                    evidence="营销同意书")
    s = services.sale_propose(actor=om, customer_id=customer.pk, product_id=w.products["R2"].pk, account_id=acc.pk,
                              amount_fen=20_000 * CNY)
    s = services.sale_confirm(actor=om, sale_id=s.pk, disclosure_confirmed=True)
    rv = ReturnVisit.objects.get(sale=s)
    assert rv.assignee_id == bank.supervisor_a.pk != om.pk
    assert rv.due_on > timezone.localdate()
    # the seller sees the visit (branch scope) but may not record it; nothing changes
    seq = audit_seq()
    with pytest.raises(PermissionDenied) as e:
        services.return_visit_record(actor=om, visit_id=rv.pk, reached=True, understood_product=True,
                                     understood_risk=True, voluntary=True, received_documents=True)
    assert e.value.code == "seller_cannot_visit" and verbs_since(seq) == []
    rv.refresh_from_db()
    assert rv.status == "open" and rv.attempts == 0
    rv = services.return_visit_record(actor=bank.supervisor_a, visit_id=rv.pk, reached=True, understood_product=True,
                                      understood_risk=True, voluntary=True, received_documents=True)
    assert rv.status == "done" and rv.outcome == "ok" and rv.complaint_id is None


# ---- Recording ---------------------------------------------------------------------------------------------------------
def _visit(w, seller=None) -> ReturnVisit:
    bank, led = w.bank, w.ledger
    seller = seller or bank.cm_a1
    s = services.sale_propose(actor=seller, customer_id=w.li.pk, product_id=w.products["R2"].pk,
                              account_id=led.li_cny.pk, amount_fen=20_000 * CNY)
    services.sale_confirm(actor=seller, sale_id=s.pk, disclosure_confirmed=True)
    return ReturnVisit.objects.select_related("assignee").get(sale_id=s.pk)


ANSWERS = dict(understood_product=True, understood_risk=True, voluntary=True, received_documents=True)


def test_the_seller_cannot_record_and_outsiders_do_not_see_it(w):
    bank = w.bank
    rv = _visit(w)
    assert rv.assignee_id not in (bank.cm_a1.pk,)
    seq = audit_seq()
    with pytest.raises((NotFound, PermissionDenied)):  # a customer manager seller does not even see the task
        services.return_visit_record(actor=bank.cm_a1, visit_id=rv.pk, reached=True, **ANSWERS)
    for outsider in (bank.om_b1, bank.supervisor_b):
        with pytest.raises(NotFound):
            services.return_visit_record(actor=outsider, visit_id=rv.pk, reached=True, **ANSWERS)
    with pytest.raises(PermissionDenied):  # no capability
        services.return_visit_record(actor=bank.risk, visit_id=rv.pk, reached=True, **ANSWERS)
    assert verbs_since(seq) == []
    rv.refresh_from_db()
    assert rv.status == "open" and rv.attempts == 0


def test_unreachable_after_the_configured_attempts(w):
    rv = _visit(w)
    n = params.value("wealth.return_visit_attempts")
    assert n >= 2
    for i in range(1, n):
        rv = services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=False, notes=f"第{i}次未接通")
        assert rv.status == "open" and rv.attempts == i and rv.done_at is None
    rv = services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=False, notes="仍未接通")
    assert rv.status == "unreachable" and rv.attempts == n and rv.done_at
    assert "第1次未接通" in rv.notes and "仍未接通" in rv.notes
    with pytest.raises(RuleViolation) as e:
        services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=False)
    assert e.value.code == "return_visit_done"
    rv.refresh_from_db()
    assert rv.attempts == n


@pytest.mark.parametrize("no", list(ANSWERS))
def test_a_problem_opens_exactly_one_feedback_case(w, no):
    from bankcrm.service.services import feedback_case_open

    rv = _visit(w)
    answers = {**ANSWERS, no: False}
    with pytest.raises(ValidationFailed) as e:  # a problem must be described
        services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=True, notes="", **answers)
    assert e.value.code == "notes_required" and set(e.value.fields) == {"notes"}
    assert not Complaint.objects.filter(source_ref=f"wealth.rv:{rv.pk}").exists()
    seq = audit_seq()
    rv = services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=True, notes="客户表示未被告知可能亏损",
                                      **answers)
    assert rv.outcome == "problem" and rv.status == "done" and rv.complaint_id
    cases = Complaint.objects.filter(source_ref=f"wealth.rv:{rv.pk}")
    assert cases.count() == 1 and cases.get().pk == rv.complaint_id
    case = cases.get()
    assert case.customer_id == w.li.pk and case.kind == "feedback"
    assert "wealth.return_visit" in verbs_since(seq)
    # recorded once: again is refused; the case opener is idempotent on the same source
    with pytest.raises(RuleViolation):
        services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=True, notes="再次记录", **answers)
    assert feedback_case_open(customer_id=w.li.pk, summary="重复", source_ref=f"wealth.rv:{rv.pk}",
                              assignee_id=None).pk == rv.complaint_id
    assert Complaint.objects.filter(source_ref=f"wealth.rv:{rv.pk}").count() == 1


def test_ok_answers_open_no_case(w):
    rv = _visit(w)
    complaints = Complaint.objects.count()
    rv = services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=True, notes="", **ANSWERS)
    assert rv.outcome == "ok" and rv.complaint_id is None and Complaint.objects.count() == complaints
    assert (rv.understood_product, rv.understood_risk, rv.voluntary, rv.received_documents) == (True,) * 4


@pytest.mark.parametrize("missing", [("understood_product",), ("understood_risk", "voluntary"), tuple(ANSWERS)])
def test_missing_answers_are_field_errors(w, missing):
    rv = _visit(w)
    seq = audit_seq()
    answers = {k: (None if k in missing else v) for k, v in ANSWERS.items()}
    with pytest.raises(ValidationFailed) as e:
        services.return_visit_record(actor=rv.assignee, visit_id=rv.pk, reached=True, notes="已联系", **answers)
    assert e.value.code == "answers_required" and set(e.value.fields) == set(missing)
    assert all(e.value.fields[k] for k in missing)
    assert verbs_since(seq) == []
    rv.refresh_from_db()
    assert rv.status == "open" and rv.attempts == 0 and rv.understood_product is None
    with pytest.raises(NotFound):
        services.return_visit_record(actor=rv.assignee, visit_id="abc", reached=False)
