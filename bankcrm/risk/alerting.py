"""Raising alerts: every source (real-time and nightly monitoring, watch-list screening) hands its hits here. The
``dedupe_key`` is unique, so a fact seen twice (real time, then the nightly run; or a re-run) raises one alert."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import F
from django.utils import timezone

from bankcrm.core import audit, outbox

from .models import Alert, RiskProfile

# Called with the customer ids that got new alerts, after the alerts commit (outbox topic "risk.alerts_raised",
# consumer "risk_alert_hooks"): the AML rating registers its re-rating trigger here. Monitoring does not wait for it.
ON_NEW_ALERTS: list[Callable[[set[int]], None]] = []
TOPIC_RAISED = "risk.alerts_raised"


@dataclass(frozen=True)
class Hit:
    dedupe_key: str
    rule_code: str
    kind: str
    report_kind: str
    customer_id: int
    branch_path: str
    business_date: date
    rule_id: int | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    entry_ids: tuple[int, ...] = ()
    total_minor: int = 0
    threshold_minor: int = 0
    currency_group: str = ""
    direction: str = ""
    due_on: date | None = None


def raise_alerts(hits: Iterable[Hit], *, source: str, actor: Any = None) -> list[Alert]:
    """Insert the hits not already alerted; returns the new alerts. Runs inside the caller's transaction."""
    return raise_or_refresh(hits, source=source, actor=actor)[0]


def raise_or_refresh(hits: Iterable[Hit], *, source: str, actor: Any = None) -> tuple[list[Alert], int]:
    """Insert the new hits, and bring open, not yet reported alerts up to date with a later sighting of the same fact
    (a day's cumulative total that kept growing after the first alert: the report must show the whole day). Returns
    the new alerts and how many existing ones changed."""
    hits = list({h.dedupe_key: h for h in hits}.values())
    if not hits:
        return [], 0
    existing = {a.dedupe_key: a for a in Alert.objects.filter(dedupe_key__in=[h.dedupe_key for h in hits]).only(
        "id", "dedupe_key", "status", "report_id", "entry_ids", "total_minor", "figures")}
    refreshed = _refresh([h for h in hits if h.dedupe_key in existing], existing, actor)
    now = timezone.now()
    fresh = [Alert(dedupe_key=h.dedupe_key, rule_id=h.rule_id, rule_code=h.rule_code, kind=h.kind,
                   report_kind=h.report_kind, customer_id=h.customer_id, branch_path=h.branch_path,
                   business_date=h.business_date, currency_group=h.currency_group, direction=h.direction,
                   total_minor=h.total_minor, threshold_minor=h.threshold_minor, figures=h.figures,
                   entry_ids=list(h.entry_ids), source=source, due_on=h.due_on, created_at=now)
             for h in hits if h.dedupe_key not in existing]
    if not fresh:
        return [], refreshed
    Alert.objects.bulk_create(fresh, ignore_conflicts=True)
    created = list(Alert.objects.filter(dedupe_key__in=[a.dedupe_key for a in fresh], created_at=now))
    if not created:
        return [], refreshed
    per_customer = Counter(a.customer_id for a in created)
    _bump_profiles(per_customer, {a.customer_id: a.branch_path for a in created})
    audit.record(actor=actor, verb="risk.alerts_raised", target_type="risk.Alert",
                 target_id=created[0].pk if len(created) == 1 else "",
                 target_repr=f"{len(created)} × " + ", ".join(sorted({a.rule_code for a in created})),
                 after={"alerts": [a.pk for a in created][:200], "count": len(created), "source": source})
    outbox.publish(TOPIC_RAISED, {"customer_ids": sorted(per_customer)})
    return created, refreshed


def run_hooks(customer_ids: set[int]) -> None:
    for hook in ON_NEW_ALERTS:
        hook(customer_ids)


def _refresh(hits: list[Hit], existing: dict[str, Alert], actor: Any) -> int:
    changed = []
    for h in hits:
        a = existing[h.dedupe_key]
        if a.report_id or a.status not in Alert.OPEN_STATUSES:
            continue
        if list(h.entry_ids) != list(a.entry_ids) or h.total_minor != a.total_minor:
            a.entry_ids, a.total_minor, a.figures = list(h.entry_ids), h.total_minor, h.figures
            changed.append(a)
    if changed:
        Alert.objects.bulk_update(changed, ["entry_ids", "total_minor", "figures"])
        audit.record(actor=actor, verb="risk.alerts_refreshed", target_type="risk.Alert",
                     target_id=changed[0].pk if len(changed) == 1 else "", target_repr=f"{len(changed)} × refreshed",
                     after={"alerts": [a.pk for a in changed][:200], "count": len(changed)})
    return len(changed)


def _bump_profiles(per_customer: Counter, paths: dict[int, str]) -> None:
    RiskProfile.objects.bulk_create([RiskProfile(customer_id=c, branch_path=paths[c]) for c in per_customer],
                                    ignore_conflicts=True)
    _adjust(per_customer, +1)


def alerts_left_open(customer_ids: Iterable[int]) -> None:
    """Keep the profiles' open-alert counts when alerts leave the open statuses (one id per alert)."""
    _adjust(Counter(customer_ids), -1)


def _adjust(per_customer: Counter, sign: int) -> None:
    """One UPDATE per distinct count, never one per customer."""
    by_count: dict[int, list[int]] = {}
    for c, n in per_customer.items():
        by_count.setdefault(n, []).append(c)
    for n, ids in by_count.items():
        qs = RiskProfile.objects.filter(customer_id__in=ids)
        if sign < 0:
            qs = qs.filter(open_alerts__gte=n)
        qs.update(open_alerts=F("open_alerts") + sign * n)
