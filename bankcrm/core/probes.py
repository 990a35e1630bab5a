"""Readiness probe: may this process take traffic? (`/healthz` stays the liveness probe.)

`GET /readyz` answers 200 when every check passes and 503 naming the checks that failed. It needs no login, reads no
personal data and never shows an error message (they can carry host names): only ``ok`` or a short state per check.
Checks: the database answers (and the replica, when one is configured); no migration is left unapplied (once seen
applied, not checked again by this process: code and schema do not drift apart while it runs); the keys file is
there and loads; the shared cache answers (when it is not the in-process one); the Redis job queue answers (when
the RQ backend is configured).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)
LOCAL_CACHES = ("django.core.cache.backends.locmem.", "django.core.cache.backends.dummy.")
_migrations_applied = False


def _select_one(alias: str) -> None:
    with connections[alias].cursor() as cur:
        cur.execute("SELECT 1")


def check_database() -> str:
    _select_one("default")
    return "ok"


def check_replica() -> str:
    _select_one("replica")
    return "ok"


def unapplied_migrations() -> list[str]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections["default"])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def check_migrations() -> str:
    global _migrations_applied
    if _migrations_applied:
        return "ok"
    if unapplied_migrations():
        return "unapplied"
    _migrations_applied = True
    return "ok"


def check_keys() -> str:
    from . import crypto

    if not Path(settings.BANKCRM_KEYS_FILE).is_file():
        return "missing"
    crypto.keyring()
    return "ok"


def check_cache() -> str:
    from django.core.cache import cache

    token = secrets.token_hex(8)
    key = f"bankcrm:readyz:{token}"  # one key per probe: probes of several workers never overwrite each other
    cache.set(key, token, 10)
    found = cache.get(key)
    cache.delete(key)
    return "ok" if found == token else "error"


def check_queue() -> str:
    import redis

    for cfg in settings.RQ_QUEUES.values():
        url = cfg.get("URL") or f"redis://{cfg.get('HOST', 'localhost')}:{cfg.get('PORT', 6379)}/{cfg.get('DB', 0)}"
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    return "ok"


def checks() -> dict[str, Callable[[], str]]:
    """The checks that apply to this configuration, in the order they run."""
    out: dict[str, Callable[[], str]] = {"database": check_database}
    if "replica" in connections.settings:
        out["replica"] = check_replica
    out["migrations"] = check_migrations
    out["keys"] = check_keys
    if not settings.CACHES["default"]["BACKEND"].startswith(LOCAL_CACHES):
        out["cache"] = check_cache
    if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq"):
        out["queue"] = check_queue
    return out


def readiness() -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    for name, check in checks().items():
        try:
            results[name] = check()
        except Exception as exc:  # any failure means "not ready"; the class name goes to the log, not the answer
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = "error"
    return all(v == "ok" for v in results.values()), results


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness for the load balancer / orchestrator: 200 {"status": "ok", "checks": {...}} or 503."""
    ok, results = readiness()
    return JsonResponse({"status": "ok" if ok else "error", "checks": results}, status=200 if ok else 503)
