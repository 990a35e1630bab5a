"""Shelf pages (产品货架): the product list with filters, the product page (every field, documents, NAV history
chart and table, sales and holdings figures, the shelf approvals), creating and editing a product, submitting it to
be put on or taken off the shelf (maker-checker), setting a NAV, an income distribution with a confirmation of its
holders and total before paying, and the qualified-investor test of a customer.

Views parse input, call one service or selector and render; the rules and their Chinese messages live in the
services, whose ``ValidationFailed.fields`` are put back on the form fields the user typed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, logs, params
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.money import format_amount, to_chinese_capital
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import selectors, services
from .forms_shelf import (
    PRODUCT_FIELD_MAP,
    DistributionForm,
    NavForm,
    ProductFilterForm,
    ProductForm,
    QualifiedForm,
    nav_text,
)
from .models import QualifiedInvestor, WealthProduct

P = WealthProduct
EDITABLE = (P.Status.DRAFT, P.Status.OFF_SHELF)


# ---- Helpers --------------------------------------------------------------------------------------------------------
def _flash(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    text = str(exc.message) if not detail or detail == str(exc.message) else f"{exc.message}：{detail}"
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": text, "code": exc.code})


def _show_error(form: forms.Form, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Field messages on the fields they name, and the message with its stable code above the form."""
    for name, msgs in exc.fields.items():
        target = (field_map or {}).get(name, name)
        for m in msgs:
            form.add_error(target if target in form.fields else None, str(m))
    form.add_error(None, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})


def _money(fen: int | None, currency: str = "CNY") -> str:
    if fen is None:
        return "—"
    unit = _("元") if currency == "CNY" else currency
    return f"{format_amount(int(fen), currency)} {unit}"


def _percent(bp: int | None) -> str:
    return "—" if bp is None else f"{Decimal(bp) / 100:.2f}%"


def _term(p: WealthProduct) -> str:
    if p.term_days:
        return _("%(n)d 天") % {"n": p.term_days}
    return _("开放式") if p.open_ended else "—"


def _period(p: WealthProduct) -> str:
    end = p.sales_end.isoformat() if p.sales_end else _("长期")
    return f"{p.sales_start.isoformat()} — {end}"


def _row(p: WealthProduct) -> dict[str, Any]:
    """A product as the shelf pages show it (amounts in yuan, rates in %, no raw fen or basis points)."""
    return {"p": p, "min_amount": _money(p.min_amount_fen, p.currency), "step": _money(p.step_fen, p.currency),
            "term": _term(p), "benchmark": _percent(p.benchmark_bp) if p.benchmark_bp else "—", "period": _period(p),
            "subscribe_fee": _percent(p.subscribe_fee_bp), "redeem_fee": _percent(p.redeem_fee_bp),
            "management_fee": _percent(p.management_fee_bp)}


def _change(bp: int | None) -> str | None:
    if bp is None:
        return None
    return "0.00%" if bp == 0 else f"{Decimal(bp) / 100:+.2f}%"


