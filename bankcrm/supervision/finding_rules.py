"""Pure rules of findings and rectification (no database access), and the rule parameters they read.

- Rectification deadline: ``raised_on + supervision.rectify_days.<severity>`` calendar days.
- Which transitions a finding allows, who may close it (compliance, never the owner or the person concerned).
- Compliance figures of a control run: the share of the population without an exception, as text such as
  "97.3%（41 例外）".
"""

from __future__ import annotations

from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

from bankcrm.core import params

# Rectification deadlines by severity (DOMAIN_RULES §1 "Supervision": findings with rectification deadlines).
params.define("supervision.rectify_days.critical", "days", 7, _("严重问题整改期限"), "DOMAIN_RULES §1 supervision",
              minimum=1, maximum=365)
params.define("supervision.rectify_days.high", "days", 15, _("高风险问题整改期限"), "DOMAIN_RULES §1 supervision",
              minimum=1, maximum=365)
params.define("supervision.rectify_days.medium", "days", 30, _("中风险问题整改期限"), "DOMAIN_RULES §1 supervision",
              minimum=1, maximum=365)
params.define("supervision.rectify_days.low", "days", 60, _("低风险问题整改期限"), "DOMAIN_RULES §1 supervision",
              minimum=1, maximum=365)
params.define("supervision.remind_lead", "days", 3, _("整改到期前提醒提前天数"), "DOMAIN_RULES §1 supervision",
              maximum=60)
params.define("supervision.money_lookback", "days", 400, _("未经复核大额交易检查回溯天数"), "DOMAIN_RULES §7",
              minimum=1, maximum=3700)
params.define("supervision.complaint_window", "days", 90, _("投诉时限检查统计期（近N天受理的投诉）"), "DOMAIN_RULES §5",
              minimum=1, maximum=730)

SEVERITIES = ("critical", "high", "medium", "low")
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}

OPEN, RECTIFYING, RECTIFIED, CLOSED = "open", "rectifying", "rectified", "closed"
LIVE = (OPEN, RECTIFYING, RECTIFIED)
# statuses whose deadline still runs (a finding awaiting re-check is the checker's turn, not the owner's)
RUNNING = (OPEN, RECTIFYING)


def rectify_days(severity: str) -> int:
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    return params.value(f"supervision.rectify_days.{severity}")


def due_on_for(severity: str, raised_on: date, days: int | None = None) -> date:
    """The rectification deadline of a finding of ``severity`` raised on ``raised_on``."""
    return raised_on + timedelta(days=rectify_days(severity) if days is None else days)


def is_overdue(status: str, due_on: date | None, today: date) -> bool:
    return status in RUNNING and due_on is not None and due_on < today


def may_close(*, actor_id: int, owner_id: int | None, staff_id: int | None) -> bool:
    """Segregation of duties: the person who rectified (the owner) and the person the finding is about never close it."""
    return actor_id not in {owner_id, staff_id}


def close_needs_reason(action_statuses: list[str]) -> bool:
    """Closing is routine when every rectification action passed its re-check; otherwise a reason is required (e.g.
    the exception was resolved in the data, or the finding was a false positive)."""
    return not action_statuses or any(s != "passed" for s in action_statuses)


def may_submit(action_statuses: list[str]) -> bool:
    """The owner may say "rectified" once there is at least one action and none is still open or failed."""
    return bool(action_statuses) and all(s in ("done", "passed") for s in action_statuses)


def compliance_percent(population: int, exceptions: int) -> float | None:
    """Share of the population without an exception, one decimal (None when there is nothing to measure)."""
    if population <= 0:
        return None
    ok = max(population - exceptions, 0)
    return round(ok * 1000 / population) / 10


def measure_text(label: str, population: int, exceptions: int) -> str:
    from django.utils.translation import gettext, ngettext

    pct = compliance_percent(population, exceptions)
    if pct is None:
        return gettext("%(label)s：—") % {"label": label}
    return ngettext("%(label)s：%(pct)s%%（%(n)d 例外）", "%(label)s：%(pct)s%%（%(n)d 例外）", exceptions) % {
        "label": label, "pct": f"{pct:.1f}", "n": exceptions}


def tone(severity: str, exceptions: int, oldest_age_days: int | None, limit_days: int) -> str:
    """The matrix colour of a control: green without exceptions; otherwise by severity, darker once the oldest open
    exception is older than the rectification period of its severity."""
    if exceptions <= 0:
        return "ok"
    overdue = oldest_age_days is not None and oldest_age_days > limit_days
    if severity in ("critical", "high"):
        return "danger" if overdue or severity == "critical" else "warning"
    return "warning" if overdue else "notice"
