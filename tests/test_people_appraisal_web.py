"""Appraisal pages and API: my scorecard with every line and its evidence, the team page (ranking within a team, the
branch distribution, calibration), review / sign-off / appeal through the pages, the administrators' schemes and
periods, the API's endpoints, the home section — and the authorization sweep (R10): anonymous, no capability, out of
scope, allowed; denials change nothing and write no audit event."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bankcrm.customers.models import Customer, ManagerAssignment
from bankcrm.people import appraisal_services as svc
from bankcrm.people.models import Appeal, KpiScheme, Scorecard
from tests.conftest import login_client, write_figures
from tests.helpers import audit_seq, verbs_since

TZ = timezone.get_default_timezone()


@pytest.fixture
def cards(bank):
    # one managed customer with a Q3 complaint, so that a drill-down has a row
    from bankcrm.service.models import Complaint

    c = Customer.objects.create(customer_no="W00001", name="欧阳娜娜", id_type="passport", id_number="EW0000001",
                                branch=bank.a1, created_by=bank.admin)
    ManagerAssignment.objects.create(customer=c, staff=bank.cm_a1, role="primary",
                                     started_at=datetime(2025, 1, 1, tzinfo=TZ), assigned_by=bank.admin)
    Complaint.objects.create(number="WC1", channel="branch", summary="等候时间过长", customer=c,
                             branch_path=bank.a1.path, branch=bank.a1, received_at=datetime(2026, 8, 3, 10, tzinfo=TZ),
                             ack_due_on=datetime(2026, 8, 4).date(), decision_due_on=datetime(2026, 8, 18).date())
    with transaction.atomic():
        svc.schemes_install_default(actor=bank.admin)
        period = svc.period_open(actor=bank.admin, year=2026, quarter=3)
    svc.scorecards_compute(actor=bank.admin, period_id=period.pk)
    return bank, period, {s.staff_id: s for s in Scorecard.objects.filter(period=period)}


def _no_change(card):
    card.refresh_from_db()
    return (card.status, card.final_score, card.review_comment, card.signed_off_by_id)


# ---- pages ------------------------------------------------------------------------------------------------------------
def test_my_scorecard_page_lines_definitions_and_evidence(cards):
    bank, _period, by = cards
    c = login_client(bank.cm_a1)
    r = c.get(reverse("people:appraisal"))
    assert r.status_code == 200
    html = r.content.decode()
    assert "客户满意度（CSAT）" in html and "考核期内收到的" in html and 'data-testid="line-complaint_rate"' in html
    card = by[bank.cm_a1.pk]
    ev = c.get(reverse("people:appraisal_evidence", args=[card.pk, "complaint_rate"]))
    assert ev.status_code == 200
    body = ev.content.decode()
    assert "WC1" in body and "欧阳**" in body and "欧阳娜娜" not in body   # masked name
    assert c.get(reverse("people:appraisal_evidence", args=[card.pk, "nope"])).status_code == 404
    # someone else's card: invisible
    assert c.get(reverse("people:appraisal_card", args=[by[bank.om_a1.pk].pk])).status_code == 404


def test_team_page_ranks_within_team_and_distribution(cards):
    bank, period, _by = cards
    c = login_client(bank.supervisor_a)
    r = c.get(reverse("people:appraisal_team") + f"?period={period.pk}")
    assert r.status_code == 200
    html = r.content.decode()
    assert "team-row-CM001" in html and "team-row-OM001" in html and "team-row-CM002" not in html
    assert "team-row-SV101" not in html     # never their own card
    assert 'data-testid="distribution-table"' in html
    # customer managers have no team page (rankings only for people.review)
    assert login_client(bank.cm_a1).get(reverse("people:appraisal_team")).status_code == 403


def test_review_and_sign_off_through_pages(cards):
    bank, _period, by = cards
    card = by[bank.cm_a1.pk]
    me = login_client(bank.cm_a1)
    r = me.post(reverse("people:appraisal_self_assess", args=[card.pk]), {"comment": "本季度满意度提升"})
    assert r.status_code == 302
    sv = login_client(bank.supervisor_a)
    bad = sv.post(reverse("people:appraisal_review", args=[card.pk]), {"comment": "好", "adjustment": "12"})
    assert bad.status_code == 400 and "field-error-adjustment" in bad.content.decode()
    ok = sv.post(reverse("people:appraisal_review", args=[card.pk]), {"comment": "表现良好", "adjustment": "1.5"})
    assert ok.status_code == 302
    card.refresh_from_db()
    assert card.status == "reviewed" and card.review_adjustment == 150
    assert sv.post(reverse("people:appraisal_sign_off", args=[card.pk])).status_code == 302
    card.refresh_from_db()
    assert card.status == "signed_off"
    r = me.post(reverse("people:appraisal_appeal", args=[card.pk]), {"reason": "不同意扣分"})
    assert r.status_code == 302 and Appeal.objects.filter(scorecard=card, status="open").exists()
    co = login_client(bank.compliance)
    appeal = Appeal.objects.get(scorecard=card)
    assert "待我处理" in co.get(reverse("people:appraisal_appeals")).content.decode()
    r = co.post(reverse("people:appraisal_appeal_decide", args=[appeal.pk]), {"decision": "rejected", "note": "维持"})
    assert r.status_code == 302
    card.refresh_from_db()
    assert card.status == "signed_off"


def test_calibration_on_team_page(cards):
    bank, period, by = cards
    card = by[bank.cm_a1.pk]
    svc.scorecard_review(actor=bank.supervisor_a, scorecard_id=card.pk, comment="ok")
    sv = login_client(bank.supervisor_a)
    url = reverse("people:appraisal_team")
    r = sv.post(url, {"period": period.pk, "branch": bank.a1.pk, f"shift_{card.pk}": "20", "reason": "x"})
    assert r.status_code == 200 and "calib-error" in r.content.decode()
    r = sv.post(url, {"period": period.pk, "branch": bank.a1.pk, f"shift_{card.pk}": "-2", "reason": "分行平衡"})
    assert r.status_code == 302
    card.refresh_from_db()
    assert card.status == "calibrated" and card.calibration_adjustment == -200


def test_admin_schemes_and_periods_pages(cards):
    bank, period, _by = cards
    c = login_client(bank.admin)
    assert c.get(reverse("people:appraisal_schemes")).status_code == 200
    cm = KpiScheme.objects.get(role="customer_manager", status="active")
    r = c.get(reverse("people:appraisal_scheme_edit", args=[cm.pk]))
    assert r.status_code == 200 and 'name="weight_csat" value="30"' in r.content.decode()
    # weights summing to 90 and CSAT not heaviest: every problem shown
    data = {"name": "新方案", "weight_csat": "20", "floor_csat": "3", "target_csat": "4.8",
            "weight_retention": "70", "floor_retention": "85", "target_retention": "99"}
    r = c.post(reverse("people:appraisal_scheme_edit", args=[cm.pk]), data)
    html = r.content.decode()
    assert r.status_code == 400 and "权重合计须为 100%" in html and "不低于 40%" in html
    data.update(weight_nps="15", floor_nps="0", target_nps="60", weight_csat="45", weight_retention="40")
    r = c.post(reverse("people:appraisal_scheme_edit", args=[cm.pk]), {**data, "activate": "1"})
    assert r.status_code == 302
    new = KpiScheme.objects.get(role="customer_manager", status="active")
    assert new.version == cm.version + 1
    assert {w.metric: (w.weight, w.floor, w.target) for w in new.weights.all()}["csat"] == (45, 30000, 48000)
    assert {w.metric: w.floor for w in new.weights.all()}["retention"] == 8500
    r = c.post(reverse("people:appraisal_periods"), {"open": "1", "year": "2026", "quarter": "4"})
    assert r.status_code == 302
    r = c.post(reverse("people:appraisal_periods"), {"compute": str(period.pk)})
    assert r.status_code == 302
    assert c.get(reverse("people:appraisal_periods")).status_code == 200


def test_home_section_for_staff_and_supervisor(cards):
    bank, _period, _by = cards
    html = login_client(bank.cm_a1).get("/").content.decode()
    assert 'data-testid="home-appraisal"' in html and "记分卡待自评" in html
    html = login_client(bank.supervisor_a).get("/").content.decode()
    assert 'data-testid="home-appraisal-team"' in html


def test_nav_entries_under_people_menu(cards):
    from bankcrm.core.navigation import entries_for

    bank, _p, _by = cards
    groups = {str(g["label"]): [str(i["label"]) for i in g["items"]] for g in entries_for(bank.supervisor_a)}
    assert {"我的考核", "团队考核"} <= set(groups["员工发展"])
    groups = {str(g["label"]): [str(i["label"]) for i in g["items"]] for g in entries_for(bank.admin)}
    assert "考核方案" in groups["员工发展"]


# ---- API --------------------------------------------------------------------------------------------------------------
def test_api_scorecards_lines_evidence_and_transitions(cards):
    bank, period, by = cards
    card = by[bank.cm_a1.pk]
    me = login_client(bank.cm_a1)
    r = me.get("/api/v1/people/appraisal/scorecards/")
    assert r.status_code == 200 and [x["id"] for x in r.json()["results"]] == [card.pk]
    d = me.get(f"/api/v1/people/appraisal/scorecards/{card.pk}/").json()
    assert {ln["metric"] for ln in d["lines"]} >= {"csat", "nps", "complaint_rate"} and d["lines"][0]["definition"]
    ev = me.get(f"/api/v1/people/appraisal/scorecards/{card.pk}/evidence/complaint_rate/").json()
    assert any(row["ref"] == "WC1" for row in ev)
    r = me.post(f"/api/v1/people/appraisal/scorecards/{card.pk}/self-assess/", {"comment": "自评"},
                content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "self_assessed"
    sv = login_client(bank.supervisor_a)
    r = sv.post(f"/api/v1/people/appraisal/scorecards/{card.pk}/review/", {"comment": "好", "adjustment": 5000},
                content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "adjustment_too_large"
    r = sv.post(f"/api/v1/people/appraisal/scorecards/{card.pk}/review/", {"comment": "好", "adjustment": 100},
                content_type="application/json")
    assert r.status_code == 200 and r.json()["final_score"] == card.computed_score + 100
    r = sv.post("/api/v1/people/appraisal/calibrations/", {"period_id": period.pk, "branch_id": bank.a1.pk,
                                                           "reason": "校准", "shifts": {str(card.pk): -50}},
                content_type="application/json")
    assert r.status_code == 200
    r = sv.post(f"/api/v1/people/appraisal/scorecards/{card.pk}/sign-off/", content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "signed_off"
    r = me.post(f"/api/v1/people/appraisal/scorecards/{card.pk}/appeal/", {"reason": "申诉"},
                content_type="application/json")
    assert r.status_code == 201
    appeal_id = r.json()["id"]
    r = sv.post(f"/api/v1/people/appraisal/appeals/{appeal_id}/decide/", {"upheld": True, "note": "x"},
                content_type="application/json")
    assert r.status_code == 403   # the reviewer
    r = login_client(bank.compliance).post(f"/api/v1/people/appraisal/appeals/{appeal_id}/decide/",
                                           {"upheld": True, "note": "成立"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "upheld"


def test_api_admin_periods_and_schemes(cards):
    bank, period, _by = cards
    admin = login_client(bank.admin)
    r = admin.post("/api/v1/people/appraisal/periods/", {"year": 2026}, content_type="application/json")
    assert r.status_code == 201 and r.json()["kind"] == "year"
    r = admin.post(f"/api/v1/people/appraisal/periods/{period.pk}/compute/", {}, content_type="application/json")
    assert r.status_code == 200 and r.json()["updated"] > 0
    r = admin.post("/api/v1/people/appraisal/schemes/", {"role": "customer_manager", "name": "x", "weights": [
        {"metric": "csat", "weight": 30, "floor": 30000, "target": 48000}]}, content_type="application/json")
    assert r.status_code == 400 and "weights" in r.json()["error"]["fields"]
    assert admin.get("/api/v1/people/appraisal/schemes/").status_code == 200


# ---- R10 sweep ---------------------------------------------------------------------------------------------------------
def test_r10_authorization_sweep(cards):
    bank, period, by = cards
    card = by[bank.cm_a1.pk]
    other = by[bank.cm_b1.pk]
    cases = []  # (client, method, url, data, expected status set)
    anon = Client()
    pages = [("post", reverse("people:appraisal_review", args=[card.pk]), {"comment": "x"}),
             ("post", reverse("people:appraisal_sign_off", args=[card.pk]), {}),
             ("post", reverse("people:appraisal_self_assess", args=[card.pk]), {"comment": "x"}),
             ("post", reverse("people:appraisal_periods"), {"compute": str(period.pk)})]
    for method, url, data in pages:
        cases.append(("anonymous", anon, url, data, {302}))
    api = [f"/api/v1/people/appraisal/scorecards/{card.pk}/review/",
           f"/api/v1/people/appraisal/scorecards/{card.pk}/sign-off/",
           f"/api/v1/people/appraisal/periods/{period.pk}/compute/"]
    for url in api:
        cases.append(("anonymous", anon, url, {"comment": "x"}, {401, 403}))
    cm, om, svb, sva_b = (login_client(bank.cm_a1), login_client(bank.om_a1), login_client(bank.supervisor_b),
                          login_client(bank.supervisor_a))
    # no capability
    cases += [("no-capability", om, reverse("people:appraisal_review", args=[card.pk]), {"comment": "x"}, {403}),
              ("no-capability", cm, reverse("people:appraisal_sign_off", args=[card.pk]), {}, {403}),
              ("no-capability", sva_b, reverse("people:appraisal_periods"), {"compute": str(period.pk)}, {403}),
              ("no-capability", om, f"/api/v1/people/appraisal/scorecards/{card.pk}/review/", {"comment": "x"}, {403}),
              ("no-capability", cm, f"/api/v1/people/appraisal/periods/{period.pk}/compute/", {}, {403})]
    # out of scope (another branch's supervisor; someone else's card)
    cases += [("out-of-scope", svb, reverse("people:appraisal_review", args=[card.pk]), {"comment": "x"}, {404}),
              ("out-of-scope", svb, f"/api/v1/people/appraisal/scorecards/{card.pk}/review/", {"comment": "x"}, {404}),
              ("out-of-scope", svb, f"/api/v1/people/appraisal/scorecards/{card.pk}/", None, {404}),
              ("out-of-scope", cm, reverse("people:appraisal_self_assess", args=[other.pk]), {"comment": "x"}, {404}),
              ("out-of-scope", cm, f"/api/v1/people/appraisal/scorecards/{other.pk}/evidence/csat/", None, {404}),
              ("out-of-scope", sva_b, reverse("people:appraisal_review", args=[by[bank.supervisor_a.pk].pk]),
               {"comment": "x"}, {403})]   # own card: maker ≠ checker
    before = {c.pk: _no_change(c) for c in (card, other, by[bank.supervisor_a.pk])}
    seq = audit_seq()
    failures = []
    for kind, client, url, data, expected in cases:
        if data is None:
            r = client.get(url)
        elif url.startswith("/api/"):
            r = client.post(url, data, content_type="application/json")
        else:
            r = client.post(url, data)
        if r.status_code not in expected:
            failures.append(f"{kind} {url}: {r.status_code}")
    after = {c.pk: _no_change(c) for c in (card, other, by[bank.supervisor_a.pk])}
    write_figures("R10-people-appraisal", not failures and before == after, denied_cases=len(cases),
                  failures=len(failures))
    assert not failures, failures
    assert before == after and verbs_since(seq) == []
    # allowed
    r = sva_b.post(reverse("people:appraisal_review", args=[card.pk]), {"comment": "好"})
    assert r.status_code == 302 and verbs_since(seq) == ["people.scorecard_reviewed"]


def test_every_appraisal_route_declares_a_capability():
    from django.urls import get_resolver

    from bankcrm.people import appraisal_views

    names = [n for n in get_resolver().reverse_dict if isinstance(n, str) and n.startswith("people:appraisal")] or []
    for name in dir(appraisal_views):
        fn = getattr(appraisal_views, name)
        if callable(fn) and getattr(fn, "__module__", "") == appraisal_views.__name__ and hasattr(fn, "capability"):
            assert fn.capability.startswith("people.")
    from bankcrm.people.api import appraisal_views as api

    for name in dir(api):
        cls = getattr(api, name)
        if isinstance(cls, type) and getattr(cls, "permission_classes", None) and cls.__module__ == api.__name__:
            assert getattr(cls, "capability", None) or getattr(cls, "capabilities", None), name
    _ = names
