"""Customer workflows through the REST API: relationships, handover, exports, data-subject requests."""

from __future__ import annotations

import pytest

from bankcrm.customers import services
from tests.conftest import login_client
from tests.test_customers import ric

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(bank):
    return [services.customer_register(actor=bank.cm_a1, kind="person", name=n, id_type="resident_id", id_number=ric(seq=s))
            for n, s in (("张三", "401"), ("李四", "402"))]


def test_relationships_api(bank, two):
    a, b = two
    c = login_client(bank.cm_a1)
    r = c.post(f"/api/v1/customers/{a.pk}/relationships/", {"other_customer": b.pk, "kind": "spouse"}, content_type="application/json")
    assert r.status_code == 201
    r = c.get(f"/api/v1/customers/{b.pk}/relationships/")
    assert r.json()[0]["word"] == "配偶" and r.json()[0]["other_customer_no"] == a.customer_no
    r = c.post(f"/api/v1/customers/{a.pk}/relationships/", {"other_customer": b.pk, "kind": "nonsense"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"


def test_handover_api(bank, two):
    sup = login_client(bank.supervisor_a)
    r = sup.post("/api/v1/customer-handovers/", {"staff": bank.cm_a1.pk, "reason": "调岗"}, content_type="application/json")
    assert r.status_code == 201 and len(r.json()["items"]) == 2
    hid = r.json()["id"]
    r = sup.post(f"/api/v1/customer-handovers/{hid}/submit/", content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "handover_incomplete"
    assert login_client(bank.cm_a1).get("/api/v1/customer-handovers/").status_code == 403
    assert login_client(bank.supervisor_b).get(f"/api/v1/customer-handovers/{hid}/").status_code == 404


def test_exports_and_subject_requests_api(bank, two):
    a, _b = two
    sup = login_client(bank.supervisor_a)
    r = sup.post("/api/v1/customer-exports/", {"q": ""}, content_type="application/json")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    r = sup.post("/api/v1/customer-exports/", {"q": "", "masked": False}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    r = sup.post("/api/v1/customer-exports/", {"q": "", "masked": False, "reason": "审计抽查"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["status"] == "pending"
    cm = login_client(bank.cm_a1)
    r = cm.post(f"/api/v1/customers/{a.pk}/subject-requests/", {"kind": "access", "channel": "branch"}, content_type="application/json")
    assert r.status_code == 201
    rid = r.json()["id"]
    r = cm.post(f"/api/v1/customers/{a.pk}/subject-requests/{rid}/copy/")
    assert r.status_code == 200 and a.id_number in r.content.decode()
    r = login_client(bank.intern).post(f"/api/v1/customers/{a.pk}/subject-requests/{rid}/copy/")
    assert r.status_code == 403
