"""Management-report pages, files and API (issue #11): the report pages with their figures as links, the records
page (masked, access-logged), filter errors next to the fields, 404 for another branch; Excel and PDF files that open
(the PDF draws its Chinese text with an embedded CJK font), hold aggregates only and are audited; the API with the
same filters; and the authorization sweep over every route of the app."""

from __future__ import annotations

import io
import json
import re
import zlib

import pytest
from django.test import Client
from django.urls import reverse

from bankcrm.core.models import AccessEvent, AuditEvent
from bankcrm.reports import report_catalog as catalog
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since
from tests.test_reports_figures import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reports_dir(settings, tmp_path):
    settings.BANKCRM_REPORTS_DIR = str(tmp_path / "reports")


@pytest.fixture
def world(bank):
    return make_world(bank)


def q(world, **extra) -> str:
    from urllib.parse import urlencode

    return urlencode({"period": world.P.key, **extra})


# ---- PDF inspection -------------------------------------------------------------------------------------------------------
def _streams(pdf: bytes):
    for m in re.finditer(rb"stream\r?\n", pdf):
        end = pdf.find(b"endstream", m.end())
        chunk = pdf[m.end():end]
        try:
            yield zlib.decompressobj().decompress(chunk)
        except zlib.error:
            yield chunk


def pdf_font_facts(pdf: bytes) -> dict:
    """What a PDF says about its fonts: embedded font programs, base font names, and the Unicode code points its
    ToUnicode maps cover (the characters it can draw as text)."""
    parts = [pdf, *_streams(pdf)]
    blob = b"\n".join(parts)
    mapped: set[int] = set()
    for part in parts:
        if b"begincmap" not in part:
            continue
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", part, re.S):
            for _src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                if len(dst) == 4:
                    mapped.add(int(dst, 16))
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", part, re.S):
            for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                start = int(dst, 16)
                mapped.update(range(start, start + int(hi, 16) - int(lo, 16) + 1))
    return {"embedded": bool(re.search(rb"/FontFile[23]?\b", blob)),
            "fonts": {f.decode() for f in re.findall(rb"/BaseFont\s*/([\w+\-]+)", blob)}, "mapped": mapped}


def test_pdf_inspector_can_fail():
    """Broken variant: a PDF without an embedded font or Chinese mappings is told apart."""
    facts = pdf_font_facts(b"%PDF-1.7\n1 0 obj << /Type /Font /BaseFont /Helvetica >> endobj\n%%EOF")
    assert not facts["embedded"] and not facts["mapped"] and facts["fonts"] == {"Helvetica"}


# ---- Pages ----------------------------------------------------------------------------------------------------------------
def test_index_and_every_report_page(world):
    bank = world.bank
    c = login_client(bank.compliance)
    page = c.get(reverse("reports:index")).content.decode()
    for code in catalog.REPORTS:
        assert f'data-testid="report-card-{code}"' in page
    assert 'data-testid="report-card-schedules"' in page
    for code in catalog.REPORTS:
        r = c.get(reverse("reports:report", args=[code]) + "?" + q(world))
        html = r.content.decode()
        assert r.status_code == 200, code
        assert 'id="reports-data"' in html and "js/reports.js" in html and 'data-testid="figure"' in html, code
        assert 'data-testid="export-xlsx"' in html and 'data-testid="subscribe"' in html
        data = json.loads(re.search(r'<script id="reports-data" type="application/json">(.*?)</script>', html,
                                    re.S).group(1))
        assert data["charts"] and all(s["links"] for ch in data["charts"] for s in ch["series"])
    # the default period (this quarter or year) renders too, with nothing in it
    assert c.get(reverse("reports:report", args=["branch_performance"])).status_code == 200
    assert c.get(reverse("reports:report", args=["no_such_report"])).status_code == 404


