"""API basics: the OpenAPI schema generates cleanly, every error has the one format, messages are Chinese by default
(English on request), rule parameters and the working-day calendar through the API."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from bankcrm.core import params
from tests.conftest import login_client

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_schema_generates_and_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    text = out.read_text()
    assert "openapi: 3." in text and "/api/v1/staff/{id}/" in text
    for path in ["/api/v1/me/", "/api/v1/approvals/{id}/approve/", "/api/v1/calendar/{day}/",
                 "/api/v1/parameters/{code}/versions/"]:
        assert path in text, path


def test_schema_endpoint_serves(bank):
    r = login_client(bank.cm_a1).get("/api/schema/")
    assert r.status_code == 200 and b"openapi" in r.content


# ---- One error format --------------------------------------------------------------------------------------------
def format_problems(response) -> list[str]:
    """What is wrong with an error response, measured against {"error": {"code", "message", "fields"?}, "request_id"}."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return ["not JSON"]
    out = []
    if set(data) != {"error", "request_id"}:
        out.append(f"top-level keys {sorted(data)}")
    err = data.get("error") if isinstance(data.get("error"), dict) else {}
    if not isinstance(err.get("code"), str) or not re.fullmatch(r"[a-z_]+", err.get("code", "")):
        out.append("code")
    if not isinstance(err.get("message"), str) or not err.get("message"):
        out.append("message")
    if set(err) - {"code", "message", "fields", "params", "pending_action_id"}:
        out.append(f"error keys {sorted(err)}")
    if "fields" in err and not all(isinstance(v, list) for v in err["fields"].values()):
        out.append("fields")
    if data.get("request_id") != response.get("X-Request-ID"):
        out.append("request_id differs from X-Request-ID")
    return out


