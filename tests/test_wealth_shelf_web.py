"""The shelf, NAV, income-distribution, qualified-investor and AUM pages through the web: each page renders for the
roles that may see it and is 403/404 for the others; product forms create, edit and submit products (amounts in
yuan, rates in %), bad input shows the Chinese field errors with nothing written; approving a shelf request puts the
product on sale; NAVs and a distribution (preview, then payment) through the pages; the AUM page with and without
snapshots. Every page is read once for raw values (None, fen, untranslated template syntax)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bankcrm.approvals.models import PendingAction
from bankcrm.core.models import AuditEvent
from bankcrm.ledger.models import Account
from bankcrm.wealth import aum, services
from bankcrm.wealth.models import AumSnapshot, Payout, ProductNav, QualifiedInvestor, WealthProduct
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since
from tests.wealth_helpers import CNY, build_wealth, product

pytestmark = pytest.mark.django_db
P = WealthProduct


@pytest.fixture
def w(bank):
    return build_wealth(bank)


def page(r) -> str:
    """The page's HTML, checked for raw values: no None, no template syntax, no internal field names."""
    assert r.status_code == 200, r.status_code
    html = r.content.decode()
    body = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
    visible = re.sub(r"（错误代码：[^）]*）", "", re.sub(r"<[^>]+>", " ", body))  # stable codes are shown on purpose
    for raw in ("None", "{{", "{%", "_fen", "_bp", "x10000", "_x100"):
        assert raw not in visible, f"raw {raw!r} in page: …{visible[max(0, visible.find(raw) - 80):visible.find(raw) + 80]}…"
    return html


def form_data(**over) -> dict:
    today = timezone.localdate()
    data = {"code": "WM-NEW1", "name": "稳盈九十天", "name_en": "Steady 90", "kind": "wealth", "issuer": "甲理财有限责任公司",
            "risk_level": "2", "currency": "CNY", "min_amount": "50,000", "step": "1000", "term_days": "90",
            "open_ended": "", "subscribe_fee": "0.50", "redeem_fee": "0", "management_fee": "0.30",
            "benchmark": "3.20", "sales_start": today.isoformat(), "sales_end": (today + timedelta(days=20)).isoformat(),
            "maturity_date": (today + timedelta(days=120)).isoformat(), "private": "", "ledger_product": "",
            "description": "本产品为固定收益类理财产品。", "risk_disclosure": "理财非存款，产品有风险，投资须谨慎。"}
    data.update(over)
    return data


# ---- The shelf list -------------------------------------------------------------------------------------------------
def test_shelf_list_renders_for_every_viewer_and_filters(w, bank):
    draft = product(bank, "WM-DRAFT", level=1, shelve=False)
    for actor in (bank.cm_a1, bank.om_a1, bank.supervisor_a, bank.risk, bank.compliance, bank.admin, bank.intern,
                  bank.consultant):
        html = page(login_client(actor).get(reverse("wealth:products")))
        assert "WM-R2" in html and "PE-R3" in html and "10,000.00 元" in html
        # sellers see what is (or was) on the shelf; drafts only those who maintain or approve the shelf
        assert ("WM-DRAFT" in html) == (actor in (bank.admin, bank.compliance, bank.supervisor_a)), actor.staff_no
    cm = login_client(bank.cm_a1)
    html = page(cm.get(reverse("wealth:products") + "?level=4"))
    assert "WM-R4" in html and "WM-R2" not in html
    html = page(cm.get(reverse("wealth:products") + "?private=1"))
    assert "PE-R3" in html and "WM-R3" not in html
    html = page(cm.get(reverse("wealth:products") + "?kind=deposit"))
    assert "TD-1Y" in html and "WM-R2" not in html and "不评级" in html
    html = page(cm.get(reverse("wealth:products") + "?q=测试产品WM-R3&status=on_shelf"))
    assert "WM-R3" in html and "WM-R4" not in html
    html = page(login_client(bank.admin).get(reverse("wealth:products") + "?status=draft"))
    assert "WM-DRAFT" in html and "WM-R2" not in html and reverse("wealth:product_new") in html
    assert reverse("wealth:product_new") not in page(cm.get(reverse("wealth:products")))
    assert draft.status == P.Status.DRAFT


