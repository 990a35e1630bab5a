"""Ledger pages through the Django test client: the teller screen (enter → confirm → post, exactly once), errors on
the form with their stable code, large amounts waiting for a second person, account pages and their requests,
statements on screen and as Excel/PDF with access and audit events, the customer 360 panel, account opening, the cash
box count and its escalation, navigation and authorization."""

from __future__ import annotations

import io
import re
import zlib

import pytest
from django.urls import reverse

from bankcrm.approvals.models import PendingAction
from bankcrm.core.masking import mask_card
from bankcrm.core.models import AccessEvent, AuditEvent, IdempotencyRecord, SecurityEvent
from bankcrm.ledger import services
from bankcrm.ledger.models import Account, CashCount, JournalEntry, Product
from tests.conftest import login_client
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def led(bank):
    led = build_ledger(bank)
    fund(led.zhang_cny, 10_000_000, teller=bank.om_a1)  # CNY 100,000
    return led


def bal(acc) -> int:
    return Account.objects.get(pk=acc.pk).balance_fen


def key_of(response) -> str:
    m = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', response.content.decode())
    assert m, "the confirmation form carries an idempotency key"
    return m.group(1)


def pdf_objects(data: bytes) -> bytes:
    """The PDF's objects with their compressed streams inflated (font names live in object streams)."""
    out = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return b"".join(out)


def text(response) -> str:
    return response.content.decode()


# ---- Teller: enter → confirm → post ---------------------------------------------------------------------------------
def test_cash_deposit_end_to_end_and_a_refresh_posts_nothing_twice(led):
    om = login_client(led.bank.om_a1)
    assert om.get(reverse("ledger:teller")).status_code == 200
    data = {"kind": "cash_in", "account": led.zhang_cny.number, "amount": "1,234.50", "memo": "存现"}
    r = om.post(reverse("ledger:teller"), data)
    page = text(r)
    assert r.status_code == 200 and 'data-testid="teller-confirm"' in page
    assert "人民币壹仟贰佰叁拾肆元伍角" in page
    assert mask_card(led.zhang_cny.number) in page and led.zhang_cny.number not in page.replace('value="' + led.zhang_cny.number, "")
    assert "张**" in page and "张三丰" not in page
    assert 'data-testid="needs-approval"' not in page
    box_before, entries = bal(led.box), JournalEntry.objects.count()
    assert bal(led.zhang_cny) == 10_000_000  # the confirmation itself moves nothing

    key = key_of(r)
    r = om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key})
    assert r.status_code == 302 and r["Location"] == reverse("ledger:teller_result", args=[key])
    assert bal(led.zhang_cny) == 10_123_450 and bal(led.box) == box_before + 123_450
    result = om.get(r["Location"])
    body = text(result)
    entry = JournalEntry.objects.latest("id")
    assert 'data-testid="teller-posted"' in body and entry.txn_no in body and "101,234.50" in body
    assert "壹仟贰佰叁拾肆元伍角" in body and 'data-testid="voucher"' in body

    # The browser resends the confirmation (double click, refresh, back + resubmit): same answer, no second posting.
    again = om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key})
    assert again.status_code == 302 and again["Location"].startswith(reverse("ledger:teller_result", args=[key]))
    assert "replayed=1" in again["Location"]
    body2 = text(om.get(again["Location"]))
    assert entry.txn_no in body2 and 'data-testid="replayed"' in body2
    assert JournalEntry.objects.count() == entries + 1 and bal(led.zhang_cny) == 10_123_450
    assert IdempotencyRecord.objects.filter(actor=led.bank.om_a1, key=key, scope="ledger.web.cash_in").count() == 1


def test_the_result_of_another_tellers_key_is_not_found(led):
    om = login_client(led.bank.om_a1)
    data = {"kind": "cash_in", "account": led.zhang_cny.number, "amount": "10"}
    key = key_of(om.post(reverse("ledger:teller"), data))
    om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key})
    other = login_client(led.bank.om_b1)
    assert other.get(reverse("ledger:teller_result", args=[key])).status_code == 404


