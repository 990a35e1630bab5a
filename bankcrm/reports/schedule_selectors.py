"""Scoped reads of scheduled reports: staff see the schedules they own; head-office staff who schedule reports
(administrators, head-office compliance and risk managers) see every schedule, to stop one when its owner has left.
A schedule or file one may not see is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from .models import ReportRun, ReportSchedule


def sees_every_schedule(actor: Any) -> bool:
    return access.can(actor, "reports.schedule") and access.sees_all_branches(actor)


def schedules_visible(actor: Any) -> QuerySet[ReportSchedule]:
    if not access.can(actor, "reports.view"):
        return ReportSchedule.objects.none()
    qs = ReportSchedule.objects.select_related("owner", "owner__branch")
    return qs if sees_every_schedule(actor) else qs.filter(owner=actor)


def schedule_get(actor: Any, pk: Any, *, for_update: bool = False) -> ReportSchedule:
    qs = schedules_visible(actor)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    s = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if s is None:
        raise NotFound("schedule_not_found", _("定时报表不存在或无权查看"))
    return s


def runs_of(schedule: ReportSchedule) -> QuerySet[ReportRun]:
    return schedule.runs.order_by("-period_end", "-id")


def run_get(actor: Any, pk: Any) -> ReportRun:
    run = (ReportRun.objects.filter(schedule__in=schedules_visible(actor).values("pk"), pk=pk)
           .select_related("schedule").first() if str(pk).isdigit() else None)
    if run is None:
        raise NotFound("run_not_found", _("报表文件不存在或无权查看"))
    return run
