"""Incentive reads, scoped to the actor.

- Pools (and their schemes) are seen by holders of ``people.incentive_pools`` (supervisors, compliance,
  administrators) within their branch scope: a pool belongs to the branch it was made for.
- The allocation table of a pool (who gets what) is seen in scope by those who make pools (``people.incentives``),
  review the team (``people.review``) or approve payouts (``people.approve_incentives``: a checker must see what they
  approve). Rankings — positions within the pool's team, never across teams — only by ``people.incentives`` and
  ``people.review`` holders.
- Everyone sees their own awards once the pool is approved (a draft allocation may still change) and their own
  clawbacks; never anyone else's.
- The clawback queue is seen in scope by ``people.clawback`` holders (compliance: every branch; supervisors: their
  subtree).
An object outside what the actor may see is a 404 (``NotFound``), never a 403.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from . import incentive_rules as rules
from .models import Clawback, IncentiveAward, IncentivePool, IncentiveScheme, Period

VISIBLE_AWARD_STATUSES = (IncentivePool.Status.APPROVED, IncentivePool.Status.PAID)


def _id(value: Any) -> int | None:
    return int(value) if str(value).isdigit() else None


# ---- Schemes ------------------------------------------------------------------------------------------------------------
def schemes_visible(actor: Any) -> QuerySet[IncentiveScheme]:
    if not (access.can(actor, "people.incentive_pools") or access.can(actor, "people.manage_incentive_schemes")):
        return IncentiveScheme.objects.none()
    return IncentiveScheme.objects.all()


def scheme_get(actor: Any, scheme_id: Any) -> IncentiveScheme:
    s = schemes_visible(actor).filter(pk=_id(scheme_id)).first() if _id(scheme_id) else None
    if s is None:
        raise NotFound("scheme_not_found", _("激励方案不存在或无权查看"))
    return s


# ---- Pools --------------------------------------------------------------------------------------------------------------
def pools_visible(actor: Any) -> QuerySet[IncentivePool]:
    if not access.can(actor, "people.incentive_pools"):
        return IncentivePool.objects.none()
    return IncentivePool.objects.filter(access.branch_scope_q(actor, "branch_path"))


def pools_list(actor: Any, *, status: str = "", period_id: Any = None) -> QuerySet[IncentivePool]:
    qs = pools_visible(actor).select_related("branch", "period", "scheme", "created_by")
    if status:
        qs = qs.filter(status=status)
    if _id(period_id):
        qs = qs.filter(period_id=_id(period_id))
    return qs.annotate(awarded_fen=Sum("awards__amount_fen"), clawed_fen=Sum("awards__clawed_back_fen")).order_by(
        "-period__starts_on", "branch_path", "pk")


def pool_get(actor: Any, pool_id: Any, *, for_update: bool = False) -> IncentivePool:
    qs = pools_visible(actor).select_related("branch", "period", "scheme", "created_by", "approved_by",
                                             "pending_action", "paid_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    p = qs.filter(pk=_id(pool_id)).first() if _id(pool_id) else None
    if p is None:
        raise NotFound("pool_not_found", _("奖金池不存在或无权查看"))
    return p


def can_see_allocation(actor: Any, pool: IncentivePool) -> bool:
    """Who may read a pool's allocation table (the pool itself must already be visible to the actor)."""
    return any(access.can(actor, c) for c in ("people.incentives", "people.review", "people.approve_incentives"))


def can_see_ranking(actor: Any) -> bool:
    return access.can(actor, "people.incentives") or access.can(actor, "people.review")


def pool_awards(actor: Any, pool: IncentivePool) -> list[IncentiveAward]:
    """The allocation table of a visible pool, highest award first, each with ``rank`` within the pool's team when
    the actor may see rankings (else ``rank`` is None)."""
    if not can_see_allocation(actor, pool):
        return []
    rows = list(IncentiveAward.objects.filter(pool=pool).select_related("staff", "staff__branch", "scorecard")
                .order_by("-amount_fen", "-score", "staff__staff_no"))
    ranked = rules.ranks({a.pk: a.score for a in rows}) if can_see_ranking(actor) else {}
    for a in rows:
        a.rank = ranked.get(a.pk)  # type: ignore[attr-defined]
        a.remaining_fen = a.amount_fen - a.clawed_back_fen  # type: ignore[attr-defined]
    return rows


