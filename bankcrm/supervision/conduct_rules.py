"""Staff-conduct rules (DOMAIN_RULES.md §7 "Staff conduct and internal control"): the thresholds as rule parameters
and the pure functions the nightly detectors apply. No database access here.

Signal kinds (``core.ConductSignal.kind``):

- ``bulk_view_unmanaged``: raised in real time by ``customers.monitoring`` (many unmanaged customers within a short
  window); ``unmanaged_views_day`` is its nightly, whole-day counterpart: distinct customers a member of staff does not
  manage (no current ``ManagerAssignment``) whose data they opened on one local day ≥ ``conduct.unmanaged_views_day``.
- ``bulk_unmask``: unmasked reads (``core.AccessEvent`` with ``unmasked=True``: every "show full number" with a
  reason) by one member of staff on one local day ≥ ``conduct.unmask_day``.
- ``odd_hours``: sign-ins (security log ``login_ok``) and state changes (audit events by the person) outside
  ``conduct.hours_start``–``conduct.hours_end`` local time, or on a non-working day (``core.workdays``: weekends and
  holidays, makeup working days count as working) — ≥ ``conduct.odd_hours_count`` such acts within the last
  ``conduct.odd_hours_window`` days. One signal per person per window (a later night does not re-raise it).
- ``related_party``: a member of staff posting (maker) or approving (checker) a ledger transaction for a customer
  related to them, ≥ ``conduct.related_party_count`` transactions on one local day. **Related** is defined crisply:
  (a) the customer's mobile number equals the staff member's own mobile (compared through the customer blind index,
  never in plain text): the customer *is* the staff member, or shares their phone; (b) any customer linked to such a
  customer by a current family relationship (spouse, parent, child, household member) in ``customers.Relationship``.
"""

from __future__ import annotations

from collections.abc import Set
from datetime import date, datetime

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from bankcrm.core import workdays
from bankcrm.core.access import Role
from bankcrm.core.params import define

KIND_BULK_VIEW = "bulk_view_unmanaged"
KIND_VIEWS_DAY = "unmanaged_views_day"
KIND_UNMASK = "bulk_unmask"
KIND_ODD_HOURS = "odd_hours"
KIND_RELATED = "related_party"

KIND_LABELS = {
    KIND_BULK_VIEW: _("短时间内查看大量非管户客户"),
    KIND_VIEWS_DAY: _("单日查看大量非管户客户"),
    KIND_UNMASK: _("批量查看完整个人信息"),
    KIND_ODD_HOURS: _("非工作时间操作"),
    KIND_RELATED: _("为关联客户办理交易"),
}

# What the figures of a signal's ``detail`` are, in words (the signal page lists them; unknown keys keep their name).
DETAIL_LABELS = {
    "customers": _("查看的非管户客户数"),
    "window_minutes": _("统计时长（分钟）"),
    "unmasked": _("查看完整个人信息次数"),
    "acts": _("非工作时间操作次数"),
    "hours": _("正常工作时间"),
    "transactions": _("为关联客户办理的交易笔数"),
    "threshold": _("预警阈值"),
    "period_start": _("统计期开始"),
    "period_end": _("统计期结束"),
}

# The figure that measures each kind (the number shown next to a signal in lists and the inbox).
MEASURE_KEYS = {KIND_BULK_VIEW: "customers", KIND_VIEWS_DAY: "customers", KIND_UNMASK: "unmasked",
                KIND_ODD_HOURS: "acts", KIND_RELATED: "transactions"}


def summary(kind: str, detail: dict) -> str:
    """"<what happened>：<figure>（阈值 <threshold>）" for lists and the inbox, e.g. "批量查看完整个人信息：24（阈值 20）"."""
    label = str(KIND_LABELS.get(kind, kind))
    key = MEASURE_KEYS.get(kind)
    if key is None or detail.get(key) in (None, ""):
        return label
    if detail.get("threshold") in (None, ""):
        return f"{label}：{detail[key]}"
    return str(_("%(what)s：%(n)s（阈值 %(t)s）")) % {"what": label, "n": detail[key], "t": detail["threshold"]}


def detail_rows(detail: dict) -> list[tuple[str, object]]:
    """(label, value) of a signal's figures in a stable order; the sample of internal ids is shown apart."""
    order = list(DETAIL_LABELS)
    keys = sorted((k for k in detail if k not in ("sample", "entries")),
                  key=lambda k: (order.index(k) if k in order else len(order), k))
    return [(str(DETAIL_LABELS.get(k, k)), detail[k]) for k in keys]


# Family links that make a customer a related party of a staff member who is (or shares a phone with) the other one.
FAMILY_KINDS = ("spouse", "parent", "child", "household")

define("conduct.unmanaged_views_day", "int", 50, _("单日查看非管户客户数预警阈值"), "DOMAIN_RULES §7", minimum=1)
define("conduct.unmask_day", "int", 20, _("单日查看完整个人信息次数预警阈值"), "DOMAIN_RULES §7", minimum=1)
define("conduct.hours_start", "hours", 7, _("正常工作时间开始（时）"), "DOMAIN_RULES §7", maximum=23)
define("conduct.hours_end", "hours", 21, _("正常工作时间结束（时）"), "DOMAIN_RULES §7", minimum=1, maximum=24)
define("conduct.odd_hours_count", "int", 5, _("统计期内非工作时间操作次数预警阈值"), "DOMAIN_RULES §7", minimum=1)
define("conduct.odd_hours_window", "days", 7, _("非工作时间操作统计期"), "DOMAIN_RULES §7", minimum=1, maximum=90)
define("conduct.related_party_count", "int", 1, _("单日为关联客户办理交易笔数预警阈值"), "DOMAIN_RULES §7", minimum=1)
define("conduct.mandatory_leave_days", "days", 10, _("关键岗位强制休假最少连续天数"), "DOMAIN_RULES §7", minimum=1)
define("conduct.mandatory_leave_period", "months", 12, _("强制休假统计期"), "DOMAIN_RULES §7", minimum=1)
define("conduct.rotation_years", "years", 5, _("关键岗位最长连续任职年限"), "DOMAIN_RULES §7", minimum=1)


def key_post_roles() -> tuple[str, ...]:
    """Roles that are key posts (关键岗位) for mandatory leave and rotation. A list of role codes cannot be an integer
    rule parameter, so it is a setting (``BANKCRM_KEY_POST_ROLES``) with this default."""
    return tuple(getattr(settings, "BANKCRM_KEY_POST_ROLES", (Role.OPERATIONS_MANAGER.value, Role.RISK_MANAGER.value)))


def outside_hours(hour: int, start: int, end: int) -> bool:
    """Is a local clock hour outside the working band [start, end)? ``end`` 24 means midnight."""
    return hour < start or hour >= end


def odd_act(day: date, hour: int, *, start: int, end: int, holidays: Set[date], makeup: Set[date]) -> bool:
    """An act at this local day and hour is "at an unusual time": outside the band, or on a non-working day."""
    return outside_hours(hour, start, end) or not workdays.is_working_day(day, holidays, makeup)


def signal_key(kind: str, staff_id: int, period_end: date) -> str:
    return f"{kind}:{staff_id}:{period_end.isoformat()}"


def years_between(start: date, end: date) -> float:
    return (end - start).days / 365.25


def local_day_bounds(day: date, tz) -> tuple[datetime, datetime]:
    from datetime import time, timedelta

    start = datetime.combine(day, time.min, tz)
    return start, start + timedelta(days=1)
