"""Inspection sampling (supervision.inspection_rules): reproducible from the seed, per member of staff, random and
risk-weighted (weights respected statistically), populations smaller than n; plan dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bankcrm.supervision import inspection_rules as r
from bankcrm.supervision.inspection_rules import Candidate

populations = st.lists(
    st.builds(Candidate, pk=st.integers(1, 10_000), staff_id=st.sampled_from([None, 1, 2, 3]),
              weight=st.integers(1, 9)),
    min_size=0, max_size=60, unique_by=lambda c: c.pk)


@given(pop=populations, n=st.integers(0, 8), seed=st.integers(0, 2 ** 48), weighted=st.booleans())
@settings(max_examples=150, deadline=None)
def test_same_seed_same_sample_whatever_the_population_order(pop, n, seed, weighted):
    a = r.draw_per_staff(pop, n, seed=seed, kind="customer", weighted=weighted)
    b = r.draw_per_staff(list(reversed(pop)), n, seed=seed, kind="customer", weighted=weighted)
    assert a == b  # the database may return rows in any order: the draw orders by primary key first


@given(pop=populations, n=st.integers(0, 8), seed=st.integers(0, 2 ** 48), weighted=st.booleans())
@settings(max_examples=150, deadline=None)
def test_per_staff_sizes_and_small_populations(pop, n, seed, weighted):
    drawn = r.draw_per_staff(pop, n, seed=seed, kind="transaction", weighted=weighted)
    for staff in {c.staff_id for c in pop}:
        group = [c for c in pop if c.staff_id == staff]
        mine = [d for d in drawn if d.staff_id == staff]
        assert len(mine) == min(n, len(group))  # the whole group when it is smaller than n
        assert len({d.pk for d in mine}) == len(mine)  # without replacement
        assert {d.pk for d in mine} <= {c.pk for c in group}
        assert [d.position for d in mine] == list(range(len(mine)))


def test_different_seed_different_sample():
    pop = [Candidate(pk, 7, 1) for pk in range(1, 201)]
    samples = {tuple(d.pk for d in r.draw(pop, 5, seed=s, kind="customer", staff_id=7)) for s in range(20)}
    assert len(samples) == 20
    weighted = {tuple(d.pk for d in r.draw(pop, 5, seed=s, kind="customer", staff_id=7, weighted=True))
                for s in range(20)}
    assert len(weighted) == 20


def test_kinds_and_staff_draw_independent_streams():
    pop = [Candidate(pk, None, 1) for pk in range(1, 101)]
    a = [d.pk for d in r.draw(pop, 5, seed=42, kind="customer")]
    b = [d.pk for d in r.draw(pop, 5, seed=42, kind="complaint")]
    c = [d.pk for d in r.draw(pop, 5, seed=42, kind="customer", staff_id=3)]
    assert a != b and a != c


def test_known_draw_is_stable_across_versions():
    """A fixed seed gives a fixed sample: a change to the algorithm would silently change every stored inspection's
    sample, so this pins it."""
    pop = [Candidate(pk, 1, 1 + pk % 3) for pk in range(1, 31)]
    plain = [d.pk for d in r.draw(pop, 4, seed=20260101, kind="customer", staff_id=1)]
    heavy = [d.pk for d in r.draw(pop, 4, seed=20260101, kind="customer", staff_id=1, weighted=True)]
    assert plain == [2, 21, 25, 17]
    assert heavy == [19, 30, 24, 14]
    assert plain == [d.pk for d in r.draw(list(reversed(pop)), 4, seed=20260101, kind="customer", staff_id=1)]
    assert len(set(plain)) == 4 and len(set(heavy)) == 4


@given(seed=st.integers(0, 2 ** 32))
@settings(max_examples=5, deadline=None)
def test_weights_are_respected_statistically(seed):
    """Heavy records (weight 5) are drawn far more often than light ones (weight 1): with 10 heavy among 100 and 10
    draws, a heavy record's inclusion rate is several times a light one's (expected ≈ 3.5× for
    Efraimidis–Spirakis); unweighted draws treat them alike."""
    pop = [Candidate(pk, None, 5 if pk <= 10 else 1) for pk in range(1, 101)]
    heavy = light = heavy_u = light_u = 0
    runs = 300
    for i in range(runs):
        s = seed * 1000 + i
        for d in r.draw(pop, 10, seed=s, kind="customer", weighted=True):
            heavy, light = (heavy + 1, light) if d.pk <= 10 else (heavy, light + 1)
        for d in r.draw(pop, 10, seed=s, kind="customer", weighted=False):
            heavy_u, light_u = (heavy_u + 1, light_u) if d.pk <= 10 else (heavy_u, light_u + 1)
    heavy_rate, light_rate = heavy / (10 * runs), light / (90 * runs)
    assert heavy_rate / light_rate > 2.5
    assert 0.6 < (heavy_u / (10 * runs)) / (light_u / (90 * runs)) < 1.6


def test_weighted_first_draw_matches_weight_share():
    """The first key drawn follows the weights: P(item) = w / Σw. Two records of weight 3 and 1 → 75% / 25%."""
    pop = [Candidate(1, None, 3), Candidate(2, None, 1)]
    first = [r.draw(pop, 1, seed=s, kind="customer", weighted=True)[0].pk for s in range(4000)]
    share = first.count(1) / len(first)
    assert 0.72 < share < 0.78


def test_empty_and_zero():
    assert r.draw([], 5, seed=1, kind="customer") == []
    assert r.draw([Candidate(1, None)], 0, seed=1, kind="customer") == []
    assert r.draw_per_staff([], 3, seed=1, kind="customer") == []


# ---- Checklist results and plan dates ---------------------------------------------------------------------------
def test_item_result():
    assert r.item_result({"a": "yes", "b": "na"}, ["a", "b"]) == "pass"
    assert r.item_result({"a": "yes", "b": "no"}, ["a", "b"]) == "fail"
    assert r.item_result({"a": "na", "b": "na"}, ["a", "b"]) == "na"
    with pytest.raises(ValueError) as e:
        r.item_result({"a": "yes"}, ["a", "b"])
    assert e.value.args[0] == "b"
    with pytest.raises(ValueError):
        r.item_result({"a": "maybe"}, ["a"])


@pytest.mark.parametrize(("current", "freq", "nxt"), [
    (date(2026, 1, 31), "monthly", date(2026, 2, 28)),
    (date(2026, 1, 1), "monthly", date(2026, 2, 1)),
    (date(2025, 12, 1), "monthly", date(2026, 1, 1)),
    (date(2026, 1, 1), "quarterly", date(2026, 4, 1)),
    (date(2025, 11, 30), "quarterly", date(2026, 2, 28)),
])
def test_next_plan_date(current, freq, nxt):
    assert r.next_plan_date(current, freq) == nxt


def test_periods():
    assert r.period_before(date(2026, 4, 1), "quarterly") == (date(2026, 1, 1), date(2026, 3, 31))
    assert r.period_before(date(2026, 1, 15), "quarterly") == (date(2025, 10, 1), date(2025, 12, 31))
    assert r.period_before(date(2026, 3, 1), "monthly") == (date(2026, 2, 1), date(2026, 2, 28))
    assert r.first_plan_date(date(2026, 2, 10), "quarterly") == date(2026, 4, 1)
    assert r.first_plan_date(date(2026, 12, 10), "monthly") == date(2027, 1, 1)
    assert r.quarter_of(date(2026, 5, 20)) == ("2026Q2", date(2026, 4, 1))
    with pytest.raises(ValueError):
        r.next_plan_date(date(2026, 1, 1), "weekly")


def test_summarise():
    s = r.summarise([("customer", 1, "pass"), ("customer", 1, "fail"), ("complaint", None, "na")])
    assert (s["total"], s["pass"], s["fail"], s["na"], s["pass_rate"]) == (3, 1, 1, 1, 50.0)
    assert s["by_kind"]["customer"]["fail"] == 1 and s["by_staff"][""]["na"] == 1