# ---- The product page -----------------------------------------------------------------------------------------------
def test_product_page_shows_fields_documents_nav_history_and_the_buttons_each_role_may_use(w, bank):
    p = w.products["R2"]
    today = timezone.localdate()
    for i, nav in enumerate((10_000, 10_050, 10_012)):
        services.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=today - timedelta(days=2 - i), nav_x10000=nav)
    url = reverse("wealth:product", args=[p.pk])
    om = page(login_client(bank.om_a1).get(url))
    assert "1.0012" in om and "-0.38%" in om and "+0.50%" in om and 'id="wealth-nav-data"' in om
    assert "产品说明书正文" in om and "风险揭示书正文" in om and "版本 v1" in om
    assert reverse("wealth:product_nav", args=[p.pk]) in om and reverse("wealth:product_distribution", args=[p.pk]) in om
    assert reverse("wealth:product_shelf", args=[p.pk]) not in om and "10,000.00 元" in om
    cm = page(login_client(bank.cm_a1).get(url))
    assert reverse("wealth:product_nav", args=[p.pk]) not in cm and reverse("wealth:product_edit", args=[p.pk]) not in cm
    admin = page(login_client(bank.admin).get(url))
    assert 'data-testid="shelf-off-form"' in admin and reverse("wealth:product_edit", args=[p.pk]) not in admin
    assert "shelf-requests" in admin  # the approval that put it on the shelf
    # deposits and insurance have no NAV
    dep = page(login_client(bank.om_a1).get(reverse("wealth:product", args=[w.products["DEP"].pk])))
    assert "定期存款按本金计价" in dep and reverse("wealth:product_nav", args=[w.products["DEP"].pk]) not in dep
    # a draft is invisible to sellers (404, never 403); an unknown id is 404
    draft = product(bank, "WM-DRAFT", level=1, shelve=False)
    assert login_client(bank.cm_a1).get(reverse("wealth:product", args=[draft.pk])).status_code == 404
    assert login_client(bank.cm_a1).get(reverse("wealth:product", args=[99999])).status_code == 404
    edit = page(login_client(bank.admin).get(reverse("wealth:product", args=[draft.pk])))
    assert reverse("wealth:product_edit", args=[draft.pk]) in edit and 'data-testid="shelf-on-form"' in edit


