"""Pure survey rules (no I/O, Hypothesis-tested): questionnaire and answer validation, scores, the low-score rule,
periods, the sampling rules (consent, minimum interval, N per manager) and token hashing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

KINDS = ("csat", "nps", "rating", "choice", "text")
SCALES = {"csat": (1, 5), "rating": (1, 5), "nps": (0, 10)}
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
MAX_TEXT = 1000


# ---- Questionnaires ------------------------------------------------------------------------------------------------
def validate_questions(questions: Any) -> dict[str, list[str]]:
    """Errors by field ({} when valid): 1–20 questions, unique codes, known kinds, choices with 2–8 options, at most
    one CSAT and one NPS question (they are the scores that analytics read)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(questions, list) or not 1 <= len(questions) <= 20:
        return {"questions": ["题目数量须为 1 至 20 道"]}
    seen: set[str] = set()
    for i, q in enumerate(questions, 1):
        if not isinstance(q, dict):
            errors.setdefault("questions", []).append(f"第 {i} 题格式无效")
            continue
        code, kind, text = q.get("code", ""), q.get("kind", ""), str(q.get("text", "")).strip()
        if not isinstance(code, str) or not CODE_RE.match(code) or code in seen:
            errors.setdefault("questions", []).append(f"第 {i} 题代码无效或重复")
        seen.add(str(code))
        if kind not in KINDS:
            errors.setdefault("questions", []).append(f"第 {i} 题类型无效")
        if not text or len(text) > 200:
            errors.setdefault("questions", []).append(f"第 {i} 题题干须为 1 至 200 字")
        if kind == "choice":
            opts = q.get("options")
            if not isinstance(opts, list) or not 2 <= len(opts) <= 8 or any(not str(o).strip() for o in opts):
                errors.setdefault("questions", []).append(f"第 {i} 题须有 2 至 8 个选项")
    kinds = [q.get("kind") for q in questions if isinstance(q, dict)]
    if kinds.count("csat") > 1 or kinds.count("nps") > 1:
        errors.setdefault("questions", []).append("满意度和推荐意愿题各最多一道")
    return errors


def parse_question_lines(text: str) -> list[dict[str, Any]]:
    """The editor's plain format, one question per line: ``kind: 题干`` (``*`` before the kind = required; choices
    as ``choice: 题干 | 选项一 | 选项二``). Codes are generated (q1, q2…; csat, nps and comment for the standard ones)."""
    out: list[dict[str, Any]] = []
    for raw in (ln.strip() for ln in text.splitlines()):
        if not raw:
            continue
        head, sep, rest = raw.partition(":")
        if not sep:
            head, sep, rest = raw.partition("：")
        required = head.strip().startswith("*")
        kind = head.strip().lstrip("*").strip().lower()
        parts = [p.strip() for p in rest.split("|")]
        q: dict[str, Any] = {"kind": kind if sep else "", "text": parts[0] if sep else raw, "required": required}
        if kind == "choice":
            q["options"] = [p for p in parts[1:] if p]
        out.append(q)
    used: set[str] = set()
    for i, q in enumerate(out, 1):
        std = {"csat": "csat", "nps": "nps", "text": "comment"}.get(q["kind"], "")
        code = std if std and std not in used else f"q{i}"
        used.add(code)
        q["code"] = code
    return out


def question_lines(questions: list[dict[str, Any]]) -> str:
    """The inverse of `parse_question_lines` (for the edit form)."""
    lines = []
    for q in questions:
        head = ("*" if q.get("required") else "") + q["kind"]
        tail = "".join(f" | {o}" for o in q.get("options", [])) if q["kind"] == "choice" else ""
        lines.append(f"{head}: {q['text']}{tail}")
    return "\n".join(lines)


