"""Scheduled reports: subscribe, change, stop; generate the file of each period once (the daily job and "generate
now" share one idempotent path); download a file (audited, checked against its SHA-256).

A run is generated with the **owner's** scope and capabilities as they are at run time: an owner who has left, lost
the role or may no longer export gets a failed run with the reason, not a file. One run per schedule and period
(unique constraint); a failed run is retried by the next job on the same row; a run killed half-way left at most a
file without a row, which the retry overwrites (same path), so a period never has two files.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied, RuleViolation, ValidationFailed

from . import report_catalog as catalog
from . import report_exports as exports
from . import report_rules as rules
from . import schedule_selectors as sel
from .models import ReportRun, ReportSchedule

log = logging.getLogger(__name__)
FIELDS = ["name", "report", "filters", "frequency", "file_format"]


def reports_dir() -> Path:
    """Where scheduled report files live: BANKCRM_REPORTS_DIR, or var/reports."""
    configured = getattr(settings, "BANKCRM_REPORTS_DIR", "")
    return Path(configured) if configured else Path(settings.VAR_DIR) / "reports"


# ---- Subscriptions --------------------------------------------------------------------------------------------------
def _clean(*, owner: Any, name: str, report: str, frequency: str, file_format: str, branch: str) -> dict[str, Any]:
    from bankcrm.org.models import Branch

    errors: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    if not name:
        errors["name"] = [_("请填写名称")]
    elif len(name) > 80:
        errors["name"] = [_("名称不能超过 80 个字")]
    if catalog.get(report) is None:
        errors["report"] = [_("请选择报表")]
    if frequency not in ReportSchedule.Frequency.values:
        errors["frequency"] = [_("请选择每日、每周或每月")]
    if file_format not in ReportSchedule.Format.values:
        errors["file_format"] = [_("请选择 Excel 或 PDF")]
    branch = (branch or "").strip()
    if branch:
        scope = access.scope_root(owner)
        if not Branch.objects.filter(path=branch).exists() or (scope is not None and not branch.startswith(scope)):
            errors["branch"] = [_("机构不存在或不在订阅人的管理范围内")]
    if errors:
        raise ValidationFailed("schedule_invalid", _("请检查定时报表的设置"), fields=errors)
    return {"name": name, "report": report, "frequency": frequency, "file_format": file_format,
            "filters": {"branch": branch} if branch else {}}


def schedule_create(*, actor: Any, name: str, report: str, frequency: str, file_format: str = "xlsx",
                    branch: str = "") -> ReportSchedule:
    """Subscribe the actor to a report delivered as a file every day, week or month (for the last complete period)."""
    access.require(actor, "reports.schedule")
    data = _clean(owner=actor, name=name, report=report, frequency=frequency, file_format=file_format, branch=branch)
    with transaction.atomic():
        s = ReportSchedule.objects.create(owner=actor, owner_branch_path=actor.branch.path, **data)
        audit.record(actor=actor, verb="reports.schedule_created", target=s, after=audit.snapshot(s, FIELDS))
    return s


def schedule_update(*, actor: Any, schedule_id: Any, name: str, report: str, frequency: str, file_format: str,
                    branch: str = "") -> ReportSchedule:
    """Change one's own schedule (files already delivered stay as they were)."""
    access.require(actor, "reports.schedule")
    data = _clean(owner=actor, name=name, report=report, frequency=frequency, file_format=file_format, branch=branch)
    with transaction.atomic():
        s = sel.schedule_get(actor, schedule_id, for_update=True)
        if s.owner_id != actor.pk:
            raise RuleViolation("schedule_not_owner", _("只有订阅人本人可以修改定时报表"))
        if not s.active:
            raise RuleViolation("schedule_inactive", _("定时报表已停用，不能修改"))
        before = audit.snapshot(s, FIELDS)
        for k, v in data.items():
            setattr(s, k, v)
        s.save(update_fields=[*data, "updated_at"])
        b, a = audit.diff(before, audit.snapshot(s, FIELDS))
        if a:
            audit.record(actor=actor, verb="reports.schedule_updated", target=s, before=b, after=a)
    return s


def schedule_deactivate(*, actor: Any, schedule_id: Any, reason: str = "") -> ReportSchedule:
    """Stop a schedule: its owner, or head office (e.g. when the owner has left). Delivered files stay."""
    access.require(actor, "reports.schedule")
    reason = " ".join((reason or "").split())[:200]
    with transaction.atomic():
        s = sel.schedule_get(actor, schedule_id, for_update=True)
        if not s.active:
            raise RuleViolation("schedule_inactive", _("定时报表已停用"))
        if s.owner_id != actor.pk and not reason:
            raise ValidationFailed("reason_required", _("停用他人的定时报表须填写原因"), fields={"reason": [_("请填写原因")]})
        s.active, s.deactivated_at, s.deactivated_by, s.deactivation_reason = False, timezone.now(), actor, reason
        s.save(update_fields=["active", "deactivated_at", "deactivated_by", "deactivation_reason", "updated_at"])
        audit.record(actor=actor, verb="reports.schedule_deactivated", target=s, before={"active": True},
                     after={"active": False}, reason=reason)
    return s