def test_a_bad_check_digit_is_shown_on_the_form_with_its_code_and_nothing_is_posted(led):
    om = login_client(led.bank.om_a1)
    n = led.zhang_cny.number
    wrong = n[:-1] + str((int(n[-1]) + 1) % 10)
    entries = JournalEntry.objects.count()
    r = om.post(reverse("ledger:teller"), {"kind": "cash_in", "account": wrong, "amount": "100"})
    page = text(r)
    assert r.status_code == 200 and 'data-testid="teller-confirm"' not in page
    assert "invalid_account_number" in page and 'data-testid="field-error-account"' in page and "校验位" in page
    # the beneficiary of a transfer too
    r = om.post(reverse("ledger:teller"), {"kind": "internal", "account": n, "amount": "100",
                                           "to_account": led.li_cny.number[:-1] + str((int(led.li_cny.number[-1]) + 1) % 10)})
    assert "invalid_account_number" in text(r) and 'data-testid="field-error-to_account"' in text(r)
    # an amount with three decimals
    r = om.post(reverse("ledger:teller"), {"kind": "cash_in", "account": n, "amount": "1.234"})
    assert "invalid_amount_precision" in text(r) and 'data-testid="field-error-amount"' in text(r)
    # with other fields missing too, every mistake is shown at once
    r = om.post(reverse("ledger:teller"), {"kind": "outward", "account": wrong, "amount": "1.234"})
    for name in ("account", "amount", "counterparty_bank", "counterparty_name", "counterparty_account"):
        assert f'data-testid="field-error-{name}"' in text(r)
    assert "invalid_account_number" in text(r) and "invalid_amount_precision" in text(r)
    assert JournalEntry.objects.count() == entries


def test_a_rule_failing_at_confirmation_is_shown_and_nothing_is_posted_or_stored(led):
    om = login_client(led.bank.om_a1)
    data = {"kind": "cash_out", "account": led.li_cny.number, "amount": "100"}  # li has no money
    r = om.post(reverse("ledger:teller"), data)
    # refused at entry by the posting's own rules (a dry run), not by a look at the balance on the page
    assert "insufficient_funds" in text(r) and 'data-testid="teller-confirm"' not in text(r)
    fund(led.li_cny, 10_000, teller=led.bank.om_a1)
    r = om.post(reverse("ledger:teller"), data)
    key = key_of(r)  # the confirmation page now
    services.post(services.cash_withdrawal_movement(actor=led.bank.om_a1, account_id=led.li_cny.pk, amount_fen=9_000),
                  maker=led.bank.om_a1)  # meanwhile the balance drops below the amount
    r = om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key})
    assert r.status_code == 200
    assert "insufficient_funds" in text(r) and "可用余额不足" in text(r)
    assert bal(led.li_cny) == 1_000 and not IdempotencyRecord.objects.filter(key=key).exists()


def test_a_large_internal_transfer_waits_for_a_second_person_then_posts_once(led):
    om = login_client(led.bank.om_a1)
    data = {"kind": "internal", "account": led.zhang_cny.number, "amount": "50000", "to_account": led.li_cny.number,
            "memo": "购房款"}
    r = om.post(reverse("ledger:teller"), data)
    page = text(r)
    assert "人民币伍万元整" in page and 'data-testid="needs-approval"' in page and "李**" in page
    key = key_of(r)
    r = om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key})
    result = text(om.get(r["Location"]))
    assert 'data-testid="teller-pending"' in result and "等待复核" in result
    pa = PendingAction.objects.get(action_code="ledger.post", maker=led.bank.om_a1)
    assert f'href="{reverse("approvals:detail", args=[pa.pk])}"' in result
    assert bal(led.zhang_cny) == 10_000_000 and bal(led.li_cny) == 0
    # resubmitting does not create a second approval item
    om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key})
    assert PendingAction.objects.filter(action_code="ledger.post").count() == 1
    # the maker cannot approve; the branch supervisor can, and the money moves exactly once
    r = om.post(reverse("approvals:decide", args=[pa.pk, "approve"]))
    assert PendingAction.objects.get(pk=pa.pk).status == "pending"
    sup = login_client(led.bank.supervisor_a)
    detail = text(sup.get(reverse("approvals:detail", args=[pa.pk])))
    assert "人民币伍万元整" in detail and mask_card(led.li_cny.number) in detail
    sup.post(reverse("approvals:decide", args=[pa.pk, "approve"]))
    assert PendingAction.objects.get(pk=pa.pk).status == "executed"
    assert bal(led.zhang_cny) == 5_000_000 and bal(led.li_cny) == 5_000_000
    after = text(om.get(reverse("ledger:teller_result", args=[key])))
    assert "已通过并执行" in after and "已复核并记账" in after and 'data-testid="voucher"' in after
    assert JournalEntry.objects.get(kind="internal").txn_no in after and "50,000.00" in after
    assert after.count('data-testid="balance-after"') == 1  # the payer's balance only, not the beneficiary's


