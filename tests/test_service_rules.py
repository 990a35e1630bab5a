"""Complaint and request deadlines as pure functions (bankcrm/service/rules.py), property-tested with Hypothesis:
calendar days from the local date of receipt, extensions to 30 and 60 days at most, time zones around midnight in
Asia/Shanghai, acknowledgement by working days with holidays and makeup days — and the same figures through the
stored deadlines with the maintained calendar (CalendarDay) as tests of bankcrm/core/workdays do."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bankcrm.core import workdays
from bankcrm.service import rules
from tests.test_rules import BASE, calendars, load_shipped_calendar, working_day_violations

SH = ZoneInfo("Asia/Shanghai")
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 4, 1), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(min_value=1, max_value=30))
def test_decision_due_is_calendar_days_after_the_local_date_of_receipt(at, days):
    due = rules.decision_due(at, days, SH)
    local = at.astimezone(SH)
    assert (due - local.date()).days == days
    # the deadline passes at the end of that local day, strictly more than days-1 and at most days+1 days later
    end = rules.end_of_day(due, SH)
    assert timedelta(days=days) < end - at <= timedelta(days=days + 1)
    assert end.astimezone(SH).time() == time(0)


@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)), st.integers(min_value=1, max_value=20))
def test_midnight_in_shanghai_decides_the_day_of_receipt(day, days):
    """23:59:59 and the next 00:00:00 local are different receipt days, though both fall on the same UTC date."""
    before = datetime.combine(day, time(23, 59, 59), tzinfo=SH)
    after = before + timedelta(seconds=1)
    assert rules.decision_due(after, days, SH) - rules.decision_due(before, days, SH) == timedelta(days=1)
    assert before.astimezone(UTC).date() == after.astimezone(UTC).date() == day
    assert rules.decision_due(before, days, SH) == day + timedelta(days=days)


def test_a_utc_date_would_be_wrong():
    """Broken variant: taking the UTC date of a receipt at 07:30 Beijing time loses a day."""
    at = datetime(2026, 3, 2, 7, 30, tzinfo=SH)
    assert rules.decision_due(at, 15, SH) == date(2026, 3, 17)
    assert rules.decision_due(at, 15, UTC) == date(2026, 3, 16)
    with pytest.raises(ValueError):
        rules.decision_due(datetime(2026, 3, 2, 7, 30), 15, SH)


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=30),
       st.integers(min_value=0, max_value=40))
def test_extensions_are_monotone_and_never_beyond_60_days(at, base, ext1, ext2):
    dues = [rules.extended_due(at, SH, level=lv, decision_days=base, ext1=ext1, ext2=ext2) for lv in (0, 1, 2)]
    received = at.astimezone(SH).date()
    assert dues[0] == rules.decision_due(at, base, SH)
    assert dues[0] <= dues[1] <= dues[2]
    assert all((d - received).days <= rules.MAX_TOTAL_DAYS for d in dues)
    with pytest.raises(ValueError):
        rules.extended_due(at, SH, level=3, decision_days=base, ext1=ext1, ext2=ext2)


@given(moments)
def test_the_2020_figures_give_15_30_60(at):
    received = at.astimezone(SH).date()
    got = [(rules.extended_due(at, SH, level=lv, decision_days=15, ext1=15, ext2=30) - received).days
           for lv in (0, 1, 2)]
    assert got == [15, 30, 60]
    assert [rules.extension_allowed(n) for n in (0, 1, 2)] == [True, True, False]


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=90).map(lambda o: BASE + timedelta(days=o)),
       st.times(), st.integers(min_value=1, max_value=5), calendars())
def test_acknowledgement_is_the_nth_working_day_after_the_local_receipt_date(day, t, n, cal):
    holidays, makeup = cal
    at = datetime.combine(day, t, tzinfo=SH)
    due = rules.acknowledge_due(at.astimezone(UTC), SH, n, holidays, makeup)
    assert due > day
    assert working_day_violations(lambda s, k, h, m: due, day, n, holidays, makeup) == []


def test_acknowledgement_with_the_shipped_calendar():
    """Friday before 中秋节 → the makeup Sunday; the day before National Day → the first day back; a receipt at
    00:30 Beijing time on 10-01 is still in the holiday."""
    holidays, makeup = load_shipped_calendar()
    fri = datetime(2026, 9, 18, 20, 0, tzinfo=SH)
    assert rules.acknowledge_due(fri, SH, 1, holidays, makeup) == date(2026, 9, 20)
    assert rules.acknowledge_due(datetime(2026, 9, 30, 23, 59, tzinfo=SH), SH, 1, holidays, makeup) == date(2026, 10, 8)
    assert rules.acknowledge_due(datetime(2026, 9, 30, 16, 30, tzinfo=UTC), SH, 1, holidays, makeup) == date(2026, 10, 8)
    # broken variant: ignoring the calendar answers 10-01, a public holiday
    assert workdays.add_working_days(date(2026, 9, 30), 1, frozenset(), frozenset()) == date(2026, 10, 1)


@settings(max_examples=200, deadline=None)
@given(moments, st.sampled_from(rules.PRIORITIES), st.integers(min_value=1, max_value=48),
       st.integers(min_value=1, max_value=400), st.integers(min_value=0, max_value=24))
def test_request_targets_and_escalation(at, priority, respond, resolve, lead):
    table = {p: (respond, resolve) for p in rules.PRIORITIES}
    r_due, s_due = rules.request_targets(at, priority, table)
    assert r_due == at + timedelta(hours=respond)
    assert s_due >= r_due
    assert rules.escalate_from(r_due, timedelta(hours=lead)) <= r_due
    assert rules.hours_between(at, r_due) == respond
    assert rules.hours_between(at, None) is None


@pytest.mark.django_db
def test_stored_deadlines_use_the_maintained_calendar(bank, monkeypatch):
    """Through the service: the holiday calendar an administrator maintains moves the acknowledgement date."""
    from bankcrm.core import services as core_services
    from bankcrm.service import services

    at = datetime(2026, 10, 7, 18, 0, tzinfo=SH)  # a Wednesday
    assert services.complaint_deadlines(at) == (date(2026, 10, 8), date(2026, 10, 22))
    core_services.calendar_day_set(actor=bank.admin, day=date(2026, 10, 8), kind="holiday", name="测试假日")
    core_services.calendar_day_set(actor=bank.admin, day=date(2026, 10, 9), kind="holiday", name="测试假日")
    core_services.calendar_day_set(actor=bank.admin, day=date(2026, 10, 10), kind="workday", name="调休上班")
    assert services.complaint_deadlines(at) == (date(2026, 10, 10), date(2026, 10, 22))