def test_figure_links_to_its_records_masked_and_logged(world):
    bank = world.bank
    c = login_client(bank.supervisor_a)
    html = c.get(reverse("reports:report", args=["branch_performance"]) + "?" + q(world)).content.decode()
    assert "甲一支行" in html and "乙" not in re.sub(r"<[^>]+>", "", html).split("统计口径")[0].replace("乙一", "")
    links = re.findall(r'<a href="([^"]+)" data-testid="figure-total" data-col="new_customers">(\d+)</a>', html)
    assert links and links[0][1] == "2"
    url = links[0][0].replace("&amp;", "&")
    before = AccessEvent.objects.count()
    r = c.get(url)
    page = r.content.decode()
    assert r.status_code == 200 and 'data-testid="records-count">2<' in page
    assert page.count('data-testid="record"') == 2
    assert "张**" in page and "李**" in page and "张三丰" not in page and "李小龙" not in page
    assert f'href="/customers/{world.led.zhang.pk}/"' in page and 'data-testid="records-owning"' in page
    ev = AccessEvent.objects.order_by("-id").first()
    assert AccessEvent.objects.count() == before + 1 and ev.view == "reports.records"
    assert set(ev.subject_ids) == {str(world.led.zhang.pk), str(world.led.li.pk)}
    # a branch row's name opens the report one level down; from there one goes back up, never above one's scope
    assert f"branch={bank.a1.path.replace('/', '%2F')}" in html
    down = c.get(reverse("reports:report", args=["branch_performance"]) + "?" + q(world, branch=bank.a1.path))
    assert 'data-testid="report-up"' in down.content.decode() and "甲分行" in down.content.decode()
    top = c.get(reverse("reports:report", args=["branch_performance"]) + "?" + q(world, branch=bank.a.path))
    assert 'data-testid="report-up"' not in top.content.decode()
    # the training figures link through to the owning app's team page with the branch filter
    t = c.get(reverse("reports:records", args=["training"]) + "?" + q(world, metric="training_overdue", dim="branch",
                                                                       key=bank.a1.path)).content.decode()
    assert 'data-testid="records-count">0<' in t
    t = c.get(reverse("reports:records", args=["training"]) + "?" + q(world, metric="training_overdue", dim="branch",
                                                                       key=bank.a.path)).content.decode()
    assert 'data-testid="records-count">1<' in t and "/people/training/team/?branch=101&amp;status=overdue" in t


def test_filter_errors_next_to_fields_and_scope(world):
    bank = world.bank
    c = login_client(bank.supervisor_b)
    url = reverse("reports:report", args=["complaints"])
    for params, field in (({"period": "2026-13"}, "period"), ({"period": "range", "start": "2025-05-01"}, "end"),
                          ({"period": "range", "start": "2025-06-01", "end": "2025-05-01"}, "end"),
                          ({"period": "2999"}, "period")):
        r = c.get(url, params)
        assert r.status_code == 400 and f'data-testid="field-error-{field}"' in r.content.decode(), params
    # another branch: 404, never its numbers
    for name in ("reports:report", "reports:records"):
        r = c.get(reverse(name, args=["complaints"]), {"period": world.P.key, "branch": bank.a.path,
                                                        "metric": "complaints_received"})
        assert r.status_code == 404
    r = c.get(reverse("reports:records", args=["complaints"]), {"period": world.P.key, "metric": "complaints_received",
                                                                "dim": "branch", "key": bank.a1.path})
    assert r.status_code == 404
    for extra in ({"metric": "nope"}, {"metric": "customers_now", "dim": "suit", "key": "abc"},
                  {"metric": "customers_now", "dim": "aml", "key": "abc"}, {"metric": "new_customers", "dim": "tier"},
                  {"metric": "new_customers", "dim": "month", "key": "1999-01"}):
        r = c.get(reverse("reports:records", args=["risk_profile"]), {"period": world.P.key, **extra})
        assert r.status_code == 404, extra
    assert c.get(reverse("reports:export", args=["complaints", "xlsx"]), {"period": world.P.key,
                                                                          "branch": bank.a.path}).status_code == 404


# ---- Files ----------------------------------------------------------------------------------------------------------------
def test_excel_export_opens_aggregates_only_and_is_audited(world):
    from openpyxl import load_workbook

    bank = world.bank
    c = login_client(bank.compliance)
    seq = audit_seq()
    r = c.get(reverse("reports:export", args=["branch_performance", "xlsx"]) + "?" + q(world))
    assert r.status_code == 200 and r.content[:2] == b"PK" and r["Cache-Control"] == "no-store"
    assert r["Content-Disposition"] == f'attachment; filename="branch_performance-{world.P.key}.xlsx"'
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["说明", "按机构"]
    rows = {row[0]: row[1:] for row in wb["按机构"].iter_rows(values_only=True)}
    assert rows["合计"][1] == 4 and float(rows["合计"][2]) == 12.6 and rows["合计"][7] == 66.7  # AUM in 万元
    cells = " ".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    assert "赵合规" in cells and "总行" in cells
    for secret in ("张三丰", "李小龙", "王五", "13812345678", world.led.zhang.id_number):
        assert secret not in cells
    assert verbs_since(seq) == ["reports.exported"]
    ev = AuditEvent.objects.order_by("-seq").first()
    assert ev.after["format"] == "xlsx" and ev.after["period"] == world.P.key and ev.target_id == "branch_performance"


