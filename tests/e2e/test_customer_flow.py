"""Issue 3's browser walk: a customer manager registers a customer with a wrong ID number, sees the error, corrects
it, finds the customer by pinyin initials, reveals the phone number with a reason. Screenshots in var/screenshots."""

from __future__ import annotations

import pytest

from bankcrm.core.identifiers import ric_check_char
from tests.e2e.test_login_flows import login, shot

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    p = context.new_page()
    yield p
    context.close()


def test_register_find_and_reveal(live_server, transactional_db, bank, page):
    base = live_server.url
    body = "11010519850612031"
    good = body + ric_check_char(body)
    bad = body + ("0" if good[-1] != "0" else "1")
    login(page, base, "CM001")
    page.wait_for_selector("[data-testid=welcome]")
    page.goto(base + "/customers/new/")
    page.fill("#id_name", "欧阳娜娜")
    page.fill("#id_id_number", bad)
    page.fill("#id_mobile", "13912345678")
    page.click("[data-testid=customer-save]")
    err = page.locator("[data-testid=field-error-id_number]")
    assert "校验位" in err.inner_text()
    shot(page, "20-customer-register-wrong-id")
    page.fill("#id_id_number", good)
    page.click("[data-testid=customer-save]")
    page.wait_for_selector("[data-testid=masked-mobile]")
    assert page.inner_text("[data-testid=masked-mobile]") == "139****5678"
    shot(page, "21-customer-360")
    page.goto(base + "/customers/")
    page.fill("[data-testid=customer-search]", "oynn")
    page.click("[data-testid=customer-search-submit]")
    page.wait_for_selector("[data-testid=customer-row]")
    assert page.locator("[data-testid=customer-row]").count() == 1
    shot(page, "22-customer-search-initials")
    page.click("[data-testid=customer-row]")
    page.click("[data-testid=reveal-mobile]")
    page.fill("[data-testid=reveal-reason-mobile]", "客户来电核实身份")
    page.click("[data-testid=reveal-submit-mobile]")
    page.wait_for_selector("[data-testid=revealed-mobile]")
    assert page.inner_text("[data-testid=revealed-mobile]") == "+8613912345678"
    shot(page, "23-customer-phone-revealed")
    from bankcrm.core.models import AccessEvent, AuditEvent

    assert AuditEvent.objects.filter(verb="customers.field_revealed").count() == 1
    assert AccessEvent.objects.filter(unmasked=True, reason="客户来电核实身份").exists()
