"""Issue 10's browser walk: the compliance manager opens the regulation coverage matrix, drills into a control with a
new exception (an identity card that expired since the nightly run), raises a finding from it; the branch supervisor
(the finding's owner) adds a rectification action, records it done with evidence and submits; the compliance manager
re-checks and closes it. Screenshots in var/screenshots (supervision-*.png)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import shot
from tests.ledger_helpers import build_ledger

pytestmark = [pytest.mark.e2e]


def test_matrix_exception_finding_rectified_and_closed(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.customers import services as cs
    from bankcrm.supervision import controls
    from bankcrm.supervision.coverage_services import clauses_install_default
    from bankcrm.supervision.models import Finding

    base = live_server.url
    led = build_ledger(bank)
    clauses_install_default()
    cs.customer_update(actor=bank.cm_a1, customer_id=led.li.pk, occupation="教师")
    cs.customer_update(actor=bank.cm_a1, customer_id=led.zhang.pk, occupation="退休")
    controls.controls_run(actor=bank.compliance)  # last night's run: wang (B1) still lacks an occupation
    cs.customer_update(actor=bank.cm_a1, customer_id=led.zhang.pk,
                       id_expires_on=timezone.localdate() - timedelta(days=3))  # expired since the run
    co_dev = TOTPDevice.objects.create(user=bank.compliance, name="phone", confirmed=True)
    sv_dev = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)

    # The compliance manager reads the matrix and drills into the exception.
    co = browser_context()
    login_with_totp(co, base, "CO001", co_dev)
    co.wait_for_selector("[data-testid=supervision-home]")
    co.click("text=制度覆盖矩阵")
    co.wait_for_selector("[data-testid=matrix]")
    co.wait_for_selector("#chart-exceptions canvas")
    assert co.locator("[data-testid=clause-row]").count() == 25
    shot(co, "supervision-matrix")
    co.click("[data-testid=control-chip][data-control=id_document_expired] >> nth=0")
    co.wait_for_selector("[data-testid=exceptions]")
    row = co.locator(f"[data-testid=exception-row][data-target='{led.zhang.pk}']")
    assert "张**" in row.inner_text() and "张三丰" not in co.content()
    shot(co, "supervision-control")
    row.locator("[data-testid=raise-finding]").click()
    co.wait_for_selector("[data-testid=finding-status]")
    f = Finding.objects.get(control="id_document_expired")
    assert f.owner_id == bank.supervisor_a.pk
    assert "待整改" in co.inner_text("[data-testid=finding-status]")
    shot(co, "supervision-finding-raised")

    # The branch supervisor finds it in the inbox and rectifies it.
    sv = browser_context()
    login_with_totp(sv, base, "SV101", sv_dev)
    sv.goto(f"{base}/inbox/")
    sv.click(f"text={f.number}")
    sv.wait_for_selector("[data-testid=action-form]")
    sv.fill("#id_action", "联系客户到网点更新身份证件信息")
    sv.click("[data-testid=action-add]")
    sv.wait_for_selector("[data-testid=done-form]")
    sv.fill("[data-testid=evidence]", "客户已于网点出示新身份证，已更新有效期并复印存档")
    sv.click("[data-testid=action-done]")
    sv.wait_for_selector("[data-testid=submit-rectified]")
    sv.click("[data-testid=submit-rectified]")
    sv.wait_for_selector("[data-testid=finding-status]:has-text('待复查')")
    assert sv.locator("[data-testid=close-form]").count() == 0  # the owner never closes
    shot(sv, "supervision-rectified")

    # The compliance manager re-checks and closes it.
    co.goto(f"{base}/supervision/findings/{f.pk}/")
    co.wait_for_selector("[data-testid=recheck-form]")
    co.fill("[data-testid=recheck-note]", "已核对新证件复印件")
    co.click("[data-testid=recheck-submit]")
    co.wait_for_selector("[data-testid=action-status]:has-text('复查通过')")
    co.fill("#id_note", "整改到位")
    co.click("[data-testid=close-finding]")
    co.wait_for_selector("[data-testid=finding-status]:has-text('已关闭')")
    shot(co, "supervision-closed")
    f.refresh_from_db()
    assert f.status == "closed" and f.closed_by_id == bank.compliance.pk
    co.goto(f"{base}/supervision/findings/?status=closed")
    co.wait_for_selector("[data-testid=finding-row]")
    shot(co, "supervision-findings")
