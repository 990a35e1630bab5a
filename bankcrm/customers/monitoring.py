"""Staff-conduct detector: viewing many customers one does not manage within a short window raises a signal for
compliance (DOMAIN_RULES.md §7; threshold and window are rule parameters)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from bankcrm.core import params
from bankcrm.core.models import AccessEvent, ConductSignal

from .models import ManagerAssignment

KIND = "bulk_view_unmanaged"


def check_bulk_view(actor: Any) -> ConductSignal | None:
    """Called after a customer read is logged. At most one open signal per person per window."""
    window = timedelta(minutes=params.value("privacy.bulk_view_window"))
    threshold = params.value("privacy.bulk_view_threshold")
    since = timezone.now() - window
    if ConductSignal.objects.filter(kind=KIND, staff=actor, created_at__gte=since).exists():
        return None
    seen: set[str] = set()
    # distinct lists: a page opened again and again in the window is one row, not one per view (each 360 view runs
    # this check, so its cost must not grow with how often the same customers are opened)
    for ids in (AccessEvent.objects.filter(actor=actor, subject_type="customers.Customer", occurred_at__gte=since,
                                           view__in=["customers.detail", "api.customers_detail", "customers.reveal"])
                .order_by().values_list("subject_ids", flat=True).distinct()):
        seen.update(str(i) for i in ids)
    if len(seen) < threshold:
        return None
    managed = {str(i) for i in ManagerAssignment.objects.filter(staff=actor, ended_at__isnull=True)
               .values_list("customer_id", flat=True)}
    unmanaged = seen - managed
    if len(unmanaged) < threshold:
        return None
    return ConductSignal.objects.create(kind=KIND, staff=actor, branch_path=actor.branch_path,
                                        detail={"customers": len(unmanaged), "window_minutes": int(window.total_seconds() // 60),
                                                "threshold": threshold, "sample": sorted(unmanaged, key=int)[:20]})
