"""Appraisal reads, scoped to the actor (ARCHITECTURE.md §2–3).

- Everyone with ``people.appraisal`` sees their own scorecards and appeals.
- Holders of ``people.review`` (branch supervisors) see the scorecards of their branch subtree, except that nobody
  reviews themselves; rankings are computed only within a team (the staff of one branch) and only for them.
- Holders of ``people.appeal_decide`` see the appeals (and their scorecards) of their scope; head-office compliance
  sees every branch. Administrators (``people.manage_appraisal``) see every scorecard to compute and configure.
An object outside the scope is a 404, never a 403.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from .models import Appeal, KpiScheme, Period, Scorecard

BUCKETS = [(0, 6000), (6000, 7000), (7000, 8000), (8000, 9000), (9000, 10001)]
BUCKET_LABELS = ["<60", "60–70", "70–80", "80–90", "≥90"]


def _scope_q(actor: Any, field: str = "branch_path") -> Q:
    """The actor's branch subtree; never an empty Q (``Q(x) | Q()`` is ``Q(x)``, which would lose "every branch")."""
    if access.scope_root(actor) is None:
        return Q(**{f"{field}__isnull": False})
    return access.branch_scope_q(actor, field)


def periods_visible(actor: Any) -> QuerySet[Period]:
    if not access.can(actor, "people.appraisal"):
        return Period.objects.none()
    return Period.objects.all()


def period_get(actor: Any, period_id: Any) -> Period:
    p = periods_visible(actor).filter(pk=period_id).first() if str(period_id).isdigit() else None
    if p is None:
        raise NotFound("period_not_found", _("考核期不存在"))
    return p


def current_period(actor: Any, *, kind: str = Period.Kind.QUARTER) -> Period | None:
    """The latest period of ``kind`` that has the actor's scorecards, else the latest open one."""
    own = Scorecard.objects.filter(staff=actor, period__kind=kind).order_by("-period__starts_on").first()
    if own is not None:
        return own.period
    return periods_visible(actor).filter(kind=kind).order_by("-starts_on").first()


def schemes_visible(actor: Any) -> QuerySet[KpiScheme]:
    if not access.can(actor, "people.appraisal"):
        return KpiScheme.objects.none()
    qs = KpiScheme.objects.prefetch_related("weights")
    if not access.can(actor, "people.manage_appraisal"):
        qs = qs.exclude(status=KpiScheme.Status.DRAFT)
    return qs


def scheme_get(actor: Any, scheme_id: Any) -> KpiScheme:
    s = schemes_visible(actor).filter(pk=scheme_id).first() if str(scheme_id).isdigit() else None
    if s is None:
        raise NotFound("scheme_not_found", _("考核方案不存在"))
    return s


def scorecards_visible(actor: Any) -> QuerySet[Scorecard]:
    if not access.can(actor, "people.appraisal"):
        return Scorecard.objects.none()
    scope = Q(staff=actor)
    if access.can(actor, "people.manage_appraisal"):
        scope |= _scope_q(actor)
    if access.can(actor, "people.review") or access.can(actor, "people.appeal_decide"):
        scope |= _scope_q(actor)
    return Scorecard.objects.filter(scope).select_related("staff", "period", "scheme", "branch")


def scorecard_get(actor: Any, scorecard_id: Any, *, for_update: bool = False) -> Scorecard:
    qs = scorecards_visible(actor).filter(pk=scorecard_id) if str(scorecard_id).isdigit() else Scorecard.objects.none()
    if for_update:
        qs = qs.select_for_update(of=("self",))
    card = qs.first()
    if card is None:
        raise NotFound("scorecard_not_found", _("考核记分卡不存在"))
    return card


def my_scorecards(actor: Any) -> QuerySet[Scorecard]:
    return scorecards_visible(actor).filter(staff=actor)


def team_scorecards(actor: Any, period: Period, *, status: str = "") -> QuerySet[Scorecard]:
    """The cards a supervisor reviews: their branch subtree for the period, never their own."""
    if not access.can(actor, "people.review"):
        return Scorecard.objects.none()
    qs = Scorecard.objects.filter(_scope_q(actor), period=period).exclude(staff=actor)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("staff", "branch", "scheme").order_by("branch_path", "staff__staff_no")


def team_rankings(actor: Any, cards: list[Scorecard]) -> dict[int, tuple[int, int]]:
    """{scorecard id: (rank, team size)} within each team (the staff of one branch); only for ``people.review``."""
    if not access.can(actor, "people.review"):
        return {}
    teams: dict[int, list[Scorecard]] = defaultdict(list)
    for c in cards:
        teams[c.branch_id].append(c)
    out = {}
    for members in teams.values():
        ordered = sorted(members, key=lambda c: -c.final_score)
        for c in ordered:
            # Equal scores share a rank (1, 2, 2, 4).
            out[c.pk] = (1 + sum(1 for o in ordered if o.final_score > c.final_score), len(ordered))
    return out


def branch_distribution(cards: list[Scorecard]) -> dict[str, Any]:
    """Per branch: how many cards in each score band, the mean and the count — what calibration looks at."""
    per: dict[int, dict[str, Any]] = {}
    for c in cards:
        d = per.setdefault(c.branch_id, {"branch": c.branch, "bands": [0] * len(BUCKETS), "total": 0, "n": 0})
        for i, (lo, hi) in enumerate(BUCKETS):
            if lo <= c.final_score < hi:
                d["bands"][i] += 1
        d["total"] += c.final_score
        d["n"] += 1
    out = []
    for d in per.values():
        d["mean"] = d["total"] // d["n"] if d["n"] else 0
        out.append(d)
    return {"labels": BUCKET_LABELS, "branches": sorted(out, key=lambda d: d["branch"].path)}


def appeals_visible(actor: Any) -> QuerySet[Appeal]:
    if not access.can(actor, "people.appraisal"):
        return Appeal.objects.none()
    scope = Q(raised_by=actor)
    if access.can(actor, "people.appeal_decide"):
        scope |= _scope_q(actor, "scorecard__branch_path")
    return Appeal.objects.filter(scope).select_related("scorecard", "scorecard__staff", "scorecard__period",
                                                       "raised_by", "decided_by")


def appeal_get(actor: Any, appeal_id: Any) -> Appeal:
    a = appeals_visible(actor).filter(pk=appeal_id).first() if str(appeal_id).isdigit() else None
    if a is None:
        raise NotFound("appeal_not_found", _("申诉不存在"))
    return a


def appeals_to_decide(actor: Any) -> QuerySet[Appeal]:
    if not access.can(actor, "people.appeal_decide"):
        return Appeal.objects.none()
    return (appeals_visible(actor).filter(status=Appeal.Status.OPEN).exclude(raised_by=actor)
            .exclude(scorecard__reviewer=actor))
