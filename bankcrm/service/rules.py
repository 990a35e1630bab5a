"""Deadline rules of service requests and complaints (DOMAIN_RULES.md §5), as pure functions: no database, no clock.

Figures come in as arguments (the services read them from `core.params` and the holiday calendar), so every rule is
property-testable. Deadlines are computed once, when an item is received or extended, and stored.

- A complaint's decision is due ``decision_days`` calendar days after the *local* (Asia/Shanghai) date of receipt;
  a first extension adds ``ext1`` days (15 → 30), a second ``ext2`` more (30 → 60); never more than two.
- Receipt is acknowledged within ``n`` working days after the local date of receipt (holidays and makeup days).
- A service request's response and resolution targets are hours after receipt, by priority.
- A target is escalated ``lead`` before it falls due; a date deadline falls due at the end of that local day.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date, datetime, time, timedelta, tzinfo

from bankcrm.core.workdays import add_working_days

MAX_EXTENSIONS = 2
MAX_TOTAL_DAYS = 60
PRIORITIES = ("urgent", "high", "normal", "low")


def local_date(at: datetime, tz: tzinfo) -> date:
    """The calendar date of an aware moment in the bank's time zone (a letter received at 23:59 on the 1st is the
    1st's, one at 00:01 on the 2nd is the 2nd's)."""
    if at.tzinfo is None:
        raise ValueError("aware datetime required")
    return at.astimezone(tz).date()


def decision_due(received_at: datetime, decision_days: int, tz: tzinfo) -> date:
    """The date by which the decision is due: ``decision_days`` calendar days after the local date of receipt."""
    return local_date(received_at, tz) + timedelta(days=decision_days)


def extended_due(received_at: datetime, tz: tzinfo, *, level: int, decision_days: int, ext1: int, ext2: int) -> date:
    """The decision date after ``level`` extensions (0, 1 or 2)."""
    if level < 0 or level > MAX_EXTENSIONS:
        raise ValueError("level must be 0, 1 or 2")
    days = decision_days + (ext1 if level >= 1 else 0) + (ext2 if level >= 2 else 0)
    return local_date(received_at, tz) + timedelta(days=min(days, MAX_TOTAL_DAYS))


def extension_allowed(current_level: int) -> bool:
    return current_level < MAX_EXTENSIONS


def acknowledge_due(received_at: datetime, tz: tzinfo, n: int, holidays: Set[date], makeup: Set[date]) -> date:
    """The ``n``-th working day after the local date of receipt (receipt on a Friday evening → Monday, or the
    makeup Saturday if there is one)."""
    return add_working_days(local_date(received_at, tz), n, holidays, makeup)


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """The moment a date deadline passes: midnight at the end of ``day`` in the bank's time zone."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)


def request_targets(received_at: datetime, priority: str, hours: dict[str, tuple[int, int]]) -> tuple[datetime, datetime]:
    """(respond by, resolve by) for a request of ``priority``; ``hours[priority] = (respond, resolve)``."""
    respond, resolve = hours[priority]
    return received_at + timedelta(hours=respond), received_at + timedelta(hours=max(resolve, respond))


def escalate_from(due_at: datetime, lead: timedelta) -> datetime:
    """When a target not yet met is escalated to the supervisor: ``lead`` before it falls due."""
    return due_at - lead


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    """Elapsed hours of one cycle step (receipt → acknowledgement, → decision, → closure); None while open."""
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 2)
