"""Incentive rules (bankcrm/people/incentive_rules.py): allocation of a pool by score, clawback amounts and the
clawback window — hand-computed cases and Hypothesis properties. Pure functions: no database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bankcrm.people import incentive_rules as r

TIERS = [[9000, 150], [8000, 120], [7000, 100], [6000, 60]]


# ---- Hand-computed cases ----------------------------------------------------------------------------------------------
def test_proportional_hand_computed():
    # 10,000.00 yuan among 90 / 80 / 70 (min 60): weights 9000/8000/7000, sum 24000
    # exact: 375,000 / 333,333.33 / 291,666.67 fen → floors 375000, 333333, 291666 (left 1 fen → largest remainder .67)
    a = r.allocate(1_000_000, {"A": 9000, "B": 8000, "C": 7000, "D": 5500}, min_score=6000)
    assert a.awards == {"A": 375_000, "B": 333_333, "C": 291_667}
    assert a.below_min == ["D"] and "D" not in a.awards
    assert a.distributed_fen == 1_000_000 and a.undistributed_fen == 0


def test_cap_redistributes_what_it_cuts():
    # pool 1000 fen, cap 40 % = 400; weights 8000/1000/1000 → A exact 800 > 400: capped; the 600 left is shared
    # 1:1 by B and C = 300 each (both under the cap)
    a = r.allocate(1000, {"A": 8000, "B": 1000, "C": 1000}, cap_percent=40)
    assert a.awards == {"A": 400, "B": 300, "C": 300}
    assert a.capped == ["A"] and a.cap_fen == 400


def test_cap_cascades():
    # cap 35 % of 1000 = 350: A (exact 500) capped; 650 left by 3:2 → B 390 > 350 capped; C gets the 300 left
    a = r.allocate(1000, {"A": 5000, "B": 3000, "C": 2000}, cap_percent=35)
    assert a.awards == {"A": 350, "B": 350, "C": 300}
    assert a.capped == ["A", "B"]


def test_everybody_capped_leaves_a_remainder():
    # two eligible people, cap 30 % → at most 60 % of the pool can be given; 40 % remains undistributed
    a = r.allocate(100_000, {"A": 9000, "B": 6000, "C": 100}, min_score=6000, cap_percent=30)
    assert a.awards == {"A": 30_000, "B": 30_000}
    assert a.undistributed_fen == 40_000


def test_nobody_eligible():
    a = r.allocate(5000, {"A": 5000, "B": 5999}, min_score=6000)
    assert a.awards == {} and a.undistributed_fen == 5000 and a.below_min == ["A", "B"]


def test_tiered_hand_computed():
    # weights by tier: 95 → 150, 85 → 120, 72 → 100, 61 → 60, 55 → below min; sum 430
    # exact: 2000*150/430 = 697.67, *120 = 558.14, *100 = 465.12, *60 = 279.07 → floors 697/558/465/279 = 1999,
    # the last fen to the largest remainder (.67, A)
    a = r.allocate(2000, {"A": 9500, "B": 8500, "C": 7200, "D": 6100, "E": 5500}, method=r.TIERED, min_score=6000,
                   tiers=TIERS)
    assert a.awards == {"A": 698, "B": 558, "C": 465, "D": 279}
    assert a.weights == {"A": 150, "B": 120, "C": 100, "D": 60}
    assert sum(a.awards.values()) == 2000


def test_equal_scores_equal_shares_up_to_a_fen():
    a = r.allocate(100, {"A": 7000, "B": 7000, "C": 7000})
    assert sorted(a.awards.values()) == [33, 33, 34]
    assert a.awards["A"] == 34  # ties go to the earlier key: deterministic


@pytest.mark.parametrize("tiers", [[], [[6000, 50], [8000, 40]], [[6000, 50], [6000, 60]], [[12000, 1]],
                                   [[6000, "x"]], [[1, 2, 3]], "nope"])
def test_invalid_tiers(tiers):
    with pytest.raises(ValueError):
        r.validate_tiers(tiers)


def test_ranks_share_equal_scores():
    assert r.ranks({"A": 9000, "B": 8000, "C": 8000, "D": 7000}) == {"A": 1, "B": 2, "C": 2, "D": 4}


# ---- Clawback ---------------------------------------------------------------------------------------------------------
def test_add_months_end_of_month():
    assert r.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert r.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert r.add_months(date(2026, 10, 15), 24) == date(2028, 10, 15)
    assert r.add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
    assert r.add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_window():
    paid = date(2026, 10, 31)
    assert r.within_window(paid, paid, 24)
    assert r.within_window(paid, date(2028, 10, 31), 24)
    assert not r.within_window(paid, date(2028, 11, 1), 24)
    assert not r.within_window(paid, date(2026, 10, 30), 24)  # before the payout: the scorecard already saw it
    assert r.within_window(date(2026, 8, 31), date(2026, 9, 30), 1)
    assert not r.within_window(date(2026, 8, 31), date(2026, 10, 1), 1)


def test_clawback_amounts():
    assert r.clawback_amount(award_fen=300_000, clawed_fen=0, percent=20) == 60_000
    assert r.clawback_amount(award_fen=101, clawed_fen=0, percent=50) == 51  # 50.5 fen rounds half up
    assert r.clawback_amount(award_fen=300_000, clawed_fen=280_000, percent=20) == 20_000  # only what remains
    assert r.clawback_amount(award_fen=300_000, clawed_fen=200_000, reserved_fen=90_000, percent=50) == 10_000
    assert r.clawback_amount(award_fen=300_000, clawed_fen=300_000, percent=20) == 0
    with pytest.raises(ValueError):
        r.clawback_amount(award_fen=1, clawed_fen=0, percent=101)


# ---- Properties -------------------------------------------------------------------------------------------------------
scores_st = st.dictionaries(st.text("ABCDEFGHIJKLMNOP", min_size=1, max_size=3), st.integers(0, 10000),
                            min_size=0, max_size=25)
tiers_st = st.lists(st.tuples(st.integers(0, 10000), st.integers(0, 300)), min_size=1, max_size=5,
                    unique_by=lambda t: t[0]).map(
    lambda ts: [[s, m] for (s, _), m in zip(sorted(ts, key=lambda t: -t[0]),
                                             sorted((t[1] for t in ts), reverse=True), strict=True)])


@st.composite
def pools(draw):
    method = draw(st.sampled_from([r.PROPORTIONAL, r.TIERED]))
    return dict(amount_fen=draw(st.integers(0, 10**11)), scores=draw(scores_st), method=method,
                min_score=draw(st.integers(0, 10000)), tiers=draw(tiers_st) if method == r.TIERED else [],
                cap_percent=draw(st.integers(0, 100)))


def _run(p):
    return r.allocate(p["amount_fen"], p["scores"], method=p["method"], min_score=p["min_score"], tiers=p["tiers"],
                      cap_percent=p["cap_percent"])


@settings(max_examples=400, deadline=None)
@given(pools())
def test_sum_exact_or_everybody_capped(p):
    a = _run(p)
    assert all(v >= 0 for v in a.awards.values())
    assert a.distributed_fen <= p["amount_fen"]
    if a.undistributed_fen:
        # money is left only when nobody can take more: every positive-weight person is at the cap (or none exist)
        assert all(a.awards[k] == a.cap_fen for k in a.awards)
    else:
        assert a.distributed_fen == p["amount_fen"]


@settings(max_examples=400, deadline=None)
@given(pools())
def test_cap_respected(p):
    a = _run(p)
    assert all(v <= a.cap_fen for v in a.awards.values())
    assert a.cap_fen == p["amount_fen"] * p["cap_percent"] // 100


@settings(max_examples=400, deadline=None)
@given(pools())
def test_nobody_below_min_gets_money(p):
    a = _run(p)
    for k, s in p["scores"].items():
        if s < p["min_score"]:
            assert a.awards.get(k, 0) == 0
    assert set(a.below_min) == {k for k, s in p["scores"].items() if s < p["min_score"]}


@settings(max_examples=400, deadline=None)
@given(pools())
def test_monotone_in_score(p):
    a = _run(p)
    items = list(p["scores"].items())
    for k1, s1 in items:
        for k2, s2 in items:
            if s1 > s2:
                assert a.awards.get(k1, 0) >= a.awards.get(k2, 0), (k1, s1, k2, s2)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 100))
def test_clawback_never_exceeds_what_remains(award, clawed, reserved, percent):
    clawed = min(clawed, award)
    got = r.clawback_amount(award_fen=award, clawed_fen=clawed, reserved_fen=reserved, percent=percent)
    assert 0 <= got <= max(0, award - clawed - reserved)
    assert got <= award * percent // 100 + 1


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 120))
def test_add_months_is_safe(day, months):
    end = r.add_months(day, months)
    assert (end.year * 12 + end.month) - (day.year * 12 + day.month) == months
    assert end.day <= day.day