def _nav_rows(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """NAV history rows for the tables, newest first: NAV as 1.0234 and its change as +0.12%."""
    return [{"nav_date": r["nav_date"], "nav": nav_text(r["nav_x10000"]), "set_by": r["set_by"],
             "change": _change(r["change_bp"]), "up": (r["change_bp"] or 0) > 0, "down": (r["change_bp"] or 0) < 0}
            for r in reversed(history)]


def _safe_next(request: HttpRequest) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return nxt if ok and nxt.startswith("/") else ""


def _deposit_products(p: WealthProduct | None) -> list[tuple[int, str]]:
    from bankcrm.ledger.selectors import products_on_shelf

    out = [(lp.pk, f"{lp.code} {lp.name}（{lp.currency}）") for lp in products_on_shelf().filter(kind="time")]
    if p is not None and p.ledger_product_id and p.ledger_product_id not in {pk for pk, _l in out}:
        lp = p.ledger_product
        out.append((lp.pk, f"{lp.code} {lp.name}（{lp.currency}）"))
    return out


# ---- The shelf ------------------------------------------------------------------------------------------------------
@capability_required("wealth.view")
def product_list(request: HttpRequest) -> HttpResponse:
    f = ProductFilterForm(request.GET or None)
    cd = f.cleaned_data if f.is_valid() else {}
    filters = {k: cd.get(k) or "" for k in ("kind", "level", "status", "private", "q")}
    page = paginate(request, selectors.products_filtered(request.user, **filters), 25)
    counts = dict(selectors.products_visible(request.user).values("status").annotate(n=Count("id"))
                  .values_list("status", "n"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "wealth/product_list.html", {
        "form": f, "page": page, "rows": [_row(p) for p in page], "query": query.urlencode(),
        "filtered": any(filters.values()), "counts": counts,
        "on_shelf": counts.get(P.Status.ON_SHELF, 0),
        "pending": counts.get(P.Status.PENDING_ON, 0) + counts.get(P.Status.PENDING_OFF, 0),
        "drafts": counts.get(P.Status.DRAFT, 0), "off_shelf": counts.get(P.Status.OFF_SHELF, 0),
        "private_on_shelf": selectors.products_visible(request.user).filter(status=P.Status.ON_SHELF,
                                                                             private=True).count(),
        "can_manage": access.can(request.user, "wealth.manage_products")})


@capability_required("wealth.view")
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    p = selectors.product_get(request.user, pk)
    user = request.user
    history = selectors.nav_history(p) if p.nav_based else []
    table = _nav_rows(history[-20:])
    chart = {"dates": [r["nav_date"].isoformat() for r in history],
             "navs": [float(Decimal(r["nav_x10000"]) / 10_000) for r in history],
             "title": _("单位净值走势"), "series": _("单位净值")}
    stats = selectors.product_stats(user, p)
    can_manage = access.can(user, "wealth.manage_products")
    can_nav = access.can(user, "wealth.nav") and p.nav_based
    today = timezone.localdate()
    return render(request, "wealth/product_detail.html", {
        "p": p, "r": _row(p), "latest": table[0] if table else None, "history_count": stats["navs"], "nav_table": table,
        "chart": chart, "stats": stats, "settled": _money(stats["settled_fen"], p.currency),
        "holding_units": f"{Decimal(stats['units_x100']) / 100:,.2f}", "holding_cost": _money(stats["cost_fen"], p.currency),
        "requests": selectors.shelf_requests(user, p) if access.can(user, "approvals.submit") else [],
        "can_edit": can_manage and p.status in EDITABLE, "can_shelf_on": can_manage and p.status in EDITABLE,
        "can_shelf_off": can_manage and p.status == P.Status.ON_SHELF, "can_nav": can_nav,
        "nav_form": NavForm(initial={"nav_date": today}) if can_nav else None,
        "pending": p.status in (P.Status.PENDING_ON, P.Status.PENDING_OFF),
        "distributions": [{**d, "record_date": d["event_key"][:10], "total": _money(d["total_fen"], p.currency)}
                          for d in selectors.distribution_events(p)[:10]] if p.nav_based else []})


def _product_form(request: HttpRequest, p: WealthProduct | None) -> HttpResponse:
    initial = ProductForm.initial_for(p) if p else {"sales_start": timezone.localdate(), "risk_level": "2"}
    form = ProductForm(request.POST or None, initial=initial, deposit_products=_deposit_products(p))
    if request.method == "POST" and form.is_valid():
        try:
            saved = entrypoint(services.product_save)(actor=request.user, product_id=p.pk if p else None,
                                                      **form.service_fields())
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _show_error(form, exc, PRODUCT_FIELD_MAP)
        else:
            if p is None:
                messages.success(request, _("产品 %(p)s 已保存为草稿；确认要素和文件无误后，可提交上架复核") % {"p": saved})
            else:
                messages.success(request, _("产品 %(p)s 已保存（文件版本 v%(v)d）") % {
                    "p": saved, "v": saved.documents_version})
            return redirect("wealth:product", pk=saved.pk)
    return render(request, "wealth/product_form.html", {"form": form, "p": p})


@capability_required("wealth.manage_products")
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    return _product_form(request, None)


@capability_required("wealth.manage_products")
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    p = selectors.product_get(request.user, pk)
    if p.status not in EDITABLE:
        messages.error(request, _("产品当前状态为“%(s)s”，在售或待复核的产品不能修改，请先下架") % {
            "s": p.get_status_display()})
        return redirect("wealth:product", pk=p.pk)
    return _product_form(request, p)


@require_POST
@capability_required("wealth.manage_products")
def product_shelf(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit putting the product on (``action=on``) or taking it off (``off``) the shelf for a second person."""
    p = selectors.product_get(request.user, pk)
    action = request.POST.get("action", "")
    try:
        result = entrypoint(services.product_shelf_request)(actor=request.user, product_id=p.pk, action=action,
                                                            reason=request.POST.get("reason", ""))
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        _flash(request, exc)
    else:
        what = _("上架") if action == "on" else _("下架")
        messages.success(request, _("已提交%(a)s复核（复核单 #%(n)d），待网点负责人或合规经理复核后生效") % {
            "a": what, "n": result["approval_id"]})
    return redirect("wealth:product", pk=p.pk)


# ---- NAV and income distribution -------------------------------------------------------------------------------------
def _nav_product(request: HttpRequest, pk: int) -> WealthProduct | None:
    p = selectors.product_get(request.user, pk)
    if not p.nav_based:
        messages.error(request, _("该产品没有净值，也不做收益分配（定期存款、代理保险）"))
        return None
    return p


@capability_required("wealth.nav")
@require_http_methods(["GET", "POST"])
def product_nav(request: HttpRequest, pk: int) -> HttpResponse:
    p = _nav_product(request, pk)
    if p is None:
        return redirect("wealth:product", pk=pk)
    form = NavForm(request.POST or None, initial={"nav_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            entrypoint(services.nav_set)(actor=request.user, product_id=p.pk, nav_date=cd["nav_date"],
                                         nav_x10000=cd["nav"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _show_error(form, exc, {"nav_x10000": "nav"})
        else:
            messages.success(request, _("已录入 %(p)s %(d)s 的单位净值 %(n)s") % {
                "p": p.code, "d": cd["nav_date"].isoformat(), "n": nav_text(cd["nav"])})
            return redirect(reverse("wealth:product", args=[p.pk]) + "#nav")
    rows = _nav_rows(selectors.nav_history(p, limit=60))
    return render(request, "wealth/nav_form.html", {"p": p, "form": form, "rows": rows})


@capability_required("wealth.nav")
@require_http_methods(["GET", "POST"])
def product_distribution(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 1: record date and amount per unit. Step 2 (preview): holders and total to pay, confirmed by the user.
    Step 3 (``confirm=1``): the service pays every holder once."""
    p = _nav_product(request, pk)
    if p is None:
        return redirect("wealth:product", pk=pk)
    form = DistributionForm(request.POST or None, initial={"record_date": timezone.localdate()})
    preview = None
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        if request.POST.get("confirm") == "1":
            try:
                done = entrypoint(services.distribution_run)(actor=request.user, product_id=p.pk,
                                                              record_date=cd["record_date"],
                                                              per_unit_x10000=cd["per_unit"])
            except (NotFound, PermissionDenied):
                raise
            except DomainError as exc:
                _show_error(form, exc, {"per_unit_x10000": "per_unit"})
            else:
                messages.success(request, _("收益分配已完成：权益登记日 %(d)s，登记持有人 %(h)d 户，本次支付 %(n)d 户，"
                                            "合计 %(t)s") % {"d": cd["record_date"].isoformat(), "h": done["holders"],
                                                            "n": done["paid"], "t": _money(done["total_fen"], p.currency)})
                return redirect("wealth:product", pk=p.pk)
        else:
            preview = selectors.distribution_preview(p, record_date=cd["record_date"], per_unit_x10000=cd["per_unit"])
            preview |= {"total": _money(preview["total_fen"], p.currency),
                        "units": f"{Decimal(preview['units_x100']) / 100:,.2f}",
                        "per_unit": nav_text(cd["per_unit"]), "record_date": cd["record_date"],
                        "capital": to_chinese_capital(preview["total_fen"]) if p.currency == "CNY" else ""}
    return render(request, "wealth/distribution_form.html", {"p": p, "form": form, "preview": preview})


# ---- Qualified investors --------------------------------------------------------------------------------------------
@capability_required("wealth.qualify")
@require_http_methods(["GET", "POST"])
def qualified(request: HttpRequest, pk: int) -> HttpResponse:
    """The qualified-investor test of one customer (by id in the path; no personal data in the URL), with the
    customer's earlier certifications. ``next`` (a local path) brings the user back to the sale they came from."""
    from bankcrm.customers.selectors import customer_get

    customer = customer_get(request.user, pk)
    logs.access(actor=request.user, view="wealth.qualified", subject_type="customers.Customer",
                subject_ids=[customer.pk], fields=["name", "qualified_investor"])
    basis = QualifiedInvestor.Basis.COMPANY if customer.kind == "company" else QualifiedInvestor.Basis.ASSETS
    form = QualifiedForm(request.POST or None, initial={"basis": basis})
    nxt = _safe_next(request)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            q = entrypoint(services.qualified_investor_certify)(
                actor=request.user, customer_id=customer.pk, basis=cd["basis"],
                experience_years=cd["experience_years"], evidence=cd["evidence"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, _("已认定为合格投资者，有效期至 %(d)s") % {"d": q.valid_until.isoformat()})
            return redirect(nxt or reverse("wealth:qualified", args=[customer.pk]))
    today = timezone.localdate()
    rows = []
    for q in selectors.qualified_history(request.user, customer):
        if q.revoked_at:
            state, css = _("已撤销"), "text-bg-secondary"
        elif q.valid_until < today:
            state, css = _("已过期"), "text-bg-light border"
        else:
            state, css = _("有效"), "text-bg-success"
        rows.append({"q": q, "state": state, "css": css})
    return render(request, "wealth/qualified_form.html", {
        "c": customer, "form": form, "rows": rows, "next": nxt,
        "min_years": params.value("wealth.qualified_experience_years"),
        "current": services.qualified_investor_current(customer.pk, today)})