def test_pdf_export_draws_chinese_with_an_embedded_font(world):
    bank = world.bank
    c = login_client(bank.supervisor_a)
    seq = audit_seq()
    r = c.get(reverse("reports:export", args=["complaints", "pdf"]) + "?" + q(world))
    assert r.status_code == 200 and r.content[:5] == b"%PDF-" and r["Content-Type"] == "application/pdf"
    facts = pdf_font_facts(r.content)
    # a subset (ABCDEF+) of Noto Sans CJK, its program embedded in the file
    cjk = [f for f in facts["fonts"] if "NotoSansCJK" in f.replace("-", "")]
    assert facts["embedded"] and cjk and all(re.match(r"^[A-Z]{6}\+", f) for f in cjk), facts["fonts"]
    assert {ord(ch) for ch in "投诉情况甲一支行统计口径"} <= facts["mapped"]
    assert verbs_since(seq) == ["reports.exported"]
    assert AuditEvent.objects.order_by("-seq").first().after["format"] == "pdf"


def test_export_denied_for_the_consultant_and_the_customer_manager(world):
    bank = world.bank
    seq = audit_seq()
    for staff in (bank.consultant, bank.cm_a1):
        denied = security_count("denied")
        r = login_client(staff).get(reverse("reports:export", args=["complaints", "xlsx"]) + "?" + q(world))
        assert r.status_code == 403 and security_count("denied") == denied + 1
    # the consultant may read the report (aggregates), not take it away
    assert login_client(bank.consultant).get(reverse("reports:report", args=["complaints"])).status_code == 200
    assert verbs_since(seq) == []


# ---- API ------------------------------------------------------------------------------------------------------------------
def test_api_report_data_with_the_same_filters(world):
    bank = world.bank
    c = login_client(bank.compliance)
    r = c.get("/api/v1/reports/")
    assert r.status_code == 200 and [x["code"] for x in r.json()] == list(catalog.REPORTS)
    body = c.get("/api/v1/reports/branch_performance/", {"period": world.P.key}).json()
    assert body["period"]["start"] == world.P.start.isoformat() and body["snapshot_day"] == f"{world.y}-06-30"
    t = body["tables"][0]
    assert t["total"]["values"]["aum"] == 12_600_000 and t["total"]["values"]["csat"] == 66.7
    assert {r["label"]: r["values"]["new_customers"] for r in t["rows"]} == {"甲分行": 2, "乙分行": 2}
    sub = c.get("/api/v1/reports/branch_performance/", {"period": world.P.key, "branch": bank.b.path}).json()
    assert sub["branch"] == bank.b.path and sub["tables"][0]["total"]["values"]["customers"] == 2
    bad = c.get("/api/v1/reports/branch_performance/", {"period": "2025-Q5"})
    assert bad.status_code == 400 and "period" in bad.json()["error"]["fields"]
    rng = c.get("/api/v1/reports/branch_performance/", {"period": "range", "start": f"{world.y}-04-01"})
    assert rng.status_code == 400 and "start" in rng.json()["error"]["fields"]
    assert c.get("/api/v1/reports/nope/").status_code == 404
    svb = login_client(bank.supervisor_b)
    assert svb.get("/api/v1/reports/complaints/", {"branch": bank.a.path}).status_code == 404
    seq = audit_seq()
    f = c.get("/api/v1/reports/training/export/", {"period": world.P.key, "file_type": "pdf"})
    assert f.status_code == 200 and f.content[:4] == b"%PDF" and verbs_since(seq) == ["reports.exported"]
    assert c.get("/api/v1/reports/training/export/", {"file_type": "doc"}).status_code == 400


