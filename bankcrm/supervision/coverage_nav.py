"""Navigation (内部监督 → 制度覆盖矩阵, 检查发现), the inbox provider (findings and actions waiting for someone) and
the home-page section (compliance managers: the matrix summary and open findings by severity; branch supervisors:
findings they own and actions due)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.access import Role
from bankcrm.core.home import HomeSection
from bankcrm.core.home import register as register_home
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register

from . import finding_rules as fr
from . import finding_selectors as sel

SUPERVISION = _("内部监督")
register(NavEntry(SUPERVISION, _("制度覆盖矩阵"), "supervision:matrix", "supervision.view", "grid-3x3-gap", 80))
register(NavEntry(SUPERVISION, _("检查发现"), "supervision:findings", "supervision.view", "clipboard-check", 81))

LIMIT = 30


def _end(day: Any) -> datetime:
    return datetime.combine(day, time(23, 59, 59), timezone.get_default_timezone())


def _owned(actor: Any):
    if not access.can(actor, "supervision.rectify"):
        return sel.Finding.objects.none()
    return sel.owned_open(actor)


def _actions(actor: Any):
    if not access.can(actor, "supervision.rectify"):
        return sel.FindingAction.objects.none()
    return sel.actions_due(actor)


def _items(actor: Any):
    today = timezone.localdate()
    for f in _owned(actor)[:LIMIT]:
        overdue = fr.is_overdue(f.status, f.due_on, today)
        yield InboxItem(kind="supervision_finding", kind_label=_("检查发现整改"),
                        title=f"{f.number} {f.display_title} · {f.target_repr}".strip(" ·"),
                        url=reverse("supervision:finding", args=[f.pk]), due_at=_end(f.due_on) if f.due_on else None,
                        subtitle=(gettext("整改已逾期（期限 %(d)s）") if overdue else gettext("整改期限 %(d)s")) % {"d": f.due_on})
    for a in _actions(actor)[:LIMIT]:
        yield InboxItem(kind="supervision_action", kind_label=_("整改措施"),
                        title=f"{a.finding.number} · {a.action}",
                        url=reverse("supervision:finding", args=[a.finding_id]) + f"#action-{a.pk}",
                        due_at=_end(a.due_on),
                        subtitle=(gettext("复查未通过，请重新整改") if a.status == "failed" else
                                  gettext("完成期限 %(d)s") % {"d": a.due_on}))
    for f in sel.awaiting_recheck(actor)[:LIMIT]:
        yield InboxItem(kind="supervision_recheck", kind_label=_("待复查"),
                        title=f"{f.number} {f.display_title} · {f.target_repr}".strip(" ·"),
                        url=reverse("supervision:finding", args=[f.pk]),
                        subtitle=gettext("整改已提交，待复查关闭") if f.status == "rectified"
                        else gettext("数据已更正（自动检查不再发现），待确认关闭"))


def _count(actor: Any) -> int:
    return _owned(actor).count() + _actions(actor).count() + sel.awaiting_recheck(actor).count()


register_provider("supervision.findings", _items, _count)


def home_context(request: Any) -> dict[str, Any] | None:
    """Compliance managers: the matrix summary (controls with exceptions, worst first) and open findings by severity.
    Branch supervisors: the findings they own and their actions due. Others: nothing."""
    from . import coverage_selectors as cov

    user = request.user
    roles = getattr(user, "roles", frozenset())
    today = timezone.localdate()
    if Role.COMPLIANCE_MANAGER in roles:
        figures = cov.control_figures(user)
        rows = [r for r in figures.values() if r["automated"]]
        rows.sort(key=lambda r: (r["run"] is None, -(r["run"].exceptions if r["run"] else 0),
                                 fr.SEVERITY_RANK[r["severity"]]))
        from . import conduct_rules, conduct_selectors

        serious = list(sel.findings_filtered(user, status="live").filter(severity__in=("critical", "high"))
                       .order_by("due_on", "id")[:6])
        for f in serious:
            f.overdue = fr.is_overdue(f.status, f.due_on, today)  # type: ignore[attr-defined]
        signals = list(conduct_selectors.signal_list(user, status="open")[:5])
        for s in signals:
            s.summary = conduct_rules.summary(s.kind, s.detail)  # type: ignore[attr-defined]
        return {"mode": "compliance", "controls": rows, "counts": sel.severity_counts(user),
                "overdue": sel.findings_filtered(user, overdue=True).count(),
                "awaiting": sel.awaiting_recheck(user).count(), "today": today,
                "has_runs": any(r["run"] for r in rows), "serious": serious, "signals": signals,
                "signals_open": conduct_selectors.signal_list(user, status="open").count()}
    if Role.BRANCH_SUPERVISOR in roles:
        owned = list(sel.owned_open(user).select_related("branch")[:10])
        for f in owned:
            f.overdue = fr.is_overdue(f.status, f.due_on, today)  # type: ignore[attr-defined]
        actions = list(sel.actions_due(user)[:10])
        for a in actions:
            a.overdue = a.due_on < today  # type: ignore[attr-defined]
        return {"mode": "supervisor", "owned": owned, "actions": actions, "counts": sel.severity_counts(user),
                "today": today}
    return None


register_home(HomeSection(code="supervision.coverage", order=20, template="supervision/coverage/_home.html",
                          context=home_context, capability="supervision.view"))