# ---- Create, edit, submit, approve ------------------------------------------------------------------------------------
def test_admin_creates_edits_and_submits_a_product_and_the_approval_puts_it_on_sale(w, bank):
    admin = login_client(bank.admin)
    page(admin.get(reverse("wealth:product_new")))
    r = admin.post(reverse("wealth:product_new"), form_data())
    assert r.status_code == 302, r.content.decode()[:2000]
    p = P.objects.get(code="WM-NEW1")
    assert (p.status, p.min_amount_fen, p.step_fen, p.subscribe_fee_bp, p.management_fee_bp, p.benchmark_bp,
            p.term_days, p.open_ended, p.documents_version) == (P.Status.DRAFT, 50_000 * CNY, 1_000 * CNY, 50, 30, 320,
                                                                90, False, 1)
    assert r["Location"] == reverse("wealth:product", args=[p.pk])
    # the edit form shows yuan and percent, never fen or basis points
    html = page(admin.get(reverse("wealth:product_edit", args=[p.pk])))
    assert 'value="50000.00"' in html and 'value="0.50"' in html and 'value="3.20"' in html
    r = admin.post(reverse("wealth:product_edit", args=[p.pk]),
                   form_data(name="稳盈九十天二期", description="本产品为固定收益类理财产品（修订）。"))
    assert r.status_code == 302
    p.refresh_from_db()
    assert (p.name, p.documents_version) == ("稳盈九十天二期", 2)
    # submit for approval → pending; a seller does not see it yet
    r = admin.post(reverse("wealth:product_shelf", args=[p.pk]), {"action": "on", "reason": "要素已核对"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.status == P.Status.PENDING_ON
    assert "WM-NEW1" not in page(login_client(bank.cm_a1).get(reverse("wealth:products")))
    assert login_client(bank.admin).get(reverse("wealth:product_edit", args=[p.pk])).status_code == 302  # not editable
    pa = PendingAction.objects.get(action_code="wealth.shelf_on", target_id=str(p.pk), status="pending")
    html = page(admin.get(reverse("wealth:product", args=[p.pk])))
    assert "pending-notice" in html and reverse("approvals:detail", args=[pa.pk]) in html
    # the maker cannot approve; compliance approves through the approvals page → on sale
    r = login_client(bank.compliance).post(reverse("approvals:decide", args=[pa.pk, "approve"]), {"reason": "同意上架"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.status == P.Status.ON_SHELF
    assert "WM-NEW1" in page(login_client(bank.cm_a1).get(reverse("wealth:products") + "?status=on_shelf"))
    # taking it off needs a reason
    r = admin.post(reverse("wealth:product_shelf", args=[p.pk]), {"action": "off", "reason": ""}, follow=True)
    assert "请填写下架原因" in r.content.decode() and "reason_required" in r.content.decode()
    p.refresh_from_db()
    assert p.status == P.Status.ON_SHELF
    admin.post(reverse("wealth:product_shelf", args=[p.pk]), {"action": "off", "reason": "募集期结束"})
    p.refresh_from_db()
    assert p.status == P.Status.PENDING_OFF


def test_a_time_deposit_and_a_usd_product_through_the_form(w, bank):
    from bankcrm.ledger.models import Product

    admin = login_client(bank.admin)
    t1y = Product.objects.get(code="T-1Y")
    html = page(admin.get(reverse("wealth:product_new")))
    assert f'value="{t1y.pk}"' in html
    r = admin.post(reverse("wealth:product_new"), form_data(
        code="td-2y", kind="deposit", risk_level="0", ledger_product=str(t1y.pk), min_amount="50", step="1",
        subscribe_fee="", redeem_fee="", management_fee="", benchmark="1.75", term_days="365", maturity_date=""))
    assert r.status_code == 302, r.content.decode()[:3000]
    p = P.objects.get(code="TD-2Y")  # codes are kept upper-case
    assert (p.kind, p.risk_level, p.ledger_product_id, p.min_amount_fen, p.subscribe_fee_bp, p.benchmark_bp,
            p.open_ended) == ("deposit", 0, t1y.pk, 50 * CNY, 0, 175, False)
    html = page(admin.get(reverse("wealth:product", args=[p.pk])))
    assert "不评级" in html and "定期存款（到期支取）" in html and "1.75%" in html and str(t1y) in html
    usd = product(bank, "WM-USD", level=2, currency="USD", min_amount_fen=5_000 * CNY)
    html = page(login_client(bank.cm_a1).get(reverse("wealth:product", args=[usd.pk])))
    assert "5,000.00 USD" in html


def test_bad_input_shows_chinese_field_errors_and_writes_nothing(w, bank):
    admin = login_client(bank.admin)
    url = reverse("wealth:product_new")
    before, seq = P.objects.count(), audit_seq()

    def errors(**over) -> str:
        r = admin.post(url, form_data(**over))
        assert r.status_code == 200
        return page(r)

    html = errors(min_amount="abc", subscribe_fee="0.123", benchmark="-1")
    assert "起购金额：金额格式不正确" in html and "认/申购费率最多保留 2 位小数" in html and "业绩比较基准不能为负数" in html
    assert 'data-testid="field-error-min_amount"' in html
    html = errors(kind="deposit", risk_level="3")
    assert "定期存款不评风险等级，请填 0" in html and 'data-testid="field-error-risk_level"' in html
    assert "定期存款须对应一个定期存款产品" in html and 'data-testid="field-error-ledger_product"' in html
    assert "product_invalid" in html  # the stable code with the message
    html = errors(private="on", risk_disclosure="", risk_level="3")
    assert "私募产品须上传风险揭示书" in html and 'data-testid="field-error-risk_disclosure"' in html
    html = errors(code="WM-R2")
    assert "产品代码 WM-R2 已存在" in html and 'data-testid="field-error-code"' in html
    html = errors(subscribe_fee="6")
    assert "费率不能超过 5%（500 基点）" in html and 'data-testid="field-error-subscribe_fee"' in html
    html = errors(name="", sales_start="")
    assert 'data-testid="field-error-name"' in html and 'data-testid="field-error-sales_start"' in html
    assert P.objects.count() == before and verbs_since(seq) == []
    # submitting a draft without documents is refused with its code, nothing changes
    bare = services.product_save(actor=bank.admin, code="WM-BARE", name="无文件", kind="wealth", issuer="甲理财",
                                 risk_level=2, sales_start=timezone.localdate())
    r = admin.post(reverse("wealth:product_shelf", args=[bare.pk]), {"action": "on"}, follow=True)
    assert "上架前须提供产品说明书和风险揭示书" in r.content.decode() and "documents_missing" in r.content.decode()
    bare.refresh_from_db()
    assert bare.status == P.Status.DRAFT


def test_who_may_reach_which_page(w, bank):
    p = w.products["R2"]
    cases = [  # (actor, method, url): 403 for lacking the capability, with a security-log entry
        (bank.cm_a1, "get", reverse("wealth:product_new")),
        (bank.supervisor_a, "get", reverse("wealth:product_edit", args=[p.pk])),
        (bank.compliance, "post", reverse("wealth:product_shelf", args=[p.pk])),
        (bank.cm_a1, "get", reverse("wealth:product_nav", args=[p.pk])),
        (bank.supervisor_a, "post", reverse("wealth:product_distribution", args=[p.pk])),
        (bank.supervisor_a, "get", reverse("wealth:qualified", args=[w.zhang.pk])),
        (bank.risk, "get", reverse("wealth:qualified", args=[w.zhang.pk])),
        (bank.om_a1, "get", reverse("wealth:aum")),
        (bank.consultant, "post", reverse("wealth:aum")),
        (bank.cm_a1, "post", reverse("wealth:aum")),  # reads AUM, but may not recompute the whole bank
    ]
    seq = audit_seq()
    for actor, method, url in cases:
        denied = security_count("denied")
        r = getattr(login_client(actor), method)(url)
        assert r.status_code == 403, (actor.staff_no, url, r.status_code)
        assert security_count("denied") == denied + 1
    assert verbs_since(seq) == []
    # anonymous → login page
    from django.test import Client

    for url in (reverse("wealth:products"), reverse("wealth:product", args=[p.pk]), reverse("wealth:aum"),
                reverse("wealth:qualified", args=[w.zhang.pk])):
        r = Client().get(url)
        assert r.status_code == 302 and r["Location"].startswith(reverse("org:login"))
    # the shelf request is POST only
    assert login_client(bank.admin).get(reverse("wealth:product_shelf", args=[p.pk])).status_code == 405
    # another branch's manager: the customer is 404, never 403
    assert login_client(bank.cm_b1).get(reverse("wealth:qualified", args=[w.zhang.pk])).status_code == 404
    assert login_client(bank.om_b1).get(reverse("wealth:qualified", args=[w.zhang.pk])).status_code == 404


# ---- NAV and income distribution ------------------------------------------------------------------------------------
def test_nav_and_distribution_through_the_pages(w, bank):
    p, led = w.products["R2"], w.ledger
    sale = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=p.pk, account_id=led.li_cny.pk,
                                 amount_fen=20_000 * CNY)
    services.sale_confirm(actor=bank.cm_a1, sale_id=sale.pk, disclosure_confirmed=True)
    om = login_client(bank.om_a1)
    today = timezone.localdate()
    nav_url = reverse("wealth:product_nav", args=[p.pk])
    page(om.get(nav_url))
    # bad NAVs: too many decimals, zero, a future date — Chinese field errors, nothing written
    html = page(om.post(nav_url, {"nav_date": today.isoformat(), "nav": "1.23456"}))
    assert "单位净值最多保留 4 位小数" in html and 'data-testid="field-error-nav"' in html
    html = page(om.post(nav_url, {"nav_date": today.isoformat(), "nav": "0"}))
    assert "单位净值必须大于零" in html
    html = page(om.post(nav_url, {"nav_date": (today + timedelta(days=1)).isoformat(), "nav": "1.01"}))
    assert "净值日期不能晚于今天" in html
    html = page(om.post(nav_url, {"nav_date": today.isoformat(), "nav": "150"}))
    assert "单位净值不能超过 100" in html and "nav_x10000_invalid" in html
    assert not ProductNav.objects.filter(product=p).exists()
    r = om.post(nav_url, {"nav_date": today.isoformat(), "nav": "1.0234"})
    assert r.status_code == 302 and r["Location"].endswith("#nav")
    assert ProductNav.objects.get(product=p, nav_date=today).nav_x10000 == 10_234
    om.post(nav_url, {"nav_date": today.isoformat(), "nav": "1.0240"})  # a same-day correction
    assert ProductNav.objects.get(product=p, nav_date=today).nav_x10000 == 10_240
    assert "1.0240" in page(om.get(reverse("wealth:product", args=[p.pk])))
    # no NAV for a deposit: back to the product with a message
    r = om.get(reverse("wealth:product_nav", args=[w.products["DEP"].pk]), follow=True)
    assert "该产品没有净值" in r.content.decode()

    # distribution: the preview shows holders and total and pays nothing; the confirmation pays once
    dist_url = reverse("wealth:product_distribution", args=[p.pk])
    page(om.get(dist_url))
    html = page(om.post(dist_url, {"record_date": today.isoformat(), "per_unit": "0.12345"}))
    assert "每份分配金额最多保留 4 位小数" in html
    units = 20_000 * CNY  # bought at NAV 1.0000, no fee
    expected = units * 150 // 10_000
    html = page(om.post(dist_url, {"record_date": today.isoformat(), "per_unit": "0.0150"}))
    assert 'data-testid="distribution-preview"' in html and "1 户" in html and "300.00 元" in html
    assert expected == 300 * CNY and not Payout.objects.exists()
    balance = Account.objects.get(pk=led.li_cny.pk).balance_fen
    r = om.post(dist_url, {"record_date": today.isoformat(), "per_unit": "0.0150", "confirm": "1"})
    assert r.status_code == 302
    pay = Payout.objects.get()
    assert (pay.kind, pay.amount_fen) == (Payout.Kind.INCOME, expected)
    assert Account.objects.get(pk=led.li_cny.pk).balance_fen == balance + expected
    # the same record date again (even with another amount): the preview says it is paid, confirming pays nothing
    html = page(om.post(dist_url, {"record_date": today.isoformat(), "per_unit": "0.0200"}))
    assert "该权益登记日的收益已全部分配" in html and "该登记日已分配" in html
    om.post(dist_url, {"record_date": today.isoformat(), "per_unit": "0.0200", "confirm": "1"})
    assert Payout.objects.count() == 1
    html = page(om.get(reverse("wealth:product", args=[p.pk])))
    assert 'data-testid="distributions"' in html and f"权益登记日 {today.isoformat()}" in html and "300.00 元" in html


# ---- Qualified investors --------------------------------------------------------------------------------------------
def test_qualified_investor_form_certifies_and_lists_earlier_certifications(w, bank):
    cm = login_client(bank.cm_a1)
    url = reverse("wealth:qualified", args=[w.zhang.pk])
    html = page(cm.get(url))
    assert "尚无有效的合格投资者认定" in html and "该客户还没有合格投资者认定记录" in html
    assert str(w.zhang.id_number) not in url and w.zhang.name not in url
    seq = audit_seq()
    html = page(cm.post(url, {"basis": "assets", "experience_years": "1", "evidence": "abc"}))
    assert "个人合格投资者须具有 2 年以上投资经历" in html and 'data-testid="field-error-experience_years"' in html
    assert "请注明证明材料" in html and 'data-testid="field-error-evidence"' in html and "qualified_invalid" in html
    html = page(cm.post(url, {"basis": "company", "experience_years": "3", "evidence": "资产证明 ZC-001"}))
    assert "单位客户适用净资产标准" in html and 'data-testid="field-error-basis"' in html
    html = page(cm.post(url, {"basis": "", "experience_years": "", "evidence": ""}))
    assert 'data-testid="field-error-basis"' in html and 'data-testid="field-error-evidence"' in html
    assert not QualifiedInvestor.objects.exists() and verbs_since(seq) == []
    r = cm.post(url, {"basis": "assets", "experience_years": "5", "evidence": "资产证明 ZC2026-0012"})
    assert r.status_code == 302 and r["Location"] == url
    q = QualifiedInvestor.objects.get(customer=w.zhang)
    assert (q.basis, q.experience_years, q.verified_by_id) == ("assets", 5, bank.cm_a1.pk)
    html = page(cm.get(url))
    assert 'data-testid="qualified-current"' in html and "资产证明 ZC2026-0012" in html and "有效" in html
    assert "wealth.qualified_investor" in verbs_since(seq)
    # coming from the sale flow: back to it afterwards; a foreign "next" is ignored
    back = f"/wealth/customers/{w.zhang.pk}/sales/new/"
    r = cm.post(url, {"basis": "income", "experience_years": "3", "evidence": "完税证明 WS-778", "next": back})
    assert r["Location"] == back
    r = cm.post(url + "?next=https://evil.example/", {"basis": "income", "experience_years": "3",
                                                      "evidence": "完税证明 WS-779"})
    assert r["Location"] == url
    assert QualifiedInvestor.objects.filter(customer=w.zhang).count() == 3
    # the page's read of the customer is in the access log
    from bankcrm.core.models import AccessEvent

    assert any(str(w.zhang.pk) in e.subject_ids for e in AccessEvent.objects.filter(view="wealth.qualified"))


# ---- AUM ------------------------------------------------------------------------------------------------------------
def test_aum_page_without_a_snapshot_offers_to_compute_it(w, bank):
    assert not AumSnapshot.objects.exists()
    sup = login_client(bank.supervisor_a)
    html = page(sup.get(reverse("wealth:aum")))
    assert 'data-testid="aum-empty"' in html and 'data-testid="aum-compute"' in html
    seq = audit_seq()
    r = sup.post(reverse("wealth:aum"))
    assert r.status_code == 302
    assert AumSnapshot.objects.filter(day=timezone.localdate()).exists()
    assert verbs_since(seq) == ["wealth.aum_snapshot"]
    ev = AuditEvent.objects.filter(verb="wealth.aum_snapshot").get()
    assert ev.actor_id == bank.supervisor_a.pk and ev.target_id == timezone.localdate().isoformat()
    html = page(sup.get(reverse("wealth:aum")))
    assert 'data-testid="aum-kpis"' in html and 'id="wealth-aum-data"' in html and "aum-empty" not in html


def test_aum_page_with_snapshots_shows_figures_within_scope(w, bank):
    p, led = w.products["R2"], w.ledger
    sale = services.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=p.pk, account_id=led.li_cny.pk,
                                 amount_fen=20_000 * CNY)
    services.sale_confirm(actor=bank.cm_a1, sale_id=sale.pk, disclosure_confirmed=True)
    today = timezone.localdate()
    aum.snapshot_run(day=today - timedelta(days=1))
    aum.snapshot_run(day=today)
    mine = AumSnapshot.objects.filter(day=today, manager_id=bank.cm_a1.pk)
    deposits = sum(s.deposits_fen for s in mine)
    wealth = sum(s.wealth_fen for s in mine)
    assert wealth == 20_000 * CNY
    cm = login_client(bank.cm_a1)
    html = page(cm.get(reverse("wealth:aum")))
    assert "本人管户客户" in html and today.isoformat() in html
    assert f"{(deposits + wealth) / 1_000_000:,.2f}" in html and "2.00" in html  # 20,000 yuan of wealth = 2.00 万元
    assert "郑客户" in html and "甲一支行" in html and "富裕客户" in html
    assert "暂无对比数据" in html  # yesterday (as of its end) the accounts were still empty
    # a day before with half today's assets: the change against it shows
    AumSnapshot.objects.filter(day=today - timedelta(days=1)).update(deposits_fen=F("deposits_fen") + 75_000_000,
                                                                      total_fen=F("total_fen") + 75_000_000)
    html = page(cm.get(reverse("wealth:aum")))
    assert "+100.00%" in html and f"较 {(today - timedelta(days=1)).isoformat()}" in html
    html = page(login_client(bank.compliance).get(reverse("wealth:aum")))
    assert "全行" in html and "乙一支行" in html
    html = page(login_client(bank.supervisor_b).get(reverse("wealth:aum")))
    assert "乙分行及下辖机构" in html and "甲一支行" not in html and "郑客户" not in html
    # a customer manager without customers of their own sees no snapshot of others
    html = page(login_client(bank.intern).get(reverse("wealth:aum")))
    assert 'data-testid="aum-empty"' in html


def test_nav_entries_show_by_capability(w, bank):
    html = page(login_client(bank.om_a1).get(reverse("wealth:products")))
    assert reverse("wealth:products") in html and reverse("wealth:aum") not in html
    html = page(login_client(bank.supervisor_a).get(reverse("wealth:products")))
    assert reverse("wealth:aum") in html
