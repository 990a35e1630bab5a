"""Navigation under 内部监督 for conduct signals, the audit explorer, process cycle times and data retention (the
inbox already lists open conduct signals through core.conduct)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from bankcrm.core.navigation import NavEntry, register

SUPERVISION = _("内部监督")
register(NavEntry(SUPERVISION, _("员工行为监测"), "supervision:conduct", "supervision.conduct", "person-exclamation", 90))
register(NavEntry(SUPERVISION, _("审计查询"), "supervision:audit", "supervision.audit", "journal-check", 91))
register(NavEntry(SUPERVISION, _("流程时效"), "supervision:cycle", "supervision.cycle", "stopwatch", 92))
register(NavEntry(SUPERVISION, _("数据保留"), "supervision:retention", "supervision.retention", "archive", 93))
