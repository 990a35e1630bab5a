"""Issue 5's browser walk: a posted cash deposit of CNY 50,000 raises a large-value alert in real time (the ledger
outbox → monitoring); a risk manager opens it from the alert list, makes a case, writes an investigation note and
closes the case as not suspicious; the alert still waits for the day's large-value report, which compliance then
generates (and reads the page in English). Screenshots in var/screenshots (risk-*.png)."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import shot
from tests.ledger_helpers import build_ledger

pytestmark = [pytest.mark.e2e]


def test_large_cash_deposit_alert_case_closed_then_reported(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.core import outbox
    from bankcrm.ledger import services as ledger
    from bankcrm.org import services as org_services
    from bankcrm.risk.demo import risk_bootstrap
    from bankcrm.risk.models import Alert, Case, RegulatoryReport
    from tests.conftest import PASSWORD

    base = live_server.url
    led = build_ledger(bank)
    risk_bootstrap(actor=bank.admin)
    checker = org_services.staff_create(actor=bank.admin, staff_no="OM003", name="韩复核", branch_id=bank.a1.pk,
                                        employment_type="employee", roles=["operations_manager"], password=PASSWORD)
    mv = ledger.cash_deposit_movement(actor=bank.om_a1, account_id=led.zhang_cny.pk, amount_fen=5_000_000,
                                      memo="现金存入")
    with transaction.atomic():
        entry = ledger.post(mv, maker=bank.om_a1, checker=checker)
    while outbox.consume("risk_monitor"):
        pass
    alert = Alert.objects.get()
    assert (alert.rule_code, alert.total_minor, alert.entry_ids, alert.source) == ("0501", 5_000_000, [entry.pk],
                                                                                   "realtime")

    risk_device = TOTPDevice.objects.create(user=bank.risk, name="phone", confirmed=True)
    page = browser_context()
    login_with_totp(page, base, "RK001", risk_device)
    page.click("nav >> text=监测预警")
    page.wait_for_selector("[data-testid=alert-table]")
    assert "0501" in page.inner_text("[data-testid=alert-table]")
    shot(page, "risk-alert-list")
    page.click("[data-testid=alert-link]")
    page.wait_for_selector("[data-testid=evidence]")
    evidence = page.inner_text("[data-testid=evidence]")
    assert entry.txn_no in evidence and "50,000.00" in evidence
    assert led.zhang_cny.number not in evidence  # account numbers masked
    assert page.is_visible("text=大额交易达到标准即须报告")  # a large-value alert cannot be excluded on its own
    shot(page, "risk-alert-detail")

    page.fill("#case-title", "张三丰大额现金存入核查")
    page.click("[data-testid=make-case]")
    page.wait_for_selector("[data-testid=case-status]")
    case = Case.objects.get()
    assert page.inner_text("[data-testid=case-status]") == "调查中"
    page.fill("[data-testid=note-text]", "已电话联系客户，系出售自有车辆所得现金，提供了车辆买卖合同。")
    page.click("[data-testid=add-note]")
    page.wait_for_selector("[data-testid=case-notes] >> text=出售自有车辆")
    shot(page, "risk-case-open")
    page.fill("[data-testid=close-reason]", "too short")
    page.click("[data-testid=close-case]")
    page.wait_for_selector(".alert-danger >> text=reason_required")  # the error names its stable code
    page.fill("[data-testid=close-reason]", "资金来源为出售自有车辆，有合同佐证，与客户身份相符，排除可疑。")
    page.click("[data-testid=close-case]")
    page.wait_for_selector("[data-testid=case-status] >> text=已结案（排除）")
    shot(page, "risk-case-closed")
    case.refresh_from_db()
    alert.refresh_from_db()
    assert case.status == "closed" and alert.status == "reviewing"  # still owed to the large-value report

    # The 360 page shows the risk panel with the open alert; the dashboard counts it.
    page.goto(f"{base}/customers/{led.zhang.pk}/")
    page.wait_for_selector("[data-testid=risk-panel]")
    assert f"A{alert.pk}" in page.inner_text("[data-testid=risk-panel]")
    page.click("nav >> text=风险看板")
    page.wait_for_selector("[data-testid=risk-kpis]")
    page.wait_for_load_state("load")
    shot(page, "risk-dashboard")

    # Compliance generates the day's large-value report; the alert is reported.
    compliance_device = TOTPDevice.objects.create(user=bank.compliance, name="phone", confirmed=True)
    page2 = browser_context("en-US")
    login_with_totp(page2, base, "CO001", compliance_device)
    page2.goto(base + "/risk/reports/")
    page2.wait_for_selector("[data-testid=make-large-report]")
    page2.click("[data-testid=make-large-report]")
    page2.wait_for_selector("[data-testid=report-download]")
    report = RegulatoryReport.objects.get()
    assert report.kind == "large" and report.records == 1
    alert.refresh_from_db()
    assert alert.status == "reported" and alert.report_id == report.pk
    with page2.expect_download() as dl:
        page2.click("[data-testid=report-download]")
    content = open(dl.value.path(), encoding="utf-8").read()
    assert "<AmlReport" in content and 'rule="0501"' in content and entry.txn_no in content
    shot(page2, "risk-reports")
    page2.click("[data-testid=lang-en]")
    page2.wait_for_selector("[data-testid=report-table]")
    assert "Regulatory reports" in page2.inner_text("h1, .title") or page2.is_visible("text=Large-value")
    shot(page2, "risk-reports-en")
