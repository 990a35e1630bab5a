"""Working days in mainland China: Monday–Friday, minus public holidays, plus makeup working days (调休).

Pure functions take the holiday and makeup sets explicitly so they are fast and property-testable; `calendar()`
loads the sets that administrators maintain.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date, timedelta


def is_working_day(d: date, holidays: Set[date], makeup: Set[date]) -> bool:
    if d in makeup:
        return True
    if d in holidays:
        return False
    return d.weekday() < 5


def add_working_days(start: date, n: int, holidays: Set[date], makeup: Set[date]) -> date:
    """The n-th working day after ``start`` (start itself not counted). n=0 gives start if it is a working day,
    else the next working day."""
    if n < 0:
        raise ValueError("n must be >= 0")
    d = start
    if n == 0:
        while not is_working_day(d, holidays, makeup):
            d += timedelta(days=1)
        return d
    count = 0
    while count < n:
        d += timedelta(days=1)
        if is_working_day(d, holidays, makeup):
            count += 1
    return d


def working_days_between(start: date, end: date, holidays: Set[date], makeup: Set[date]) -> int:
    """Working days in (start, end]."""
    if end <= start:
        return 0
    return sum(1 for i in range(1, (end - start).days + 1)
               if is_working_day(start + timedelta(days=i), holidays, makeup))


def calendar() -> tuple[frozenset[date], frozenset[date]]:
    from .models import CalendarDay

    rows = list(CalendarDay.objects.values_list("date", "kind"))
    return (frozenset(d for d, k in rows if k == CalendarDay.Kind.HOLIDAY),
            frozenset(d for d, k in rows if k == CalendarDay.Kind.WORKDAY))


def working_days_after(start: date, n: int) -> date:
    holidays, makeup = calendar()
    return add_working_days(start, n, holidays, makeup)
