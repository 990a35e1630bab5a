"""Inspection and manual findings naming a member of staff count against them in the appraisal's ``findings`` metric
(people.metrics' extension point; supervision sits above people, so it registers, people never imports it).
Findings from automated control checks are left out: they measure data states (an overdue course, an expired
document) that other metrics already count, and they are opened on whoever the data names, not for conduct."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from bankcrm.people.metrics import FindingSource, Source, register_finding_source

COUNTED_SOURCES = ("inspection", "manual")


def _rows(ctx: dict) -> QuerySet:
    from .models import Finding

    w = ctx["w"]
    qs = Finding.objects.filter(source__in=COUNTED_SOURCES, raised_at__gte=w.start, raised_at__lt=w.end)
    return qs.filter(staff__isnull=False) if ctx["level"] == "staff" else qs


def _evidence(qs: QuerySet, ctx: dict) -> list[dict]:
    from django.utils import timezone

    return [{"date": timezone.localdate(f["raised_at"]), "ref": f["number"], "counts": "num",
             "subject": f["target_repr"], "detail": str(_("检查发现：%(t)s") % {"t": f["title"]})}
            for f in qs.values("number", "raised_at", "target_repr", "title")]


register_finding_source(FindingSource("supervision_finding", _("内部检查发现"), Source(
    _rows, "staff_id", "branch_path", lambda ctx: Count("id"), None, _evidence)))
