"""Training (issue #8): the pure rules (scores, expiry, who must take what, re-training; Hypothesis), the shipped
curriculum, and the services — install, requirement synchronisation (idempotent, periodic re-assignment, waivers),
quizzes scored on the server, attestation, a new course version re-assigning everyone affected, manual assignment in
scope, external certificates, revocation, attachments and reminders."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.people import training_rules as rules
from bankcrm.people import training_services as ts
from bankcrm.people.models import Assignment, Certificate, Course, GateRule, QuizAttempt, Requirement
from tests.helpers import audit_seq, verbs_since

pytestmark = pytest.mark.django_db


# ---- Pure rules ------------------------------------------------------------------------------------------------------
def quiz(n: int, answer: int = 0) -> list[dict]:
    return [{"q": f"题{i}", "options": ["甲", "乙", "丙", "丁"], "answer": (answer + i) % 4} for i in range(n)]


def right(qz: list[dict]) -> list[int]:
    return [q["answer"] for q in qz]


def test_score_hand_cases():
    qz = quiz(5)
    assert rules.score(qz, right(qz)) == 100
    four = right(qz)
    four[0] = (four[0] + 1) % 4
    assert rules.score(qz, four) == 80 and rules.passed(80, 80)
    four[1] = (four[1] + 1) % 4
    assert rules.score(qz, four) == 60 and not rules.passed(60, 80)
    assert rules.wrong_questions(qz, four) == [0, 1]
    assert rules.score(quiz(3), [9, 9, 9]) == 0
    q3 = quiz(3)
    assert rules.score(q3, [q3[0]["answer"], q3[1]["answer"], 9]) == 66  # rounded down: never passes by rounding
    assert rules.score([], []) == 100


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30), st.data())
def test_score_properties(n, data):
    qz = quiz(n, data.draw(st.integers(0, 3)))
    answers = data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    s = rules.score(qz, answers)
    assert 0 <= s <= 100
    assert (s == 100) == (answers == right(qz))
    wrong = rules.wrong_questions(qz, answers)
    if wrong:  # fixing one wrong answer never lowers the score
        better = list(answers)
        better[wrong[0]] = qz[wrong[0]]["answer"]
        assert rules.score(qz, better) >= s
    assert s == (n - len(wrong)) * 100 // n


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2000, 1, 1), date(2090, 12, 31)), st.integers(1, 120))
def test_expiry_properties(issued, months):
    exp = rules.expiry_date(issued, months)
    assert exp is not None and exp >= issued
    assert rules.certificate_valid(cert_version=1, course_version=1, expires_on=exp, revoked=False, day=exp)
    assert not rules.certificate_valid(cert_version=1, course_version=1, expires_on=exp, revoked=False,
                                       day=exp + timedelta(days=1))
    assert rules.add_months(issued, months) == exp + timedelta(days=1)


def test_expiry_and_state_hand_cases():
    assert rules.expiry_date(date(2026, 1, 31), 1) == date(2026, 2, 27)
    assert rules.expiry_date(date(2026, 3, 1), 12) == date(2027, 2, 28)
    assert rules.expiry_date(date(2026, 3, 1), None) is None
    st_ = rules.certificate_state
    d = date(2026, 6, 1)
    assert st_(cert_version=1, course_version=1, expires_on=None, revoked=False, day=d) == rules.VALID
    assert st_(cert_version=1, course_version=2, expires_on=None, revoked=False, day=d) == rules.OUTDATED
    assert st_(cert_version=2, course_version=2, expires_on=date(2026, 5, 31), revoked=False, day=d) == rules.EXPIRED
    assert st_(cert_version=2, course_version=2, expires_on=None, revoked=True, day=d) == rules.REVOKED


def test_requirement_applies_and_retraining():
    ap = rules.requirement_applies
    assert ap(req_roles=[], req_types=[], staff_roles=[], staff_type="intern")
    assert ap(req_roles=["customer_manager"], req_types=[], staff_roles={"customer_manager"}, staff_type="employee")
    assert not ap(req_roles=["customer_manager"], req_types=[], staff_roles={"risk_manager"}, staff_type="employee")
    assert not ap(req_roles=["customer_manager"], req_types=["employee"], staff_roles={"customer_manager"},
                  staff_type="intern")
    assert ap(req_roles=[], req_types=["intern", "temporary"], staff_roles={"operations_manager"}, staff_type="temporary")
    assert rules.due_date(date(2026, 1, 1), 30) == date(2026, 1, 31)
    nxt = rules.retraining_due_on(issued_on=date(2025, 7, 1), expires_on=date(2026, 6, 30), period_months=12)
    assert nxt == date(2026, 7, 1)
    assert rules.retraining_due_on(issued_on=date(2025, 7, 1), expires_on=None, period_months=None) is None
    assert rules.retraining_due_on(issued_on=date(2025, 7, 1), expires_on=date(2026, 1, 31), period_months=24) == \
        date(2026, 2, 1)
    assert not rules.retraining_needed(next_due=nxt, today=date(2026, 5, 31), lead_days=30)
    assert rules.retraining_needed(next_due=nxt, today=date(2026, 6, 1), lead_days=30)
    assert rules.retraining_assignment_due(next_due=nxt, today=date(2026, 6, 1), due_days=30) == nxt
    assert rules.retraining_assignment_due(next_due=nxt, today=date(2026, 8, 1), due_days=30) == date(2026, 8, 31)
    assert rules.urgency(date(2026, 1, 1), date(2026, 1, 2), 7) == rules.OVERDUE
    assert rules.urgency(date(2026, 1, 5), date(2026, 1, 2), 7) == rules.DUE_SOON
    assert rules.urgency(date(2026, 2, 5), date(2026, 1, 2), 7) == rules.ON_TRACK


def test_quiz_problems_names_every_problem():
    assert rules.quiz_problems(quiz(5)) == {}
    assert "quiz" in rules.quiz_problems({"q": "x"})
    bad = [{"q": "", "options": ["a", "b"], "answer": 7}, "x",
           {"q": "ok", "options": ["a", "a", "b", "c"], "answer": True, "hint": 1}]
    problems = rules.quiz_problems(bad)
    text = " ".join(problems.values())
    for part in ("第1题缺少题干", "第1题必须有 4 个选项", "第1题的正确答案", "第2题必须是对象", "第3题的选项有重复",
                 "第3题含有未知字段", "第3题的正确答案"):
        assert part in text, part
    assert rules.answer_problems(quiz(2), [0]) and rules.answer_problems(quiz(2), "01")
    assert rules.answer_problems(quiz(2), [0, 4]) == {"q2": "第2题未作答或答案无效"}
    assert rules.answer_problems(quiz(2), [0, True])
    assert rules.answer_problems(quiz(2), [0, 3]) == {}


# ---- The shipped curriculum --------------------------------------------------------------------------------------------
def test_curriculum_file_is_complete():
    data = ts.load_curriculum()
    courses = {c["code"]: c for c in data["courses"]}
    titles = {c["title"] for c in data["courses"]}
    for t in ("客户需求分析", "沟通技巧", "个性化服务", "《银行员工客户关系管理规定》解读", "适当性管理与销售行为规范",
              "反洗钱与客户身份识别", "个人信息保护", "投诉处理规范"):
        assert t in titles
    for c in data["courses"]:
        assert c["title_en"] and len(c["body"]) > 450 and c["body"].count("\n\n") >= 3, c["code"]
        if c["code"] == "crm-regulation":
            assert c["quiz"] == []  # attestation
            continue
        assert len(c["quiz"]) == 5 and rules.quiz_problems(c["quiz"]) == {}, c["code"]
        assert all(q.get("q_en") and len(q.get("options_en", [])) == 4 for q in c["quiz"])
        assert c["pass_mark"] == 80
    assert courses["suitability-sales"]["validity_months"] == 12 and courses["aml-kyc"]["validity_months"] == 12
    assert {r["course"] for r in data["requirements"]} <= set(courses)
    gates = {(g["gate"], g["course"]) for g in data["gate_rules"]}
    assert gates == {("risk.sell_certified", "suitability-sales"), ("approvals.approve", "aml-kyc"),
                     ("service.handle_complaint", "complaints"), ("risk.case_decide", "aml-kyc")}


@pytest.fixture
def cur(bank):
    ts.curriculum_install_default(actor=None)
    return {c.code: c for c in Course.objects.all()}


def test_install_is_idempotent(bank):
    seq = audit_seq()
    first = ts.curriculum_install_default(actor=bank.admin)
    assert first["courses"] == 8 and first["requirements"] == 10 and first["gate_rules"] == 4
    assert len(verbs_since(seq)) == 22
    assert ts.curriculum_install_default(actor=bank.admin) == {"courses": 0, "requirements": 0, "gate_rules": 0}
    assert Course.objects.filter(status="published").count() == 8
    sell = GateRule.objects.get(gate="risk.sell_certified")
    assert sell.min_product_level == 4 and sell.course.code == "suitability-sales"
    assert GateRule.objects.get(gate="approvals.approve").action_prefix == "ledger."
    with pytest.raises(PermissionDenied):
        ts.curriculum_install_default(actor=bank.cm_a1)


# ---- Synchronisation -------------------------------------------------------------------------------------------------
def open_codes(staff) -> set[str]:
    return set(Assignment.objects.filter(staff=staff, status="open").values_list("course__code", flat=True))


def test_sync_assigns_by_role_and_type_and_is_idempotent(bank, cur):
    first = ts.assignments_sync()
    assert first["created"] > 0
    assert open_codes(bank.cm_a1) == {"crm-regulation", "privacy", "needs-analysis", "communication",
                                      "personalised-service", "suitability-sales", "complaints"}
    assert open_codes(bank.intern) == {"crm-regulation", "privacy", "needs-analysis", "communication",
                                       "personalised-service", "complaints"}  # no sales certificate for interns
    assert open_codes(bank.temp) == {"crm-regulation", "privacy", "aml-kyc", "communication", "complaints"}
    assert open_codes(bank.risk) == {"crm-regulation", "privacy", "aml-kyc"}
    assert open_codes(bank.supervisor_a) == {"crm-regulation", "privacy", "aml-kyc", "complaints"}
    a = Assignment.objects.get(staff=bank.intern, course__code="communication")
    assert a.due_on == timezone.localdate() + timedelta(days=14)  # the intern onboarding set: the shorter deadline
    assert a.branch_path == bank.a1.path and a.reason == "onboarding"
    seq, n = audit_seq(), Assignment.objects.count()
    assert ts.assignments_sync()["created"] == 0
    assert Assignment.objects.count() == n and verbs_since(seq) == []


def test_sync_skips_inactive_and_unpublished(bank, cur):
    bank.om_b1.is_active = False
    bank.om_b1.save(update_fields=["is_active"])
    Course.objects.filter(code="privacy").update(status="retired")
    ts.assignments_sync()
    assert open_codes(bank.om_b1) == set()
    assert "privacy" not in open_codes(bank.cm_a1)


def pass_quiz(staff, course):
    return ts.quiz_submit(actor=staff, course_id=course.pk, answers=right(course.quiz), course_version=course.version)


def test_quiz_scored_on_server_fail_then_pass(bank, cur):
    ts.assignments_sync()
    c = cur["suitability-sales"]
    wrong = right(c.quiz)
    wrong[0], wrong[1] = (wrong[0] + 1) % 4, (wrong[1] + 1) % 4
    seq = audit_seq()
    att = ts.quiz_submit(actor=bank.cm_a1, course_id=c.pk, answers=wrong)
    assert (att.score, att.passed, att.certificate, att.wrong) == (60, False, None, [0, 1])
    assert verbs_since(seq) == ["people.quiz_submitted"]
    assert "suitability-sales" in open_codes(bank.cm_a1)
    att = pass_quiz(bank.cm_a1, c)
    assert att.passed and att.score == 100
    cert = att.certificate
    assert cert.method == "quiz" and cert.attempt_id == att.pk and cert.number.startswith("TC")
    assert cert.expires_on == rules.expiry_date(timezone.localdate(), 12)
    a = Assignment.objects.get(staff=bank.cm_a1, course=c, certificate=cert)
    assert a.status == "completed" and a.completed_at
    assert QuizAttempt.objects.filter(staff=bank.cm_a1, course=c).count() == 2


def test_quiz_input_checked(bank, cur):
    c = cur["aml-kyc"]
    with pytest.raises(ValidationFailed) as e:
        ts.quiz_submit(actor=bank.om_a1, course_id=c.pk, answers=[0, 1])
    assert e.value.code == "answers_incomplete"
    with pytest.raises(ValidationFailed) as e:
        ts.quiz_submit(actor=bank.om_a1, course_id=c.pk, answers=[0, 1, 2, 3, 4])
    assert "q5" in e.value.fields
    with pytest.raises(RuleViolation) as e:
        ts.quiz_submit(actor=bank.om_a1, course_id=c.pk, answers=right(c.quiz), course_version=c.version + 1)
    assert e.value.code == "course_changed"
    with pytest.raises(RuleViolation):
        ts.quiz_submit(actor=bank.om_a1, course_id=cur["crm-regulation"].pk, answers=[])
    Course.objects.filter(pk=c.pk).update(status="draft")
    with pytest.raises(NotFound):
        ts.quiz_submit(actor=bank.om_a1, course_id=c.pk, answers=right(c.quiz))
    assert QuizAttempt.objects.count() == 0 and Certificate.objects.count() == 0


def test_attestation_and_new_version_reassigns_everyone(bank, cur):
    ts.assignments_sync()
    reg = cur["crm-regulation"]
    cert = ts.attest(actor=bank.cm_a1, course_id=reg.pk)
    assert cert.method == "attestation" and cert.expires_on is None and cert.score is None
    assert "crm-regulation" not in open_codes(bank.cm_a1)
    with pytest.raises(RuleViolation):
        ts.attest(actor=bank.cm_a1, course_id=cur["privacy"].pk)  # a quiz course cannot be attested
    with pytest.raises(RuleViolation):
        ts.course_publish(actor=bank.admin, course_id=reg.pk)  # already published: a new version must be asked for
    with pytest.raises(ValidationFailed):
        ts.course_publish(actor=bank.admin, course_id=reg.pk, new_version=True, reason="")
    seq = audit_seq()
    reg = ts.course_publish(actor=bank.admin, course_id=reg.pk, new_version=True, reason="2026 年修订第十二条")
    assert reg.version == 2 and reg.assigned_now == 1  # CM001 was the only one with a current certificate
    a = Assignment.objects.get(staff=bank.cm_a1, course=reg, status="open")
    assert a.reason == "event" and a.course_version == 2
    # everyone else's open assignment moved to the new version
    assert not Assignment.objects.filter(course=reg, status="open", course_version=1).exists()
    assert verbs_since(seq)[0] == "people.course_published"
    ts.attest(actor=bank.cm_a1, course_id=reg.pk, course_version=2)
    assert "crm-regulation" not in open_codes(bank.cm_a1)


def test_periodic_reassignment_before_expiry(bank, cur):
    c = cur["aml-kyc"]
    ts.assignments_sync()
    pass_quiz(bank.om_a1, c)
    assert "aml-kyc" not in open_codes(bank.om_a1)
    cert = Certificate.objects.get(staff=bank.om_a1, course=c)
    today = timezone.localdate()
    # issued 11 months and 10 days ago: expires in about 20 days, inside the 30-day lead
    issued = today - timedelta(days=345)
    Certificate.objects.filter(pk=cert.pk).update(
        issued_at=timezone.make_aware(timezone.datetime(issued.year, issued.month, issued.day, 10)),
        expires_on=rules.expiry_date(issued, 12))
    made = ts.assignments_sync()
    assert made["periodic"] >= 1
    a = Assignment.objects.get(staff=bank.om_a1, course=c, status="open")
    assert a.reason == "periodic" and a.due_on == rules.expiry_date(issued, 12) + timedelta(days=1)
    assert ts.assignments_sync()["created"] == 0


def test_waive_assign_scope(bank, cur):
    ts.assignments_sync()
    a = Assignment.objects.get(staff=bank.cm_a1, course__code="needs-analysis", status="open")
    with pytest.raises(NotFound):
        ts.assignment_waive(actor=bank.supervisor_b, assignment_id=a.pk, reason="长期病假")
    with pytest.raises(PermissionDenied):
        ts.assignment_waive(actor=bank.cm_a1, assignment_id=a.pk, reason="长期病假")
    with pytest.raises(ValidationFailed):
        ts.assignment_waive(actor=bank.supervisor_a, assignment_id=a.pk, reason="")
    own = Assignment.objects.get(staff=bank.supervisor_a, course__code="privacy", status="open")
    with pytest.raises(PermissionDenied):
        ts.assignment_waive(actor=bank.supervisor_a, assignment_id=own.pk, reason="本人已在总行培训")
    ts.assignment_waive(actor=bank.supervisor_a, assignment_id=a.pk, reason="已在上一家单位完成同类培训")
    assert ts.assignments_sync()["created"] == 0  # a waiver holds for the course version
    assert "needs-analysis" not in open_codes(bank.cm_a1)
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(RuleViolation):
        ts.training_assign(actor=bank.supervisor_a, staff_id=bank.cm_a1.pk, course_id=cur["privacy"].pk, due_on=tomorrow)
    m = ts.training_assign(actor=bank.supervisor_a, staff_id=bank.cm_a1.pk, course_id=cur["needs-analysis"].pk,
                           due_on=tomorrow, note="客户投诉后加强培训")
    assert m.reason == "manual" and m.assigned_by == bank.supervisor_a
    with pytest.raises(NotFound):
        ts.training_assign(actor=bank.supervisor_a, staff_id=bank.cm_b1.pk, course_id=cur["privacy"].pk,
                           due_on=tomorrow)
    with pytest.raises(ValidationFailed):
        ts.training_assign(actor=bank.supervisor_a, staff_id=bank.cm_a1.pk, course_id=cur["privacy"].pk,
                           due_on=timezone.localdate())
    with pytest.raises(PermissionDenied):
        ts.training_assign(actor=bank.cm_a1, staff_id=bank.cm_a1.pk, course_id=cur["privacy"].pk, due_on=tomorrow)


def test_external_certificate_and_revocation(bank, cur):
    c = cur["aml-kyc"]
    ts.assignments_sync()
    issued = timezone.localdate() - timedelta(days=30)
    cert = ts.certificate_record_external(actor=bank.supervisor_a, staff_id=bank.om_a1.pk, course_id=c.pk,
                                          issued_on=issued, reference="中国银行业协会 反洗钱岗位资格 No.123")
    assert cert.method == "external" and cert.expires_on == rules.expiry_date(issued, 12)
    assert "aml-kyc" not in open_codes(bank.om_a1)
    with pytest.raises(NotFound):
        ts.certificate_record_external(actor=bank.supervisor_b, staff_id=bank.om_a1.pk, course_id=c.pk,
                                       issued_on=issued, reference="某机构证书")
    with pytest.raises(ValidationFailed) as e:
        ts.certificate_record_external(actor=bank.supervisor_a, staff_id=bank.om_a1.pk, course_id=c.pk,
                                       issued_on=timezone.localdate() + timedelta(days=1), reference="x")
    assert set(e.value.fields) == {"issued_on", "reference"}
    with pytest.raises(NotFound):
        ts.certificate_revoke(actor=bank.supervisor_b, certificate_id=cert.pk, reason="发现违规销售")
    seq = audit_seq()
    ts.certificate_revoke(actor=bank.supervisor_a, certificate_id=cert.pk, reason="证书核验不实")
    assert verbs_since(seq) == ["people.certificate_revoked", "people.training_assigned"]
    assert "aml-kyc" in open_codes(bank.om_a1)
    with pytest.raises(RuleViolation):
        ts.certificate_revoke(actor=bank.supervisor_a, certificate_id=cert.pk, reason="再次撤销")


def test_course_save_and_attachments(bank, cur, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with pytest.raises(ValidationFailed) as e:
        ts.course_save(actor=bank.admin, code="新 课程", title="", category="x", pass_mark=0,
                       quiz=[{"q": "", "options": ["a"], "answer": 5}], video_url="ftp://x")
    assert {"code", "title", "category", "pass_mark", "quiz", "video_url"} <= set(e.value.fields)
    assert any("第1题" in m for m in e.value.fields["quiz"])
    with pytest.raises(ValidationFailed):
        ts.course_save(actor=bank.admin, code="privacy", title="重复", category="privacy")
    c = ts.course_save(actor=bank.admin, code="product-2026", title="2026 年新产品规则", category="product",
                       body="第一段\n\n第二段", quiz=[])
    assert c.status == "draft" and c.version == 1
    with pytest.raises(PermissionDenied):
        ts.course_save(actor=bank.supervisor_a, course_id=c.pk, title="改")
    with pytest.raises(ValidationFailed) as e:
        ts.attachment_add(actor=bank.admin, course_id=c.pk, upload=SimpleUploadedFile("x.exe", b"MZ", "application/x"))
    assert e.value.code == "attachment_type"
    big = SimpleUploadedFile("big.pdf", b"%PDF", "application/pdf")
    big.size = ts.MAX_ATTACHMENT + 1
    with pytest.raises(ValidationFailed) as e:
        ts.attachment_add(actor=bank.admin, course_id=c.pk, upload=big)
    assert e.value.code == "attachment_too_large"
    att = ts.attachment_add(actor=bank.admin, course_id=c.pk,
                            upload=SimpleUploadedFile("规则.pdf", b"%PDF-1.4 test", "application/pdf"))
    assert att.size == 13 and att.file.name.startswith("training/")
    ts.course_publish(actor=bank.admin, course_id=c.pk)
    r = ts.requirement_save(actor=bank.admin, course_id=c.pk, roles=["customer_manager"], employment_types=[],
                            trigger="event", due_days=10)
    assert r.period_months is None
    with pytest.raises(ValidationFailed) as e:
        ts.requirement_save(actor=bank.admin, course_id=c.pk, roles=["king"], employment_types=["x"],
                            trigger="periodic", period_months="", due_days=0)
    assert set(e.value.fields) == {"roles", "employment_types", "period_months", "due_days"}
    with pytest.raises(RuleViolation):
        ts.course_retire(actor=bank.admin, course_id=cur["aml-kyc"].pk, reason="课程合并")  # a gate rule needs it
    ts.assignments_sync()
    assert "product-2026" in open_codes(bank.cm_a1)
    ts.course_retire(actor=bank.admin, course_id=c.pk, reason="规则已废止")
    assert "product-2026" not in open_codes(bank.cm_a1)


def test_gate_rule_save_validates(bank, cur):
    with pytest.raises(ValidationFailed) as e:
        ts.gate_rule_save(actor=bank.admin, gate="nope", course_id=cur["aml-kyc"].pk, min_product_level=7)
    assert {"gate", "min_product_level"} <= set(e.value.fields)
    with pytest.raises(ValidationFailed) as e:
        ts.gate_rule_save(actor=bank.admin, gate="service.handle_complaint", course_id=cur["aml-kyc"].pk,
                          action_prefix="ledger.")
    assert "action_prefix" in e.value.fields
    with pytest.raises(ValidationFailed) as e:  # one rule per gate and course
        ts.gate_rule_save(actor=bank.admin, gate="risk.case_decide", course_id=cur["aml-kyc"].pk)
    rule = GateRule.objects.get(gate="risk.case_decide")
    ts.gate_rule_save(actor=bank.admin, rule_id=rule.pk, gate="risk.case_decide", course_id=cur["aml-kyc"].pk,
                      active=False)
    assert not GateRule.objects.get(pk=rule.pk).active
    with pytest.raises(PermissionDenied):
        ts.gate_rule_save(actor=bank.compliance, gate="risk.case_decide", course_id=cur["aml-kyc"].pk)


def test_reminders_once_a_day(bank, cur):
    ts.assignments_sync()
    today = timezone.localdate()
    a = Assignment.objects.get(staff=bank.cm_a1, course__code="privacy", status="open")
    Assignment.objects.filter(pk=a.pk).update(due_on=today + timedelta(days=3))
    late = Assignment.objects.get(staff=bank.om_a1, course__code="privacy", status="open")
    Assignment.objects.filter(pk=late.pk).update(due_on=today - timedelta(days=2))
    cert = pass_quiz(bank.om_a1, cur["aml-kyc"]).certificate
    Certificate.objects.filter(pk=cert.pk).update(expires_on=today + timedelta(days=20))
    seq = audit_seq()
    out = ts.training_reminders(today=today)
    assert out == {"assignments": 2, "certificates": 1}
    assert verbs_since(seq) == ["people.training_reminded"]
    assert Assignment.objects.get(pk=a.pk).reminded_on == today
    assert ts.training_reminders(today=today) == {"assignments": 0, "certificates": 0}
    # renewed: a newer certificate of the same course means no reminder for the old one
    Certificate.objects.filter(pk=cert.pk).update(reminded_on=None)
    pass_quiz(bank.om_a1, cur["aml-kyc"])
    assert ts.training_reminders(today=today)["certificates"] == 0


def test_requirement_model_rules(bank, cur):
    assert Requirement.objects.filter(trigger="periodic", period_months__isnull=True).count() == 0
