"""Issue 7's browser walk for complaints: a customer manager registers a complaint by letter from the customer's 360
page (the operations manager complained about is named and recused) and acknowledges it; the branch supervisor
assigns it and extends it to 30 days with a reason; the handler decides it with a root cause and a rectification
action; the decision letter (with the further routes) is printed; the queue, the 360 panel and the statistics show
it. Screenshots in var/screenshots (service-*.png)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import login, shot
from tests.ledger_helpers import build_ledger

pytestmark = [pytest.mark.e2e]


def test_complaint_from_receipt_to_decision_letter(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.service import services
    from bankcrm.service.models import Complaint, RootCause

    base = live_server.url
    led = build_ledger(bank)
    services.root_causes_install_default(actor=bank.admin)
    # an older request of the same customer, so the panel shows both kinds
    services.request_register(actor=bank.cm_a1, customer_id=led.zhang.pk, kind="enquiry", channel="phone",
                              subject="咨询大额存单起存金额")

    cm = browser_context()
    login(cm, base, "CM001")
    cm.goto(f"{base}/customers/{led.zhang.pk}/")
    cm.wait_for_selector("[data-testid=service-panel]")
    cm.click("[data-testid=new-complaint]")
    cm.wait_for_selector("[data-testid=on-file]")
    assert led.zhang_cny.masked_number in cm.inner_text("[data-testid=on-file]")
    cm.select_option("#id_channel", "letter")
    cm.select_option("#id_product_line", "wealth")
    cm.fill("#id_summary", "理财产品实际收益低于销售时口头承诺")
    cm.fill("#id_description", "客户来信称：购买“稳盈180天”时柜员口头承诺年化4%，到期实际年化2.1%。")
    cm.fill("#id_request", "要求补偿收益差额并道歉")
    cm.select_option("#id_staff_named", str(bank.om_a1.pk))
    shot(cm, "service-register")
    cm.click("[data-testid=complaint-submit]")
    cm.wait_for_selector("[data-testid=complaint-status]")
    c = Complaint.objects.get()
    assert c.staff_named_id == bank.om_a1.pk and c.decision_due_on == timezone.localdate() + timedelta(days=15)
    cm.click("[data-testid=acknowledge]")
    cm.wait_for_selector("[data-testid=notices]")
    assert cm.inner_text("[data-testid=complaint-status]") == "已受理"
    shot(cm, "service-acknowledged")

    # The branch supervisor assigns it (the named operations manager is not offered) and extends it to 30 days.
    device = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)
    sv = browser_context()
    login_with_totp(sv, base, "SV101", device)
    sv.click("nav >> text=投诉处理")
    sv.wait_for_selector("[data-testid=complaint-table]")
    assert c.number in sv.inner_text("[data-testid=complaint-table]")
    shot(sv, "service-queue")
    sv.goto(f"{base}/service/complaints/{c.pk}/")
    options = sv.inner_text("[data-testid=handler-select]")
    assert "陈运营" not in options and "郑客户" in options
    sv.select_option("[data-testid=handler-select]", str(bank.cm_a1.pk))
    sv.click("[data-testid=assign]")
    sv.wait_for_selector("[data-testid=handler] >> text=郑客户")
    sv.fill("[data-testid=extend-reason]", "短")
    sv.click("[data-testid=extend]")
    sv.wait_for_selector(".alert-danger >> text=reason_required")
    sv.fill("[data-testid=extend-reason]", "需调取销售录音录像并由总行理财部门核实宣传材料，15日内无法办结。")
    sv.click("[data-testid=extend]")
    sv.wait_for_selector("[data-testid=extended]")
    c.refresh_from_db()
    assert (c.extension_level, c.decision_due_on) == (1, timezone.localdate() + timedelta(days=30))
    assert "延期告知书" in sv.inner_text("[data-testid=notices]")
    shot(sv, "service-extended")

    # The handler decides with a root cause and a rectification action, then prints the letter.
    cm.goto(f"{base}/service/complaints/{c.pk}/")
    cm.fill("[data-testid=findings]", "经调取双录视频，柜员介绍产品时使用了“基本能拿到4%”的表述，属于不当承诺。")
    cm.check("[data-testid=decision-partly]")
    cm.fill("[data-testid=remedy]", "向客户当面致歉，补偿收益差额的50%计1,260元。")
    cm.select_option("[data-testid=root-cause-select]", str(RootCause.objects.get(code="MKT01").pk))
    cm.click("[data-testid=decide]")
    cm.wait_for_selector("[data-testid=decision]")
    assert cm.inner_text("[data-testid=decision]") == "部分成立"
    cm.fill("[data-testid=rect-action]", "对网点理财销售人员开展适当性与宣传用语专项培训")
    cm.select_option("[data-testid=rect-owner]", str(bank.om_a1.pk))
    cm.fill("[data-testid=rect-due]", (timezone.localdate() + timedelta(days=14)).isoformat())
    cm.click("[data-testid=rect-add]")
    cm.wait_for_selector("[data-testid=rectifications] >> text=专项培训")
    shot(cm, "service-decided")
    cm.click("[data-testid=letter-link]")
    cm.wait_for_selector("[data-testid=letter]")
    letter = cm.inner_text("[data-testid=letter]")
    for word in ("投诉处理决定书", "部分成立", "申请复核", "调解", "仲裁", "诉讼", c.number):
        assert word in letter, word
    shot(cm, "service-letter")
    cm.goto(f"{base}/service/complaints/{c.pk}/")
    with cm.expect_download() as dl:
        cm.click("[data-testid=letter-pdf]")
    assert open(dl.value.path(), "rb").read(4) == b"%PDF"

    # The 360 panel lists it first (open), with the request.
    cm.goto(f"{base}/customers/{led.zhang.pk}/")
    panel = cm.inner_text("[data-testid=service-panel]")
    assert c.number in panel and "咨询大额存单" in panel
    cm.locator("[data-testid=service-panel]").scroll_into_view_if_needed()
    shot(cm, "service-panel")

    # Statistics (supervisor): by root cause on a chart, cycle times per branch.
    sv.click("nav >> text=投诉统计")
    sv.wait_for_selector("[data-testid=cycle-table]")
    sv.wait_for_selector("#chart-byCause canvas")
    assert "甲一支行" in sv.inner_text("[data-testid=cycle-table]")
    shot(sv, "service-stats")
