"""Portfolio handover: nothing orphaned, maker-checker, automatic on departure, refuses a changed portfolio."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bankcrm.approvals.services import approval_approve
from bankcrm.core.errors import RuleViolation
from bankcrm.customers import handover, services
from bankcrm.customers.models import Handover, ManagerAssignment
from bankcrm.org import services as org_services
from tests.conftest import PASSWORD, login_client
from tests.test_customers import ric

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(bank):
    cs = [services.customer_register(actor=bank.cm_a1, kind="person", name=f"客户{i}", id_type="resident_id",
                                     id_number=ric(seq=f"{100 + i}")) for i in range(4)]
    successor = org_services.staff_create(actor=bank.admin, staff_no="CM077", name="接手人", branch_id=bank.a1.pk,
                                          employment_type="employee", roles=["customer_manager"], password=PASSWORD)
    services.manager_assign(actor=bank.supervisor_a, customer_id=cs[0].pk, staff_id=successor.pk, role="team", reason="协办")
    return cs, successor


def _primary(customer_id):
    return ManagerAssignment.objects.get(customer_id=customer_id, role="primary", ended_at__isnull=True).staff_id


def test_deactivation_opens_a_draft_and_approval_moves_everyone(bank, portfolio):
    cs, successor = portfolio
    org_services.staff_deactivate(actor=bank.admin, staff_id=bank.cm_a1.pk, reason="离职")
    h = Handover.objects.get(departing=bank.cm_a1)
    assert h.status == "draft" and h.items.count() == 4
    with pytest.raises(RuleViolation) as e:
        handover.handover_submit(actor=bank.supervisor_a, handover_id=h.pk)
    assert e.value.code == "handover_incomplete"
    with pytest.raises(RuleViolation):
        handover.handover_cancel(actor=bank.supervisor_a, handover_id=h.pk, reason="x")  # departed: must hand over
    handover.handover_set_successor(actor=bank.supervisor_a, handover_id=h.pk, successor_id=successor.pk)
    handover.handover_submit(actor=bank.supervisor_a, handover_id=h.pk)
    h.refresh_from_db()
    with pytest.raises(RuleViolation):  # maker cannot approve
        approval_approve(actor=bank.supervisor_a, pending_id=h.pending_action_id)
    pa = approval_approve(actor=bank.admin2, pending_id=h.pending_action_id)
    assert pa.status == "executed", pa.result
    h.refresh_from_db()
    assert h.status == "executed"
    for c in cs:
        assert _primary(c.pk) == successor.pk
    assert not ManagerAssignment.objects.filter(staff=bank.cm_a1, ended_at__isnull=True).exists()
    # The team member who became primary has exactly one current assignment on that customer.
    assert ManagerAssignment.objects.filter(customer=cs[0], staff=successor, ended_at__isnull=True).count() == 1


def test_changed_portfolio_refuses_to_execute(bank, portfolio):
    cs, successor = portfolio
    h = handover.handover_open(actor=bank.supervisor_a, staff_id=bank.cm_a1.pk, reason="调岗")
    handover.handover_set_successor(actor=bank.supervisor_a, handover_id=h.pk, successor_id=successor.pk)
    handover.handover_submit(actor=bank.supervisor_a, handover_id=h.pk)
    services.customer_register(actor=bank.cm_a1, kind="person", name="新客户", id_type="resident_id", id_number=ric(seq="555"))
    h.refresh_from_db()
    pa = approval_approve(actor=bank.admin2, pending_id=h.pending_action_id)
    assert pa.status == "failed" and pa.result["error"]["code"] == "handover_portfolio_changed"
    assert all(_primary(c.pk) == bank.cm_a1.pk for c in cs)  # nothing moved


def test_successor_rules_and_scope(bank, portfolio):
    _cs, _successor = portfolio
    h = handover.handover_open(actor=bank.supervisor_a, staff_id=bank.cm_a1.pk, reason="调岗")
    with pytest.raises(RuleViolation):
        handover.handover_set_successor(actor=bank.supervisor_a, handover_id=h.pk, successor_id=bank.cm_a1.pk)
    with pytest.raises(RuleViolation):
        handover.handover_set_successor(actor=bank.supervisor_a, handover_id=h.pk, successor_id=bank.om_a1.pk)
    assert login_client(bank.supervisor_b).get(reverse("customers:handover", args=[h.pk])).status_code == 404
    assert login_client(bank.cm_a1).get(reverse("customers:handovers")).status_code == 403
    assert login_client(bank.supervisor_a).get(reverse("customers:handover", args=[h.pk])).status_code == 200