def test_outward_cross_border_transfer_shows_the_payee_masked(led):
    om = login_client(led.bank.om_a1)
    data = {"kind": "outward", "account": led.zhang_cny.number, "amount": "2000", "counterparty_bank": "汇丰银行（香港）",
            "counterparty_name": "陈大文", "counterparty_account": "HK12345678901", "cross_border": "on",
            "counterparty_country": "hk"}
    r = om.post(reverse("ledger:teller"), data)
    page = text(r)
    assert "陈**" in page and "HK1234***8901" in page and "汇丰银行（香港）" in page and "HK" in page
    assert "陈大文" not in page.split('data-testid="teller-confirm"')[1].split("<form")[0]
    r = om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key_of(r)})
    entry = JournalEntry.objects.latest("id")
    assert entry.kind == "outward" and entry.cross_border and entry.counterparty_country == "HK"
    assert bal(led.zhang_cny) == 9_800_000
    # missing payee details are shown on their fields
    r = om.post(reverse("ledger:teller"), {"kind": "outward", "account": led.zhang_cny.number, "amount": "10"})
    assert 'data-testid="field-error-counterparty_bank"' in text(r)


def test_picking_an_account_from_a_customer_logs_the_read_and_posts_to_it(led):
    om = login_client(led.bank.om_a1)
    before = AccessEvent.objects.filter(view="ledger.teller_pick").count()
    r = om.get(reverse("ledger:teller_pick"), {"q": led.li.customer_no})
    assert mask_card(led.li_cny.number) in text(r) and led.li_cny.number not in text(r)
    assert AccessEvent.objects.filter(view="ledger.teller_pick").count() == before + 1
    data = {"kind": "cash_in", "account_id": led.li_cny.pk, "amount": "88"}
    r = om.post(reverse("ledger:teller"), data)
    om.post(reverse("ledger:teller_confirm"), {**data, "idempotency_key": key_of(r)})
    assert bal(led.li_cny) == 8_800
    # an account outside the teller's scope cannot be picked
    r = om.post(reverse("ledger:teller"), {"kind": "cash_in", "account_id": led.wang_cny.pk, "amount": "88"})
    assert "account_not_found" in text(r)


# ---- Authorization ---------------------------------------------------------------------------------------------------
def test_a_customer_manager_cannot_reach_the_teller_screen(led):
    cm = login_client(led.bank.cm_a1)
    denied = SecurityEvent.objects.filter(kind="denied").count()
    assert cm.get(reverse("ledger:teller")).status_code == 403
    r = cm.post(reverse("ledger:teller_confirm"), {"kind": "cash_in", "account": led.zhang_cny.number, "amount": "10",
                                                   "idempotency_key": "a" * 32})
    assert r.status_code == 403
    assert SecurityEvent.objects.filter(kind="denied").count() == denied + 2
    assert bal(led.zhang_cny) == 10_000_000
    # but sees the accounts of the customers they manage (and not the others)
    assert cm.get(reverse("ledger:account", args=[led.zhang_cny.pk])).status_code == 200
    assert login_client(led.bank.cm_b1).get(reverse("ledger:account", args=[led.zhang_cny.pk])).status_code == 404


def test_a_consultant_cannot_post(led):
    c = login_client(led.bank.consultant)
    entries = JournalEntry.objects.count()
    data = {"kind": "cash_in", "account": led.zhang_cny.number, "amount": "10", "idempotency_key": "b" * 32}
    assert c.post(reverse("ledger:teller_confirm"), data).status_code == 403
    assert c.post(reverse("ledger:teller"), data).status_code == 403
    assert JournalEntry.objects.count() == entries and not IdempotencyRecord.objects.filter(key="b" * 32).exists()


