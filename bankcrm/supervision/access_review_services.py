"""Quarterly access reviews (DOMAIN_RULES.md §1 "Compliance manager … access reviews"; issue #10).

Each quarter (daily job, idempotent, and on demand by compliance) every role held by active staff is put before the
person who answers for them: the nearest branch supervisor at the staff member's branch or above, never the person
themself — a supervisor's own roles go to the supervisor above. Where no supervisor is found up to the root, the
root branch's review has no named reviewer and head-office compliance decides it. The reviewer confirms or revokes
each role (a revocation needs a reason and takes the role away at once, ending the person's sessions); roles still
unconfirmed after the due date are flagged (list, inbox, ``access_review_overdue_items`` for the control registry).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params
from bankcrm.core.access import Role
from bankcrm.core.errors import PermissionDenied, RuleViolation, ValidationFailed

from . import access_review_selectors as sel
from . import inspection_rules as rules
from .models import AccessReview, AccessReviewItem

params.define("supervision.access_review_days", "days", 30, gettext_lazy("季度权限复核完成时限（发起后天数）"),
              "DOMAIN_RULES §1 compliance", minimum=1, maximum=90)

D = AccessReviewItem.Decision


# ---- Who reviews whom ----------------------------------------------------------------------------------------------
def _ancestors(path: str) -> list[str]:
    """``/001/101/10101/`` → [``/001/101/10101/``, ``/001/101/``, ``/001/``] (nearest first)."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(len(parts), 0, -1)]


def review_plan(staff_roles: list[tuple[int, str, str, list[tuple[str, Any]]]],
                supervisors: dict[str, int]) -> dict[tuple[str, int | None], list[tuple[int, str, Any]]]:
    """Pure: group (staff id, staff no, branch path, [(role, granted_at)]) by (review branch path, reviewer id).

    ``supervisors`` maps a branch path to the supervisor who reviews it. A member of staff goes to the nearest
    supervisor at their branch or above who is not themself; with none up to the root, to (root, None)."""
    out: dict[tuple[str, int | None], list[tuple[int, str, Any]]] = {}
    for staff_id, _no, path, roles in staff_roles:
        chain = _ancestors(path)
        key: tuple[str, int | None] = (chain[-1], None)
        for p in chain:
            reviewer = supervisors.get(p)
            if reviewer is not None and reviewer != staff_id:
                key = (p, reviewer)
                break
        out.setdefault(key, []).extend((staff_id, role, granted) for role, granted in roles)
    return out


def may_decide(actor: Any, review: AccessReview) -> bool:
    if not access.can(actor, "supervision.access_review"):
        return False
    if review.reviewer_id is not None:
        return review.reviewer_id == actor.pk
    return Role.COMPLIANCE_MANAGER in actor.roles and access.sees_all_branches(actor)


# ---- Opening a quarter's reviews -------------------------------------------------------------------------------------
def access_reviews_open(*, actor: Any = None, today: date | None = None) -> list[AccessReview]:
    """Open (or complete the item lists of) this quarter's reviews: idempotent, so the daily job may run it every
    day and compliance may run it after roles changed mid-quarter. Roles granted later are added to the branch's
    open review; a review already completed is left as it is."""
    from bankcrm.org.models import Branch, RoleAssignment, Staff

    if actor is not None:
        access.require(actor, "supervision.access_reviews_open")
    today = today or timezone.localdate()
    period, start = rules.quarter_of(today)
    # N days from the day the review opens: the daily job opens it on the quarter's first day; a review first
    # opened later in the quarter (a new installation, a new branch) still gets the full time
    due = today + timedelta(days=params.value("supervision.access_review_days"))
    with transaction.atomic():
        branches = {b.path: b for b in Branch.objects.filter(is_active=True)}
        active = Staff.objects.filter(is_active=True).select_related("branch").order_by("staff_no")
        supervisors: dict[str, int] = {}
        for pk, path in (RoleAssignment.objects.filter(role=Role.BRANCH_SUPERVISOR, staff__is_active=True)
                         .order_by("staff__staff_no").values_list("staff_id", "staff__branch__path")):
            supervisors.setdefault(path, pk)
        roles: dict[int, list[tuple[str, Any]]] = {}
        for staff_id, role, granted in (RoleAssignment.objects.filter(staff__is_active=True)
                                        .order_by("staff_id", "role").values_list("staff_id", "role", "granted_at")):
            roles.setdefault(staff_id, []).append((role, granted))
        plan = review_plan([(s.pk, s.staff_no, s.branch.path, roles[s.pk]) for s in active if s.pk in roles],
                           supervisors)
        opened, added = [], 0
        now = timezone.now()
        for (path, reviewer), rows in sorted(plan.items(), key=lambda kv: kv[0][0]):
            branch = branches.get(path)
            if branch is None:
                continue
            review, created = AccessReview.objects.get_or_create(
                branch=branch, period=period,
                defaults={"branch_path": path, "period_start": start, "due_on": due, "reviewer_id": reviewer,
                          "created_at": now})
            if review.status == AccessReview.Status.COMPLETED:
                continue
            have = set(review.items.values_list("staff_id", "role"))
            new = [AccessReviewItem(review=review, staff_id=s, role=r, granted_at=g) for s, r, g in rows
                   if (s, r) not in have]
            AccessReviewItem.objects.bulk_create(new)
            added += len(new)
            if created or new:
                opened.append(review)
        if opened:
            audit.record(actor=actor, verb="supervision.access_reviews_opened", target_type="supervision.AccessReview",
                         target_id=period, target_repr=period,
                         after={"period": period, "reviews": [r.branch.code for r in opened], "items_added": added,
                                "due_on": due})
    return opened


