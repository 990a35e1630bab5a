"""Investor suitability (DOMAIN_RULES.md §4): the questionnaire and its validation, taking a customer through it,
and the one suitability check, tested against a plain expectation written here (the MATRIX)."""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from bankcrm.core import access, params
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.customers import services as customer_services
from bankcrm.risk import rules_suitability as rules
from bankcrm.risk import suitability as svc
from bankcrm.risk.models import Questionnaire, RiskProfile, SuitabilityAssessment
from tests.conftest import write_figures
from tests.helpers import audit_seq, verbs_since
from tests.ledger_helpers import ric

pytestmark = pytest.mark.django_db


# ---- Helpers ------------------------------------------------------------------------------------------------------
def answers_for(level: int, questions: list[dict] = rules.DEFAULT_QUESTIONS, bands=rules.DEFAULT_BANDS) -> dict:
    """Answers that score inside ``level``'s band: start from every lowest option and raise whole questions to their
    highest option while the total stays under the band's top."""
    top = dict((lv, mx) for mx, lv in bands)[level]
    low = {q["code"]: min(q["options"], key=lambda o: o["score"]) for q in questions}
    total = sum(o["score"] for o in low.values())
    out = {}
    for q in questions:
        hi = max(q["options"], key=lambda o: o["score"])
        if total - low[q["code"]]["score"] + hi["score"] <= top:
            total += hi["score"] - low[q["code"]]["score"]
            out[q["code"]] = hi["code"]
        else:
            out[q["code"]] = low[q["code"]]["code"]
    assert rules.level_for(rules.score(questions, out), bands) == level
    return out


_SEQ = iter(range(100, 999))


def person(bank, *, born: date, actor=None, branch=None, name="适当测"):
    actor = actor or bank.cm_a1
    return customer_services.customer_register(
        actor=actor, kind="person", name=name, id_type="resident_id", id_number=ric(born.strftime("%Y%m%d"),
                                                                                   f"{next(_SEQ):03d}"),
        branch_id=(branch or actor.branch).pk)


def born_aged(age: int, today: date | None = None) -> date:
    """Birth date making someone exactly ``age`` today (65 → birthday today; 64 → 65th birthday tomorrow)."""
    today = today or timezone.localdate()
    return today - relativedelta(years=age + 1) + timedelta(days=1) if age < 65 else today - relativedelta(years=age)


@pytest.fixture
def suit(bank):
    q = svc.questionnaire_install_default(actor=bank.admin)
    return q


def assess(bank, customer, level: int, *, actor=None, f2f: bool = True):
    return svc.suitability_assess(actor=actor or bank.cm_a1, customer_id=customer.pk, answers=answers_for(level),
                                  face_to_face=f2f)


def set_valid_until(customer, day: date) -> None:
    SuitabilityAssessment.objects.filter(customer=customer, status="current").update(valid_until=day)
    RiskProfile.objects.filter(customer=customer).update(suitability_valid_until=day)


