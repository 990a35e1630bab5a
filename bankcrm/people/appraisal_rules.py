"""KPI formulas of the appraisal (DOMAIN_RULES.md §1 "customer-oriented appraisal"): pure functions, integers only.

Units (models.py docstring): a metric's value is an integer in ten-thousandths of its unit (a rate of 0.9731 → 9731,
a CSAT average of 4.35 points → 43500, three findings → 30000); a score is an integer in hundredths of a point
(0–10000). Every division rounds half up (towards +∞ on the half), so the bulk computation and the hand-written SQL
reference (P7) agree to the last hundredth. No database access here: property-tested with Hypothesis.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

SCALE = 10_000       # value unit: ten-thousandths
SCORE_MAX = 10_000   # 100.00 points
PROMOTER_MIN = 9     # NPS 9–10
DETRACTOR_MAX = 6    # NPS 0–6


def div_half_up(n: int, d: int) -> int:
    """n / d rounded half up (towards +∞ on an exact half), for any sign of n and d ≠ 0."""
    if d == 0:
        raise ZeroDivisionError("div_half_up by zero")
    if d < 0:
        n, d = -n, -d
    return (2 * n + d) // (2 * d)


def clamp(v: int, lo: int = 0, hi: int = SCORE_MAX) -> int:
    return lo if v < lo else hi if v > hi else v


# ---- values from numerator / denominator ---------------------------------------------------------------------------
def ratio(numerator: int, denominator: int, scale: int = SCALE) -> int | None:
    """numerator × scale ÷ denominator, rounded half up; None when there is nothing to measure (denominator 0)."""
    if denominator == 0:
        return None
    return div_half_up(numerator * scale, denominator)


def rate(part: int, whole: int) -> int | None:
    """A share (0.9731 → 9731)."""
    return ratio(part, whole)


def csat_average(total_points: int, answers: int) -> int | None:
    """The mean CSAT score (1–5 points) in ten-thousandths of a point."""
    return ratio(total_points, answers)


def nps_counts(scores: Iterable[int]) -> tuple[int, int]:
    """(promoters − detractors, answers) of 0–10 scores: the numerator and denominator of NPS."""
    n = net = 0
    for s in scores:
        n += 1
        net += 1 if s >= PROMOTER_MIN else -1 if s <= DETRACTOR_MAX else 0
    return net, n


def nps(scores: Iterable[int]) -> int | None:
    """Net promoter score as a fraction in ten-thousandths: % promoters (9–10) − % detractors (0–6); 10000 = +100."""
    net, n = nps_counts(scores)
    return ratio(net, n)


def growth(first: int, last: int) -> int | None:
    """(last − first) ÷ first in ten-thousandths; None when the base is 0 (growth from nothing is not a rate)."""
    if first <= 0:
        return None
    return ratio(last - first, first)


def count_value(n: int) -> int:
    """A count in the value unit (3 findings → 30000)."""
    return n * SCALE


# ---- scoring -------------------------------------------------------------------------------------------------------
def metric_score(value: int | None, floor: int, target: int) -> int | None:
    """0 at ``floor``, 10000 at ``target``, linear between, clamped; works both ways (for a lower-is-better metric
    ``floor`` > ``target``). None when the value is None (not measured)."""
    if value is None:
        return None
    if floor == target:
        raise ValueError("floor equals target")
    sign = 1 if target > floor else -1
    return clamp(div_half_up((value - floor) * SCORE_MAX * sign, (target - floor) * sign))


def weighted(weight: int, score: int | None) -> int:
    """A line's contribution in hundredths when every metric is measured (weight in percent)."""
    return 0 if score is None else div_half_up(weight * score, 100)


def weighted_total(lines: Iterable[tuple[int, int | None]]) -> int:
    """The scorecard's score from ``(weight, score)`` lines: Σ weight × score ÷ Σ weight over the measured lines
    (score not None). A metric with nothing to measure (no survey answered, no complaint handled) is left out and the
    others keep their relative weights; nothing measured at all scores 0."""
    num = den = 0
    for w, s in lines:
        if s is None:
            continue
        num += w * s
        den += w
    return div_half_up(num, den) if den else 0


