"""Pure customer rules: pinyin keys, name bigrams, customer numbers. No database access."""

from __future__ import annotations

import functools
from datetime import date

from bankcrm.core.identifiers import luhn_ok

# pypinyin reads common characters, not surnames: these surnames have their own reading (reference/stack.md §8).
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "仇": "qiu", "区": "ou", "朴": "piao", "查": "zha", "盖": "ge",
    "乐": "yue", "覃": "qin", "缪": "miao", "翟": "zhai", "尉": "yu", "召": "shao", "种": "chong", "繁": "po",
    "褚": "chu", "秘": "bi", "黑": "he", "万俟": "moqi", "尉迟": "yuchi", "长孙": "zhangsun",
}


@functools.lru_cache(maxsize=65536)
def _char_pinyin(ch: str) -> str:
    """Pinyin of one character, memoised: bulk imports call this millions of times (QUALITY.md P3)."""
    from pypinyin import Style, lazy_pinyin

    if ch.isascii():
        return ch.lower() if ch.isalnum() else ""
    readings = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
    return readings[0] if readings else ""


def name_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials) for search: 张三 → ('zhangsan', 'zs'); 单田芳 → ('shantianfang', 'stf')."""
    name = (name or "").strip()
    parts: list[str] = []
    rest = name
    for surname in (name[:2], name[:1]):
        if surname in SURNAME_READINGS:
            parts.append(SURNAME_READINGS[surname])
            rest = name[len(surname):]
            break
    parts.extend(p for p in (_char_pinyin(ch) for ch in rest) if p)
    return "".join(parts)[:200], "".join(p[0] for p in parts if p)[:40]


def bigrams(name: str) -> set[str]:
    """Every two-character piece of a name (a one-character name gives itself)."""
    compact = "".join((name or "").split())
    if len(compact) < 2:
        return {compact} if compact else set()
    return {compact[i:i + 2] for i in range(len(compact) - 1)}


def customer_no_from_sequence(value: int) -> str:
    """'1' + 9-digit sequence + Luhn check digit: 11 digits, a typo in any one digit is caught at the counter."""
    body = f"1{value:09d}"
    for d in "0123456789":
        if luhn_ok(body + d):
            return body + d
    raise AssertionError("unreachable: one Luhn digit always exists")


def customer_no_valid(value: str) -> bool:
    return len(value) == 11 and value.isdigit() and luhn_ok(value)


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
