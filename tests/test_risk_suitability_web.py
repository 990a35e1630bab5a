"""Suitability through the web pages and the API: the questionnaire editor, taking a customer through the
questionnaire, the 适当性校验 page, errors with their codes (nothing half-written) and authorization."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.urls import reverse

from bankcrm.core import access
from bankcrm.risk import rules_suitability as rules
from bankcrm.risk import suitability as svc
from bankcrm.risk.models import Questionnaire, RiskProfile, SuitabilityAssessment
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since
from tests.test_risk_suitability import answers_for, assess, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def suit(bank, monkeypatch):
    monkeypatch.setitem(access.GATES, "risk.sell_certified", [])
    svc.questionnaire_install_default(actor=bank.admin)
    return person(bank, born=date(1980, 5, 6), name="张适当")


def text(r) -> str:
    return r.content.decode()


def post_json(client, url, data, method="post"):
    return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")


def state(customer) -> tuple:
    return (SuitabilityAssessment.objects.filter(customer=customer).count(),
            RiskProfile.objects.filter(customer=customer).count(), Questionnaire.objects.count())


# ---- Web: taking the questionnaire --------------------------------------------------------------------------------
def test_customer_manager_takes_a_customer_through_the_questionnaire(bank, suit):
    c, client = suit, login_client(bank.cm_a1)
    url = reverse("risk:suitability_take", args=[c.pk])
    page = text(client.get(url))
    assert 'type="radio"' in page and "网点面签" in page and "首次风险承受能力评估" in page
    assert page.count('type="radio"') == sum(len(q["options"]) for q in rules.DEFAULT_QUESTIONS)
    q = svc.questionnaire_active()
    answers = {f"q_{k}": v for k, v in answers_for(4).items()}
    seq, before = audit_seq(), state(c)
    # every question required; face to face required the first time; nothing written
    r = client.post(url, {"questionnaire_id": q.pk, **{k: v for k, v in answers.items() if k != "q_loss"}})
    assert r.status_code == 200 and 'data-testid="field-error-q_loss"' in text(r)
    assert 'data-testid="field-error-face_to_face"' in text(r)
    assert state(c) == before and verbs_since(seq) == []
    r = client.post(url, {"questionnaire_id": q.pk, "face_to_face": "on", **answers})
    a = SuitabilityAssessment.objects.get(customer=c)
    assert r.status_code == 302 and r["Location"] == reverse("risk:suitability_result", args=[c.pk, a.pk])
    assert verbs_since(seq) == ["risk.suitability_assessed"]
    result = text(client.get(r["Location"]))
    assert 'data-testid="result-level">C4<' in result and f'data-testid="result-score">{a.score}<' in result
    assert str(a.valid_until) in result and 'data-testid="chosen-loss"' in result
    history = text(client.get(reverse("risk:suitability_history", args=[c.pk])))
    assert "C4" in history and 'data-testid="current-level">C4' in history
    # a renewal: no face-to-face needed; an answer to a retired version is refused with its code
    r = client.post(url, {"questionnaire_id": q.pk + 999, **answers})
    assert r.status_code == 200 and "questionnaire_changed" in text(r)
    r = client.post(url, {"questionnaire_id": q.pk, **{f"q_{k}": v for k, v in answers_for(1).items()}})
    assert r.status_code == 302
    assert list(SuitabilityAssessment.objects.filter(customer=c).values_list("level", "status")) == \
        [(1, "current"), (4, "superseded")]


def test_customer_pages_are_404_out_of_scope_and_403_without_capability(bank, suit):
    c = suit
    assess(bank, c, 3)
    a = SuitabilityAssessment.objects.get(customer=c)
    urls = [reverse("risk:suitability_take", args=[c.pk]), reverse("risk:suitability_history", args=[c.pk]),
            reverse("risk:suitability_result", args=[c.pk, a.pk])]
    for outsider in (bank.intern, bank.cm_b1):
        for url in urls:
            assert login_client(outsider).get(url).status_code == 404, (outsider.staff_no, url)
        r = post_json(login_client(outsider), f"/api/v1/risk/customers/{c.pk}/suitability/", {"answers": {}})
        assert r.status_code == 404 and r.json()["error"]["code"] == "customer_not_found"
    denied = security_count("denied")
    assert login_client(bank.risk).get(urls[0]).status_code == 403  # risk manager: may not assess
    assert login_client(bank.admin).get(urls[1]).status_code == 403  # administrator: no risk.view
    assert security_count("denied") == denied + 2
    assert login_client(bank.supervisor_a).get(urls[1]).status_code == 200
    assert login_client(bank.cm_a1).get(reverse("risk:questionnaires")).status_code == 403


# ---- Web: questionnaire versions ----------------------------------------------------------------------------------
def test_administrator_creates_edits_and_publishes_a_version(bank, suit):
    client = login_client(bank.admin)
    page = text(client.get(reverse("risk:questionnaires")))
    assert "v1" in page and 'data-testid="questionnaire-new"' in page
    seq = audit_seq()
    r = client.post(reverse("risk:questionnaires"))
    draft = Questionnaire.objects.get(version=2)
    assert r.status_code == 302 and r["Location"] == reverse("risk:questionnaire", args=[draft.pk])
    url = r["Location"]
    assert "questionnaire-save" in text(client.get(url))
    # bad JSON and bad content: named problems, nothing saved
    r = client.post(url, {"content": '{"title": "x", '})
    assert r.status_code == 200 and "JSON 格式错误：第 1 行" in text(r)
    content = json.loads(client.get(url).context["form"].initial["content"])
    content["questions"][1]["options"][0]["score"] = "2"
    r = client.post(url, {"content": json.dumps(content, ensure_ascii=False)})
    assert "第 2 题（income）的第 1 个选项的分值（score）必须是非负整数" in text(r) and "questionnaire_invalid" in text(r)
    content["questions"][1]["options"][0]["score"] = 2
    content["bands"] = [[20, 1], [40, 2], [60, 3], [80, 4], [90, 5]]
    r = client.post(url, {"content": json.dumps(content, ensure_ascii=False)})
    assert "分数段未覆盖最高可能得分 100" in text(r)
    draft.refresh_from_db()
    assert draft.bands == rules.DEFAULT_BANDS
    content["bands"] = [[25, 1], [45, 2], [65, 3], [85, 4], [100, 5]]
    assert client.post(url, {"content": json.dumps(content, ensure_ascii=False)}).status_code == 302
    assert client.post(reverse("risk:questionnaire_publish", args=[draft.pk])).status_code == 302
    assert list(Questionnaire.objects.order_by("version").values_list("version", "status")) == \
        [(1, "retired"), (2, "active")]
    # a published version shows no editor and refuses a save
    assert "questionnaire-save" not in text(client.get(url))
    client.post(url, {"content": json.dumps(content, ensure_ascii=False)})
    assert Questionnaire.objects.get(version=2).bands[0] == [25, 1]
    assert verbs_since(seq) == ["risk.questionnaire_saved", "risk.questionnaire_saved", "risk.questionnaire_published"]


# ---- Web: 适当性校验 ------------------------------------------------------------------------------------------------
def test_check_page_names_every_rule(bank, suit):
    c = person(bank, born=date(1950, 1, 2), name="王老人")
    assess(bank, c, 2)
    client = login_client(bank.cm_a1)
    url = reverse("risk:suitability_check")
    assert f'value="{c.customer_no}"' in text(client.get(url + f"?customer={c.pk}"))
    seq = audit_seq()
    r = client.post(url, {"customer_no": c.customer_no, "product_level": "3", "product_kind": "wealth"})
    page = text(r)
    assert 'data-testid="check-refused"' in page
    assert 'data-testid="violation-suitability_level_too_low"' in page
    assert 'data-testid="violation-suitability_recording_required"' in page
    assert verbs_since(seq) == ["risk.suitability_checked"]
    r = client.post(url, {"customer_no": c.customer_no, "product_level": "2", "product_kind": "private"})
    assert 'data-testid="check-allowed"' in text(r) and 'data-testid="cooling-off"' in text(r)
    # a customer of another branch is not found; nothing is audited
    other = person(bank, born=date(1980, 1, 2), actor=bank.cm_b1)
    seq = audit_seq()
    r = client.post(url, {"customer_no": other.customer_no, "product_level": "1", "product_kind": "fund"})
    assert "客户不存在或不在您的管户范围内" in text(r) and verbs_since(seq) == []
    assert login_client(bank.risk).get(url).status_code == 403


def test_navigation_entries(bank, suit):
    from bankcrm.core.navigation import entries_for

    def names(actor):
        return {i["url_name"] for g in entries_for(actor) for i in g["items"]}

    assert "risk:suitability_check" in names(bank.cm_a1) and "risk:questionnaires" not in names(bank.cm_a1)
    assert "risk:questionnaires" in names(bank.admin) and "risk:suitability_check" not in names(bank.admin)


# ---- API ----------------------------------------------------------------------------------------------------------
def test_api_questionnaires(bank, suit):
    admin = login_client(bank.admin)
    rows = admin.get("/api/v1/risk/questionnaires/").json()
    assert [(q["version"], q["status"]) for q in rows] == [(1, "active")]
    active = login_client(bank.cm_a1).get("/api/v1/risk/questionnaires/active/").json()
    assert active["version"] == 1 and len(active["questions"]) == 10
    assert login_client(bank.cm_a1).get("/api/v1/risk/questionnaires/").status_code == 403
    seq, n = audit_seq(), Questionnaire.objects.count()
    bad = {"title": "新版", "questions": rules.DEFAULT_QUESTIONS, "bands": [[50, 1], [40, 2]]}
    r = post_json(admin, "/api/v1/risk/questionnaires/", bad)
    assert r.status_code == 400 and r.json()["error"]["code"] == "questionnaire_invalid"
    assert "第 2 个分数段的最高分 40 必须大于上一段" in r.json()["error"]["message"]
    assert Questionnaire.objects.count() == n and verbs_since(seq) == []
    r = post_json(admin, "/api/v1/risk/questionnaires/", {})
    assert r.status_code == 201 and r.json()["version"] == 2 and r.json()["status"] == "draft"
    pk = r.json()["id"]
    r = post_json(admin, "/api/v1/risk/questionnaires/", {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "questionnaire_draft_exists"
    good = {"title": "新版问卷", "title_en": "New", "questions": rules.DEFAULT_QUESTIONS, "bands": rules.DEFAULT_BANDS}
    assert post_json(admin, f"/api/v1/risk/questionnaires/{pk}/", good, "put").json()["title"] == "新版问卷"
    r = post_json(admin, f"/api/v1/risk/questionnaires/{pk}/publish/", {})
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = post_json(admin, f"/api/v1/risk/questionnaires/{pk}/", good, "put")
    assert r.status_code == 409 and r.json()["error"]["code"] == "questionnaire_not_draft"
    assert admin.get("/api/v1/risk/questionnaires/99999/").status_code == 404
    assert verbs_since(seq) == ["risk.questionnaire_saved", "risk.questionnaire_saved", "risk.questionnaire_published"]


def test_api_assess_and_history(bank, suit):
    c, client = suit, login_client(bank.cm_a1)
    url = f"/api/v1/risk/customers/{c.pk}/suitability/"
    q = svc.questionnaire_active()
    seq, before = audit_seq(), state(c)
    r = post_json(client, url, {"answers": {"age": "A"}, "face_to_face": True})
    assert r.status_code == 400 and r.json()["error"]["code"] == "answers_incomplete"
    assert set(r.json()["error"]["fields"]) == {q["code"] for q in rules.DEFAULT_QUESTIONS} - {"age"}
    r = post_json(client, url, {"answers": answers_for(3)})
    assert r.status_code == 400 and r.json()["error"]["code"] == "face_to_face_required"
    r = post_json(client, url, {"answers": "A"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    r = post_json(client, url, {"answers": answers_for(3), "face_to_face": True, "questionnaire": q.pk + 1})
    assert r.status_code == 409 and r.json()["error"]["code"] == "questionnaire_changed"
    assert state(c) == before and verbs_since(seq) == []
    r = post_json(client, url, {"answers": answers_for(3), "face_to_face": True, "questionnaire": q.pk})
    assert r.status_code == 201 and (r.json()["level"], r.json()["first_time"]) == (3, True)
    rows = client.get(url).json()
    assert [(x["level"], x["status"]) for x in rows] == [(3, "current")]
    assert post_json(login_client(bank.risk), url, {"answers": answers_for(3)}).status_code == 403
    assert login_client(bank.supervisor_a).get(url).status_code == 200
    assert verbs_since(seq) == ["risk.suitability_assessed"]


def test_api_check(bank, suit):
    c, client = suit, login_client(bank.cm_a1)
    assess(bank, c, 3)
    url = "/api/v1/risk/suitability/check/"
    seq = audit_seq()
    r = post_json(client, url, {"customer": c.pk, "product_level": 4, "product_kind": "fund"})
    assert r.status_code == 200
    body = r.json()
    assert body["allowed"] is False and [v["code"] for v in body["violations"]] == ["suitability_level_too_low"]
    assert body["investor_level"] == 3 and body["requirements"]["recording"] is False
    r = post_json(client, url, {"customer_no": c.customer_no, "product_level": 3, "product_kind": "private"})
    assert r.json()["allowed"] is True and r.json()["requirements"]["cooling_off_until"]
    rec = {"recording_id": "SL-9", "booth": "双录区2", "recorded_at": "2024-01-01T10:00:00+08:00"}
    r = post_json(client, url, {"customer": c.pk, "product_level": 0, "product_kind": "deposit", "recording": rec})
    assert r.json()["allowed"] is True
    assert verbs_since(seq) == ["risk.suitability_checked"] * 3
    for bad in ({"customer": c.pk, "product_level": 7, "product_kind": "fund"},
                {"customer": c.pk, "product_level": 1, "product_kind": "bitcoin"},
                {"product_level": 1, "product_kind": "fund"}):
        r = post_json(client, url, bad)
        assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed", bad
    r = post_json(login_client(bank.cm_b1), url, {"customer": c.pk, "product_level": 1, "product_kind": "fund"})
    assert r.status_code == 404
    assert post_json(login_client(bank.risk), url, {"customer": c.pk, "product_level": 1,
                                                    "product_kind": "fund"}).status_code == 403
    assert verbs_since(seq) == ["risk.suitability_checked"] * 3
