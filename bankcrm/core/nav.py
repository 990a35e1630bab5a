"""The foundation's navigation entries."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .navigation import NavEntry, register

WORK, ORG, CONTROL, SETTINGS = _("工作"), _("机构与人员"), _("内控与审计"), _("系统设置")

register(NavEntry(WORK, _("工作台"), "core:home", "core.home", "house", 0))
register(NavEntry(WORK, _("待办"), "core:inbox", "core.home", "inbox", 1))
register(NavEntry(WORK, _("复核"), "approvals:list", "approvals.submit", "check2-square", 2))
register(NavEntry(ORG, pgettext_lazy("navigation", "机构"), "org:branches", "org.view_branches", "diagram-3", 20))
register(NavEntry(ORG, pgettext_lazy("navigation", "员工"), "org:staff", "org.view_staff", "people", 21))
register(NavEntry(CONTROL, _("审计日志"), "core:audit", "core.view_audit", "shield-check", 40))
register(NavEntry(CONTROL, _("安全日志"), "core:security_log", "core.view_security_log", "shield-lock", 41))
register(NavEntry(CONTROL, _("个人信息访问日志"), "core:access_log", "core.view_access_log", "eye", 42))
register(NavEntry(SETTINGS, _("规则参数"), "core:parameters", "core.view_parameters", "sliders", 60))
register(NavEntry(SETTINGS, _("工作日历"), "core:calendar", "core.view_calendar", "calendar3", 61))
