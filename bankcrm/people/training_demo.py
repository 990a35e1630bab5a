"""Demo training data (after the service demo, before surveys): the default curriculum, requirements and gate rules
installed; every member of staff assigned what their roles and employment type require; most staff certified over
the last months through the quiz (a few after a failed first attempt) or by attestation, the dates spread back in
time so that the certificates have a history. Scenarios:

- **CM002** (customer manager) holds a suitability certificate that expired last month: selling R4/R5 is refused
  (「需要有效的《适当性管理与销售行为规范》培训证书（已于 … 过期）」) and the re-training is overdue on 我的培训;
- **IN001** (intern) has the onboarding courses open, one overdue and two due within days: the home page shows
  培训待办; the quiz can be failed and passed;
- **OM001**'s AML certificate and **SV101**'s complaints certificate expire within weeks: the re-training is already
  assigned and the inbox reminds them;
- a few other staff leave a course open (some overdue), so 团队培训 shows red cells for the supervisors.

Dates are moved back by plain updates after the services issued the certificates (demo history only)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo

GATED = {"suitability-sales", "aml-kyc", "complaints"}
SCENARIO = {"expired_seller": "CM002", "intern": "IN001", "expiring": ("OM001", "SV101")}


def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def _backdate(cert: Any, issued_on: date, rng: Any) -> None:
    from . import training_rules as rules
    from .models import Assignment, Certificate, QuizAttempt

    when = _at(issued_on, rng.randint(9, 17))
    expires = rules.expiry_date(issued_on, cert.course.validity_months)
    Certificate.objects.filter(pk=cert.pk).update(issued_at=when, expires_on=expires)
    if cert.attempt_id:
        recent = QuizAttempt.objects.filter(staff_id=cert.staff_id, course_id=cert.course_id,
                                            submitted_at__gte=timezone.now() - timedelta(hours=1))
        recent.filter(passed=True).update(submitted_at=when)
        recent.filter(passed=False).update(submitted_at=when - timedelta(minutes=25))  # the failed try came first
    Assignment.objects.filter(certificate=cert).update(completed_at=when, assigned_at=when - timedelta(days=10),
                                                       due_on=issued_on + timedelta(days=rng.randint(3, 20)))


def _certify(staff: Any, course: Any, rng: Any, *, fail_first: bool = False) -> Any:
    from . import training_services as svc

    right = [q["answer"] for q in course.quiz]
    with transaction.atomic():
        if not course.quiz:
            return svc.attest(actor=staff, course_id=course.pk)
        if fail_first:
            wrong = list(right)
            for i in rng.sample(range(len(wrong)), 2):
                wrong[i] = (wrong[i] + rng.randint(1, 3)) % 4
            svc.quiz_submit(actor=staff, course_id=course.pk, answers=wrong)
        answers = list(right)
        if rng.random() < 0.3:  # some pass with one mistake (80 points)
            i = rng.randrange(len(answers))
            answers[i] = (answers[i] + 1) % 4
        return svc.quiz_submit(actor=staff, course_id=course.pk, answers=answers).certificate


def seed_training(ctx: demo.SeedContext) -> None:
    from bankcrm.org.models import Staff

    from . import training_rules as rules
    from . import training_services as svc
    from .models import Assignment, Course

    rng = ctx.rng
    today = timezone.localdate()
    with transaction.atomic():
        installed = svc.curriculum_install_default(actor=None)
        svc.assignments_sync(today=today)
    courses = {c.code: c for c in Course.objects.all()}
    staff = {s.staff_no: s for s in Staff.objects.filter(is_active=True).with_roles()}
    intern = staff.get(SCENARIO["intern"])
    certified = 0
    left_open = 0
    for s in sorted(staff.values(), key=lambda x: x.staff_no):
        if s.staff_no == SCENARIO["intern"]:
            continue
        open_ = list(Assignment.objects.filter(staff=s, status="open").select_related("course").order_by("course__code"))
        for a in open_:
            course = courses[a.course.code]
            # a few courses stay open (the teams show them); employees always hold the certificates the gates ask
            # for, so that the demo's approvals, sales and complaints work for everyone but the scenarios
            gated = s.employment_type == "employee" and course.code in GATED
            if not gated and ((s.employment_type != "employee" and rng.random() < 0.5) or rng.random() < 0.08):
                if rng.random() < 0.5:
                    Assignment.objects.filter(pk=a.pk).update(due_on=today - timedelta(days=rng.randint(1, 20)))
                left_open += 1
                continue
            cert = _certify(s, course, rng, fail_first=rng.random() < 0.12)
            months = course.validity_months or 14
            back = rng.randint(20, max(21, min(330, months * 30 - 40)))
            _backdate(cert, today - timedelta(days=back), rng)
            certified += 1
    # The scenarios -------------------------------------------------------------------------------------------
    seller = staff.get(SCENARIO["expired_seller"])
    if seller is not None:
        sale = courses["suitability-sales"]
        cert = (seller.certificates.filter(course=sale, revoked_at__isnull=True).order_by("-issued_at").first()
                or _certify(seller, sale, rng))
        _backdate(cert, rules.add_months(today, -12) - timedelta(days=24), rng)  # expired 25 days ago
    for no, code, days in ((SCENARIO["expiring"][0], "aml-kyc", 12), (SCENARIO["expiring"][1], "complaints", 20)):
        s = staff.get(no)
        if s is None:
            continue
        course = courses[code]
        cert = (s.certificates.filter(course=course, revoked_at__isnull=True).order_by("-issued_at").first()
                or _certify(s, course, rng))
        _backdate(cert, rules.add_months(today + timedelta(days=days + 1), -(course.validity_months or 12)), rng)
    with transaction.atomic():
        again = svc.assignments_sync(today=today)  # expired / expiring certificates: re-training assigned
    if seller is not None:  # CM002's re-training is overdue: the certificate lapsed weeks ago
        Assignment.objects.filter(staff=seller, course__code="suitability-sales", status="open").update(
            due_on=today - timedelta(days=4))
    if intern is not None:
        due = {"crm-regulation": -2, "communication": 3, "complaints": 5}
        for a in Assignment.objects.filter(staff=intern, status="open").select_related("course"):
            if a.course.code in due:
                Assignment.objects.filter(pk=a.pk).update(due_on=today + timedelta(days=due[a.course.code]))
        privacy = courses["privacy"]
        cert = _certify(intern, privacy, rng, fail_first=True)  # one done already, after a failed first try
        _backdate(cert, today - timedelta(days=6), rng)
    with transaction.atomic():
        reminded = svc.training_reminders(today=today)
    ctx.out(f"  培训：课程 {installed['courses']} 门、培训要求 {installed['requirements']} 条、准入规则 "
            f"{installed['gate_rules']} 条；证书 {certified} 张，未完成 {left_open} 项，复训分派 {again['created']} 项，"
            f"提醒 {reminded['assignments'] + reminded['certificates']} 项")
    ctx.out(f"  培训场景：{SCENARIO['expired_seller']} 的适当性销售证书已过期（销售 R4/R5 被拒绝）；"
            f"{SCENARIO['intern']} 实习生有待完成的入职课程（首页“培训待办”）；"
            f"{'、'.join(SCENARIO['expiring'])} 的证书即将到期（已安排复训）")


demo.register("people_training", 52, seed_training)
