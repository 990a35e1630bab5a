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
from bankcrm.core.api.base import MAX_ID

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
    latest = (ProductNav.objects.filter(product_id=OuterRef("pk"), nav_date__lte=day)
              .order_by("-nav_date").values("nav_x10000")[:1])
    from django.db.models import Subquery

    rows = (WealthProduct.objects.filter(pk__in=product_ids)
            .annotate(nav=Subquery(latest)).values_list("pk", "nav", "kind"))
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


# ---- Shelf, NAV, distribution and qualified-investor pages (helper UI-A) -------------------------------------------
def products_filtered(actor: Any, *, kind: str = "", level: str = "", status: str = "", private: str = "",
                      q: str = "") -> QuerySet[WealthProduct]:
    """The shelf list: what the actor may see (`products_visible`), narrowed by the page's filters."""
    qs = products_visible(actor).select_related("ledger_product")
    if kind in WealthProduct.Kind.values:
        qs = qs.filter(kind=kind)
    if level.isdigit() and 0 <= int(level) <= 5:
        qs = qs.filter(risk_level=int(level))
    if status in WealthProduct.Status.values:
        qs = qs.filter(status=status)
    if private in ("1", "0"):
        qs = qs.filter(private=private == "1")
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q) | Q(issuer__icontains=q))
    return qs


def nav_history(product: WealthProduct, *, limit: int = 180) -> list[dict[str, Any]]:
    """A product's latest ``limit`` NAVs, oldest first, each with its change against the one before (in bp of NAV)."""
    rows = list(ProductNav.objects.filter(product=product).order_by("-nav_date")
                .values_list("nav_date", "nav_x10000", "set_by__name")[:limit])[::-1]
    out, prev = [], None
    for day, nav, by in rows:
        change = None if prev is None else round((nav - prev) * 10_000 / prev)
        out.append({"nav_date": day, "nav_x10000": nav, "set_by": by or "", "change_bp": change})
        prev = nav
    return out


def product_stats(actor: Any, product: WealthProduct) -> dict[str, Any]:
    """Sales by status and active holdings of one product, within what the actor may see (and its NAV count)."""
    from django.db.models import Count, Sum

    by_status = dict(sales_visible(actor).filter(product=product).values("status").annotate(n=Count("id"))
                     .values_list("status", "n"))
    settled = sales_visible(actor).filter(product=product, status=Sale.Status.SETTLED).aggregate(t=Sum("amount_fen"))
    holdings = holdings_visible(actor).filter(product=product, status=Holding.Status.ACTIVE).aggregate(
        n=Count("id"), u=Sum("units_x100"), c=Sum("cost_fen"))
    return {"sales": [(label, by_status.get(code, 0)) for code, label in Sale.Status.choices],
            "sales_total": sum(by_status.values()), "settled_fen": settled["t"] or 0,
            "holders": holdings["n"] or 0, "units_x100": holdings["u"] or 0, "cost_fen": holdings["c"] or 0,
            "navs": ProductNav.objects.filter(product=product).count()}


def distribution_preview(product: WealthProduct, *, record_date: date, per_unit_x10000: int) -> dict[str, Any]:
    """What `services.distribution_run` would pay for this record date and amount per unit: every active holding
    opened on or before the record date, units × amount per unit, less holders already paid for the same record date
    (the service pays each holder once per record date, whatever the amount). Figures only (no customer is named:
    the distribution pays holders of every branch)."""
    from .models import Payout

    key = record_date.isoformat()  # the event key of services.distribution_run
    rows = list(Holding.objects.filter(product=product, status=Holding.Status.ACTIVE,
                                       opened_at__date__lte=record_date).values_list("pk", "units_x100"))
    paid = set(Payout.objects.filter(holding_id__in=[pk for pk, _u in rows], kind=Payout.Kind.INCOME, event_key=key)
               .values_list("holding_id", flat=True))
    due = [(pk, units) for pk, units in rows if pk not in paid]
    return {"holders": len(rows), "units_x100": sum(u for _pk, u in rows), "already_paid": len(paid),
            "to_pay": len(due), "total_fen": sum(rules.value_of(u, per_unit_x10000) for _pk, u in due),
            "event_key": key}


