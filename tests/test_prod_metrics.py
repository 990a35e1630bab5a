"""`/metrics` (bankcrm.core.metrics): Prometheus text format that parses, protected by a token or an IP allow-list
(404 otherwise), labels by view name only (no ids, no paths, no personal data), SQL statements per request, and the
scrape-time figures (job backlog, outbox backlog and lag, audit chain head)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bankcrm.core.identifiers import ric_check_char
from bankcrm.customers import services as customers
from tests.conftest import login_client

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def token(settings):
    settings.BANKCRM_METRICS_TOKEN = TOKEN
    settings.BANKCRM_METRICS_ALLOW_IPS = []
    return TOKEN


@pytest.fixture
def person(bank):
    body = "110105" + "19800101" + "123"
    return customers.customer_register(actor=bank.cm_a1, kind="person", name="欧阳明月", id_type="resident_id",
                                       id_number=body + ric_check_char(body), mobile="13912345678")


def scrape(**extra) -> tuple[int, str, dict]:
    r = Client().get(reverse("core:metrics"), **extra)
    text = r.content.decode() if r.status_code == 200 else ""
    families = {f.name: f for f in text_string_to_metric_families(text)} if text else {}
    return r.status_code, text, families


def samples(families: dict, name: str, suffix: str = "", **labels) -> list:
    fam = families.get(name)
    return [s for s in (fam.samples if fam else []) if s.name == name + suffix
            and all(s.labels.get(k) == v for k, v in labels.items())]


def test_not_there_for_anyone_without_the_token(bank, token):
    assert Client().get(reverse("core:metrics")).status_code == 404
    assert login_client(bank.admin).get(reverse("core:metrics")).status_code == 404  # staff are not scrapers
    assert scrape(HTTP_AUTHORIZATION="Bearer wrong-token")[0] == 404
    assert scrape(HTTP_AUTHORIZATION=TOKEN)[0] == 404  # the scheme is part of it
    csrf = Client(enforce_csrf_checks=True)
    assert csrf.post(reverse("core:metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403  # CSRF first
    assert Client().post(reverse("core:metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404  # GET only


def test_disabled_when_neither_token_nor_allow_list_is_configured(bank, settings):
    settings.BANKCRM_METRICS_TOKEN = ""
    settings.BANKCRM_METRICS_ALLOW_IPS = []
    assert scrape(HTTP_AUTHORIZATION="Bearer ")[0] == 404
    assert scrape()[0] == 404


def test_ip_allow_list(bank, settings):
    settings.BANKCRM_METRICS_TOKEN = ""
    settings.BANKCRM_METRICS_ALLOW_IPS = ["10.20.0.0/16", "192.0.2.7"]
    assert scrape(REMOTE_ADDR="10.20.3.4")[0] == 200
    assert scrape(REMOTE_ADDR="192.0.2.7")[0] == 200
    assert scrape(REMOTE_ADDR="10.21.0.1")[0] == 404
    # X-Forwarded-For is believed only behind a trusted proxy
    settings.BANKCRM_TRUSTED_PROXY = False
    assert scrape(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.20.3.4")[0] == 404
    settings.BANKCRM_TRUSTED_PROXY = True
    assert scrape(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.20.3.4")[0] == 200


def test_format_parses_and_labels_are_view_names_without_ids(bank, token, person):
    c = login_client(bank.cm_a1)
    assert c.get(reverse("customers:detail", args=[person.pk])).status_code == 200
    assert c.get(reverse("customers:list"), {"q": "欧阳明月"}).status_code == 200
    assert c.get(f"/no-such-page/{person.pk}/13912345678/").status_code == 404
    status, text, families = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 200
    for name in ("bankcrm_http_requests", "bankcrm_http_request_duration_seconds", "bankcrm_http_request_db_queries",
                 "bankcrm_jobs_backlog", "bankcrm_outbox_backlog", "bankcrm_outbox_lag_seconds", "bankcrm_audit_head_seq",
                 "bankcrm_metrics_collect_errors"):
        assert name in families, name
    assert samples(families, "bankcrm_http_requests", "_total", view="customers:detail", method="GET", status="2xx")
    assert samples(families, "bankcrm_http_requests", "_total", view="unmatched", status="4xx")
    assert samples(families, "bankcrm_http_request_duration_seconds", "_count", view="customers:list")
    label_values = {v for n, f in families.items() if n.startswith("bankcrm_") for s in f.samples
                    for k, v in s.labels.items() if k != "le"}
    assert not [v for v in label_values if re.fullmatch(r"\d{2,}", v)], "an id in a label"
    assert not [v for v in label_values if "/" in v], "a path in a label"
    for leak in ("欧阳明月", "13912345678", person.id_number, str(person.customer_no)):
        assert leak not in text
    assert all(f.samples[0].value == 0 for n, f in families.items() if n == "bankcrm_metrics_collect_errors")


def test_query_count_per_request_matches_what_the_request_ran(bank, token, person):
    c = login_client(bank.cm_a1)
    url = reverse("customers:detail", args=[person.pk])
    c.get(url)  # warm caches (parameters, policy) so the measured request is a typical one
    before = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[2]
    ran = []

    def record(execute, sql, params, many, context):
        ran.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        c.get(url)
    after = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")[2]

    def total(fams):
        return sum(s.value for s in samples(fams, "bankcrm_http_request_db_queries", "_sum", view="customers:detail"))

    assert total(after) - total(before) == len(ran) > 0


def test_scrape_time_figures(bank, token, settings, tmp_path):
    from django_tasks_db.models import DBTaskResult

    from bankcrm.core import audit, outbox
    from bankcrm.core.models import AuditHead

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.BANKCRM_AUDIT_HEAD_DIR = tmp_path / "heads"
    for _ in range(3):
        DBTaskResult.objects.create(args_kwargs={"args": ["x"], "kwargs": {}}, task_path="bankcrm.core.tasks.run_periodic",
                                    backend_name="default", queue_name="default", run_after=timezone.now() - timedelta(seconds=1))
    consumer = sorted(outbox.CONSUMERS)[0]
    topic = outbox.CONSUMERS[consumer][0][0]
    _s, _t, before = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    outbox.publish(topic, {"test": 1}, at=timezone.now() - timedelta(seconds=90))
    audit.export_head()
    _s, _text, fams = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert samples(fams, "bankcrm_jobs_backlog", queue="default", state="ready")[0].value == 3
    backlog = samples(fams, "bankcrm_outbox_backlog", consumer=consumer)[0].value
    assert backlog == samples(before, "bankcrm_outbox_backlog", consumer=consumer)[0].value + 1
    assert samples(fams, "bankcrm_outbox_lag_seconds", consumer=consumer)[0].value >= 89
    assert samples(fams, "bankcrm_audit_head_seq")[0].value == AuditHead.objects.get(id=1).seq
    assert 0 <= samples(fams, "bankcrm_audit_head_export_age_seconds")[0].value < 60


def test_a_failing_figure_does_not_fail_the_scrape(bank, token, monkeypatch):
    from bankcrm.core import metrics

    def broken():
        raise RuntimeError("outbox table locked")

    monkeypatch.setattr(metrics, "_outbox", broken)
    status, text, fams = scrape(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert status == 200
    assert samples(fams, "bankcrm_metrics_collect_errors", part="outbox")[0].value == 1
    assert samples(fams, "bankcrm_metrics_collect_errors", part="audit")[0].value == 0
    assert "locked" not in text
