"""The product shelf (issue #6: products put on and taken off the shelf with approval): every field error of
`product_save`; on-shelf and off-shelf requests approved, rejected, cancelled, expired or failing at execution (the
approvals ``on_not_executed`` hook puts the product back); documents changed after the request; and only products
on the shelf and in their sales period can be proposed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.approvals import services as approvals
from bankcrm.approvals.models import PendingAction
from bankcrm.core.errors import PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.ledger.models import Product
from bankcrm.wealth import selectors, services
from bankcrm.wealth.models import Sale, WealthProduct
from tests.helpers import audit_seq, verbs_since
from tests.wealth_helpers import CNY, build_wealth, product

pytestmark = pytest.mark.django_db
P = WealthProduct.Status


@pytest.fixture
def w(bank):
    return build_wealth(bank)


def valid(**kw) -> dict:
    today = timezone.localdate()
    f = dict(code="WM-T1", name="稳健理财一号", kind="wealth", issuer="测试理财有限公司", risk_level=2,
             min_amount_fen=10_000 * CNY, step_fen=1_000 * CNY, sales_start=today, description="产品说明书正文",
             risk_disclosure="风险揭示书正文")
    f.update(kw)
    return f


def t1y() -> int:
    return Product.objects.get(code="T-1Y").pk


FIELD_ERRORS = {
    "kind": [dict(kind="crypto")],
    "code": [dict(code=""), dict(code="  "), dict(code="X" * 21)],
    "name": [dict(name=""), dict(name="   ")],
    "issuer": [dict(issuer="")],
    "risk_level": [dict(risk_level=0), dict(risk_level=6),
                   dict(kind="deposit", risk_level=2, ledger_product_id="T1Y")],
    "ledger_product": [dict(kind="deposit", risk_level=0), dict(kind="deposit", risk_level=0, ledger_product_id="DCNY"),
                       dict(kind="deposit", risk_level=0, ledger_product_id="T1Y", currency="USD")],
    "private": [dict(kind="deposit", risk_level=0, ledger_product_id="T1Y", private=True),
                dict(kind="insurance", risk_level=1, open_ended=False, maturity_date="+3650", private=True)],
    "currency": [dict(currency="EUR")],
    "min_amount_fen": [dict(min_amount_fen=0), dict(min_amount_fen=-100)],
    "step_fen": [dict(step_fen=0)],
    "sales_start": [dict(sales_start=None)],
    "sales_end": [dict(sales_end="-1")],
    "maturity_date": [dict(sales_end="+10", maturity_date="+10"), dict(maturity_date="+0"), dict(open_ended=False),
                      dict(kind="insurance", risk_level=1, open_ended=False)],
    "open_ended": [dict(kind="insurance", risk_level=1, open_ended=True, maturity_date="+3650")],
    "risk_disclosure": [dict(private=True, risk_disclosure="  ")],
    "subscribe_fee_bp": [dict(subscribe_fee_bp=501)],
    "redeem_fee_bp": [dict(redeem_fee_bp=501)],
}


def _resolve(kw: dict) -> dict:
    today = timezone.localdate()
    out = {}
    for k, v in kw.items():
        if v == "T1Y":
            v = t1y()
        elif v == "DCNY":
            v = Product.objects.get(code="D-CNY").pk
        elif isinstance(v, str) and k in ("sales_end", "maturity_date") and v[0] in "+-":
            v = today + timedelta(days=int(v))
        out[k] = v
    return out


@pytest.mark.parametrize("field", list(FIELD_ERRORS))
def test_product_save_names_each_field_error(w, field):
    bank = w.bank
    for kw in FIELD_ERRORS[field]:
        seq = audit_seq()
        n = WealthProduct.objects.count()
        with pytest.raises(ValidationFailed) as e:
            services.product_save(actor=bank.admin, **valid(**_resolve(kw)))
        assert set(e.value.fields) == {field}, (kw, e.value.fields)
        assert all(str(m).strip() for m in e.value.fields[field])
        assert e.value.message  # one readable sentence naming the problem
        assert WealthProduct.objects.count() == n and verbs_since(seq) == []


def test_product_save_creates_edits_and_versions_documents(w):
    bank = w.bank
    seq = audit_seq()
    p = services.product_save(actor=bank.admin, **valid(code=" WM-T2 ", name=" 稳健理财二号 "))
    assert (p.code, p.name, p.status, p.documents_version, p.created_by_id) == ("WM-T2", "稳健理财二号", P.DRAFT, 1,
                                                                                bank.admin.pk)
    assert verbs_since(seq) == ["wealth.product_saved"]
    with pytest.raises(ValidationFailed) as e:
        services.product_save(actor=bank.admin, **valid(code="WM-T2"))
    assert e.value.code == "product_code_taken" and set(e.value.fields) == {"code"}
    p = services.product_save(actor=bank.admin, product_id=p.pk, name="稳健理财二号A")
    assert p.documents_version == 1  # no document changed
    p = services.product_save(actor=bank.admin, product_id=p.pk, risk_disclosure="新版风险揭示书")
    assert p.documents_version == 2
    with pytest.raises(ValidationFailed) as e:  # no mass assignment of the state or the maker
        services.product_save(actor=bank.admin, product_id=p.pk, status="on_shelf", created_by_id=bank.cm_a1.pk)
    assert e.value.code == "unknown_fields"
    p.refresh_from_db()
    assert p.status == P.DRAFT and p.created_by_id == bank.admin.pk
    d = services.product_save(actor=bank.admin, **valid(code="TD-T", kind="deposit", risk_level=0,
                                                        ledger_product_id=t1y(), open_ended=True))
    assert d.open_ended is False  # a time deposit cannot be redeemed before maturity
    for actor in (bank.cm_a1, bank.compliance, bank.supervisor_a):
        with pytest.raises(PermissionDenied):
            services.product_save(actor=actor, **valid(code="WM-T9"))
    assert not WealthProduct.objects.filter(code="WM-T9").exists()


def _pending(p) -> PendingAction:
    return PendingAction.objects.get(target_type="wealth.WealthProduct", target_id=str(p.pk), status="pending")


def test_shelf_on_request_approved(w):
    bank = w.bank
    p = services.product_save(actor=bank.admin, **valid())
    seq = audit_seq()
    r = services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    p.refresh_from_db()
    assert r["status"] == "pending_approval" and p.status == P.PENDING_ON
    assert not selectors.products_on_sale(bank.cm_a1).filter(pk=p.pk).exists()
    with pytest.raises(PermissionDenied):  # an approver, but not of the shelf
        approvals.approval_approve(actor=bank.admin2, pending_id=r["approval_id"])
    with pytest.raises(RuleViolation):  # a second request while one is pending
        services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    with pytest.raises(RuleViolation) as e:  # not editable while pending
        services.product_save(actor=bank.admin, product_id=p.pk, name="改名")
    assert e.value.code == "product_not_editable"
    pa = approvals.approval_approve(actor=bank.compliance, pending_id=r["approval_id"])
    p.refresh_from_db()
    assert pa.status == "executed" and p.status == P.ON_SHELF
    assert "wealth.shelf_requested" in verbs_since(seq) and "wealth.product_shelved" in verbs_since(seq)
    assert selectors.products_on_sale(bank.cm_a1).filter(pk=p.pk).exists()
    with pytest.raises(RuleViolation) as e:
        services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    assert e.value.code == "product_state"


@pytest.mark.parametrize("how", ["reject", "cancel", "expire", "execution_fails"])
def test_shelf_on_not_executed_puts_the_product_back(w, how):
    bank = w.bank
    p = services.product_save(actor=bank.admin, **valid())
    r = services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    if how == "reject":
        approvals.approval_reject(actor=bank.compliance, pending_id=r["approval_id"], reason="说明书不完整")
    elif how == "cancel":
        approvals.approval_cancel(actor=bank.admin, pending_id=r["approval_id"], reason="撤回修改")
    elif how == "expire":
        assert approvals.approvals_expire_due(now=timezone.now() + timedelta(days=30)) >= 1
    else:
        # the documents changed after the request (no service edits a pending product: a direct change stands for
        # any path that might): the approval fails and the product goes back
        WealthProduct.objects.filter(pk=p.pk).update(risk_disclosure="偷换的风险揭示书",
                                                     documents_version=p.documents_version + 1)
        pa = approvals.approval_approve(actor=bank.compliance, pending_id=r["approval_id"])
        assert pa.status == "failed" and pa.result["error"]["code"] == "documents_changed"
    p.refresh_from_db()
    assert p.status == P.DRAFT
    assert PendingAction.objects.get(pk=r["approval_id"]).status != "pending"
    # and it can be edited and requested again
    services.product_save(actor=bank.admin, product_id=p.pk, risk_disclosure="风险揭示书（修订）")
    r2 = services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    assert approvals.approval_approve(actor=bank.compliance, pending_id=r2["approval_id"]).status == "executed"
    p.refresh_from_db()
    assert p.status == P.ON_SHELF


def test_shelf_off_request(w):
    bank = w.bank
    p = w.products["R3"]
    with pytest.raises(ValidationFailed) as e:
        services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="off", reason=" ")
    assert e.value.code == "reason_required"
    with pytest.raises(ValidationFailed):
        services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="sideways", reason="x")
    r = services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="off", reason="产品停售")
    p.refresh_from_db()
    assert p.status == P.PENDING_OFF
    approvals.approval_reject(actor=bank.compliance, pending_id=r["approval_id"], reason="仍在销售期")
    p.refresh_from_db()
    assert p.status == P.ON_SHELF  # back on the shelf, not to draft
    r = services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="off", reason="产品停售")
    approvals.approval_approve(actor=bank.compliance, pending_id=r["approval_id"])
    p.refresh_from_db()
    assert p.status == P.OFF_SHELF
    assert not selectors.products_on_sale(bank.cm_a1).filter(pk=p.pk).exists()
    assert selectors.products_visible(bank.cm_a1).filter(pk=p.pk).exists()  # still listed (holdings refer to it)
    p = services.product_save(actor=bank.admin, product_id=p.pk, description="新版说明书")  # editable when off
    assert p.documents_version == 2
    r = services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    approvals.approval_approve(actor=bank.compliance, pending_id=r["approval_id"])
    p.refresh_from_db()
    assert p.status == P.ON_SHELF


def test_shelf_on_request_checks_documents_and_sales_period(w):
    bank = w.bank
    today = timezone.localdate()
    p = services.product_save(actor=bank.admin, **valid(description=""))
    with pytest.raises(RuleViolation) as e:
        services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    assert e.value.code == "documents_missing"
    p = services.product_save(actor=bank.admin, **valid(code="WM-OLD", sales_start=today - timedelta(days=30),
                                                        sales_end=today - timedelta(days=1)))
    with pytest.raises(RuleViolation) as e:
        services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
    assert e.value.code == "sales_period_over"
    assert set(WealthProduct.objects.filter(code__in=["WM-T1", "WM-OLD"]).values_list("status", flat=True)) == {P.DRAFT}
    assert not PendingAction.objects.filter(target_type="wealth.WealthProduct", status="pending").exists()
    with pytest.raises(PermissionDenied):
        services.product_shelf_request(actor=bank.cm_a1, product_id=p.pk, action="on")


def test_only_products_on_the_shelf_and_in_their_sales_period_can_be_proposed(w):
    bank, led = w.bank, w.ledger
    today = timezone.localdate()
    draft = product(bank, "WM-DR", level=2, shelve=False)
    pending = product(bank, "WM-PD", level=2, shelve=False)
    services.product_shelf_request(actor=bank.admin, product_id=pending.pk, action="on")
    off = product(bank, "WM-OF", level=2)
    r = services.product_shelf_request(actor=bank.admin, product_id=off.pk, action="off", reason="停售")
    approvals.approval_approve(actor=bank.compliance, pending_id=r["approval_id"])
    future = product(bank, "WM-FU", level=2, sales_start=today + timedelta(days=1))
    ended = product(bank, "WM-EN", level=2, sales_end=today + timedelta(days=20))
    WealthProduct.objects.filter(pk=ended.pk).update(sales_start=today - timedelta(days=30),
                                                     sales_end=today - timedelta(days=1))  # time has passed
    last_day = product(bank, "WM-LD", level=2, sales_end=today)
    first_day = product(bank, "WM-FD", level=2, sales_start=today)
    cases = {draft: "product_not_on_shelf", pending: "product_not_on_shelf", off: "product_not_on_shelf",
             future: "product_not_in_sales_period", ended: "product_not_in_sales_period", last_day: None,
             first_day: None, w.products["R2"]: None}
    seq = audit_seq()
    for p, code in cases.items():
        if code is None:
            s = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=p.pk, account_id=led.li_cny.pk,
                                      amount_fen=10_000 * CNY)
            assert s.status == Sale.Status.PROPOSED
            continue
        n = Sale.objects.count()
        with pytest.raises(RuleViolation) as e:
            services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=p.pk, account_id=led.li_cny.pk,
                                  amount_fen=10_000 * CNY)
        assert e.value.code == code and [v["code"] for v in e.value.params["violations"]] == [code], p.code
        assert Sale.objects.count() == n
    # every refusal is on the record (the check that refused), and nothing else was written
    assert verbs_since(seq).count("wealth.pos_checked") == 5
    on_sale = set(selectors.products_on_sale(bank.cm_a1).values_list("code", flat=True))
    assert on_sale == {"WM-R2", "WM-R3", "WM-R4", "PE-R3", "TD-1Y", "WM-LD", "WM-FD"}
    visible = set(selectors.products_visible(bank.cm_a1).values_list("code", flat=True))
    assert "WM-DR" not in visible and "WM-PD" not in visible and "WM-OF" in visible
    # a product taken off the shelf after the proposal: confirming is refused too
    s = Sale.objects.get(product=last_day)
    r = services.product_shelf_request(actor=bank.admin, product_id=last_day.pk, action="off", reason="停售")
    approvals.approval_approve(actor=bank.compliance, pending_id=r["approval_id"])
    with pytest.raises(RuleViolation) as e:
        services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    assert e.value.code == "product_not_on_shelf"
    s.refresh_from_db()
    assert s.status == Sale.Status.PROPOSED and not s.hold_ref
