"""Browser walk (Playwright + Debian's Chromium): a customer manager and an intern log in, switch language, and the
pages they see are saved under var/screenshots/ for people to look at."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.e2e]
SHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page, base: str, staff_no: str, password: str = PASSWORD) -> None:
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", staff_no)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="en-US")
    p = context.new_page()
    yield p
    context.close()


def test_customer_manager_logs_in_and_switches_language(live_server, transactional_db, bank, page):
    base = live_server.url
    page.goto(base + "/accounts/login/")
    # Chinese by default even though the browser asks for English.
    assert page.locator("[data-testid=login-submit]").inner_text().strip() == "登录"
    shot(page, "01-login-zh")
    page.fill("#id_username", "CM001")
    page.fill("#id_password", "wrong-password")
    page.click("[data-testid=login-submit]")
    assert "工号或密码不正确" in page.content()
    shot(page, "02-login-wrong-password")
    login(page, base, "CM001")
    page.wait_for_selector("[data-testid=welcome]")
    assert "郑客户" in page.inner_text("[data-testid=welcome]")
    assert page.locator("text=客户经理").first.is_visible()
    # No administration in a customer manager's navigation.
    assert page.locator("nav a[href='/org/staff/']").count() == 0
    assert page.locator("nav a[href='/audit/']").count() == 0
    shot(page, "03-home-customer-manager-zh")
    page.click("[data-testid=lang-en]")
    page.wait_for_selector("[data-testid=lang-zh]")
    assert "Workbench" in page.content() or "Home" in page.content()
    shot(page, "04-home-customer-manager-en")
    page.click("[data-testid=lang-zh]")
    page.wait_for_selector("[data-testid=lang-en]")
    # A page outside the role: refused with a clear message, and the refusal is logged.
    page.goto(base + "/org/staff/")
    assert page.locator("[data-testid=denied]").is_visible()
    shot(page, "05-denied-customer-manager")
    from bankcrm.core.models import SecurityEvent

    assert SecurityEvent.objects.filter(kind="denied", actor=bank.cm_a1).exists()
    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")
    page.wait_for_selector("[data-testid=login-submit]")


def test_intern_sees_limits(live_server, transactional_db, bank, page):
    login(page, live_server.url, "IN001")
    page.wait_for_selector("[data-testid=welcome]")
    body = page.content()
    assert "实习生" in body
    assert "不能查看完整的个人信息" in body
    shot(page, "06-home-intern-zh")
    page.goto(live_server.url + "/approvals/")
    assert page.locator("text=待我复核").count() == 0  # interns never approve
    shot(page, "07-approvals-intern")


def test_admin_with_totp_reviews_a_privileged_grant(live_server, transactional_db, bank, page):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.org import services

    device = TOTPDevice.objects.create(user=bank.admin2, name="phone", confirmed=True)
    services.staff_set_roles(actor=bank.admin, staff_id=bank.branch_risk.pk, roles=["risk_manager", "compliance_manager"],
                             reason="兼任合规")
    login(page, live_server.url, "AD002")
    page.wait_for_selector("#id_token")
    shot(page, "08-login-totp")
    page.fill("#id_token", f"{totp(device.bin_key):06d}")
    page.click("[data-testid=totp-submit]")
    page.wait_for_selector("[data-testid=welcome]")
    assert page.locator("[data-testid=inbox-count]").inner_text().strip() == "1"
    shot(page, "09-home-admin-inbox")
    page.goto(live_server.url + "/approvals/")
    page.click("text=授予")
    page.wait_for_selector("[data-testid=approve]")
    shot(page, "10-approval-detail")
    page.click("[data-testid=approve]")
    page.wait_for_selector("text=已复核通过并执行")
    assert "已通过并执行" in page.inner_text("[data-testid=approval-status]")
    page.goto(live_server.url + "/audit/")
    page.click("[data-testid=verify-audit]")
    page.wait_for_selector("[data-testid=verify-result]")
    assert "审计链完整" in page.inner_text("[data-testid=verify-result]")
    shot(page, "11-audit-verified")