def test_navigation_shows_ledger_entries_by_capability(led):
    home = text(login_client(led.bank.om_a1).get(reverse("core:home")))
    for name in ("ledger:teller", "ledger:cash_box", "ledger:lookup"):
        assert f'href="{reverse(name)}"' in home
    cm_home = text(login_client(led.bank.cm_a1).get(reverse("core:home")))
    assert f'href="{reverse("ledger:lookup")}"' in cm_home
    assert f'href="{reverse("ledger:teller")}"' not in cm_home and f'href="{reverse("ledger:cash_box")}"' not in cm_home
    assert f'href="{reverse("ledger:lookup")}"' not in text(login_client(led.bank.admin).get(reverse("core:home")))


# ---- Accounts --------------------------------------------------------------------------------------------------------
def test_account_lookup_by_number_and_by_transaction_number(led):
    om = login_client(led.bank.om_a1)
    r = om.get(reverse("ledger:lookup"), {"q": led.zhang_cny.number})
    assert r.status_code == 302 and r["Location"] == reverse("ledger:account", args=[led.zhang_cny.pk])
    entry = JournalEntry.objects.filter(credit_account=led.zhang_cny).latest("id")
    r = om.get(reverse("ledger:lookup"), {"q": entry.txn_no})
    assert r["Location"] == reverse("ledger:account", args=[led.zhang_cny.pk])
    r = om.get(reverse("ledger:lookup"), {"q": led.zhang_cny.number[:-1] + "x"})
    assert r.status_code == 200 and "invalid_account_number" in text(r)


def test_account_page_shows_the_header_and_writes_an_access_event(led):
    om = login_client(led.bank.om_a1)
    before = AccessEvent.objects.filter(view="ledger.account").count()
    page = text(om.get(reverse("ledger:account", args=[led.zhang_cny.pk])))
    assert mask_card(led.zhang_cny.number) in page and "100,000.00" in page and "个人活期存款" in page
    assert "甲一支行" in page and "张三丰" in page  # staff who may see the customer see the name in full
    assert 'data-testid="posting-row"' in page
    assert AccessEvent.objects.filter(view="ledger.account", subject_ids=[str(led.zhang.pk)]).count() == before + 1
    # actions by capability: the operations manager may freeze, close and reverse; the customer manager may not
    assert "申请冻结" in page and "提交销户" in page and "冲正" in page
    cm_page = text(login_client(led.bank.cm_a1).get(reverse("ledger:account", args=[led.zhang_cny.pk])))
    assert "申请冻结" not in cm_page and "提交销户" not in cm_page and "冲正原因" not in cm_page


def test_freeze_close_and_reversal_requests_go_to_approvals(led):
    om = login_client(led.bank.om_a1)
    url = reverse("ledger:account_action", args=[led.zhang_cny.pk, "freeze"])
    r = om.post(url, {"reason": ""})
    assert r.status_code == 302 and not PendingAction.objects.filter(action_code="ledger.freeze").exists()
    om.post(url, {"reason": "司法协助（2026）京0105执1号"})
    pa = PendingAction.objects.get(action_code="ledger.freeze")
    assert pa.target_id == str(led.zhang_cny.pk) and Account.objects.get(pk=led.zhang_cny.pk).status == "active"
    page = text(om.get(reverse("ledger:account", args=[led.zhang_cny.pk])))
    assert f'href="{reverse("approvals:detail", args=[pa.pk])}"' in page
    # close with a balance: to the customer's other account, after approval
    om.post(reverse("ledger:account_action", args=[led.zhang_cny.pk, "close"]), {"payout": "cash", "reason": "客户申请"})
    assert PendingAction.objects.filter(action_code="ledger.close").count() == 1
    # reversal of a posted entry
    entry = JournalEntry.objects.filter(credit_account=led.zhang_cny).latest("id")
    r = om.post(reverse("ledger:entry_reverse", args=[entry.pk]), {"reason": "金额录错", "account": led.zhang_cny.pk})
    assert r["Location"] == reverse("ledger:account", args=[led.zhang_cny.pk])
    rev = PendingAction.objects.get(action_code="ledger.post", target_id=str(entry.pk))
    assert rev.payload["reversal_of_id"] == entry.pk
    # a customer manager's freeze request is refused (403, logged), nothing submitted
    cm = login_client(led.bank.cm_a1)
    assert cm.post(reverse("ledger:account_action", args=[led.li_cny.pk, "freeze"]), {"reason": "x"}).status_code == 403
    assert cm.post(reverse("ledger:entry_reverse", args=[entry.pk]), {"reason": "x"}).status_code == 403
    assert PendingAction.objects.filter(action_code="ledger.freeze").count() == 1


