"""Pure rules of training and certification (no database, no clock): quiz scoring, pass marks, certificate expiry
and validity, which requirements apply to whom, due dates, periodic re-training.

Scores are whole percent (0–100), rounded down so that a pass mark is never reached by rounding up.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext as _

OPTIONS_PER_QUESTION = 4
MAX_QUESTIONS = 50


def add_months(d: date, months: int) -> date:
    """``d`` plus whole months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


# ---- Quizzes -----------------------------------------------------------------------------------------------------------
def quiz_problems(quiz: Any) -> dict[str, str]:
    """Every problem of a quiz definition, each named by where it is (``第2题 选项`` …): an empty dict means valid.

    A question is ``{"q", "q_en"?, "options": [4 texts], "options_en"?: [4 texts], "answer": 0-3}``."""
    if not isinstance(quiz, list):
        return {"quiz": _("测验题必须是题目列表（JSON 数组）")}
    problems: dict[str, str] = {}
    if len(quiz) > MAX_QUESTIONS:
        problems["quiz"] = _("题目不能超过 %(n)d 道") % {"n": MAX_QUESTIONS}
    for i, item in enumerate(quiz, start=1):
        where = _("第%(i)d题") % {"i": i}
        if not isinstance(item, dict):
            problems[where] = _("%(w)s必须是对象（包含 q、options、answer）") % {"w": where}
            continue
        unknown = set(item) - {"q", "q_en", "options", "options_en", "answer", "explain", "explain_en"}
        if unknown:
            problems[f"{where} " + _("字段")] = _("%(w)s含有未知字段：%(f)s") % {"w": where, "f": "、".join(sorted(unknown))}
        if not isinstance(item.get("q"), str) or not item["q"].strip():
            problems[f"{where} " + _("题干")] = _("%(w)s缺少题干（q）") % {"w": where}
        options = item.get("options")
        if not isinstance(options, list) or len(options) != OPTIONS_PER_QUESTION:
            problems[f"{where} " + _("选项")] = _("%(w)s必须有 %(n)d 个选项（options）") % {"w": where, "n": OPTIONS_PER_QUESTION}
        elif any(not isinstance(o, str) or not o.strip() for o in options):
            problems[f"{where} " + _("选项")] = _("%(w)s的选项不能为空") % {"w": where}
        elif len({o.strip() for o in options}) != len(options):
            problems[f"{where} " + _("选项")] = _("%(w)s的选项有重复") % {"w": where}
        en = item.get("options_en")
        if en is not None and (not isinstance(en, list) or len(en) != OPTIONS_PER_QUESTION
                               or any(not isinstance(o, str) for o in en)):
            problems[f"{where} " + _("英文选项")] = _("%(w)s的英文选项（options_en）须为 %(n)d 个文本") % {"w": where, "n": OPTIONS_PER_QUESTION}
        answer = item.get("answer")
        if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < OPTIONS_PER_QUESTION:
            problems[f"{where} " + _("答案")] = _("%(w)s的正确答案（answer）必须是 0–%(n)d 的选项序号") % {"w": where, "n": OPTIONS_PER_QUESTION - 1}
    return problems


def answer_problems(quiz: Sequence[dict[str, Any]], answers: Any) -> dict[str, str]:
    """Answers must be one option index per question, in order. Returns problems keyed ``q<n>`` (1-based)."""
    if not isinstance(answers, (list, tuple)):
        return {"answers": _("答案格式不正确")}
    if len(answers) != len(quiz):
        return {"answers": _("应回答 %(n)d 道题，实际提交 %(m)d 道") % {"n": len(quiz), "m": len(answers)}}
    out = {}
    for i, a in enumerate(answers, start=1):
        if not isinstance(a, int) or isinstance(a, bool) or not 0 <= a < len(quiz[i - 1].get("options", [])):
            out[f"q{i}"] = _("第%(i)d题未作答或答案无效") % {"i": i}
    return out


