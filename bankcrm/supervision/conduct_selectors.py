"""Reads for staff conduct, scoped to the actor: compliance at head office sees every branch, branch supervisors
their subtree. ``conduct_leave_overdue`` and ``conduct_rotation_overdue`` are control populations/exceptions the
coverage matrix can register (they take no actor: a control sees the whole bank; pass ``actor`` to scope)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from bankcrm.core import access, params
from bankcrm.core.models import ConductSignal

from . import conduct_rules as rules
from .models import LeaveRecord, RotationRecord, SignalRecord


def signals_visible(actor: Any) -> QuerySet[ConductSignal]:
    if not access.can(actor, "supervision.conduct"):
        return ConductSignal.objects.none()
    return ConductSignal.objects.filter(access.branch_scope_q(actor, "branch_path"))


def signal_list(actor: Any, *, kind: str = "", status: str = "", staff_no: str = "") -> QuerySet[ConductSignal]:
    qs = signals_visible(actor).select_related("staff", "staff__branch", "supervision", "supervision__finding",
                                               "closed_by")
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if staff_no:
        qs = qs.filter(staff__staff_no__iexact=staff_no.strip())
    return qs.order_by("-created_at", "-pk")


def signal_get(actor: Any, signal_id: int) -> ConductSignal:
    from django.utils.translation import gettext as _

    from bankcrm.core.errors import NotFound

    s = signal_list(actor).filter(pk=signal_id).first()
    if s is None:
        raise NotFound("signal_not_found", _("预警不存在或无权查看"))
    return s


def signal_counts(actor: Any) -> dict[str, int]:
    from django.db.models import Count

    return {r["kind"]: r["n"] for r in signals_visible(actor).filter(status=ConductSignal.Status.OPEN)
            .values("kind").annotate(n=Count("id")).order_by()}


def _key_post_staff(actor: Any = None):
    from bankcrm.org.models import RoleAssignment, Staff

    qs = Staff.objects.filter(is_active=True).filter(
        Exists(RoleAssignment.objects.filter(staff=OuterRef("pk"), role__in=rules.key_post_roles())))
    if actor is not None:
        qs = qs.filter(access.branch_scope_q(actor, "branch__path"))
    return qs.select_related("branch")


def conduct_key_post_staff(actor: Any = None):
    """The population of both checks: active staff holding a key-post role."""
    return _key_post_staff(actor)


def conduct_leave_overdue(actor: Any = None, today: date | None = None):
    """Key-post staff without a mandatory leave of ≥ ``conduct.mandatory_leave_days`` consecutive days that ended
    within the last ``conduct.mandatory_leave_period`` months."""
    today = today or timezone.localdate()
    since = today - relativedelta(months=params.value("conduct.mandatory_leave_period"))
    enough = LeaveRecord.objects.filter(staff=OuterRef("pk"), kind=LeaveRecord.Kind.MANDATORY,
                                        days__gte=params.value("conduct.mandatory_leave_days"),
                                        end_on__gte=since, start_on__lte=today)
    return _key_post_staff(actor).exclude(Exists(enough)).order_by("branch__path", "staff_no")


def conduct_rotation_overdue(actor: Any = None, today: date | None = None):
    """Key-post staff in the same post for more than ``conduct.rotation_years`` years. Time in post starts at the
    current ``RotationRecord`` of that post; without one, at the date the role was granted."""
    from bankcrm.org.models import RoleAssignment

    today = today or timezone.localdate()
    cutoff = today - relativedelta(years=params.value("conduct.rotation_years"))
    cutoff_dt = datetime.combine(cutoff, time.min, timezone.get_current_timezone())
    roles = rules.key_post_roles()
    long_record = RotationRecord.objects.filter(staff=OuterRef("pk"), to_on__isnull=True, post__in=roles,
                                                from_on__lte=cutoff)
    any_record = RotationRecord.objects.filter(staff=OuterRef("staff_id"), to_on__isnull=True,
                                               post=OuterRef("role"))
    old_grant_without_record = RoleAssignment.objects.filter(staff=OuterRef("pk"), role__in=roles,
                                                             granted_at__lt=cutoff_dt).exclude(Exists(any_record))
    return _key_post_staff(actor).filter(Q(Exists(long_record)) | Q(Exists(old_grant_without_record))) \
        .order_by("branch__path", "staff_no")


def leave_status(actor: Any, today: date | None = None) -> list[dict[str, Any]]:
    """Per key-post staff member in scope: last mandatory leave, current post since, and both flags."""
    today = today or timezone.localdate()
    people = list(_key_post_staff(actor).order_by("branch__path", "staff_no").prefetch_related("role_assignments"))
    ids = [p.pk for p in people]
    leave_over = set(conduct_leave_overdue(actor, today).values_list("pk", flat=True))
    rot_over = set(conduct_rotation_overdue(actor, today).values_list("pk", flat=True))
    last_leave: dict[int, LeaveRecord] = {}
    for rec in LeaveRecord.objects.filter(staff_id__in=ids, kind=LeaveRecord.Kind.MANDATORY).order_by("staff_id",
                                                                                                      "-end_on"):
        last_leave.setdefault(rec.staff_id, rec)
    posts: dict[int, RotationRecord] = {}
    for rec in RotationRecord.objects.filter(staff_id__in=ids, to_on__isnull=True).order_by("staff_id", "from_on"):
        posts.setdefault(rec.staff_id, rec)
    out = []
    for p in people:
        post = posts.get(p.pk)
        key_roles = sorted(r for r in p.roles if r in rules.key_post_roles())
        since = post.from_on if post else min(
            (timezone.localtime(a.granted_at).date() for a in p.role_assignments.all() if a.role in key_roles),
            default=None)
        out.append({"staff": p, "roles": key_roles, "last_leave": last_leave.get(p.pk), "post_since": since,
                    "years_in_post": round(rules.years_between(since, today), 1) if since else None,
                    "leave_overdue": p.pk in leave_over, "rotation_overdue": p.pk in rot_over})
    return out


def leave_records(actor: Any) -> QuerySet[LeaveRecord]:
    if not access.can(actor, "supervision.conduct"):
        return LeaveRecord.objects.none()
    return LeaveRecord.objects.filter(access.branch_scope_q(actor, "staff__branch__path")) \
        .select_related("staff", "staff__branch")


def rotation_records(actor: Any) -> QuerySet[RotationRecord]:
    if not access.can(actor, "supervision.conduct"):
        return RotationRecord.objects.none()
    return RotationRecord.objects.filter(access.branch_scope_q(actor, "branch__path")) \
        .select_related("staff", "branch")


def signal_records(actor: Any) -> QuerySet[SignalRecord]:
    return SignalRecord.objects.filter(signal__in=signals_visible(actor))