# ---- scheme validation ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    metric: str = ""  # the line the problem is about, if any


@dataclass(frozen=True)
class WeightLine:
    metric: str
    weight: int
    floor: int
    target: int


def validate_scheme(lines: Sequence[WeightLine], *, known: dict[str, str], satisfaction: set[str],
                    satisfaction_min: int, customer_facing: bool, supported: set[str] | None = None,
                    csat_code: str = "csat") -> list[Problem]:
    """Every problem of a scheme's lines, each named (the service turns them into field errors).

    ``known``: metric code → its direction (``higher`` / ``lower``); ``satisfaction``: the satisfaction metrics;
    ``customer_facing``: the scheme is for customer managers, so the satisfaction metrics together weigh at least
    ``satisfaction_min`` percent and CSAT is the heaviest single metric; ``supported``: metrics available at the
    scheme's level (branch-level schemes of supervisors), None for all."""
    out: list[Problem] = []
    if not lines:
        return [Problem("scheme_empty", _("考核方案至少需要一个指标"))]
    seen: set[str] = set()
    for ln in lines:
        if ln.metric not in known:
            out.append(Problem("metric_unknown", _("未知指标：%(m)s") % {"m": ln.metric}, ln.metric))
            continue
        if ln.metric in seen:
            out.append(Problem("metric_duplicate", _("指标重复：%(m)s") % {"m": ln.metric}, ln.metric))
        seen.add(ln.metric)
        if supported is not None and ln.metric not in supported:
            out.append(Problem("metric_level", _("该角色的方案不能使用指标：%(m)s") % {"m": ln.metric}, ln.metric))
        if not 1 <= ln.weight <= 100:
            out.append(Problem("weight_range", _("权重须在 1–100 之间"), ln.metric))
        if ln.floor == ln.target:
            out.append(Problem("floor_equals_target", _("零分值与满分值不能相同"), ln.metric))
        elif known[ln.metric] == "higher" and ln.floor > ln.target:
            out.append(Problem("direction_higher", _("越高越好的指标，满分值须高于零分值"), ln.metric))
        elif known[ln.metric] == "lower" and ln.floor < ln.target:
            out.append(Problem("direction_lower", _("越低越好的指标，满分值须低于零分值"), ln.metric))
    total = sum(ln.weight for ln in lines)
    if total != 100:
        out.append(Problem("weights_sum", _("权重合计须为 100%%，当前为 %(t)s%%") % {"t": total}))
    if customer_facing:
        sat = sum(ln.weight for ln in lines if ln.metric in satisfaction)
        if sat < satisfaction_min:
            out.append(Problem("satisfaction_weight",
                               _("客户满意度类指标合计权重须不低于 %(m)s%%，当前为 %(s)s%%") % {"m": satisfaction_min, "s": sat}))
        csat = [ln.weight for ln in lines if ln.metric == csat_code]
        others = [ln.weight for ln in lines if ln.metric != csat_code]
        if not csat:
            out.append(Problem("csat_missing", _("客户经理的考核方案必须包含客户满意度（CSAT）指标")))
        elif others and max(others) >= csat[0]:
            out.append(Problem("csat_not_heaviest", _("客户满意度（CSAT）必须是权重最高的单项指标"), csat_code))
    return out


# ---- periods -------------------------------------------------------------------------------------------------------
def period_bounds(year: int, quarter: int | None) -> tuple[date, date]:
    """First and last day of a quarter (1–4) or, with ``quarter`` None, of the year."""
    if quarter is None:
        return date(year, 1, 1), date(year, 12, 31)
    if not 1 <= quarter <= 4:
        raise ValueError("quarter must be 1–4")
    start = date(year, 3 * quarter - 2, 1)
    end = date(year, 12, 31) if quarter == 4 else date.fromordinal(date(year, 3 * quarter + 1, 1).toordinal() - 1)
    return start, end


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def within_days(start: date, day: date, days: int) -> bool:
    """``day`` is no later than ``days`` calendar days after ``start`` (appeal windows)."""
    return (day - start).days <= days
