"""The printable customer 360 page in a browser: the 打印 button opens it, it shows the page's masked values, and
the printed pages (Chromium's PDF, print media) carry no toolbar. Screenshot and PDF in var/screenshots."""

from __future__ import annotations

import pytest

from bankcrm.customers import services
from tests.e2e.test_login_flows import SHOTS, login, shot
from tests.test_customers import ric

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    yield context
    context.close()


def test_print_the_customer_page(live_server, transactional_db, bank, context):
    customer = services.customer_register(actor=bank.cm_a1, kind="person", name="欧阳娜娜", id_type="resident_id",
                                          id_number=ric(born="19850612", seq="031"), mobile="13912345678",
                                          email="nana@example.cn", address="北京市海淀区中关村大街1号")
    base = live_server.url
    page = context.new_page()
    login(page, base, "CM001")
    page.wait_for_selector("[data-testid=welcome]")
    page.goto(f"{base}/customers/{customer.pk}/")
    with context.expect_page() as opened:
        page.click("[data-testid=print-360]")
    printable = opened.value
    printable.wait_for_selector("[data-testid=print-now]")
    masked = printable.inner_text("[data-testid=masked-mobile]")
    assert masked == "139****5678" == page.inner_text("[data-testid=masked-mobile]")
    assert customer.id_number not in printable.content() and "欧阳娜娜" in printable.content()
    shot(printable, "24-customer-360-print")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = printable.pdf(path=str(SHOTS / "24-customer-360-print.pdf"), format="A4")
    assert pdf[:4] == b"%PDF"
    printable.emulate_media(media="print")
    assert not printable.is_visible("[data-testid=print-now]")