def pool_awards_for_export(actor: Any, pool: IncentivePool) -> QuerySet[IncentiveAward]:
    return IncentiveAward.objects.filter(pool=pool).select_related("staff", "staff__branch").order_by(
        "staff__branch__path", "staff__staff_no")


def periods_for_pools() -> QuerySet[Period]:
    """Appraisal periods a pool can be made for (reference data, not personal)."""
    return Period.objects.order_by("-starts_on", "kind")


def pools_awaiting_approval(actor: Any) -> QuerySet[IncentivePool]:
    """Pending pools the actor could approve (in scope, not made by the actor)."""
    if not access.can(actor, "people.approve_incentives"):
        return IncentivePool.objects.none()
    return (pools_visible(actor).filter(status=IncentivePool.Status.PENDING)
            .exclude(pending_action__maker=actor).select_related("branch", "period", "pending_action"))


# ---- Own awards ---------------------------------------------------------------------------------------------------------
def my_awards(actor: Any) -> QuerySet[IncentiveAward]:
    """The actor's own awards of approved or paid pools — never anyone else's."""
    if not access.can(actor, "people.my_incentives"):
        return IncentiveAward.objects.none()
    return (IncentiveAward.objects.filter(staff=actor, pool__status__in=VISIBLE_AWARD_STATUSES)
            .select_related("pool", "pool__period", "pool__branch", "pool__scheme").order_by("-pool__period__starts_on"))


def my_clawbacks(actor: Any) -> QuerySet[Clawback]:
    if not access.can(actor, "people.my_incentives"):
        return Clawback.objects.none()
    return Clawback.objects.filter(award__staff=actor).select_related("award", "award__pool", "award__pool__period")


# ---- Clawbacks ----------------------------------------------------------------------------------------------------------
def clawbacks_visible(actor: Any) -> QuerySet[Clawback]:
    if not access.can(actor, "people.clawback"):
        return Clawback.objects.none()
    return Clawback.objects.filter(access.branch_scope_q(actor, "award__pool__branch_path"))


def clawbacks_list(actor: Any, *, status: str = "") -> QuerySet[Clawback]:
    qs = clawbacks_visible(actor).select_related("award", "award__staff", "award__pool", "award__pool__period",
                                                 "award__pool__branch", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-found_at", "-pk")


def clawback_get(actor: Any, clawback_id: Any, *, for_update: bool = False) -> Clawback:
    qs = clawbacks_visible(actor).select_related("award", "award__staff", "award__pool", "award__pool__period",
                                                 "award__pool__branch", "decided_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    c = qs.filter(pk=_id(clawback_id)).first() if _id(clawback_id) else None
    if c is None:
        raise NotFound("clawback_not_found", _("追索记录不存在或无权查看"))
    return c


def clawbacks_to_decide(actor: Any) -> QuerySet[Clawback]:
    """Proposed clawbacks the actor may decide: in scope and not about the actor's own award."""
    return clawbacks_list(actor, status=Clawback.Status.PROPOSED).exclude(award__staff=actor)


def open_reserved_fen(award_id: int, *, exclude_id: int | None = None) -> int:
    """Fen of an award already spoken for by proposals still open (a bound for new ones)."""
    qs = Clawback.objects.filter(award_id=award_id, status=Clawback.Status.PROPOSED)
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    return qs.aggregate(s=Sum("amount_fen"))["s"] or 0


def awards_visible(actor: Any) -> QuerySet[IncentiveAward]:
    """Awards the actor may read anywhere: their own (approved or paid pools), and the allocation of pools in scope
    when they may see allocations."""
    if not getattr(actor, "is_authenticated", False):
        return IncentiveAward.objects.none()
    q = Q(staff=actor, pool__status__in=VISIBLE_AWARD_STATUSES) if access.can(actor, "people.my_incentives") \
        else Q(pk__in=[])
    if any(access.can(actor, c) for c in ("people.incentives", "people.review", "people.approve_incentives")):
        q |= Q(pool__in=pools_visible(actor).values("pk"))
    return IncentiveAward.objects.filter(q).select_related("staff", "pool", "pool__period", "pool__branch")
