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

from bankcrm.core import audit

from .models import Alert, RiskProfile

# Called with the customer ids that got new alerts, after they are written (same transaction): the AML rating
# registers a re-rating trigger here.
ON_NEW_ALERTS: list[Callable[[set[int]], None]] = []


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
    hits = list({h.dedupe_key: h for h in hits}.values())
    if not hits:
        return []
    existing = set(Alert.objects.filter(dedupe_key__in=[h.dedupe_key for h in hits])
                   .values_list("dedupe_key", flat=True))
    now = timezone.now()
    fresh = [Alert(dedupe_key=h.dedupe_key, rule_id=h.rule_id, rule_code=h.rule_code, kind=h.kind,
                   report_kind=h.report_kind, customer_id=h.customer_id, branch_path=h.branch_path,
                   business_date=h.business_date, currency_group=h.currency_group, direction=h.direction,
                   total_minor=h.total_minor, threshold_minor=h.threshold_minor, figures=h.figures,
                   entry_ids=list(h.entry_ids), source=source, due_on=h.due_on, created_at=now)
             for h in hits if h.dedupe_key not in existing]
    if not fresh:
        return []
    Alert.objects.bulk_create(fresh, ignore_conflicts=True)
    created = list(Alert.objects.filter(dedupe_key__in=[a.dedupe_key for a in fresh], created_at=now))
    if not created:
        return []
    per_customer = Counter(a.customer_id for a in created)
    _bump_profiles(per_customer, {a.customer_id: a.branch_path for a in created})
    audit.record(actor=actor, verb="risk.alerts_raised", target_type="risk.Alert",
                 target_id=created[0].pk if len(created) == 1 else "",
                 target_repr=f"{len(created)} × " + ", ".join(sorted({a.rule_code for a in created})),
                 after={"alerts": [a.pk for a in created][:200], "count": len(created), "source": source})
    for hook in ON_NEW_ALERTS:
        hook(set(per_customer))
    return created


def _bump_profiles(per_customer: Counter, paths: dict[int, str]) -> None:
    RiskProfile.objects.bulk_create([RiskProfile(customer_id=c, branch_path=paths[c]) for c in per_customer],
                                    ignore_conflicts=True)
    by_count: dict[int, list[int]] = {}
    for c, n in per_customer.items():
        by_count.setdefault(n, []).append(c)
    for n, ids in by_count.items():
        RiskProfile.objects.filter(customer_id__in=ids).update(open_alerts=F("open_alerts") + n)


def alert_closed(customer_id: int, n: int = 1) -> None:
    """Keep the profile's open-alert count when alerts leave the open statuses."""
    RiskProfile.objects.filter(customer_id=customer_id, open_alerts__gte=n).update(open_alerts=F("open_alerts") - n)
