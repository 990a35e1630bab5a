"""Browser flow of inspections and access reviews: the compliance manager records a sampled record's checklist (a
"no" raises a finding), the supervisor of branch A revokes a role with a reason. Screenshots in var/screenshots
(supervision-inspection-*.png, supervision-access-review-*.png)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import shot
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.e2e


def test_inspection_and_access_review(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.org.models import RoleAssignment
    from bankcrm.supervision import access_review_services as arsvc
    from bankcrm.supervision import inspection_services as svc
    from bankcrm.supervision.models import ChecklistTemplate, Finding, SampleItem

    base = live_server.url
    led = build_ledger(bank)
    for _i in range(3):
        fund(led.zhang_cny, 100_000, teller=bank.om_a1)
    svc.templates_install_default()
    today = timezone.localdate()
    insp = svc.inspection_create(actor=bank.compliance, branch_id=bank.a.pk,
                                 template_id=ChecklistTemplate.objects.get(code="branch-crm").pk,
                                 period_start=today - timedelta(days=30), period_end=today, sample_customers=2,
                                 sample_transactions=2, sample_complaints=1)
    svc.inspection_sample(actor=bank.compliance, inspection_id=insp.pk)
    co_device = TOTPDevice.objects.create(user=bank.compliance, name="phone", confirmed=True)
    sv_device = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)

    page = browser_context()
    login_with_totp(page, base, "CO001", co_device)
    page.goto(f"{base}/supervision/inspections/{insp.pk}/")
    item = insp.items.filter(kind="transaction").first()
    page.click(f"#item-{item.pk} summary")
    for c in insp.template.checks("transaction"):
        page.check(f"#item-{item.pk} [data-testid=check_{c['code']}-{'no' if c['code'] == 'T02' else 'yes'}]")
    page.fill(f"#item-{item.pk} textarea", "大额交易未见复核人签章")
    page.click(f"#item-{item.pk} [data-testid=item-save]")
    page.wait_for_selector("[data-testid=finding-row]")
    assert SampleItem.objects.get(pk=item.pk).result == "fail"
    assert Finding.objects.filter(inspection=insp).count() == 1
    page.click(f"#item-{insp.items.filter(kind='customer').first().pk} summary")
    shot(page, "supervision-inspection-detail")
    page.goto(f"{base}/supervision/inspections/")
    shot(page, "supervision-inspection-list")

    arsvc.access_reviews_open()
    sv = browser_context()
    login_with_totp(sv, base, "SV101", sv_device)
    sv.goto(f"{base}/supervision/access-reviews/")
    shot(sv, "supervision-access-review-list")
    sv.click("[data-testid=review-row] a")
    row = sv.locator("[data-testid=item-row][data-staff=TW001]")
    row.locator("[data-testid=revoke]").click()
    sv.wait_for_selector("[data-testid=field-error-reason]")
    sv.locator("[data-testid=item-row][data-staff=TW001] [data-testid=reason]").fill("临时用工项目结束")
    sv.locator("[data-testid=item-row][data-staff=TW001] [data-testid=revoke]").click()
    sv.wait_for_selector(".alert-warning, .alert")
    assert not RoleAssignment.objects.filter(staff=bank.temp).exists()
    shot(sv, "supervision-access-review-detail")
    sv.goto(f"{base}/")
    shot(sv, "supervision-access-review-home")
