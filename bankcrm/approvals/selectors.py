from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from bankcrm.core import access

from .models import PendingAction


def pending_for_checker(actor: Any) -> QuerySet[PendingAction]:
    """Items this actor could decide now: pending, not expired, not their own, within their branch scope."""
    if not access.can(actor, "approvals.approve"):
        return PendingAction.objects.none()
    return (PendingAction.objects.visible_to(actor)
            .filter(status=PendingAction.Status.PENDING, expires_at__gt=timezone.now())
            .exclude(maker=actor).select_related("maker", "maker__branch"))


def submitted_by(actor: Any) -> QuerySet[PendingAction]:
    return PendingAction.objects.filter(maker=actor).select_related("checker")


def approvals_visible(actor: Any) -> QuerySet[PendingAction]:
    return PendingAction.objects.visible_to(actor).select_related("maker", "checker")


def approval_get(actor: Any, pending_id: int) -> PendingAction:
    from django.utils.translation import gettext as _

    from bankcrm.core.errors import NotFound

    try:
        return approvals_visible(actor).get(pk=pending_id)
    except (PendingAction.DoesNotExist, ValueError, TypeError):
        raise NotFound("approval_not_found", _("待复核事项不存在或无权查看")) from None
