"""The surveys app's navigation entries (满意度)."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.navigation import NavEntry, register

GROUP = _("满意度")
register(NavEntry(GROUP, _("满意度分析"), "surveys:dashboard", "surveys.view", "emoji-smile", 60))
register(NavEntry(GROUP, _("调查答卷"), "surveys:responses", "surveys.view", "chat-square-text", 61))
register(NavEntry(GROUP, _("调查活动"), "surveys:campaigns", "surveys.view", "megaphone", 62))
register(NavEntry(GROUP, _("调查模板"), "surveys:templates", "surveys.view", "ui-checks-grid", 63))
register(NavEntry(GROUP, _("消息发件箱"), "surveys:outbox", "surveys.view_outbox", "envelope-paper", 64))
