"""Incentives' start-up registrations: the approvable payout (maker-checker through the approvals app), the nightly
clawback scan and the outbox consumer that scans a complaint as soon as it is closed."""

from __future__ import annotations

import logging
from datetime import time
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.approvals.registry import ApprovableAction, register
from bankcrm.core import outbox
from bankcrm.core.money import format_amount
from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import incentive_rules  # noqa: F401  (declares the clawback parameters)
from . import incentive_services as services

log = logging.getLogger(__name__)


def describe(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """What the checker sees: the pool, the total, and every award (staff number, name, amount)."""
    from bankcrm.org.models import Staff

    from .models import IncentivePool

    pool = IncentivePool.objects.select_related("branch", "period", "scheme").filter(pk=payload.get("pool_id")).first()
    if pool is None:
        return [(_("奖金池"), "—")]
    awards = payload.get("awards", [])
    names = dict(Staff.objects.filter(pk__in=[s for _a, s, _f in awards]).values_list("pk", "staff_no"))
    full = {s.pk: s.name for s in Staff.objects.filter(pk__in=names)}
    rows = [(_("机构"), pool.branch.name), (_("考核期"), str(pool.period)), (_("激励方案"), pool.scheme.name),
            (_("奖金池金额"), _("%(a)s 元") % {"a": format_amount(payload.get('amount_fen', 0))}),
            (_("未分配金额"), _("%(a)s 元") % {"a": format_amount(payload.get('undistributed_fen', 0))})]
    for _a, staff_id, fen in awards:
        rows.append((f"{names.get(staff_id, staff_id)} {full.get(staff_id, '')}", _("%(a)s 元") % {"a": format_amount(fen)}))
    return rows


register(ApprovableAction(services.ACTION_PAYOUT, gettext_lazy("奖金池发放复核"), services.execute_payout,
                          checker_capability="people.approve_incentives", describe=describe,
                          conflicts_with_checker=services.checker_conflicts,
                          on_not_executed=services.payout_not_executed))

daily("people.clawback_scan", time(3, 20), lambda: run_as_task(services.clawback_scan))


def complaints_closed(events: list) -> None:
    """``service.complaint_closed`` ({"complaint_id", "customer_id", "kind"}): scan that complaint at once rather
    than waiting for the night. Each event in its own savepoint, so one bad event never blocks the relay."""
    for e in events:
        p = e.payload or {}
        if p.get("kind", "complaint") != "complaint" or not str(p.get("complaint_id", "")).isdigit():
            continue
        try:
            with transaction.atomic():
                services.clawback_scan(complaint_ids=[int(p["complaint_id"])])
        except Exception:
            log.warning("clawback scan failed for complaint %s", p.get("complaint_id"), exc_info=True)


outbox.register_consumer("people_clawbacks", ("service.complaint_closed",), complaints_closed)
