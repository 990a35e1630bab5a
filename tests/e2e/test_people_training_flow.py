"""Issue 8's training walk: an intern signs in and finds the course due on the home page (培训待办), opens it, reads
it, answers the quiz — the first attempt fails (the wrong answers marked, the right ones not shown), the second
passes — and gets the certificate, which 我的培训 lists with its number. Their supervisor then sees the team matrix
with the intern's course done. Screenshots in var/screenshots (people-training-*.png)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import login, shot

pytestmark = [pytest.mark.e2e]


def test_intern_completes_a_course_and_quiz(live_server, transactional_db, bank, browser_context):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.people import training_services as ts
    from bankcrm.people.models import Assignment, Certificate, Course, QuizAttempt

    base = live_server.url
    ts.curriculum_install_default(actor=None)
    ts.assignments_sync()
    course = Course.objects.get(code="communication")
    today = timezone.localdate()
    Assignment.objects.filter(staff=bank.intern, course=course).update(due_on=today + timedelta(days=3))
    Assignment.objects.filter(staff=bank.intern, course__code="crm-regulation").update(due_on=today - timedelta(days=1))

    page = browser_context()
    login(page, base, "IN001")
    page.wait_for_selector("[data-testid=welcome]")
    section = page.inner_text("[data-testid=home-training]")
    assert "培训待办" in section and "沟通技巧" in section and "3 天后到期" in section and "已逾期 1 天" in section
    shot(page, "people-training-01-home")

    page.click("[data-testid=home-training] >> text=沟通技巧")
    page.wait_for_selector("[data-testid=quiz]")
    assert "沟通技巧" in page.inner_text("[data-testid=course-title]")
    assert "倾听与确认" in page.inner_text("[data-testid=course-body]")
    assert "完成期限" in page.inner_text("[data-testid=course-due]")
    shot(page, "people-training-02-course")

    answers = [q["answer"] for q in course.quiz]
    # first attempt: two answers wrong
    for i, a in enumerate(answers):
        page.check(f"#q{i}-{(a + 1) % 4 if i in (1, 3) else a}")
    shot(page, "people-training-03-quiz")
    page.click("[data-testid=quiz-submit]")
    page.wait_for_selector("[data-testid=result]")
    assert page.inner_text("[data-testid=score]") == "60"
    assert page.locator("[data-testid=failed]").is_visible()
    assert page.locator("[data-testid=answer-wrong]").count() == 2
    assert "标准答案" not in page.inner_text("[data-testid=answers]")
    shot(page, "people-training-04-failed")

    page.click("[data-testid=retry]")
    page.wait_for_selector("[data-testid=quiz]")
    for i, a in enumerate(answers):
        page.check(f"#q{i}-{a}")
    page.click("[data-testid=quiz-submit]")
    page.wait_for_selector("[data-testid=passed]")
    assert page.inner_text("[data-testid=score]") == "100"
    cert = Certificate.objects.get(staff=bank.intern, course=course)
    assert cert.number in page.inner_text("[data-testid=certificate]")
    assert QuizAttempt.objects.filter(staff=bank.intern, course=course).count() == 2
    assert Assignment.objects.get(staff=bank.intern, course=course).status == "completed"
    shot(page, "people-training-05-passed")

    page.goto(f"{base}/people/training/")
    page.wait_for_selector("[data-testid=training-certs]")
    assert cert.number in page.inner_text("[data-testid=training-certs]")
    assert "沟通技巧" not in page.inner_text("[data-testid=training-open]")
    shot(page, "people-training-06-my-training")

    # the supervisor of branch A sees the team: the intern's course done, the overdue one red
    device = TOTPDevice.objects.create(user=bank.supervisor_a, name="phone", confirmed=True)
    sv = browser_context()
    login_with_totp(sv, base, "SV101", device)
    sv.goto(f"{base}/people/training/team/")
    sv.wait_for_selector("[data-testid=team-matrix]")
    row = sv.locator("[data-testid=team-row]", has_text="IN001")
    assert "已逾期" in row.inner_text() and "有效" in row.inner_text()
    shot(sv, "people-training-07-team")
