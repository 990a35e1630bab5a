"""Benchmarks: their own database (never the demo's), keys under var/bench/."""

import os

from .base import *  # noqa: F403
from .base import VAR_DIR

DEBUG = False
SECRET_KEY = "bench-only-secret-key-0123456789abcdefghijklmnop"
BENCH_DIR = VAR_DIR / "bench"
BENCH_DIR.mkdir(parents=True, exist_ok=True)
BANKCRM_KEYS_FILE = BENCH_DIR / "keys.json"
BANKCRM_AUDIT_HEAD_DIR = BENCH_DIR / "audit-heads"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if os.environ.get("BENCH_DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["BENCH_DATABASE_URL"])}
else:
    DATABASES["default"]["NAME"] = str(BENCH_DIR / "bench.sqlite3")
LOGGING = {"version": 1, "disable_existing_loggers": False}
