"""The production stack end to end: gunicorn (config/gunicorn.conf.py, two workers) serving the production settings
(config.settings.prod_bench: prod with static files from the finders) against the test database.

Checked through real HTTP: the probes answer without TLS and without login; pages need the proxy's HTTPS header
(else 301), carry HSTS/CSP and secure cookies; /metrics adds up both workers (prometheus multiprocess mode) and is
404 without the token; every line gunicorn and Django write is JSON, the access lines carry the response's request id
and the path without its query string, and no line contains the customer's name, ID number or phone number."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from bankcrm.core.identifiers import ric_check_char
from bankcrm.customers import services as customers
from tests import backup_tools
from tests.conftest import login_client

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(settings.BASE_DIR)
TOKEN = "gunicorn-test-metrics-token-42"
NAME, MOBILE = "慕容秋水", "13700001111"
ID_NUMBER = "310101" + "19850607" + "128"
ID_NUMBER += ric_check_char(ID_NUMBER)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url() -> str:
    if connection.vendor == "postgresql":
        return backup_tools.pg_url(connection.settings_dict)
    return "sqlite:///" + str(connection.settings_dict["NAME"])


class Server:
    def __init__(self, tmp: Path) -> None:
        self.port = _free_port()
        self.log = tmp / "gunicorn.log"
        (tmp / "var" / "static").mkdir(parents=True)  # STATIC_ROOT exists, as after collectstatic
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BANKCRM_", "DATABASE_", "PYTEST"))}
        env.update(DJANGO_SETTINGS_MODULE="config.settings.prod_bench", DJANGO_SECRET_KEY=settings.SECRET_KEY,
                   DATABASE_URL=_database_url(), DJANGO_ALLOWED_HOSTS="127.0.0.1",
                   BANKCRM_KEYS_FILE=str(settings.BANKCRM_KEYS_FILE), BANKCRM_VAR_DIR=str(tmp / "var"),
                   BANKCRM_AUDIT_HEAD_DIR=str(tmp / "heads"), BANKCRM_METRICS_TOKEN=TOKEN,
                   BANKCRM_TASKS_BACKEND="", PROMETHEUS_MULTIPROC_DIR=str(tmp / "prom"),
                   GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS="2", GUNICORN_THREADS="2",
                   DB_CONN_MAX_AGE="0")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.out = self.log.open("w")
        self.proc = subprocess.Popen([str(gunicorn), "-c", "config/gunicorn.conf.py"], cwd=ROOT, env=env,
                                     stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)

    def request(self, path: str, headers: dict | None = None, method: str = "GET") -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, headers={"Host": "127.0.0.1", **(headers or {})})
        resp = conn.getresponse()
        resp.body = resp.read()  # type: ignore[attr-defined]
        conn.close()
        return resp

    def wait_ready(self, timeout: float = 90) -> None:
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                if self.request("/readyz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError("gunicorn never became ready:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.out.close()


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    try:
        srv.wait_ready()
        yield srv
    finally:
        srv.stop()


def test_production_stack_over_http(bank, server):
    person = customers.customer_register(actor=bank.cm_a1, kind="person", name=NAME, id_type="resident_id",
                                         id_number=ID_NUMBER, mobile=MOBILE)
    session = login_client(bank.cm_a1).cookies[settings.SESSION_COOKIE_NAME].value
    https = {"X-Forwarded-Proto": "https", "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"}

    # probes: plain HTTP, no login
    r = server.request("/readyz")
    assert r.status == 200 and json.loads(r.body)["checks"] == {"database": "ok", "migrations": "ok", "keys": "ok"}
    assert server.request("/healthz").status == 200
    # pages: HTTPS only (the proxy's header), with the production headers
    r = server.request(f"/customers/{person.pk}/", {"Cookie": https["Cookie"]})
    assert r.status == 301 and r.getheader("Location").startswith("https://")
    request_ids = []
    for _ in range(6):
        r = server.request(f"/customers/{person.pk}/", https)
        assert r.status == 200, r.body[:500]
        request_ids.append(r.getheader("X-Request-ID"))
    assert NAME.encode() in r.body  # the page shows the name to its manager; the logs must not
    assert r.getheader("Strict-Transport-Security").startswith("max-age=31536000")
    assert "default-src 'self'" in r.getheader("Content-Security-Policy")
    assert r.getheader("Cache-Control") == "no-store"
    for q in (NAME, MOBILE, ID_NUMBER):
        r = server.request("/customers/?q=" + quote(q), https)
        assert r.status == 200
        request_ids.append(r.getheader("X-Request-ID"))
    r = server.request("/accounts/login/", {"X-Forwarded-Proto": "https"})
    cookies = r.getheader("Set-Cookie") or ""
    assert "csrftoken" in cookies and "Secure" in cookies and "HttpOnly" in cookies

    assert server.request("/static/css/app.css", {"X-Forwarded-Proto": "https"}).status == 200

    # metrics: 404 without the token; with it, both workers' requests added up
    assert server.request("/metrics").status == 404
    r = server.request("/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert r.status == 200
    text = r.body.decode()
    from prometheus_client.parser import text_string_to_metric_families

    fams = {f.name: f for f in text_string_to_metric_families(text)}
    detail = [s for s in fams["bankcrm_http_requests"].samples
              if s.name == "bankcrm_http_requests_total" and s.labels["view"] == "customers:detail"]
    assert sum(s.value for s in detail) == 6  # six pages, whichever worker served them
    assert {s.labels["status"] for s in detail} == {"2xx"}
    redirects = [s for s in fams["bankcrm_http_requests"].samples if s.name == "bankcrm_http_requests_total"
                 and s.labels["view"] == "unmatched" and s.labels["status"] == "3xx"]
    assert sum(s.value for s in redirects) == 1  # the HTTPS redirect happens before routing
    static = [s for s in fams["bankcrm_http_requests"].samples if s.name == "bankcrm_http_requests_total"
              and s.labels["view"] == "static"]
    assert sum(s.value for s in static) == 1

    server.stop()
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    assert [line for line in lines if not line.startswith("{")] == []
    parsed = [json.loads(line) for line in lines if line.startswith("{")]
    access = [p for p in parsed if p["logger"] == "gunicorn.access"]
    assert {p["request_id"] for p in access} >= set(request_ids)
    assert all("?" not in p["path"] for p in access)
    pids_seen = {p["pid"] for p in access}
    assert len(pids_seen) == 2, "both workers served requests"
    text_all = "\n".join(lines)
    for leak in (NAME, quote(NAME), MOBILE, ID_NUMBER):
        assert leak not in text_all
