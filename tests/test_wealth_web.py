"""The selling pages: 推介/购买 with the point-of-sale check shown rule by rule, the sale's evidence page and its actions
(confirmation with the risk disclosure and the 双录 reference, withdrawal, cancellation in cooling-off), the sales
list, holdings with redemption, the return-visit queue and form, the 360 panel and the inbox. Bad input gives Chinese
errors and writes nothing; other branches get 404; the seller never does the return visit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bankcrm.core.models import AuditEvent
from bankcrm.ledger.models import AccountHold
from bankcrm.wealth import services
from bankcrm.wealth.models import Holding, Redemption, ReturnVisit, Sale
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since
from tests.wealth_helpers import CNY, build_wealth

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(bank):
    return build_wealth(bank)


def text(r) -> str:
    return r.content.decode()


def new_url(customer) -> str:
    return reverse("wealth:sale_new", args=[customer.pk])


def form(w, product: str, amount: str, *, customer="li", op="check", initiated=False) -> dict:
    acc = w.ledger.li_cny if customer == "li" else w.ledger.zhang_cny
    data = {"product": w.products[product].pk, "account": acc.pk, "amount": amount, "op": op}
    if initiated:
        data["customer_initiated"] = "on"
    return data


def propose(w, product="R2", customer="li", amount=20_000 * CNY, **kw) -> Sale:
    c = w.li if customer == "li" else w.zhang
    acc = w.ledger.li_cny if customer == "li" else w.ledger.zhang_cny
    return services.sale_propose(actor=w.bank.cm_a1, customer_id=c.pk, product_id=w.products[product].pk,
                                 account_id=acc.pk, amount_fen=amount, **kw)


def settled(w, product="R2") -> Sale:
    s = propose(w, product)
    return services.sale_confirm(actor=w.bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)


def status_of(html: str, key: str) -> str:
    marker = f'data-testid="rule-{key}" data-status="'
    i = html.index(marker) + len(marker)
    return html[i:html.index('"', i)]


# ---- 推介/购买 --------------------------------------------------------------------------------------------------------
def test_propose_page_checks_every_rule_then_proposes(w):
    bank, client = w.bank, login_client(w.bank.cm_a1)
    url = new_url(w.li)
    page = text(client.get(url))
    assert "WM-R2" in page and "PE-R3" in page and 'data-testid="level-badge"' in page
    assert w.ledger.li_cny.masked_number in page and "可用" in page
    assert w.ledger.li_cny.number not in page  # the full account number never
    # 校验 R4 for a C3 customer: the level rule is a red cross, nothing is written, no propose button
    seq = audit_seq()
    r = client.post(url, form(w, "R4", "20000"))
    html = text(r)
    assert r.status_code == 200 and status_of(html, "level") == "fail" and "C3" in html and "R4" in html
    assert status_of(html, "assessment") == "ok" and status_of(html, "consent") == "ok"
    assert 'data-testid="pos-refused"' in html and 'data-testid="sale-propose"' not in html
    assert not Sale.objects.exists() and verbs_since(seq) == []
    # 校验 R2: every rule passes or does not apply; then the proposal
    html = text(client.post(url, form(w, "R2", "20000")))
    assert 'data-testid="pos-allowed"' in html and 'data-testid="sale-propose"' in html
    assert status_of(html, "qualified") == "na" and status_of(html, "recording") == "na"
    r = client.post(url, form(w, "R2", "20,000.00", op="propose"))
    sale = Sale.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("wealth:sale", args=[sale.pk])
    assert (sale.status, sale.amount_fen, sale.seller_id, sale.customer_initiated) == ("proposed", 20_000 * CNY, bank.cm_a1.pk,
                                                                                        False)


def test_elderly_r3_check_asks_for_the_recording(w):
    client = login_client(w.bank.cm_a1)
    html = text(client.post(new_url(w.zhang), form(w, "R3", "50000", customer="zhang")))
    assert status_of(html, "recording") == "todo"
    assert 'data-testid="pos-allowed"' in html  # the recording is asked for at confirmation, not a refusal
    assert "须加强风险揭示" in html or "加强风险揭示" in html
    assert "需要：确认购买时填写双录编号" in html


def test_refusal_lists_every_violated_rule_and_keeps_the_check_audited(w):
    client = login_client(w.bank.cm_a1)
    seq = audit_seq()
    r = client.post(new_url(w.li), form(w, "PRIV", "20000", op="propose", initiated=True))
    html = text(r)
    assert r.status_code == 200 and not Sale.objects.exists()
    for code in ("amount_below_minimum", "qualified_investor_required"):
        assert f'data-testid="refused-{code}"' in html, code
    assert "不能推介：以下 2 条规则不满足" in html
    assert status_of(html, "qualified") == "fail" and status_of(html, "amount") == "fail"
    assert verbs_since(seq) == ["wealth.pos_checked"]


def test_bad_input_on_the_propose_page_gives_chinese_errors(w):
    client = login_client(w.bank.cm_a1)
    url = new_url(w.li)
    cases = [({"account": w.ledger.li_cny.pk, "amount": "1000"}, "product", "请选择产品"),
             (form(w, "R2", "abc"), "amount", "金额格式不正确"),
             (form(w, "R2", "100.001"), "amount", "金额最多保留 2 位小数"),
             (form(w, "R2", "-5"), "amount", "金额必须大于零"),
             ({**form(w, "R2", "20000"), "account": w.ledger.wang_cny.pk}, "account", "请选择该客户本人的活期账户"),
             ({**form(w, "R2", "20000"), "product": "999999"}, "product", "请选择在售产品")]
    seq = audit_seq()
    for data, field, message in cases:
        html = text(client.post(url, {**data, "op": "propose"}))
        assert f'data-testid="field-error-{field}"' in html and message in html, (field, message)
    assert not Sale.objects.exists() and verbs_since(seq) == []


def test_start_from_the_sales_list_by_customer_number(w):
    client = login_client(w.bank.cm_a1)
    r = client.post(reverse("wealth:sales"), {"customer_no": w.li.customer_no})
    assert r.status_code == 302 and r["Location"] == new_url(w.li)
    r = client.post(reverse("wealth:sales"), {"customer_no": w.ledger.wang.customer_no}, follow=True)
    assert "客户不存在或不在您的管户范围内" in text(r)


# ---- Confirmation, withdrawal, cooling-off --------------------------------------------------------------------------
def test_confirm_elderly_r3_needs_the_recording_then_settles(w):
    client = login_client(w.bank.cm_a1)
    sale = propose(w, "R3", "zhang", 50_000 * CNY)
    url = reverse("wealth:sale_confirm", args=[sale.pk])
    page = text(client.get(url))
    assert "风险揭示书正文" in page and 'data-testid="enhanced-disclosure"' in page and "本笔必填" in page
    seq = audit_seq()
    html = text(client.post(url, {"disclosure_method": "counter_signature"}))
    assert 'data-testid="field-error-disclosure_confirmed"' in html and "客户须阅读并确认风险揭示书" in html
    html = text(client.post(url, {"disclosure_confirmed": "on", "disclosure_method": "counter_signature"}))
    assert 'data-testid="field-error-recording_id"' in html and "本笔销售须双录" in html
    future = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    html = text(client.post(url, {"disclosure_confirmed": "on", "disclosure_method": "counter_signature",
                                  "recording_id": "SL-1", "recording_booth": "甲一支行双录区1", "recorded_at": future}))
    assert "录制时间不能晚于现在" in html
    sale.refresh_from_db()
    assert sale.status == "proposed" and not AccountHold.objects.exists() and verbs_since(seq) == []
    when = (timezone.localtime() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(url, {"disclosure_confirmed": "on", "disclosure_method": "e_signature", "recording_id": "SL-20260101-0001",
                          "recording_booth": "甲一支行双录区1", "recorded_at": when})
    assert r.status_code == 302
    sale.refresh_from_db()
    assert sale.status == "settled" and sale.recording_id == "SL-20260101-0001" and sale.disclosure_method == "e_signature"
    detail = text(client.get(reverse("wealth:sale", args=[sale.pk])))
    visit = ReturnVisit.objects.get(sale=sale)
    for piece in ("SL-20260101-0001", "甲一支行双录区1", "电子签名确认", sale.entry.txn_no, visit.assignee.name, "已成交",
                  "客户 <strong>C4</strong>"):
        assert piece in detail, piece
    assert 'data-testid="timeline"' in detail and "提交推介，售前校验通过" in detail


def test_only_the_seller_confirms(w):
    sale = propose(w)
    url = reverse("wealth:sale_confirm", args=[sale.pk])
    denials = security_count("denied")
    r = login_client(w.bank.om_a1).get(url)
    assert r.status_code == 403 and security_count("denied") == denials + 1
    r = login_client(w.bank.om_a1).post(url, {"disclosure_confirmed": "on", "disclosure_method": "counter_signature"})
    assert r.status_code == 403
    sale.refresh_from_db()
    assert sale.status == "proposed"
    # the detail page shows the action to the seller only
    assert 'data-testid="go-confirm"' not in text(login_client(w.bank.om_a1).get(reverse("wealth:sale", args=[sale.pk])))
    assert 'data-testid="go-confirm"' in text(login_client(w.bank.cm_a1).get(reverse("wealth:sale", args=[sale.pk])))


def test_withdraw_a_proposal(w):
    client = login_client(w.bank.cm_a1)
    sale = propose(w)
    url = reverse("wealth:sale_withdraw", args=[sale.pk])
    r = client.post(url, {"reason": ""}, follow=True)
    assert "请填写原因" in text(r)
    sale.refresh_from_db()
    assert sale.status == "proposed"
    client.post(url, {"reason": "客户暂不购买"})
    sale.refresh_from_db()
    assert sale.status == "withdrawn" and sale.end_reason == "客户暂不购买"
    r = client.post(url, {"reason": "再撤一次"}, follow=True)
    assert "不能撤回" in text(r) and "sale_state" in text(r)


def test_cancel_in_cooling_off_releases_the_hold(w):
    bank, client = w.bank, login_client(w.bank.cm_a1)
    services.qualified_investor_certify(actor=bank.cm_a1, customer_id=w.li.pk, basis="income", experience_years=3,
                                        evidence="纳税记录 2023-2025")
    sale = propose(w, "PRIV", amount=1_000_000 * CNY, customer_initiated=True)
    r = client.post(reverse("wealth:sale_confirm", args=[sale.pk]),
                    {"disclosure_confirmed": "on", "disclosure_method": "counter_signature"})
    assert r.status_code == 302
    sale.refresh_from_db()
    assert sale.status == "held"
    page = text(client.get(reverse("wealth:sale", args=[sale.pk])))
    assert 'data-testid="cancel"' in page and "冷静期截止" in page and 'data-testid="hold-status"' in page
    r = client.post(reverse("wealth:sale_cancel", args=[sale.pk]), {"reason": "客户冷静期内申请撤销"}, follow=True)
    assert "冻结资金已全额解冻" in text(r)
    sale.refresh_from_db()
    w.ledger.li_cny.refresh_from_db()
    assert sale.status == "cancelled" and w.ledger.li_cny.held_fen == 0
    assert AccountHold.objects.get(ref=sale.hold_ref).status == "released"


# ---- Lists, holdings, redemption ------------------------------------------------------------------------------------
def test_sales_list_filters_and_scope(w):
    bank = w.bank
    a = settled(w, "R2")
    b = propose(w, "R3")
    client = login_client(bank.cm_a1)
    html = text(client.get(reverse("wealth:sales")))
    assert a.number in html and b.number in html
    html = text(client.get(reverse("wealth:sales"), {"status": "settled"}))
    assert a.number in html and b.number not in html
    html = text(client.get(reverse("wealth:sales"), {"product": w.products["R3"].pk}))
    assert b.number in html and a.number not in html
    html = text(client.get(reverse("wealth:sales"), {"seller": bank.cm_a1.pk, "start": timezone.localdate().isoformat()}))
    assert a.number in html and b.number in html
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert a.number not in text(client.get(reverse("wealth:sales"), {"start": tomorrow}))
    r = client.get(reverse("wealth:sales"), {"start": "2026-13-45"})
    assert r.status_code == 200 and a.number in text(r)  # a bad date is ignored (and said so), not a crash
    # supervisor of A sees them; another branch's manager and supervisor do not
    assert a.number in text(login_client(bank.supervisor_a).get(reverse("wealth:sales")))
    for outsider in (bank.cm_b1, bank.supervisor_b):
        html = text(login_client(outsider).get(reverse("wealth:sales")))
        assert a.number not in html and b.number not in html


def test_holdings_and_redemption(w):
    client = login_client(w.bank.cm_a1)
    settled(w, "R2")
    h = Holding.objects.get()
    html = text(client.get(reverse("wealth:holdings")))
    assert "测试产品WM-R2" in html and "20,000.00" in html
    html = text(client.get(reverse("wealth:holdings"), {"customer": w.li.pk}))
    assert "测试产品WM-R2" in html
    page = text(client.get(reverse("wealth:holding", args=[h.pk])))
    assert 'data-testid="redeem-form"' in page and "wealth-redeem-data" in page
    url = reverse("wealth:holding_redeem", args=[h.pk])
    seq = audit_seq()
    for units, message in (("abc", "份额格式不正确"), ("0", "赎回份额必须大于零"), ("1.234", "份额最多保留两位小数"),
                           ("999999", "赎回份额超过持有份额")):
        html = text(client.post(url, {"units": units}))
        assert 'data-testid="field-error-units"' in html and message in html, units
    assert not Redemption.objects.exists() and verbs_since(seq) == []
    r = client.post(url, {"units": "5,000"}, follow=True)
    assert "已赎回 5,000.00 份" in text(r)
    h.refresh_from_db()
    assert h.units_x100 == 15_000 * CNY and Redemption.objects.count() == 1


def test_holding_of_a_time_deposit_is_not_redeemable_here(w):
    settled(w, "DEP")
    h = Holding.objects.get()
    page = text(login_client(w.bank.cm_a1).get(reverse("wealth:holding", args=[h.pk])))
    assert 'data-testid="redeem-form"' not in page and "提前支取请在柜面办理" in page


# ---- Return visits --------------------------------------------------------------------------------------------------
def test_return_visit_by_the_assignee_problem_opens_a_case(w):
    settled(w, "R2")
    visit = ReturnVisit.objects.get()
    assert visit.assignee_id != w.bank.cm_a1.pk
    client = login_client(visit.assignee)
    html = text(client.get(reverse("wealth:return_visits")))
    assert visit.sale.number in html and 'data-testid="visit-open"' in html
    url = reverse("wealth:return_visit", args=[visit.pk])
    assert 'data-testid="visit-form"' in text(client.get(url))
    seq = audit_seq()
    html = text(client.post(url, {}))
    assert "请选择是否联系到客户" in html
    html = text(client.post(url, {"reached": "yes", "understood_product": "yes"}))
    assert 'data-testid="field-error-understood_risk"' in html and "请选择“是”或“否”" in html
    html = text(client.post(url, {"reached": "yes", "understood_product": "yes", "understood_risk": "no",
                                  "voluntary": "yes", "received_documents": "yes"}))
    assert "发现问题时请记录客户的原话和情况" in html
    assert verbs_since(seq) == []
    r = client.post(url, {"reached": "yes", "understood_product": "yes", "understood_risk": "no", "voluntary": "yes",
                          "received_documents": "yes", "notes": "客户表示不清楚产品可能亏损本金"}, follow=True)
    visit.refresh_from_db()
    assert visit.outcome == "problem" and visit.complaint_id
    html = text(r)
    assert 'data-testid="visit-case"' in html
    from bankcrm.service.models import Complaint

    assert Complaint.objects.get(pk=visit.complaint_id).number in html


def test_unreached_counts_an_attempt(w):
    settled(w, "R2")
    visit = ReturnVisit.objects.get()
    r = login_client(visit.assignee).post(reverse("wealth:return_visit", args=[visit.pk]),
                                          {"reached": "no", "notes": "电话无人接听"}, follow=True)
    visit.refresh_from_db()
    assert visit.status == "open" and visit.attempts == 1 and "第 1 次" in text(r)


def test_the_seller_cannot_do_the_return_visit(w):
    settled(w, "R2")
    visit = ReturnVisit.objects.get()
    client = login_client(w.bank.cm_a1)
    url = reverse("wealth:return_visit", args=[visit.pk])
    assert visit.sale.number not in text(client.get(reverse("wealth:return_visits") + "?scope=open"))
    assert client.get(url).status_code == 404
    r = client.post(url, {"reached": "yes", "understood_product": "yes", "understood_risk": "yes", "voluntary": "yes",
                          "received_documents": "yes"})
    assert r.status_code == 404
    visit.refresh_from_db()
    assert visit.status == "open"


# ---- 360 panel and inbox --------------------------------------------------------------------------------------------
def test_customer_panel_and_inbox(w):
    bank = w.bank
    settled(w, "R2")
    waiting = propose(w, "R3")
    client = login_client(bank.cm_a1)
    page = text(client.get(reverse("customers:detail", args=[w.li.pk])))
    assert 'data-testid="wealth-panel"' in page and "测试产品WM-R2" in page and waiting.number in page
    assert 'data-testid="new-sale"' in page and new_url(w.li) in page
    inbox = text(client.get(reverse("core:inbox")))
    assert waiting.number in inbox and "待客户确认" in inbox
    visit = ReturnVisit.objects.get()
    inbox = text(login_client(visit.assignee).get(reverse("core:inbox")))
    assert visit.sale.number in inbox and "理财回访" in inbox


# ---- Scope ----------------------------------------------------------------------------------------------------------
def test_other_branch_and_non_managers_get_404(w):
    bank = w.bank
    done = settled(w, "R2")
    open_sale = propose(w, "R3")
    h, visit = Holding.objects.get(), ReturnVisit.objects.get()
    urls = [reverse("wealth:sale", args=[done.pk]), reverse("wealth:sale_confirm", args=[open_sale.pk]),
            reverse("wealth:holding", args=[h.pk]), reverse("wealth:return_visit", args=[visit.pk]),
            new_url(w.li), reverse("wealth:holdings") + f"?customer={w.li.pk}"]
    posts = [(reverse("wealth:sale_withdraw", args=[open_sale.pk]), {"reason": "越权"}),
             (reverse("wealth:holding_redeem", args=[h.pk]), {"units": "1"}),
             (reverse("wealth:return_visit", args=[visit.pk]), {"reached": "no"}),
             (reverse("wealth:sale_confirm", args=[open_sale.pk]), {"disclosure_confirmed": "on",
                                                                    "disclosure_method": "counter_signature"})]
    seq = audit_seq()
    for outsider in (bank.cm_b1, bank.supervisor_b, bank.intern):
        client = login_client(outsider)
        for url in urls:
            r = client.get(url)
            assert r.status_code in (404, 403), (outsider.staff_no, url, r.status_code)
            if r.status_code == 403:  # supervisors may not sell: refused before any look-up
                assert url.endswith(("/new/", "/confirm/")) and outsider == bank.supervisor_b
        for url, data in posts:
            assert client.post(url, data).status_code in (404, 403), (outsider.staff_no, url)
    assert verbs_since(seq) == []
    open_sale.refresh_from_db()
    assert open_sale.status == "proposed" and Holding.objects.get().units_x100 == h.units_x100


def test_every_page_renders_for_the_roles_that_hold_it(w):
    bank = w.bank
    done = settled(w, "R2")
    h = Holding.objects.get()
    pages = [reverse("wealth:sales"), reverse("wealth:sale", args=[done.pk]), reverse("wealth:holdings"),
             reverse("wealth:holding", args=[h.pk]), reverse("wealth:return_visits")]
    for staff in (bank.cm_a1, bank.om_a1, bank.supervisor_a, bank.compliance):
        client = login_client(staff)
        for url in pages:
            r = client.get(url)
            assert r.status_code in (200, 403), (staff.staff_no, url)
            if staff != bank.compliance or "return-visits" not in url:
                assert r.status_code == 200, (staff.staff_no, url)
    # access to customer data is logged
    from bankcrm.core.models import AccessEvent

    assert AccessEvent.objects.filter(view="wealth.sale_detail").exists()
    assert AuditEvent.objects.filter(verb="wealth.sale_settled").count() == 1


def test_every_read_path_logs_the_customers_shown(w):
    """R7 for the selling pages: each page that shows a customer's wealth data writes an access event naming them."""
    from bankcrm.core.models import AccessEvent

    done = settled(w, "R2")
    waiting = propose(w, "R3")
    h, visit = Holding.objects.get(), ReturnVisit.objects.get()
    cm, visitor = login_client(w.bank.cm_a1), login_client(visit.assignee)
    paths = {
        "sales": lambda: cm.get(reverse("wealth:sales")),
        "sale": lambda: cm.get(reverse("wealth:sale", args=[done.pk])),
        "sale_new": lambda: cm.get(new_url(w.li)),
        "sale_confirm": lambda: cm.get(reverse("wealth:sale_confirm", args=[waiting.pk])),
        "holdings": lambda: cm.get(reverse("wealth:holdings")),
        "holding": lambda: cm.get(reverse("wealth:holding", args=[h.pk])),
        "panel": lambda: cm.get(reverse("customers:detail", args=[w.li.pk])),
        "return_visits": lambda: visitor.get(reverse("wealth:return_visits")),
        "return_visit": lambda: visitor.get(reverse("wealth:return_visit", args=[visit.pk])),
    }
    missing = []
    for name, call in paths.items():
        last = AccessEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        assert call().status_code == 200, name
        if not any(str(w.li.pk) in e.subject_ids for e in AccessEvent.objects.filter(pk__gt=last)):
            missing.append(name)
    assert missing == []
