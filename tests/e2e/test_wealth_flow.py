"""Issue 6's browser walk: a customer manager sells an R3 wealth product to a 70-year-old C4 customer from the
customer's 360 page — the point-of-sale check passes rule by rule but asks for the 双录 recording; at the customer's
confirmation the page refuses without the recording reference, the manager enters it and the sale settles, with its
evidence on one page. Another member of staff (the return-visit assignee, never the seller) finds the visit in the
queue and records it. Screenshots in var/screenshots (wealth-*.png)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import login, shot
from tests.ledger_helpers import fund, ric
from tests.wealth_helpers import CNY, assess, build_wealth

pytestmark = [pytest.mark.e2e]


def seventy_year_old(bank):
    """A customer of A1 managed by CM001, aged 70, assessed C4, funded, with marketing consent."""
    from bankcrm.customers import services as customer_services
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Product

    today = timezone.localdate()
    born = date(today.year - 70, today.month, 1) - timedelta(days=31)
    c = customer_services.customer_register(actor=bank.cm_a1, kind="person", name="赵桂芳", id_type="resident_id",
                                            id_number=ric(born.strftime("%Y%m%d"), "042"), mobile="13912345678",
                                            branch_id=bank.a1.pk, primary_manager_id=bank.cm_a1.pk)
    acc = ledger.account_open(actor=bank.om_a1, customer_id=c.pk, product_id=Product.objects.get(code="D-CNY").pk)
    fund(acc, 300_000 * CNY, teller=bank.om_a1)
    assess(bank, c, 4)
    customer_services.consent_grant(actor=bank.cm_a1, customer_id=c.pk, purpose="marketing", channel="branch",
                                    evidence="营销同意书")
    c.refresh_from_db()
    return c, acc


def test_elderly_r3_sale_with_recording_then_return_visit(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.core import access
    from bankcrm.risk.rules_suitability import age_on
    from bankcrm.wealth.models import Holding, ReturnVisit, Sale

    base = live_server.url
    w = build_wealth(bank)
    customer, acc = seventy_year_old(bank)
    assert age_on(customer.birth_date, timezone.localdate()) == 70
    r3 = w.products["R3"]

    # The customer manager starts from the customer's 360 page.
    cm = browser_context()
    login(cm, base, "CM001")
    cm.wait_for_selector("[data-testid=welcome]")
    cm.goto(f"{base}/customers/{customer.pk}/")
    cm.wait_for_selector("[data-testid=wealth-panel]")
    cm.click("[data-testid=new-sale]")
    cm.wait_for_selector("[data-testid=product-choices]")
    assert "70 周岁" in cm.inner_text("[data-testid=sale-customer]")
    assert cm.inner_text("[data-testid=investor-level]") == "C4"
    assert acc.masked_number in cm.inner_text("[data-testid=account-select]")
    cm.check(f"[data-testid=product-{r3.code}]")
    cm.fill("[data-testid=amount]", "50000")
    shot(cm, "wealth-01-propose")
    cm.click("[data-testid=sale-check]")
    cm.wait_for_selector("[data-testid=pos-result]")
    assert cm.get_attribute("[data-testid=rule-level]", "data-status") == "ok"
    assert cm.get_attribute("[data-testid=rule-assessment]", "data-status") == "ok"
    assert cm.get_attribute("[data-testid=rule-recording]", "data-status") == "todo"
    assert "双录" in cm.inner_text("[data-testid=req-recording]")
    shot(cm, "wealth-02-pos-check")
    cm.click("[data-testid=sale-propose]")
    cm.wait_for_selector("[data-testid=sale-status]")
    sale = Sale.objects.get()
    assert cm.inner_text("[data-testid=sale-status]") == "待客户确认" and sale.recording_required
    shot(cm, "wealth-03-proposed")

    # The customer confirms the risk disclosure; without the 双录 reference the sale does not go through.
    cm.click("[data-testid=go-confirm]")
    cm.wait_for_selector("[data-testid=risk-disclosure]")
    assert cm.locator("[data-testid=enhanced-disclosure]").is_visible()
    cm.check("[data-testid=disclosure-confirmed]")
    cm.click("[data-testid=confirm-submit]")
    cm.wait_for_selector("[data-testid=field-error-recording_id]")
    sale.refresh_from_db()
    assert sale.status == "proposed" and not sale.hold_ref
    shot(cm, "wealth-04-recording-asked")
    cm.check("[data-testid=disclosure-confirmed]")
    cm.fill("[data-testid=recordingid]", "SL-A1-20260315-0007")
    cm.fill("[data-testid=recordingbooth]", "甲一支行双录区1号")
    cm.fill("[data-testid=recorded-at]", (timezone.localtime() - timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M"))
    cm.click("[data-testid=confirm-submit]")
    cm.wait_for_selector("[data-testid=evidence]")
    assert cm.inner_text("[data-testid=sale-status]") == "已成交"
    sale.refresh_from_db()
    assert sale.status == "settled" and sale.recording_id == "SL-A1-20260315-0007" and sale.entry_id
    evidence = cm.inner_text("[data-testid=evidence]")
    for piece in ("SL-A1-20260315-0007", "甲一支行双录区1号", "柜面签字确认", sale.entry.txn_no, "C4", "加强风险揭示"):
        assert piece in evidence, piece
    shot(cm, "wealth-05-sale-evidence")

    # The return visit goes to someone else; the seller cannot open it.
    visit = ReturnVisit.objects.get(sale=sale)
    assert visit.assignee_id != bank.cm_a1.pk
    cm.goto(f"{base}/wealth/return-visits/{visit.pk}/")
    assert "回访任务不存在" in cm.content()
    assignee = visit.assignee
    other = browser_context()
    if access.requires_totp(assignee):
        device = TOTPDevice.objects.create(user=assignee, name="phone", confirmed=True)
        login_with_totp(other, base, assignee.staff_no, device)
    else:
        login(other, base, assignee.staff_no)
        other.wait_for_selector("[data-testid=welcome]")
    other.click("nav >> text=回访任务")
    other.wait_for_selector("[data-testid=visit-table]")
    assert sale.number in other.inner_text("[data-testid=visit-table]")
    shot(other, "wealth-06-visit-queue")
    other.click("[data-testid=visit-open]")
    other.wait_for_selector("[data-testid=visit-form]")
    other.check("[data-testid=reached-yes]")
    for q in ("understood_product", "understood_risk", "voluntary", "received_documents"):
        other.check(f"[data-testid={q}-yes]")
    other.fill("#id_notes", "客户确认了解产品为中风险、可能亏损本金，系本人自愿购买，已收到产品说明书和风险揭示书。")
    shot(other, "wealth-07-visit-form")
    other.click("[data-testid=visit-submit]")
    other.wait_for_selector("[data-testid=visit-result]")
    assert other.inner_text("[data-testid=visit-outcome]") == "无异议"
    visit.refresh_from_db()
    assert (visit.status, visit.outcome, visit.complaint_id) == ("done", "ok", None)
    shot(other, "wealth-08-visit-done")

    # The customer's 360 panel and the holdings list show the new holding.
    cm.goto(f"{base}/customers/{customer.pk}/")
    cm.wait_for_selector("[data-testid=wealth-panel]")
    panel = cm.inner_text("[data-testid=wealth-panel]")
    assert r3.name in panel and sale.number in panel and "50,000.00" in panel
    cm.locator("[data-testid=wealth-panel]").scroll_into_view_if_needed()
    shot(cm, "wealth-09-panel")
    cm.goto(f"{base}/wealth/sales/{sale.pk}/")
    assert "已完成" in cm.inner_text("[data-testid=ev-visit]")
    h = Holding.objects.get(customer=customer)
    cm.goto(f"{base}/wealth/holdings/{h.pk}/")
    cm.wait_for_selector("[data-testid=redeem-form]")
    cm.fill("[data-testid=redeem-units]", "1000")
    assert cm.inner_text("#est-gross") == "1,000.00"
    shot(cm, "wealth-10-holding")
    cm.click("nav >> text=理财销售")
    cm.wait_for_selector("[data-testid=sale-table]")
    assert sale.number in cm.inner_text("[data-testid=sale-table]")
    shot(cm, "wealth-11-sales-list")
    cm.click("nav >> text=持仓查询")
    cm.wait_for_selector("[data-testid=holding-table]")
    assert r3.name in cm.inner_text("[data-testid=holding-table]")
    shot(cm, "wealth-12-holdings")
