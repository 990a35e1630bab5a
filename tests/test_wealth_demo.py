"""The wealth demo (issue #6), run with every other seeder at the demo's small size, and the invariants it must keep:
the ledger balances, every settled sale carries its evidence, no return visit is assigned to its seller, holdings
equal settled units less redeemed units, the AUM snapshot of today equals the current balances, and the printed
70-year-old C4 scenario customer can really be sold an R3 product once the 双录 reference is given."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.db.models import Sum
from django.utils import timezone

from bankcrm.core import demo

pytestmark = pytest.mark.django_db

def test_wealth_seeder_runs_after_ledger_and_risk():
    order = {s.name: s.order for s in demo.SEEDERS.values()}
    assert order["ledger"] < order["risk"] < order["wealth"]


def check_wealth_demo(ctx, lines) -> None:
    """Run by tests/test_demo_bank.py on the small demo bank (seeded once for every app's demo checks)."""
    from bankcrm.approvals.models import PendingAction
    from bankcrm.core.models import AuditEvent, CalendarDay
    from bankcrm.customers.selectors import has_consent
    from bankcrm.ledger.models import Account, AccountHold
    from bankcrm.ledger.selectors import invariant_report
    from bankcrm.org.models import Staff
    from bankcrm.risk.suitability import current_assessment
    from bankcrm.service.models import Complaint
    from bankcrm.wealth import services
    from bankcrm.wealth.demo import wealth_bootstrap
    from bankcrm.wealth.models import (
        AumSnapshot,
        Holding,
        Payout,
        ProductNav,
        QualifiedInvestor,
        Redemption,
        ReturnVisit,
        Sale,
        WealthProduct,
    )
    from tests.test_wealth_aum import current_figures

    today = timezone.localdate()
    # The ledger still balances after every hold, capture, redemption and payout.
    assert not any(invariant_report().values()), invariant_report()

    # The shelf: every kind, documents, approved by head-office compliance on the administrator's request.
    shelf = list(WealthProduct.objects.filter(status="on_shelf"))
    kinds = defaultdict(set)
    for p in shelf:
        kinds[p.kind].add(p.risk_level)
        assert p.description.strip() and p.risk_disclosure.strip()
    assert kinds["wealth"] >= {1, 2, 3, 4, 5} and len(kinds["fund"]) >= 4 and len(kinds["insurance"]) >= 1
    assert {p.ledger_product.code for p in shelf if p.kind == "deposit"} == {"T-3M", "T-1Y", "T-3Y"}
    assert sum(1 for p in shelf if p.kind == "insurance") == 2
    assert all(not p.open_ended and p.maturity_date for p in shelf if p.kind == "insurance")
    private = [p for p in shelf if p.private]
    assert len(private) == 1 and private[0].risk_level == 4 and private[0].min_amount_fen == 1_000_000 * 100
    approvals = PendingAction.objects.filter(action_code="wealth.shelf_on")
    assert approvals.count() == len(shelf) and set(approvals.values_list("status", flat=True)) == {"executed"}
    for pa in approvals.select_related("maker", "checker"):
        assert "admin" in pa.maker.roles and "compliance_manager" in pa.checker.roles
        assert pa.checker.branch.parent_id is None and pa.maker_id != pa.checker_id
    # NAV history through nav_set: one audit event per NAV row, ~120 days for the long-running products.
    navs = ProductNav.objects.count()
    assert navs > 500 and AuditEvent.objects.filter(verb="wealth.nav_set").count() == navs
    assert not ProductNav.objects.filter(set_by__isnull=True).exists()
    fund = WealthProduct.objects.get(code="BY-CSI500-A")
    days = sorted(ProductNav.objects.filter(product=fund).values_list("nav_date", flat=True))
    assert (today - days[0]).days >= 115 and (today - days[-1]).days <= 4  # working days only
    assert all(d.weekday() < 5 or CalendarDay.objects.filter(date=d, kind="workday").exists() for d in days)
    new = WealthProduct.objects.get(code="HT-WY90-2611")
    first = ProductNav.objects.filter(product=new).order_by("nav_date").first()
    assert first.nav_x10000 == 10_000 or first.nav_date > new.sales_start

    # Sales in every state.
    by_status = defaultdict(list)
    for s in Sale.objects.select_related("product", "customer"):
        by_status[s.status].append(s)
    assert len(by_status["settled"]) >= 10
    assert {s.product.kind for s in by_status["settled"]} == {"wealth", "fund", "insurance", "deposit"}
    assert len(by_status["withdrawn"]) == 1 and len(by_status["proposed"]) >= 2
    (held,) = by_status["held"]
    assert held.product.private and held.cooling_off_ends_at > timezone.now() and held.qualified_investor_id
    assert AccountHold.objects.get(ref=held.hold_ref).status == "active"
    (cancelled,) = by_status["cancelled"]
    assert cancelled.product.private and AccountHold.objects.get(ref=cancelled.hold_ref).status == "released"
    # Every settled sale has its evidence; elderly buyers of R3+ or insurance have their 双录 reference.
    for s in by_status["settled"]:
        assert s.entry_id and s.disclosure_confirmed_at and s.disclosure_version and s.hold_ref and s.settled_at
        assert (s.confirm_check or s.check_result).get("allowed") is True and s.units_x100  # the check at confirmation
        assert s.check_result.get("allowed") or [v["code"] for v in s.check_result["violations"]] == [
            "suitability_recording_required"]  # at proposal only the 双录 recording may still be missing
        assert AccountHold.objects.get(ref=s.hold_ref).status == "captured"
        if s.recording_required:
            assert s.recording_id and s.recording_booth and s.recorded_at
        age = (today - s.customer.birth_date).days // 365
        if age >= 66 and (s.product.risk_level >= 3 or s.product.kind == "insurance"):
            assert s.recording_required and s.recording_id
    assert any(s.recording_id for s in by_status["settled"])
    assert QualifiedInvestor.objects.count() >= 3

    # Return visits: one per settled sale, never the seller's, in every state; the problem opened a feedback case.
    visits = list(ReturnVisit.objects.select_related("sale"))
    assert len(visits) == len(by_status["settled"])
    assert all(v.assignee_id != v.sale.seller_id for v in visits)
    states = {(v.status, v.outcome) for v in visits}
    assert {("open", ""), ("done", "ok"), ("done", "problem"), ("unreachable", "")} <= states
    for v in visits:
        if v.outcome == "problem":
            assert Complaint.objects.filter(pk=v.complaint_id, kind="feedback").exists()

    # Holdings = settled units − redeemed units (nothing has matured yet); time deposits are ledger accounts.
    settled = defaultdict(int)
    for s in by_status["settled"]:
        if s.product.kind != "deposit":
            settled[(s.customer_id, s.product_id)] += s.units_x100
    redeemed = defaultdict(int)
    for r in Redemption.objects.select_related("holding"):
        redeemed[(r.holding.customer_id, r.holding.product_id)] += r.units_x100
    held_units = defaultdict(int)
    for h in Holding.objects.filter(deposit_account__isnull=True):
        held_units[(h.customer_id, h.product_id)] += h.units_x100
    assert held_units == {k: u - redeemed[k] for k, u in settled.items()}
    assert Redemption.objects.count() >= 2
    for h in Holding.objects.filter(deposit_account__isnull=False).select_related("deposit_account"):
        assert h.deposit_account.balance_fen == h.cost_fen == h.units_x100
    assert Payout.objects.filter(kind="income").exists()
    assert not Payout.objects.filter(kind="maturity").exists()

    # AUM: 90 days for every customer; today's figures are the current balances.
    customers = AumSnapshot.objects.filter(day=today).count()
    assert customers and AumSnapshot.objects.count() == 90 * customers
    current = current_figures()
    for r in AumSnapshot.objects.filter(day=today):
        assert (r.deposits_fen, r.wealth_fen) == current.get(r.customer_id, (0, 0))
    assert AumSnapshot.objects.filter(day=today).aggregate(w=Sum("wealth_fen"))["w"] > 0

    # The 70-year-old C4 scenario, printed for the README-style output, really works.
    number = ctx.state["wealth_scenario_customer"]
    assert number and any(number in line and "双录" in line for line in lines)
    from bankcrm.customers.models import Customer, ManagerAssignment

    c = Customer.objects.get(customer_no=number)
    assert 66 <= (today - c.birth_date).days // 365 <= 74
    a = current_assessment(c.pk)
    assert a.level == 4 and a.valid_until > today and has_consent(c, "marketing")
    acc = Account.objects.get(customer=c, product__code="D-CNY", status="active")
    assert acc.available_fen >= 100_000 * 100
    assert not Sale.objects.filter(customer=c).exists()
    cm = Staff.objects.get(pk=ManagerAssignment.objects.get(customer=c, role="primary", ended_at__isnull=True).staff_id)
    r3 = WealthProduct.objects.get(code="HT-RX-R3")
    d = services.pos_check(actor=cm, customer_id=c.pk, product_id=r3.pk, amount_fen=50_000 * 100)
    assert d.codes == ["suitability_recording_required"]

    # The shelf bootstrap is idempotent.
    admin = Staff.objects.get(staff_no="AD001")
    assert wealth_bootstrap(actor=admin) == {"created": 0, "submitted": 0}


def test_wealth_bootstrap_command(bank):
    """A new bank: refused before the ledger is set up; then the three time deposits are created and submitted once;
    a compliance manager approves them onto the shelf."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from bankcrm.approvals.models import PendingAction
    from bankcrm.approvals.services import approval_approve
    from bankcrm.ledger.services import ledger_bootstrap
    from bankcrm.wealth.models import WealthProduct

    with pytest.raises(CommandError, match="ledger_not_bootstrapped"):
        call_command("wealth_bootstrap", admin=bank.admin.staff_no)
    assert not WealthProduct.objects.exists()
    ledger_bootstrap(actor=bank.admin)
    call_command("wealth_bootstrap", admin=bank.admin.staff_no)
    call_command("wealth_bootstrap", admin=bank.admin.staff_no)
    products = list(WealthProduct.objects.order_by("code"))
    assert [p.code for p in products] == ["TD-1Y", "TD-3M", "TD-3Y"]
    assert {p.status for p in products} == {"pending_on"} and all(p.risk_disclosure for p in products)
    pending = PendingAction.objects.filter(action_code="wealth.shelf_on", status="pending")
    assert pending.count() == 3
    for pa in pending:
        approval_approve(actor=bank.compliance, pending_id=pa.pk)
    assert set(WealthProduct.objects.values_list("status", flat=True)) == {"on_shelf"}
