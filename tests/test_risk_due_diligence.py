"""Customer due diligence (DOMAIN_RULES.md §3): opening once per triggering fact, the checklist and conclusion via
the web and the API, bad input refused with a code and nothing written, scope and capabilities."""

from __future__ import annotations

import pytest
from django.utils import timezone

from bankcrm.core import params, workdays
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.models import AuditEvent
from bankcrm.risk import due_diligence as dd_svc
from bankcrm.risk import rating
from bankcrm.risk.models import DueDiligence, RiskRating
from tests.conftest import login_client
from tests.test_risk_rating import current, person

pytestmark = pytest.mark.django_db
ALL_DONE = {code: {"done": True, "note": "已核"} for code, _zh, _en in dd_svc.CHECKLIST}


def one_off(bank, seq="401", entry_id=9001, actor=None):
    c = person(bank, seq, actor=actor)
    rating.on_customers_registered([c.pk])
    return c, dd_svc.due_diligence_open(customer_id=c.pk, trigger="one_off", source_key=f"entry:{entry_id}",
                                        entry_id=entry_id)


def state():
    return (list(DueDiligence.objects.order_by("pk").values_list("status", "result", "notes")),
            RiskRating.objects.count(), AuditEvent.objects.count())


def test_open_is_idempotent_per_source_key(bank):
    c, dd = one_off(bank)
    again = dd_svc.due_diligence_open(customer_id=c.pk, trigger="one_off", source_key="entry:9001", entry_id=9001)
    assert again.pk == dd.pk and DueDiligence.objects.count() == 1
    assert AuditEvent.objects.filter(verb="risk.due_diligence_opened").count() == 1
    assert [i["label"] for i in dd.checklist] == ["核实身份证件", "了解交易目的和资金来源", "核实受益所有人",
                                                  "核对职业与交易是否相符", "留存相关资料"]
    assert dd.due_on == workdays.working_days_after(timezone.localdate(), params.value("aml.large_report_deadline"))
    assert (dd.branch_path, dd.entry_id, dd.status) == (c.branch.path, 9001, "open")
    with pytest.raises(ValidationFailed):
        dd_svc.due_diligence_open(customer_id=c.pk, trigger="bogus", source_key="x")
    with pytest.raises(NotFound):
        dd_svc.due_diligence_open(customer_id=c.pk, trigger="manual", source_key="m:1", actor=bank.cm_b1)
    with pytest.raises(PermissionDenied):
        dd_svc.due_diligence_open(customer_id=c.pk, trigger="manual", source_key="m:1", actor=bank.om_a1)


def test_complete_rules(bank):
    c, dd = one_off(bank)
    before = state()
    with pytest.raises(ValidationFailed) as exc:
        dd_svc.due_diligence_complete(actor=bank.cm_a1, dd_id=dd.pk, items={**ALL_DONE, "records": {"done": False}},
                                      result="normal")
    assert exc.value.code == "dd_items_incomplete" and "留存相关资料" in str(exc.value.message)
    for result, notes, code in (("raise", "", "dd_notes_required"), ("report", " ", "dd_notes_required"),
                                ("maybe", "x", "dd_result_invalid")):
        with pytest.raises(ValidationFailed) as exc:
            dd_svc.due_diligence_complete(actor=bank.cm_a1, dd_id=dd.pk, items=ALL_DONE, result=result, notes=notes)
        assert exc.value.code == code
    with pytest.raises(ValidationFailed) as exc:
        dd_svc.due_diligence_complete(actor=bank.cm_a1, dd_id=dd.pk, items={**ALL_DONE, "x": {"done": True}}, result="normal")
    assert exc.value.code == "dd_items_invalid"
    with pytest.raises(NotFound):
        dd_svc.due_diligence_complete(actor=bank.cm_b1, dd_id=dd.pk, items=ALL_DONE, result="normal")
    with pytest.raises(PermissionDenied):
        dd_svc.due_diligence_complete(actor=bank.om_a1, dd_id=dd.pk, items=ALL_DONE, result="normal")
    assert state() == before
    done = dd_svc.due_diligence_complete(actor=bank.cm_a1, dd_id=dd.pk, items=ALL_DONE, result="normal")
    assert (done.status, done.result, done.completed_by_id) == ("done", "normal", bank.cm_a1.pk)
    assert all(i["done"] and i["note"] == "已核" for i in done.checklist)
    assert current(c).level == "low"  # normal: no re-rating
    with pytest.raises(RuleViolation) as exc:
        dd_svc.due_diligence_complete(actor=bank.cm_a1, dd_id=dd.pk, items=ALL_DONE, result="normal")
    assert exc.value.code == "dd_not_open"