# ---- Authorization sweep -------------------------------------------------------------------------------------------------
def routes(world, run_id: int, schedule_id: int) -> list[tuple[str, str, dict]]:
    P = {"period": world.P.key}
    return [
        ("get", reverse("reports:index"), {}),
        ("get", reverse("reports:report", args=["complaints"]), P),
        ("get", reverse("reports:records", args=["complaints"]), {**P, "metric": "complaints_received"}),
        ("get", reverse("reports:export", args=["complaints", "xlsx"]), P),
        ("get", reverse("reports:schedules"), {}),
        ("get", reverse("reports:schedule_new"), {}),
        ("post", reverse("reports:schedule_new"), {"name": "x", "report": "complaints", "frequency": "daily",
                                                   "file_format": "xlsx"}),
        ("get", reverse("reports:schedule", args=[schedule_id]), {}),
        ("post", reverse("reports:schedule_edit", args=[schedule_id]), {"name": "改名", "report": "complaints",
                                                                       "frequency": "daily", "file_format": "xlsx"}),
        ("post", reverse("reports:schedule_deactivate", args=[schedule_id]), {"reason": "离职"}),
        ("post", reverse("reports:schedule_run", args=[schedule_id]), {}),
        ("get", reverse("reports:run_download", args=[run_id]), {}),
        ("get", "/api/v1/reports/", {}),
        ("get", "/api/v1/reports/complaints/", P),
        ("get", "/api/v1/reports/complaints/export/", {**P, "file_type": "xlsx"}),
        ("get", "/api/v1/report-schedules/", {}),
        ("post", "/api/v1/report-schedules/", {"name": "x", "report": "complaints", "frequency": "daily"}),
        ("get", f"/api/v1/report-schedules/{schedule_id}/", {}),
        ("put", f"/api/v1/report-schedules/{schedule_id}/", {"name": "x", "report": "complaints", "frequency": "daily"}),
        ("post", f"/api/v1/report-schedules/{schedule_id}/deactivate/", {"reason": "离职"}),
        ("post", f"/api/v1/report-schedules/{schedule_id}/run/", {}),
        ("get", f"/api/v1/report-schedules/{schedule_id}/runs/", {}),
        ("get", f"/api/v1/report-runs/{run_id}/download/", {}),
    ]


def _call(client, method: str, url: str, data: dict):
    if url.startswith("/api/"):
        if method == "get":
            return client.get(url, data)
        return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")
    return getattr(client, method)(url, data=data)


def _state():
    from bankcrm.reports.models import ReportRun, ReportSchedule

    return [list(m.objects.order_by("pk").values()) for m in (ReportSchedule, ReportRun)]


def test_authorization_sweep(world):
    from bankcrm.reports import schedule_services as svc

    bank = world.bank
    s = svc.schedule_create(actor=bank.supervisor_a, name="甲分行投诉月报", report="complaints", frequency="monthly",
                            branch=bank.a.path)
    run = svc.schedule_run(actor=bank.supervisor_a, schedule_id=s.pk)
    assert run.status == "done"
    seq, state = audit_seq(), _state()
    problems = []
    anon, no_cap = Client(), login_client(bank.cm_a1)  # customer managers hold no report capability
    # the operations manager reads reports but schedules none; the consultant reads but exports nothing
    om, consultant, svb = login_client(bank.om_a1), login_client(bank.consultant), login_client(bank.supervisor_b)
    all_routes = routes(world, run.pk, s.pk)
    assert {r.name for r in __import__("tests.helpers", fromlist=["all_routes"]).all_routes()
            if r.name.startswith(("reports:", "api-report"))} <= {
        "reports:index", "reports:report", "reports:records", "reports:export", "reports:schedules",
        "reports:schedule_new", "reports:schedule", "reports:schedule_edit", "reports:schedule_deactivate",
        "reports:schedule_run", "reports:run_download", "api-reports", "api-report", "api-report-export",
        "api-report-schedules", "api-report-schedule", "api-report-schedule-deactivate", "api-report-schedule-run",
        "api-report-schedule-runs", "api-report-run-download"}
    for method, url, data in all_routes:
        r = _call(anon, method, url, data)
        if not (r.status_code in (401, 403) if url.startswith("/api/") else
                r.status_code == 302 and r["Location"].startswith(reverse("org:login"))):
            problems.append(f"anonymous {method} {url} -> {r.status_code}")
        denied = security_count("denied")
        r = _call(no_cap, method, url, data)
        if r.status_code != 403 or security_count("denied") != denied + 1:
            problems.append(f"no capability {method} {url} -> {r.status_code}")
    for method, url, data in all_routes:
        if "schedule" in url or "run" in url:
            denied = security_count("denied")
            r = _call(om, method, url, data)
            needs_export = "download" in url
            if needs_export:
                ok = r.status_code == 404  # may export, but sees no one else's schedule
            else:
                ok = r.status_code == 403 and security_count("denied") == denied + 1
            if not ok:
                problems.append(f"operations manager {method} {url} -> {r.status_code}")
        if "export" in url or "download" in url:
            r = _call(consultant, method, url, data)
            if r.status_code != 403:
                problems.append(f"consultant {method} {url} -> {r.status_code}")
    # out of scope: the other branch's supervisor sees neither the schedule nor its files
    for method, url, data in all_routes:
        if str(s.pk) in url.split("/") or str(run.pk) in url.split("/"):
            r = _call(svb, method, url, data)
            if r.status_code != 404:
                problems.append(f"out of scope {method} {url} -> {r.status_code}")
    problems += [f"audit event: {v}" for v in verbs_since(seq)]
    if _state() != state:
        problems.append("state changed")
    assert problems == []
