"""Pure engagement rules (no database): the fixed list of needs goals, opportunity stage transitions, plan-step
dates, plan-template validation, interaction times, needs-profile diffs and the calendar grid.

Figures (how far back an interaction may be logged, how early a task reminds) come from ``core.params`` through the
services; these functions take them as arguments so they stay fast and property-testable.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable, Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _

from bankcrm.core.errors import (
    RuleViolation,
    ValidationFailed,
    field_error,
)
from bankcrm.core.workdays import add_working_days

# ---- Needs goals (a fixed list: the needs profile, opportunities and the insight helper share these codes) ----------
GOALS: list[tuple[str, Any]] = [
    ("retirement", _("养老")),
    ("education", _("子女教育")),
    ("housing", _("购房")),
    ("growth", _("财富增值")),
    ("liquidity", _("流动性管理")),
    ("protection", _("保障")),
]
GOAL_CODES = tuple(code for code, _label in GOALS)


def goal_label(code: str) -> str:
    return str(dict(GOALS).get(code, code))


def clean_goals(raw: Any) -> list[str]:
    """A list of goal codes from the fixed list, at least one, no repeats, in the list's order."""
    if isinstance(raw, str):
        raw = [p for p in raw.replace("，", ",").split(",") if p.strip()]
    if not isinstance(raw, (list, tuple)) or not raw:
        raise field_error("goals_required", "goals", _("请至少选择一个理财目标"))
    codes = [str(c).strip() for c in raw]
    unknown = [c for c in codes if c not in GOAL_CODES]
    if unknown:
        raise field_error("goal_invalid", "goals", _("无效的理财目标：%(c)s") % {"c": "、".join(unknown)})
    return [c for c in GOAL_CODES if c in codes]


def clean_goal(code: str, *, required: bool = True) -> str:
    code = (code or "").strip()
    if not code and not required:
        return ""
    if code not in GOAL_CODES:
        raise field_error("goal_invalid", "goal", _("请选择需求类型"))
    return code


# ---- Opportunity stages -------------------------------------------------------------------------------------------
OPEN_STAGES = ("need", "contacted", "proposal")
CLOSED_STAGES = ("won", "lost")
ALL_STAGES = OPEN_STAGES + CLOSED_STAGES


def stage_move_check(current: str, target: str, *, lost_reason: str = "") -> None:
    """May an opportunity move from ``current`` to ``target`` by hand? Open stages only move forward
    (need → contacted → proposal, skipping allowed); any open stage may be lost with a reason; "won" is never set by
    hand (only a settled wealth sale wins an opportunity); won and lost are final."""
    if target not in ALL_STAGES:
        raise field_error("stage_invalid", "stage", _("无效的商机阶段"))
    if current in CLOSED_STAGES:
        raise RuleViolation("opportunity_closed", _("商机已结束（已成交或未成交），不能再变更阶段"))
    if target == current:
        raise RuleViolation("stage_unchanged", _("商机已处于该阶段"))
    if target == "won":
        raise RuleViolation("won_needs_sale", _("商机只能通过关联已成交的理财销售来标记为成交"))
    if target == "lost":
        if len((lost_reason or "").strip()) < 2:
            raise field_error("lost_reason_required", "lost_reason", _("标记为未成交须填写原因（至少2个字）"))
        return
    if OPEN_STAGES.index(target) < OPEN_STAGES.index(current):
        raise RuleViolation("stage_backwards", _("商机阶段只能向前推进"))


def next_stages(current: str) -> list[str]:
    """The stages a person may move an opportunity to from ``current`` (for buttons)."""
    if current in CLOSED_STAGES:
        return []
    return [s for s in OPEN_STAGES if OPEN_STAGES.index(s) > OPEN_STAGES.index(current)] + ["lost"]


# ---- Plan templates and their steps --------------------------------------------------------------------------------
MAX_STEPS = 20
MIN_OFFSET, MAX_OFFSET = -365, 3650


