"""Scoped reads of access reviews. A review is visible to its reviewer and to whoever may read supervision data of
its branch (compliance everywhere, supervisors their subtree); anything else is NotFound.

``access_review_overdue_items()`` is the exception list the coverage matrix's control registry reads: roles still
unconfirmed after their review's due date."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from .models import AccessReview, AccessReviewItem

PENDING = AccessReviewItem.Decision.PENDING


def _visible_q(actor: Any, prefix: str = "") -> Q:
    if not getattr(actor, "is_authenticated", False):
        return Q(pk__in=[])
    mine = Q(**{f"{prefix}reviewer": actor}) if access.can(actor, "supervision.access_review") else Q(pk__in=[])
    if access.can(actor, "supervision.view"):
        if access.scope_root(actor) is None:
            return Q()  # every branch (an empty Q would vanish from an OR)
        return access.branch_scope_q(actor, f"{prefix}branch_path") | mine
    return mine


def reviews_visible(actor: Any, *, period: str = "", status: str = "", mine: bool = False) -> QuerySet[AccessReview]:
    qs = AccessReview.objects.filter(_visible_q(actor)).select_related("branch", "reviewer", "completed_by")
    if period:
        qs = qs.filter(period=period)
    if status:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(reviewer=actor)
    today = timezone.localdate()
    return qs.annotate(
        n_items=Count("items"),
        n_pending=Count("items", filter=Q(items__decision=PENDING)),
        n_revoked=Count("items", filter=Q(items__decision=AccessReviewItem.Decision.REVOKED)),
        n_overdue=Count("items", filter=Q(items__decision=PENDING, due_on__lt=today, status=AccessReview.Status.OPEN)),
    ).order_by("-period_start", "branch_path")


def review_get(actor: Any, review_id: Any, *, for_update: bool = False) -> AccessReview:
    qs = AccessReview.objects.filter(_visible_q(actor))
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.select_related("branch", "reviewer").get(pk=int(review_id))
    except (AccessReview.DoesNotExist, ValueError, TypeError):
        raise NotFound("access_review_not_found", _("权限复核不存在或无权查看")) from None


def item_get(actor: Any, item_id: Any, *, for_update: bool = False) -> AccessReviewItem:
    qs = AccessReviewItem.objects.filter(_visible_q(actor, "review__"))
    if for_update:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.select_related("review", "review__branch", "staff").get(pk=int(item_id))
    except (AccessReviewItem.DoesNotExist, ValueError, TypeError):
        raise NotFound("access_review_item_not_found", _("复核事项不存在或无权查看")) from None


def items_of(review: AccessReview) -> QuerySet[AccessReviewItem]:
    return review.items.select_related("staff", "staff__branch", "decided_by").order_by("staff__branch__path",
                                                                                        "staff__staff_no", "role")


def access_review_overdue_items(*, today: date | None = None, actor: Any = None) -> QuerySet[AccessReviewItem]:
    """Roles not yet confirmed or revoked whose review is past its due date (open reviews only). Without an actor
    (the control registry, a job) every branch; with one, the actor's scope."""
    today = today or timezone.localdate()
    qs = AccessReviewItem.objects.filter(decision=PENDING, review__status=AccessReview.Status.OPEN,
                                         review__due_on__lt=today)
    if actor is not None:
        qs = qs.filter(_visible_q(actor, "review__"))
    return qs.select_related("review", "review__branch", "staff").order_by("review__due_on", "review__branch_path",
                                                                           "staff__staff_no", "role")


def reviews_due_for(actor: Any) -> QuerySet[AccessReview]:
    """Open reviews the actor decides (their own as reviewer; the root's for head-office compliance)."""
    from bankcrm.core.access import Role

    if not access.can(actor, "supervision.access_review"):
        return AccessReview.objects.none()
    q = Q(reviewer=actor)
    if Role.COMPLIANCE_MANAGER in actor.roles and access.sees_all_branches(actor):
        q |= Q(reviewer__isnull=True)
    return reviews_visible(actor, status=AccessReview.Status.OPEN).filter(q).filter(n_pending__gt=0)
