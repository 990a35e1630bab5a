"""KPI formulas (people.appraisal_rules): hand-computed cases and Hypothesis properties. Pure: no database."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bankcrm.people import appraisal_rules as r

W = r.WeightLine
KNOWN = {"csat": "higher", "nps": "higher", "complaint_rate": "lower", "retention": "higher", "findings": "lower",
         "training": "higher"}
SAT = {"csat", "nps"}


def _exact_half_up(n: int, d: int) -> int:
    """Reference: the exact rational rounded half up."""
    q = Fraction(n, d)
    return int((q + Fraction(1, 2)).__floor__())


# ---- hand-computed cases --------------------------------------------------------------------------------------------
def test_div_half_up_hand_cases():
    assert r.div_half_up(5, 2) == 3          # 2.5 → 3
    assert r.div_half_up(-5, 2) == -2        # −2.5 → −2 (half up: towards +∞)
    assert r.div_half_up(7, 3) == 2          # 2.33
    assert r.div_half_up(8, 3) == 3          # 2.67
    assert r.div_half_up(-8, 3) == -3        # −2.67
    assert r.div_half_up(5, -2) == -2        # sign of the divisor normalised
    with pytest.raises(ZeroDivisionError):
        r.div_half_up(1, 0)


def test_csat_average_hand_case():
    # answers 5, 4, 4 → 13 / 3 = 4.3333 points → 43333 ten-thousandths
    assert r.csat_average(13, 3) == 43333
    # 5, 4 → 4.5 exactly
    assert r.csat_average(9, 2) == 45000
    assert r.csat_average(0, 0) is None


def test_nps_hand_case():
    # 10, 9, 9 promoters; 8, 7 passive; 6, 3 detractors: (3 − 2) / 7 = 0.142857 → 1429 (NPS 14.29)
    scores = [10, 9, 9, 8, 7, 6, 3]
    assert r.nps_counts(scores) == (1, 7)
    assert r.nps(scores) == 1429
    assert r.nps([10, 10]) == 10000
    assert r.nps([0, 6]) == -10000
    assert r.nps([]) is None


def test_rates_growth_counts():
    assert r.rate(2, 3) == 6667
    assert r.rate(1, 8) == 1250
    assert r.rate(0, 0) is None
    assert r.growth(1_000_000, 1_050_000) == 500        # +5.00%
    assert r.growth(1_000_000, 940_000) == -600         # −6.00%
    assert r.growth(0, 10) is None
    assert r.count_value(3) == 30000
    # per-100 customers: 3 complaints over 120 customers = 2.5 per 100 → 25000
    assert r.ratio(3, 120, 100 * r.SCALE) == 25000


def test_metric_score_both_directions():
    # higher is better: floor 3.0, target 4.8 points; 4.35 → (4.35 − 3.0) / 1.8 = 75%
    assert r.metric_score(43500, 30000, 48000) == 7500
    assert r.metric_score(48000, 30000, 48000) == 10000
    assert r.metric_score(50000, 30000, 48000) == 10000      # clamped at 100
    assert r.metric_score(20000, 30000, 48000) == 0          # clamped at 0
    # lower is better: floor 5 per 100 customers, target 0; 2.5 → 50%
    assert r.metric_score(25000, 50000, 0) == 5000
    assert r.metric_score(0, 50000, 0) == 10000
    assert r.metric_score(80000, 50000, 0) == 0
    # growth with a negative floor: −5% → 0, +10% → 100; +2.5% → (250 + 500) / 1500 = 50%
    assert r.metric_score(250, -500, 1000) == 5000
    # rounding: (1 − 0) × 10000 / 3 = 3333.33 → 3333
    assert r.metric_score(1, 0, 3) == 3333
    assert r.metric_score(2, 0, 3) == 6667
    assert r.metric_score(None, 0, 3) is None
    with pytest.raises(ValueError):
        r.metric_score(1, 2, 2)


def test_weighted_total_hand_case():
    # 30% × 75.00 + 70% × 50.00 = 22.5 + 35 = 57.50
    assert r.weighted_total([(30, 7500), (70, 5000)]) == 5750
    # one metric not measured: the others keep their relative weights: (30 × 7500 + 20 × 5000) / 50 = 6500
    assert r.weighted_total([(30, 7500), (20, 5000), (50, None)]) == 6500
    assert r.weighted_total([(100, None)]) == 0
    assert r.weighted(30, 7500) == 2250
    assert r.weighted(30, None) == 0
    # rounding of the total: (33 × 3333 + 67 × 6667) / 100 = 5566.78 → 5567
    assert r.weighted_total([(33, 3333), (67, 6667)]) == 5567


def test_periods():
    assert r.period_bounds(2026, 1) == (date(2026, 1, 1), date(2026, 3, 31))
    assert r.period_bounds(2024, 1) == (date(2024, 1, 1), date(2024, 3, 31))
    assert r.period_bounds(2026, 2) == (date(2026, 4, 1), date(2026, 6, 30))
    assert r.period_bounds(2026, 3) == (date(2026, 7, 1), date(2026, 9, 30))
    assert r.period_bounds(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    assert r.period_bounds(2026, None) == (date(2026, 1, 1), date(2026, 12, 31))
    with pytest.raises(ValueError):
        r.period_bounds(2026, 5)
    assert r.quarter_of(date(2026, 11, 29)) == 4
    assert r.within_days(date(2026, 10, 1), date(2026, 10, 16), 15)
    assert not r.within_days(date(2026, 10, 1), date(2026, 10, 17), 15)


# ---- scheme validation -----------------------------------------------------------------------------------------------
def _validate(lines, customer_facing=True, minimum=40):
    return {p.code for p in r.validate_scheme(lines, known=KNOWN, satisfaction=SAT, satisfaction_min=minimum,
                                               customer_facing=customer_facing)}


GOOD = [W("csat", 30, 30000, 48000), W("nps", 12, 0, 6000), W("complaint_rate", 20, 50000, 0),
        W("retention", 20, 8500, 9900), W("findings", 8, 30000, 0), W("training", 10, 5000, 10000)]


def test_valid_customer_manager_scheme():
    assert _validate(GOOD) == set()


def test_scheme_problems_are_all_named():
    bad = [W("csat", 20, 30000, 48000), W("nps", 10, 0, 6000), W("retention", 25, 9900, 8500),
           W("complaint_rate", 25, 0, 50000), W("unknown", 10, 0, 1), W("training", 5, 1, 1)]
    got = _validate(bad)
    assert {"satisfaction_weight", "csat_not_heaviest", "direction_higher", "direction_lower", "metric_unknown",
            "floor_equals_target", "weights_sum"} <= got


def test_satisfaction_minimum_is_a_parameter():
    lines = [W("csat", 35, 30000, 48000), W("nps", 5, 0, 6000), W("retention", 30, 8500, 9900),
             W("training", 30, 5000, 10000)]
    assert "satisfaction_weight" not in _validate(lines, minimum=40)
    assert "satisfaction_weight" in _validate(lines, minimum=41)
    # not a customer manager's scheme: no satisfaction rule
    assert _validate([W("training", 60, 5000, 10000), W("findings", 40, 30000, 0)], customer_facing=False) == set()


def test_csat_must_be_strictly_heaviest():
    lines = [W("csat", 30, 30000, 48000), W("nps", 10, 0, 6000), W("retention", 30, 8500, 9900),
             W("training", 30, 5000, 10000)]
    assert "csat_not_heaviest" in _validate(lines)
    assert "csat_missing" in _validate([W("nps", 50, 0, 6000), W("retention", 50, 8500, 9900)])
    assert "metric_duplicate" in _validate(GOOD + [W("csat", 1, 0, 1)])
    assert "scheme_empty" in _validate([])


def test_level_support():
    got = r.validate_scheme([W("csat", 100, 30000, 48000)], known=KNOWN, satisfaction=SAT, satisfaction_min=40,
                            customer_facing=False, supported={"nps"})
    assert {p.code for p in got} == {"metric_level"}


# ---- properties --------------------------------------------------------------------------------------------------------
ints = st.integers(min_value=-10**12, max_value=10**12)
pos = st.integers(min_value=1, max_value=10**9)


@given(ints, st.integers(min_value=-10**9, max_value=10**9).filter(lambda d: d != 0))
def test_div_half_up_is_exact_rounding(n, d):
    assert r.div_half_up(n, d) == _exact_half_up(n, d)


@given(st.integers(min_value=-10**7, max_value=10**7), st.integers(min_value=-10**6, max_value=10**6),
       st.integers(min_value=-10**6, max_value=10**6))
def test_score_is_clamped_and_monotone(value, floor, target):
    if floor == target:
        return
    s = r.metric_score(value, floor, target)
    assert 0 <= s <= 10000
    if value == target:
        assert s == 10000
    if value == floor:
        assert s == 0
    better = value + (1 if target > floor else -1)
    assert r.metric_score(better, floor, target) >= s


@given(st.lists(st.tuples(st.integers(min_value=1, max_value=100),
                          st.one_of(st.none(), st.integers(min_value=0, max_value=10000))), min_size=1, max_size=12))
def test_weighted_total_between_min_and_max_measured(lines):
    total = r.weighted_total(lines)
    measured = [s for _w, s in lines if s is not None]
    if not measured:
        assert total == 0
    else:
        assert min(measured) <= total <= max(measured)


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=200))
def test_nps_bounds_and_definition(scores):
    v = r.nps(scores)
    assert -10000 <= v <= 10000
    prom = sum(1 for s in scores if s >= 9)
    det = sum(1 for s in scores if s <= 6)
    assert v == _exact_half_up((prom - det) * 10000, len(scores))


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=200))
def test_csat_average_bounds(scores):
    v = r.csat_average(sum(scores), len(scores))
    assert 10000 <= v <= 50000
    assert v == _exact_half_up(sum(scores) * 10000, len(scores))


@given(pos, st.integers(min_value=0, max_value=10**9))
def test_rate_and_growth_exact(whole, part):
    assert r.rate(part, whole) == _exact_half_up(part * 10000, whole)
    assert r.growth(whole, part) == _exact_half_up((part - whole) * 10000, whole)
