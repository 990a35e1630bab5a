"""Test settings: fast hashing, in-memory cache, keys generated per run under a temporary var/."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdef"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
_TMP = Path(tempfile.mkdtemp(prefix="bankcrm-test-"))
BANKCRM_KEYS_FILE = _TMP / "keys.json"
BANKCRM_AUDIT_HEAD_DIR = _TMP / "audit-heads"
MEDIA_ROOT = _TMP / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if os.environ.get("BANKCRM_TASKS_BACKEND") != "rq":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
if not os.environ.get("DATABASE_URL"):
    DATABASES["default"]["NAME"] = str(_TMP / "test.sqlite3")  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(_TMP / "test.sqlite3")}  # noqa: F405
STATIC_ROOT = _TMP / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
