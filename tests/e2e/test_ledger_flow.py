"""Issue 4's browser walk: an operations manager posts a large internal transfer at the teller screen, sees the
confirmation with the amount in capital numerals, then "waiting for approval"; a second operations manager of the
same branch approves it in the approvals inbox; the balance and the statement show it. Screenshots in
var/screenshots (ledger-*.png)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.test_login_flows import shot
from tests.helpers import totp_now
from tests.ledger_helpers import build_ledger, fund

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def browser_context(browser):
    contexts = []

    def make():
        ctx = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


def login_with_totp(page, base: str, staff_no: str, device) -> None:
    """Operations managers approve money movements, so they sign in with a TOTP code."""
    page.goto(base + "/accounts/login/")
    page.fill("#id_username", staff_no)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("#id_token")
    page.fill("#id_token", totp_now(device))
    page.click("[data-testid=totp-submit]")
    page.wait_for_selector("[data-testid=welcome]")


def test_large_transfer_waits_for_a_second_operations_manager(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.approvals.models import PendingAction
    from bankcrm.ledger.models import Account, JournalEntry
    from bankcrm.org import services as org_services

    base = live_server.url
    led = build_ledger(bank)
    fund(led.zhang_cny, 12_000_000, teller=bank.om_a1)  # CNY 120,000
    checker = org_services.staff_create(actor=bank.admin, staff_no="OM003", name="韩复核", branch_id=bank.a1.pk,
                                        employment_type="employee", roles=["operations_manager"], password=PASSWORD)
    maker_device = TOTPDevice.objects.create(user=bank.om_a1, name="phone", confirmed=True)
    checker_device = TOTPDevice.objects.create(user=checker, name="phone", confirmed=True)

    # The maker: teller screen → confirmation with 大写 → waiting for approval.
    page = browser_context()
    login_with_totp(page, base, "OM001", maker_device)
    page.click("nav >> text=柜面交易")
    page.wait_for_selector("[data-testid=teller-form]")
    page.wait_for_load_state("load")  # ledger.js has attached its handlers
    page.click("label[for=id_kind_2]")  # 行内转账
    assert page.is_visible("#id_to_account") and not page.is_visible("#id_counterparty_bank")
    page.fill("#id_account", led.zhang_cny.number)
    page.fill("#id_amount", "50,000")
    page.fill("#id_to_account", led.li_cny.number)
    page.fill("#id_memo", "购房首付款")
    page.click("[data-testid=teller-next]")
    page.wait_for_selector("[data-testid=teller-confirm]")
    assert page.inner_text("[data-testid=confirm-capital]").endswith("人民币伍万元整")
    assert "CNY 50,000.00" in page.inner_text("[data-testid=confirm-amount]")
    assert page.is_visible("[data-testid=needs-approval]")
    body = page.inner_text("[data-testid=teller-confirm]")
    assert "张**" in body and "李**" in body and led.zhang_cny.number not in body
    shot(page, "ledger-teller-confirm")
    posted_form = page.evaluate(
        "() => Object.fromEntries(new FormData(document.querySelector('[data-testid=teller-submit]').form))")
    assert len(posted_form["idempotency_key"]) == 32
    page.click("[data-testid=teller-submit]")
    page.wait_for_selector("[data-testid=teller-pending]")
    assert "等待复核" in page.inner_text("[data-testid=teller-pending]")
    assert page.inner_text("[data-testid=approval-state]").strip() == "待复核"
    shot(page, "ledger-pending")
    # Reloading the result page, or the browser sending the confirmation again, creates nothing new.
    page.reload()
    again = page.request.post(base + "/ledger/teller/confirm/", form=posted_form)
    assert again.ok and "replayed=1" in again.url
    assert PendingAction.objects.filter(action_code="ledger.post").count() == 1
    assert Account.objects.get(pk=led.zhang_cny.pk).balance_fen == 12_000_000

    # The checker: the item is in their approvals inbox; they see the exact payload described, and approve it.
    page2 = browser_context()
    login_with_totp(page2, base, "OM003", checker_device)
    page2.goto(base + "/approvals/")
    page2.click("text=行内转账 CNY 50,000.00")
    page2.wait_for_selector("[data-testid=approve]")
    detail = page2.inner_text("main")
    assert "人民币伍万元整" in detail and "张**" in detail and "购房首付款" in detail
    shot(page2, "ledger-approval")
    page2.fill("form[action$='/approve/'] input[name=reason]", "已核对客户签字与证件")
    page2.click("[data-testid=approve]")
    page2.wait_for_selector("text=已复核通过并执行")
    assert "已通过并执行" in page2.inner_text("[data-testid=approval-status]")

    entry = JournalEntry.objects.get(kind="internal")
    assert (entry.maker_id, entry.checker_id, entry.amount_fen) == (bank.om_a1.pk, checker.pk, 5_000_000)

    # Back to the maker: the result now carries the voucher; the balance and the statement show the posting.
    page.reload()
    page.wait_for_selector("[data-testid=voucher]")
    assert entry.txn_no in page.inner_text("[data-testid=voucher]")
    assert "OM003" in page.inner_text("[data-testid=voucher]")
    shot(page, "ledger-approved-voucher")
    page.goto(base + f"/ledger/accounts/{led.zhang_cny.pk}/")
    assert page.inner_text("[data-testid=account-balance]").strip() == "CNY 70,000.00"
    page.click("[data-testid=statement-link]")
    page.wait_for_selector("[data-testid=statement-closing]")
    assert page.inner_text("[data-testid=statement-closing]").strip() == "70,000.00"
    rows = page.inner_text(".ledger-rows")
    assert entry.txn_no in rows and "行内转账" in rows and "50,000.00" in rows and "购房首付款" in rows
    shot(page, "ledger-account-statement")


def test_cash_deposit_from_a_picked_account_voucher_and_cash_box_count(live_server, transactional_db, bank,
                                                                        browser_context):
    """The teller picks the customer's account by name (masked), posts a small cash deposit and prints the voucher;
    the customer 360 page shows it; the end-of-day count finds a difference that reaches the branch supervisor."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.ledger.models import CashCount

    base = live_server.url
    led = build_ledger(bank)
    fund(led.zhang_cny, 500_000, teller=bank.om_a1)
    device = TOTPDevice.objects.create(user=bank.om_a1, name="phone", confirmed=True)
    page = browser_context()
    login_with_totp(page, base, "OM001", device)
    page.goto(base + "/ledger/teller/")
    page.wait_for_load_state("load")
    page.fill("[data-testid=pick-q]", "李小龙")
    page.wait_for_selector("[data-testid=pick-account]")
    shot(page, "ledger-teller-form")
    page.click("[data-testid=pick-account]")
    assert page.is_visible("[data-testid=picked-account]") and not page.is_visible("#id_account")
    page.fill("#id_amount", "8,800.50")
    page.click("[data-testid=teller-next]")
    page.wait_for_selector("[data-testid=teller-confirm]")
    assert page.inner_text("[data-testid=confirm-capital]").endswith("人民币捌仟捌佰元伍角")
    page.click("[data-testid=teller-submit]")
    page.wait_for_selector("[data-testid=voucher]")
    assert page.inner_text("[data-testid=balance-after]").strip() == "8,800.50"
    shot(page, "ledger-voucher")

    page.goto(base + f"/customers/{led.li.pk}/")
    page.wait_for_selector("[data-testid=accounts-panel]")
    assert "+8,800.50" in page.inner_text("[data-testid=accounts-panel]")
    page.locator("[data-testid=accounts-panel]").screenshot(path=str(shot_path("ledger-customer-accounts")))
    page.click("[data-testid=panel-account]")
    page.wait_for_selector("[data-testid=account-balance]")
    shot(page, "ledger-account")

    # End of day: 5,000 + 8,800.50 expected; one 50-yuan note short.
    page.click("nav >> text=尾箱")
    page.wait_for_selector("[data-testid=cash-count-form]")
    page.wait_for_load_state("load")
    page.fill("[data-testid=denom-10000]", "137")
    page.fill("[data-testid=denom-5000]", "1")
    page.fill("[data-testid=denom-10]", "5")
    page.fill("#count-note", "短款 50 元，已上报")
    assert page.inner_text("#count-diff").strip() == "-50.00"
    shot(page, "ledger-cash-count-form")
    page.once("dialog", lambda d: d.accept())
    page.click("[data-testid=count-submit]")
    page.wait_for_selector("[data-testid=count-status]")
    assert CashCount.objects.get().difference_fen == -5_000
    shot(page, "ledger-cash-box")

    sup_device = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)
    page2 = browser_context()
    login_with_totp(page2, base, "SV101", sup_device)
    page2.goto(base + "/inbox/")
    assert "陈运营 的尾箱" in page2.inner_text("main") and "短款 50.00 元" in page2.inner_text("main")
    shot(page2, "ledger-supervisor-inbox")
    page2.click("text=短款 50.00 元")
    page2.wait_for_selector("[data-testid=box-balance]")
    assert "短款 50 元，已上报" in page2.inner_text("main")
    assert page2.locator("[data-testid=cash-count-form]").count() == 0
    shot(page2, "ledger-supervisor-cash-box")


def shot_path(name: str):
    from tests.e2e.test_login_flows import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"
