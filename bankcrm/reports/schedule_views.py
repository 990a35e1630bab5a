"""定时报表 pages: one's scheduled reports, subscribe and change one, stop it, generate the last period now, and
download the files delivered (each download audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import report_catalog as catalog
from . import schedule_selectors as sel
from . import schedule_services as services
from .models import ReportSchedule
from .report_forms import ScheduleForm


def _apply(form: Any, exc: DomainError) -> None:
    placed = False
    for name, msgs in exc.fields.items():
        if name in form.fields:
            for m in msgs:
                form.add_error(name, str(m))
            placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _decorate(schedules: list[ReportSchedule]) -> list[ReportSchedule]:
    from bankcrm.org.models import Branch

    paths = {s.filters.get("branch") for s in schedules if s.filters.get("branch")}
    names = {b.path: b.label for b in Branch.objects.filter(path__in=paths)}
    for s in schedules:
        report = catalog.get(s.report)
        s.report_title = str(report.title) if report else s.report  # type: ignore[attr-defined]
        path = s.filters.get("branch") or ""
        s.branch_label = names.get(path, path) if path else _("订阅人可见范围")  # type: ignore[attr-defined]
    return schedules


@capability_required("reports.schedule")
@require_GET
def schedule_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, sel.schedules_visible(request.user), 30)
    schedules = _decorate(list(page))
    last = {}
    from .models import ReportRun

    for run in ReportRun.objects.filter(schedule__in=[s.pk for s in schedules]).order_by("schedule_id", "-period_end",
                                                                                        "-id"):
        last.setdefault(run.schedule_id, run)
    for s in schedules:
        s.last_run = last.get(s.pk)  # type: ignore[attr-defined]
    return render(request, "reports/schedules.html", {"page": page, "schedules": schedules,
                                                      "all": sel.sees_every_schedule(request.user)})


@capability_required("reports.schedule")
@require_http_methods(["GET", "POST"])
def schedule_new(request: HttpRequest) -> HttpResponse:
    initial = {"report": request.GET.get("report", ""), "branch": request.GET.get("branch", ""),
               "frequency": "monthly", "file_format": "xlsx"}
    report = catalog.get(initial["report"])
    if report is not None:
        initial["name"] = str(report.title)
    form = ScheduleForm(request.POST or None, owner=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            s = entrypoint(services.schedule_create)(actor=request.user, name=cd["name"], report=cd["report"],
                                                     frequency=cd["frequency"], file_format=cd["file_format"],
                                                     branch=cd["branch"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("已订阅定时报表“%(n)s”，每天凌晨生成到期的文件") % {"n": s.name})
            return redirect("reports:schedule", pk=s.pk)
    return render(request, "reports/schedule_form.html", {"form": form, "schedule": None},
                  status=400 if request.method == "POST" else 200)


@capability_required("reports.schedule")
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    s = sel.schedule_get(request.user, pk)
    initial = {"name": s.name, "report": s.report, "branch": s.filters.get("branch", ""), "frequency": s.frequency,
               "file_format": s.file_format}
    form = ScheduleForm(request.POST or None, owner=s.owner, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            entrypoint(services.schedule_update)(actor=request.user, schedule_id=s.pk, name=cd["name"],
                                                 report=cd["report"], frequency=cd["frequency"],
                                                 file_format=cd["file_format"], branch=cd["branch"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _apply(form, exc)
        else:
            messages.success(request, _("定时报表已保存"))
            return redirect("reports:schedule", pk=s.pk)
    return render(request, "reports/schedule_form.html", {"form": form, "schedule": s},
                  status=400 if request.method == "POST" else 200)


def _detail(request: HttpRequest, s: ReportSchedule, *, error: str = "", status: int = 200) -> HttpResponse:
    _decorate([s])
    page = paginate(request, sel.runs_of(s), 24)
    return render(request, "reports/schedule_detail.html", {
        "s": s, "page": page, "mine": s.owner_id == request.user.pk, "error": error}, status=status)


@capability_required("reports.schedule")
@require_GET
def schedule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, sel.schedule_get(request.user, pk))


@capability_required("reports.schedule")
@require_POST
def schedule_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    s = sel.schedule_get(request.user, pk)
    try:
        entrypoint(services.schedule_deactivate)(actor=request.user, schedule_id=s.pk,
                                                 reason=request.POST.get("reason", ""))
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return _detail(request, s, error=str(exc.message), status=400)
    messages.success(request, _("定时报表“%(n)s”已停用") % {"n": s.name})
    return redirect("reports:schedule", pk=s.pk)


@capability_required("reports.schedule")
@require_POST
def schedule_run(request: HttpRequest, pk: int) -> HttpResponse:
    s = sel.schedule_get(request.user, pk)
    try:
        run = entrypoint(services.schedule_run)(actor=request.user, schedule_id=s.pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        return _detail(request, s, error=str(exc.message), status=400)
    if run.status == run.Status.DONE:
        messages.success(request, _("%(p)s 的报表文件已生成") % {"p": run.period})
    else:
        messages.error(request, _("%(p)s 的报表未能生成：%(e)s") % {"p": run.period, "e": run.error})
    return redirect("reports:schedule", pk=s.pk)


@capability_required("reports.export")
@require_GET
def run_download(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        name, content_type, content = entrypoint(services.run_download)(actor=request.user, run_id=pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        run = sel.run_get(request.user, pk)
        return _detail(request, run.schedule, error=str(exc.message), status=409)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