def qualified_history(actor: Any, customer: Any) -> list[Any]:
    """A customer's qualified-investor certifications, newest first (the caller has checked the customer is
    visible: `customers.selectors.customer_get`)."""
    from .models import QualifiedInvestor

    if not access.can(actor, "wealth.view"):
        return []
    return list(QualifiedInvestor.objects.filter(customer=customer).select_related("verified_by")
                .order_by("-verified_at", "-id"))


def shelf_requests(actor: Any, product: WealthProduct) -> list[Any]:
    """The product's shelf approvals (上架/下架复核) the actor may see, newest first."""
    from bankcrm.approvals.selectors import approvals_visible

    return list(approvals_visible(actor).filter(target_type="wealth.WealthProduct", target_id=str(product.pk),
                                                action_code__in=["wealth.shelf_on", "wealth.shelf_off"])[:10])


# ---- Pages of the sales flow (added by helper UI-B: sales, holdings, return visits) ---------------------------------
from django.utils.translation import gettext as _  # noqa: E402

SALE_TIMELINE_VERBS = ("wealth.sale_proposed", "wealth.sale_confirmed", "wealth.sale_settled", "wealth.sale_withdrawn",
                       "wealth.sale_cancelled", "wealth.return_visit")


def sale_get(actor: Any, sale_id: Any) -> Sale:
    from bankcrm.core.errors import NotFound

    sale = (sales_visible(actor).select_related("product", "customer", "customer__branch", "account", "seller",
                                                "entry", "deposit_account", "ended_by")
            .filter(pk=sale_id).first() if str(sale_id).isdigit() else None)
    if sale is None:
        raise NotFound("sale_not_found", _("销售记录不存在或无权查看"))
    return sale


def sale_queue(actor: Any, *, status: str = "", product_id: Any = "", seller_id: Any = "", customer_id: Any = "",
               start: date | None = None, end: date | None = None) -> QuerySet[Sale]:
    """The sales list with its filters (dates are local days of the proposal)."""
    from datetime import datetime, time, timedelta

    qs = sales_visible(actor).select_related("product", "customer", "seller")
    if status == "open":
        qs = qs.filter(status__in=Sale.OPEN)
    elif status in Sale.Status.values:
        qs = qs.filter(status=status)
    qs = _by_id(qs, "product_id", product_id)
    qs = _by_id(qs, "seller_id", seller_id)
    qs = _by_id(qs, "customer_id", customer_id)
    tz = timezone.get_current_timezone()
    if start:
        qs = qs.filter(proposed_at__gte=datetime.combine(start, time.min, tz))
    if end:
        qs = qs.filter(proposed_at__lt=datetime.combine(end + timedelta(days=1), time.min, tz))
    return qs.order_by("-proposed_at", "-id")


def sale_sellers(actor: Any) -> list[tuple[int, str]]:
    """The sellers of the sales the actor sees (the seller filter's choices)."""
    from bankcrm.org.models import Staff

    ids = sales_visible(actor).values("seller_id")
    return [(s.pk, f"{s.name}（{s.staff_no}）") for s in Staff.objects.filter(pk__in=ids).order_by("staff_no")]


