"""gunicorn for production: `gunicorn -c config/gunicorn.conf.py config.wsgi` (docs/operations.md "Processes").

Every value comes from the environment with a sane default:

| variable | default | meaning |
|---|---|---|
| GUNICORN_BIND | 0.0.0.0:8000 | listen address (behind the TLS-terminating proxy) |
| GUNICORN_WORKERS | 2 × CPUs + 1 | worker processes |
| GUNICORN_THREADS | 4 | threads per worker (gthread: keep-alive, and a request waiting on the database does not block the worker) |
| GUNICORN_WORKER_CLASS | gthread | or sync |
| GUNICORN_TIMEOUT | 30 | seconds before a silent worker is killed and replaced |
| GUNICORN_MAX_REQUESTS | 5000 | recycle a worker after this many requests (± 10 % jitter) |
| GUNICORN_FORWARDED_ALLOW_IPS | 127.0.0.1 | proxies whose X-Forwarded-* headers are believed |
| GUNICORN_ACCESS_LOG | - | access log target (stdout); "off" disables it |
| PROMETHEUS_MULTIPROC_DIR | var/prometheus | where the workers leave their metrics for /metrics (emptied at start) |

Logs are JSON lines. The access log has the method, the path **without the query string** (search boxes put names
and ID numbers there), the status, the duration, the size and the request id the application gave the response
(X-Request-ID): never the query string, the referrer, the user agent or any header with a credential.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import time
from pathlib import Path

from gunicorn import glogging

_ROOT = Path(__file__).resolve().parent.parent


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _env_int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = _env_int("GUNICORN_THREADS", 4)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max(1, max_requests // 10)
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (heartbeat files, not data)
wsgi_app = "config.wsgi:application"
chdir = str(_ROOT)
_access = os.environ.get("GUNICORN_ACCESS_LOG", "-")
accesslog = None if _access == "off" else _access
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "bankcrm"

# config/wsgi.py would fall back to the development settings (DEBUG on): a production server never should.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.prod")
# prometheus_client multiprocess mode: set before any worker imports prometheus_client.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_ROOT / "var" / "prometheus"))


def on_starting(server) -> None:
    """Start every run with an empty metrics directory (files of dead processes from a previous run would count)."""
    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


class _JsonErrors(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(record.created)), "level": record.levelname,
                "logger": record.name, "msg": record.getMessage(), "pid": record.process}
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class JsonLogger(glogging.Logger):
    """gunicorn's own log and the access log as JSON lines (the application's log is JSON through Django's LOGGING)."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(_JsonErrors())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        request_id = ""
        for name, value in resp.headers:
            if name.lower() == "x-request-id":
                request_id = value
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", "")[:300],  # never QUERY_STRING
            "status": int(status) if str(status).isdigit() else status,
            "ms": round(request_time.total_seconds() * 1000, 1),
            "bytes": getattr(resp, "sent", None),
            "request_id": request_id,
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(line, ensure_ascii=False))
        except Exception:
            self.exception("access log failed")


logger_class = JsonLogger