def error_cases(bank) -> list[tuple[str, int, str, object]]:
    admin, cm = login_client(bank.admin), login_client(bank.cm_a1)
    j = {"content_type": "application/json"}
    return [
        ("not_authenticated", 401, "not_authenticated", Client().get("/api/v1/me/")),
        ("bad token", 401, "authentication_failed", Client().get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer nope")),
        ("no capability", 403, "permission_denied", cm.get("/api/v1/audit/events/")),
        ("out of scope", 404, "staff_not_found", login_client(bank.supervisor_b).get(f"/api/v1/staff/{bank.cm_a1.pk}/")),
        ("unknown object", 404, "staff_not_found", admin.get("/api/v1/staff/999999/")),
        ("unknown url", 404, "not_found", admin.get("/api/v1/no-such-thing/")),
        ("method", 405, "method_not_allowed", admin.delete("/api/v1/me/")),
        ("validation", 400, "validation_failed", admin.post("/api/v1/branches/", data="{}", **j)),
        ("malformed", 400, "malformed_request", admin.post("/api/v1/branches/", data="{not json", **j)),
        ("media type", 415, "unsupported_media_type", admin.post("/api/v1/branches/", data="a=b", content_type="text/plain")),
        ("rule", 409, "cannot_deactivate_self", admin.post(f"/api/v1/staff/{bank.admin.pk}/deactivate/", data='{"reason": "x"}', **j)),
        ("service validation", 400, "calendar_workday_on_weekday",
         admin.put("/api/v1/calendar/2026-10-08/", data='{"kind": "workday", "name": "周四"}', **j)),
        ("bad date", 400, "invalid_date", admin.delete("/api/v1/calendar/2026-13-45/")),
    ]


def test_every_error_has_the_one_format(bank):
    problems = {}
    for name, status, code, r in error_cases(bank):
        found = format_problems(r)
        if r.status_code != status:
            found.append(f"status {r.status_code} != {status}")
        elif r.json()["error"]["code"] != code:
            found.append(f"code {r.json()['error']['code']} != {code}")
        if found:
            problems[name] = found
    assert problems == {}


def test_error_format_detector_catches_the_framework_default():
    from django.http import JsonResponse

    r = JsonResponse({"detail": "Not found."}, status=404)
    r["X-Request-ID"] = "abc"
    assert format_problems(r)


def test_validation_errors_name_their_fields(bank):
    r = login_client(bank.admin).post("/api/v1/staff/", data=json.dumps({"staff_no": "X1", "name": "某"}),
                                      content_type="application/json")
    assert r.status_code == 400
    fields = r.json()["error"]["fields"]
    assert {"branch", "employment_type", "roles", "password"} <= set(fields)
    r = login_client(bank.admin).post("/api/v1/staff/", data=json.dumps(
        {"staff_no": "X1", "name": "某", "branch": bank.a1.pk, "employment_type": "employee", "roles": ["customer_manager"],
         "password": "Test-Passw0rd!x", "mobile": "123"}), content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "mobile_format" and "mobile" in r.json()["error"]["fields"]


def test_malformed_json_is_400_malformed_request(bank):
    r = login_client(bank.admin).patch(f"/api/v1/staff/{bank.cm_a1.pk}/", data='{"title": "x",', content_type="application/json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "malformed_request"
    assert not format_problems(r)


def test_messages_chinese_by_default_english_on_request(bank):
    r = Client().get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")  # the browser's language does not decide
    assert CJK.search(r.json()["error"]["message"]), r.json()
    en = Client()
    en.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = en.get("/api/v1/me/")
    assert r.json()["error"]["message"] == "Please sign in or provide an API token"
    r = en.post("/api/v1/branches/", data="{oops", content_type="application/json")
    assert r.status_code in (400, 401)
    admin = login_client(bank.admin)
    admin.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = admin.post("/api/v1/branches/", data="{oops", content_type="application/json")
    assert r.json()["error"]["message"] == "Malformed request body (not valid JSON)"
    r = admin.get("/api/v1/staff/999999/")
    assert not CJK.search(r.json()["error"]["message"]), r.json()
    for _name, _status, _code, r in error_cases(bank):
        assert CJK.search(r.json()["error"]["message"]), (_name, r.json())


# ---- Rule parameters through the API -----------------------------------------------------------------------------
def test_parameter_versions_via_api(bank):
    admin = login_client(bank.admin)
    code = "approvals.expiry"
    url = f"/api/v1/parameters/{code}/versions/"
    default = params.definition(code).default
    future = timezone.now() + timedelta(days=1)
    r = admin.post(url, data=json.dumps({"value": 48, "effective_from": future.isoformat(), "reason": "调整时限"}),
                   content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["value"] == 48 and r.json()["created_by"] == "AD001"
    r = admin.post(url, data=json.dumps({"value": 36, "reason": "立即生效"}), content_type="application/json")
    assert r.status_code == 201
    history = admin.get(url).json()
    assert [v["value"] for v in history] == [48, 36]
    rows = {p["code"]: p for p in admin.get("/api/v1/parameters/").json()}
    assert rows[code]["value"] == 36 and rows[code]["default"] == default and rows[code]["display"] == "36小时"
    assert params.value(code, future + timedelta(seconds=1)) == 48
    # refusals
    r = admin.post(url, data=json.dumps({"value": 12, "effective_from": "2020-01-01T00:00:00+08:00", "reason": "追溯"}),
                   content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "parameter_retroactive"
    r = admin.post(url, data=json.dumps({"value": 0, "reason": "太小"}), content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "parameter_out_of_range"
    r = admin.post(url, data=json.dumps({"value": 12}), content_type="application/json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = admin.get("/api/v1/parameters/no.such/versions/")
    assert r.status_code == 404 and r.json()["error"]["code"] == "parameter_not_found"
    cm = login_client(bank.cm_a1)
    assert cm.get(url).status_code == 200  # everyone may read the rules
    r = cm.post(url, data=json.dumps({"value": 12, "reason": "我来改"}), content_type="application/json")
    assert r.status_code == 403
    assert [v["value"] for v in admin.get(url).json()] == [48, 36]


# ---- Working-day calendar through the API ------------------------------------------------------------------------
def test_calendar_put_and_delete_via_api(bank):
    admin = login_client(bank.admin)
    j = {"content_type": "application/json"}
    r = admin.put("/api/v1/calendar/2026-10-08/", data=json.dumps({"kind": "holiday", "name": "国庆节"}), **j)
    assert r.status_code == 200 and r.json() == {"date": "2026-10-08", "kind": "holiday", "name": "国庆节"}
    r = admin.put("/api/v1/calendar/2026-10-08/", data=json.dumps({"kind": "holiday", "name": "国庆节（延长）"}), **j)
    assert r.status_code == 200 and r.json()["name"] == "国庆节（延长）"
    r = admin.put("/api/v1/calendar/2026-10-10/", data=json.dumps({"kind": "workday", "name": "调休上班"}), **j)
    assert r.status_code == 200
    listed = {d["date"]: d["kind"] for d in admin.get("/api/v1/calendar/?year=2026").json()}
    assert listed == {"2026-10-08": "holiday", "2026-10-10": "workday"}
    from bankcrm.core.workdays import working_days_after

    assert working_days_after(date(2026, 10, 7), 1) == date(2026, 10, 9)
    assert working_days_after(date(2026, 10, 9), 1) == date(2026, 10, 10)
    r = admin.delete("/api/v1/calendar/2026-10-08/")
    assert r.status_code == 204 and r.content == b""
    r = admin.delete("/api/v1/calendar/2026-10-08/")
    assert r.status_code == 400 and r.json()["error"]["code"] == "calendar_day_missing"
    r = admin.put("/api/v1/calendar/2026-10-09/", data=json.dumps({"kind": "weekend", "name": "x"}), **j)
    assert r.status_code == 400 and "kind" in r.json()["error"]["fields"]
    r = admin.get("/api/v1/calendar/?year=abc")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_year"
    cm = login_client(bank.cm_a1)
    assert cm.get("/api/v1/calendar/?year=2026").status_code == 200
    assert cm.put("/api/v1/calendar/2026-10-09/", data=json.dumps({"kind": "holiday", "name": "x"}), **j).status_code == 403
    assert cm.delete("/api/v1/calendar/2026-10-10/").status_code == 403
    assert {d["date"] for d in admin.get("/api/v1/calendar/?year=2026").json()} == {"2026-10-10"}


def test_calendar_year_outside_what_a_date_holds_is_refused_not_a_server_error(bank):
    """R11 found `?year=-344` answered 500 (Python dates hold years 1–9999)."""
    admin = login_client(bank.admin)
    for year in ("-344", "0", "10000"):
        r = admin.get(f"/api/v1/calendar/?year={year}")
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_year", year
    assert admin.get("/api/v1/calendar/?year=9999").status_code == 200


def test_every_operation_documents_the_error_format(tmp_path):
    """R11: every operation documents 401/403/404 in the one error format, 400 when it takes input, 415 with a body."""
    import yaml

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), stdout=io.StringIO(), stderr=io.StringIO())
    schema = yaml.safe_load(out.read_text())
    missing = []
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            need = {"401", "403", "404"} | ({"400"} if op.get("parameters") or op.get("requestBody") else set()) \
                | ({"415"} if op.get("requestBody") else set())
            for code in sorted(need - set(op["responses"])):
                missing.append(f"{method.upper()} {path} {code}")
            ref = op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/Error", (method, path)
    assert missing == []
