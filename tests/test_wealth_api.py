"""Wealth REST API (/api/v1/wealth/…): every endpoint's happy path, bad input (400 with a Chinese message and a stable
code), refusals naming every rule, scope (another branch's objects are 404), capabilities (403), the sale flow end to
end through the API (public: propose → confirm → settled; private: held → cancel releases the hold), and
mass-assignment attempts that change nothing."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from bankcrm.core.models import AccessEvent, AuditEvent
from bankcrm.ledger.models import AccountHold
from bankcrm.wealth import aum, services
from bankcrm.wealth.models import Holding, ProductNav, ReturnVisit, Sale, WealthProduct
from tests.conftest import login_client
from tests.test_api import format_problems
from tests.wealth_helpers import CNY, build_wealth

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")
API = "/api/v1/wealth"


@pytest.fixture
def w(bank):
    return build_wealth(bank)


class Api:
    """A signed-in JSON client."""

    def __init__(self, staff):
        self.staff = staff
        self.client = login_client(staff)

    def get(self, url, **params):
        return self.client.get(url, data=params or None)

    def post(self, url, body=None, **headers):
        return self.client.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)

    def patch(self, url, body):
        return self.client.patch(url, data=json.dumps(body), content_type="application/json")


def err(r, status: int, code: str) -> dict:
    """Assert an error answer: status, stable code, Chinese message, the one error format."""
    assert r.status_code == status, (r.status_code, r.content.decode()[:500])
    body = r.json()
    assert body["error"]["code"] == code, body
    assert CJK.search(body["error"]["message"]), body
    assert format_problems(r) == []
    return body["error"]


def _balance(acc):
    acc.refresh_from_db()
    return acc.balance_fen, acc.held_fen


def propose(api: Api, w, customer, product: str, amount_yuan: int, **extra):
    acc = w.ledger.li_cny if customer == w.li else w.ledger.zhang_cny
    return api.post(f"{API}/sales/", {"customer_id": customer.pk, "product_id": w.products[product].pk,
                                      "account_id": acc.pk, "amount_fen": amount_yuan * CNY, **extra})


def certify_li(w):
    services.qualified_investor_certify(actor=w.bank.cm_a1, customer_id=w.li.pk, basis="income", experience_years=3,
                                        evidence="纳税记录 2023-2025")


def settled_sale(w, product: str = "R2", amount_yuan: int = 20_000) -> Sale:
    s = services.sale_propose(actor=w.bank.cm_a1, customer_id=w.li.pk, product_id=w.products[product].pk,
                              account_id=w.ledger.li_cny.pk, amount_fen=amount_yuan * CNY)
    services.sale_confirm(actor=w.bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    return Sale.objects.get(pk=s.pk)


# ---- Products -------------------------------------------------------------------------------------------------------
def test_product_list_filters_and_detail(w):
    cm = Api(w.bank.cm_a1)
    r = cm.get(f"{API}/products/")
    assert r.status_code == 200
    codes = {p["code"] for p in r.json()["results"]}
    assert {"WM-R2", "WM-R3", "WM-R4", "PE-R3", "TD-1Y"} <= codes
    assert {p["code"] for p in cm.get(f"{API}/products/", kind="deposit").json()["results"]} == {"TD-1Y"}
    assert {p["code"] for p in cm.get(f"{API}/products/", risk_level=3).json()["results"]} == {"WM-R3", "PE-R3"}
    assert codes == {p["code"] for p in cm.get(f"{API}/products/", on_sale="true").json()["results"]}
    assert cm.get(f"{API}/products/", on_sale="false").json()["results"] == []
    assert {p["status"] for p in cm.get(f"{API}/products/", status="on_shelf").json()["results"]} == {"on_shelf"}
    p = w.products["R3"]
    r = cm.get(f"{API}/products/{p.pk}/")
    assert r.status_code == 200
    d = r.json()
    assert d["code"] == "WM-R3" and d["level_label"] == "R3" and d["risk_disclosure"] and d["latest_nav_x10000"] == 10_000
    assert cm.get(f"{API}/products/{w.products['DEP'].pk}/").json()["latest_nav_x10000"] is None
    # bad filters are a 400 naming the parameter, not silently ignored
    e = err(cm.get(f"{API}/products/", risk_level=9), 400, "validation_failed")
    assert "risk_level" in e["fields"]
    e = err(cm.get(f"{API}/products/", kind="crypto"), 400, "validation_failed")
    assert "kind" in e["fields"]
    err(cm.get(f"{API}/products/999999/"), 404, "product_not_found")


def _new_product_body(**extra):
    today = timezone.localdate()
    return {"code": "WM-NEW", "name": "新款理财", "kind": "wealth", "issuer": "测试理财有限公司", "risk_level": 2,
            "min_amount_fen": 10_000 * CNY, "step_fen": 1_000 * CNY, "sales_start": today.isoformat(),
            "description": "产品说明书", "risk_disclosure": "风险揭示书", **extra}


def test_product_create_edit_and_shelf_through_approval(w):
    bank = w.bank
    admin = Api(bank.admin)
    r = admin.post(f"{API}/products/", _new_product_body(
        status="on_shelf", created_by=bank.cm_a1.pk, documents_version=9, id=1, created_at="2000-01-01T00:00:00Z"))
    assert r.status_code == 201, r.content
    d = r.json()
    p = WealthProduct.objects.get(code="WM-NEW")
    assert d["id"] == p.pk and d["status"] == "draft"
    assert (p.status, p.created_by_id, p.documents_version) == ("draft", bank.admin.pk, 1)
    # a customer manager does not see drafts
    err(Api(bank.cm_a1).get(f"{API}/products/{p.pk}/"), 404, "product_not_found")
    # PATCH changes only the given fields; status cannot be smuggled in
    r = admin.patch(f"{API}/products/{p.pk}/", {"name": "新款理财（改）", "status": "on_shelf", "documents_version": 7})
    assert r.status_code == 200 and r.json()["name"] == "新款理财（改）"
    p.refresh_from_db()
    assert (p.name, p.status, p.documents_version, p.risk_level) == ("新款理财（改）", "draft", 1, 2)
    err(admin.patch(f"{API}/products/{p.pk}/", {"status": "on_shelf"}), 400, "nothing_to_update")
    r = admin.patch(f"{API}/products/{p.pk}/", {"risk_disclosure": "风险揭示书（第二版）"})
    assert r.json()["documents_version"] == 2
    # shelf: 202 with the approval id, then a second person approves through the approvals API
    r = admin.post(f"{API}/products/{p.pk}/shelf/", {"action": "on", "status": "on_shelf"})
    assert r.status_code == 202, r.content
    approval_id = r.json()["approval_id"]
    assert r.json()["status"] == "pending_approval"
    p.refresh_from_db()
    assert p.status == "pending_on"
    err(admin.patch(f"{API}/products/{p.pk}/", {"name": "改不了"}), 409, "product_not_editable")
    r = Api(bank.compliance).post(f"/api/v1/approvals/{approval_id}/approve/", {"reason": "文件齐全"})
    assert r.status_code == 200, r.content
    p.refresh_from_db()
    assert p.status == "on_shelf"
    assert "WM-NEW" in {x["code"] for x in Api(bank.cm_a1).get(f"{API}/products/", on_sale="true").json()["results"]}
    # taking it off needs a reason
    err(admin.post(f"{API}/products/{p.pk}/shelf/", {"action": "off"}), 400, "reason_required")
    err(admin.post(f"{API}/products/{p.pk}/shelf/", {"action": "sideways", "reason": "x"}), 400, "validation_failed")
    err(admin.post(f"{API}/products/{p.pk}/shelf/", {"action": "on"}), 409, "product_state")
    assert admin.post(f"{API}/products/{p.pk}/shelf/", {"action": "off", "reason": "产品到期停售"}).status_code == 202


def test_product_bad_input_is_400_with_fields(w):
    admin = Api(w.bank.admin)
    e = err(admin.post(f"{API}/products/", {"name": "缺字段"}), 400, "validation_failed")
    assert {"code", "kind", "issuer", "risk_level", "sales_start"} <= set(e["fields"])
    e = err(admin.post(f"{API}/products/", _new_product_body(kind="deposit", risk_level=3)), 400, "product_invalid")
    assert {"risk_level", "ledger_product"} <= set(e["fields"])
    e = err(admin.post(f"{API}/products/", _new_product_body(code="WM-R2")), 400, "product_code_taken")
    assert "code" in e["fields"]
    e = err(admin.post(f"{API}/products/", _new_product_body(min_amount_fen=-5)), 400, "validation_failed")
    assert "min_amount_fen" in e["fields"]
    err(admin.post(f"{API}/products/", _new_product_body(sales_start="2026-13-01")), 400, "validation_failed")
    r = admin.client.post(f"{API}/products/", data="{oops", content_type="application/json")
    err(r, 400, "malformed_request")
    assert not WealthProduct.objects.filter(code="WM-NEW").exists()


def test_product_writes_need_their_capability(w):
    cm = Api(w.bank.cm_a1)
    p = w.products["R2"]
    err(cm.post(f"{API}/products/", _new_product_body()), 403, "permission_denied")
    err(cm.patch(f"{API}/products/{p.pk}/", {"name": "x"}), 403, "permission_denied")
    err(cm.post(f"{API}/products/{p.pk}/shelf/", {"action": "off", "reason": "x"}), 403, "permission_denied")
    err(cm.post(f"{API}/products/{p.pk}/navs/", {"nav_date": timezone.localdate().isoformat(), "nav_x10000": 10_100}),
        403, "permission_denied")
    p.refresh_from_db()
    assert p.status == "on_shelf" and not ProductNav.objects.exists()


# ---- NAVs and distributions -----------------------------------------------------------------------------------------
def test_nav_list_set_and_bad_input(w):
    om = Api(w.bank.om_a1)
    p = w.products["R2"]
    today = timezone.localdate()
    r = om.post(f"{API}/products/{p.pk}/navs/", {"nav_date": (today - timedelta(days=1)).isoformat(), "nav_x10000": 10_050})
    assert r.status_code == 201 and r.json()["nav_x10000"] == 10_050
    r = om.post(f"{API}/products/{p.pk}/navs/", {"nav_date": today.isoformat(), "nav_x10000": 10_123})
    assert r.status_code == 201
    r = om.post(f"{API}/products/{p.pk}/navs/", {"nav_date": today.isoformat(), "nav_x10000": 10_120})  # same-day fix
    assert r.status_code == 201
    rows = Api(w.bank.cm_a1).get(f"{API}/products/{p.pk}/navs/").json()["results"]
    assert [(x["nav_date"], x["nav_x10000"]) for x in rows] == [(today.isoformat(), 10_120),
                                                                ((today - timedelta(days=1)).isoformat(), 10_050)]
    assert Api(w.bank.cm_a1).get(f"{API}/products/{p.pk}/").json()["latest_nav_x10000"] == 10_120
    err(om.post(f"{API}/products/{p.pk}/navs/", {"nav_date": (today + timedelta(days=1)).isoformat(), "nav_x10000": 1}),
        400, "nav_date_invalid")
    e = err(om.post(f"{API}/products/{p.pk}/navs/", {"nav_date": today.isoformat(), "nav_x10000": 0}), 400,
            "validation_failed")
    assert "nav_x10000" in e["fields"]
    err(om.post(f"{API}/products/{w.products['DEP'].pk}/navs/", {"nav_date": today.isoformat(), "nav_x10000": 10_000}),
        409, "product_not_nav_based")
    err(om.get(f"{API}/products/999999/navs/"), 404, "product_not_found")


def test_income_distribution_pays_each_holder_once(w):
    sale = settled_sale(w)
    om = Api(w.bank.om_a1)
    p = w.products["R2"]
    body = {"record_date": timezone.localdate().isoformat(), "per_unit_x10000": 100}  # 0.01 yuan per unit
    bal0, _h = _balance(w.ledger.li_cny)
    r = om.post(f"{API}/products/{p.pk}/distributions/", body)
    assert r.status_code == 200, r.content
    expected = sale.units_x100 * 100 // 10_000
    assert r.json() == {"holders": 1, "paid": 1, "total_fen": expected}
    assert _balance(w.ledger.li_cny)[0] - bal0 == expected
    # again (a retried request or a double click): nobody is paid twice; with a key the first answer comes back
    assert om.post(f"{API}/products/{p.pk}/distributions/", body).json()["paid"] == 0
    # a "corrected" amount for the same record date pays nobody again either; with a key the first answer comes back
    r1 = om.post(f"{API}/products/{p.pk}/distributions/", {**body, "per_unit_x10000": 50}, HTTP_IDEMPOTENCY_KEY="dist-key-0001")
    r2 = om.post(f"{API}/products/{p.pk}/distributions/", {**body, "per_unit_x10000": 50}, HTTP_IDEMPOTENCY_KEY="dist-key-0001")
    assert r1.json() == r2.json() and r1.json()["paid"] == 0 and r2["Idempotent-Replayed"] == "true"
    assert _balance(w.ledger.li_cny)[0] - bal0 == expected
    events = Api(w.bank.cm_a1).get(f"{API}/products/{p.pk}/distributions/").json()
    assert [e["total_fen"] for e in events] == [expected]
    err(om.post(f"{API}/products/{p.pk}/distributions/", {"record_date": "2999-01-01", "per_unit_x10000": 1}), 400,
        "record_date_invalid")
    err(om.post(f"{API}/products/{w.products['DEP'].pk}/distributions/", body), 409, "product_not_nav_based")
    err(Api(w.bank.cm_a1).post(f"{API}/products/{p.pk}/distributions/", body), 403, "permission_denied")


# ---- Point-of-sale check --------------------------------------------------------------------------------------------
def test_pos_check_lists_every_violation_and_requirement(w):
    cm = Api(w.bank.cm_a1)
    body = {"customer_id": w.li.pk, "product_id": w.products["R4"].pk, "amount_fen": 5_000 * CNY,
            "customer_initiated": False}
    r = cm.post(f"{API}/pos-check/", body)
    assert r.status_code == 200
    d = r.json()
    codes = [v["code"] for v in d["violations"]]
    assert d["allowed"] is False and {"suitability_level_too_low", "amount_below_minimum"} <= set(codes)
    assert all(CJK.search(v["message"]) for v in d["violations"]) and d["investor_level"] == 3
    # the 78-year-old buying R3: the recording is required, and once given the check passes
    body = {"customer_id": w.zhang.pk, "product_id": w.products["R3"].pk, "amount_fen": 50_000 * CNY}
    d = cm.post(f"{API}/pos-check/", body).json()
    assert d["allowed"] is False and [v["code"] for v in d["violations"]] == ["suitability_recording_required"]
    assert d["requirements"]["recording"] and d["requirements"]["enhanced_disclosure"]
    rec = {"recording_id": "SL-0001", "booth": "甲一支行双录区1",
           "recorded_at": (timezone.now() - timedelta(minutes=3)).isoformat()}
    d = cm.post(f"{API}/pos-check/", {**body, "recording": rec}).json()
    assert d["allowed"] is True and d["violations"] == []
    assert any(str(w.zhang.pk) in e.subject_ids for e in AccessEvent.objects.filter(view="wealth.api_pos_check"))
    # bad input and scope
    e = err(cm.post(f"{API}/pos-check/", {**body, "amount_fen": 0}), 400, "validation_failed")
    assert "amount_fen" in e["fields"]
    e = err(cm.post(f"{API}/pos-check/", {**body, "recording": {"recording_id": "x"}}), 400, "validation_failed")
    assert any(k.startswith("recording") for k in e["fields"])
    err(Api(w.bank.cm_b1).post(f"{API}/pos-check/", body), 404, "customer_not_found")
    err(Api(w.bank.risk).post(f"{API}/pos-check/", body), 403, "permission_denied")
    assert not Sale.objects.exists()


# ---- Sales ----------------------------------------------------------------------------------------------------------
def test_public_sale_flow_through_the_api(w):
    bank, led = w.bank, w.ledger
    cm = Api(bank.cm_a1)
    r = propose(cm, w, w.li, "R2", 20_000)
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["status"] == "proposed" and d["check_result"]["allowed"] and d["seller_id"] == bank.cm_a1.pk
    assert d["customer_name"] == "李小龙"  # in full to the manager, in a single object
    bal0, _h = _balance(led.li_cny)
    r = cm.post(f"{API}/sales/{d['id']}/confirm/", {"disclosure_confirmed": True})
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["status"] == "settled" and d["entry_txn_no"] and d["units_x100"] == 20_000 * CNY
    assert d["disclosure_confirmed_at"] and d["disclosure_method"] == "counter_signature" and d["hold_ref"]
    assert d["return_visit"]["status"] == "open" and d["return_visit"]["assignee_id"] != bank.cm_a1.pk
    assert _balance(led.li_cny) == (bal0 - 20_000 * CNY, 0)
    # the evidence is in the detail, the list masks names and filters
    d = cm.get(f"{API}/sales/{d['id']}/").json()
    assert d["account"].count("*") and d["investor_level"] == 3 and d["product_level"] == 2 and d["assessment_id"]
    rows = cm.get(f"{API}/sales/").json()["results"]
    assert [x["number"] for x in rows] == [d["number"]] and rows[0]["customer_name"] == "李**"
    for params, n in [({"status": "settled"}, 1), ({"status": "open"}, 0), ({"customer_id": w.li.pk}, 1),
                      ({"customer_id": w.zhang.pk}, 0), ({"product_id": w.products["R2"].pk}, 1),
                      ({"product_id": w.products["R3"].pk}, 0), ({"seller_id": bank.cm_a1.pk}, 1),
                      ({"seller_id": bank.om_a1.pk}, 0)]:
        assert cm.get(f"{API}/sales/", **params).json()["count"] == n, params
    err(cm.get(f"{API}/sales/", status="lost"), 400, "validation_failed")
    err(cm.get(f"{API}/sales/", customer_id="abc"), 400, "validation_failed")
    assert AccessEvent.objects.filter(view="wealth.api_sale_list", channel="api").exists()
    assert Holding.objects.get(customer=w.li, product=w.products["R2"]).units_x100 == 20_000 * CNY
    # a settled sale cannot be confirmed, withdrawn or cancelled again
    err(cm.post(f"{API}/sales/{d['id']}/confirm/", {"disclosure_confirmed": True}), 409, "sale_state")
    err(cm.post(f"{API}/sales/{d['id']}/withdraw/", {"reason": "不买了"}), 409, "sale_state")
    err(cm.post(f"{API}/sales/{d['id']}/cancel/", {"reason": "不买了"}), 409, "sale_state")


def test_list_filters_beyond_the_id_range_list_nothing(w):
    """R11 found `holdings/?customer_id=142873758549735604035289780844662620160` answered 500 (SQLite cannot bind it)."""
    settled_sale(w)
    cm = Api(w.bank.cm_a1)
    huge = "142873758549735604035289780844662620160"
    for url in (f"{API}/holdings/", f"{API}/sales/"):
        r = cm.get(url, customer_id=huge)
        assert r.status_code == 200 and r.json()["results"] == [], url
        assert cm.get(url, product_id=huge).json()["results"] == []
    assert cm.get(f"{API}/holdings/").json()["results"] != []


def test_elderly_sale_asks_for_the_recording(w):
    cm = Api(w.bank.cm_a1)
    r = propose(cm, w, w.zhang, "R3", 50_000)
    assert r.status_code == 201 and r.json()["recording_required"] is True
    sid = r.json()["id"]
    e = err(cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": True}), 409, "suitability_recording_required")
    assert [v["code"] for v in e["params"]["violations"]] == ["suitability_recording_required"]
    assert Sale.objects.get(pk=sid).status == "proposed" and not AccountHold.objects.exists()
    err(cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": False}), 400, "disclosure_not_confirmed")
    err(cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": True, "disclosure_method": "telepathy"}), 400,
        "validation_failed")
    r = cm.post(f"{API}/sales/{sid}/confirm/", {
        "disclosure_confirmed": True, "disclosure_method": "e_signature", "recording_id": "SL-0001",
        "recording_booth": "甲一支行双录区1", "recorded_at": (timezone.now() - timedelta(minutes=5)).isoformat()})
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["status"] == "settled" and d["recording_id"] == "SL-0001" and d["recording_booth"] == "甲一支行双录区1"
    assert d["enhanced_disclosure"] is True and d["recorded_at"]


def test_refused_proposal_lists_every_violation_and_keeps_its_audit_event(w):
    from bankcrm.customers.services import consent_withdraw

    consent = w.li.consents.get(purpose="marketing")
    consent_withdraw(actor=w.bank.cm_a1, customer_id=w.li.pk, consent_id=consent.pk, reason="客户撤回营销同意")
    cm = Api(w.bank.cm_a1)
    r = propose(cm, w, w.li, "R4", 5_000)
    e = err(r, 409, "amount_below_minimum")
    codes = [v["code"] for v in e["params"]["violations"]]
    assert {"amount_below_minimum", "suitability_level_too_low", "marketing_consent_missing"} <= set(codes)
    assert all(CJK.search(v["message"]) for v in e["params"]["violations"])
    assert not Sale.objects.exists()
    ev = AuditEvent.objects.filter(verb="wealth.pos_checked").order_by("-seq").first()
    assert ev is not None and ev.after["allowed"] is False and set(ev.after["violations"]) == set(codes)
    # customer-initiated: the consent rule no longer applies, the others still do
    e = err(propose(cm, w, w.li, "R4", 50_000, customer_initiated=True), 409, "suitability_level_too_low")
    assert [v["code"] for v in e["params"]["violations"]] == ["suitability_level_too_low"]


def test_propose_bad_input(w):
    cm = Api(w.bank.cm_a1)
    e = err(cm.post(f"{API}/sales/", {"customer_id": w.li.pk}), 400, "validation_failed")
    assert {"product_id", "account_id", "amount_fen"} <= set(e["fields"])
    e = err(propose(cm, w, w.li, "R2", -1), 400, "validation_failed")
    assert "amount_fen" in e["fields"]
    body = {"customer_id": w.li.pk, "product_id": w.products["R2"].pk, "account_id": w.ledger.zhang_cny.pk,
            "amount_fen": 20_000 * CNY}
    e = err(cm.post(f"{API}/sales/", body), 400, "account_invalid")  # not the customer's own account
    assert "account" in e["fields"]
    err(cm.post(f"{API}/sales/", {**body, "product_id": 999999}), 400, "product_not_found")
    err(cm.post(f"{API}/sales/", {**body, "customer_id": w.ledger.wang.pk}), 404, "customer_not_found")
    assert not Sale.objects.exists()


def test_private_sale_is_held_then_cancel_releases_exactly_the_hold(w):
    bank, led = w.bank, w.ledger
    cm = Api(bank.cm_a1)
    e = err(propose(cm, w, w.li, "PRIV", 1_000_000, customer_initiated=True), 409, "qualified_investor_required")
    assert "qualified_investor_required" in [v["code"] for v in e["params"]["violations"]]
    err(cm.post(f"{API}/customers/{w.li.pk}/qualified-investor/", {}), 400, "validation_failed")
    r = cm.post(f"{API}/customers/{w.li.pk}/qualified-investor/", {"basis": "income", "experience_years": 3,
                                                                    "evidence": "纳税记录 2023-2025"})
    assert r.status_code == 201
    r = propose(cm, w, w.li, "PRIV", 1_000_000, customer_initiated=True)
    assert r.status_code == 201, r.content
    sid = r.json()["id"]
    assert r.json()["qualified_investor_id"]
    bal0, held0 = _balance(led.li_cny)
    r = cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": True, "status": "settled", "hold_ref": "HACK",
                                                "cooling_off_ends_at": "2000-01-01T00:00:00Z", "units_x100": 1})
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["status"] == "held" and d["hold_ref"] == f"wealth.sale:{sid}" and d["units_x100"] is None
    assert datetime.fromisoformat(d["cooling_off_ends_at"]) > timezone.now()
    bal1, held1 = _balance(led.li_cny)
    assert bal1 == bal0 and held1 - held0 == 1_000_000 * CNY
    err(cm.post(f"{API}/sales/{sid}/cancel/", {"reason": ""}), 400, "reason_required")
    r = cm.post(f"{API}/sales/{sid}/cancel/", {"reason": "客户冷静期内申请撤销"}, HTTP_IDEMPOTENCY_KEY="cancel-key-0001")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "cancelled" and r.json()["end_reason"] == "客户冷静期内申请撤销"
    again = cm.post(f"{API}/sales/{sid}/cancel/", {"reason": "客户冷静期内申请撤销"}, HTTP_IDEMPOTENCY_KEY="cancel-key-0001")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true" and again.json() == r.json()
    err(cm.post(f"{API}/sales/{sid}/cancel/", {"reason": "again"}), 409, "sale_state")
    assert _balance(led.li_cny) == (bal0, held0)
    assert AccountHold.objects.get(ref=f"wealth.sale:{sid}").status == AccountHold.Status.RELEASED
    assert not Holding.objects.filter(customer=w.li, product=w.products["PRIV"]).exists()


def test_withdraw_a_proposal(w):
    cm = Api(w.bank.cm_a1)
    sid = propose(cm, w, w.li, "R3", 20_000).json()["id"]
    assert "reason" in err(cm.post(f"{API}/sales/{sid}/withdraw/", {}), 400, "reason_required")["fields"]
    err(cm.post(f"{API}/sales/{sid}/withdraw/", {"reason": "   "}), 400, "reason_required")
    err(cm.post(f"{API}/sales/{sid}/withdraw/", {"reason": "x" * 201}), 400, "validation_failed")
    r = cm.post(f"{API}/sales/{sid}/withdraw/", {"reason": "客户暂不考虑", "status": "settled"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["ended_by_id"] == w.bank.cm_a1.pk
    err(cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": True}), 409, "sale_state")


def test_confirm_with_an_idempotency_key_replays_the_first_answer(w):
    cm = Api(w.bank.cm_a1)
    sid = propose(cm, w, w.li, "R2", 20_000).json()["id"]
    r1 = cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": True}, HTTP_IDEMPOTENCY_KEY="confirm-0001")
    r2 = cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": True}, HTTP_IDEMPOTENCY_KEY="confirm-0001")
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json() and r1.json()["status"] == "settled"
    assert r2["Idempotent-Replayed"] == "true"
    err(cm.post(f"{API}/sales/{sid}/confirm/", {"disclosure_confirmed": True, "disclosure_method": "e_signature"},
                HTTP_IDEMPOTENCY_KEY="confirm-0001"), 409, "idempotency_key_reused")
    assert Sale.objects.get(pk=sid).status == "settled" and AccountHold.objects.count() == 1


def test_sale_mass_assignment_is_ignored(w):
    bank = w.bank
    cm = Api(bank.cm_a1)
    hostile = {"status": "settled", "seller_id": bank.om_a1.pk, "seller": bank.om_a1.pk, "branch_path": "/999/",
               "hold_ref": "HACK", "entry": 1, "entry_id": 1, "units_x100": 10**9, "nav_x10000": 1, "fee_fen": 0,
               "number": "WS-HACK", "investor_level": 5, "product_level": 1, "recording_required": False,
               "check_result": {"allowed": True}, "settled_at": "2000-01-01T00:00:00Z", "id": 12345}
    r = propose(cm, w, w.zhang, "R3", 50_000, **hostile)
    assert r.status_code == 201, r.content
    s = Sale.objects.get(pk=r.json()["id"])
    assert (s.status, s.seller_id, s.branch_path, s.hold_ref, s.entry_id, s.units_x100, s.nav_x10000) == (
        "proposed", bank.cm_a1.pk, w.zhang.branch.path, "", None, None, None)
    assert s.number != "WS-HACK" and s.pk != 12345 and s.investor_level == 4 and s.product_level == 3
    assert s.recording_required is True and s.fee_fen == w.products["R3"].subscribe_fee_bp * s.amount_fen // 10_000
    # the recording requirement cannot be switched off from the confirmation body either
    err(cm.post(f"{API}/sales/{s.pk}/confirm/", {"disclosure_confirmed": True, "recording_required": False}), 409,
        "suitability_recording_required")
    # the holding's units cannot be set through a redemption body
    sale = settled_sale(w)
    h = Holding.objects.get(customer=w.li, product=sale.product)
    r = cm.post(f"{API}/holdings/{h.pk}/redeem/", {"units_x100": 100, "nav_x10000": 10**6, "gross_fen": 10**12},
                HTTP_IDEMPOTENCY_KEY="redeem-mass-0001")
    assert r.status_code == 201 and r.json()["nav_x10000"] == 10_000 and r.json()["gross_fen"] == 100


# ---- Holdings -------------------------------------------------------------------------------------------------------
def test_holdings_list_detail_value_and_redeem(w):
    bank, led = w.bank, w.ledger
    sale = settled_sale(w)
    services.nav_set(actor=bank.om_a1, product_id=sale.product_id, nav_date=timezone.localdate(), nav_x10000=11_000)
    cm = Api(bank.cm_a1)
    rows = cm.get(f"{API}/holdings/", customer_id=w.li.pk).json()["results"]
    assert len(rows) == 1
    h = rows[0]
    assert h["units_x100"] == sale.units_x100 and h["nav_x10000"] == 11_000
    assert h["value_fen"] == sale.units_x100 * 11_000 // 10_000 and h["gain_fen"] == h["value_fen"] - h["cost_fen"]
    assert h["customer_name"] == "李**" and h["payout_account"].count("*")
    assert cm.get(f"{API}/holdings/", customer_id=w.zhang.pk).json()["count"] == 0
    assert cm.get(f"{API}/holdings/", status="closed").json()["count"] == 0
    err(cm.get(f"{API}/holdings/", status="gone"), 400, "validation_failed")
    d = cm.get(f"{API}/holdings/{h['id']}/").json()
    assert d["customer_name"] == "李小龙" and d["redemptions"] == [] and d["payouts"] == []
    # redeem: a key is required (money leaves the product), the answer replays, the account is credited
    err(cm.post(f"{API}/holdings/{h['id']}/redeem/", {"units_x100": 1_000 * 100}), 400, "idempotency_key_required")
    err(cm.post(f"{API}/holdings/{h['id']}/redeem/", {"units_x100": 0}, HTTP_IDEMPOTENCY_KEY="redeem-0000"), 400,
        "validation_failed")
    err(cm.post(f"{API}/holdings/{h['id']}/redeem/", {"units_x100": sale.units_x100 + 1},
                HTTP_IDEMPOTENCY_KEY="redeem-0001"), 400, "units_exceed")
    bal0, _ = _balance(led.li_cny)
    r = cm.post(f"{API}/holdings/{h['id']}/redeem/", {"units_x100": 1_000 * 100}, HTTP_IDEMPOTENCY_KEY="redeem-0002")
    assert r.status_code == 201, r.content
    red = r.json()
    assert red["gross_fen"] == 1_000 * 100 * 11_000 // 10_000 and red["net_fen"] == red["gross_fen"] - red["fee_fen"]
    again = cm.post(f"{API}/holdings/{h['id']}/redeem/", {"units_x100": 1_000 * 100}, HTTP_IDEMPOTENCY_KEY="redeem-0002")
    assert again.status_code == 201 and again.json() == red and again["Idempotent-Replayed"] == "true"
    assert _balance(led.li_cny)[0] - bal0 == red["net_fen"]
    d = cm.get(f"{API}/holdings/{h['id']}/").json()
    assert d["units_x100"] == sale.units_x100 - 1_000 * 100 and [x["id"] for x in d["redemptions"]] == [red["id"]]
    # closed-end and deposit holdings cannot be redeemed; capability
    dep = settled_sale(w, "DEP", 10_000)
    hd = Holding.objects.get(customer=w.li, product=dep.product)
    err(cm.post(f"{API}/holdings/{hd.pk}/redeem/", {"units_x100": 100}, HTTP_IDEMPOTENCY_KEY="redeem-0003"), 409,
        "not_redeemable")
    err(Api(bank.risk).post(f"{API}/holdings/{h['id']}/redeem/", {"units_x100": 100}, HTTP_IDEMPOTENCY_KEY="redeem-0004"),
        403, "permission_denied")
    assert AccessEvent.objects.filter(view="wealth.api_holding_list").exists()


# ---- Return visits --------------------------------------------------------------------------------------------------
def test_return_visit_list_detail_and_record(w):
    bank = w.bank
    sale = settled_sale(w)
    visit = ReturnVisit.objects.get(sale=sale)
    assignee = Api(visit.assignee)
    assert visit.assignee_id != bank.cm_a1.pk
    rows = assignee.get(f"{API}/return-visits/").json()["results"]
    assert [x["id"] for x in rows] == [visit.pk] and rows[0]["customer_name"] == "李**"
    assert rows[0]["seller_id"] == bank.cm_a1.pk
    assert assignee.get(f"{API}/return-visits/", scope="done").json()["count"] == 0
    err(assignee.get(f"{API}/return-visits/", scope="everything"), 400, "validation_failed")
    d = assignee.get(f"{API}/return-visits/{visit.pk}/").json()
    assert d["sale_number"] == sale.number and d["understood_risk"] is None
    # the seller sees no such task (and could not record it)
    assert Api(bank.cm_a1).get(f"{API}/return-visits/").json()["count"] == 0
    err(Api(bank.cm_a1).post(f"{API}/return-visits/{visit.pk}/record/", {"reached": True}), 404, "return_visit_not_found")
    # bad input: answers missing, a problem without notes
    e = err(assignee.post(f"{API}/return-visits/{visit.pk}/record/", {"reached": True, "understood_product": True}), 400,
            "answers_required")
    assert {"understood_risk", "voluntary", "received_documents"} <= set(e["fields"])
    answers = {"reached": True, "understood_product": True, "understood_risk": True, "voluntary": True,
               "received_documents": True}
    err(assignee.post(f"{API}/return-visits/{visit.pk}/record/", {**answers, "understood_risk": False}), 400,
        "notes_required")
    err(assignee.post(f"{API}/return-visits/{visit.pk}/record/", {"reached": "maybe"}), 400, "validation_failed")
    # not reached: one more attempt
    r = assignee.post(f"{API}/return-visits/{visit.pk}/record/", {"reached": False, "notes": "无人接听"})
    assert r.status_code == 200 and r.json()["attempts"] == 1 and r.json()["status"] == "open"
    r = assignee.post(f"{API}/return-visits/{visit.pk}/record/", {**answers, "notes": "客户清楚产品及风险",
                                                                  "status": "done", "outcome": "ok", "complaint_id": 5})
    assert r.status_code == 200, r.content
    d = r.json()
    assert d["status"] == "done" and d["outcome"] == "ok" and d["complaint_id"] is None and d["understood_risk"] is True
    err(assignee.post(f"{API}/return-visits/{visit.pk}/record/", answers), 409, "return_visit_done")
    assert Api(bank.cm_a1).get(f"{API}/sales/{sale.pk}/").json()["return_visit"]["outcome"] == "ok"


def test_return_visit_with_a_problem_opens_a_feedback_case(w):
    sale = settled_sale(w)
    visit = ReturnVisit.objects.get(sale=sale)
    r = Api(visit.assignee).post(f"{API}/return-visits/{visit.pk}/record/", {
        "reached": True, "understood_product": True, "understood_risk": False, "voluntary": True,
        "received_documents": True, "notes": "客户表示不清楚产品可能亏损本金"})
    assert r.status_code == 200 and r.json()["outcome"] == "problem" and r.json()["complaint_id"]


# ---- Qualified investors --------------------------------------------------------------------------------------------
def test_qualified_investor_list_and_certify(w):
    cm = Api(w.bank.cm_a1)
    url = f"{API}/customers/{w.li.pk}/qualified-investor/"
    assert cm.get(url).json() == []
    e = err(cm.post(url, {"basis": "income", "experience_years": 1, "evidence": "纳税记录"}), 400, "qualified_invalid")
    assert "experience_years" in e["fields"]
    e = err(cm.post(url, {"basis": "company", "experience_years": 3, "evidence": "纳税记录"}), 400, "qualified_invalid")
    assert "basis" in e["fields"]
    err(cm.post(url, {"basis": "lottery", "experience_years": 3, "evidence": "纳税记录"}), 400, "validation_failed")
    r = cm.post(url, {"basis": "assets", "experience_years": 4, "evidence": "资产证明 2025-001",
                      "verified_by": w.bank.admin.pk, "valid_until": "2099-12-31"})
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["verified_by_id"] == w.bank.cm_a1.pk and d["current"] is True and d["valid_until"] != "2099-12-31"
    assert [x["id"] for x in cm.get(url).json()] == [d["id"]]
    assert AccessEvent.objects.filter(view="wealth.api_qualified_investor").exists()
    err(Api(w.bank.cm_b1).get(url), 404, "customer_not_found")
    err(Api(w.bank.cm_b1).post(url, {"basis": "assets", "experience_years": 4, "evidence": "资产证明"}), 404,
        "customer_not_found")
    err(Api(w.bank.risk).post(url, {"basis": "assets", "experience_years": 4, "evidence": "资产证明"}), 403,
        "permission_denied")


# ---- AUM ------------------------------------------------------------------------------------------------------------
def test_aum_figures_and_customer_history(w):
    bank = w.bank
    settled_sale(w)
    today = timezone.localdate()
    aum.snapshot_run(day=today - timedelta(days=1))
    aum.snapshot_run(day=today)
    cm = Api(bank.cm_a1)
    d = cm.get(f"{API}/aum/").json()
    assert d["day"] == today.isoformat()
    assert {t["tier"] for t in d["by_tier"]} == {"mass", "affluent", "private"}
    assert sum(t["customers"] for t in d["by_tier"]) == 2  # zhang and li, the customers cm_a1 manages
    assert [m["manager_id"] for m in d["by_manager"]] == [bank.cm_a1.pk]
    assert len(d["trend"]) == 2 and d["trend"][-1]["wealth_fen"] == 20_000 * CNY
    sup = Api(bank.supervisor_a).get(f"{API}/aum/", day=(today - timedelta(days=1)).isoformat(), days=7).json()
    assert sup["day"] == (today - timedelta(days=1)).isoformat() and sup["by_branch"]
    other = Api(bank.supervisor_b).get(f"{API}/aum/").json()
    assert all(not b["branch_path"].startswith(bank.a.path) for b in other["by_branch"])
    err(cm.get(f"{API}/aum/", days=0), 400, "validation_failed")
    err(cm.get(f"{API}/aum/", day="yesterday"), 400, "validation_failed")
    h = cm.get(f"{API}/customers/{w.li.pk}/aum/").json()
    assert h["customer_id"] == w.li.pk and [p["day"] for p in h["history"]] == [
        (today - timedelta(days=1)).isoformat(), today.isoformat()]
    assert h["history"][-1]["wealth_fen"] == 20_000 * CNY
    assert AccessEvent.objects.filter(view="wealth.api_customer_aum").exists()
    err(Api(bank.cm_b1).get(f"{API}/customers/{w.li.pk}/aum/"), 404, "customer_not_found")
    err(Api(bank.om_a1).get(f"{API}/aum/"), 403, "permission_denied")
    err(Api(bank.om_a1).get(f"{API}/customers/{w.li.pk}/aum/"), 403, "permission_denied")


def test_aum_without_snapshots_is_empty(w):
    d = Api(w.bank.cm_a1).get(f"{API}/aum/").json()
    assert d == {"day": None, "by_tier": [], "by_manager": [], "by_branch": [], "trend": []}


# ---- Scope and capabilities -----------------------------------------------------------------------------------------
def test_another_branchs_objects_are_404_and_lists_exclude_them(w):
    bank = w.bank
    sale = settled_sale(w)
    held = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=w.products["R3"].pk,
                                 account_id=w.ledger.li_cny.pk, amount_fen=20_000 * CNY)
    visit = ReturnVisit.objects.get(sale=sale)
    holding = Holding.objects.get(customer=w.li)
    for outsider in (bank.cm_b1, bank.supervisor_b, bank.om_b1):
        api = Api(outsider)
        err(api.get(f"{API}/sales/{sale.pk}/"), 404, "sale_not_found")
        err(api.get(f"{API}/holdings/{holding.pk}/"), 404, "holding_not_found")
        err(api.get(f"{API}/return-visits/{visit.pk}/"), 404, "return_visit_not_found")
        assert api.get(f"{API}/sales/").json()["count"] == 0
        assert api.get(f"{API}/holdings/", status="all").json()["count"] == 0
        assert api.get(f"{API}/return-visits/", scope="open").json()["count"] == 0
    cm_b = Api(bank.cm_b1)
    err(cm_b.post(f"{API}/sales/{held.pk}/confirm/", {"disclosure_confirmed": True}), 404, "sale_not_found")
    err(cm_b.post(f"{API}/sales/{held.pk}/withdraw/", {"reason": "越权"}), 404, "sale_not_found")
    err(cm_b.post(f"{API}/sales/{held.pk}/cancel/", {"reason": "越权"}), 404, "sale_not_found")
    err(cm_b.post(f"{API}/holdings/{holding.pk}/redeem/", {"units_x100": 100}, HTTP_IDEMPOTENCY_KEY="foreign-0001"), 404,
        "holding_not_found")
    err(Api(bank.om_b1).post(f"{API}/return-visits/{visit.pk}/record/", {"reached": False}), 404, "return_visit_not_found")
    assert Sale.objects.get(pk=held.pk).status == "proposed"
    assert ReturnVisit.objects.get(pk=visit.pk).attempts == 0
    # the supervisor of branch A sees them all
    sup = Api(bank.supervisor_a)
    assert sup.get(f"{API}/sales/{sale.pk}/").status_code == 200
    assert sup.get(f"{API}/sales/").json()["count"] == 2


def test_capability_missing_is_403(w):
    bank = w.bank
    sale = settled_sale(w)
    visit = ReturnVisit.objects.get(sale=sale)
    risk = Api(bank.risk)  # sees wealth, may not sell, redeem, certify or record return visits
    assert risk.get(f"{API}/sales/{sale.pk}/").status_code == 200
    err(propose(risk, w, w.li, "R2", 20_000), 403, "permission_denied")
    err(risk.post(f"{API}/sales/{sale.pk}/withdraw/", {"reason": "x"}), 403, "permission_denied")
    err(risk.post(f"{API}/return-visits/{visit.pk}/record/", {"reached": False}), 403, "permission_denied")
    admin2 = Api(bank.admin2)  # administrators maintain the shelf but do not sell
    err(admin2.post(f"{API}/pos-check/", {"customer_id": w.li.pk, "product_id": 1, "amount_fen": 1}), 403,
        "permission_denied")
    from django.test import Client

    r = Client().get(f"{API}/sales/")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    # an intern (a team member of zhang's) may sell ordinary products, but not R4/R5 or private ones
    from bankcrm.customers.services import manager_assign

    manager_assign(actor=bank.supervisor_a, customer_id=w.zhang.pk, staff_id=bank.intern.pk, role="team", reason="协办")
    intern = Api(bank.intern)
    d = intern.post(f"{API}/pos-check/", {"customer_id": w.zhang.pk, "product_id": w.products["R4"].pk,
                                          "amount_fen": 50_000 * CNY}).json()
    assert set(v["code"] for v in d["violations"]) == {"seller_high_risk_not_allowed", "suitability_recording_required"}
    d = intern.post(f"{API}/pos-check/", {"customer_id": w.zhang.pk, "product_id": w.products["R2"].pk,
                                          "amount_fen": 50_000 * CNY}).json()
    assert d["allowed"] is True
