"""Pure ledger rules (no I/O): account numbers, interest, denominations, limits, maturity dates."""

from __future__ import annotations

import calendar
from datetime import date

from bankcrm.core.identifiers import luhn_ok

# Cash denominations in fen (RMB notes and coins in circulation).
DENOMINATIONS_CNY = [10000, 5000, 2000, 1000, 500, 100, 50, 10]
DENOMINATIONS_USD = [10000, 5000, 2000, 1000, 500, 200, 100]
DAYS_IN_YEAR = 360  # PBOC convention for RMB deposit interest (日利率 = 年利率 / 360)


def luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def account_number(seq: int, *, internal: bool = False) -> str:
    """19 digits: BIN-like prefix, 12-digit sequence, Luhn check digit (mistyped numbers are caught at the counter)."""
    body = ("990100" if internal else "621700") + f"{seq:012d}"
    return body + luhn_digit(body)


def valid_account_number(value: str) -> bool:
    return len(value) == 19 and value.isdigit() and luhn_ok(value)


def daily_interest_micro(balance_fen: int, rate_bp: int) -> int:
    """One day's interest in 10⁻⁶ fen on a positive balance: balance × rate / 10000 / 360, truncated."""
    if balance_fen <= 0 or rate_bp <= 0:
        return 0
    return balance_fen * rate_bp * 1_000_000 // (10_000 * DAYS_IN_YEAR)


def postable_interest(accrued_micro: int) -> tuple[int, int]:
    """Whole fen to post (rounded half up, as banks do at settlement) and the remainder kept accrued (may be < 0)."""
    fen = (accrued_micro + 500_000) // 1_000_000
    return fen, accrued_micro - fen * 1_000_000


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def is_quarter_settlement_day(d: date) -> bool:
    """Demand deposits settle interest quarterly on the 20th of the last month of each quarter (结息日)."""
    return d.month in (3, 6, 9, 12) and d.day == 20


def count_total(denominations: dict[str, int], allowed: list[int]) -> int:
    total = 0
    for face, count in denominations.items():
        f = int(face)
        if f not in allowed:
            raise ValueError(f"denomination {face}")
        c = int(count)
        if c < 0:
            raise ValueError("negative count")
        total += f * c
    return total


def to_cny_fen(amount_fen: int, currency: str, rate_micro: int | None) -> int:
    """CNY equivalent for thresholds and limits (rounded down, so a threshold is never crossed by rounding alone)."""
    if currency == "CNY":
        return amount_fen
    if not rate_micro:
        raise ValueError("no rate")
    return amount_fen * rate_micro // 1_000_000
