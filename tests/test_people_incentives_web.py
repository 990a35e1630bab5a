"""Incentive pages, API, payout workbook, navigation, home and inbox, and the authorization sweep (R10) of every
incentive route: anonymous → login / 401; without the capability → 403 with nothing changed and nothing audited;
another branch's pool → 404; allowed → 200. A customer manager never sees colleagues' awards."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bankcrm.core import access
from bankcrm.core.models import AuditEvent
from bankcrm.core.navigation import entries_for
from bankcrm.people import incentive_services as svc
from bankcrm.people.models import Clawback, IncentiveAward, IncentivePool
from tests.conftest import login_client
from tests.helpers import audit_seq, db_state, security_count, state_diff, verbs_since
from tests.test_people_incentives import allocated_pool, paid_pool, upheld_complaint

pytestmark = pytest.mark.django_db


def _get(client, url, **kw):
    return client.get(url, **kw)


# ---- Pages --------------------------------------------------------------------------------------------------------------
def test_supervisor_flow_through_the_pages(bank):
    svc.scheme_install_default()
    from tests.test_people_incentives import team_a

    period = team_a(bank)
    sv = login_client(bank.supervisor_a)
    r = sv.get(reverse("people:pool_new"))
    assert r.status_code == 200 and "设立奖金池" in r.content.decode()
    r = sv.post(reverse("people:pool_new"), {"branch_id": bank.a.pk, "period_id": period.pk,
                                             "scheme_id": svc.scheme_install_default().pk, "amount": "abc"})
    assert r.status_code == 200 and 'data-testid="field-error-amount"' in r.content.decode()
    r = sv.post(reverse("people:pool_new"), {"branch_id": bank.a.pk, "period_id": period.pk,
                                             "scheme_id": svc.scheme_install_default().pk, "amount": "10,000.00"})
    pool = IncentivePool.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("people:pool", args=[pool.pk])
    assert sv.post(reverse("people:pool_allocate", args=[pool.pk])).status_code == 302
    page = sv.get(reverse("people:pool", args=[pool.pk])).content.decode()
    assert page.count('data-testid="award-row"') == 3 and "3,750.00" in page and "排名" in page
    assert page.count('data-testid="exclusion-row"') == 4 and "无本期考核记分卡" in page
    assert sv.post(reverse("people:pool_submit", args=[pool.pk]), {"reason": "三季度"}).status_code == 302
    pool.refresh_from_db()
    assert pool.status == "pending"
    # the checker (compliance) sees the amounts to approve, but no ranking; the pool is on their home and inbox
    co = login_client(bank.compliance)
    page = co.get(reverse("people:pool", args=[pool.pk])).content.decode()
    assert "3,750.00" in page and "排名" not in page and 'data-testid="pool-approve"' in page
    home = co.get(reverse("core:home")).content.decode()
    assert 'data-testid="home-pool-pending"' in home
    assert "奖金池复核" in co.get(reverse("core:inbox")).content.decode()
    r = co.post(reverse("approvals:decide", args=[pool.pending_action_id, "approve"]), {"reason": "核对无误"})
    assert r.status_code in (200, 302)
    pool.refresh_from_db()
    assert pool.status == "approved", pool.pending_action.result
    r = sv.post(reverse("people:pool_paid", args=[pool.pk]), {"paid_on": timezone.localdate().isoformat()})
    pool.refresh_from_db()
    assert r.status_code == 302 and pool.status == "paid"


def test_pool_page_errors_are_shown(bank):
    pool = allocated_pool(bank)
    sv = login_client(bank.supervisor_a)
    r = sv.post(reverse("people:pool_paid", args=[pool.pk]), {"paid_on": timezone.localdate().isoformat()},
                follow=True)
    assert "须经复核通过后才能登记发放" in r.content.decode()


def test_my_incentives_shows_only_my_own(bank):
    pool = paid_pool(bank)
    cm = login_client(bank.cm_a1)
    page = cm.get(reverse("people:my_incentives")).content.decode()
    assert page.count('data-testid="my-award"') == 1 and "3,750.00" in page
    assert "3,333.33" not in page and "2,916.67" not in page  # colleagues' awards
    assert "陈运营" not in page and "卫实习" not in page
    assert cm.get(reverse("people:pool", args=[pool.pk])).status_code == 403
    assert cm.get(reverse("people:pools")).status_code == 403


def test_clawback_queue_and_decision_pages(bank):
    from tests.ledger_helpers import build_ledger

    paid_pool(bank)
    upheld_complaint(bank, build_ledger(bank).zhang, bank.cm_a1, timezone.now() - timedelta(minutes=1))
    co = login_client(bank.compliance)
    r = co.post(reverse("people:clawback_scan"), follow=True)
    assert "新发起 1 条追索" in r.content.decode()
    cb = Clawback.objects.get()
    page = co.get(reverse("people:clawbacks")).content.decode()
    assert page.count('data-testid="clawback-row"') == 1 and "750.00" in page
    assert 'data-testid="home-clawback"' in co.get(reverse("core:home")).content.decode()
    r = co.post(reverse("people:clawback_decide", args=[cb.pk]), {"decision": "waive", "reason": ""})
    assert r.status_code == 200 and 'data-testid="field-error-reason"' in r.content.decode()
    r = co.post(reverse("people:clawback_decide", args=[cb.pk]), {"decision": "confirm", "reason": "投诉属实"})
    assert r.status_code == 302
    assert IncentiveAward.objects.get(pk=cb.award_id).clawed_back_fen == 75_000
    mine = login_client(bank.cm_a1).get(reverse("people:my_incentives")).content.decode()
    assert mine.count('data-testid="my-clawback"') == 1 and "已追索" in mine


def test_schemes_admin(bank):
    ad = login_client(bank.admin)
    r = ad.post(reverse("people:incentive_scheme_new"), {"code": "tiers", "name": "档次分配", "method": "tiered",
                                                         "min_score": "60", "tiers": "90,150\n80,120\n60,80",
                                                         "cap_percent": "50", "active": "on"})
    assert r.status_code == 302, r.content.decode()[:2000]
    page = ad.get(reverse("people:incentive_schemes")).content.decode()
    assert "档次分配" in page and "≥90.00 → 150%" in page
    r = ad.post(reverse("people:incentive_scheme_new"), {"code": "bad", "name": "错误档次", "method": "tiered",
                                                         "min_score": "60", "tiers": "90,50\n60,80", "cap_percent": "50"})
    assert r.status_code == 200 and 'data-testid="field-error-tiers"' in r.content.decode()
    assert login_client(bank.supervisor_a).get(reverse("people:incentive_scheme_new")).status_code == 403


# ---- Excel --------------------------------------------------------------------------------------------------------------
def test_payout_workbook_opens_and_sums_right(bank):
    from openpyxl import load_workbook

    pool = paid_pool(bank)
    seq = audit_seq()
    r = login_client(bank.supervisor_a).get(reverse("people:pool_export", args=[pool.pk]))
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxml")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, row in enumerate(rows) if row[0] == "机构代码")
    body, total = rows[head + 1:-1], rows[-1]
    assert [row[2] for row in body] == ["CM001", "IN001", "OM001"]
    assert {row[3] for row in body} == {"郑**", "卫**", "陈**"}  # names masked as in every export
    assert round(sum(row[5] for row in body) * 100) == 1_000_000 == round(total[5] * 100)
    assert total[0] == "合计" and round(total[7] * 100) == 1_000_000
    assert verbs_since(seq) == ["people.payout_exported"]
    assert login_client(bank.intern).get(reverse("people:pool_export", args=[pool.pk])).status_code == 403
    assert login_client(bank.supervisor_b).get(reverse("people:pool_export", args=[pool.pk])).status_code == 404


# ---- API ----------------------------------------------------------------------------------------------------------------
def test_api_flow(bank):
    from tests.test_people_incentives import team_a

    scheme = svc.scheme_install_default()
    period = team_a(bank)
    sv = login_client(bank.supervisor_a)
    r = sv.post("/api/v1/people/pools/", {"branch_id": bank.a.pk, "period_id": period.pk, "scheme_id": scheme.pk,
                                          "amount": "10000", "status": "paid"}, content_type="application/json")
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert r.json()["status"] == "draft"  # status is not assignable
    r = sv.post(f"/api/v1/people/pools/{pid}/allocate/", content_type="application/json")
    assert r.status_code == 200 and len(r.json()["exclusions"]) == 4
    awards = sv.get(f"/api/v1/people/pools/{pid}/awards/").json()
    assert [a["rank"] for a in awards] == [1, 2, 3] and sum(a["amount_fen"] for a in awards) == 1_000_000
    r = sv.post(f"/api/v1/people/pools/{pid}/submit/", {"reason": "Q3"}, content_type="application/json")
    assert r.status_code == 202 and r.json()["status"] == "pending"
    co = login_client(bank.compliance)
    assert all(a["rank"] is None for a in co.get(f"/api/v1/people/pools/{pid}/awards/").json())
    r = co.post(f"/api/v1/approvals/{r.json()['pending_action']}/approve/", {"reason": "ok"},
                content_type="application/json")
    assert IncentivePool.objects.get(pk=pid).status == "approved", r.content
    r = sv.post(f"/api/v1/people/pools/{pid}/paid/", {}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "paid"
    r = sv.post(f"/api/v1/people/pools/{pid}/allocate/", content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "pool_locked"
    r = sv.get(f"/api/v1/people/pools/{pid}/export/")
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_customer_manager_cannot_see_colleagues_awards_in_the_api(bank):
    pool = paid_pool(bank)
    cm = login_client(bank.cm_a1)
    mine = cm.get("/api/v1/people/my-awards/").json()
    results = mine["results"] if isinstance(mine, dict) else mine
    assert [a["staff"] for a in results] == [bank.cm_a1.pk]
    listed = cm.get("/api/v1/people/awards/").json()
    listed = listed["results"] if isinstance(listed, dict) else listed
    assert {a["staff"] for a in listed} == {bank.cm_a1.pk}
    assert cm.get(f"/api/v1/people/pools/{pool.pk}/awards/").status_code == 403
    assert cm.get(f"/api/v1/people/pools/{pool.pk}/").status_code == 403
    assert cm.get("/api/v1/people/clawbacks/").status_code == 403
    # a supervisor of another branch does not see the pool at all
    assert login_client(bank.supervisor_b).get(f"/api/v1/people/pools/{pool.pk}/awards/").status_code == 404
    other = login_client(bank.supervisor_b).get("/api/v1/people/awards/").json()
    assert (other["results"] if isinstance(other, dict) else other) == []


def test_pool_list_period_filter_beyond_the_id_range_is_a_400(bank):
    """R11 found `?period_id=194922057542751191040` answered 500 (SQLite cannot bind the number)."""
    sv = login_client(bank.supervisor_a)
    r = sv.get("/api/v1/people/pools/?period_id=194922057542751191040")
    assert r.status_code == 400 and "period_id" in r.json()["error"]["fields"]
    assert sv.get("/api/v1/people/pools/?period_id=9223372036854775807").status_code == 200


def test_api_clawback_decide_and_scan(bank):
    from tests.ledger_helpers import build_ledger

    paid_pool(bank)
    upheld_complaint(bank, build_ledger(bank).zhang, bank.om_a1, timezone.now() - timedelta(minutes=1))
    co = login_client(bank.compliance)
    r = co.post("/api/v1/people/clawbacks/scan/", content_type="application/json")
    assert r.status_code == 200 and len(r.json()["proposed"]) == 1
    cid = r.json()["proposed"][0]["id"]
    r = co.post(f"/api/v1/people/clawbacks/{cid}/decide/", {"decision": "waive"}, content_type="application/json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = co.post(f"/api/v1/people/clawbacks/{cid}/decide/", {"decision": "waive", "reason": "客户误解，员工无过错"},
                content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "waived"
    om = login_client(bank.om_a1).get("/api/v1/people/my-clawbacks/").json()
    assert [c["id"] for c in (om["results"] if isinstance(om, dict) else om)] == [cid]
    cm = login_client(bank.cm_a1).get("/api/v1/people/my-clawbacks/").json()
    assert (cm["results"] if isinstance(cm, dict) else cm) == []


# ---- Navigation ---------------------------------------------------------------------------------------------------------
def test_navigation_under_people_menu(bank):
    def labels(staff):
        return {str(i["label"]) for g in entries_for(staff) if str(g["label"]) == "员工发展" for i in g["items"]}

    assert {"奖金池", "我的激励", "绩效追索"} <= labels(bank.supervisor_a)
    assert {"奖金池", "我的激励", "绩效追索"} <= labels(bank.compliance)
    cm = labels(bank.cm_a1)
    assert "我的激励" in cm and "奖金池" not in cm and "绩效追索" not in cm


# ---- R10 sweep ----------------------------------------------------------------------------------------------------------
def _state():
    from bankcrm.people.models import Clawback, IncentiveAward, IncentivePool, IncentiveScheme

    out = db_state()
    for m in (IncentiveScheme, IncentivePool, IncentiveAward, Clawback):
        out[m._meta.label] = [tuple(str(v) for v in r) for r in m.objects.order_by("pk").values_list()]
    return out


def _routes(pool, cb):
    """(method, url, capability, body) of every incentive route, bound to the objects of branch A."""
    p, c = pool.pk, cb.pk
    html = [
        ("get", reverse("people:pools"), "people.incentive_pools", None),
        ("get", reverse("people:pool_new"), "people.incentives", None),
        ("post", reverse("people:pool_new"), "people.incentives", {"amount": "1"}),
        ("get", reverse("people:pool", args=[p]), "people.incentive_pools", None),
        ("get", reverse("people:pool_edit", args=[p]), "people.incentives", None),
        ("post", reverse("people:pool_allocate", args=[p]), "people.incentives", {}),
        ("post", reverse("people:pool_submit", args=[p]), "people.incentives", {}),
        ("post", reverse("people:pool_paid", args=[p]), "people.incentives", {"paid_on": "2026-10-08"}),
        ("get", reverse("people:pool_export", args=[p]), "people.export", None),
        ("get", reverse("people:my_incentives"), "people.my_incentives", None),
        ("get", reverse("people:clawbacks"), "people.clawback", None),
        ("post", reverse("people:clawback_scan"), "people.clawback", {}),
        ("get", reverse("people:clawback_decide", args=[c]), "people.clawback", None),
        ("post", reverse("people:clawback_decide", args=[c]), "people.clawback", {"decision": "confirm"}),
        ("get", reverse("people:incentive_schemes"), "people.incentive_pools", None),
        ("get", reverse("people:incentive_scheme_new"), "people.manage_incentive_schemes", None),
        ("post", reverse("people:incentive_scheme_new"), "people.manage_incentive_schemes", {"code": "x"}),
    ]
    api = [
        ("get", "/api/v1/people/incentive-schemes/", "people.incentive_pools", None),
        ("post", "/api/v1/people/incentive-schemes/", "people.manage_incentive_schemes", {"code": "x"}),
        ("get", f"/api/v1/people/incentive-schemes/{pool.scheme_id}/", "people.incentive_pools", None),
        ("get", "/api/v1/people/pools/", "people.incentive_pools", None),
        ("post", "/api/v1/people/pools/", "people.incentives", {"amount": "1"}),
        ("get", f"/api/v1/people/pools/{p}/", "people.incentive_pools", None),
        ("put", f"/api/v1/people/pools/{p}/", "people.incentives", {"amount": "1"}),
        ("post", f"/api/v1/people/pools/{p}/allocate/", "people.incentives", {}),
        ("post", f"/api/v1/people/pools/{p}/submit/", "people.incentives", {}),
        ("post", f"/api/v1/people/pools/{p}/paid/", "people.incentives", {}),
        ("get", f"/api/v1/people/pools/{p}/awards/", "people.incentive_pools", None),
        ("get", f"/api/v1/people/pools/{p}/export/", "people.export", None),
        ("get", "/api/v1/people/awards/", "people.my_incentives", None),
        ("get", "/api/v1/people/my-awards/", "people.my_incentives", None),
        ("get", "/api/v1/people/my-clawbacks/", "people.my_incentives", None),
        ("get", "/api/v1/people/clawbacks/", "people.clawback", None),
        ("post", "/api/v1/people/clawbacks/scan/", "people.clawback", {}),
        ("post", f"/api/v1/people/clawbacks/{c}/decide/", "people.clawback", {"decision": "confirm"}),
    ]
    return html, api


def _call(client, method, url, body, api):
    if api:
        return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json") \
            if method != "get" else client.get(url)
    return client.post(url, body or {}) if method == "post" else client.get(url)


def test_r10_sweep(bank):
    from tests.ledger_helpers import build_ledger

    pool = paid_pool(bank)
    upheld_complaint(bank, build_ledger(bank).zhang, bank.om_a1, timezone.now() - timedelta(minutes=1))
    [cb] = svc.clawback_scan()
    html, api = _routes(pool, cb)
    anon = Client()
    clients = {s.pk: login_client(s) for s in (bank.intern, bank.cm_a1, bank.om_a1, bank.temp, bank.supervisor_a,
                                                bank.risk, bank.supervisor_b, bank.compliance, bank.admin)}
    checked = denied = hidden = 0
    for is_api, routes in ((False, html), (True, api)):
        for method, url, cap, body in routes:
            # anonymous
            r = _call(anon, method, url, body, is_api)
            assert r.status_code == (401 if is_api else 302), (url, r.status_code)
            if not is_api:
                assert "/login" in r["Location"]
            # staff without the capability: 403, nothing changed, nothing audited, a denial logged
            lacking = next((s for s in (bank.intern, bank.cm_a1, bank.om_a1, bank.temp, bank.supervisor_a, bank.risk)
                           if not access.can(s, cap)), None)
            checked += 1
            if lacking is None:  # everyone's own page (people.my_incentives): only one's own rows, tested above
                continue
            before, seq, sec = _state(), audit_seq(), security_count()
            r = _call(clients[lacking.pk], method, url, body, is_api)
            assert r.status_code == 403, (url, lacking.staff_no, r.status_code)
            assert state_diff(before, _state()) == [] and verbs_since(seq) == [], url
            if not is_api:
                assert security_count() > sec
            denied += 1
    # out of scope: branch B's supervisor holds every capability but cannot see branch A's pool or clawback
    for is_api, routes in ((False, html), (True, api)):
        for method, url, cap, body in routes:
            if str(pool.pk) not in url.split("/") and f"/{cb.pk}/" not in url:
                continue
            if ("/clawbacks/" in url and f"/{cb.pk}/" in url) or "/pools/" in url:
                before, seq = _state(), audit_seq()
                r = _call(clients[bank.supervisor_b.pk], method, url, body, is_api)
                assert r.status_code == 404, (url, r.status_code)
                assert state_diff(before, _state()) == [] and verbs_since(seq) == [], url
                hidden += 1
    # allowed reads answer 200
    for is_api, routes in ((False, html), (True, api)):
        for method, url, cap, _b in routes:
            if method != "get":
                continue
            who = next(s for s in (bank.supervisor_a, bank.compliance, bank.admin, bank.cm_a1) if access.can(s, cap))
            assert _call(clients[who.pk], "get", url, None, is_api).status_code == 200, (url, who.staff_no)
    assert checked == len(html) + len(api) and hidden >= 10 and denied == checked - 4
    assert not AuditEvent.objects.filter(verb__startswith="people.", actor=bank.supervisor_b).exists()
