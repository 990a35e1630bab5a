"""Pure rules of inspections (no database): reproducible sampling, checklist results, plan dates.

Sampling is reproducible from a seed: the population is ordered by primary key first, and each (kind, member of
staff) group draws from its own ``random.Random`` seeded with a string (string seeds are hashed with SHA-512, so
the stream is the same on every machine, Python build and database). Risk-weighted sampling is weighted sampling
without replacement by Efraimidis–Spirakis keys (``u ** (1 / w)``, the n largest keys win), so an item of weight 5
is about five times as likely to be drawn first as one of weight 1.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

MONTHLY, QUARTERLY = "monthly", "quarterly"
YES, NO, NA = "yes", "no", "na"
ANSWERS = (YES, NO, NA)
SEVERITY_ORDER = {"low": 1, "medium": 2, "high": 3, "critical": 4}


@dataclass(frozen=True)
class Candidate:
    """One record that may be sampled: its primary key, the member of staff it belongs to, and its risk weight."""

    pk: int
    staff_id: int | None
    weight: int = 1


@dataclass(frozen=True)
class Drawn:
    pk: int
    staff_id: int | None
    weight: int
    position: int  # order of the draw within its staff group (0 = drawn first)


def _rng(seed: int, kind: str, staff_id: int | None) -> random.Random:
    return random.Random(f"bankcrm-inspection:{seed}:{kind}:{staff_id if staff_id is not None else '-'}")


def draw(population: Sequence[Candidate], n: int, *, seed: int, kind: str, staff_id: int | None = None,
         weighted: bool = False) -> list[Drawn]:
    """Draw ``n`` records (all of them if there are fewer) from one group, reproducibly from ``seed``."""
    if n <= 0 or not population:
        return []
    ordered = sorted(population, key=lambda c: c.pk)
    rng = _rng(seed, kind, staff_id)
    if weighted:
        keyed = []
        for c in ordered:
            u = rng.random()
            w = max(int(c.weight), 1)
            keyed.append((u ** (1.0 / w), c))
        keyed.sort(key=lambda t: (-t[0], t[1].pk))
        chosen = [c for _k, c in keyed[:n]]
    else:
        chosen = rng.sample(ordered, min(n, len(ordered)))
    return [Drawn(c.pk, c.staff_id, max(int(c.weight), 1), i) for i, c in enumerate(chosen)]


def draw_per_staff(population: Iterable[Candidate], n: int, *, seed: int, kind: str,
                   weighted: bool = False) -> list[Drawn]:
    """``n`` records per member of staff (records with no member of staff form one group of their own)."""
    groups: dict[int | None, list[Candidate]] = {}
    for c in population:
        groups.setdefault(c.staff_id, []).append(c)
    out: list[Drawn] = []
    for staff_id in sorted(groups, key=lambda s: (s is None, s or 0)):
        out.extend(draw(groups[staff_id], n, seed=seed, kind=kind, staff_id=staff_id, weighted=weighted))
    return out


# ---- Checklist results -------------------------------------------------------------------------------------------
def item_result(answers: dict[str, str], check_codes: Sequence[str]) -> str:
    """``fail`` if any check is answered "no", ``na`` if every check is not applicable, else ``pass``.
    Raises ValueError naming the first unanswered or invalid check."""
    for code in check_codes:
        if answers.get(code) not in ANSWERS:
            raise ValueError(code)
    values = [answers[c] for c in check_codes]
    if NO in values:
        return "fail"
    if values and all(v == NA for v in values):
        return "na"
    return "pass"


def failed_checks(answers: dict[str, str], checks: Sequence[dict]) -> list[dict]:
    return [c for c in checks if answers.get(c["code"]) == NO]


def summarise(rows: Iterable[tuple[str, int | None, str]]) -> dict:
    """Counts per result, per kind and per member of staff from (kind, staff_id, result) rows."""
    total = {"total": 0, "pass": 0, "fail": 0, "na": 0, "pending": 0}
    by_kind: dict[str, dict[str, int]] = {}
    by_staff: dict[str, dict[str, int]] = {}
    for kind, staff_id, result in rows:
        for bucket in (total, by_kind.setdefault(kind, {"total": 0, "pass": 0, "fail": 0, "na": 0, "pending": 0}),
                       by_staff.setdefault(str(staff_id or ""), {"total": 0, "pass": 0, "fail": 0, "na": 0,
                                                                 "pending": 0})):
            bucket["total"] += 1
            bucket[result] = bucket.get(result, 0) + 1
    checked = total["pass"] + total["fail"]
    total["pass_rate"] = round(100 * total["pass"] / checked, 1) if checked else None
    return {**total, "by_kind": by_kind, "by_staff": by_staff}


# ---- Plan dates --------------------------------------------------------------------------------------------------
def _months(frequency: str) -> int:
    if frequency == MONTHLY:
        return 1
    if frequency == QUARTERLY:
        return 3
    raise ValueError(frequency)


def add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_plan_date(current: date, frequency: str) -> date:
    """The plan's next date after an inspection was opened on ``current``: one month or one quarter later (the
    31st falls back to the month's last day)."""
    return add_months(current, _months(frequency))


def period_start_of(day: date, frequency: str) -> date:
    if frequency == MONTHLY:
        return day.replace(day=1)
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def period_before(day: date, frequency: str) -> tuple[date, date]:
    """The last full month or quarter before ``day``: an inspection opened on 1 April covers January–March."""
    this_start = period_start_of(day, frequency)
    start = add_months(this_start, -_months(frequency))
    return start, this_start - timedelta(days=1)


def first_plan_date(today: date, frequency: str) -> date:
    """The first day of the next month or quarter."""
    return add_months(period_start_of(today, frequency), _months(frequency))


def quarter_of(day: date) -> tuple[str, date]:
    """("2026Q2", 2026-04-01) for any day of that quarter."""
    start = period_start_of(day, QUARTERLY)
    return f"{start.year}Q{(start.month - 1) // 3 + 1}", start
