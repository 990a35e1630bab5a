"""The risk app's navigation entries for monitoring (风险); suitability, rating and watch lists add their own."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.navigation import NavEntry, register

RISK = _("风险")
register(NavEntry(RISK, _("风险看板"), "risk:dashboard", "risk.dashboard", "speedometer2", 30))
register(NavEntry(RISK, _("监测预警"), "risk:alerts", "risk.alerts", "bell", 31))
register(NavEntry(RISK, _("调查案件"), "risk:cases", "risk.alerts", "folder2-open", 32))
register(NavEntry(RISK, _("监测规则"), "risk:rules", "risk.alerts", "funnel", 33))
register(NavEntry(RISK, _("监管报告"), "risk:reports", "risk.report", "file-earmark-arrow-up", 34))