def wrong_questions(quiz: Sequence[dict[str, Any]], answers: Sequence[int]) -> list[int]:
    """0-based indexes of the questions answered wrongly."""
    return [i for i, (q, a) in enumerate(zip(quiz, answers, strict=True)) if q["answer"] != a]


def score(quiz: Sequence[dict[str, Any]], answers: Sequence[int]) -> int:
    """Percent correct, rounded down. A quiz without questions scores 100 (it is an attestation)."""
    if not quiz:
        return 100
    correct = len(quiz) - len(wrong_questions(quiz, answers))
    return correct * 100 // len(quiz)


def passed(score_percent: int, pass_mark: int) -> bool:
    return score_percent >= pass_mark


# ---- Certificates ------------------------------------------------------------------------------------------------------
def expiry_date(issued_on: date, validity_months: int | None) -> date | None:
    """The last day a certificate is valid: the day before the same date ``validity_months`` later; None: no expiry."""
    if not validity_months:
        return None
    return add_months(issued_on, validity_months) - timedelta(days=1)


VALID, EXPIRED, REVOKED, OUTDATED = "valid", "expired", "revoked", "outdated"


def certificate_state(*, cert_version: int, course_version: int, expires_on: date | None, revoked: bool,
                      day: date) -> str:
    """``valid`` for the course's current version on ``day``; else why not (revoked wins, then an older version,
    then expiry)."""
    if revoked:
        return REVOKED
    if cert_version < course_version:
        return OUTDATED
    if expires_on is not None and expires_on < day:
        return EXPIRED
    return VALID


def certificate_valid(*, cert_version: int, course_version: int, expires_on: date | None, revoked: bool,
                      day: date) -> bool:
    return certificate_state(cert_version=cert_version, course_version=course_version, expires_on=expires_on,
                             revoked=revoked, day=day) == VALID


# ---- Requirements and assignments --------------------------------------------------------------------------------------
def requirement_applies(*, req_roles: Iterable[str], req_types: Iterable[str], staff_roles: Iterable[str],
                        staff_type: str) -> bool:
    """Empty role / employment-type lists mean everyone; otherwise the staff member needs one of the roles and one
    of the types."""
    roles, types = set(req_roles or ()), set(req_types or ())
    if roles and not roles & set(staff_roles):
        return False
    return not types or staff_type in types


def due_date(start: date, due_days: int) -> date:
    return start + timedelta(days=max(0, int(due_days)))


def retraining_due_on(*, issued_on: date, expires_on: date | None, period_months: int | None) -> date | None:
    """When a periodic course must be taken again: after ``period_months`` from the last completion, or when the
    certificate expires, whichever is first (None: never)."""
    candidates = [d for d in (add_months(issued_on, period_months) if period_months else None,
                              expires_on + timedelta(days=1) if expires_on else None) if d is not None]
    return min(candidates) if candidates else None


def retraining_needed(*, next_due: date | None, today: date, lead_days: int) -> bool:
    """Re-assign ``lead_days`` before the re-training date (so the new certificate is earned before the old one
    lapses)."""
    return next_due is not None and next_due - timedelta(days=lead_days) <= today


def retraining_assignment_due(*, next_due: date, today: date, due_days: int) -> date:
    """The due date of a re-training assignment: the re-training date, or ``due_days`` from today when it has
    already passed."""
    return next_due if next_due > today else due_date(today, due_days)


DUE_SOON, OVERDUE, ON_TRACK = "due_soon", "overdue", "on_track"


def urgency(due_on: date, today: date, soon_days: int) -> str:
    if due_on < today:
        return OVERDUE
    if due_on <= today + timedelta(days=soon_days):
        return DUE_SOON
    return ON_TRACK


def expiring_soon(expires_on: date | None, today: date, window_days: int) -> bool:
    return expires_on is not None and today <= expires_on <= today + timedelta(days=window_days)