def clean_answers(questions: list[dict[str, Any]], raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Typed answers for the template's questions (unknown keys ignored) and errors by question code."""
    answers: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for q in questions:
        code, kind = q["code"], q["kind"]
        value = raw.get(code)
        value = "" if value is None else str(value).strip()
        if value == "":
            if q.get("required"):
                errors[code] = ["请回答此题"]
            continue
        if kind in SCALES:
            lo, hi = SCALES[kind]
            if not value.isdigit() or not lo <= int(value) <= hi:
                errors[code] = [f"请选择 {lo} 至 {hi} 分"]
                continue
            answers[code] = int(value)
        elif kind == "choice":
            if value not in [str(o) for o in q.get("options", [])]:
                errors[code] = ["请选择一个选项"]
                continue
            answers[code] = value
        else:
            answers[code] = value[:MAX_TEXT]
    return answers, errors


def scores(questions: list[dict[str, Any]], answers: Mapping[str, Any]) -> tuple[int | None, int | None, str]:
    """(CSAT, NPS, comment): the answers to the template's csat and nps questions and its free-text answers."""
    csat = next((answers.get(q["code"]) for q in questions if q["kind"] == "csat"), None)
    nps = next((answers.get(q["code"]) for q in questions if q["kind"] == "nps"), None)
    comment = "\n".join(str(answers[q["code"]]) for q in questions if q["kind"] == "text" and answers.get(q["code"]))
    return csat, nps, comment


def is_low(csat: int | None, nps: int | None, *, csat_low: int, nps_low: int) -> bool:
    """A low score: CSAT at or below ``csat_low`` or NPS at or below ``nps_low`` (a detractor by default)."""
    return (csat is not None and csat <= csat_low) or (nps is not None and nps <= nps_low)


def nps_score(values: Iterable[int]) -> float | None:
    """Net Promoter Score: % promoters (9–10) minus % detractors (0–6); None without answers."""
    vals = list(values)
    if not vals:
        return None
    return round(100 * (sum(v >= 9 for v in vals) - sum(v <= 6 for v in vals)) / len(vals), 1)


def csat_score(values: Iterable[int]) -> float | None:
    """CSAT: % of answers 4 or 5 on the 5-point scale; None without answers."""
    vals = list(values)
    if not vals:
        return None
    return round(100 * sum(v >= 4 for v in vals) / len(vals), 1)


# ---- Periods -------------------------------------------------------------------------------------------------------
def period_key(day: date, frequency: str) -> str:
    if frequency == "monthly":
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def period_label(key: str) -> str:
    if "Q" in key:
        y, q = key.split("Q")
        return f"{y}年第{q}季度"
    y, m = key.split("-")
    return f"{y}年{int(m)}月"


# ---- Sampling ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    customer_id: int
    manager_id: int | None
    consented: bool
    last_surveyed_at: datetime | None  # the last invitation (not cancelled) to this customer


@dataclass(frozen=True)
class Sample:
    chosen: tuple[Candidate, ...]
    skipped_consent: int
    skipped_interval: int


def within_interval(last: datetime | None, now: datetime, min_interval_days: int) -> bool:
    """True when the customer was surveyed less than ``min_interval_days`` ago (so may not be surveyed now)."""
    return last is not None and now - last < timedelta(days=min_interval_days)


def eligible(c: Candidate, now: datetime, min_interval_days: int) -> str:
    """'' when the customer may be surveyed now, else the reason ('consent' or 'interval')."""
    if not c.consented:
        return "consent"
    if within_interval(c.last_surveyed_at, now, min_interval_days):
        return "interval"
    return ""


def _rank(seed: str, customer_id: int) -> str:
    return hashlib.sha256(f"{seed}:{customer_id}".encode()).hexdigest()


def sample_per_manager(candidates: Iterable[Candidate], *, per_manager: int, now: datetime, min_interval_days: int,
                       seed: str) -> Sample:
    """Up to ``per_manager`` eligible customers of each manager, chosen by a seeded hash (the same seed gives the
    same sample; different periods give different ones). Customers without a manager are not sampled."""
    by_manager: dict[int, list[Candidate]] = {}
    consent = interval = 0
    for c in candidates:
        why = eligible(c, now, min_interval_days)
        if why == "consent":
            consent += 1
        elif why == "interval":
            interval += 1
        elif c.manager_id is not None:
            by_manager.setdefault(c.manager_id, []).append(c)
    chosen: list[Candidate] = []
    for mid in sorted(by_manager):
        ranked = sorted(by_manager[mid], key=lambda c: _rank(seed, c.customer_id))
        chosen.extend(ranked[:per_manager])
    return Sample(tuple(sorted(chosen, key=lambda c: c.customer_id)), consent, interval)


# ---- Tokens --------------------------------------------------------------------------------------------------------
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 random bytes, URL-safe base64 without padding


def token_hash(token: str) -> str:
    """SHA-256 of the token: only this is stored, so a database reader cannot answer for a customer. (A 256-bit
    random token needs no slow hash: there is nothing to brute-force.)"""
    return hashlib.sha256(token.encode("ascii", "ignore")).hexdigest()


def well_formed(token: str) -> bool:
    return bool(TOKEN_RE.match(token or ""))