# ---- Deciding ------------------------------------------------------------------------------------------------------------
def _remove_role(*, actor: Any, staff_id: int, role: str, reason: str) -> bool:
    """Take the role away through org's ``role_revoke`` (assignment deleted, auth version bumped, audited, sessions
    ended); False when it was already gone."""
    from bankcrm.org.services import role_revoke

    return role_revoke(actor=actor, staff_id=staff_id, role=role, reason=reason)


def access_review_decide(*, actor: Any, item_id: int, decision: str, reason: str = "") -> AccessReviewItem:
    """Confirm or revoke one role. Only the review's reviewer decides (head-office compliance at the root), never
    on their own roles; a revocation needs a reason and removes the role at once. A confirmation may still be turned
    into a revocation while the review is open; a revocation is final."""
    access.require(actor, "supervision.access_review")
    reason = (reason or "").strip()
    if decision not in (D.CONFIRMED, D.REVOKED):
        raise ValidationFailed("decision_invalid", _("请选择确认或撤销"), fields={"decision": [_("请选择确认或撤销")]})
    if decision == D.REVOKED and not reason:
        raise ValidationFailed("reason_required", _("撤销角色须填写理由"), fields={"reason": [_("请填写撤销理由")]})
    with transaction.atomic():
        item = sel.item_get(actor, item_id, for_update=True)
        review = item.review
        if not may_decide(actor, review):
            raise PermissionDenied("not_reviewer", _("只有该复核的复核人可以作出决定"), capability="supervision.access_review")
        if item.staff_id == actor.pk:
            raise RuleViolation("own_roles", _("不能复核本人的角色，本人角色由上级复核"))
        if review.status != AccessReview.Status.OPEN:
            raise RuleViolation("review_completed", _("该权限复核已完成"))
        if item.decision == D.REVOKED:
            raise RuleViolation("already_revoked", _("该角色已撤销"))
        if decision == D.CONFIRMED and not item.staff.role_assignments.filter(role=item.role).exists():
            raise RuleViolation("role_not_held", _("该员工已不再持有此角色，无需确认"))
        before = {"decision": item.decision}
        removed = False
        if decision == D.REVOKED:
            removed = _remove_role(actor=actor, staff_id=item.staff_id, role=item.role,
                                   reason=_("权限复核 %(p)s：%(r)s") % {"p": review.period, "r": reason})
        item.decision, item.reason, item.decided_by, item.decided_at = decision, reason[:300], actor, timezone.now()
        item.save(update_fields=["decision", "reason", "decided_by", "decided_at"])
        audit.record(actor=actor, verb="supervision.access_review_decided", target=item, before=before,
                     after={"decision": decision, "staff": item.staff.staff_no, "role": item.role,
                            "role_removed": removed}, reason=reason)
    return item


def access_review_complete(*, actor: Any, review_id: int) -> AccessReview:
    """Close the review once every role is decided (confirmed or revoked)."""
    access.require(actor, "supervision.access_review")
    with transaction.atomic():
        review = sel.review_get(actor, review_id, for_update=True)
        if not may_decide(actor, review):
            raise PermissionDenied("not_reviewer", _("只有该复核的复核人可以作出决定"), capability="supervision.access_review")
        if review.status != AccessReview.Status.OPEN:
            raise RuleViolation("review_completed", _("该权限复核已完成"))
        counts = {d: 0 for d in D.values}
        for d in review.items.values_list("decision", flat=True):
            counts[d] += 1
        if counts[D.PENDING]:
            raise RuleViolation("review_items_pending", _("还有 %(n)d 个角色未复核") % {"n": counts[D.PENDING]})
        review.status, review.completed_by, review.completed_at = AccessReview.Status.COMPLETED, actor, timezone.now()
        review.save(update_fields=["status", "completed_by", "completed_at"])
        audit.record(actor=actor, verb="supervision.access_review_completed", target=review,
                     before={"status": AccessReview.Status.OPEN},
                     after={"status": review.status, "confirmed": counts[D.CONFIRMED], "revoked": counts[D.REVOKED]})
    return review
