"""Alerts, cases, rule versions and regulatory reports (issue #5): services, pages and API, on both databases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from bankcrm.core import outbox
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.models import AccessEvent
from bankcrm.ledger import services as ledger
from bankcrm.risk import reports, services
from bankcrm.risk.demo import risk_bootstrap
from bankcrm.risk.models import Alert, Case, MonitoringRule, RegulatoryReport, RiskProfile
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since
from tests.ledger_helpers import build_ledger


def _post(actor, mv, checker=None):
    with transaction.atomic():
        return ledger.post(mv, maker=actor, checker=checker)


def _drain():
    while outbox.consume("risk_monitor"):
        pass


@pytest.fixture
def world(bank):
    led = build_ledger(bank)
    risk_bootstrap(actor=bank.admin)
    return led


def _large_alert(bank, led, amount=5_000_000):
    entry = _post(bank.om_a1, ledger.cash_deposit_movement(actor=bank.om_a1, account_id=led.zhang_cny.pk,
                                                           amount_fen=amount))
    _drain()
    return Alert.objects.get(rule_code="0501", customer=led.zhang), entry


def _suspicious_alert(bank, led):
    """Three cash deposits just under the threshold on one day: S01 (structuring)."""
    for amount in (4_600_000, 4_700_000, 4_800_000):
        _post(bank.om_a1, ledger.cash_deposit_movement(actor=bank.om_a1, account_id=led.li_cny.pk, amount_fen=amount))
    _drain()
    return Alert.objects.get(rule_code="S01", customer=led.li)


def test_realtime_large_value_alert_with_evidence_and_deadline(bank, world):
    alert, entry = _large_alert(bank, world)
    assert alert.entry_ids == [entry.pk] and alert.total_minor == 5_000_000 and alert.direction == "in"
    assert alert.due_on > alert.business_date and alert.status == "new"
    assert RiskProfile.objects.get(pk=world.zhang.pk).open_alerts == 1
    # the nightly run for the same day finds the same fact and adds nothing
    run = services.monitoring_run(day=alert.business_date)
    assert run.changes == 0 and Alert.objects.count() == 1


def test_one_fen_below_does_not_fire(bank, world):
    _post(bank.om_a1, ledger.cash_deposit_movement(actor=bank.om_a1, account_id=world.zhang_cny.pk,
                                                   amount_fen=4_999_999))
    _drain()
    assert not Alert.objects.filter(rule_code="0501").exists()


def test_large_value_alert_cannot_be_excluded_alone(bank, world):
    alert, _ = _large_alert(bank, world)
    with pytest.raises(RuleViolation) as exc:
        services.alert_close(actor=bank.risk, alert_id=alert.pk, reason="客户解释合理")
    assert exc.value.code == "large_value_must_report"


def test_close_suspicious_alert_needs_a_reason_and_is_audited(bank, world):
    alert = _suspicious_alert(bank, world)
    assert RiskProfile.objects.get(pk=world.li.pk).open_alerts == 2  # S01, and 0501 on the day's cumulative total
    seq = audit_seq()
    with pytest.raises(ValidationFailed) as exc:
        services.alert_close(actor=bank.risk, alert_id=alert.pk, reason=" ")
    assert exc.value.code == "reason_required" and verbs_since(seq) == []
    services.alert_close(actor=bank.risk, alert_id=alert.pk, reason="经核实为客户分次存入经营收入")
    alert.refresh_from_db()
    assert alert.status == "closed" and alert.closed_by == bank.risk
    assert verbs_since(seq) == ["risk.alert_closed"]
    assert RiskProfile.objects.get(pk=world.li.pk).open_alerts == 1


def test_case_lifecycle_close_keeps_large_alert_for_the_report(bank, world):
    large, _ = _large_alert(bank, world)
    case = services.case_open(actor=bank.risk, alert_ids=[large.pk], title="核查")
    assert case.number.startswith("C") and Alert.objects.get(pk=large.pk).status == "reviewing"
    with pytest.raises(RuleViolation):
        services.case_open(actor=bank.risk, alert_ids=[large.pk])  # already in a case
    note = services.case_add_note(actor=bank.risk, case_id=case.pk, text="已联系客户",
                                  attachment=SimpleUploadedFile("合同.pdf", b"%PDF-1.4 test", "application/pdf"))
    assert note.attachment_name == "合同.pdf"
    with pytest.raises(ValidationFailed) as exc:
        services.case_add_note(actor=bank.risk, case_id=case.pk, text="x",
                               attachment=SimpleUploadedFile("a.exe", b"MZ", "application/x-msdownload"))
    assert exc.value.code == "attachment_type"
    with pytest.raises(ValidationFailed):
        services.case_close(actor=bank.risk, case_id=case.pk, reason="太短")
    services.case_close(actor=bank.risk, case_id=case.pk, reason="资金来源清楚，有合同佐证，排除可疑")
    case.refresh_from_db()
    large.refresh_from_db()
    assert case.status == "closed" and large.status == "reviewing"  # still owed to the large-value report
    with pytest.raises(RuleViolation) as exc:
        services.case_add_note(actor=bank.risk, case_id=case.pk, text="补充")
    assert exc.value.code == "case_not_open"
    report = reports.large_report_generate(actor=bank.compliance, day=large.business_date)
    large.refresh_from_db()
    assert large.status == "reported" and large.report_id == report.pk
    with pytest.raises(RuleViolation) as exc:
        reports.large_report_generate(actor=bank.compliance, day=large.business_date)
    assert exc.value.code == "nothing_to_report"


def test_escalate_then_suspicious_report_and_followup(bank, world):
    alert = _suspicious_alert(bank, world)
    case = services.case_open(actor=bank.risk, alert_ids=[alert.pk])
    with pytest.raises(RuleViolation) as exc:
        reports.suspicious_report_generate(actor=bank.compliance, case_id=case.pk)
    assert exc.value.code == "case_not_escalated"
    services.case_escalate(actor=bank.risk, case_id=case.pk, reason="分次存入规避大额报告，客户无法说明资金来源")
    case.refresh_from_db()
    assert case.status == "escalated" and case.report_due_on > timezone.localdate()
    assert case.next_followup_on > timezone.localdate() + timedelta(days=80)
    first = reports.suspicious_report_generate(actor=bank.compliance, case_id=case.pk)
    case.refresh_from_db()
    alert.refresh_from_db()
    assert case.status == "reported" and alert.status == "reported" and first.followup_no == 0
    root = ET.fromstring(first.content.split("\n", 1)[1])
    assert root.get("kind") == "suspicious" and root.find("Case").text == case.number
    assert root.find("Subjects/Customer/Name").text == world.li.name
    assert len(root.findall("Indicators/Indicator/Transaction")) == 3
    second = reports.suspicious_report_generate(actor=bank.compliance, case_id=case.pk)
    assert second.followup_no == 1
    reports.report_submit(actor=bank.compliance, report_id=first.pk)
    with pytest.raises(RuleViolation):
        reports.report_submit(actor=bank.compliance, report_id=first.pk)


def test_large_report_xml_fields_and_encrypted_at_rest(bank, world):
    alert, entry = _large_alert(bank, world)
    report = reports.large_report_generate(actor=bank.compliance, day=alert.business_date)
    root = ET.fromstring(report.content.split("\n", 1)[1])
    rec = root.find("Records/Record")
    assert rec.get("rule") == "0501" and rec.get("category") == "cash" and rec.find("Total").text == "50000.00"
    assert rec.find("Customer/IdNumber").text == world.zhang.id_number
    t = rec.find("Transaction")
    assert t.get("no") == entry.txn_no and t.find("Account").text == world.zhang_cny.number
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT content FROM risk_regulatoryreport WHERE id = %s", [report.pk])
        stored = cur.fetchone()[0]
    assert world.zhang.id_number not in stored and "AmlReport" not in stored
    seq = audit_seq()
    before = AccessEvent.objects.count()
    reports.report_download(actor=bank.compliance, report_id=report.pk)
    assert verbs_since(seq) == ["risk.report_downloaded"] and AccessEvent.objects.count() == before + 1


def test_only_compliance_reports_and_interns_see_nothing(bank, world):
    alert, _ = _large_alert(bank, world)
    with pytest.raises(PermissionDenied):
        reports.large_report_generate(actor=bank.risk, day=alert.business_date)
    with pytest.raises(PermissionDenied):
        services.case_open(actor=bank.intern, alert_ids=[alert.pk])
    with pytest.raises(NotFound):
        services.alert_close(actor=bank.risk, alert_id=999999, reason="不存在的预警")
    # a branch risk manager of branch A does not see branch B's customers' alerts
    _post(bank.om_b1, ledger.cash_deposit_movement(actor=bank.om_b1, account_id=world.wang_cny.pk,
                                                   amount_fen=6_000_000))
    _drain()
    wang_alert = Alert.objects.get(customer=world.wang)
    with pytest.raises(NotFound):
        services.case_open(actor=bank.branch_risk, alert_ids=[wang_alert.pk])
    assert services.case_open(actor=bank.risk, alert_ids=[wang_alert.pk]).customer_id == world.wang.pk


def test_rule_new_version_with_history_and_validation(bank, world):
    today = timezone.localdate()
    rule = MonitoringRule.objects.get(code="0501")
    with pytest.raises(ValidationFailed) as exc:
        services.rule_save(actor=bank.risk, code="0501", params_={**rule.params, "threshold_cny": -5},
                           customer_kinds=[], effective_from=today, note="调整")
    assert exc.value.code == "rule_invalid" and "threshold_cny" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.rule_save(actor=bank.risk, code="0501", params_=rule.params, customer_kinds=[],
                           effective_from=today - timedelta(days=1), note="回溯")
    assert "effective_from" in exc.value.fields
    with pytest.raises(PermissionDenied):
        services.rule_save(actor=bank.compliance, code="0501", params_=rule.params, customer_kinds=[],
                           effective_from=today, note="x")
    v2 = services.rule_save(actor=bank.risk, code="0501", params_={**rule.params, "threshold_cny": 3_000_000},
                            customer_kinds=[], effective_from=today + timedelta(days=1), note="试行更严格标准")
    rule.refresh_from_db()
    assert v2.version == 2 and rule.effective_to == today + timedelta(days=1)
    from bankcrm.risk import monitoring

    assert {r.version for r in monitoring.rules_in_force(today) if r.code == "0501"} == {1}
    assert {r.version for r in monitoring.rules_in_force(today + timedelta(days=1)) if r.code == "0501"} == {2}


# ---- Pages --------------------------------------------------------------------------------------------------------
def test_pages_flow_and_scope(bank, world):
    alert = _suspicious_alert(bank, world)
    c = login_client(bank.risk)
    assert c.get("/risk/alerts/").status_code == 200
    page = c.get(f"/risk/alerts/{alert.pk}/")
    assert page.status_code == 200 and "S01" in page.content.decode()
    r = c.post("/risk/cases/open/", {"alert": [alert.pk], "title": "分次存现"})
    case = Case.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/risk/cases/{case.pk}/"
    r = c.post(f"/risk/cases/{case.pk}/close/", {"reason": "短"}, follow=True)
    assert "reason_required" in r.content.decode() and Case.objects.get().status == "open"
    r = c.post(f"/risk/cases/{case.pk}/escalate/", {"reason": "客户无法说明资金来源，疑似拆分"}, follow=True)
    assert Case.objects.get().status == "escalated"
    # other branch's supervisor: 404; an intern: 403 and a security-log entry
    sv_b = login_client(bank.supervisor_b)
    assert sv_b.get(f"/risk/alerts/{alert.pk}/").status_code == 404
    assert sv_b.get(f"/risk/cases/{case.pk}/").status_code == 404
    denied = security_count("denied")
    assert login_client(bank.intern).get("/risk/alerts/").status_code == 403
    assert security_count("denied") == denied + 1
    # compliance makes the report from the case page and downloads it
    co = login_client(bank.compliance)
    assert co.post(f"/risk/cases/{case.pk}/report/").status_code == 302
    report = RegulatoryReport.objects.get()
    resp = co.get(f"/risk/reports/{report.pk}/download/")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/xml")
    assert "no-store" in resp.get("Cache-Control", "") or resp.status_code == 200
    assert co.get("/risk/").status_code == 200 and co.get("/risk/rules/").status_code == 200
    assert co.get("/risk/rules/0501/").status_code == 200


def test_rule_page_saves_version_and_reports_errors(bank, world):
    c = login_client(bank.risk)
    rule = MonitoringRule.objects.get(code="S04")
    today = timezone.localdate().isoformat()
    bad = c.post("/risk/rules/S04/", {"p_window_days": "abc", "p_min_counterparties": "10",
                                      "effective_from": today, "note": "调整", "active": "on"})
    assert bad.status_code == 400 and MonitoringRule.objects.filter(code="S04").count() == 1
    ok = c.post("/risk/rules/S04/", {"p_window_days": "5", "p_min_counterparties": "12", "effective_from": today,
                                     "note": "扩大窗口", "active": "on"})
    assert ok.status_code == 302
    new = MonitoringRule.objects.filter(code="S04").order_by("-version").first()
    assert new.version == rule.version + 1 and new.params == {"window_days": 5, "min_counterparties": 12}
    assert login_client(bank.compliance).post("/risk/rules/S04/", {"note": "x"}).status_code == 403


# ---- API ----------------------------------------------------------------------------------------------------------
def test_api_alerts_cases_reports(bank, world):
    large, entry = _large_alert(bank, world)
    sus = _suspicious_alert(bank, world)
    c = login_client(bank.risk)
    data = c.get("/api/v1/risk/alerts/").json()
    assert {a["rule_code"] for a in data["results"]} == {"0501", "S01"}
    detail = c.get(f"/api/v1/risk/alerts/{large.pk}/").json()
    assert detail["evidence"][0]["txn_no"] == entry.txn_no and "*" in detail["evidence"][0]["credit_account"]
    r = c.post(f"/api/v1/risk/alerts/{large.pk}/close/", {"reason": "解释合理"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "large_value_must_report"
    r = c.post("/api/v1/risk/cases/", {"alert_ids": []}, content_type="application/json")
    assert r.status_code == 400
    r = c.post("/api/v1/risk/cases/", {"alert_ids": [sus.pk], "title": "API"}, content_type="application/json")
    assert r.status_code == 201
    case_id = r.json()["id"]
    r = c.post(f"/api/v1/risk/cases/{case_id}/notes/", {"text": "调阅凭证"}, content_type="application/json")
    assert r.status_code == 201
    r = c.post(f"/api/v1/risk/cases/{case_id}/escalate/", {"reason": "短"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "reason_required"
    r = c.post(f"/api/v1/risk/cases/{case_id}/escalate/", {"reason": "疑似拆分交易规避大额报告"},
               content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "escalated"
    assert login_client(bank.supervisor_b).get(f"/api/v1/risk/cases/{case_id}/").status_code == 404
    co = login_client(bank.compliance)
    r = co.post("/api/v1/risk/reports/large/", {"day": large.business_date.isoformat()}, content_type="application/json")
    assert r.status_code == 201 and r.json()["records"] == 2  # 张三丰 and 李小龙 (cumulative)
    assert co.post(f"/api/v1/risk/cases/{case_id}/report/").status_code == 201
    assert co.get(f"/api/v1/risk/reports/{r.json()['id']}/download/").status_code == 200
    assert c.post("/api/v1/risk/reports/large/", {"day": "2026-01-01"},
                  content_type="application/json").status_code == 403
    assert c.get("/api/v1/risk/dashboard/").json()["open_alerts"] >= 0
    r = c.post("/api/v1/risk/rules/S04/versions/", {"params": {"window_days": 0, "min_counterparties": 10},
                                                     "effective_from": timezone.localdate().isoformat(),
                                                     "note": "x"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "rule_invalid"


def test_link_related_customer(bank, world):
    alert = _suspicious_alert(bank, world)
    case = services.case_open(actor=bank.risk, alert_ids=[alert.pk])
    services.case_link_customer(actor=bank.risk, case_id=case.pk, customer_no=world.zhang.customer_no)
    assert list(case.related_customers.values_list("pk", flat=True)) == [world.zhang.pk]
    with pytest.raises(RuleViolation):
        services.case_link_customer(actor=bank.risk, case_id=case.pk, customer_no=world.zhang.customer_no)
    with pytest.raises(NotFound):
        services.case_link_customer(actor=bank.risk, case_id=case.pk, customer_no="99999999999")
    r = login_client(bank.risk).post(f"/api/v1/risk/cases/{case.pk}/customers/",
                                     {"customer_no": world.wang.customer_no}, content_type="application/json")
    assert r.status_code == 200 and world.wang.pk in r.json()["related_customer_ids"]
    page = login_client(bank.risk).post(f"/risk/cases/{case.pk}/link_customer/", {"customer_no": ""}, follow=True)
    assert "customer_not_found" in page.content.decode()


def test_open_large_alert_follows_the_days_total(bank, world):
    """Real time raises 0501 at the crossing; a later deposit the same day brings the open alert up to the day's total
    (the report shows the whole day); the nightly run then changes nothing."""
    alert, first = _large_alert(bank, world)
    second = _post(bank.om_a1, ledger.cash_deposit_movement(actor=bank.om_a1, account_id=world.zhang_cny.pk,
                                                            amount_fen=3_000_000))
    _drain()
    alert.refresh_from_db()
    assert alert.entry_ids == [first.pk, second.pk] and alert.total_minor == 8_000_000
    assert services.monitoring_run(day=alert.business_date).changes == 0
    report = reports.large_report_generate(actor=bank.compliance, day=alert.business_date)
    assert f'no="{second.txn_no}"' in report.content


def test_suspicious_report_leaves_large_alerts_to_their_own_report(bank, world):
    """A case holding both kinds: the suspicious report reports the S01 alert; the day's 0501 alert still goes into
    the large-value report (and the open-alert count drops once per alert)."""
    sus = _suspicious_alert(bank, world)
    large = Alert.objects.get(customer=world.li, rule_code="0501")
    case = services.case_open(actor=bank.risk, alert_ids=[sus.pk, large.pk])
    services.case_escalate(actor=bank.risk, case_id=case.pk, reason="分次存入规避大额报告，客户无法说明资金来源")
    reports.suspicious_report_generate(actor=bank.compliance, case_id=case.pk)
    sus.refresh_from_db()
    large.refresh_from_db()
    assert sus.status == "reported" and large.status == "escalated" and large.report_id is None
    assert RiskProfile.objects.get(pk=world.li.pk).open_alerts == 1
    big = reports.large_report_generate(actor=bank.compliance, day=large.business_date)
    large.refresh_from_db()
    assert large.report_id == big.pk and RiskProfile.objects.get(pk=world.li.pk).open_alerts == 0


def test_second_click_on_a_decided_case_is_answered_not_applied(bank, world):
    alert = _suspicious_alert(bank, world)
    case = services.case_open(actor=bank.risk, alert_ids=[alert.pk])
    c = login_client(bank.risk)
    reason = {"reason": "资金来源清楚，有合同佐证，排除可疑"}
    assert c.post(f"/risk/cases/{case.pk}/close/", reason).status_code == 302
    seq = audit_seq()
    again = c.post(f"/risk/cases/{case.pk}/escalate/", {"reason": "再次提交同一案件的上报"}, follow=True)
    assert "case_not_open" in again.content.decode() and verbs_since(seq) == []
    assert Case.objects.get(pk=case.pk).status == "closed"
    # an expired session: the form post goes to the login page and changes nothing
    c.logout()
    r = c.post(f"/risk/alerts/{alert.pk}/close/", {"reason": "经核实为经营收入"})
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_case_alert_ids_beyond_the_id_range_are_a_400(bank, world):
    """R11 found alert ids larger than a database integer answered 500 (SQLite cannot bind the number)."""
    sus = _suspicious_alert(bank, world)
    c = login_client(bank.risk)
    huge = 802312770703642661917280046153728
    r = c.post("/api/v1/risk/cases/", {"alert_ids": [sus.pk, huge]}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    case_id = c.post("/api/v1/risk/cases/", {"alert_ids": [sus.pk]}, content_type="application/json").json()["id"]
    r = c.post(f"/api/v1/risk/cases/{case_id}/alerts/", {"alert_ids": [huge]}, content_type="application/json")
    assert r.status_code == 400
