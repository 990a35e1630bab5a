"""账务参数 page: products with the rate in force, limits, exchange rates; who may change what."""

from __future__ import annotations

import pytest

from bankcrm.approvals.models import PendingAction
from bankcrm.core.models import AuditEvent
from bankcrm.ledger import services
from bankcrm.ledger.models import FxRate, Product
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf(bank):
    services.ledger_bootstrap(actor=bank.admin)


def test_everyone_in_ledger_reads_the_shelf_with_rates(bank, shelf):
    r = login_client(bank.cm_a1).get("/ledger/setup/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "整存整取一年" in html and "1.10%" in html and "R5" in html and "7.120000" in html
    assert 'value="rate"' not in html and 'value="limit"' not in html  # no forms for a customer manager


def test_admin_sets_a_rate_and_a_bad_rate_is_refused(bank, shelf):
    admin = login_client(bank.admin)
    t1y = Product.objects.get(code="T-1Y")
    r = admin.post("/ledger/setup/", {"op": "rate", "product": t1y.pk, "rate": "1.2x", "effective_from": "2026-12-01"})
    assert r.status_code == 200 and "请输入百分比数字" in r.content.decode()
    r = admin.post("/ledger/setup/", {"op": "rate", "product": t1y.pk, "rate": "1.25", "effective_from": "2026-12-01"})
    assert r.status_code == 302
    from datetime import date

    assert services.rate_in_force(t1y.pk, date(2026, 12, 1)) == 125
    assert AuditEvent.objects.filter(verb="ledger.rate_set").exists()
    r = admin.post("/ledger/setup/", {"op": "fx", "currency": "USD", "rate": "7.0512", "effective_date": "2026-12-01"})
    assert r.status_code == 302 and FxRate.objects.get(effective_date=date(2026, 12, 1)).rate_micro == 7_051_200


def test_limit_change_goes_to_approval_and_operations_cannot_request_it(bank, shelf):
    r = login_client(bank.om_a1).post("/ledger/setup/", {"op": "limit", "channel": "api", "customer_kind": "person",
                                                         "per_txn": "1000", "per_day": "5000", "reason": "风险提示"})
    assert r.status_code == 403
    r = login_client(bank.supervisor_a).post("/ledger/setup/", {"op": "limit", "channel": "api", "customer_kind": "person",
                                                                "per_txn": "6000", "per_day": "5000", "reason": "x"})
    assert r.status_code == 200 and "单笔限额不能高于日累计限额" in r.content.decode()
    r = login_client(bank.supervisor_a).post("/ledger/setup/", {"op": "limit", "channel": "api", "customer_kind": "person",
                                                                "per_txn": "1000", "per_day": "5000", "reason": "风险提示"})
    assert r.status_code == 302
    assert PendingAction.objects.filter(action_code="ledger.limit", status="pending").count() == 1


def test_rates_through_the_api(bank, shelf):
    import json

    admin = login_client(bank.admin)
    r = admin.post("/api/v1/ledger/fx-rates/", data=json.dumps({"currency": "USD", "rate_micro": 7_100_000,
                                                                "effective_date": "2026-12-02"}),
                   content_type="application/json")
    assert r.status_code == 201, r.content
    assert login_client(bank.cm_a1).get("/api/v1/ledger/fx-rates/").json()[0]["rate_micro"] == 7_100_000
    t3y = Product.objects.get(code="T-3Y")
    r = admin.post(f"/api/v1/ledger/products/{t3y.pk}/rates/", data={"rate_bp": 175, "effective_from": "2026-12-02"},
                   content_type="application/json")
    assert r.status_code == 201
    r = login_client(bank.om_a1).post(f"/api/v1/ledger/products/{t3y.pk}/rates/",
                                      data={"rate_bp": 1, "effective_from": "2026-12-02"}, content_type="application/json")
    assert r.status_code == 403
