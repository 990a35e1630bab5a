"""Reads of findings, their actions and accountability records, scoped to the actor.

Scope (ARCHITECTURE.md §3): head-office compliance and risk managers and administrators see every finding; branch
supervisors (and branch compliance or risk managers) the findings of their branch subtree; everyone else none
(``supervision.view`` is needed at all). An invisible finding is a 404, never a 403.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from . import finding_rules as fr
from .models import Accountability, Finding, FindingAction


def findings_visible(actor: Any) -> QuerySet[Finding]:
    if not access.can(actor, "supervision.view"):
        return Finding.objects.none()
    return Finding.objects.filter(access.branch_scope_q(actor, "branch_path"))


def finding_get(actor: Any, finding_id: Any, *, for_update: bool = False) -> Finding:
    try:
        pk = int(finding_id)
    except (TypeError, ValueError):
        raise NotFound("finding_not_found", _("检查发现不存在")) from None
    qs = findings_visible(actor).select_related("branch", "owner", "staff", "clause", "raised_by", "closed_by")
    if for_update:
        qs = qs.select_for_update(of=("self",)) if _pg() else qs
    f = qs.filter(pk=pk).first()
    if f is None:
        raise NotFound("finding_not_found", _("检查发现不存在"))
    return f


def action_get(actor: Any, action_id: Any, *, for_update: bool = False) -> FindingAction:
    try:
        pk = int(action_id)
    except (TypeError, ValueError):
        raise NotFound("action_not_found", _("整改措施不存在")) from None
    qs = FindingAction.objects.filter(finding__in=findings_visible(actor)).select_related("finding", "owner")
    if for_update and _pg():
        qs = qs.select_for_update(of=("self",))
    a = qs.filter(pk=pk).first()
    if a is None:
        raise NotFound("action_not_found", _("整改措施不存在"))
    return a


def _pg() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update


def findings_filtered(actor: Any, *, status: str = "", severity: str = "", branch_id: Any = None, control: str = "",
                      overdue: bool = False, owner_id: Any = None, source: str = "", today: date | None = None
                      ) -> QuerySet[Finding]:
    """The findings list: ``status`` may be a status or ``live`` (not closed); ``overdue`` = deadline passed while
    still open or under rectification; ``branch_id`` includes the branch's subtree."""
    today = today or timezone.localdate()
    qs = findings_visible(actor)
    if status == "live":
        qs = qs.exclude(status=Finding.Status.CLOSED)
    elif status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if branch_id:
        from bankcrm.org.models import Branch

        b = Branch.objects.filter(pk=branch_id).values_list("path", flat=True).first()
        qs = qs.filter(branch_path__startswith=b) if b else qs.none()
    if control:
        qs = qs.filter(control=control)
    if source:
        qs = qs.filter(source=source)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if overdue:
        qs = qs.filter(status__in=fr.RUNNING, due_on__lt=today)
    return qs.select_related("branch", "owner", "clause").order_by("-raised_at", "-id")


def actions_of(finding: Finding) -> QuerySet[FindingAction]:
    return finding.actions.select_related("owner", "created_by", "rechecked_by").order_by("due_on", "pk")


def accountabilities_of(finding: Finding) -> QuerySet[Accountability]:
    return finding.accountabilities.select_related("staff", "recorded_by").order_by("-recorded_at")


def timeline(finding: Finding) -> list[Any]:
    """The finding's audit events (and its actions'), oldest first: who did what, when."""
    from bankcrm.core import audit
    from bankcrm.core.models import AuditEvent

    action_ids = [str(pk) for pk in finding.actions.values_list("pk", flat=True)]
    q = Q(target_type="supervision.Finding", target_id=str(finding.pk))
    if action_ids:
        q |= Q(target_type="supervision.FindingAction", target_id__in=action_ids)
    events = list(AuditEvent.objects.filter(q).order_by("seq")[:200])
    for e in events:
        e.verb_label = audit.verb_label(e.verb)  # type: ignore[attr-defined]
    return events


def severity_counts(actor: Any) -> dict[str, int]:
    """Live findings in the actor's scope by severity (one query)."""
    from django.db.models import Count

    rows = (findings_visible(actor).exclude(status=Finding.Status.CLOSED).values("severity")
            .annotate(n=Count("id")))
    counts = {s: 0 for s in fr.SEVERITIES}
    for r in rows:
        counts[r["severity"]] = r["n"]
    return counts


def owned_open(actor: Any) -> QuerySet[Finding]:
    return findings_visible(actor).filter(owner=actor, status__in=fr.RUNNING).order_by("due_on", "pk")


def actions_due(actor: Any) -> QuerySet[FindingAction]:
    """Open or failed rectification actions the actor owns, soonest first."""
    return (FindingAction.objects.filter(owner=actor, status__in=[FindingAction.Status.OPEN, FindingAction.Status.FAILED],
                                         finding__in=findings_visible(actor))
            .select_related("finding").order_by("due_on", "pk"))


def awaiting_recheck(actor: Any) -> QuerySet[Finding]:
    """Findings the owner says are rectified, or that the data resolved, waiting for compliance."""
    if not access.can(actor, "supervision.findings"):
        return Finding.objects.none()
    return (findings_visible(actor).filter(Q(status=Finding.Status.RECTIFIED) |
                                           Q(auto_resolved_at__isnull=False, status__in=fr.LIVE))
            .exclude(owner=actor).order_by("rectified_at", "auto_resolved_at", "pk"))
