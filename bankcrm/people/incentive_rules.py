"""Incentive rules (DOMAIN_RULES.md §1 "incentive mechanism"): pure functions, no database.

**Allocation.** A pool of ``amount_fen`` is shared among members of staff by their final appraisal score:

- ``proportional``: everyone scoring at least ``min_score`` weighs their final score (a score of 85.00 weighs 8500);
  nobody below ``min_score`` gets anything. (The weight is the whole score, not the excess over the minimum: a
  member of staff just at the minimum still earns a share, and the shares of two people stay in the ratio of their
  scores, which is what staff expect "proportional to the score" to mean.)
- ``tiered``: ``tiers`` = ``[[tier_min_score, multiplier_percent], …]``; a member of staff weighs the multiplier of
  the highest tier their score reaches (and must also reach the scheme's ``min_score``). Multipliers never fall as
  the tier rises (``validate_tiers``), so the allocation is monotone in the score.

Each person is capped at ``cap_percent`` of the pool; what the cap cuts is shared again among the others by weight
("water filling"), until nobody is over the cap. Fen are rounded by the largest-remainder method, so the awards sum
**exactly** to the pool — or, when everyone eligible is at the cap (or nobody is eligible), to what can be given;
the rest is reported as ``undistributed_fen`` and stays with the bank.

**Clawback.** A complaint upheld against, or mis-selling found of, a member of staff within
``incentives.clawback_window`` months after an award was paid claws back a percentage of that award
(``incentives.clawback_complaint_percent`` / ``incentives.clawback_misselling_percent``), never more than what
remains unclawed.
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise

from django.utils.translation import gettext_lazy as _

from bankcrm.core.params import define

define("incentives.clawback_complaint_percent", "percent", 20, _("投诉成立时追索的绩效奖金比例"),
       "DOMAIN_RULES §1 incentive mechanism", maximum=100)
define("incentives.clawback_misselling_percent", "percent", 50, _("销售不当时追索的绩效奖金比例"),
       "DOMAIN_RULES §1 incentive mechanism", maximum=100)

PROPORTIONAL, TIERED = "proportional", "tiered"
SCORE_MAX = 10000


# ---- Allocation -------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """The result of sharing a pool: ``awards`` {key: fen} for everyone with a positive weight (a capped or rounded
    share may still be 0 in a degenerate pool), ``below_min`` the keys that got nothing because of their score,
    ``capped`` the keys held at the cap, and ``undistributed_fen`` what could not be given."""

    amount_fen: int
    awards: dict[Hashable, int]
    weights: dict[Hashable, int]
    below_min: list[Hashable] = field(default_factory=list)
    capped: list[Hashable] = field(default_factory=list)
    cap_fen: int = 0

    @property
    def distributed_fen(self) -> int:
        return sum(self.awards.values())

    @property
    def undistributed_fen(self) -> int:
        return self.amount_fen - self.distributed_fen


def validate_tiers(tiers: object) -> list[list[int]]:
    """Normalise ``tiers`` to ``[[min_score, multiplier_percent], …]`` sorted by score descending, or raise
    ValueError with a reason: scores 0–10000 and distinct, multipliers 0–1000 % and not falling as the score rises."""
    if not isinstance(tiers, (list, tuple)) or not tiers:
        raise ValueError("tiers must be a non-empty list of [min_score, multiplier_percent]")
    out = []
    for t in tiers:
        if not isinstance(t, (list, tuple)) or len(t) != 2:
            raise ValueError("each tier is [min_score, multiplier_percent]")
        try:
            s, m = int(t[0]), int(t[1])
        except (TypeError, ValueError):
            raise ValueError("tier values must be integers") from None
        if isinstance(t[0], bool) or isinstance(t[1], bool) or not 0 <= s <= SCORE_MAX or not 0 <= m <= 1000:
            raise ValueError("tier score must be 0–10000 and multiplier 0–1000")
        out.append([s, m])
    out.sort(key=lambda t: -t[0])
    scores = [t[0] for t in out]
    if len(set(scores)) != len(scores):
        raise ValueError("tier scores must be distinct")
    for higher, lower in pairwise(out):
        if higher[1] < lower[1]:
            raise ValueError("a higher tier cannot have a lower multiplier")
    return out


def weight_of(score: int, *, method: str, min_score: int, tiers: Iterable[Iterable[int]] = ()) -> int:
    """The weight a score carries under a scheme (0: nothing)."""
    if score < min_score:
        return 0
    if method == PROPORTIONAL:
        return max(0, score)
    if method == TIERED:
        for tier_min, multiplier in sorted((list(t) for t in tiers), key=lambda t: -t[0]):
            if score >= tier_min:
                return multiplier
        return 0
    raise ValueError(f"unknown allocation method {method!r}")


def _largest_remainder(total: int, weights: Mapping[Hashable, int], order: Mapping[Hashable, tuple[int, int]]) -> dict:
    """Split ``total`` fen exactly by ``weights`` (all > 0): floors, then one more fen to the largest remainders
    (ties: the larger weight, then ``order`` — the higher score, then the earlier key), so each share is the floor or
    the ceiling of its exact value and a higher score never gets less than a lower one of the same weight."""
    w_sum = sum(weights.values())
    shares, rems = {}, {}
    for k, w in weights.items():
        shares[k], rems[k] = divmod(total * w, w_sum)
    left = total - sum(shares.values())
    for k in sorted(weights, key=lambda k: (-rems[k], -weights[k], order[k]))[:left]:
        shares[k] += 1
    return shares


def allocate(amount_fen: int, scores: Mapping[Hashable, int], *, method: str = PROPORTIONAL, min_score: int = 0,
             tiers: Iterable[Iterable[int]] = (), cap_percent: int = 100) -> Allocation:
    """Share ``amount_fen`` among ``scores`` ({key: final score in hundredths}); see the module docstring.

    Water filling: everyone whose exact share of what is left would exceed the cap is held at the cap and leaves the
    round; the remainder is shared again among the rest, until no exact share exceeds the cap. Then the rest is
    rounded by largest remainder: an exact share below the cap rounds to at most its ceiling, which is still within
    the (integer) cap, so the cap holds after rounding."""
    if amount_fen < 0:
        raise ValueError("amount must not be negative")
    if not 0 <= cap_percent <= 100:
        raise ValueError("cap_percent must be 0–100")
    tiers = validate_tiers(tiers) if method == TIERED else []
    order = {k: (-int(s), i) for i, (k, s) in enumerate(scores.items())}
    weights = {k: weight_of(int(s), method=method, min_score=min_score, tiers=tiers) for k, s in scores.items()}
    below = [k for k, s in scores.items() if int(s) < min_score]
    active = {k: w for k, w in weights.items() if w > 0}
    cap = amount_fen * cap_percent // 100
    awards = {k: 0 for k in active}
    capped: list[Hashable] = []
    left = amount_fen
    while active:
        w_sum = sum(active.values())
        over = [k for k, w in active.items() if left * w > cap * w_sum]  # exact share > cap, in integers
        if not over:
            awards.update(_largest_remainder(left, active, order))
            left = 0
            break
        for k in over:
            awards[k] = cap
            left -= cap
            capped.append(k)
            del active[k]
    return Allocation(amount_fen=amount_fen, awards=awards, weights={k: weights[k] for k in awards},
                      below_min=below, capped=sorted(capped, key=lambda k: order[k]), cap_fen=cap)


def ranks(scores: Mapping[Hashable, int]) -> dict[Hashable, int]:
    """Competition ranking within a team (1, 2, 2, 4): equal scores share a rank."""
    ordered = sorted(scores.values(), reverse=True)
    return {k: ordered.index(s) + 1 for k, s in scores.items()}


# ---- Clawback ---------------------------------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, end-of-month safe: 31 January + 1 month = 28 (29) February."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def within_window(paid_on: date, found_on: date, months: int) -> bool:
    """A finding counts against a payout when it was made on or after the payout day and no later than ``months``
    months after it (the window's last day included)."""
    return paid_on <= found_on <= add_months(paid_on, months)


def clawback_amount(*, award_fen: int, clawed_fen: int, reserved_fen: int = 0, percent: int) -> int:
    """What one finding claws back from an award: ``percent`` of the award, rounded half up to the fen, never more
    than what remains unclawed (``award_fen`` − already clawed − other proposals still open, ``reserved_fen``)."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be 0–100")
    wanted = (award_fen * percent * 2 + 100) // 200
    remaining = max(0, award_fen - clawed_fen - reserved_fen)
    return max(0, min(wanted, remaining))
