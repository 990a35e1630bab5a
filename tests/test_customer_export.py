"""Exports: masked by default, unmasked only after a second person's approval, once, by the requester."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from bankcrm.approvals.models import PendingAction
from bankcrm.approvals.services import approval_approve
from bankcrm.core.errors import PermissionDenied, RuleViolation
from bankcrm.core.models import AccessEvent, AuditEvent
from bankcrm.customers import exports, services
from tests.conftest import login_client
from tests.test_customers import ric

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(bank):
    return [services.customer_register(actor=bank.cm_a1, kind="person", name=n, id_type="resident_id",
                                       id_number=ric(seq=f"{200 + i}"), mobile=f"1380000{i:04d}")
            for i, n in enumerate(["张三", "李四", "王五"])]


def _rows(data: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(data)).active
    return [[c.value for c in r] for r in ws.iter_rows()]


def test_masked_export_names_exporter_and_masks_everything(bank, customers):
    exp, data = exports.export_masked(actor=bank.supervisor_a, query="")
    rows = _rows(data)
    text = str(rows)
    assert bank.supervisor_a.staff_no in text and "导出时间" in text
    assert "张三" not in text and "张*" in text
    assert customers[0].id_number not in text and "13800000000" not in text
    assert exp.row_count == 3
    assert AuditEvent.objects.filter(verb="customers.exported").count() == 1
    assert AccessEvent.objects.get(channel="export").subject_count == 3


def test_control_characters_in_the_query_do_not_break_the_workbook(bank, customers):
    """R11 found a query with control characters answered 500 (Excel cells cannot hold them)."""
    r = login_client(bank.compliance).post("/api/v1/customer-exports/", {"q": "张\x1c三\x03"},
                                           content_type="application/json")
    assert r.status_code == 200 and ["查询条件", "张三"] in [row[:2] for row in _rows(r.content)]


def test_interns_and_customer_managers_cannot_export(bank, customers):
    for actor in (bank.intern, bank.cm_a1, bank.temp):
        with pytest.raises(PermissionDenied):
            exports.export_masked(actor=actor, query="")
    assert login_client(bank.cm_a1).post(reverse("customers:export")).status_code == 403


def test_unmasked_export_needs_approval_and_downloads_once(bank, customers):
    exp = exports.export_request_unmasked(actor=bank.supervisor_a, query="", reason="监管检查抽样")
    with pytest.raises(RuleViolation):
        exports.export_download(actor=bank.supervisor_a, export_id=exp.pk)  # not approved yet
    pa = PendingAction.objects.get(action_code=exports.ACTION)
    with pytest.raises(RuleViolation):
        approval_approve(actor=bank.supervisor_a, pending_id=pa.pk)  # not by the requester
    assert approval_approve(actor=bank.compliance, pending_id=pa.pk).status == "executed"
    from bankcrm.core.errors import NotFound

    with pytest.raises(NotFound):
        exports.export_download(actor=bank.compliance, export_id=exp.pk)  # only the requester
    _downloaded, data = exports.export_download(actor=bank.supervisor_a, export_id=exp.pk)
    text = str(_rows(data))
    assert "张三" in text and customers[0].id_number in text and "监管检查抽样" in text
    with pytest.raises(RuleViolation):
        exports.export_download(actor=bank.supervisor_a, export_id=exp.pk)  # once
    ev = AccessEvent.objects.get(view="customers.export_unmasked")
    assert ev.unmasked and ev.reason == "监管检查抽样"


def test_unmasked_export_needs_reason(bank, customers):
    from bankcrm.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        exports.export_request_unmasked(actor=bank.supervisor_a, query="", reason="")
