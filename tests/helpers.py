"""Helpers shared by the R-tests: database state fingerprints, audit and security-log counters, URL enumeration,
TOTP codes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Columns that change on reads and sign-ins (touch timestamps), not on state changes.
VOLATILE = {"last_seen_at", "last_used_at", "last_login"}


def state_models() -> list:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.approvals.models import PendingAction
    from bankcrm.core.models import CalendarDay, ParameterVersion, ScheduledRun
    from bankcrm.org.models import ApiToken, Branch, LiveSession, RoleAssignment, Staff

    return [Branch, Staff, RoleAssignment, LiveSession, ApiToken, PendingAction, ParameterVersion, CalendarDay,
            ScheduledRun, TOTPDevice]


def db_state() -> dict[str, list[tuple]]:
    """Every row of every domain table (not the logs): equal fingerprints mean nothing changed."""
    out = {}
    for model in state_models():
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in VOLATILE]
        out[model._meta.label] = [tuple(str(v) for v in row) for row in model.objects.order_by("pk").values_list(*names)]
    return out


def state_diff(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after[label]]


def audit_seq() -> int:
    from bankcrm.core.models import AuditEvent

    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def verbs_since(seq: int) -> list[str]:
    from bankcrm.core.models import AuditEvent

    return list(AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("verb", flat=True))


def security_count(kind: str | None = None) -> int:
    from bankcrm.core.models import SecurityEvent

    qs = SecurityEvent.objects.all()
    return qs.filter(kind=kind).count() if kind else qs.count()


@dataclass
class Route:
    name: str          # namespaced URL name ("org:staff_detail", "api-staff")
    pattern: str       # the full regex/route string, e.g. "org/staff/<int:pk>/"
    callback: Any
    converters: dict[str, str]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/v1/")


def all_routes() -> list[Route]:
    """Every URL pattern of the project, includes expanded, with its full pattern and view callable."""
    from django.urls import URLPattern, URLResolver, get_resolver

    out: list[Route] = []

    def walk(patterns, prefix: str, ns: str | None, converters: dict[str, str]):
        for p in patterns:
            if isinstance(p, URLResolver):
                child_ns = ":".join(x for x in (ns, p.namespace) if x) or None
                convs = {**converters, **{k: type(v).__name__ for k, v in getattr(p.pattern, "converters", {}).items()}}
                walk(p.url_patterns, prefix + str(p.pattern), child_ns, convs)
            elif isinstance(p, URLPattern):
                convs = {**converters, **{k: type(v).__name__ for k, v in getattr(p.pattern, "converters", {}).items()}}
                name = f"{ns}:{p.name}" if ns and p.name else (p.name or "")
                out.append(Route(name=name, pattern=prefix + str(p.pattern), callback=p.callback, converters=convs))

    walk(get_resolver().url_patterns, "", None, {})
    return out


def sample_url(route: Route, bank) -> str:
    """A concrete URL for the pattern (object ids of the small bank where the name says what they are)."""
    values = {"pk": bank.cm_a1.pk, "seq": 1, "code": "approvals.expiry", "action": "roles", "decision": "approve",
              "day": "2026-10-08", "consent_id": 1}
    if route.name.startswith(("org:branch", "api-branch")):
        values["pk"] = bank.a1.pk

    def fill(m: re.Match) -> str:
        conv, name = m.group(1) or "str", m.group(2)
        return str(values.get(name, 1 if conv == "int" else "x"))

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", fill, route.pattern)


def totp_now(device, *, offset: int = 0) -> str:
    """The device's current code (offset in steps), computed the way an authenticator app does."""
    from django_otp.oath import totp

    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift + offset)
    return f"{code:0{device.digits}d}"
