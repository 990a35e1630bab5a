"""Pure rules of management reports (no database): statistical periods, the branch level a figure is grouped at,
percentages, medians and money in 万元, and the periods a scheduled report is due for.

**Periods.** A report covers whole calendar days, ``start`` to ``end`` inclusive, in the bank's time zone. Keys:
``2026-05`` (month), ``2026-Q2`` (quarter), ``2026`` (year), ``2026-W21`` (ISO week), ``2026-05-31`` (day) and
``2026-05-01~2026-05-20`` (a date range). Stock figures (customers, assets) are read *as of* the period's last day,
or today while the period is still running; flows (new customers, transactions, complaints…) count what happened
within it. A period may not start after today, and a range may not span more than ``MAX_DAYS``.

**Grouping.** Rows are the branches one level below the branch chosen (or the actor's scope): each row adds up its
whole subtree, and records booked at the chosen branch itself form a row of their own ("本级"). Clicking a row's
branch shows the next level down.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median as _median
from typing import Any

from django.utils.translation import gettext as _

MAX_DAYS = 1100  # about three years: a longer window is an analysis job, not a report page
MONTH, QUARTER, YEAR, WEEK, DAY, RANGE = "month", "quarter", "year", "week", "day", "range"
DAILY, WEEKLY, MONTHLY = "daily", "weekly", "monthly"
WAN = 1_000_000  # fen in 万元

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class PeriodError(ValueError):
    """A period that cannot be read or is not allowed; ``code`` is stable, ``field`` names the input at fault."""

    def __init__(self, code: str, message: str, field: str = "period") -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # inclusive

    @property
    def key(self) -> str:
        s, e = self.start, self.end
        if self.kind == MONTH:
            return f"{s.year}-{s.month:02d}"
        if self.kind == QUARTER:
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == YEAR:
            return str(s.year)
        if self.kind == WEEK:
            y, w, _d = s.isocalendar()
            return f"{y}-W{w:02d}"
        if self.kind == DAY:
            return s.isoformat()
        return f"{s.isoformat()}~{e.isoformat()}"

    @property
    def label(self) -> str:
        s, e = self.start, self.end
        if self.kind == MONTH:
            return _("%(y)d年%(m)d月") % {"y": s.year, "m": s.month}
        if self.kind == QUARTER:
            return _("%(y)d年第%(q)d季度") % {"y": s.year, "q": (s.month - 1) // 3 + 1}
        if self.kind == YEAR:
            return _("%(y)d年") % {"y": s.year}
        if self.kind == WEEK:
            y, w, _d = s.isocalendar()
            return _("%(y)d年第%(w)d周（%(s)s 至 %(e)s）") % {"y": y, "w": w, "s": s.isoformat(), "e": e.isoformat()}
        if self.kind == DAY:
            return s.isoformat()
        return _("%(s)s 至 %(e)s") % {"s": s.isoformat(), "e": e.isoformat()}

    def query(self) -> dict[str, str]:
        """The query parameters that select this period again (links, exports, the API)."""
        if self.kind == RANGE:
            return {"period": RANGE, "start": self.start.isoformat(), "end": self.end.isoformat()}
        return {"period": self.key}

    def as_of(self, today: date) -> date:
        """The day stock figures are read on: the last day, or today while the period runs."""
        return min(self.end, today)

    def months(self) -> list[tuple[str, date, date]]:
        """(key, first day, last day) of each calendar month the period touches, clipped to the period."""
        out, y, m = [], self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            first, last = date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])
            out.append((f"{y}-{m:02d}", max(first, self.start), min(last, self.end)))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def month_period(y: int, m: int) -> Period:
    return Period(MONTH, date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1]))


def quarter_period(y: int, q: int) -> Period:
    first = date(y, 3 * (q - 1) + 1, 1)
    last_month = 3 * q
    return Period(QUARTER, first, date(y, last_month, calendar.monthrange(y, last_month)[1]))


def year_period(y: int) -> Period:
    return Period(YEAR, date(y, 1, 1), date(y, 12, 31))


def week_period(y: int, w: int) -> Period:
    start = date.fromisocalendar(y, w, 1)
    return Period(WEEK, start, start + timedelta(days=6))


def _date(value: str, field: str) -> date:
    m = _DAY.match((value or "").strip())
    try:
        if not m:
            raise ValueError
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise PeriodError("date_invalid", _("请输入日期，如 2026-05-01"), field) from None


def parse_period(value: str, start: str = "", end: str = "", *, today: date) -> Period:
    """Read a period from its key (or ``range`` with ``start`` and ``end``). Raises PeriodError."""
    value = (value or "").strip()
    try:
        if value == RANGE:
            p = Period(RANGE, _date(start, "start"), _date(end, "end"))
            if p.end < p.start:
                raise PeriodError("range_reversed", _("结束日期不能早于开始日期"), "end")
            if (p.end - p.start).days >= MAX_DAYS:
                raise PeriodError("range_too_long", _("统计区间最长 %(n)d 天") % {"n": MAX_DAYS}, "end")
        elif m := _MONTH.match(value):
            if not 1 <= int(m.group(2)) <= 12:
                raise ValueError
            p = month_period(int(m.group(1)), int(m.group(2)))
        elif m := _QUARTER.match(value):
            p = quarter_period(int(m.group(1)), int(m.group(2)))
        elif m := _YEAR.match(value):
            p = year_period(int(m.group(1)))
        elif m := _WEEK.match(value):
            p = week_period(int(m.group(1)), int(m.group(2)))
        elif _DAY.match(value):
            d = _date(value, "period")
            p = Period(DAY, d, d)
        else:
            raise ValueError
    except PeriodError:
        raise
    except ValueError:
        raise PeriodError("period_invalid", _("统计期间格式不正确（如 2026-05、2026-Q2、2026）")) from None
    if p.start.year < 2000:
        raise PeriodError("period_invalid", _("统计期间格式不正确（如 2026-05、2026-Q2、2026）"))
    if p.start > today:
        raise PeriodError("period_future", _("统计期间不能晚于今天"), "start" if p.kind == RANGE else "period")
    return p


def current_period(kind: str, today: date) -> Period:
    """This month, quarter or year (the default of a report page)."""
    if kind == MONTH:
        return month_period(today.year, today.month)
    if kind == YEAR:
        return year_period(today.year)
    return quarter_period(today.year, (today.month - 1) // 3 + 1)


def period_choices(today: date, *, months: int = 24, quarters: int = 8, years: int = 5) -> list[tuple[str, list[tuple[str, str]]]]:
    """The choices of the period picker, newest first, grouped: months, quarters, years (and a custom range)."""
    ms, y, m = [], today.year, today.month
    for _i in range(months):
        ms.append(month_period(y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    qs, y, q = [], today.year, (today.month - 1) // 3 + 1
    for _i in range(quarters):
        qs.append(quarter_period(y, q))
        y, q = (y - 1, 4) if q == 1 else (y, q - 1)
    ys = [year_period(today.year - i) for i in range(years)]
    return [(_("季度"), [(p.key, p.label) for p in qs]), (_("月度"), [(p.key, p.label) for p in ms]),
            (_("年度"), [(p.key, p.label) for p in ys]), (_("其他"), [(RANGE, _("自定义日期区间"))])]


# ---- Scheduled reports ------------------------------------------------------------------------------------------------
def due_period(frequency: str, today: date) -> Period:
    """The last complete period of a schedule on ``today``: yesterday, last ISO week (Monday–Sunday) or last month.
    A schedule delivers one file per such period (the run is keyed by the period)."""
    if frequency == DAILY:
        d = today - timedelta(days=1)
        return Period(DAY, d, d)
    if frequency == WEEKLY:
        monday = today - timedelta(days=today.weekday() + 7)
        return Period(WEEK, monday, monday + timedelta(days=6))
    if frequency == MONTHLY:
        last = today.replace(day=1) - timedelta(days=1)
        return month_period(last.year, last.month)
    raise ValueError(frequency)


def run_file_name(schedule_id: int, report_code: str, period: Period, fmt: str) -> str:
    """``2026/05/s12-branch_performance-2026-05.xlsx``: under the year and month of the period's end, one name per
    schedule and period, so a rerun overwrites the same file and nothing else."""
    key = period.key.replace("~", "_")
    return f"{period.end.year:04d}/{period.end.month:02d}/s{schedule_id}-{report_code}-{key}.{fmt}"


# ---- Grouping and figures ---------------------------------------------------------------------------------------------
def group_path(path: str, root: str) -> str:
    """The branch one level below ``root`` that a record booked at ``path`` counts under; ``root`` itself for records
    booked at the root; "" for a path outside the root (never counted)."""
    if not path or not path.startswith(root):
        return ""
    if path == root:
        return root
    return f"{root}{path[len(root):].strip('/').split('/')[0]}/"


def pct(part: int | None, whole: int | None) -> float | None:
    """part / whole in per cent with one decimal (half up); None without a denominator."""
    if not whole:
        return None
    return float((Decimal(part or 0) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def nps(promoters: int, detractors: int, answers: int) -> float | None:
    """Net Promoter Score: % promoters (9–10) minus % detractors (0–6), one decimal; None without answers."""
    if not answers:
        return None
    return float((Decimal(promoters - detractors) * 100 / Decimal(answers)).quantize(Decimal("0.1"),
                                                                                       rounding=ROUND_HALF_UP))


def median(values: Iterable[float]) -> float | None:
    """The middle value (the mean of the two middle values for an even count); None for no values."""
    v = list(values)
    return float(_median(v)) if v else None


def wan(fen: int | None) -> Decimal:
    """Fen as 万元 with two decimals (half up): 123456789 → Decimal('123.46')."""
    return (Decimal(fen or 0) / WAN).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def display(value: Any, kind: str) -> str:
    """A figure as the page, the PDF and the Excel 说明 sheet show it."""
    if value is None:
        return "—"
    if kind == "money":
        return f"{wan(value):,}"
    if kind == "pct":
        return f"{value:.1f}%"
    if kind in ("score", "days"):
        return f"{value:.1f}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)
