"""Navigation: 管理报表 (the report list and the scheduled reports)."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.navigation import NavEntry, register

REPORTS = _("管理报表")
register(NavEntry(REPORTS, _("报表中心"), "reports:index", "reports.view", "bar-chart-line", 95))
register(NavEntry(REPORTS, _("定时报表"), "reports:schedules", "reports.schedule", "calendar2-week", 96))
