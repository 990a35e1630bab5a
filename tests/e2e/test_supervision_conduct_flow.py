"""Issue 10's second browser walk: a customer manager opens many customers' full numbers; the compliance manager
sees the conduct signal on the home page (detected on demand), opens it — its figures in words —, escalates it to a
finding; then, as an auditor, searches the audit explorer for that member of staff, verifies the chain and exports a
signed extract, which verifies offline and fails once a byte is changed. Screenshots in var/screenshots
(supervision-conduct-*.png, supervision-audit-*.png)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import shot

pytestmark = [pytest.mark.e2e]


def test_conduct_signal_escalated_and_audit_extract_verified(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.core import logs
    from bankcrm.core.models import ParameterVersion
    from bankcrm.supervision import audit_explorer as ax
    from bankcrm.supervision.models import Finding, SignalRecord

    base = live_server.url
    ParameterVersion.objects.create(code="conduct.unmask_day", value=5, reason="e2e", created_by=bank.admin,
                                    effective_from=timezone.now() - timedelta(days=1))
    for cid in range(101, 108):  # seven "show full number" reads today, threshold 5
        logs.access(actor=bank.cm_a1, view="customers.reveal", subject_type="customers.Customer", subject_ids=[cid],
                    fields=["id_number"], unmasked=True, reason="核实身份")
    device = TOTPDevice.objects.create(user=bank.compliance, name="phone", confirmed=True)

    co = browser_context()
    login_with_totp(co, base, "CO001", device)
    co.goto(f"{base}/supervision/conduct/")
    co.click("[data-testid=conduct-run]")
    co.wait_for_selector("[data-testid=signal-table] >> text=批量查看完整个人信息：7（阈值 5）")
    shot(co, "supervision-conduct-list")

    co.goto(f"{base}/")
    home = co.locator("[data-testid=home-conduct-signals]")
    assert "批量查看完整个人信息：7（阈值 5）" in home.inner_text()
    shot(co, "supervision-conduct-home")
    home.locator("li", has_text="批量查看完整个人信息").locator("a").click()  # (on a weekend, odd hours too)
    co.wait_for_selector("[data-testid=signal-detail]")
    detail = co.inner_text("[data-testid=signal-detail]")
    assert "查看完整个人信息次数" in detail and "预警阈值" in detail and "unmasked" not in detail
    co.click("[data-testid=review-escalate]")  # no note: refused next to the field, nothing written
    co.wait_for_selector("[data-testid=field-error-note]")
    assert not Finding.objects.exists()
    co.fill("#id_note", "当日无相应业务办理记录，批量查看完整证件号码")
    co.select_option("#id_severity", "high")
    co.click("[data-testid=review-escalate]")
    co.wait_for_selector("text=已升级为检查发现")
    rec = SignalRecord.objects.get(signal__staff=bank.cm_a1)
    f = Finding.objects.get(pk=rec.finding_id)
    assert f.staff_id == bank.cm_a1.pk and f.severity == "high" and f.owner_id == bank.supervisor_a.pk
    shot(co, "supervision-conduct-escalated")

    # The audit explorer: the escalation is in the trail; the chain verifies; the extract is signed.
    co.goto(f"{base}/supervision/audit/?actor=CO001")
    co.wait_for_selector("[data-testid=audit-table] >> text=supervision.conduct_signal_escalated")
    co.click("[data-testid=sv-verify-audit]")
    co.wait_for_selector("[data-testid=verify-result].alert-success")
    shot(co, "supervision-audit-explorer")
    with co.expect_download() as dl:
        co.click("[data-testid=audit-extract] button")
    data = open(dl.value.path(), "rb").read()
    body, sig = ax.read_extract(data)
    check = ax.verify_extract(body, sig)
    assert check.ok and check.signature_ok
    assert b"supervision.conduct_signal_escalated" in body
    tampered = body.replace(b'"supervision.conduct_signal_escalated"', b'"supervision.conduct_signal_reviewed"', 1)
    assert not ax.verify_extract(tampered, sig).ok
