"""Issue 11's partner walk: an administrator registers a fund company, issues it an API key (the secret is shown
once and is gone from the page afterwards), adds a webhook endpoint (its signing secret shown once), sends a test
event that a local receiver gets with a valid signature, and sees the delivery; the partner's first call appears
in the call log. Screenshots in var/screenshots (partners-*.png)."""

from __future__ import annotations

import json

import pytest

from bankcrm.partners import partner_rules as rules
from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import shot
from tests.partners_helpers import start_receiver

pytestmark = [pytest.mark.e2e]


def test_partner_key_endpoint_and_test_event(live_server, transactional_db, bank, browser_context, settings):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.partners.models import ApiCall, ApiKey, Partner, WebhookDelivery

    settings.BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    receiver = start_receiver()
    base = live_server.url
    dev = TOTPDevice.objects.create(user=bank.admin, name="phone", confirmed=True)
    page = browser_context()
    try:
        login_with_totp(page, base, "AD001", dev)
        page.click("nav a.nav-item:has-text('合作机构')")
        page.wait_for_selector("[data-testid=partners]")
        page.click("[data-testid=new-partner]")
        page.fill("#id_code", "RFFUND")
        page.fill("#id_name", "瑞丰基金管理有限公司")
        page.select_option("#id_kind", "fund_company")
        page.fill("#id_contact", "TA 运营中心")
        page.check("[data-testid='allowed_events-sale.settled']")
        for scope in ("events:read", "products:read", "nav:write"):
            page.check(f"[data-testid='allowed_scopes-{scope}']")
        page.fill("#id_note", "瑞丰稳健债券代销；每个交易日 20:00 前报送净值。")
        shot(page, "partners-new")
        page.click("[data-testid=save-partner]")
        page.wait_for_selector("[data-testid=issue-form]")
        p = Partner.objects.get(code="RFFUND")

        # a key for its TA system: the secret is shown once
        page.fill("#id_label", "TA 系统对接")
        page.check("[data-testid='scope-events:read']")
        page.check("[data-testid='scope-nav:write']")
        page.click("[data-testid=issue-key]")
        page.wait_for_selector("[data-testid=new-secret]")
        token = page.inner_text("[data-testid=new-secret]").strip()
        key = ApiKey.objects.get(partner=p)
        assert token.startswith(key.key_id + "_") and "只显示这一次" in page.content()
        shot(page, "partners-key-once")
        page.click("[data-testid=secret-done]")
        page.wait_for_selector("[data-testid=key-row]")
        assert token not in page.content() and key.key_id in page.content()

        # the partner calls with it
        from django.test import Client

        r = Client().get("/api/v1/partner/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert r.status_code == 200 and r.json()["code"] == "RFFUND"

        # a webhook endpoint: its signing secret shown once
        page.click("[data-testid=new-endpoint]")
        page.fill("#id_url", receiver.url)
        page.fill("#id_description", "瑞丰基金 TA 接收端")
        page.click("[data-testid=save-endpoint]")
        page.wait_for_selector("[data-testid=new-secret]")
        signing = page.inner_text("[data-testid=new-secret]").strip()
        assert signing.startswith("whsec_")
        shot(page, "partners-endpoint-secret")
        page.click("[data-testid=secret-done]")
        page.wait_for_selector("[data-testid=endpoint-row]")
        shot(page, "partners-detail")

        # a test event: the receiver gets it, signed
        page.click("[data-testid=test-endpoint]")
        page.wait_for_selector("[data-testid=deliveries]")
        assert len(receiver.received) == 1
        got = receiver.received[0]
        header = got.headers["X-Bankcrm-Signature"]
        assert rules.verify_signature(signing, header, got.body, now=int(header.split(",")[0][2:]))
        assert json.loads(got.body)["type"] == "test.ping"
        row = page.locator("[data-testid=delivery-row]").first
        assert row.get_attribute("data-status") == "delivered" and "推送成功" in page.content()
        d = WebhookDelivery.objects.get()
        assert d.delivery_id in row.inner_text() and got.headers["X-Bankcrm-Delivery"] == d.delivery_id
        shot(page, "partners-deliveries")

        # the call log shows the partner's call, answered, and a refused one
        Client().get("/api/v1/partner/products/", HTTP_AUTHORIZATION=f"Bearer {token}")  # no products:read scope
        page.click("nav a.nav-item:has-text('接口调用日志')")
        page.wait_for_selector("[data-testid=calls]")
        statuses = sorted(x.get_attribute("data-status") for x in page.locator("[data-testid=call-row]").all())
        assert statuses == ["200", "403"] and ApiCall.objects.count() == 2
        assert token.split("_", 2)[2] not in page.content()
        shot(page, "partners-calls")
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