def test_raise_rerates_at_least_medium_then_high(bank):
    c, dd = one_off(bank)
    dd_svc.due_diligence_complete(actor=bank.cm_a1, dd_id=dd.pk, items=ALL_DONE, result="raise", notes="资金来源不明")
    r = current(c)
    assert (r.level, r.trigger, r.rated_by_id, r.rationale) == ("medium", "dd", bank.cm_a1.pk, "资金来源不明")
    # the system keeps a level a person set: a profile re-rating does not undo it
    assert rating.on_customers_changed([c.pk]) == 0 and current(c).level == "medium"
    dd2 = dd_svc.due_diligence_open(customer_id=c.pk, trigger="one_off", source_key="entry:9002")
    dd_svc.due_diligence_complete(actor=bank.risk, dd_id=dd2.pk, items=ALL_DONE, result="raise", notes="再次异常")
    assert current(c).level == "high"
    assert DueDiligence.objects.filter(customer=c, trigger="raised", status="open").count() == 1  # the rise to high
    assert AuditEvent.objects.filter(verb="risk.due_diligence_completed").count() == 2


def test_dd_via_web(bank):
    _c, dd = one_off(bank)
    cm = login_client(bank.cm_a1)
    html = cm.get("/risk/due-diligence/").content.decode()
    assert f"/risk/due-diligence/{dd.pk}/" in html and "countdown" in html
    url = f"/risk/due-diligence/{dd.pk}/"
    assert "dd-form" in cm.get(url).content.decode()
    before = state()
    form = {f"done_{code}": "on" for code in ALL_DONE}
    r = cm.post(url, {**form, "done_records": "", "result": "normal"})
    assert r.status_code == 400 and "dd_items_incomplete" in r.content.decode()
    r = cm.post(url, {**form, "result": "report", "notes": ""})
    assert r.status_code == 400 and "dd_notes_required" in r.content.decode()
    r = cm.post(url, {**form, "result": ""})
    assert r.status_code == 400
    assert state() == before
    r = cm.post(url, {**form, "note_purpose": "工资收入", "result": "report", "notes": "建议上报可疑交易"})
    assert r.status_code == 302
    dd.refresh_from_db()
    assert (dd.status, dd.result, dd.checklist[1]["note"]) == ("done", "report", "工资收入")
    assert "dd-result" in cm.get(url).content.decode()
    assert login_client(bank.cm_b1).get(url).status_code == 404
    assert login_client(bank.om_a1).get(url).status_code == 403
    assert login_client(bank.om_a1).get("/risk/due-diligence/").status_code == 403


def test_dd_via_api(bank):
    c, dd = one_off(bank)
    one_off(bank, seq="402", entry_id=9003, actor=bank.cm_b1)  # another branch's task
    cm = login_client(bank.cm_a1)
    rows = cm.get("/api/v1/risk/due-diligence/?status=open").json()["results"]
    assert [r["id"] for r in rows] == [dd.pk]  # the other branch's task is not listed
    url = f"/api/v1/risk/due-diligence/{dd.pk}/complete/"
    assert cm.get(url).json()["checklist"][0]["code"] == "identity"
    before = state()
    r = cm.post(url, {"items": ALL_DONE, "result": "maybe"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    r = cm.post(url, {"items": {**ALL_DONE, "records": {"done": False}}, "result": "normal"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "dd_items_incomplete"
    r = cm.post(url, {"items": ALL_DONE, "result": "raise"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "dd_notes_required"
    r = cm.post(url, "{not json", content_type="application/json")
    assert r.status_code == 400
    assert state() == before
    assert login_client(bank.cm_b1).get(url).status_code == 404
    assert login_client(bank.om_a1).post(url, {"items": ALL_DONE, "result": "normal"},
                                         content_type="application/json").status_code == 403
    r = cm.post(url, {"items": ALL_DONE, "result": "raise", "notes": "职业与交易不符"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert current(c).level == "medium"
    r = cm.post(url, {"items": ALL_DONE, "result": "normal"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "dd_not_open"


def test_report_conclusion_becomes_an_alert_for_a_case(bank):
    """A due diligence concluding "report" enters the alert → case workflow once (dedupe on the task)."""
    from bankcrm.risk import due_diligence, services
    from bankcrm.risk.models import Alert
    from tests.ledger_helpers import build_ledger

    led = build_ledger(bank)
    dd = due_diligence.due_diligence_open(customer_id=led.zhang.pk, trigger="manual", source_key="manual:zhang:1")
    items = {i["code"]: {"done": True, "note": "已核实"} for i in dd.checklist}
    due_diligence.due_diligence_complete(actor=bank.risk, dd_id=dd.pk, items=items, result="report",
                                         notes="客户无法说明大额现金来源")
    alert = Alert.objects.get(customer=led.zhang, rule_code="DD")
    assert alert.kind == "due_diligence" and alert.source == "dd" and alert.figures["due_diligence"] == dd.pk
    case = services.case_open(actor=bank.risk, alert_ids=[alert.pk])
    assert case.customer_id == led.zhang.pk
