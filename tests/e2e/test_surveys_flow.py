"""Issue 7's survey walk: a quarterly campaign is sampled and sent; the branch supervisor sees the SMS in the message
outbox (消息发件箱); the customer opens the one-time link on a phone (390×844), gives a low score with a comment and
submits; the low score opens a feedback case assigned to the manager's supervisor; the link then says "already
submitted"; the supervisor sees the answer and the analytics. Screenshots in var/screenshots (surveys-*.png)."""

from __future__ import annotations

import pytest
from django.db import transaction

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import shot
from tests.ledger_helpers import build_ledger

pytestmark = [pytest.mark.e2e]


@pytest.fixture
def contexts(browser):
    made = []

    def make(**kw):
        ctx = browser.new_context(locale="zh-CN", **kw)
        made.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in made:
        ctx.close()


def test_customer_answers_on_a_phone_and_the_low_score_opens_a_case(live_server, transactional_db, bank, contexts):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.core import outbox
    from bankcrm.surveys import services
    from bankcrm.surveys.models import OutboxMessage, Response
    from tests.test_surveys_tokens import consent, periodic_campaign

    base = live_server.url
    led = build_ledger(bank)
    consent(bank, led.zhang)
    consent(bank, led.li)
    campaign = periodic_campaign(bank.admin, name="客户经理服务季度满意度调查")
    with transaction.atomic():
        services.campaign_run(actor=bank.admin, campaign_id=campaign.pk)
    assert services.dispatch() == {"sent": 2, "cancelled": 0}

    # The supervisor of branch A reads the outbox (demo transport) and finds zhang's invitation.
    device = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)
    staff = contexts(viewport={"width": 1366, "height": 900})
    login_with_totp(staff, base, "SV101", device)
    staff.click("nav >> text=消息发件箱")
    staff.wait_for_selector("[data-testid=outbox-table]")
    assert staff.locator("[data-testid=outbox-row]").count() == 2
    assert "13812345678" not in staff.inner_text("[data-testid=outbox-table]")  # recipients masked
    shot(staff, "surveys-outbox")
    link = OutboxMessage.objects.get(invitation__customer=led.zhang).link()
    assert staff.locator(f"[data-testid=outbox-link][href='{link}']").count() == 1

    # The customer on a phone.
    phone = contexts(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    phone.goto(base + link)
    phone.wait_for_selector("[data-testid=survey-form]")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    shot(phone, "surveys-phone-form")
    phone.click("[data-testid=survey-submit]")  # nothing chosen: the required questions are marked
    phone.wait_for_selector("[data-testid=survey-error]")
    shot(phone, "surveys-phone-required")
    phone.click("[data-testid=csat-2]")
    phone.click("[data-testid=nps-3]")
    phone.fill("[data-testid=comment-text]", "排队等了一个多小时，只开了两个窗口，客户经理也不回消息")
    shot(phone, "surveys-phone-filled")
    phone.click("[data-testid=survey-submit]")
    phone.wait_for_selector("[data-testid=survey-thanks]")
    shot(phone, "surveys-phone-thanks")
    r = Response.objects.get(customer=led.zhang)
    assert (r.csat, r.nps, r.sentiment, r.low_score) == (2, 3, "negative", True) and "排队" in r.keywords

    # The relay delivers the follow-up: a feedback case for the supervisor, not the manager.
    while outbox.consume("surveys_followup"):
        pass
    r.refresh_from_db()
    from bankcrm.service.models import Complaint

    case = Complaint.objects.get(source_ref=f"survey:{r.invitation_id}")
    assert r.case_ref == case.number and case.handler_id == bank.supervisor_a.pk != bank.cm_a1.pk

    # The link is single-use.
    phone.goto(base + link)
    phone.wait_for_selector("[data-testid=survey-closed][data-reason=used]")
    shot(phone, "surveys-phone-used")

    # The supervisor sees the answer with its case, and the analytics.
    staff.click("nav >> text=调查答卷")
    staff.wait_for_selector("[data-testid=response-table]")
    assert case.number in staff.inner_text("[data-testid=response-table]")
    shot(staff, "surveys-responses")
    staff.click("nav >> text=满意度分析")
    staff.wait_for_selector("[data-testid=survey-kpis]")
    staff.wait_for_load_state("load")
    assert staff.inner_text("[data-testid=kpi-answers]") == "1"
    shot(staff, "surveys-dashboard")
    staff.goto(f"{base}/customers/{led.zhang.pk}/")
    staff.wait_for_selector("[data-testid=surveys-panel]")
    assert "满意度 2/5" in staff.inner_text("[data-testid=surveys-panel]")
    shot(staff, "surveys-customer-panel")
