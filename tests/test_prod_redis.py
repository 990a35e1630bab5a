"""Redis in production: the cache and the sessions (cached_db) on Redis, with the live-session registry still
ending sessions at once (logout elsewhere, deactivation). Skipped when no Redis listens on 127.0.0.1:6379."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from tests.conftest import login_client

REDIS = "redis://127.0.0.1:6379/0"


def redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except Exception:
        return False


pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(not redis_up(), reason="Redis is not running on 127.0.0.1:6379 (the CI script starts it)")]


@pytest.fixture
def redis_sessions(settings):
    """The production configuration with REDIS_URL set (config/settings/prod.py), under a key prefix of its own."""
    prefix = f"bankcrm-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS,
                                   "KEY_PREFIX": prefix}}
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    yield prefix
    import redis

    r = redis.Redis.from_url(REDIS)
    for key in r.scan_iter(f"{prefix}:*"):
        r.delete(key)


def _session_keys_in_redis(prefix: str) -> list[bytes]:
    import redis

    return [k for k in redis.Redis.from_url(REDIS).scan_iter(f"{prefix}:*") if b"django.contrib.sessions" in k]


def test_sessions_live_in_redis_and_in_the_database(bank, redis_sessions):
    from django.contrib.sessions.models import Session

    client = login_client(bank.cm_a1)
    r = client.get(reverse("core:home"))
    assert r.status_code == 200
    key = client.session.session_key
    assert _session_keys_in_redis(redis_sessions), "the session is not cached in Redis"
    assert Session.objects.filter(session_key=key).exists(), "cached_db writes through to the database"


def test_deactivation_ends_a_redis_cached_session_at_once(bank, redis_sessions):
    from bankcrm.org import services

    client = login_client(bank.cm_b1)
    assert client.get(reverse("core:home")).status_code == 200
    services.staff_deactivate(actor=bank.admin, staff_id=bank.cm_b1.pk, reason="离职")
    r = client.get(reverse("core:home"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("org:login"))


def test_session_ended_in_the_registry_is_refused_although_redis_still_has_it(bank, redis_sessions):
    from bankcrm.org.models import LiveSession

    client = login_client(bank.supervisor_a)
    assert client.get(reverse("core:home")).status_code == 200
    LiveSession.objects.filter(staff=bank.supervisor_a).update(ended_at="2026-01-01T00:00:00Z", end_reason="logout")
    assert _session_keys_in_redis(redis_sessions)
    r = client.get(reverse("core:home"))
    assert r.status_code == 302 and r["Location"].startswith(reverse("org:login"))


def test_cache_round_trip_through_redis(redis_sessions):
    from django.core.cache import cache

    cache.set("probe", {"n": 1}, 30)
    assert cache.get("probe") == {"n": 1}
    import redis

    assert any(k.endswith(b":probe") for k in redis.Redis.from_url(REDIS).scan_iter(f"{redis_sessions}:*"))
