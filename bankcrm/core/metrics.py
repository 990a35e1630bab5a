"""Prometheus metrics: request counts and latency by view, SQL statements per request, and, read at scrape time,
the job queue backlog, the outbox backlog and lag, and the audit chain head (docs/operations.md "Metrics").

Labels are view names (``customers:detail``), methods and status classes (``2xx``): never a URL, an id, a user or
anything a customer typed. Under gunicorn every worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set
(config/gunicorn.conf.py sets it) the workers write their samples to files there and a scrape of any worker sums
them all (prometheus_client's multiprocess mode); without it (runserver, tests) a scrape shows that process only.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

from django.conf import settings
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
REQUESTS = Counter("bankcrm_http_requests", "HTTP requests by view name, method and status class",
                   ["view", "method", "status"])
LATENCY = Histogram("bankcrm_http_request_duration_seconds", "Time from the first middleware to the response, by view",
                    ["view", "method"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
QUERIES = Histogram("bankcrm_http_request_db_queries", "SQL statements executed while serving one request, by view",
                    ["view"], buckets=(0, 1, 2, 5, 10, 20, 30, 50, 100, 200, 500))


def view_label(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        if request.path.startswith(settings.STATIC_URL):
            return "static"  # served by WhiteNoise before routing
        return "unmatched"  # 404s of unknown URLs, HTTPS redirects before routing: one label, not one per URL
    return match.view_name or "unnamed"


class MetricsMiddleware:
    """Times every request and counts the SQL statements it issued on every database alias."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = [0]

        def counter(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        start = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(counter))
            response = self.get_response(request)
        elapsed = time.perf_counter() - start
        view = view_label(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, f"{response.status_code // 100}xx").inc()
        LATENCY.labels(view, method).observe(elapsed)
        QUERIES.labels(view).observe(count[0])
        return response


# ---- scrape-time figures ---------------------------------------------------------------------------------------------
class AppCollector:
    """Figures read from the database (or Redis) when Prometheus scrapes, so every worker reports the same values."""

    def describe(self) -> list:
        return []  # nothing is read when the collector is registered

    def collect(self) -> Iterator[GaugeMetricFamily]:
        errors = GaugeMetricFamily("bankcrm_metrics_collect_errors", "1 when a scrape-time figure could not be read",
                                   labels=["part"])
        for part, fn in (("jobs", _jobs), ("outbox", _outbox), ("audit", _audit)):
            try:
                yield from fn()
                errors.add_metric([part], 0)
            except Exception as exc:  # a metrics scrape must never fail because one figure is missing
                log.warning("metrics: %s figures unavailable (%s)", part, type(exc).__name__)
                errors.add_metric([part], 1)
        yield errors


def _jobs() -> Iterator[GaugeMetricFamily]:
    backlog = GaugeMetricFamily("bankcrm_jobs_backlog", "Background jobs waiting or running, by queue and state",
                                labels=["queue", "state"])
    backend = settings.TASKS["default"]["BACKEND"]
    if backend.startswith("django_tasks_rq"):
        import django_rq
        from rq.registry import FailedJobRegistry, StartedJobRegistry

        for name in settings.RQ_QUEUES:
            queue = django_rq.get_queue(name)
            backlog.add_metric([name, "ready"], queue.count)
            backlog.add_metric([name, "running"], StartedJobRegistry(queue=queue).count)
            backlog.add_metric([name, "failed"], FailedJobRegistry(queue=queue).count)
    elif backend.startswith("django_tasks_db"):
        from django.db.models import Count
        from django_tasks_db.models import DBTaskResult

        ready = dict(DBTaskResult.objects.ready().order_by().values_list("queue_name").annotate(n=Count("id")))
        running = dict(DBTaskResult.objects.running().order_by().values_list("queue_name").annotate(n=Count("id")))
        for name in sorted(set(ready) | set(running) | {"default"}):
            backlog.add_metric([name, "ready"], ready.get(name, 0))
            backlog.add_metric([name, "running"], running.get(name, 0))
    yield backlog


def _outbox() -> Iterator[GaugeMetricFamily]:
    from . import outbox
    from .models import OutboxCursor, OutboxDelivery, OutboxEvent

    backlog = GaugeMetricFamily("bankcrm_outbox_backlog", "Committed events a consumer has not handled yet",
                                labels=["consumer"])
    lag = GaugeMetricFamily("bankcrm_outbox_lag_seconds", "Age of the oldest event a consumer has not handled yet",
                            labels=["consumer"])
    for name, (topics, _handler) in sorted(outbox.CONSUMERS.items()):
        below = OutboxCursor.objects.filter(consumer=name).values_list("below", flat=True).first() or 0
        delivered = OutboxDelivery.objects.filter(consumer=name, event_id__gt=below).values("event_id")
        backlog.add_metric([name], OutboxEvent.objects.filter(id__gt=below, topic__in=topics)
                           .exclude(id__in=delivered).count())
        lag.add_metric([name], outbox.lag_seconds(name))
    yield backlog
    yield lag


def _audit() -> Iterator[GaugeMetricFamily]:
    from django.utils import timezone

    from . import audit
    from .models import AuditEvent, AuditHead

    head = AuditHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    yield GaugeMetricFamily("bankcrm_audit_head_seq", "Sequence number of the audit chain head", value=head)
    last = AuditEvent.objects.order_by("-seq").values_list("occurred_at", flat=True).first()
    if last is not None:
        yield GaugeMetricFamily("bankcrm_audit_last_event_age_seconds", "Seconds since the last audit event",
                                value=(timezone.now() - last).total_seconds())
    exported = audit.exported_heads()
    if exported:
        from datetime import datetime

        newest = max(datetime.fromisoformat(h["exported_at"]) for h in exported)
        yield GaugeMetricFamily("bankcrm_audit_head_export_age_seconds",
                                "Seconds since the newest signed audit head was exported (core.export_audit_head, daily)",
                                value=(timezone.now() - newest).total_seconds())
        yield GaugeMetricFamily("bankcrm_audit_head_exported_seq", "Sequence number in the newest exported head",
                                value=max(h["seq"] for h in exported))


_APP_REGISTRY = CollectorRegistry(auto_describe=False)
_APP_REGISTRY.register(AppCollector())


def exposition() -> bytes:
    """Everything in the text exposition format: the request metrics of every worker, then the scrape-time figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(_APP_REGISTRY)


# ---- the endpoint ----------------------------------------------------------------------------------------------------
def _setting(name: str, default):
    return getattr(settings, name, default)


def authorized(request: HttpRequest) -> bool:
    """A bearer token (BANKCRM_METRICS_TOKEN) or a client address in BANKCRM_METRICS_ALLOW_IPS (CIDRs). With neither
    configured the endpoint does not exist."""
    from .middleware import client_ip

    token = _setting("BANKCRM_METRICS_TOKEN", os.environ.get("BANKCRM_METRICS_TOKEN", ""))
    given = request.META.get("HTTP_AUTHORIZATION", "")
    if token and given.startswith("Bearer ") and hmac.compare_digest(given[7:].encode(), token.encode()):
        return True
    allowed = _setting("BANKCRM_METRICS_ALLOW_IPS",
                       [n for n in os.environ.get("BANKCRM_METRICS_ALLOW_IPS", "").split(",") if n.strip()])
    if allowed:
        try:
            ip = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(net, strict=False) for net in allowed)
    return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics for Prometheus. Unauthorised callers get the ordinary 404: the endpoint does not advertise itself."""
    if request.method not in ("GET", "HEAD") or not authorized(request):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
