"""Partner events and their webhook deliveries.

``events_record`` turns facts into ``PartnerEvent`` rows (one per partner and source fact, a unique constraint makes
a replay harmless) and queues one ``WebhookDelivery`` per active endpoint subscribed to the type; it runs inside the
outbox consumer's transaction, so a fact yields its deliveries exactly once. ``dispatch_due`` (a job every minute)
sends what is due, each delivery claimed by a conditional update so two workers never send it at the same time;
``attempt`` sends one: a signed POST with a short timeout, no redirects followed. Failures are retried with
exponential backoff (``partners.webhook_retry_first`` doubling up to ``partners.webhook_retry_cap``) until
``partners.webhook_max_attempts``, then the delivery is ``dead`` until someone presses "retry now".

The HTTP request is made outside any database transaction.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, params
from bankcrm.core.errors import RuleViolation

from . import partner_rules as rules
from . import partner_selectors as sel
from .models import Partner, PartnerEvent, WebhookDelivery, WebhookEndpoint
from .partner_services import allow_loopback_http, secrets_in_force

log = logging.getLogger(__name__)
D = WebhookDelivery.Status
LEASE = timedelta(minutes=2)  # a claimed delivery is not picked again meanwhile; a dead worker's claim lapses
USER_AGENT = "bankcrm-webhooks/1.0"


def _now() -> datetime:
    return timezone.now()


def envelope(event: PartnerEvent) -> bytes:
    """The body sent for an event, byte for byte the same on every attempt (its SHA-256 is the event's digest)."""
    return json.dumps({"id": event.event_id, "type": event.type, "created_at": event.occurred_at.astimezone(UTC).isoformat(),
                       "data": event.payload}, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# ---- Recording events ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fact:
    """One event for one partner, before it is stored."""

    partner: Partner
    type: str
    payload: dict[str, Any]
    source: str
    occurred_at: datetime


def events_record(facts: list[Fact], *, now: datetime | None = None, only_endpoint: WebhookEndpoint | None = None
                  ) -> list[PartnerEvent]:
    """Store the events (skipping any already made from the same source for the same partner) and queue their
    deliveries. ``only_endpoint``: a test event for that one endpoint, whatever it subscribes to."""
    if not facts:
        return []
    now = now or _now()
    rows = []
    for f in facts:
        ev = PartnerEvent(partner=f.partner, event_id=f"evt_{uuid.uuid4().hex}", type=f.type, payload=f.payload,
                          source=f.source, occurred_at=f.occurred_at, created_at=now, digest="")
        ev.digest = rules.body_digest(envelope(ev))
        rows.append(ev)
    PartnerEvent.objects.bulk_create(rows, ignore_conflicts=True)
    made = list(PartnerEvent.objects.filter(event_id__in=[r.event_id for r in rows]).select_related("partner"))
    if only_endpoint is not None:
        targets = {only_endpoint.partner_id: [only_endpoint]}
    else:
        targets = {}
        for ep in WebhookEndpoint.objects.filter(partner_id__in={e.partner_id for e in made}, active=True):
            targets.setdefault(ep.partner_id, []).append(ep)
    deliveries = []
    for ev in made:
        for ep in targets.get(ev.partner_id, []):
            if only_endpoint is None and (ev.type not in ep.events or ev.type not in ev.partner.allowed_events):
                continue
            deliveries.append(WebhookDelivery(endpoint=ep, event=ev, delivery_id=f"dlv_{uuid.uuid4().hex}",
                                              payload_digest=ev.digest, status=D.PENDING, next_attempt_at=now,
                                              created_at=now))
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    return made


def endpoint_test(*, actor: Any, endpoint_id: Any) -> WebhookDelivery:
    """Queue a ``test.ping`` event for one endpoint (sent at once by the caller after commit, see ``attempt``)."""
    access.require(actor, "partners.manage")
    now = _now()
    with transaction.atomic():
        ep = sel.endpoint_get(actor, endpoint_id, for_update=True)
        if not ep.active:
            raise RuleViolation("endpoint_inactive", _("推送地址已停用，请先启用"))
        if ep.partner.status != Partner.Status.ACTIVE:
            raise RuleViolation("partner_suspended", _("合作机构已暂停，不能推送"))
        fact = Fact(partner=ep.partner, type=rules.TEST_PING, source=f"test:{uuid.uuid4().hex}", occurred_at=now,
                    payload={"message": "bankcrm webhook test", "endpoint": ep.pk, "partner": ep.partner.code})
        (event,) = events_record([fact], now=now, only_endpoint=ep)
        d = WebhookDelivery.objects.get(event=event, endpoint=ep)
        audit.record(actor=actor, verb="partners.endpoint_tested", target=ep, target_repr=ep.audit_repr(),
                     after={"event": event.event_id, "delivery": d.delivery_id})
    return d


def delivery_retry(*, actor: Any, delivery_id: Any) -> WebhookDelivery:
    """Make a failed or abandoned delivery due now (one more attempt, sent by the caller after commit). The attempt
    count goes on, so a dead delivery that fails again stays dead."""
    access.require(actor, "partners.manage")
    now = _now()
    with transaction.atomic():
        d = sel.delivery_get(actor, delivery_id, for_update=True)
        if d.status == D.DELIVERED:
            raise RuleViolation("delivery_already_delivered", _("该推送已送达，无需重试"))
        ep = d.endpoint
        if not ep.active or ep.partner.status != Partner.Status.ACTIVE:
            raise RuleViolation("endpoint_inactive", _("推送地址已停用或合作机构已暂停，不能重试"))
        before = {"status": d.status, "next_attempt_at": d.next_attempt_at}
        d.status = D.FAILED if d.status == D.DEAD else d.status
        d.next_attempt_at = now
        d.save(update_fields=["status", "next_attempt_at"])
        audit.record(actor=actor, verb="partners.delivery_retried", target=ep, target_repr=ep.audit_repr(),
                     before=before, after={"delivery": d.delivery_id, "status": d.status, "attempts": d.attempts})
    return d


# ---- Sending ------------------------------------------------------------------------------------------------------------
class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer (3xx, a failed delivery), never a reason to send the body somewhere else."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _opener() -> urllib.request.OpenerDirector:
    proxies = getattr(settings, "BANKCRM_WEBHOOK_PROXIES", {})  # {} = direct (a bank sets its egress proxy here)
    return urllib.request.build_opener(urllib.request.ProxyHandler(proxies), _NoRedirect())


def transport(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST once; returns (status code or None, error text). Overridden in tests only through a real server."""
    problem = rules.url_problem(url, allow_loopback_http=allow_loopback_http())
    if problem:
        return None, str(problem)
    timeout = float(getattr(settings, "BANKCRM_WEBHOOK_TIMEOUT", 5))
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310  (scheme checked above)
    try:
        with _opener().open(req, timeout=timeout) as resp:
            resp.read(1024)
            return resp.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:200]


def headers_for(d: WebhookDelivery, body: bytes, *, now: datetime) -> dict[str, str]:
    ts = int(now.timestamp())
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            "X-Bankcrm-Event": d.event.type, "X-Bankcrm-Delivery": d.delivery_id,
            rules.SIGNATURE_HEADER: rules.signature_header(secrets_in_force(d.endpoint, now), ts, body)}


def attempt(delivery_pk: int, *, now: datetime | None = None) -> str:
    """Send one due delivery if no one else is sending it; returns its status afterwards ("busy" when another worker
    holds it or it is not due)."""
    now = now or _now()
    d = (WebhookDelivery.objects.select_related("endpoint", "endpoint__partner", "event")
         .filter(pk=delivery_pk).first())
    if d is None or d.status not in (D.PENDING, D.FAILED) or d.next_attempt_at is None or d.next_attempt_at > now:
        return "busy"
    if not d.endpoint.active or d.endpoint.partner.status != Partner.Status.ACTIVE:
        return "busy"
    claimed = WebhookDelivery.objects.filter(pk=d.pk, status=d.status, attempts=d.attempts,
                                             next_attempt_at=d.next_attempt_at).update(next_attempt_at=now + LEASE)
    if not claimed:
        return "busy"
    body = envelope(d.event)
    if rules.body_digest(body) != d.payload_digest:  # the stored event was altered after it was queued
        code, error = None, "payload digest mismatch"
    else:
        code, error = transport(d.endpoint.url, body, headers_for(d, body, now=now))
    return _record(d, code=code, error=error, now=now)


def _record(d: WebhookDelivery, *, code: int | None, error: str, now: datetime) -> str:
    attempts = d.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "last_attempt_at": now, "last_status_code": code,
                              "last_error": error[:200]}
    if rules.delivered(code):
        values.update(status=D.DELIVERED, delivered_at=now, next_attempt_at=None, last_error="")
    elif rules.gives_up(attempts, max_attempts=params.value("partners.webhook_max_attempts", now)):
        values.update(status=D.DEAD, next_attempt_at=None)
    else:
        delay = rules.retry_delay_seconds(attempts, first_minutes=params.value("partners.webhook_retry_first", now),
                                          cap_minutes=params.value("partners.webhook_retry_cap", now))
        values.update(status=D.FAILED, next_attempt_at=now + timedelta(seconds=delay))
    WebhookDelivery.objects.filter(pk=d.pk, attempts=d.attempts).update(**values)
    if values["status"] == D.DEAD:
        log.warning("webhook delivery %s to partner %s abandoned after %s attempts", d.delivery_id,
                    d.endpoint.partner.code, attempts)
    return values["status"]


def dispatch_due(*, now: datetime | None = None, batch: int = 100) -> dict[str, int]:
    """Send every delivery due at ``now`` (oldest first, at most ``batch``); returns counts by outcome. Once an
    endpoint fails in a run, its other deliveries wait for the next run ("skipped", no attempt counted): a partner
    that is down costs one timeout per run, not one per queued delivery, and does not hold up the others."""
    now = now or _now()
    due = list(WebhookDelivery.objects.filter(status__in=[D.PENDING, D.FAILED], next_attempt_at__lte=now,
                                              endpoint__active=True, endpoint__partner__status=Partner.Status.ACTIVE)
               .order_by("next_attempt_at", "id").values_list("pk", "endpoint_id")[:batch])
    counts: dict[str, int] = {}
    down: set[int] = set()
    for pk, endpoint_id in due:
        if endpoint_id in down:
            status = "skipped"
        else:
            status = attempt(pk, now=now)
            if status in (D.FAILED, D.DEAD):
                down.add(endpoint_id)
        counts[status] = counts.get(status, 0) + 1
    return counts