def clean_steps(raw: Any) -> list[dict[str, Any]]:
    """Validate a template's steps ``[{"title", "title_en"?, "offset_days"}]``: 1–20 steps, a title of 2–120
    characters, an integer offset between −365 and 3650 days. Errors name the step (``steps`` field)."""
    import json

    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise field_error("steps_not_json", "steps", _("步骤须为 JSON 数组")) from None
    if not isinstance(raw, list) or not raw:
        raise field_error("steps_required", "steps", _("请至少填写一个步骤"))
    if len(raw) > MAX_STEPS:
        raise field_error("steps_too_many", "steps", _("步骤最多 %(n)d 个") % {"n": MAX_STEPS})
    out, problems = [], []
    for i, step in enumerate(raw, start=1):
        if not isinstance(step, dict):
            problems.append(str(_("第%(i)d步：格式应为对象（含 title 和 offset_days）") % {"i": i}))
            continue
        title = str(step.get("title", "")).strip()
        title_en = str(step.get("title_en", "") or "").strip()
        offset = step.get("offset_days")
        if len(title) < 2 or len(title) > 120:
            problems.append(str(_("第%(i)d步：事项须为2至120个字") % {"i": i}))
        if isinstance(offset, bool) or not isinstance(offset, int):
            if isinstance(offset, str) and offset.strip().lstrip("-").isdigit():
                offset = int(offset.strip())
            else:
                problems.append(str(_("第%(i)d步：偏移天数须为整数") % {"i": i}))
                continue
        if not MIN_OFFSET <= offset <= MAX_OFFSET:
            problems.append(str(_("第%(i)d步：偏移天数须在 %(lo)d 至 %(hi)d 之间") % {"i": i, "lo": MIN_OFFSET,
                                                                                 "hi": MAX_OFFSET}))
        if len(title_en) > 200:
            problems.append(str(_("第%(i)d步：英文事项最多200个字符") % {"i": i}))
        out.append({"title": title, "title_en": title_en, "offset_days": offset})
    if problems:
        raise ValidationFailed("steps_invalid", problems[0], fields={"steps": problems})
    return out


@dataclass(frozen=True)
class PlannedStep:
    index: int
    title: str
    title_en: str
    offset_days: int
    due_on: date


def plan_step_dates(start: date, steps: Iterable[dict[str, Any]], *, today: date,
                    holidays: Set[date] = frozenset(), makeup: Set[date] = frozenset()) -> list[PlannedStep]:
    """The due date of each step: start + offset calendar days, moved to the next working day when it falls on a
    weekend or holiday, and never before today (a plan started late does not create overdue tasks)."""
    out = []
    for i, s in enumerate(steps):
        day = start + timedelta(days=int(s["offset_days"]))
        day = max(day, today)
        day = add_working_days(day, 0, holidays, makeup)
        out.append(PlannedStep(i, s["title"], s.get("title_en", ""), int(s["offset_days"]), day))
    return out


# The default templates (administrators edit them afterwards; installing is idempotent by code).
DEFAULT_TEMPLATES: list[dict[str, Any]] = [
    {"code": "onboarding", "name": "新客户开户后30天内的三次联系", "name_en": "Onboarding: three contacts in the first 30 days",
     "steps": [
         {"title": "欢迎致电：感谢开户，确认联系偏好", "title_en": "Welcome call: thank and confirm contact preferences",
          "offset_days": 1},
         {"title": "首次面谈：了解家庭与财务目标，建立需求档案", "title_en": "First meeting: goals and needs profile",
          "offset_days": 7},
         {"title": "30天回访：介绍适合的产品与服务", "title_en": "Day-30 follow-up: suitable products and services",
          "offset_days": 30},
     ]},
    {"code": "annual_review", "name": "年度回顾", "name_en": "Annual review",
     "steps": [
         {"title": "整理客户资产与交易情况", "title_en": "Prepare the customer's assets and activity", "offset_days": 0},
         {"title": "年度回顾面谈：复核需求档案与风险测评有效期",
          "title_en": "Review meeting: needs profile and risk assessment validity", "offset_days": 7},
         {"title": "发送回顾纪要并约定下一步", "title_en": "Send the review notes and agree next steps", "offset_days": 14},
     ]},
    {"code": "maturity", "name": "到期跟进", "name_en": "Maturity follow-up",
     "steps": [
         {"title": "到期前两周：提醒到期日并了解资金安排", "title_en": "Two weeks before: remind and ask about plans",
          "offset_days": -14},
         {"title": "到期前：确认续作或转入意向", "title_en": "Before maturity: confirm renewal or switch",
          "offset_days": -3},
         {"title": "到期后：跟进资金去向", "title_en": "After maturity: follow the funds", "offset_days": 3},
     ]},
    {"code": "high_value", "name": "高价值客户维护", "name_en": "High-value retention",
     "steps": [
         {"title": "专属客户经理问候", "title_en": "Personal greeting from the relationship manager", "offset_days": 0},
         {"title": "资产检视与配置建议", "title_en": "Portfolio review and allocation advice", "offset_days": 30},
         {"title": "邀请参加客户活动", "title_en": "Invite to a client event", "offset_days": 60},
         {"title": "季度回顾面谈", "title_en": "Quarterly review meeting", "offset_days": 90},
     ]},
]


