"""Reads of the logs, parameters and calendar."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from . import params
from .models import AccessEvent, AuditEvent, CalendarDay, ParameterVersion, SecurityEvent


def _day_start(d) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def audit_events(*, actor_no: str = "", verb: str = "", target: str = "", since=None, until=None) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor")
    if actor_no:
        qs = qs.filter(actor_label__istartswith=actor_no.strip())
    if verb:
        qs = qs.filter(verb=verb)
    if target:
        ttype, _, tid = target.partition(":")
        qs = qs.filter(target_type__iexact=ttype.strip())
        if tid:
            qs = qs.filter(target_id=tid.strip())
    if since:
        qs = qs.filter(occurred_at__gte=_day_start(since))
    if until:
        qs = qs.filter(occurred_at__lt=_day_start(until) + timezone.timedelta(days=1))
    return qs.order_by("-seq")


def security_events(*, kind: str = "", username: str = "") -> QuerySet[SecurityEvent]:
    qs = SecurityEvent.objects.select_related("actor")
    if kind:
        qs = qs.filter(kind=kind)
    if username:
        qs = qs.filter(username__iexact=username.strip())
    return qs


def access_events(*, actor_no: str = "", unmasked_only: bool = False) -> QuerySet[AccessEvent]:
    qs = AccessEvent.objects.select_related("actor", "actor__branch")
    if actor_no:
        qs = qs.filter(actor__staff_no__iexact=actor_no)
    if unmasked_only:
        qs = qs.filter(unmasked=True)
    return qs


def parameters_overview(at: datetime | None = None) -> list[dict[str, Any]]:
    """Every declared parameter with the value in force at ``at`` and the next scheduled change, in one query."""
    at = at or timezone.now()
    current: dict[str, ParameterVersion] = {}
    upcoming: dict[str, ParameterVersion] = {}
    for pv in ParameterVersion.objects.order_by("code", "-effective_from", "-id"):
        if pv.effective_from <= at:
            current.setdefault(pv.code, pv)
        else:
            upcoming[pv.code] = pv  # rows come latest first, so the last one kept is the next to take effect
    rows = []
    for code, d in params.DEFINITIONS.items():
        pv = current.get(code)
        val = int(pv.value) if pv else d.default
        rows.append({"code": code, "definition": d, "value": val, "display": params.display(code, val),
                     "is_default": pv is None, "version": pv, "upcoming": upcoming.get(code)})
    return rows


def parameter_history(code: str) -> QuerySet[ParameterVersion]:
    return ParameterVersion.objects.filter(code=code).select_related("created_by").order_by("-effective_from", "-id")


def calendar_days(year: int) -> QuerySet[CalendarDay]:
    return CalendarDay.objects.filter(date__year=year).order_by("date")
