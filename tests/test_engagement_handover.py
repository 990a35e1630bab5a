"""A portfolio handover moves the departing manager's open work (tasks, plans, opportunities, planned contacts) on the
handed-over customers to the successor — and nothing else: done work stays with who did it, other customers' work
and other staff's work are untouched, and a replayed event moves nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.approvals.services import approval_approve
from bankcrm.core import outbox
from bankcrm.core.models import AuditEvent
from bankcrm.customers import handover
from bankcrm.customers.models import Handover
from bankcrm.engagement import services as eg
from bankcrm.engagement.models import Interaction, Opportunity, Task
from bankcrm.org import services as org_services
from tests.test_customer_handover import portfolio  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_open_work_follows_the_customer_to_the_successor(bank, portfolio):  # noqa: F811
    cs, successor = portfolio
    cm = bank.cm_a1
    today = timezone.localdate()
    open_task = eg.task_create(actor=cm, title="年度回顾", due_on=today + timedelta(days=3), customer_id=cs[1].pk)
    done_task = eg.task_create(actor=cm, title="已完成", due_on=today + timedelta(days=3), customer_id=cs[1].pk)
    eg.task_complete(actor=cm, task_id=done_task.pk, result="ok")
    own_task = eg.task_create(actor=cm, title="不涉客户", due_on=today + timedelta(days=3))
    opp = eg.opportunity_create(actor=cm, customer_id=cs[2].pk, goal="retirement", title="养老规划")
    planned = eg.interaction_plan(actor=cm, customer_id=cs[3].pk, kind="call", subject="回访",
                                  planned_at=timezone.now() + timedelta(days=2))
    org_services.staff_deactivate(actor=bank.admin, staff_id=cm.pk, reason="离职")
    h = Handover.objects.get(departing=cm)
    handover.handover_set_successor(actor=bank.supervisor_a, handover_id=h.pk, successor_id=successor.pk)
    handover.handover_submit(actor=bank.supervisor_a, handover_id=h.pk)
    h.refresh_from_db()
    assert approval_approve(actor=bank.admin2, pending_id=h.pending_action_id).status == "executed"

    assert outbox.consume("engagement_handover") == 1
    assert Task.objects.get(pk=open_task.pk).owner_id == successor.pk
    assert Task.objects.get(pk=done_task.pk).owner_id == cm.pk  # done work stays with who did it
    assert Task.objects.get(pk=own_task.pk).owner_id == cm.pk  # not about a handed-over customer
    assert Opportunity.objects.get(pk=opp.pk).owner_id == successor.pk
    assert Interaction.objects.get(pk=planned.pk).staff_id == successor.pk
    ev = AuditEvent.objects.get(verb="engagement.work_handed_over")
    assert ev.after["tasks"] == 1 and ev.after["opportunities"] == 1 and ev.after["planned_contacts"] == 1

    # Replaying the same move changes nothing and writes no second event.
    again = eg.work_follow_handover(handover_id=h.pk, departing_id=cm.pk,
                                    moves=[(c.pk, successor.pk) for c in cs])
    assert not any(again.values())
    assert AuditEvent.objects.filter(verb="engagement.work_handed_over").count() == 1