# ---- Interactions --------------------------------------------------------------------------------------------------
MAX_PARTICIPANTS = 10
SLACK = timedelta(minutes=5)


def clean_participants(raw: Any) -> list[str]:
    """Names of those present (staff, the customer's family): a list, or text separated by commas or 、."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        for sep in ("，", "、", ";", "；", "\n"):
            raw = raw.replace(sep, ",")
        raw = raw.split(",")
    if not isinstance(raw, (list, tuple)):
        raise field_error("participants_invalid", "participants", _("参与人格式无效"))
    names = []
    for p in raw:
        p = str(p).strip()
        if not p:
            continue
        if len(p) > 40:
            raise field_error("participants_invalid", "participants", _("每位参与人最多40个字"))
        if p not in names:
            names.append(p)
    if len(names) > MAX_PARTICIPANTS:
        raise field_error("participants_too_many", "participants",
                          _("参与人最多 %(n)d 位") % {"n": MAX_PARTICIPANTS})
    return names


def check_occurred_at(value: datetime, *, now: datetime, backdate_days: int) -> None:
    """A done interaction happened in the past, at most ``backdate_days`` ago."""
    if value > now + SLACK:
        raise field_error("occurred_at_future", "occurred_at", _("发生时间不能晚于现在；未来的联系请用“计划”"))
    if value < now - timedelta(days=backdate_days):
        raise field_error("occurred_at_too_old", "occurred_at",
                          _("只能补记最近 %(n)d 天内的互动") % {"n": backdate_days})


def check_planned_at(value: datetime, *, now: datetime, horizon_days: int = 366) -> None:
    if value < now - SLACK:
        raise field_error("planned_at_past", "planned_at", _("计划时间须晚于现在；已发生的联系请直接记录"))
    if value > now + timedelta(days=horizon_days):
        raise field_error("planned_at_too_far", "planned_at", _("计划时间须在一年以内"))


# ---- Tasks ---------------------------------------------------------------------------------------------------------
def task_bucket(due_on: date, today: date) -> str:
    if due_on < today:
        return "overdue"
    if due_on == today:
        return "today"
    return "upcoming"


def check_due_on(due_on: date, *, today: date, horizon_days: int = 3 * 366) -> None:
    if due_on < today:
        raise field_error("due_on_past", "due_on", _("到期日不能早于今天"))
    if due_on > today + timedelta(days=horizon_days):
        raise field_error("due_on_too_far", "due_on", _("到期日须在三年以内"))


def remind_from(due_on: date, lead_days: int) -> date:
    """The day a task's reminder becomes due."""
    return due_on - timedelta(days=max(0, lead_days))


# ---- Needs profile history -----------------------------------------------------------------------------------------
NEEDS_FIELDS = ("goals", "horizon", "liquidity", "constraints", "notes")


def needs_data(goals: list[str], horizon: str, liquidity: str, constraints: str, notes: str) -> dict[str, Any]:
    return {"goals": list(goals), "horizon": horizon, "liquidity": liquidity, "constraints": constraints,
            "notes": notes}


def needs_diff(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed between two versions, field by field; goals as added and removed codes."""
    before = before or {}
    out = []
    for f in NEEDS_FIELDS:
        old, new = before.get(f), after.get(f)
        if f == "goals":
            old_set, new_set = set(old or []), set(new or [])
            if old_set != new_set or (not before and new_set):
                out.append({"field": f, "before": list(old or []), "after": list(new or []),
                            "added": [g for g in GOAL_CODES if g in new_set - old_set],
                            "removed": [g for g in GOAL_CODES if g in old_set - new_set]})
        elif (old or "") != (new or ""):
            out.append({"field": f, "before": old or "", "after": new or ""})
    return out


# ---- Calendar ------------------------------------------------------------------------------------------------------
def month_weeks(year: int, month: int) -> list[list[date]]:
    """The weeks (Monday first) covering a month, each a list of 7 dates."""
    return _calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)


def month_bounds(year: int, month: int) -> tuple[date, date]:
    weeks = month_weeks(year, month)
    return weeks[0][0], weeks[-1][-1]


def week_bounds(day: date) -> tuple[date, date]:
    start = day - timedelta(days=day.weekday())
    return start, start + timedelta(days=6)


def shift_month(year: int, month: int, delta: int) -> tuple[int, int]:
    m = year * 12 + (month - 1) + delta
    return m // 12, m % 12 + 1
