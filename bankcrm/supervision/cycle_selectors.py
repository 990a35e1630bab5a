"""Process cycle times (DOMAIN_RULES.md §1 "optimise internal processes"): how long key processes take, as medians
and 90th percentiles per branch and period, so that streamlining is measured, not claimed.

Processes (start → end, each from the owning app's own timestamps):

- ``account_opening``: customer registered (``Customer.created_at``) → first customer account opened
  (``min(Account.opened_at)``; accounts open at once in ``ledger.account_open``, so registration → first account is
  the customer-facing opening time);
- ``approval``: maker-checker item submitted → decided (``PendingAction.created_at`` → ``decided_at``; expired and
  cancelled items are not decisions and are left out);
- ``complaint_decision``: complaint received → decided; ``complaint_closure``: received → closed;
- ``service_request``: request received → resolved;
- ``aml_alert``: monitoring alert created → closed.

Only finished cases count (an open case has no duration yet), assigned to the period (month or quarter, local time)
in which they **started**. **Method** (portable: SQLite has no percentile function): one bounded query per process
fetches (start, end, branch path) for the window and scope; durations are computed and sorted in Python. Median: the
middle value, or the mean of the two middle values for an even count. P90: nearest rank, the ⌈0.9·n⌉-th smallest
value. Durations are in hours.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from statistics import median
from typing import Any

from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access

MAX_ROWS = 200_000  # per process and request: a wider window is a report, not a page
MAX_MONTHS = 36


@dataclass(frozen=True)
class Process:
    code: str
    label: Any
    start: str
    end: str


PROCESSES = [
    Process("account_opening", _("开户（建档→首个账户开立）"), _("建档"), _("开户")),
    Process("approval", _("复核审批（提交→决定）"), _("提交"), _("决定")),
    Process("complaint_decision", _("投诉处理（收到→作出决定）"), _("收到"), _("决定")),
    Process("complaint_closure", _("投诉办结（收到→办结）"), _("收到"), _("办结")),
    Process("service_request", _("服务请求（受理→解决）"), _("受理"), _("解决")),
    Process("aml_alert", _("反洗钱预警（生成→关闭）"), _("生成"), _("关闭")),
]
PROCESS_CODES = [p.code for p in PROCESSES]


# ---- Pure statistics --------------------------------------------------------------------------------------------------
def p90(sorted_values: list[float]) -> float:
    """Nearest-rank 90th percentile of an ascending list."""
    return sorted_values[max(1, math.ceil(0.9 * len(sorted_values))) - 1]


def summarise(values: Iterable[float]) -> dict[str, Any]:
    v = sorted(values)
    if not v:
        return {"n": 0, "median_h": None, "p90_h": None}
    return {"n": len(v), "median_h": round(median(v), 2), "p90_h": round(p90(v), 2)}


def period_of(d: date, granularity: str) -> str:
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}" if granularity == "quarter" else f"{d.year}-{d.month:02d}"


def periods_between(start: date, end: date, granularity: str) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        p = period_of(date(y, m, 1), granularity)
        if p not in out:
            out.append(p)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# ---- Reads ----------------------------------------------------------------------------------------------------------
def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    first = datetime.combine(start.replace(day=1), time.min, tz)
    y, m = (end.year + 1, 1) if end.month == 12 else (end.year, end.month + 1)
    return first, datetime.combine(date(y, m, 1), time.min, tz)


def _raw(code: str, since: datetime, until: datetime, path_q: dict[str, str]) -> Iterable[tuple[datetime, datetime, str]]:
    """(start, end, branch path) of finished cases of one process started in [since, until)."""
    if code == "account_opening":
        from bankcrm.customers.models import Customer

        qs = (Customer.objects.filter(created_at__gte=since, created_at__lt=until,
                                      **{f"branch__path{k}": v for k, v in path_q.items()})
              .annotate(first=Min("accounts__opened_at", filter=Q(accounts__kind="customer")))
              .filter(first__isnull=False).values_list("created_at", "first", "branch__path"))
    elif code == "approval":
        from bankcrm.approvals.models import PendingAction

        qs = (PendingAction.objects.filter(created_at__gte=since, created_at__lt=until, decided_at__isnull=False,
                                           status__in=["executed", "rejected", "failed"],
                                           **{f"branch_path{k}": v for k, v in path_q.items()})
              .values_list("created_at", "decided_at", "branch_path"))
    elif code in ("complaint_decision", "complaint_closure"):
        from bankcrm.service.models import Complaint

        end = "decided_at" if code == "complaint_decision" else "closed_at"
        qs = (Complaint.objects.filter(received_at__gte=since, received_at__lt=until, **{f"{end}__isnull": False},
                                       **{f"branch_path{k}": v for k, v in path_q.items()})
              .values_list("received_at", end, "branch_path"))
    elif code == "service_request":
        from bankcrm.service.models import ServiceRequest

        qs = (ServiceRequest.objects.filter(received_at__gte=since, received_at__lt=until, resolved_at__isnull=False,
                                            **{f"branch_path{k}": v for k, v in path_q.items()})
              .values_list("received_at", "resolved_at", "branch_path"))
    elif code == "aml_alert":
        from bankcrm.risk.models import Alert

        qs = (Alert.objects.filter(created_at__gte=since, created_at__lt=until, closed_at__isnull=False,
                                   **{f"branch_path{k}": v for k, v in path_q.items()})
              .values_list("created_at", "closed_at", "branch_path"))
    else:
        raise KeyError(code)
    return qs.order_by()[:MAX_ROWS]


def _scope_root(actor: Any, branch_path: str | None) -> str | None:
    """The branch subtree to read: the chosen branch if it lies in the actor's scope, else the actor's scope."""
    root = access.scope_root(actor)
    if branch_path and (root is None or branch_path.startswith(root)):
        return branch_path
    return root


def _group_path(path: str, root: str | None) -> str:
    """The branch one level below the root that a record belongs to (or the root itself)."""
    base = root or "/" + path.strip("/").split("/")[0] + "/"
    if not path.startswith(base) or path == base:
        return base
    rest = path[len(base):].strip("/").split("/")[0]
    return f"{base}{rest}/"


def cycle_times(actor: Any, *, start: date, end: date, granularity: str = "month", branch_path: str | None = None,
                processes: list[str] | None = None) -> dict[str, Any]:
    """Median and p90 per process and period, and per process and branch (over the whole window), within the
    actor's scope. Returns ``{"periods", "series": {code: [{period, n, median_h, p90_h}]}, "branches": [...]}``."""
    if not access.can(actor, "supervision.cycle"):
        return {"periods": [], "series": {}, "branches": [], "root": None}
    root = _scope_root(actor, branch_path)
    path_q = {} if root is None else {"__startswith": root}
    since, until = _bounds(start, end)
    periods = periods_between(start, end, granularity)
    series: dict[str, list[dict[str, Any]]] = {}
    by_branch: dict[tuple[str, str], list[float]] = defaultdict(list)
    totals: dict[str, dict[str, Any]] = {}
    for code in processes or PROCESS_CODES:
        per_period: dict[str, list[float]] = defaultdict(list)
        every: list[float] = []
        for s, e, path in _raw(code, since, until, path_q):
            hours = (e - s).total_seconds() / 3600
            if hours < 0:
                continue
            per_period[period_of(timezone.localtime(s).date(), granularity)].append(hours)
            by_branch[(code, _group_path(path or "", root))].append(hours)
            every.append(hours)
        series[code] = [{"period": p, **summarise(per_period.get(p, []))} for p in periods]
        totals[code] = summarise(every)
    from bankcrm.org.models import Branch

    names = dict(Branch.objects.filter(path__in={p for _c, p in by_branch}).values_list("path", "name"))
    branches = [{"process": code, "branch_path": path, "branch": names.get(path, path), **summarise(vals)}
                for (code, path), vals in sorted(by_branch.items())]
    return {"periods": periods, "series": series, "branches": branches, "totals": totals, "root": root}


def branch_choices(actor: Any) -> list[tuple[str, str]]:
    from bankcrm.org.models import Branch

    qs = Branch.objects.filter(access.branch_scope_q(actor, "path")).order_by("path")
    return [(b.path, f"{'　' * (b.path.count('/') - 2)}{b.name}") for b in qs]
