"""The production settings as `make bench` (benchmarks/bench_http.py) and tests/test_prod_gunicorn.py run them on
this machine: config.settings.prod unchanged except

- static files are served from the finders instead of a collected, compressed manifest (`collectstatic` with
  compression takes minutes here; the measured pages only *name* static files, they are not fetched);
- the URL conf adds `/bench/hello`, the minimal Django view P5 compares the customer-360 page with.

Needs the same environment as production (DJANGO_SECRET_KEY, DATABASE_URL, …).
"""

from .prod import *  # noqa: F403

ROOT_URLCONF = "benchmarks.http_urls"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False
