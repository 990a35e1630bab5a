"""Issue 11's browser walk through management reports: the branch supervisor opens 管理报表 → 分支机构经营情况,
picks last year's second quarter, reads the charts and the table, clicks a figure (new customers) through to the
records behind it, opens a record, comes back and exports the report to Excel; then subscribes to it as a monthly
file and generates the last period. Screenshots in var/screenshots (reports-*.png)."""

from __future__ import annotations

import io

import pytest

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import shot
from tests.test_reports_figures import make_world

pytestmark = [pytest.mark.e2e]


@pytest.fixture(autouse=True)
def _reports_dir(settings, tmp_path):
    settings.BANKCRM_REPORTS_DIR = str(tmp_path / "reports")


def test_supervisor_filters_drills_exports_and_subscribes(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from openpyxl import load_workbook

    from bankcrm.reports.models import ReportRun

    base = live_server.url
    world = make_world(bank)
    dev = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)
    sv = browser_context()
    login_with_totp(sv, base, "SV101", dev)
    sv.click("text=报表中心")
    sv.wait_for_selector("[data-testid=report-list]")
    shot(sv, "reports-index")
    sv.click("[data-testid=report-card-branch_performance]")
    sv.wait_for_selector("[data-testid=report-filter]")
    sv.select_option("#id_period", world.P.key)
    sv.click("[data-testid=report-apply]")
    sv.wait_for_selector(f"[data-testid=report-period]:has-text('{world.y}年第2季度')")
    sv.wait_for_selector("#chart-aum canvas")
    assert "甲分行及下辖机构" in sv.inner_text("[data-testid=report-scope]")
    total = sv.locator("[data-testid=table-branches] [data-testid=total]")
    assert total.locator("[data-col=new_customers]").inner_text() == "2"
    assert total.locator("[data-col=aum]").inner_text() == "10.60"  # 10,600,000 fen = 106,000.00 元 = 10.60 万元
    assert "乙一支行" not in sv.inner_text("[data-testid=table-branches]")
    shot(sv, "reports-branch-performance")

    # a figure → the records behind it → a record
    total.locator("[data-col=new_customers]").click()
    sv.wait_for_selector("[data-testid=records]")
    assert sv.inner_text("[data-testid=records-count]") == "2"
    rows = sv.inner_text("[data-testid=records]")
    assert "张**" in rows and "李**" in rows and "张三丰" not in rows
    shot(sv, "reports-records")
    sv.click("[data-testid=record-link] >> nth=0")
    sv.wait_for_url("**/customers/*/")
    sv.go_back()
    sv.click("[data-testid=records-back]")
    sv.wait_for_selector(f"[data-testid=report-period]:has-text('{world.y}年第2季度')")

    # export to Excel
    with sv.expect_download() as dl:
        sv.click("[data-testid=export-xlsx]")
    assert dl.value.suggested_filename == f"branch_performance-{world.P.key}.xlsx"
    content = open(dl.value.path(), "rb").read()
    assert content[:2] == b"PK"
    rows = {r[0]: r[1:] for r in load_workbook(io.BytesIO(content))["按机构"].iter_rows(values_only=True)}
    assert rows["合计"][1] == 2

    # the other reports of the same quarter, for the eye
    for code in ("customer_growth", "satisfaction", "complaints", "risk_profile", "training"):
        sv.goto(f"{base}/reports/{code}/?period={world.P.key}")
        sv.wait_for_selector("[data-testid=headline]")
        sv.wait_for_selector(".rp-chart canvas")
        shot(sv, f"reports-{code.replace('_', '-')}")

    # subscribe to it as a monthly file and generate the last period now
    sv.goto(f"{base}/reports/branch_performance/?period={world.P.key}")
    sv.click("[data-testid=subscribe]")
    sv.wait_for_selector("[data-testid=schedule-form]")
    sv.select_option("#id_frequency", "monthly")
    sv.click("[data-testid=schedule-save]")
    sv.wait_for_selector("[data-testid=schedule-run]")
    sv.click("[data-testid=schedule-run]")
    sv.wait_for_selector("[data-testid=run-row]")
    shot(sv, "reports-schedule")
    with sv.expect_download() as dl:
        sv.click("[data-testid=run-download]")
    assert open(dl.value.path(), "rb").read(2) == b"PK"
    assert ReportRun.objects.get().status == "done"