# ---- Generating files -----------------------------------------------------------------------------------------------
def _write(rel: str, content: bytes) -> None:
    path = reports_dir() / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)  # atomic: a reader sees the old file or the new one, never half of one


def _generate(schedule_id: int, period: rules.Period, *, actor: Any = None) -> ReportRun:
    """The run of one schedule for one period: the existing file if there is one, else generated now."""
    with transaction.atomic():
        s = ReportSchedule.objects.select_for_update().get(pk=schedule_id)
        run = ReportRun.objects.filter(schedule=s, period=period.key).first()
        if run is not None and run.status == ReportRun.Status.DONE:
            return run
        from bankcrm.org.models import Staff

        owner = Staff.objects.select_related("branch").get(pk=s.owner_id)
        values: dict[str, Any] = {"period_start": period.start, "period_end": period.end,
                                  "generated_at": timezone.now()}
        try:
            if not owner.may_work_now():
                raise PermissionDenied("owner_inactive", _("订阅人账号已停用或合同已到期"))
            access.require(owner, "reports.schedule")
            _name, _ctype, content, _view = exports.render_file(owner, s.report, fmt=s.file_format, period=period,
                                                                branch_path=s.filters.get("branch") or None)
        except DomainError as exc:
            values.update(status=ReportRun.Status.FAILED, error=f"{exc.code}: {exc.message}"[:500], file_path="",
                          size=0, sha256="")
        else:
            rel = rules.run_file_name(s.pk, s.report, period, s.file_format)
            _write(rel, content)
            values.update(status=ReportRun.Status.DONE, error="", file_path=rel, size=len(content),
                          sha256=hashlib.sha256(content).hexdigest())
        if run is None:
            try:
                with transaction.atomic():
                    run = ReportRun.objects.create(schedule=s, period=period.key, **values)
            except IntegrityError:  # cannot happen under the schedule's row lock; kept for databases without one
                return ReportRun.objects.get(schedule=s, period=period.key)
        else:
            for k, v in values.items():
                setattr(run, k, v)
            run.attempts += 1
            run.save()
        done = run.status == ReportRun.Status.DONE
        audit.record(actor=actor, verb="reports.run_generated" if done else "reports.run_failed", target=run,
                     after={"report": s.report, "period": period.key, "format": s.file_format,
                            "owner": owner.staff_no, "size": run.size, "sha256": run.sha256, "error": run.error})
    return run


def schedule_run(*, actor: Any, schedule_id: Any, today: Any = None) -> ReportRun:
    """Generate now the file of the schedule's last complete period (the one the daily job would deliver next);
    if it exists already, that file. Owner only."""
    access.require(actor, "reports.schedule")
    s = sel.schedule_get(actor, schedule_id)
    if s.owner_id != actor.pk:
        raise RuleViolation("schedule_not_owner", _("只有订阅人本人可以立即生成"))
    if not s.active:
        raise RuleViolation("schedule_inactive", _("定时报表已停用"))
    return _generate(s.pk, rules.due_period(s.frequency, today or timezone.localdate()), actor=actor)


def schedules_run_due(*, today: Any = None) -> dict[str, int]:
    """Daily job: the file of each active schedule's last complete period, where it is not there yet. Idempotent:
    a second run the same day generates nothing; a failed period is retried."""
    today = today or timezone.localdate()
    counts = {"generated": 0, "failed": 0, "skipped": 0}
    for pk, frequency in ReportSchedule.objects.filter(active=True).order_by("pk").values_list("pk", "frequency"):
        period = rules.due_period(frequency, today)
        if ReportRun.objects.filter(schedule_id=pk, period=period.key, status=ReportRun.Status.DONE).exists():
            counts["skipped"] += 1
            continue
        try:
            run = _generate(pk, period)
        except Exception:  # one broken schedule must not stop the others; the next run retries it
            log.exception("scheduled report %s failed", pk)
            counts["failed"] += 1
            continue
        counts["generated" if run.status == ReportRun.Status.DONE else "failed"] += 1
    return counts


# ---- Downloading ------------------------------------------------------------------------------------------------------
def run_download(*, actor: Any, run_id: Any) -> tuple[str, str, bytes]:
    """A delivered file, checked against the SHA-256 recorded when it was written; the download is audited."""
    access.require(actor, "reports.export")
    run = sel.run_get(actor, run_id)
    if run.status != ReportRun.Status.DONE or not run.file_path:
        raise NotFound("run_file_not_found", _("该期没有生成文件"))
    base = reports_dir().resolve()
    path = (base / run.file_path).resolve()
    if base not in path.parents or not path.is_file():
        raise RuleViolation("report_file_missing", _("报表文件已不在存储目录中，请联系系统管理员"))
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != run.sha256:
        raise RuleViolation("report_file_changed", _("报表文件与生成时的校验值不一致，可能已被改动，已拒绝下载"))
    with transaction.atomic():
        audit.record(actor=actor, verb="reports.run_downloaded", target=run,
                     after={"report": run.schedule.report, "period": run.period, "sha256": run.sha256})
    return path.name, exports.CONTENT_TYPES.get(path.suffix.lstrip("."), "application/octet-stream"), content
