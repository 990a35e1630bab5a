"""R13 — deployment configuration (QUALITY.md): `check --deploy` with the production settings, security headers,
CSRF on every unsafe route, and the security lints (bandit's rules as implemented by ruff). Pass bar: issues = 0."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from bankcrm.core.models import SecurityEvent
from tests.conftest import login_client, write_figures
from tests.helpers import all_routes, audit_seq, db_state, sample_url, security_count, state_diff, verbs_since

BASE = Path(settings.BASE_DIR)


def deploy_check(**env_overrides: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "BANKCRM_"))}
    db_url = os.environ.get("DATABASE_URL") or "postgres://bankcrm@127.0.0.1:5432/bankcrm_never_connected"
    env.update(DJANGO_SETTINGS_MODULE="config.settings.prod", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
               DATABASE_URL=db_url, BANKCRM_VAR_DIR=str(BASE / "var"), **env_overrides)
    p = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=BASE, env=env,
                       capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def test_check_deploy_with_production_settings_has_no_issues():
    code, output = deploy_check()
    issues = len(re.findall(r"\(\w+\.[WE]\d+\)", output)) or int(code != 0)
    write_figures("R13", code == 0, deploy_check_issues=issues)
    assert code == 0, output
    assert "no issues" in output


def test_check_deploy_detector_catches_a_weakened_setting():
    """Broken variant: production without the HTTPS redirect."""
    code, output = deploy_check(DJANGO_SECURE_SSL_REDIRECT="0")
    assert code != 0 and "security.W008" in output


def test_production_settings_refuse_to_start_without_secrets():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.prod"
    p = subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "DJANGO_SECRET_KEY" in p.stderr
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    p = subprocess.run([sys.executable, "manage.py", "check"], cwd=BASE, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "DATABASE_URL" in p.stderr


def test_security_lints_pass():
    """Bandit's checks as ruff implements them (rule set S, selected in pyproject.toml with its documented ignores)."""
    p = subprocess.run([str(BASE / ".venv" / "bin" / "ruff"), "check", "--output-format", "concise", "bankcrm", "config"],
                       cwd=BASE, capture_output=True, text=True, timeout=120)
    findings = [line for line in p.stdout.splitlines() if re.search(r": S\d{3} ", line)]
    write_figures("R13", not findings, security_lint_findings=len(findings))
    assert findings == []


# ---- Headers -----------------------------------------------------------------------------------------------------
EXPECTED_HEADERS = {
    "Content-Security-Policy": lambda v: "default-src 'self'" in v and "frame-ancestors 'none'" in v and "unsafe-eval" not in v,
    "X-Content-Type-Options": lambda v: v == "nosniff",
    "Referrer-Policy": lambda v: v in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"),
    "X-Frame-Options": lambda v: v == "DENY",
    "Cache-Control": lambda v: "no-store" in v,
    "Cross-Origin-Opener-Policy": lambda v: v == "same-origin",
}


def header_problems(response) -> list[str]:
    return [name for name, ok in EXPECTED_HEADERS.items() if name not in response or not ok(response[name])]


