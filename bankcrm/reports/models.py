"""Scheduled management reports (issue #11): a ``ReportSchedule`` says which report, with which filters, how often
and in which format a member of staff wants it delivered as a file; each delivery is a ``ReportRun`` for one period
(unique per schedule and period, so the daily job can run any number of times), its file kept under the reports
directory with its size and SHA-256. The report figures themselves are read live from the owning apps' tables and
never stored here."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class ReportSchedule(models.Model):
    """A report delivered as a file every day, week or month, generated with the owner's scope at the time."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("每日")
        WEEKLY = "weekly", _("每周")
        MONTHLY = "monthly", _("每月")

    class Format(models.TextChoices):
        XLSX = "xlsx", _("Excel")
        PDF = "pdf", _("PDF")

    name = models.CharField(_("名称"), max_length=80)
    report = models.CharField(_("报表"), max_length=40)
    filters = models.JSONField(_("筛选条件"), default=dict, blank=True)  # {"branch": "/001/101/"}
    frequency = models.CharField(_("频率"), max_length=8, choices=Frequency.choices)
    file_format = models.CharField(_("文件格式"), max_length=4, choices=Format.choices, default=Format.XLSX)
    owner = models.ForeignKey(USER, verbose_name=_("订阅人"), on_delete=models.PROTECT, related_name="report_schedules")
    owner_branch_path = models.CharField(max_length=255, db_index=True)  # for scoped lists of schedules
    active = models.BooleanField(_("启用"), default=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deactivation_reason = models.CharField(_("停用原因"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-active", "name", "id"]
        verbose_name = _("定时报表")
        verbose_name_plural = _("定时报表")

    def __str__(self) -> str:
        return self.name

    def audit_repr(self) -> str:
        return f"RS{self.pk} {self.name}"


class ReportRun(models.Model):
    """One delivery of a schedule for one period: the file (path relative to the reports directory), its size and
    SHA-256 (checked again before every download), or the error that stopped it."""

    class Status(models.TextChoices):
        DONE = "done", _("已生成")
        FAILED = "failed", _("失败")

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.PROTECT, related_name="runs")
    period = models.CharField(_("期间"), max_length=32)
    period_start = models.DateField(_("开始日期"))
    period_end = models.DateField(_("结束日期"))
    file_path = models.CharField(max_length=300, blank=True)
    size = models.BigIntegerField(_("文件大小"), default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices)
    error = models.CharField(_("错误"), max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    generated_at = models.DateTimeField(_("生成时间"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_end", "-id"]
        constraints = [models.UniqueConstraint(fields=["schedule", "period"], name="report_run_once_per_period")]
        verbose_name = _("报表文件")

    def __str__(self) -> str:
        return f"{self.schedule_id}:{self.period}"

    def audit_repr(self) -> str:
        return f"RS{self.schedule_id} {self.period}"
