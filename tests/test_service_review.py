"""Review additions (issue #7): web paths no other test walks — a second click on a transition, bad form input, another
branch's complaint or rectification → 404 — and the regulator file's query count not growing with its rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bankcrm.service import reports, services
from bankcrm.service.models import Complaint, Rectification, RootCause
from tests.conftest import login_client
from tests.ledger_helpers import build_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank):
    led = build_ledger(bank)
    services.root_causes_install_default(actor=bank.admin)
    return led


def _register(bank, led):
    return services.complaint_register(actor=bank.cm_a1, customer_id=led.zhang.pk, channel="branch",
                                       summary="理财收益与宣传不符", description="客户称销售时承诺收益4%",
                                       request="补偿差额", product_line="wealth")


def _errors(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error")


def test_second_click_bad_input_and_other_branch_on_the_pages(bank, world):
    c = _register(bank, world)
    om = login_client(bank.om_a1)
    url = reverse("service:complaint_acknowledge", args=[c.pk])
    assert om.post(url).status_code == 302
    again = om.post(url)  # the second click: a clear message, no second receipt
    assert again.status_code == 302 and "already_acknowledged" in _errors(again)
    assert Complaint.objects.get(pk=c.pk).notices.filter(kind="ack").count() <= 1
    # another branch's complaint: 404 on every transition
    other = login_client(bank.supervisor_b)
    for name in ("service:complaint_assign", "service:complaint_extend", "service:complaint_close"):
        assert other.post(reverse(name, args=[c.pk]), {"handler_id": bank.cm_b1.pk}).status_code == 404
    services.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    cm = login_client(bank.cm_a1)
    # bad input: an unparseable date, a cause that does not exist
    r = cm.post(reverse("service:complaint_rectify", args=[c.pk]),
                {"action": "加强服务培训", "owner_id": bank.cm_a1.pk, "due_on": "明天"})
    assert r.status_code == 302 and "due_on_invalid" in _errors(r) and not Rectification.objects.exists()
    r = cm.post(reverse("service:complaint_decide", args=[c.pk]),
                {"findings": "销售人员未充分揭示风险", "decision": "upheld", "remedy": "补偿收益差额",
                 "root_cause": "xyz"})
    assert r.status_code == 302 and "root_cause_invalid" in _errors(r)
    assert Complaint.objects.get(pk=c.pk).decided_at is None
    # another branch's rectification: 404, and it stays open
    rect = services.rectification_add(actor=bank.cm_a1, complaint_id=c.pk, action="加强服务培训",
                                      owner_id=bank.cm_a1.pk, due_on=timezone.localdate() + timedelta(days=5))
    assert other.post(reverse("service:rectification_done", args=[rect.pk])).status_code == 404
    assert other.post(reverse("service:rectification_done", args=[999999])).status_code == 404
    assert Rectification.objects.get(pk=rect.pk).status == Rectification.Status.OPEN


def test_regulator_file_queries_do_not_grow_with_rows(bank, world):
    today = timezone.localdate()
    sub, top = RootCause.objects.get(code="MKT01"), RootCause.objects.get(code="OTH")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            reports.regulator_rows(bank.compliance, today - timedelta(days=1), today)
        return len(ctx.captured_queries)

    Complaint.objects.filter(pk=_register(bank, world).pk).update(root_cause=sub)
    few = max(count(), count())  # the first call may warm caches
    for i in range(4):
        Complaint.objects.filter(pk=_register(bank, world).pk).update(root_cause=sub if i % 2 else top)
    rows = reports.regulator_rows(bank.compliance, today - timedelta(days=1), today)
    assert {r[5] for r in rows} == {"MKT", "OTH"}
    assert count() <= few
