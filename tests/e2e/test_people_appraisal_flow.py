"""Issue 8's appraisal walk: a customer manager's 2026Q3 scorecard, computed from the data (surveys, a complaint,
retention), self-assessed; the sub-branch's supervisor opens 团队考核, opens the card, drills into a figure's evidence,
reviews with a comment and an adjustment, and signs it off; the customer manager then sees the signed result.
Screenshots in var/screenshots (people-appraisal-*.png)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.db import transaction
from django.utils import timezone

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import login, shot

pytestmark = [pytest.mark.e2e]
TZ = timezone.get_default_timezone()


def _seed(bank):
    from bankcrm.customers.models import Customer, ManagerAssignment
    from bankcrm.people import appraisal_services as svc
    from bankcrm.service.models import Complaint
    from bankcrm.surveys import services as survey_services
    from bankcrm.surveys.models import Campaign, Invitation, Response

    template = survey_services.template_install_default(actor=bank.admin)
    camp = Campaign.objects.create(name="季度满意度调查", trigger="periodic", template=template, branch=bank.head,
                                   branch_path=bank.head.path, created_by=bank.admin)
    names = ["李秀英", "王建国", "张丽华", "刘伟", "陈静", "杨帆"]
    scores = [(5, 10), (4, 9), (5, 8), (3, 6), (4, 9), (5, 10)]
    for i, (name, (csat, nps)) in enumerate(zip(names, scores, strict=True)):
        c = Customer.objects.create(customer_no=f"E2E{i:05d}", name=name, id_type="passport", id_number=f"EE{i:07d}",
                                    branch=bank.a1, created_by=bank.admin)
        Customer.objects.filter(pk=c.pk).update(created_at=datetime(2025, 3, 1, tzinfo=TZ))
        ManagerAssignment.objects.create(customer=c, staff=bank.cm_a1, role="primary",
                                         started_at=datetime(2025, 3, 1, tzinfo=TZ), assigned_by=bank.admin)
        inv = Invitation.objects.create(campaign=camp, template=template, customer=c, manager=bank.cm_a1,
                                        branch=bank.a1, branch_path=bank.a1.path, trigger="periodic", channel="sms",
                                        source_ref=f"e2e-{i}", status="answered")
        Response.objects.create(invitation=inv, customer=c, csat=csat, nps=nps,
                                created_at=datetime(2026, 8, 10 + i, 15, tzinfo=TZ))
        if i == 3:
            Complaint.objects.create(number="CP2026080001", channel="branch", summary="理财产品到期提醒不及时",
                                     customer=c, branch_path=bank.a1.path, branch=bank.a1,
                                     received_at=datetime(2026, 8, 20, 10, tzinfo=TZ), ack_due_on=date(2026, 8, 21),
                                     decision_due_on=date(2026, 9, 4))
    with transaction.atomic():
        svc.schemes_install_default(actor=bank.admin)
        period = svc.period_open(actor=bank.admin, year=2026, quarter=3)
    svc.scorecards_compute(actor=bank.admin, period_id=period.pk)
    from bankcrm.people.models import Scorecard

    card = Scorecard.objects.get(staff=bank.cm_a1, period=period)
    with transaction.atomic():
        svc.scorecard_self_assess(actor=bank.cm_a1, scorecard_id=card.pk,
                                  comment="本季度完成全部客户回访，满意度保持在较高水平；一件投诉已妥善处理。")
    return period, card


def test_supervisor_reviews_and_signs_off_a_quarterly_scorecard(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.people.models import Scorecard

    base = live_server.url
    period, card = _seed(bank)

    # The customer manager sees the card, every line with its definition, waiting for the supervisor.
    cm = browser_context()
    login(cm, base, "CM001")
    cm.wait_for_selector("[data-testid=welcome]")
    shot(cm, "people-appraisal-home-cm")
    cm.goto(f"{base}/people/appraisal/")
    cm.wait_for_selector("[data-testid=card-lines]")
    cm.wait_for_selector("#appraisal-radar canvas")
    assert "待上级评价" in cm.inner_text("[data-testid=card-status]")
    shot(cm, "people-appraisal-my-card")

    # The supervisor of branch 101 (which holds 10101) reviews it.
    device = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)
    sv = browser_context()
    sv.on("dialog", lambda d: d.accept())
    login_with_totp(sv, base, "SV101", device)
    sv.goto(f"{base}/people/appraisal/team/?period={period.pk}")
    sv.wait_for_selector("[data-testid=team-table]")
    sv.wait_for_selector("#appraisal-dist canvas")
    assert sv.locator("[data-testid=team-row-CM001]").count() == 1
    shot(sv, "people-appraisal-team")
    sv.click("[data-testid=open-CM001]")
    sv.wait_for_selector("[data-testid=review-form]")
    shot(sv, "people-appraisal-review")

    # Drill into the complaint-rate figure: the complaint behind it, the customer's name masked.
    sv.click("[data-testid=value-complaint_rate]")
    sv.wait_for_selector("[data-testid=evidence-table]")
    text = sv.inner_text("[data-testid=evidence-table]")
    assert "CP2026080001" in text and "刘*" in text and "刘伟" not in text
    shot(sv, "people-appraisal-evidence")
    sv.click("[data-testid=back-to-card]")

    # An adjustment beyond the limit is refused next to the field; then a valid review.
    sv.fill("#id_comment", "客户满意度高，投诉处理及时。")
    sv.fill("#id_adjustment", "15")
    sv.click("[data-testid=review-submit]")
    sv.wait_for_selector("[data-testid=field-error-adjustment]")
    shot(sv, "people-appraisal-review-error")
    sv.fill("#id_comment", "客户满意度高，投诉处理及时。")
    sv.fill("#id_adjustment", "2")
    sv.click("[data-testid=review-submit]")
    sv.wait_for_selector("[data-testid=sign-off]")
    sv.click("[data-testid=sign-off]")
    sv.wait_for_selector("[data-testid=signed-off]")
    shot(sv, "people-appraisal-signed")
    card = Scorecard.objects.get(pk=card.pk)
    assert card.status == "signed_off" and card.review_adjustment == 200 and card.signed_off_by_id == bank.supervisor_a.pk
    assert card.final_score == card.computed_score + 200

    # The customer manager sees the signed result and may appeal within the window.
    cm.goto(f"{base}/people/appraisal/")
    cm.wait_for_selector("[data-testid=signed-off]")
    assert cm.locator("[data-testid=appeal-submit]").count() == 1
    shot(cm, "people-appraisal-signed-cm")