def test_a_dormant_account_is_reactivated_with_a_reason(led):
    Account.objects.filter(pk=led.li_cny.pk).update(status="dormant")
    om = login_client(led.bank.om_a1)
    assert "激活休眠账户" in text(om.get(reverse("ledger:account", args=[led.li_cny.pk])))
    om.post(reverse("ledger:account_action", args=[led.li_cny.pk, "reactivate"]), {"reason": "已核验身份证"})
    assert Account.objects.get(pk=led.li_cny.pk).status == "active"


# ---- Statements ------------------------------------------------------------------------------------------------------
def test_statement_on_screen_and_as_excel_and_pdf_with_access_and_audit_events(led):
    from openpyxl import load_workbook

    om = login_client(led.bank.om_a1)
    url = reverse("ledger:statement", args=[led.zhang_cny.pk])
    views = AccessEvent.objects.filter(view="ledger.statement").count()
    r = om.get(url)
    page = text(r)
    assert r.status_code == 200 and page.count('data-testid="posting-row"') == 3 and "100,000.00" in page
    assert AccessEvent.objects.filter(view="ledger.statement", subject_ids=[str(led.zhang.pk)]).count() == views + 1

    exported = AuditEvent.objects.filter(verb="ledger.statement_exported").count()
    r = om.post(reverse("ledger:statement_export", args=[led.zhang_cny.pk, "xlsx"]), {})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert mask_card(led.zhang_cny.number) in cells and "张**" in cells
    assert led.zhang_cny.number not in " ".join(cells) and "张三丰" not in " ".join(cells)
    amounts = [c.value for c in ws["I"] if c.value is not None and not isinstance(c.value, str)]
    assert float(amounts[-1]) == 100_000.0 and len(amounts) == 3

    r = om.post(reverse("ledger:statement_export", args=[led.zhang_cny.pk, "pdf"]), {})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert b"Noto-Sans-CJK" in pdf_objects(r.content)  # the Chinese font is embedded

    assert AuditEvent.objects.filter(verb="ledger.statement_exported").count() == exported + 2
    ev = AuditEvent.objects.filter(verb="ledger.statement_exported").latest("seq")
    assert ev.actor_id == led.bank.om_a1.pk and ev.after["format"] == "pdf" and ev.after["rows"] == 3
    assert AccessEvent.objects.filter(view__in=["ledger.statement_xlsx", "ledger.statement_pdf"], channel="export",
                                      subject_ids=[str(led.zhang.pk)]).count() == 2


def test_statement_period_errors_and_scope(led):
    om = login_client(led.bank.om_a1)
    r = om.get(reverse("ledger:statement", args=[led.zhang_cny.pk]), {"start": "2026-05-01", "end": "2026-04-01"})
    assert "invalid_period" in text(r)
    assert login_client(led.bank.om_b1).get(reverse("ledger:statement", args=[led.zhang_cny.pk])).status_code == 404
    exported = AuditEvent.objects.filter(verb="ledger.statement_exported").count()
    r = login_client(led.bank.om_b1).post(reverse("ledger:statement_export", args=[led.zhang_cny.pk, "pdf"]), {})
    assert r.status_code == 404
    assert AuditEvent.objects.filter(verb="ledger.statement_exported").count() == exported


# ---- Customer 360 and account opening --------------------------------------------------------------------------------
def test_customer_360_shows_the_accounts_panel(led):
    om = login_client(led.bank.om_a1)
    page = text(om.get(reverse("customers:detail", args=[led.zhang.pk])))
    assert 'data-testid="accounts-panel"' in page and mask_card(led.zhang_cny.number) in page
    assert 'data-testid="open-account"' in page and "+40,000.00" in page
    assert "账户与交易" in page
    cm_page = text(login_client(led.bank.cm_a1).get(reverse("customers:detail", args=[led.zhang.pk])))
    assert 'data-testid="accounts-panel"' in cm_page and 'data-testid="open-account"' not in cm_page


