"""Local development and `make demo`: SQLite under var/ unless DATABASE_URL is set."""

from .base import *  # noqa: F403
from .base import SECRET_KEY, VAR_DIR

DEBUG = True
_secret_file = VAR_DIR / "secret_key.txt"
if not SECRET_KEY:
    # `make setup` writes a random key here; the fallback only lets `manage.py` run before setup.
    SECRET_KEY = _secret_file.read_text().strip() if _secret_file.exists() else "dev-only-not-secret-run-make-setup"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
