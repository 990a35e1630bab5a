"""Scheduled reports (issue #11): subscribe, change, stop (audited, errors next to the fields, owner's scope); the
daily job delivers one file per schedule and period — idempotent (a second run the same day generates nothing, R14),
a failed period retried on the same row — the file under <reports dir>/<yyyy>/<mm>/ with its size and SHA-256;
downloads audited and refused when the file was changed or removed; pages and API."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from bankcrm.core import scheduling
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.org import services as org_services
from bankcrm.reports import report_rules as rules
from bankcrm.reports import schedule_services as svc
from bankcrm.reports.models import ReportRun, ReportSchedule
from tests.conftest import login_client
from tests.helpers import audit_seq, verbs_since

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def reports_dir(settings, tmp_path) -> Path:
    settings.BANKCRM_REPORTS_DIR = str(tmp_path / "reports")
    return tmp_path / "reports"


def _mk(bank, actor=None, **kw):
    data = dict(name="甲分行投诉月报", report="complaints", frequency="monthly", file_format="xlsx",
                branch=(actor or bank.supervisor_a).branch.path)
    data.update(kw)
    return svc.schedule_create(actor=actor or bank.supervisor_a, **data)


def test_subscribe_change_stop_audited_and_validated(bank):
    seq = audit_seq()
    s = _mk(bank)
    assert (s.owner_id, s.filters, s.active, s.owner_branch_path) == (bank.supervisor_a.pk, {"branch": bank.a.path},
                                                                      True, bank.a.path)
    s = svc.schedule_update(actor=bank.supervisor_a, schedule_id=s.pk, name="甲一支行投诉周报", report="complaints",
                            frequency="weekly", file_format="pdf", branch=bank.a1.path)
    assert (s.frequency, s.file_format, s.filters) == ("weekly", "pdf", {"branch": bank.a1.path})
    svc.schedule_deactivate(actor=bank.supervisor_a, schedule_id=s.pk)
    assert verbs_since(seq) == ["reports.schedule_created", "reports.schedule_updated", "reports.schedule_deactivated"]
    with pytest.raises(RuleViolation):
        svc.schedule_update(actor=bank.supervisor_a, schedule_id=s.pk, name="x", report="complaints",
                            frequency="weekly", file_format="pdf")
    seq = audit_seq()
    with pytest.raises(ValidationFailed) as exc:
        svc.schedule_create(actor=bank.supervisor_a, name=" ", report="nope", frequency="hourly", file_format="doc",
                            branch=bank.b.path)  # B is outside the owner's scope
    assert set(exc.value.fields) == {"name", "report", "frequency", "file_format", "branch"}
    for staff in (bank.cm_a1, bank.om_a1, bank.consultant):  # no schedules for them
        with pytest.raises(PermissionDenied):
            _mk(bank, actor=staff)
    assert verbs_since(seq) == []


def test_visibility_and_who_may_stop_a_schedule(bank):
    s = _mk(bank)
    with pytest.raises(NotFound):
        svc.schedule_deactivate(actor=bank.supervisor_b, schedule_id=s.pk)
    with pytest.raises(NotFound):
        svc.schedule_run(actor=bank.supervisor_b, schedule_id=s.pk)
    # head-office compliance sees every schedule and may stop one (with a reason), but not change or run it
    with pytest.raises(RuleViolation):
        svc.schedule_update(actor=bank.compliance, schedule_id=s.pk, name="x", report="complaints",
                            frequency="daily", file_format="xlsx")
    with pytest.raises(RuleViolation):
        svc.schedule_run(actor=bank.compliance, schedule_id=s.pk)
    with pytest.raises(ValidationFailed):
        svc.schedule_deactivate(actor=bank.compliance, schedule_id=s.pk, reason="")
    s = svc.schedule_deactivate(actor=bank.compliance, schedule_id=s.pk, reason="订阅人已调岗")
    assert not s.active and s.deactivated_by_id == bank.compliance.pk


def test_run_writes_one_file_per_period_and_is_idempotent(bank, reports_dir):
    s = _mk(bank)
    today = timezone.localdate()
    period = rules.due_period("monthly", today)
    seq = audit_seq()
    run = svc.schedule_run(actor=bank.supervisor_a, schedule_id=s.pk)
    assert run.status == "done" and run.period == period.key and run.attempts == 1
    assert run.file_path == f"{period.end:%Y}/{period.end:%m}/s{s.pk}-complaints-{period.key}.xlsx"
    content = (reports_dir / run.file_path).read_bytes()
    assert content[:2] == b"PK" and len(content) == run.size and hashlib.sha256(content).hexdigest() == run.sha256
    assert verbs_since(seq) == ["reports.run_generated"]
    # again: the same run, nothing generated, nothing audited
    seq = audit_seq()
    again = svc.schedule_run(actor=bank.supervisor_a, schedule_id=s.pk)
    assert again.pk == run.pk and again.attempts == 1 and verbs_since(seq) == []
    assert svc.schedules_run_due(today=today) == {"generated": 0, "failed": 0, "skipped": 1}
    assert ReportRun.objects.count() == 1 and verbs_since(seq) == []
    assert sorted(p.name for p in reports_dir.rglob("*") if p.is_file()) == [Path(run.file_path).name]


def test_daily_job_delivers_due_periods_once(bank, reports_dir):
    assert "reports.scheduled" in scheduling.JOBS
    today = date(2026, 3, 4)  # a Wednesday
    daily = _mk(bank, name="日报", report="branch_performance", frequency="daily", file_format="pdf")
    weekly = _mk(bank, name="周报", report="training", frequency="weekly")
    monthly = _mk(bank, actor=bank.compliance, name="全行月报", report="risk_profile", branch="")
    stopped = _mk(bank, name="已停", frequency="daily")
    svc.schedule_deactivate(actor=bank.supervisor_a, schedule_id=stopped.pk)
    assert svc.schedules_run_due(today=today) == {"generated": 3, "failed": 0, "skipped": 0}
    got = {r.schedule_id: (r.period, r.period_start, r.period_end) for r in ReportRun.objects.all()}
    assert got == {daily.pk: ("2026-03-03", date(2026, 3, 3), date(2026, 3, 3)),
                   weekly.pk: ("2026-W09", date(2026, 2, 23), date(2026, 3, 1)),
                   monthly.pk: ("2026-02", date(2026, 2, 1), date(2026, 2, 28))}
    assert (reports_dir / "2026" / "03" / f"s{daily.pk}-branch_performance-2026-03-03.pdf").read_bytes()[:4] == b"%PDF"
    seq = audit_seq()
    assert svc.schedules_run_due(today=today) == {"generated": 0, "failed": 0, "skipped": 3}
    assert verbs_since(seq) == [] and ReportRun.objects.count() == 3
    # the next day: only the daily schedule has a new period
    assert svc.schedules_run_due(today=today + timedelta(days=1)) == {"generated": 1, "failed": 0, "skipped": 2}
    # the compliance manager's file covers the whole bank, the supervisor's only their branch
    from openpyxl import load_workbook

    wb = load_workbook(reports_dir / ReportRun.objects.get(schedule=monthly).file_path)
    assert "全行" in " ".join(str(c) for row in wb["说明"].iter_rows(values_only=True) for c in row if c)


def test_a_failed_period_is_retried_on_the_same_row(bank):
    s = _mk(bank)
    org_services.staff_deactivate(actor=bank.admin, staff_id=bank.supervisor_a.pk, reason="长期病假")
    seq = audit_seq()
    today = timezone.localdate()
    assert svc.schedules_run_due(today=today) == {"generated": 0, "failed": 1, "skipped": 0}
    run = ReportRun.objects.get(schedule=s)
    assert run.status == "failed" and run.error.startswith("owner_inactive") and run.file_path == ""
    assert verbs_since(seq) == ["reports.run_failed"]
    org_services.staff_reactivate(actor=bank.admin, staff_id=bank.supervisor_a.pk, reason="返岗")
    assert svc.schedules_run_due(today=today) == {"generated": 1, "failed": 0, "skipped": 0}
    run.refresh_from_db()
    assert run.status == "done" and run.attempts == 2 and run.error == "" and ReportRun.objects.count() == 1
    # an owner whose branch moved out of the schedule's branch gets a failure with the reason, not another branch
    s2 = _mk(bank, name="甲一", frequency="daily", branch=bank.a1.path)
    from bankcrm.org.models import Staff

    Staff.objects.filter(pk=bank.supervisor_a.pk).update(branch=bank.b)
    run2 = svc._generate(s2.pk, rules.due_period("daily", today))
    assert run2.status == "failed" and run2.error.startswith("branch_not_found")


def test_the_database_refuses_a_second_row_for_a_period(bank):
    """Broken variant: a generator that forgot to look for the period's run and inserted another is stopped by the
    unique constraint (schedule, period), whatever the code above it does."""
    from django.db import IntegrityError, transaction

    s = _mk(bank)
    run = svc.schedule_run(actor=bank.supervisor_a, schedule_id=s.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportRun.objects.create(schedule=s, period=run.period, period_start=run.period_start,
                                 period_end=run.period_end, status="done", generated_at=timezone.now())
    assert ReportRun.objects.filter(schedule=s).count() == 1


def test_download_is_audited_and_checked(bank, reports_dir):
    s = _mk(bank)
    run = svc.schedule_run(actor=bank.supervisor_a, schedule_id=s.pk)
    seq = audit_seq()
    name, ctype, content = svc.run_download(actor=bank.supervisor_a, run_id=run.pk)
    assert content[:2] == b"PK" and name.endswith(".xlsx") and "spreadsheet" in ctype
    assert verbs_since(seq) == ["reports.run_downloaded"]
    with pytest.raises(NotFound):
        svc.run_download(actor=bank.supervisor_b, run_id=run.pk)
    with pytest.raises(PermissionDenied):
        svc.run_download(actor=bank.consultant, run_id=run.pk)
    path = reports_dir / run.file_path
    path.write_bytes(content + b"tampered")
    seq = audit_seq()
    with pytest.raises(RuleViolation) as exc:
        svc.run_download(actor=bank.supervisor_a, run_id=run.pk)
    assert exc.value.code == "report_file_changed"
    path.unlink()
    with pytest.raises(RuleViolation) as exc:
        svc.run_download(actor=bank.supervisor_a, run_id=run.pk)
    assert exc.value.code == "report_file_missing" and verbs_since(seq) == []
    # a path that escapes the reports directory is never read
    ReportRun.objects.filter(pk=run.pk).update(file_path="../../etc/passwd")
    with pytest.raises(RuleViolation):
        svc.run_download(actor=bank.supervisor_a, run_id=run.pk)


# ---- Pages and API --------------------------------------------------------------------------------------------------
def test_schedule_pages(bank):
    c = login_client(bank.supervisor_a)
    page = c.get(reverse("reports:schedule_new") + "?report=complaints&branch=" + bank.a.path).content.decode()
    assert 'value="投诉情况"' in page and f'value="{bank.a.path}" selected' in page
    r = c.post(reverse("reports:schedule_new"), {"name": "", "report": "complaints", "branch": bank.a.path,
                                                 "frequency": "monthly", "file_format": "xlsx"})
    assert r.status_code == 400 and 'data-testid="field-error-name"' in r.content.decode()
    r = c.post(reverse("reports:schedule_new"), {"name": "甲分行投诉月报", "report": "complaints",
                                                 "branch": bank.a.path, "frequency": "monthly", "file_format": "pdf"})
    s = ReportSchedule.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("reports:schedule", args=[s.pk])
    assert 'data-testid="schedule-run"' in c.get(r["Location"]).content.decode()
    assert c.post(reverse("reports:schedule_run", args=[s.pk])).status_code == 302
    detail = c.get(reverse("reports:schedule", args=[s.pk])).content.decode()
    run = ReportRun.objects.get()
    assert 'data-testid="run-row"' in detail and run.sha256[:17] in detail
    dl = c.get(reverse("reports:run_download", args=[run.pk]))
    assert dl.status_code == 200 and dl.content[:4] == b"%PDF" and "attachment" in dl["Content-Disposition"]
    listing = c.get(reverse("reports:schedules")).content.decode()
    assert "甲分行投诉月报" in listing and run.period in listing
    r = c.post(reverse("reports:schedule_edit", args=[s.pk]), {"name": "甲分行投诉月报", "report": "complaints",
                                                               "branch": bank.b.path, "frequency": "monthly",
                                                               "file_format": "pdf"})
    assert r.status_code == 400 and 'data-testid="field-error-branch"' in r.content.decode()
    assert c.post(reverse("reports:schedule_deactivate", args=[s.pk])).status_code == 302
    assert 'data-testid="schedule-run"' not in c.get(reverse("reports:schedule", args=[s.pk])).content.decode()
    # compliance sees it in the bank-wide list; stopping someone else's needs a reason
    co = login_client(bank.compliance)
    assert "甲分行投诉月报" in co.get(reverse("reports:schedules")).content.decode()
    s2 = _mk(bank, name="第二个")
    r = co.post(reverse("reports:schedule_deactivate", args=[s2.pk]), {"reason": ""})
    assert r.status_code == 400 and 'data-testid="schedule-error"' in r.content.decode()


def _api(client, method, url, body=None):
    if method == "get":
        r = client.get(url)
    else:
        r = getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")
    return r.status_code, (r.json() if r.get("Content-Type", "").startswith("application/json") else r.content)


def test_schedule_api(bank):
    c = login_client(bank.supervisor_a)
    st, body = _api(c, "post", "/api/v1/report-schedules/", {
        "name": "投诉周报", "report": "complaints", "frequency": "weekly", "file_format": "pdf",
        "branch": bank.a1.path, "owner": bank.admin.pk, "active": False})
    assert st == 201 and body["owner"]["id"] == bank.supervisor_a.pk and body["active"] is True  # mass assignment
    pk = body["id"]
    st, body = _api(c, "post", "/api/v1/report-schedules/", {"name": "x", "report": "nope", "frequency": "weekly"})
    assert st == 400 and "report" in body["error"]["fields"]
    st, body = _api(c, "post", "/api/v1/report-schedules/", {"name": "x", "report": "complaints",
                                                              "frequency": "weekly", "branch": bank.b.path})
    assert st == 400 and "branch" in body["error"]["fields"]
    st, body = _api(c, "put", f"/api/v1/report-schedules/{pk}/", {"name": "投诉月报", "report": "complaints",
                                                                  "frequency": "monthly", "file_format": "xlsx"})
    assert st == 200 and body["frequency"] == "monthly" and body["branch"] == ""
    st, run = _api(c, "post", f"/api/v1/report-schedules/{pk}/run/")
    assert st == 200 and run["status"] == "done" and len(run["sha256"]) == 64
    st, again = _api(c, "post", f"/api/v1/report-schedules/{pk}/run/")
    assert again["id"] == run["id"]
    st, runs = _api(c, "get", f"/api/v1/report-schedules/{pk}/runs/")
    assert st == 200 and [r["id"] for r in runs["results"]] == [run["id"]]
    st, content = _api(c, "get", f"/api/v1/report-runs/{run['id']}/download/")
    assert st == 200 and content[:2] == b"PK"
    st, listing = _api(c, "get", "/api/v1/report-schedules/")
    assert [s["id"] for s in listing["results"]] == [pk]
    assert _api(login_client(bank.supervisor_b), "get", f"/api/v1/report-schedules/{pk}/")[0] == 404
    st, body = _api(c, "post", f"/api/v1/report-schedules/{pk}/deactivate/")
    assert st == 200 and body["active"] is False
    st, body = _api(c, "post", f"/api/v1/report-schedules/{pk}/run/")
    assert st == 409 and body["error"]["code"] == "schedule_inactive"


def test_demo_seeder_leaves_two_schedules_with_files(bank, reports_dir):
    import random

    from bankcrm.core import context, demo
    from bankcrm.reports import report_demo

    lines: list[str] = []
    with context.channel("command"):
        report_demo.run(demo.SeedContext(rng=random.Random(1), options={}, out=lines.append))
    assert demo.SEEDERS["reports"].order > max(s.order for k, s in demo.SEEDERS.items() if k.startswith("supervision"))
    got = {(s.owner.staff_no, s.report, s.frequency, s.file_format) for s in ReportSchedule.objects.all()}
    assert got == {("CO001", "branch_performance", "monthly", "xlsx"), ("SV101", "complaints", "weekly", "pdf")}
    runs = list(ReportRun.objects.filter(status="done"))
    assert len(runs) == 2 and all((reports_dir / r.file_path).is_file() for r in runs)
    assert "定时报表" in lines[-1]
