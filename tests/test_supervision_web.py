"""Coverage and findings pages and API (issue #10): the matrix, a control's exceptions, the finding flow through the
web forms, the API transitions, the home section, and the R10 sweep of these routes (anonymous / no capability /
out of scope / allowed; denials change nothing and write no audit event)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bankcrm.customers import services as cs
from bankcrm.supervision import controls
from bankcrm.supervision import finding_services as svc
from bankcrm.supervision.coverage_services import clauses_install_default
from bankcrm.supervision.models import Clause, Finding
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since
from tests.ledger_helpers import build_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def sv(bank):
    led = build_ledger(bank)
    clauses_install_default()
    # li (A1) lacks an occupation, wang (B1) too: two exceptions in two branches
    controls.controls_run(actor=bank.compliance, codes=["customer_info_incomplete"])
    return led


def test_matrix_and_control_pages(bank, sv):
    c = login_client(bank.compliance)
    r = c.get(reverse("supervision:matrix"))
    html = r.content.decode()
    assert r.status_code == 200 and html.count('data-testid="clause-row"') == 25
    assert "客户信息完整：0.0%（3 例外）" in html and "supervision-chart-data" in html
    r = c.get(reverse("supervision:control", args=["customer_info_incomplete"]))
    html = r.content.decode()
    assert r.status_code == 200 and html.count('data-testid="exception-row"') == 3
    assert "李小龙" not in html and "李**" in html  # masked targets
    assert c.get(reverse("supervision:control", args=["nope"])).status_code == 404
    assert c.get(reverse("supervision:clause", args=["norm-feedback"])).status_code == 200


def test_supervisor_sees_only_their_subtree(bank, sv):
    c = login_client(bank.supervisor_b)
    html = c.get(reverse("supervision:control", args=["customer_info_incomplete"])).content.decode()
    assert html.count('data-testid="exception-row"') == 1 and "王*" in html
    a1 = Finding.objects.get(key=f"customer_info_incomplete:customers.Customer:{sv.li.pk}")
    assert c.get(reverse("supervision:finding", args=[a1.pk])).status_code == 404
    html = c.get(reverse("supervision:findings")).content.decode()
    assert html.count('data-testid="finding-row"') == 1
    assert 'data-testid="run-controls"' not in c.get(reverse("supervision:matrix")).content.decode()


def test_raise_from_a_new_exception_then_rectify_and_close_through_the_pages(bank, sv):
    cs.customer_update(actor=bank.cm_a1, customer_id=sv.zhang.pk, id_expires_on=timezone.localdate() - timedelta(days=1))
    co, sva = login_client(bank.compliance), login_client(bank.supervisor_a)
    html = co.get(reverse("supervision:control", args=["id_document_expired"])).content.decode()
    assert 'data-testid="raise-finding"' in html  # appeared since the last run: no finding yet
    r = co.post(reverse("supervision:control_raise", args=["id_document_expired"]), {"target_id": sv.zhang.pk})
    f = Finding.objects.get(control="id_document_expired")
    assert r.status_code == 302 and r["Location"] == reverse("supervision:finding", args=[f.pk])
    assert f.owner_id == bank.supervisor_a.pk and f.severity == "high" and f.raised_by_id == bank.compliance.pk
    url = reverse("supervision:finding", args=[f.pk])
    r = sva.post(url, {"op": "action_add", "action": "联系客户更新证件", "owner": bank.supervisor_a.pk,
                       "due_on": (timezone.localdate() + timedelta(days=3)).isoformat()})
    assert r.status_code == 302
    a = f.actions.get()
    r = sva.post(url, {"op": "action_done", "action_id": a.pk, "evidence": ""})
    assert r.status_code == 200 and 'invalid-feedback' in r.content.decode()  # evidence required, shown on the field
    sva.post(url, {"op": "action_done", "action_id": a.pk, "evidence": "客户已到网点更新证件"})
    sva.post(url, {"op": "submit", "note": ""})
    assert Finding.objects.get(pk=f.pk).status == "rectified"
    r = sva.post(url, {"op": "close", "note": "x"})  # a supervisor never closes
    assert r.status_code == 403 and Finding.objects.get(pk=f.pk).status == "rectified"
    co.post(url, {"op": "recheck", "action_id": a.pk, "result": "pass", "note": "已核实"})
    co.post(url, {"op": "close", "note": "整改到位"})
    f.refresh_from_db()
    assert f.status == "closed"
    html = co.get(url).content.decode()
    assert "关闭检查发现" in html and html.count('data-testid="timeline"') == 1


def test_manual_finding_form_shows_errors_on_fields(bank, sv):
    c = login_client(bank.compliance)
    r = c.post(reverse("supervision:finding_new"), {"title": "", "severity": "high", "branch": bank.a1.pk})
    assert r.status_code == 200 and 'data-testid="field-error-title"' in r.content.decode()
    r = c.post(reverse("supervision:finding_new"), {"title": "柜面未按规定核对客户身份", "severity": "high",
                                                    "branch": bank.a1.pk, "clause": "principle-integrity"})
    f = Finding.objects.get(source="manual")
    assert r.status_code == 302 and f.clause.code == "principle-integrity"


def test_clause_edit_keeps_history(bank, sv):
    c = login_client(bank.compliance)
    url = reverse("supervision:clause", args=["norm-feedback"])
    r = c.post(url, {"title": "客户反馈处理机制（修订）", "title_en": "Feedback", "text": "新文本", "active": "on",
                     "controls": ["complaint_overdue"], "reason": "修订"})
    assert r.status_code == 302
    clause = Clause.objects.get(code="norm-feedback")
    assert clause.version == 2 and clause.revisions.count() == 1
    assert list(clause.controls.values_list("control", flat=True)) == ["complaint_overdue"]
    assert 'data-testid="revisions"' in c.get(url).content.decode()
    denied = security_count("denied")
    r = login_client(bank.supervisor_a).post(url, {"title": "x", "active": "on"})
    assert r.status_code == 403 and security_count("denied") == denied + 1 and Clause.objects.get(pk=clause.pk).version == 2


def test_home_sections(bank, sv):
    html = login_client(bank.compliance).get(reverse("core:home")).content.decode()
    assert 'data-testid="supervision-home"' in html and "客户信息完整" in html
    html = login_client(bank.supervisor_a).get(reverse("core:home")).content.decode()
    assert 'data-testid="supervision-home"' in html and "我负责整改的检查发现" in html
    html = login_client(bank.cm_a1).get(reverse("core:home")).content.decode()
    assert 'data-testid="supervision-home"' not in html


def test_compliance_home_lists_serious_findings_and_conduct_signals_with_the_inbox(bank, sv):
    from bankcrm.core.inbox import items_for
    from bankcrm.core.models import ConductSignal

    f = svc.finding_raise(actor=bank.compliance, source="manual", title="大额交易未经复核", severity="critical",
                          branch_id=bank.a1.pk)
    s = ConductSignal.objects.create(kind="bulk_unmask", staff=bank.cm_a1, branch_path=bank.a1.path,
                                     detail={"unmasked": 24, "threshold": 20})
    html = login_client(bank.compliance).get(reverse("core:home")).content.decode()
    assert 'data-testid="home-serious-findings"' in html and f.number in html
    assert 'data-testid="home-conduct-signals"' in html and "批量查看完整个人信息：24（阈值 20）" in html
    item = next(i for i in items_for(bank.compliance) if i.kind == "conduct")
    assert item.url == reverse("supervision:conduct_signal", args=[s.pk]) and "24（阈值 20）" in item.title
    assert not any(i.kind == "conduct" for i in items_for(bank.supervisor_a))  # sees signals, does not review them
    page = login_client(bank.compliance).get(item.url).content.decode()
    assert "查看完整个人信息次数" in page and "预警阈值" in page


def test_matrix_offers_to_install_the_clauses_of_an_empty_bank(bank):
    Clause.objects.all().delete()
    co = login_client(bank.compliance)
    html = co.get(reverse("supervision:matrix")).content.decode()
    assert 'data-testid="matrix-empty"' in html and 'data-testid="install-clauses"' in html
    html = login_client(bank.supervisor_a).get(reverse("supervision:matrix")).content.decode()
    assert 'data-testid="matrix-empty"' in html and 'data-testid="install-clauses"' not in html
    seq = audit_seq()
    assert co.post(reverse("supervision:clauses_install")).status_code == 302
    assert verbs_since(seq) == ["supervision.clauses_installed"] and Clause.objects.count() == 25
    assert co.get(reverse("supervision:matrix")).content.decode().count('data-testid="clause-row"') == 25


def test_supervision_bootstrap_command(bank):
    from io import StringIO

    from django.core.management import call_command

    from bankcrm.supervision.models import ChecklistTemplate, ControlRun

    out = StringIO()
    call_command("supervision_bootstrap", "--compliance", "CO001", stdout=out)
    assert "25 clauses" in out.getvalue() and Clause.objects.count() == 25
    assert ChecklistTemplate.objects.filter(active=True).exists()
    assert ControlRun.objects.filter(status="done").count() == len(controls.automated())
    call_command("supervision_bootstrap", "--compliance", "CO001", "--no-run", stdout=StringIO())  # idempotent
    assert Clause.objects.count() == 25


# ---- API ---------------------------------------------------------------------------------------------------------------
def api(client: Client, method: str, url: str, data=None):
    r = getattr(client, method)(url, data=json.dumps(data or {}) if method != "get" else data,
                                content_type="application/json")
    return r.status_code, (r.json() if r.content else None)


def test_api_flow(bank, sv):
    co, sva, svb = login_client(bank.compliance), login_client(bank.supervisor_a), login_client(bank.supervisor_b)
    st, body = api(co, "get", "/api/v1/supervision/clauses/")
    assert st == 200 and len(body) == 25
    st, body = api(co, "patch", "/api/v1/supervision/clauses/norm-feedback/", {"text": "修订后的落实方式"})
    assert st == 200 and body["version"] == 2 and len(body["revisions"]) == 1
    st, body = api(co, "get", "/api/v1/supervision/controls/")
    row = next(r for r in body if r["code"] == "customer_info_incomplete")
    assert st == 200 and row["exceptions"] == 3 and row["measure"] == "客户信息完整：0.0%（3 例外）"
    st, body = api(co, "post", "/api/v1/supervision/controls/run/", {"controls": ["dormant_staff"]})
    assert st == 200 and [r["control"] for r in body] == ["dormant_staff"]
    assert api(co, "post", "/api/v1/supervision/controls/run/", {"controls": ["nope"]})[0] == 400
    st, body = api(svb, "get", "/api/v1/supervision/controls/customer_info_incomplete/exceptions/")
    assert st == 200 and [r["target_id"] for r in body] == [str(sv.wang.pk)] and body[0]["finding_id"]
    st, body = api(co, "post", "/api/v1/supervision/findings/", {"title": "抽查发现未按规定双录", "severity": "critical",
                                                               "branch_id": bank.a1.pk})
    assert st == 201 and body["owner"] == bank.supervisor_a.pk
    fid = body["id"]
    assert api(svb, "get", f"/api/v1/supervision/findings/{fid}/")[0] == 404
    st, body = api(sva, "post", f"/api/v1/supervision/findings/{fid}/actions/",
                   {"action": "补录双录", "owner_id": bank.supervisor_a.pk, "due_on": timezone.localdate().isoformat()})
    assert st == 200 and body["status"] == "rectifying"
    aid = body["actions"][0]["id"]
    assert api(sva, "post", f"/api/v1/supervision/finding-actions/{aid}/done/", {"evidence": "已补录"})[0] == 200
    assert api(sva, "post", f"/api/v1/supervision/findings/{fid}/submit/", {})[1]["status"] == "rectified"
    st, body = api(sva, "post", f"/api/v1/supervision/findings/{fid}/close/", {"reason": "x"})
    assert st == 403
    st, body = api(co, "post", f"/api/v1/supervision/finding-actions/{aid}/recheck/", {"passed": False})
    assert st == 400 and "note" in body["error"]["fields"]
    assert api(co, "post", f"/api/v1/supervision/finding-actions/{aid}/recheck/", {"passed": True})[0] == 200
    st, body = api(co, "post", f"/api/v1/supervision/findings/{fid}/close/", {"note": "到位"})
    assert st == 200 and body["status"] == "closed"
    st, body = api(co, "post", f"/api/v1/supervision/findings/{fid}/accountability/",
                   {"staff_id": bank.om_a1.pk, "measure": "talk", "note": "约谈"})
    assert st == 200 and len(body["accountabilities"]) == 1
    st, body = api(co, "get", "/api/v1/supervision/findings/?status=live&severity=medium")
    assert st == 200 and body["count"] == 3
    assert api(co, "get", "/api/v1/supervision/findings/?status=bogus")[0] == 400


# ---- R10 sweep of these routes -------------------------------------------------------------------------------------------
def routes(bank, f: Finding, action_id: int) -> list[tuple[str, str, dict]]:
    fid = f.pk
    return [
        ("get", reverse("supervision:matrix"), {}),
        ("post", reverse("supervision:controls_run"), {}),
        ("get", reverse("supervision:control", args=["customer_info_incomplete"]), {}),
        ("post", reverse("supervision:control_raise", args=["customer_info_incomplete"]), {"target_id": "1"}),
        ("post", reverse("supervision:clause", args=["norm-feedback"]), {"title": "x", "active": "on"}),
        ("post", reverse("supervision:clauses_install"), {}),
        ("get", reverse("supervision:findings"), {}),
        ("post", reverse("supervision:finding_new"), {"title": "x", "severity": "low", "branch": bank.a1.pk}),
        ("post", reverse("supervision:finding", args=[fid]), {"op": "close", "reason": "x"}),
        ("post", reverse("supervision:finding", args=[fid]), {"op": "recheck", "action_id": action_id,
                                                              "result": "pass"}),
        ("post", "/api/v1/supervision/controls/run/", {}),
        ("patch", "/api/v1/supervision/clauses/norm-feedback/", {"text": "x"}),
        ("post", "/api/v1/supervision/findings/", {"title": "x", "severity": "low", "branch_id": bank.a1.pk}),
        ("post", f"/api/v1/supervision/findings/{fid}/close/", {"reason": "x"}),
        ("post", f"/api/v1/supervision/findings/{fid}/assign/", {"owner_id": bank.supervisor_a.pk}),
        ("post", f"/api/v1/supervision/finding-actions/{action_id}/done/", {"evidence": "x"}),
        ("post", f"/api/v1/supervision/finding-actions/{action_id}/recheck/", {"passed": True}),
    ]


def _state():
    from bankcrm.supervision.models import Accountability, ClauseRevision, ControlRun, FindingAction

    return [list(m.objects.order_by("pk").values()) for m in (Finding, FindingAction, Accountability, Clause,
                                                               ClauseRevision, ControlRun)]


def _call(client, method, url, data):
    if url.startswith("/api/"):
        if method == "get":
            return client.get(url)
        return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")
    return getattr(client, method)(url, data=data)


def test_r10_sweep(bank, sv):
    f = Finding.objects.get(key=f"customer_info_incomplete:customers.Customer:{sv.li.pk}")
    a = svc.action_add(actor=bank.supervisor_a, finding_id=f.pk, action="补录职业", owner_id=bank.supervisor_a.pk,
                       due_on=timezone.localdate())
    svc.action_done(actor=bank.supervisor_a, action_id=a.pk, evidence="已补录")
    seq, state = audit_seq(), _state()
    problems = []
    anon = Client()
    no_cap = login_client(bank.cm_a1)  # no supervision capability at all
    for method, url, data in routes(bank, f, a.pk):
        r = _call(anon, method, url, data)
        if not (r.status_code in (401, 403) if url.startswith("/api/") else
                r.status_code == 302 and r["Location"].startswith(reverse("org:login"))):
            problems.append(f"anonymous {method} {url} -> {r.status_code}")
        denied = security_count("denied")
        r = _call(no_cap, method, url, data)
        if r.status_code != 403 or security_count("denied") != denied + 1:
            problems.append(f"no capability {method} {url} -> {r.status_code}")
    # out of scope: supervisor B on a finding of A1 → 404; a supervisor lacking compliance capabilities → 403
    svb = login_client(bank.supervisor_b)
    for method, url, data in [("get", reverse("supervision:finding", args=[f.pk]), {}),
                              ("post", f"/api/v1/supervision/finding-actions/{a.pk}/done/", {"evidence": "x"}),
                              ("post", f"/api/v1/supervision/findings/{f.pk}/submit/", {}),
                              ("get", f"/api/v1/supervision/findings/{f.pk}/", {})]:
        r = _call(svb, method, url, data)
        if r.status_code != 404:
            problems.append(f"out of scope {method} {url} -> {r.status_code}")
    sva = login_client(bank.supervisor_a)
    for method, url, data in [("post", reverse("supervision:finding", args=[f.pk]), {"op": "close", "reason": "x"}),
                              ("post", f"/api/v1/supervision/finding-actions/{a.pk}/recheck/", {"passed": True})]:
        r = _call(sva, method, url, data)
        if r.status_code != 403:
            problems.append(f"supervisor {method} {url} -> {r.status_code}")
    problems += [f"audit event: {v}" for v in verbs_since(seq)]
    if _state() != state:
        problems.append("state changed")
    assert problems == []
    # allowed: compliance re-checks and closes
    co = login_client(bank.compliance)
    assert _call(co, "post", f"/api/v1/supervision/finding-actions/{a.pk}/recheck/", {"passed": True}).status_code == 200
    assert _call(co, "post", f"/api/v1/supervision/findings/{f.pk}/close/", {}).status_code == 200
    assert Finding.objects.get(pk=f.pk).status == "closed"


def test_mass_assignment_is_ignored(bank, sv):
    co = login_client(bank.compliance)
    st, body = api(co, "post", "/api/v1/supervision/findings/", {
        "title": "x 问题", "severity": "low", "branch_id": bank.a1.pk, "status": "closed", "owner": bank.cm_a1.pk,
        "number": "F1", "closed_by": bank.compliance.pk, "key": "x"})
    assert st == 201 and body["status"] == "open" and body["owner"] == bank.supervisor_a.pk and body["number"] != "F1"
    assert body["key"] == ""
