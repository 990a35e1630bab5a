"""Readiness probe `/readyz` (bankcrm.core.probes): 200 when every check passes; 503 naming each failed check;
no login, no personal data, no error text."""

from __future__ import annotations

import json

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from bankcrm.core import probes
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_probe_state():
    probes._migrations_applied = False
    yield
    probes._migrations_applied = False


def _get(client: Client | None = None):
    r = (client or Client()).get(reverse("core:readyz"))
    return r.status_code, json.loads(r.content)


def test_ready_when_everything_is_there(bank):
    status, body = _get()
    assert status == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "migrations": "ok", "keys": "ok"}}


def test_needs_no_login_and_reveals_nothing(bank):
    status, body = _get(login_client(bank.cm_a1))
    assert status == 200
    text = json.dumps(body, ensure_ascii=False)
    for secret in (connection.settings_dict["NAME"], str(connection.settings_dict.get("HOST") or "127.0.0.1:5432")):
        assert str(secret) not in text


def test_database_down_is_503(bank, monkeypatch):
    def down(alias):
        raise connections[alias].Database.OperationalError("could not connect to server: host db.internal:5432")

    monkeypatch.setattr(probes, "_select_one", down)
    status, body = _get()
    assert status == 503 and body["status"] == "error" and body["checks"]["database"] == "error"
    assert "db.internal" not in json.dumps(body)
    assert body["checks"]["keys"] == "ok"  # the other checks still report


def test_unapplied_migration_is_503(bank, settings):
    from django.db.migrations.recorder import MigrationRecorder

    settings.MIGRATION_MODULES = {}  # the project's real migrations (the suite's databases are built from the models)
    assert probes.unapplied_migrations() == []
    MigrationRecorder.Migration.objects.filter(app="core").order_by("-id").first().delete()  # rolled back after
    status, body = _get()
    assert status == 503 and body["checks"]["migrations"] == "unapplied"


def test_applied_migrations_are_checked_once_per_process(bank, django_assert_max_num_queries):
    _get()
    assert probes._migrations_applied
    with django_assert_max_num_queries(1):  # SELECT 1 only: a probe every few seconds must be cheap
        status, _body = _get()
    assert status == 200


def test_missing_keys_file_is_503(bank, settings, tmp_path):
    settings.BANKCRM_KEYS_FILE = tmp_path / "nowhere" / "keys.json"
    settings.BANKCRM_AUTO_KEYS = False
    status, body = _get()
    assert status == 503 and body["checks"]["keys"] == "missing"
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "keys.json").write_text("{not json")  # present but unreadable
    status, body = _get()
    assert status == 503 and body["checks"]["keys"] == "error"


def test_shared_cache_checked_when_configured(bank, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1
    status, body = _get()
    assert status == 503 and body["checks"]["cache"] == "error"


def test_shared_cache_ok_when_redis_answers(bank, settings):
    from tests.test_prod_redis import redis_up

    if not redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379 (the CI script starts it)")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/0", "KEY_PREFIX": "bankcrm-test-readyz"}}
    status, body = _get()
    assert status == 200 and body["checks"]["cache"] == "ok"


def test_rq_queue_checked_when_configured(bank, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": "redis://127.0.0.1:1/0"}}
    status, body = _get()
    assert status == 503 and body["checks"]["queue"] == "error"


def test_replica_checked_when_configured(bank, monkeypatch):
    monkeypatch.setitem(connections.settings, "replica", {**connections["default"].settings_dict})
    calls = []
    monkeypatch.setattr(probes, "_select_one", lambda alias: calls.append(alias))
    status, body = _get()
    assert status == 200 and body["checks"]["replica"] == "ok" and calls == ["default", "replica"]

    def replica_down(alias):
        if alias == "replica":
            raise RuntimeError("replica lagging / unreachable")

    monkeypatch.setattr(probes, "_select_one", replica_down)
    status, body = _get()
    assert status == 503 and body["checks"] == {**body["checks"], "database": "ok", "replica": "error"}
