"""Wealth reads, scoped: a sale, holding or return visit is visible to whoever may see its customer (customer
managers: the customers they manage; branch staff: their branch subtree), and a return visit also to its assignee.
The shelf is visible to all staff with ``wealth.view``; drafts and pending products only to those who maintain or
approve the shelf."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from bankcrm.core import access

from . import rules
from .models import NAV_ONE, Holding, ProductNav, ReturnVisit, Sale, WealthProduct


def _customer_scope(actor: Any, field: str = "customer_id") -> Q:
    from bankcrm.customers.models import Customer

    return Q(Exists(Customer.objects.visible_to(actor).filter(pk=OuterRef(field))))


def products_visible(actor: Any) -> QuerySet[WealthProduct]:
    if not access.can(actor, "wealth.view"):
        return WealthProduct.objects.none()
    qs = WealthProduct.objects.all()
    if not (access.can(actor, "wealth.manage_products") or access.can(actor, "wealth.approve_shelf")):
        qs = qs.filter(status__in=[WealthProduct.Status.ON_SHELF, WealthProduct.Status.PENDING_OFF,
                                   WealthProduct.Status.OFF_SHELF])
    return qs


def products_on_sale(actor: Any, *, day: date | None = None) -> QuerySet[WealthProduct]:
    day = day or timezone.localdate()
    return (products_visible(actor).filter(status=WealthProduct.Status.ON_SHELF, sales_start__lte=day)
            .filter(Q(sales_end__isnull=True) | Q(sales_end__gte=day)))


def product_get(actor: Any, product_id: Any) -> WealthProduct:
    from bankcrm.core.errors import NotFound

    p = products_visible(actor).filter(pk=product_id).first() if str(product_id).isdigit() else None
    if p is None:
        raise NotFound("product_not_found", "产品不存在")
    return p


def sales_visible(actor: Any) -> QuerySet[Sale]:
    if not access.can(actor, "wealth.view"):
        return Sale.objects.none()
    return Sale.objects.filter(_customer_scope(actor) | Q(seller=actor))


def holdings_visible(actor: Any) -> QuerySet[Holding]:
    if not access.can(actor, "wealth.view"):
        return Holding.objects.none()
    return Holding.objects.filter(_customer_scope(actor))


def return_visits_visible(actor: Any) -> QuerySet[ReturnVisit]:
    if not access.can(actor, "wealth.view"):
        return ReturnVisit.objects.none()
    scope = Q(assignee=actor)
    if access.can(actor, "wealth.return_visit") and actor.roles & {"branch_supervisor", "operations_manager",
                                                                    "compliance_manager"}:
        scope |= _customer_scope(actor, "sale__customer_id")
    elif access.can(actor, "wealth.view") and actor.roles & {"compliance_manager", "risk_manager"}:
        scope |= _customer_scope(actor, "sale__customer_id")
    return ReturnVisit.objects.filter(scope)


def latest_navs(product_ids: list[int], day: date | None = None) -> dict[int, int]:
    """{product id: latest NAV on or before ``day``} in one query (1.0000 where none was published)."""
    day = day or timezone.localdate()
    latest = (ProductNav.objects.filter(product_id=OuterRef("product_id"), nav_date__lte=day)
              .order_by("-nav_date").values("nav_x10000")[:1])
    from django.db.models import Subquery

    rows = (WealthProduct.objects.filter(pk__in=product_ids)
            .annotate(nav=Subquery(latest.filter(product_id=OuterRef("pk")))).values_list("pk", "nav", "kind"))
    return {pk: (nav or NAV_ONE) if kind in ("wealth", "fund") else NAV_ONE for pk, nav, kind in rows}


def holding_rows(holdings: list[Holding]) -> list[dict[str, Any]]:
    """Holdings with market value and gain at the latest NAV (insurance at premium, deposits at principal)."""
    navs = latest_navs(sorted({h.product_id for h in holdings}))
    out = []
    for h in holdings:
        nav = navs.get(h.product_id, NAV_ONE)
        value = rules.value_of(h.units_x100, nav) if h.product.nav_based else h.cost_fen
        out.append({"holding": h, "nav_x10000": nav, "value_fen": value, "gain_fen": value - h.cost_fen})
    return out


def customer_wealth(actor: Any, customer: Any) -> dict[str, Any]:
    """The 360 panel: active holdings with values, recent sales, open return visits."""
    holdings = list(holdings_visible(actor).filter(customer=customer, status=Holding.Status.ACTIVE)
                    .select_related("product", "deposit_account"))
    rows = holding_rows(holdings)
    sales = list(sales_visible(actor).filter(customer=customer).select_related("product", "seller")[:10])
    return {"holdings": rows, "total_fen": sum(r["value_fen"] for r in rows), "sales": sales}