def sale_evidence(actor: Any, sale: Sale) -> dict[str, Any]:
    """Everything that proves the sale in one place: the proposal as checked (from the audit trail), the assessment
    used, the qualified-investor test, the hold on the account, the return visit and the sale's timeline."""
    from datetime import timedelta

    from bankcrm.core.models import AuditEvent
    from bankcrm.ledger.models import AccountHold
    from bankcrm.ledger.selectors import accounts_visible
    from bankcrm.risk.models import SuitabilityAssessment

    events = []
    for e in (AuditEvent.objects.filter(target_type="customers.Customer", target_id=str(sale.customer_id),
                                        verb__in=SALE_TIMELINE_VERBS,
                                        occurred_at__gte=sale.proposed_at - timedelta(minutes=1))
              .select_related("actor").order_by("seq")[:500]):
        if isinstance(e.after, dict) and e.after.get("sale") == sale.number:
            events.append(e)
    proposed = next((e.after for e in events if e.verb == "wealth.sale_proposed"), {})
    assessment = SuitabilityAssessment.objects.filter(pk=sale.assessment_id).first() if sale.assessment_id else None
    from .models import QualifiedInvestor

    qualified = QualifiedInvestor.objects.filter(pk=sale.qualified_investor_id).first() if sale.qualified_investor_id else None
    hold = (AccountHold.objects.filter(ref=sale.hold_ref, account__in=accounts_visible(actor)).select_related("entry").first()
            if sale.hold_ref else None)
    visit = ReturnVisit.objects.filter(sale=sale).select_related("assignee").first()
    return {"events": events, "proposed": proposed, "assessment": assessment, "qualified": qualified, "hold": hold,
            "visit": visit}


def holding_get(actor: Any, holding_id: Any) -> Holding:
    from bankcrm.core.errors import NotFound

    h = (holdings_visible(actor).select_related("product", "customer", "payout_account", "deposit_account")
         .filter(pk=holding_id).first() if str(holding_id).isdigit() else None)
    if h is None:
        raise NotFound("holding_not_found", _("持仓不存在或无权查看"))
    return h


def _by_id(qs: QuerySet, field: str, value: Any) -> QuerySet:
    """A filter on an id given as text (a query parameter): ignored when not a number; a number larger than any
    database id matches nothing (SQLite cannot even bind it)."""
    if not str(value).isdigit():
        return qs
    return qs.filter(**{field: int(value)}) if int(value) <= MAX_ID else qs.none()


def holding_queue(actor: Any, *, status: str = "active", customer_id: Any = "", product_id: Any = "") -> QuerySet[Holding]:
    qs = holdings_visible(actor).select_related("product", "customer", "deposit_account")
    if status in Holding.Status.values:
        qs = qs.filter(status=status)
    qs = _by_id(qs, "customer_id", customer_id)
    qs = _by_id(qs, "product_id", product_id)
    return qs.order_by("-opened_at", "-id")


def return_visit_queue(actor: Any, *, scope: str = "mine") -> QuerySet[ReturnVisit]:
    """``mine``: open visits assigned to the actor; ``open``: every open visit the actor sees; ``done``: finished."""
    qs = return_visits_visible(actor).select_related("sale", "sale__customer", "sale__product", "sale__seller",
                                                     "assignee")
    if scope == "mine":
        return qs.filter(assignee=actor, status=ReturnVisit.Status.OPEN).order_by("due_on", "id")
    if scope == "open":
        return qs.filter(status=ReturnVisit.Status.OPEN).order_by("due_on", "id")
    return qs.exclude(status=ReturnVisit.Status.OPEN).order_by("-done_at", "-id")


def return_visit_get(actor: Any, visit_id: Any) -> ReturnVisit:
    from bankcrm.core.errors import NotFound

    v = (return_visits_visible(actor).select_related("sale", "sale__customer", "sale__product", "sale__seller",
                                                     "sale__account", "assignee")
         .filter(pk=visit_id).first() if str(visit_id).isdigit() else None)
    if v is None:
        raise NotFound("return_visit_not_found", _("回访任务不存在或无权查看"))
    return v


# ---- REST API reads (added by helper API) ---------------------------------------------------------------------------
def distribution_events(product: WealthProduct) -> list[dict[str, Any]]:
    """A product's past income distributions, one row per event (record date and amount per unit), newest first:
    figures only, no holder is named."""
    from django.db.models import Count, Max, Sum

    from .models import Payout

    return [{"event_key": r["event_key"], "holders": r["n"], "total_fen": r["t"] or 0, "paid_at": r["at"]}
            for r in Payout.objects.filter(holding__product=product, kind=Payout.Kind.INCOME).values("event_key")
            .annotate(n=Count("id"), t=Sum("amount_fen"), at=Max("created_at")).order_by("-at", "event_key")]
