"""Pure watch-list screening rules: name normalisation, pinyin keys, candidate keys and the score of a pair.

- ``name_key``: NFKC (full-width → half-width), case-folded, accents stripped; spaces, middle dots (·・•‧) and all
  punctuation/symbols removed. Names without Chinese characters are split into words, which are sorted, so word
  order is ignored ("ZHANG San Feng" = "feng san zhang"). Traditional → simplified conversion is NOT done: no
  converter package (OpenCC, zhconv, hanziconv) is installed. Traditional names still match their simplified form
  through pinyin (pypinyin reads both): 張三豐 ~ 张三丰 scores 90, not 100.
- Pinyin: toneless, no spaces, through the customers app's reading of characters (``customers.rules``: surnames with
  their own reading, e.g. 单 = shan). Two Chinese names (or two latin names) match on equal pinyin; a Chinese name
  matches a latin one when the latin words, in some order, spell the Chinese name's pinyin ("Sanfeng Zhang").
- Score: exact normalised name 100; same pinyin 90; Levenshtein distance 1 on keys of ≥ 3 characters 80. A birth date
  present on both sides must be equal, otherwise there is no match.
- Candidate keys (``edit_keys``) let the database find every key within one edit with indexed equality look-ups:
  a key of length m is cut in three pieces; one edit breaks at most one piece, so one of the three piece pairs
  (with the length) is shared — see ``edit_keys`` and ``probe_edit_keys``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from itertools import permutations

from bankcrm.customers.rules import SURNAME_READINGS, _char_pinyin

EXACT, PINYIN, EDIT1 = "exact_name", "pinyin", "edit_distance_1"
SCORES = {EXACT: 100, PINYIN: 90, EDIT1: 80}
MIN_EDIT_LEN = 3
MAX_PERMUTED_WORDS = 4  # a latin name of up to 4 words is tried in every word order (≤ 24 spellings)


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F


def _fold(name: str) -> str:
    """NFKC (full-width → half-width), case-folded, combining accents dropped (José → jose)."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", text)


def _words(folded: str) -> list[str]:
    """Runs of letters/digits; spaces, middle dots, punctuation and symbols separate words."""
    out, cur = [], []
    for ch in folded:
        if ch.isalnum():
            cur.append(ch)
        elif cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


def has_cjk(name: str) -> bool:
    return any(is_cjk(c) for c in name or "")


def name_key(name: str) -> str:
    """The normalised name: letters and digits only; for names without Chinese characters, words sorted."""
    folded = _fold(name)
    words = _words(folded)
    return ("".join(words) if has_cjk(folded) else "".join(sorted(words)))[:200]


def _units(name: str) -> list[str]:
    """Pinyin syllables of Chinese characters (surname reading first) and latin words, in written order."""
    folded = _fold(name)
    words = _words(folded)
    units: list[str] = []
    for w in words:
        rest = w
        if not units:
            for surname in (w[:2], w[:1]):
                if surname in SURNAME_READINGS:
                    units.append(SURNAME_READINGS[surname])
                    rest = w[len(surname):]
                    break
        latin: list[str] = []
        for ch in rest:
            if is_cjk(ch):
                if latin:
                    units.append("".join(latin))
                    latin = []
                p = _char_pinyin(ch)
                if p:
                    units.append(p)
            else:
                latin.append(ch)
        if latin:
            units.append("".join(latin))
    return units


def pinyin_key(name: str) -> str:
    """Toneless pinyin without spaces, in written order: 张三丰 → zhangsanfeng; "Zhang San-Feng" → zhangsanfeng."""
    return "".join(_units(name))[:300]


def pinyin_spellings(name: str) -> set[str]:
    """Every spelling under which this name's pinyin may be stored: the units in any order (≤ 4 units), else the
    written order and its reverse. Used to look candidates up; ``score`` decides."""
    units = _units(name)
    if not units:
        return set()
    if len(units) > MAX_PERMUTED_WORDS:
        return {"".join(units)[:300], "".join(reversed(units))[:300]}
    return {"".join(p)[:300] for p in permutations(units)}


def _cuts(m: int) -> tuple[int, int]:
    return m // 3, 2 * m // 3


def edit_keys(key: str) -> tuple[str, str, str]:
    """Three piece-pair keys of a stored key of length m (empty below 3 characters)."""
    m = len(key)
    if m < MIN_EDIT_LEN:
        return "", "", ""
    b1, b2 = _cuts(m)
    return f"{m}|{key[:b2]}", f"{m}|{key[:b1]}|{key[b2:]}", f"{m}|{key[b1:]}"


def probe_edit_keys(key: str) -> tuple[set[str], set[str], set[str]]:
    """The keys a stored key within one edit of ``key`` must share in at least one position (for lengths n-1..n+1):
    an edit inside piece 3 keeps pieces 1+2 aligned, inside piece 2 keeps 1 aligned and 3 shifted by the length
    difference, inside piece 1 keeps 2+3 shifted."""
    n = len(key)
    a: set[str] = set()
    b: set[str] = set()
    c: set[str] = set()
    if n < MIN_EDIT_LEN:
        return a, b, c
    for m in (n - 1, n, n + 1):
        if m < MIN_EDIT_LEN:
            continue
        d = n - m
        b1, b2 = _cuts(m)
        a.add(f"{m}|{key[:b2]}")
        b.add(f"{m}|{key[:b1]}|{key[b2 + d:]}")
        c.add(f"{m}|{key[b1 + d:]}")
    return a, b, c


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance ≤ 1, in linear time."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if la == lb:
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]


@dataclass(frozen=True)
class Party:
    """One side of a comparison, prepared once: the name as given, its keys and the birth date."""

    name: str
    key: str
    pinyin: str
    spellings: frozenset[str]
    cjk: bool
    birth_date: date | None


def prepare(name: str, birth_date: date | None = None) -> Party:
    return Party(name, name_key(name), pinyin_key(name), frozenset(pinyin_spellings(name)), has_cjk(name), birth_date)


@dataclass(frozen=True)
class Match:
    score: int
    how: str
    birth_date_match: bool


def _same_pinyin(a: Party, b: Party) -> bool:
    if not a.pinyin or not b.pinyin:
        return False
    if a.cjk == b.cjk:
        return a.pinyin == b.pinyin
    latin, chinese = (b, a) if a.cjk else (a, b)
    return chinese.pinyin in latin.spellings


def score(a: Party, b: Party) -> Match | None:
    """The best match of two parties, or None. Symmetric; different birth dates on both sides drop the match."""
    if a.birth_date and b.birth_date and a.birth_date != b.birth_date:
        return None
    if not a.key or not b.key:
        return None
    if a.key == b.key:
        how = EXACT
    elif _same_pinyin(a, b):
        how = PINYIN
    elif min(len(a.key), len(b.key)) >= MIN_EDIT_LEN and within_one_edit(a.key, b.key):
        how = EDIT1
    else:
        return None
    return Match(SCORES[how], how, bool(a.birth_date and b.birth_date))


def score_names(a: str, b: str, a_birth: date | None = None, b_birth: date | None = None) -> Match | None:
    return score(prepare(a, a_birth), prepare(b, b_birth))
