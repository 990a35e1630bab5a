"""Pure rules of management reports (no database): periods and their keys, the periods a schedule is due for,
the branch a record is grouped under, percentages, NPS, medians and 万元."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bankcrm.reports import report_rules as rules
from bankcrm.reports.report_rules import Period, PeriodError

TODAY = date(2026, 11, 29)


def test_period_keys_and_bounds():
    p = rules.parse_period("2026-02", today=TODAY)
    assert (p.kind, p.start, p.end, p.key) == ("month", date(2026, 2, 1), date(2026, 2, 28), "2026-02")
    assert rules.parse_period("2024-02", today=TODAY).end == date(2024, 2, 29)
    q = rules.parse_period("2026-Q3", today=TODAY)
    assert (q.start, q.end, q.key) == (date(2026, 7, 1), date(2026, 9, 30), "2026-Q3")
    y = rules.parse_period("2025", today=TODAY)
    assert (y.start, y.end, y.key) == (date(2025, 1, 1), date(2025, 12, 31), "2025")
    w = rules.parse_period("2026-W09", today=TODAY)
    assert (w.start, w.end, w.key) == (date(2026, 2, 23), date(2026, 3, 1), "2026-W09")
    d = rules.parse_period("2026-03-03", today=TODAY)
    assert (d.kind, d.start, d.end) == ("day", date(2026, 3, 3), date(2026, 3, 3))
    r = rules.parse_period("range", "2026-01-15", "2026-03-02", today=TODAY)
    assert (r.key, r.query()) == ("2026-01-15~2026-03-02", {"period": "range", "start": "2026-01-15",
                                                            "end": "2026-03-02"})
    assert [m[0] for m in r.months()] == ["2026-01", "2026-02", "2026-03"]
    assert r.months()[0][1:] == (date(2026, 1, 15), date(2026, 1, 31)) and r.months()[-1][2] == date(2026, 3, 2)
    # the running quarter: stock figures are read today
    assert rules.parse_period("2026-Q4", today=TODAY).as_of(TODAY) == TODAY
    assert q.as_of(TODAY) == date(2026, 9, 30)


@pytest.mark.parametrize("value,start,end,code,field", [
    ("2026-13", "", "", "period_invalid", "period"), ("2026-Q5", "", "", "period_invalid", "period"),
    ("26", "", "", "period_invalid", "period"), ("0000", "", "", "period_invalid", "period"),
    ("2026-W60", "", "", "period_invalid", "period"), ("1999", "", "", "period_invalid", "period"),
    ("2027", "", "", "period_future", "period"), ("2026-12-01", "", "", "period_future", "period"),
    ("range", "2026-05-02", "2026-05-01", "range_reversed", "end"),
    ("range", "2023-01-01", "2026-01-31", "range_too_long", "end"),
    ("range", "2026-02-30", "2026-03-01", "date_invalid", "start"),
    ("range", "2026-12-01", "2026-12-31", "period_future", "start"),
])
def test_bad_periods_are_refused_with_a_code_and_a_field(value, start, end, code, field):
    with pytest.raises(PeriodError) as exc:
        rules.parse_period(value, start, end, today=TODAY)
    assert (exc.value.code, exc.value.field) == (code, field)


@given(st.dates(min_value=date(2001, 1, 1), max_value=TODAY),
       st.sampled_from([rules.MONTH, rules.QUARTER, rules.YEAR, rules.WEEK, rules.DAY]))
def test_a_key_reads_back_as_the_same_period_and_its_months_tile_it(day, kind):
    p = {rules.MONTH: rules.month_period(day.year, day.month),
         rules.QUARTER: rules.quarter_period(day.year, (day.month - 1) // 3 + 1),
         rules.YEAR: rules.year_period(day.year),
         rules.WEEK: rules.week_period(*day.isocalendar()[:2]),
         rules.DAY: Period(rules.DAY, day, day)}[kind]
    if p.start > TODAY:
        return
    assert rules.parse_period(p.key, today=TODAY) == p and p.start <= day <= p.end
    months = p.months()
    assert months[0][1] == p.start and months[-1][2] == p.end
    for (_k1, _a, end), (_k2, start, _b) in pairwise(months):
        assert start == end + timedelta(days=1)


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)))
def test_due_periods_are_complete_before_today_and_follow_each_other(today):
    for freq in (rules.DAILY, rules.WEEKLY, rules.MONTHLY):
        p = rules.due_period(freq, today)
        assert p.end < today
        nxt = rules.due_period(freq, p.end + timedelta(days=1) + (timedelta(days=7) if freq == rules.WEEKLY else
                                                                 timedelta(days=31) if freq == rules.MONTHLY else
                                                                 timedelta(days=1)))
        assert nxt.start == p.end + timedelta(days=1)  # no gap, no overlap
    assert rules.due_period(rules.WEEKLY, today).start.weekday() == 0


def test_due_periods_examples():
    wed = date(2026, 3, 4)
    assert rules.due_period("daily", wed).key == "2026-03-03"
    assert rules.due_period("weekly", wed).key == "2026-W09"
    assert rules.due_period("monthly", wed).key == "2026-02"
    assert rules.due_period("weekly", date(2026, 3, 2)).key == "2026-W09"  # a Monday: last week is complete
    assert rules.due_period("monthly", date(2026, 1, 1)).key == "2025-12"
    p = rules.due_period("monthly", wed)
    assert rules.run_file_name(7, "complaints", p, "pdf") == "2026/02/s7-complaints-2026-02.pdf"
    r = Period(rules.RANGE, date(2026, 1, 1), date(2026, 1, 31))
    assert rules.run_file_name(7, "training", r, "xlsx") == "2026/01/s7-training-2026-01-01_2026-01-31.xlsx"


def test_group_path():
    assert rules.group_path("/001/101/10101/", "/001/") == "/001/101/"
    assert rules.group_path("/001/101/", "/001/") == "/001/101/"
    assert rules.group_path("/001/", "/001/") == "/001/"
    assert rules.group_path("/001/101/10101/", "/001/101/") == "/001/101/10101/"
    assert rules.group_path("/001/102/", "/001/101/") == ""
    assert rules.group_path("/002/5/", "/") == "/002/"
    assert rules.group_path("", "/001/") == ""


def test_figures():
    assert rules.pct(2, 3) == 66.7 and rules.pct(1, 8) == 12.5 and rules.pct(0, 4) == 0.0
    assert rules.pct(1, 0) is None and rules.pct(0, None) is None
    assert rules.pct(1, 16) == 6.3  # 6.25 rounds half up
    assert rules.nps(1, 1, 3) == 0.0 and rules.nps(2, 0, 3) == 66.7 and rules.nps(0, 1, 1) == -100.0
    assert rules.nps(0, 0, 0) is None
    assert rules.median([8, 25, 27]) == 25 and rules.median([8, 25]) == 16.5 and rules.median([]) is None
    assert rules.wan(123_456_789) == Decimal("123.46") and rules.wan(5_000) == Decimal("0.01") and rules.wan(None) == 0
    assert rules.display(12_600_000, "money") == "12.60" and rules.display(1_234_567_890_00, "money") == "123,456.79"
    assert rules.display(None, "pct") == "—" and rules.display(66.7, "pct") == "66.7%" and rules.display(-100.0,
                                                                                                          "score") == "-100.0"
    assert rules.display(12345, "int") == "12,345"


def test_period_choices_newest_first():
    groups = dict(rules.period_choices(TODAY))
    assert groups["季度"][0] == ("2026-Q4", "2026年第4季度") and len(groups["季度"]) == 8
    assert groups["月度"][0][0] == "2026-11" and groups["月度"][-1][0] == "2024-12"
    assert groups["年度"][0][0] == "2026" and groups["其他"] == [("range", "自定义日期区间")]
    assert rules.current_period("quarter", TODAY).key == "2026-Q4"
    assert rules.current_period("year", TODAY).key == "2026" and rules.current_period("month", TODAY).key == "2026-11"