def test_opening_a_time_deposit_asks_for_the_maturity_instruction(led):
    om = login_client(led.bank.om_a1)
    url = reverse("ledger:account_open", args=[led.li.pk])
    t1y = Product.objects.get(code="T-1Y")
    assert om.get(url).status_code == 200
    r = om.post(url, {"product": t1y.pk})
    assert "maturity_instruction_required" in text(r)
    r = om.post(url, {"product": t1y.pk, "maturity_instruction": "payout", "payout_account": led.li_cny.pk})
    acc = Account.objects.filter(customer=led.li, product=t1y).get()
    assert r["Location"] == reverse("ledger:account", args=[acc.pk])
    assert acc.maturity_instruction == "payout" and acc.payout_account_id == led.li_cny.pk
    assert login_client(led.bank.cm_a1).get(url).status_code == 403


# ---- Cash box --------------------------------------------------------------------------------------------------------
def test_cash_box_count_with_a_difference_reaches_the_branch_supervisors_inbox(led):
    om = login_client(led.bank.om_a1)
    page = text(om.get(reverse("ledger:cash_box")))
    assert 'data-testid="cash-count-form"' in page and "100,000.00" in page
    # counted 999 × 100 yuan + 1 × 50 yuan = 99,950 against 100,000 expected
    r = om.post(reverse("ledger:cash_box_count"), {"d_10000": "999", "d_5000": "1", "note": ""})
    assert not CashCount.objects.exists()  # a difference needs a note
    r = om.post(reverse("ledger:cash_box_count"), {"d_10000": "999", "d_5000": "1", "note": "短款 50 元，待查"})
    assert r.status_code == 302
    count = CashCount.objects.get()
    assert (count.difference_fen, count.status) == (-5_000, "difference")
    assert "账实不符" in text(om.get(reverse("ledger:cash_box")))
    inbox = text(login_client(led.bank.supervisor_a).get(reverse("core:inbox")))
    assert "尾箱账实不符" in inbox and reverse("ledger:cash_box_detail", args=[led.box.pk]) in inbox
    assert "尾箱账实不符" not in text(login_client(led.bank.supervisor_b).get(reverse("core:inbox")))
    # the supervisor opens the cash box page (read-only: no count form)
    sup_page = text(login_client(led.bank.supervisor_a).get(reverse("ledger:cash_box_detail", args=[led.box.pk])))
    assert "短款 50 元" in sup_page and 'data-testid="cash-count-form"' not in sup_page
    assert login_client(led.bank.supervisor_b).get(reverse("ledger:cash_box_detail", args=[led.box.pk])).status_code == 404


def test_a_supervisor_sees_the_cash_boxes_of_the_branch(led):
    page = text(login_client(led.bank.supervisor_a).get(reverse("ledger:cash_box")))
    assert "辖内尾箱" in page and reverse("ledger:cash_box_detail", args=[led.box.pk]) in page
    assert 'data-testid="open-cash-box"' not in page and 'data-testid="cash-count-form"' not in page
    assert reverse("ledger:cash_box_detail", args=[led.box.pk]) not in text(
        login_client(led.bank.supervisor_b).get(reverse("ledger:cash_box")))


def test_a_balanced_count_and_opening_a_cash_box(led):
    om = login_client(led.bank.om_a1)
    om.post(reverse("ledger:cash_box_count"), {"d_10000": "1000"})
    assert CashCount.objects.get().status == "balanced"
    from bankcrm.org import services as org_services

    new = org_services.staff_create(actor=led.bank.admin, staff_no="OM009", name="新柜员", branch_id=led.bank.a1.pk,
                                    employment_type="employee", roles=["operations_manager"], password="Test-Passw0rd!x")
    c = login_client(new)
    assert 'data-testid="open-cash-box"' in text(c.get(reverse("ledger:cash_box")))
    c.post(reverse("ledger:cash_box_open"))
    assert Account.objects.filter(internal_code="cash", teller=new).count() == 1