# ---- Pure rules ---------------------------------------------------------------------------------------------------
def test_default_questionnaire_is_valid_and_bands_cover_its_scores():
    assert rules.questionnaire_problems(rules.DEFAULT_QUESTIONS, rules.DEFAULT_BANDS) == []
    assert len(rules.DEFAULT_QUESTIONS) == 10
    assert all(q["text"] and q["text_en"] and all(o["text_en"] for o in q["options"]) for q in rules.DEFAULT_QUESTIONS)
    assert rules.max_score(rules.DEFAULT_QUESTIONS) == 100
    assert [rules.level_for(s, rules.DEFAULT_BANDS) for s in (0, 20, 21, 40, 41, 60, 61, 80, 81, 100)] == \
        [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    for level in range(1, 6):
        answers_for(level)


def test_age_and_expiry_boundaries():
    assert rules.age_on(date(1960, 3, 1), date(2025, 2, 28)) == 64
    assert rules.age_on(date(1960, 3, 1), date(2025, 3, 1)) == 65
    assert rules.age_on(date(1960, 2, 29), date(2025, 2, 28)) == 64  # leap-day birthday: 65 on 1 March
    assert rules.age_on(date(1960, 2, 29), date(2025, 3, 1)) == 65
    assert not rules.is_expired(date(2025, 5, 1), date(2025, 5, 1))
    assert rules.is_expired(date(2025, 5, 1), date(2025, 5, 2))


def _broken(change):
    content = {"title": "测试问卷", "title_en": "Test", "questions": copy.deepcopy(rules.DEFAULT_QUESTIONS),
               "bands": copy.deepcopy(rules.DEFAULT_BANDS)}
    change(content)
    return content


BROKEN = {
    "score_not_int": (lambda c: c["questions"][2]["options"][1].__setitem__("score", "4"), "第 3 题（share）的第 2 个选项的分值"),
    "score_bool": (lambda c: c["questions"][0]["options"][0].__setitem__("score", True), "第 1 题（age）的第 1 个选项的分值"),
    "score_negative": (lambda c: c["questions"][0]["options"][0].__setitem__("score", -1), "非负整数"),
    "no_options": (lambda c: c["questions"][4].__setitem__("options", []), "第 5 题（knowledge）至少需要两个选项"),
    "duplicate_question": (lambda c: c["questions"][1].__setitem__("code", "age"), "第 2 题的代码 age 重复"),
    "duplicate_option": (lambda c: c["questions"][1]["options"][1].__setitem__("code", "A"), "的代码 A 重复"),
    "no_text": (lambda c: c["questions"][6].__setitem__("text", ""), "第 7 题（horizon）缺少题目文字"),
    "bands_descending": (lambda c: c.__setitem__("bands", [[40, 1], [20, 2], [100, 3]]), "第 2 个分数段的最高分 20 必须大于上一段"),
    "bands_short": (lambda c: c.__setitem__("bands", [[20, 1], [40, 2], [60, 3], [80, 4], [99, 5]]),
                    "分数段未覆盖最高可能得分 100"),
    "level_six": (lambda c: c.__setitem__("bands", [[20, 1], [40, 2], [60, 3], [80, 4], [100, 6]]), "等级 6 不在 1–5 之间"),
    "level_zero": (lambda c: c.__setitem__("bands", [[20, 0], [100, 5]]), "等级 0 不在 1–5 之间"),
    "levels_not_ascending": (lambda c: c.__setitem__("bands", [[20, 2], [100, 2]]), "等级 2 必须高于上一段"),
    "band_shape": (lambda c: c.__setitem__("bands", [[20, 1, 3], [100, 5]]), "第 1 个分数段必须是 [最高分, 等级]"),
    "no_title": (lambda c: c.__setitem__("title", " "), "标题（title）必填"),
    "unknown_field": (lambda c: c.__setitem__("status", "active"), "不认识的字段：status"),
    "questions_not_list": (lambda c: c.__setitem__("questions", {}), "题目（questions）必须是非空列表"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_questionnaire_validation_names_the_problem_and_writes_nothing(bank, suit, case):
    change, expected = BROKEN[case]
    seq, n = audit_seq(), Questionnaire.objects.count()
    with pytest.raises(ValidationFailed) as e:
        svc.questionnaire_draft_create(actor=bank.admin, content=_broken(change))
    assert e.value.code == "questionnaire_invalid"
    assert expected in str(e.value.message), e.value.message
    assert any(expected in m for m in e.value.fields["content"])
    assert Questionnaire.objects.count() == n and verbs_since(seq) == []


# ---- Questionnaire versions ---------------------------------------------------------------------------------------
def test_install_default_is_idempotent(bank):
    seq = audit_seq()
    q1 = svc.questionnaire_install_default(actor=bank.admin)
    q2 = svc.questionnaire_install_default(actor=bank.admin)
    assert q1.pk == q2.pk and q1.status == "active" and q1.version == 1
    assert Questionnaire.objects.count() == 1
    assert verbs_since(seq) == ["risk.questionnaire_published"]
    with pytest.raises(PermissionDenied):
        svc.questionnaire_install_default(actor=bank.cm_a1)


def test_draft_edit_publish_retires_previous_and_published_versions_are_never_edited(bank, suit):
    seq = audit_seq()
    draft = svc.questionnaire_draft_create(actor=bank.admin)
    assert (draft.version, draft.status, draft.questions) == (2, "draft", suit.questions)
    with pytest.raises(RuleViolation) as e:
        svc.questionnaire_draft_create(actor=bank.admin)
    assert e.value.code == "questionnaire_draft_exists"
    content = _broken(lambda c: c["questions"][0].__setitem__("text", "您的年龄？（新版）"))
    svc.questionnaire_draft_save(actor=bank.admin, questionnaire_id=draft.pk, content=content)
    svc.questionnaire_publish(actor=bank.admin, questionnaire_id=draft.pk)
    suit.refresh_from_db()
    draft.refresh_from_db()
    assert (suit.status, draft.status, draft.effective_from) == ("retired", "active", timezone.localdate())
    assert svc.questionnaire_active().pk == draft.pk and draft.questions[0]["text"] == "您的年龄？（新版）"
    for q in (suit, draft):
        with pytest.raises(RuleViolation) as e:
            svc.questionnaire_draft_save(actor=bank.admin, questionnaire_id=q.pk, content=content)
        assert e.value.code == "questionnaire_not_draft"
        with pytest.raises(RuleViolation):
            svc.questionnaire_publish(actor=bank.admin, questionnaire_id=q.pk)
    assert verbs_since(seq) == ["risk.questionnaire_saved", "risk.questionnaire_saved", "risk.questionnaire_published"]
    with pytest.raises(PermissionDenied):
        svc.questionnaire_draft_create(actor=bank.cm_a1)


# ---- Taking the questionnaire -------------------------------------------------------------------------------------
def test_first_assessment_is_face_to_face_then_renewal_supersedes(bank, suit):
    c = person(bank, born=date(1980, 5, 6))
    seq, n = audit_seq(), SuitabilityAssessment.objects.count()
    with pytest.raises(ValidationFailed) as e:
        assess(bank, c, 3, f2f=False)
    assert e.value.code == "face_to_face_required" and "face_to_face" in e.value.fields
    partial = dict(list(answers_for(3).items())[:7])
    with pytest.raises(ValidationFailed) as e:
        svc.suitability_assess(actor=bank.cm_a1, customer_id=c.pk, answers={**partial, "bogus": "A", "age": "Z"},
                               face_to_face=True)
    assert e.value.code == "answers_incomplete"
    assert set(e.value.fields) == {"age", "loss", "reaction", "goal", "bogus"}
    assert SuitabilityAssessment.objects.count() == n and not RiskProfile.objects.filter(customer=c).exists()
    assert verbs_since(seq) == []

    a1 = assess(bank, c, 3)
    today = timezone.localdate()
    assert (a1.level, a1.first_time, a1.face_to_face, a1.status) == (3, True, True, "current")
    assert a1.valid_until == today + timedelta(days=params.value("suitability.valid_days"))
    assert (a1.branch_id, a1.assessed_by_id) == (bank.cm_a1.branch_id, bank.cm_a1.pk)
    p = RiskProfile.objects.get(customer=c)
    assert (p.suitability_level, p.suitability_valid_until, p.branch_path) == (3, a1.valid_until, c.branch.path)

    a2 = assess(bank, c, 5, f2f=False)  # renewal need not be face to face
    a1.refresh_from_db()
    assert (a1.status, a2.status, a2.first_time, a2.level) == ("superseded", "current", False, 5)
    assert RiskProfile.objects.get(customer=c).suitability_level == 5
    assert verbs_since(seq) == ["risk.suitability_assessed", "risk.suitability_assessed"]
    summary = svc.suitability_summary(bank.cm_a1, c)
    assert (summary["level"], summary["expired"], summary["expiring_soon"]) == (5, False, False)
    assert summary["url"].endswith(f"/risk/customers/{c.pk}/suitability/history/")


def test_an_answer_to_a_retired_version_is_refused(bank, suit):
    c = person(bank, born=date(1980, 5, 6))
    draft = svc.questionnaire_draft_create(actor=bank.admin)
    svc.questionnaire_publish(actor=bank.admin, questionnaire_id=draft.pk)
    with pytest.raises(RuleViolation) as e:
        svc.suitability_assess(actor=bank.cm_a1, customer_id=c.pk, answers=answers_for(2), face_to_face=True,
                               questionnaire_id=suit.pk)
    assert e.value.code == "questionnaire_changed"
    a = svc.suitability_assess(actor=bank.cm_a1, customer_id=c.pk, answers=answers_for(2), face_to_face=True,
                               questionnaire_id=draft.pk)
    assert a.questionnaire_id == draft.pk


def test_no_active_questionnaire_is_a_rule_violation(bank):
    c = person(bank, born=date(1980, 5, 6))
    with pytest.raises(RuleViolation) as e:
        assess(bank, c, 2)
    assert e.value.code == "questionnaire_missing"


def test_authorization_scope_and_capability(bank, suit):
    c = person(bank, born=date(1980, 5, 6))
    for outsider in (bank.intern, bank.cm_b1):  # same-branch intern who does not manage it; other branch
        with pytest.raises(NotFound):
            assess(bank, c, 2, actor=outsider)
        with pytest.raises(NotFound):
            svc.suitability_check(actor=outsider, customer_id=c.pk, product_level=1, product_kind="fund", seller=outsider)
        with pytest.raises(NotFound):
            svc.assessments_of(outsider, c.pk)
    for lacking in (bank.risk, bank.admin, bank.supervisor_a):  # no risk.assess_suitability
        with pytest.raises(PermissionDenied):
            assess(bank, c, 2, actor=lacking)
    with pytest.raises(PermissionDenied):
        svc.suitability_check(actor=bank.admin, customer_id=c.pk, product_level=1, product_kind="fund", seller=bank.admin)
    assert not SuitabilityAssessment.objects.filter(customer=c).exists()
    # the branch supervisor sees the customer (branch subtree) and may read, not assess
    assert list(svc.assessments_of(bank.supervisor_a, c.pk)) == []


# ---- The MATRIX ---------------------------------------------------------------------------------------------------
def expected_codes(*, c_level: int, r_level: int, age: int, state: str, recording: bool) -> list[str]:
    """§4 written out plainly: no assessment or an expired one blocks; C must be ≥ R; 65 or over buying R3+ needs
    a recording. (No seller certification gate is registered in this test.)"""
    out = []
    if state == "missing":
        out.append("suitability_missing")
    else:
        if state == "expired":
            out.append("suitability_expired")
        if c_level < r_level:
            out.append("suitability_level_too_low")
    if age >= 65 and r_level >= 3 and not recording:
        out.append("suitability_recording_required")
    return out


def test_suitability_matrix(bank, suit, monkeypatch):
    monkeypatch.setitem(access.GATES, "risk.sell_certified", [])
    assert params.value("suitability.elderly_age") == 65
    today = timezone.localdate()
    recording = {"recording_id": "SL-2025-0001", "booth": "甲一支行双录区1", "recorded_at": timezone.now()}
    customers: dict[tuple, object] = {}
    for age in (64, 65):
        customers[("missing", age)] = person(bank, born=born_aged(age))
        for c_level in range(1, 6):
            c = person(bank, born=born_aged(age))
            assess(bank, c, c_level)
            customers[(c_level, age)] = c
    for age in (64, 65):
        c = customers[("missing", age)]
        c.refresh_from_db()
        assert rules.age_on(c.birth_date, today) == age
    mismatches, checked = [], 0
    for state in ("missing", "valid", "expired"):
        for age in (64, 65):
            for c_level in range(1, 6):
                if state == "missing":
                    c = customers[("missing", age)]
                else:
                    c = customers[(c_level, age)]
                    set_valid_until(c, today if state == "valid" else today - timedelta(days=1))
                for r_level in range(1, 6):
                    for rec in (True, False):
                        d = svc.suitability_check(actor=bank.cm_a1, customer_id=c.pk, product_level=r_level,
                                                  product_kind="wealth", seller=bank.cm_a1,
                                                  recording=recording if rec else None)
                        want = expected_codes(c_level=c_level, r_level=r_level, age=age, state=state, recording=rec)
                        checked += 1
                        elderly = age >= 65 and r_level >= 3
                        ok = (d.codes == want and d.allowed == (not want)
                              and d.requirements == {"enhanced_disclosure": elderly, "recording": elderly,
                                                     "cooling_off_until": None}
                              and d.investor_level == (None if state == "missing" else c_level)
                              and all(m for _c, m in d.violations))
                        if not ok:
                            mismatches.append((state, age, c_level, r_level, rec, d.codes, want))
    write_figures("SUITABILITY", not mismatches, matrix_cases=checked, matrix_mismatches=len(mismatches))
    assert checked == 3 * 2 * 5 * 5 * 2
    assert mismatches == []


def test_deposits_insurance_private_and_incomplete_recordings(bank, suit, monkeypatch):
    monkeypatch.setitem(access.GATES, "risk.sell_certified", [])
    old = person(bank, born=born_aged(70))
    now = timezone.now()

    def check(level, kind, rec=None, at=None):
        return svc.suitability_check(actor=bank.cm_a1, customer_id=old.pk, product_level=level, product_kind=kind,
                                     seller=bank.cm_a1, recording=rec, at=at)

    assert check(0, "deposit").allowed  # deposits need no assessment
    assert check(1, "insurance").codes == ["suitability_missing", "suitability_recording_required"]
    assess(bank, old, 2)
    assert check(1, "insurance").codes == ["suitability_recording_required"]
    assert check(1, "fund").allowed
    full = {"recording_id": "SL-1", "booth": "B1", "recorded_at": now}
    assert check(1, "insurance", full).allowed
    for missing in ("recording_id", "booth", "recorded_at"):
        assert check(1, "insurance", {**full, missing: ""}).codes == ["suitability_recording_required"]
    later = {**full, "recorded_at": now + timedelta(hours=1)}  # a recording made after the sale does not count
    assert check(1, "insurance", later, at=now).codes == ["suitability_recording_required"]
    d = check(2, "private", at=now)
    assert d.allowed and d.requirements["cooling_off_until"] == now + timedelta(hours=params.value("suitability.cooling_off"))
    with pytest.raises(ValidationFailed) as e:
        check(6, "fund")
    assert e.value.code == "check_invalid" and "product_level" in e.value.fields
    with pytest.raises(ValidationFailed):
        check(1, "crypto")


def test_seller_certification_gate_and_the_suitability_gate(bank, suit, monkeypatch):
    c = person(bank, born=date(1980, 5, 6))
    assess(bank, c, 5)
    certified = {bank.cm_a1.pk}

    def sell_certified(seller, *, product_level, **_kw):
        if seller.pk not in certified:
            raise PermissionDenied("not_certified", "未取得资格")

    monkeypatch.setitem(access.GATES, "risk.sell_certified", [sell_certified])
    level = params.value("suitability.certified_level")
    for r in range(1, 6):
        d = svc.suitability_check(actor=bank.cm_a1, customer_id=c.pk, product_level=r, product_kind="fund",
                                  seller=bank.intern)
        assert d.codes == (["seller_not_certified"] if r >= level else []), r
        assert svc.suitability_check(actor=bank.cm_a1, customer_id=c.pk, product_level=r, product_kind="fund",
                                     seller=bank.cm_a1).allowed
    # the gate higher apps ask: the first violation's code, every violation listed; no audit event
    young = person(bank, born=date(1990, 1, 2))
    seq = audit_seq()
    access.require_gate("risk.suitability", bank.cm_a1, customer_id=c.pk, product_level=5, product_kind="fund")
    with pytest.raises(RuleViolation) as e:
        access.require_gate("risk.suitability", bank.cm_a1, customer_id=c.pk, product_level=5, product_kind="fund",
                            seller=bank.intern)
    assert e.value.code == "seller_not_certified"
    with pytest.raises(RuleViolation) as e:
        access.require_gate("risk.suitability", bank.cm_a1, customer=young, product_level=2, product_kind="wealth")
    assert e.value.code == "suitability_missing"
    assert [v["code"] for v in e.value.params["violations"]] == ["suitability_missing"]
    assert verbs_since(seq) == []


def test_recorded_check_writes_one_audit_event(bank, suit):
    c = person(bank, born=date(1980, 5, 6))
    seq = audit_seq()
    d = svc.suitability_check_recorded(actor=bank.cm_a1, customer_id=c.pk, product_level=2, product_kind="fund")
    assert not d.allowed and verbs_since(seq) == ["risk.suitability_checked"]
    with pytest.raises(PermissionDenied):
        svc.suitability_check_recorded(actor=bank.supervisor_a, customer_id=c.pk, product_level=2, product_kind="fund")
    assert verbs_since(seq) == ["risk.suitability_checked"]


# ---- Reminders ----------------------------------------------------------------------------------------------------
def test_expiring_and_expired_assessments_reach_the_managers_inbox(bank, suit):
    from bankcrm.core import inbox

    today = timezone.localdate()
    days = params.value("suitability.reminder_days")
    soon, gone, fine = (person(bank, born=date(1980, 5, 6), name=n) for n in ("将到期", "已过期", "有效中"))
    for c in (soon, gone, fine):
        assess(bank, c, 3)
    set_valid_until(soon, today + timedelta(days=days))
    set_valid_until(gone, today - timedelta(days=1))
    set_valid_until(fine, today + timedelta(days=days + 1))
    items = [i for i in inbox.items_for(bank.cm_a1) if i.kind == "suitability_expiry"]
    assert [i.subtitle.split(" ")[0] for i in items] == [gone.customer_no, soon.customer_no]
    assert "已过期" in items[0].title and "将于" in items[1].title
    assert str(items[0].kind_label) == "风险评估已过期" and str(items[1].kind_label) == "风险评估即将到期"
    assert [i for i in inbox.items_for(bank.cm_b1) if i.kind == "suitability_expiry"] == []
    assert [i for i in inbox.items_for(bank.risk) if i.kind == "suitability_expiry"] == []
    s = svc.suitability_summary(bank.cm_a1, soon)
    assert (s["expired"], s["expiring_soon"]) == (False, True)
    s = svc.suitability_summary(bank.cm_a1, gone)
    assert (s["expired"], s["expiring_soon"]) == (True, False)
    # renewing takes the customer off the list
    assess(bank, gone, 3, f2f=False)
    assert [i.subtitle.split(" ")[0] for i in inbox.items_for(bank.cm_a1) if i.kind == "suitability_expiry"] == \
        [soon.customer_no]

