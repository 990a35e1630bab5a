"""Production: PostgreSQL required, secrets from the environment, strict transport security, JSON logs.

Everything optional is switched on by its environment variable (docs/operations.md lists them): a read replica
(`DATABASE_REPLICA_URL`, see base.py and bankcrm.core.dbrouter), Redis for cache and sessions (`REDIS_URL`), the
Redis/RQ job queue (`BANKCRM_TASKS_BACKEND=rq`), the metrics endpoint (`BANKCRM_METRICS_TOKEN` /
`BANKCRM_METRICS_ALLOW_IPS`).
"""

import os

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
# Rotation without logging everyone out: the previous key stays valid for signatures until it is removed.
SECRET_KEY_FALLBACKS = [k for k in os.environ.get("DJANGO_SECRET_KEY_FALLBACKS", "").split(",") if k]
if not os.environ.get("DATABASE_URL"):
    raise RuntimeError("生产环境必须设置 DATABASE_URL (PostgreSQL) / DATABASE_URL is required in production")
SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SECURE_SSL_REDIRECT", "1") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Probes and the metrics scraper talk to the app server directly over the internal network (no TLS proxy).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o]
BANKCRM_TRUSTED_PROXY = os.environ.get("BANKCRM_TRUSTED_PROXY") == "1"
BANKCRM_METRICS_TOKEN = os.environ.get("BANKCRM_METRICS_TOKEN", "")
BANKCRM_METRICS_ALLOW_IPS = [n.strip() for n in os.environ.get("BANKCRM_METRICS_ALLOW_IPS", "").split(",") if n.strip()]
# A missing keys file is an outage, never a reason to make new keys (they would not decrypt a single stored value).
BANKCRM_AUTO_KEYS = False
LOGGING["handlers"]["console"]["formatter"] = "json"  # noqa: F405
if os.environ.get("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["REDIS_URL"],
                          "KEY_PREFIX": os.environ.get("BANKCRM_CACHE_PREFIX", "bankcrm"), "TIMEOUT": 300}}
    # Sessions read from Redis and written through to the database, so a Redis restart logs nobody out. The live-
    # session registry (org.LiveSession) still decides whether a session may be used, whatever the engine.
    SESSION_ENGINE = os.environ.get("SESSION_ENGINE", "django.contrib.sessions.backends.cached_db")