@pytest.mark.django_db
def test_security_headers_on_personal_data_pages(bank):
    c = login_client(bank.admin)
    pages = [reverse("core:home"), reverse("org:staff"), reverse("org:staff_detail", args=[bank.cm_a1.pk]),
             reverse("org:profile"), reverse("core:audit"), f"/api/v1/staff/{bank.cm_a1.pk}/"]
    problems = {p: header_problems(c.get(p)) for p in pages}
    problems["login page"] = header_problems(Client().get(reverse("org:login")))
    missing = sum(len(v) for v in problems.values())
    write_figures("R13", missing == 0, missing_security_headers=missing)
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.django_db
def test_hsts_on_https_with_production_values(bank, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    r = login_client(bank.cm_a1).get(reverse("core:home"), secure=True)
    assert r["Strict-Transport-Security"].startswith("max-age=31536000") and "includeSubDomains" in r["Strict-Transport-Security"]


def test_header_detector_catches_a_missing_header():
    from django.http import HttpResponse

    r = HttpResponse("x")
    r["Content-Security-Policy"] = "default-src *"
    assert {"Content-Security-Policy", "Cache-Control", "X-Frame-Options"} <= set(header_problems(r))


# ---- CSRF --------------------------------------------------------------------------------------------------------
def html_routes():
    return [r for r in all_routes() if not r.pattern.startswith(("api/", "static"))]


def csrf_sweep(bank, client: Client) -> tuple[int, list[str]]:
    problems, checked = [], 0
    seq, state = audit_seq(), db_state()
    for i, route in enumerate(html_routes()):
        url = sample_url(route, bank)
        # the middleware treats every unsafe method alike: POST everywhere, the other three on a few routes
        for method in ("post", "put", "patch", "delete") if i % 10 == 0 else ("post",):
            before = security_count(SecurityEvent.Kind.CSRF_FAILED)
            r = getattr(client, method)(url, data={} if method == "post" else "")
            checked += 1
            if r.status_code != 403 or security_count(SecurityEvent.Kind.CSRF_FAILED) != before + 1:
                problems.append(f"{method.upper()} {url} -> {r.status_code}")
    problems += [f"state changed: {t}" for t in set(state_diff(state, db_state())) - {"org.LiveSession"}]
    problems += [f"audit event: {v}" for v in verbs_since(seq)]
    return checked, problems


@pytest.mark.django_db
def test_every_unsafe_html_route_requires_a_csrf_token(bank):
    checked, problems = csrf_sweep(bank, login_client(bank.admin, Client(enforce_csrf_checks=True)))
    anon_checked, anon_problems = csrf_sweep(bank, Client(enforce_csrf_checks=True))  # login CSRF too
    total = problems + anon_problems
    write_figures("R13", not total, csrf_checks=checked + anon_checked, unsafe_routes_without_csrf=len(total))
    assert total == []


@pytest.mark.django_db
def test_csrf_sweep_detector_catches_an_exempt_view(bank, monkeypatch):
    """Broken variant: the CSRF middleware switched off (what a csrf_exempt on a view does to that view)."""
    from django.middleware.csrf import CsrfViewMiddleware

    monkeypatch.setattr(CsrfViewMiddleware, "process_view", lambda self, request, callback, args, kwargs: None)
    _checked, problems = csrf_sweep(bank, login_client(bank.admin, Client(enforce_csrf_checks=True)))
    assert len(problems) > 10


@pytest.mark.django_db
def test_csrf_token_lets_the_form_through(bank):
    """The positive side: with the token from the page, the same request works."""
    c = login_client(bank.admin, Client(enforce_csrf_checks=True))
    c.get(reverse("core:calendar"))
    token = c.cookies[settings.CSRF_COOKIE_NAME].value
    r = c.post(reverse("core:calendar"), {"op": "set", "date": "2026-10-08", "kind": "holiday", "name": "测试",
                                          "csrfmiddlewaretoken": token})
    assert r.status_code == 302


@pytest.mark.django_db
def test_api_with_session_needs_csrf_and_with_token_does_not(bank):
    from bankcrm.org import services

    c = login_client(bank.admin, Client(enforce_csrf_checks=True))
    seq = audit_seq()
    body = '{"code": "10102", "name": "甲二支行", "kind": "sub_branch", "parent": %d}' % bank.a.pk
    r = c.post("/api/v1/branches/", data=body, content_type="application/json")
    assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"]
    assert verbs_since(seq) == []
    c.get(reverse("core:home"))
    r = c.post("/api/v1/branches/", data=body, content_type="application/json",
               HTTP_X_CSRFTOKEN=c.cookies[settings.CSRF_COOKIE_NAME].value)
    assert r.status_code == 201
    # a bearer token carries no ambient authority, so no CSRF token is needed
    secret = services.token_create(actor=bank.admin, name="脚本")[1]
    r = Client(enforce_csrf_checks=True).post("/api/v1/branches/", data=body.replace("10102", "10103"),
                                              content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 201


# ---- The production options (docs/operations.md): each one keeps the deployment checks clean -------------------
def test_check_deploy_clean_with_every_production_option():
    code, output = deploy_check(REDIS_URL="redis://127.0.0.1:6379/0", BANKCRM_TASKS_BACKEND="rq",
                                DATABASE_REPLICA_URL="postgres://bankcrm_ro@replica.internal:5432/bankcrm",
                                BANKCRM_METRICS_TOKEN="scrape-token", BANKCRM_TRUSTED_PROXY="1")
    assert code == 0 and "no issues" in output, output


def _prod_settings(**env_overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "BANKCRM_", "DATABASE_", "REDIS_"))}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.prod", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
               DATABASE_URL="postgres://bankcrm@db.internal:5432/bankcrm", **env_overrides)
    script = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
              "'exempt': s.SECURE_REDIRECT_EXEMPT, 'session': s.SESSION_ENGINE, 'cache': s.CACHES['default']['BACKEND'], "
              "'auto_keys': s.BANKCRM_AUTO_KEYS, 'aliases': sorted(s.DATABASES), 'routers': s.DATABASE_ROUTERS, "
              "'log': s.LOGGING['handlers']['console']['formatter'], 'proxy': s.BANKCRM_TRUSTED_PROXY, "
              "'tasks': s.TASKS['default']['BACKEND'], 'debug': s.DEBUG, 'mw0': s.MIDDLEWARE[0]}))")
    p = subprocess.run([sys.executable, "-c", script], cwd=BASE, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return __import__("json").loads(p.stdout.strip().splitlines()[-1])


def test_production_settings_switch_on_their_options():
    plain = _prod_settings()
    assert plain["debug"] is False and plain["auto_keys"] is False and plain["log"] == "json"
    assert plain["session"] == "django.contrib.sessions.backends.db" and "locmem" in plain["cache"]
    assert plain["aliases"] == ["default"] and plain["routers"] == ["bankcrm.core.dbrouter.ReplicaRouter"]
    assert plain["proxy"] is False and plain["mw0"] == "bankcrm.core.metrics.MetricsMiddleware"
    for path in ("healthz", "readyz", "metrics"):  # probes and scrapes come over the internal network, without TLS
        assert any(re.match(p, path) for p in plain["exempt"]), path
    assert not any(re.match(p, "customers/") or re.match(p, "accounts/login/") for p in plain["exempt"])
    full = _prod_settings(REDIS_URL="redis://cache.internal:6379/1", DATABASE_REPLICA_URL="postgres://ro@replica:5432/bankcrm",
                          BANKCRM_TASKS_BACKEND="rq", BANKCRM_TRUSTED_PROXY="1")
    assert full["session"] == "django.contrib.sessions.backends.cached_db" and full["cache"].endswith("RedisCache")
    assert full["aliases"] == ["default", "replica"] and full["tasks"] == "django_tasks_rq.RQBackend"
    assert full["proxy"] is True
