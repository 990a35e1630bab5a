"""The assets-under-management page (客户资产 AUM): the latest snapshot day's KPI cards (total, deposits, wealth,
customers by value tier), a 90-day trend (deposits and wealth stacked), the tier distribution and tables by customer
manager and by branch — all within what the actor may aggregate (`aum._scoped`: customer managers their own
customers, others their branch subtree). Without a snapshot yet, staff may compute today's now (audited service)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bankcrm.core import access
from bankcrm.core.errors import DomainError, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required

from . import aum, services

WAN = 1_000_000  # fen in 万元


def wan(fen: int | None) -> str:
    """Fen as 万元 with two decimals: 123456789 → '123.46'."""
    return f"{(Decimal(fen or 0) / WAN).quantize(Decimal('0.01')):,}"


def _wan_number(fen: int | None) -> float:
    """For the charts only (display), never for arithmetic on money."""
    return float((Decimal(fen or 0) / WAN).quantize(Decimal("0.01")))


def _share(part: int, whole: int) -> str:
    return f"{Decimal(part * 100) / whole:.1f}" if whole else "0.0"


def _scope_label(user: Any) -> str:
    if "customer_manager" in user.roles and not user.roles & {"branch_supervisor", "compliance_manager", "admin"}:
        return _("本人管户客户")
    if access.scope_root(user) is None:
        return _("全行")
    return _("%(b)s及下辖机构") % {"b": user.branch.name}


def _table(rows: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    return [{**r, "deposits": wan(r["deposits_fen"]), "wealth": wan(r["wealth_fen"]), "total": wan(r["total_fen"]),
             "share": _share(r["total_fen"], total)} for r in rows]


@capability_required("wealth.aum")
@require_http_methods(["GET", "POST"])
def aum_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        access.require(user, "wealth.aum_refresh")
        try:
            n = entrypoint(services.aum_snapshot_now)(actor=user)
        except PermissionDenied:
            raise
        except DomainError as exc:
            messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})
        else:
            messages.success(request, _("已生成 %(d)s 的客户资产快照，共 %(n)d 位客户") % {
                "d": timezone.localdate().isoformat(), "n": n})
        return redirect("wealth:aum")
    day = aum.latest_day(user)
    ctx: dict[str, Any] = {"day": day, "scope": _scope_label(user), "today": timezone.localdate(),
                           "can_refresh": access.can(user, "wealth.aum_refresh")}
    if day is None:
        return render(request, "wealth/aum.html", ctx)
    tiers = aum.by_tier(user, day)
    branches = aum.by_branch(user, day)
    managers = aum.by_manager(user, day)
    trend = aum.trend(user, days=90)
    deposits = sum(r["deposits_fen"] for r in branches)
    wealth = sum(r["wealth_fen"] for r in branches)
    total = deposits + wealth
    customers = sum(r["customers"] for r in branches)
    earlier = [r for r in trend if r["day"] < day.isoformat()]
    change = None
    if earlier and earlier[-1]["total_fen"]:
        prev = earlier[-1]
        change = {"day": prev["day"], "pct": f"{Decimal((total - prev['total_fen']) * 100) / prev['total_fen']:+.2f}%",
                  "up": total >= prev["total_fen"]}
    chart = {
        "unit": _("万元"), "deposits": _("存款"), "wealth": _("理财"), "customers": _("客户数"),
        "trendTitle": _("近 90 天客户资产走势（万元）"), "tierTitle": _("客户层级分布（按客户数）"),
        "days": [r["day"] for r in trend], "depositSeries": [_wan_number(r["deposits_fen"]) for r in trend],
        "wealthSeries": [_wan_number(r["wealth_fen"]) for r in trend],
        "tiers": [{"name": t["label"], "value": t["customers"], "aum": _wan_number(t["total_fen"])} for t in tiers],
    }
    ctx.update({
        "total": wan(total), "deposits": wan(deposits), "wealth": wan(wealth), "customers": customers,
        "deposit_share": _share(deposits, total), "wealth_share": _share(wealth, total), "change": change,
        "tiers": [{**t, "total": wan(t["total_fen"]), "share": _share(t["customers"], customers)} for t in tiers],
        "managers": _table(managers, total), "branches": _table(branches, total), "chart": chart,
        "stale": day < timezone.localdate(), "trend_days": len(trend)})
    return render(request, "wealth/aum.html", ctx)
