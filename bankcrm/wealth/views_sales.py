"""Selling pages: 推介/购买 for a customer (the point-of-sale check shown rule by rule before the proposal), the sale
page with all its evidence and the actions its state allows (the customer's confirmation with the risk disclosure
and the 双录 reference, withdrawal, cancellation in cooling-off), the sales list, holdings with redemption."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, logs, params
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied, RuleViolation
from bankcrm.core.money import format_amount
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, denied, paginate
from bankcrm.customers.selectors import customer_get, customers_visible

from . import rules, selectors, services
from .forms import ConfirmForm, ReasonForm, RedeemForm, SaleFilterForm, SaleForm
from .models import Holding, Sale, WealthProduct

S = Sale.Status


# ---- Shared helpers -------------------------------------------------------------------------------------------------
def error_text(exc: DomainError) -> str:
    return _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code}


def flash(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, error_text(exc))


def show_error(form: Any, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Field messages where they belong, the message with its stable code on top (every violated rule is listed
    separately by the template from ``violations``)."""
    for name, msgs in exc.fields.items():
        target = (field_map or {}).get(name, name)
        for m in msgs:
            form.add_error(target if target in form.fields else None, str(m))
    if not exc.params.get("violations"):
        form.add_error(None, error_text(exc))


def log_customers(request: HttpRequest, view: str, ids: Any, fields: list[str]) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids, fields=fields)


def demand_accounts(actor: Any, customer: Any) -> list[Any]:
    """The customer's open demand accounts the actor sees: where a subscription is paid from."""
    from bankcrm.ledger.models import Product
    from bankcrm.ledger.selectors import customer_accounts

    return [a for a in customer_accounts(actor, customer.pk) if a.product.kind == Product.Kind.DEMAND
            and a.kind == a.Kind.CUSTOMER and a.status != a.Status.CLOSED]


# ---- The point-of-sale check, rule by rule --------------------------------------------------------------------------
def checklist(d: rules.PosDecision, *, product: WealthProduct, customer: Any, amount_fen: int,
              customer_initiated: bool, recording_given: bool = False) -> list[dict[str, Any]]:
    """Every rule of the point-of-sale check as a row: ``ok`` (green tick), ``fail`` (red cross, the rule's message),
    ``todo`` (a requirement still to meet: the 双录 recording at confirmation) or ``na`` (does not apply)."""
    from bankcrm.risk.rules_suitability import age_on

    failing = dict(d.violations)
    used: set[str] = set()
    rows: list[dict[str, Any]] = []
    today = timezone.localdate()
    certified_level = params.value("suitability.certified_level")
    elderly_age = params.value("suitability.elderly_age")
    age = age_on(customer.birth_date, today)

    def row(key: str, label: str, codes: tuple[str, ...], ok: str, *, applies: bool = True, na: str = "",
            todo: bool = False) -> None:
        fails = [str(failing[c]) for c in codes if c in failing]
        used.update(codes)
        if fails and todo:
            rows.append({"key": key, "label": label, "status": "todo", "messages": fails})
        elif fails:
            rows.append({"key": key, "label": label, "status": "fail", "messages": fails})
        elif not applies:
            rows.append({"key": key, "label": label, "status": "na", "messages": [na]})
        else:
            rows.append({"key": key, "label": label, "status": "ok", "messages": [ok]})

    level = product.risk_level
    row("customer", _("客户状态"), ("customer_not_active",), _("客户状态正常"))
    row("product", _("产品在售"), ("product_not_on_shelf", "product_not_in_sales_period"),
        _("产品已上架，且在销售期内"))
    row("amount", _("购买金额"), ("amount_below_minimum", "amount_step"),
        _("%(a)s 元：不低于起购金额 %(m)s 元，递增金额 %(s)s 元") % {
            "a": format_amount(amount_fen, product.currency), "m": format_amount(product.min_amount_fen),
            "s": format_amount(product.step_fen)})
    row("assessment", _("风险承受能力评估"), ("suitability_missing", "suitability_expired"),
        _("评估有效，有效期至 %(d)s") % {"d": d.valid_until or "—"}, applies=level > 0,
        na=_("存款类产品（不评级）无需评估"))
    row("level", _("风险等级匹配"), ("suitability_level_too_low",),
        _("客户 C%(c)s ≥ 产品 R%(r)s") % {"c": d.investor_level or "—", "r": level}, applies=level > 0,
        na=_("存款类产品（不评级）"))
    row("recording", _("老年客户加强揭示与双录"), ("suitability_recording_required",),
        _("已提供双录记录") if recording_given else _("需要"), applies=bool(d.requirements.get("recording")),
        na=_("不适用（客户%(age)s，未满 %(e)s 周岁，或产品不属于须双录的范围）") % {
            "age": _("%(n)s 周岁") % {"n": age} if age is not None else _("年龄未知"), "e": elderly_age}, todo=True)
    row("certified", _("销售人员资格"), ("seller_not_certified",), _("销售人员具有销售 R%(r)s 产品的资格") % {"r": level},
        applies=level >= certified_level, na=_("R%(r)s 以下产品无须专门资格") % {"r": certified_level})
    row("qualified", _("合格投资者"), ("qualified_investor_required",), _("客户持有有效的合格投资者认定"),
        applies=product.private, na=_("非私募产品，无须合格投资者认定"))
    row("high_risk", _("高风险产品销售权限"), ("seller_high_risk_not_allowed",), _("销售人员可销售 R4/R5 及私募产品"),
        applies=level >= rules.HIGH_RISK_LEVEL or product.private, na=_("非 R4/R5 或私募产品"))
    row("consent", _("营销同意"), ("marketing_consent_missing",), _("客户已同意营销联系"),
        applies=not customer_initiated, na=_("客户主动购买，无须营销同意"))
    for code, message in d.violations:
        if code not in used:
            rows.append({"key": code, "label": code, "status": "fail", "messages": [str(message)]})
    return rows


def requirement_rows(d: rules.PosDecision, product: WealthProduct, amount_fen: int) -> dict[str, Any]:
    return {"enhanced_disclosure": bool(d.requirements.get("enhanced_disclosure")),
            "recording": bool(d.requirements.get("recording")),
            "cooling_off_until": d.requirements.get("cooling_off_until"),
            "fee_fen": rules.fee(amount_fen, product.subscribe_fee_bp), "fee_bp": product.subscribe_fee_bp}


def _propose(**kwargs: Any) -> tuple[Sale | None, RuleViolation | None]:
    """A refusal is audited by the service (``wealth.pos_checked``): keep that record by returning the refusal
    instead of raising it through the entry point's transaction."""
    try:
        return services.sale_propose(**kwargs), None
    except RuleViolation as exc:
        if exc.params.get("violations"):
            return None, exc
        raise


# ---- 推介/购买 ------------------------------------------------------------------------------------------------------
@capability_required("wealth.sell")
@require_http_methods(["GET", "POST"])
def sale_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick the product, the account and the amount; 校验 shows every rule; 提交推介 proposes the sale."""
    user = request.user
    customer = customer_get(user, pk)
    products = list(selectors.products_on_sale(user).order_by("risk_level", "kind", "code"))
    accounts = demand_accounts(user, customer)
    initial = {"product": request.GET.get("product", "")}
    form = SaleForm(request.POST if request.method == "POST" else None, products=products, accounts=accounts, initial=initial)
    checks, req, violations, decision = None, None, [], None
    product = None
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        product = form.products[cd["product"]]
        op = request.POST.get("op", "check")
        kwargs = {"actor": user, "customer_id": customer.pk, "product_id": product.pk, "amount_fen": cd["amount_fen"],
                  "customer_initiated": cd["customer_initiated"]}
        if op == "propose":
            try:
                sale, refusal = entrypoint(_propose)(**kwargs, account_id=form.accounts[cd["account"]].pk)
            except (NotFound, PermissionDenied):
                raise
            except DomainError as exc:
                show_error(form, exc, {"amount_fen": "amount", "product_id": "product", "account_id": "account"})
            else:
                if sale is not None:
                    messages.success(request, _("已提交推介 %(n)s：请客户阅读风险揭示书后办理确认") % {"n": sale.number})
                    return redirect("wealth:sale", pk=sale.pk)
                violations = refusal.params["violations"]
                form.add_error(None, _("不能推介：以下 %(n)d 条规则不满足（错误代码：%(c)s）") % {
                    "n": len(violations), "c": refusal.code})
        try:
            decision = services.pos_check(**kwargs)
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            show_error(form, exc, {"amount_fen": "amount", "product_id": "product"})
        else:
            checks = checklist(decision, product=product, customer=customer, amount_fen=cd["amount_fen"],
                               customer_initiated=cd["customer_initiated"])
            req = requirement_rows(decision, product, cd["amount_fen"])
    log_customers(request, "wealth.sale_new", [customer.pk], ["name", "birth_date", "account_number", "balance"])
    gate = decision.without("suitability_recording_required") if decision else None
    return render(request, "wealth/sale_new.html", {
        "customer": customer, "form": form, "products": products, "accounts": accounts, "checks": checks,
        "req": req, "violations": violations, "decision": decision, "may_propose": bool(gate and gate.allowed),
        "product": product, "suitability": _suitability(customer),
        "elderly_age": params.value("suitability.elderly_age"), "cooling_hours": params.value("suitability.cooling_off"),
        "elderly_level": params.value("suitability.elderly_product_level")})


def _suitability(customer: Any) -> dict[str, Any]:
    from bankcrm.risk.rules_suitability import age_on
    from bankcrm.risk.suitability import current_assessment

    a = current_assessment(customer.pk)
    today = timezone.localdate()
    return {"level": a.level if a else None, "valid_until": a.valid_until if a else None,
            "expired": bool(a and a.valid_until < today), "age": age_on(customer.birth_date, today)}


# ---- The sale page --------------------------------------------------------------------------------------------------
@capability_required("wealth.view")
def sale_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    sale = selectors.sale_get(user, pk)
    log_customers(request, "wealth.sale_detail", [sale.customer_id], ["name", "account_number", "wealth"])
    return render(request, "wealth/sale_detail.html", _detail_context(request, sale))


def _detail_context(request: HttpRequest, sale: Sale, **extra: Any) -> dict[str, Any]:
    user = request.user
    can_sell = access.can(user, "wealth.sell")
    now = timezone.now()
    ev = selectors.sale_evidence(user, sale)
    check = sale.confirm_check or sale.check_result or {}
    return {
        "sale": sale, "ev": ev, "check": check, "proposal_check": sale.check_result or {}, "now": now,
        "confirmed": sale.disclosure_confirmed_at is not None,
        "may_confirm": can_sell and sale.status == S.PROPOSED and sale.seller_id == user.pk,
        "may_withdraw": can_sell and sale.status == S.PROPOSED,
        "may_cancel": can_sell and sale.status == S.HELD and sale.cooling_off_ends_at is not None
        and now < sale.cooling_off_ends_at,
        "reason_form": ReasonForm(), "method_label": _method_label(sale.disclosure_method), **extra}


def _method_label(method: str) -> str:
    from .forms import METHOD_LABELS

    return str(METHOD_LABELS.get(method, method)) if method else ""


@capability_required("wealth.sell")
@require_http_methods(["GET", "POST"])
def sale_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's confirmation: the product's risk disclosure, the required tick, how it was confirmed, and the
    双录 reference when the sale needs one. Holds the amount; a public product settles at once."""
    user = request.user
    sale = selectors.sale_get(user, pk)
    if sale.status != S.PROPOSED:
        messages.info(request, _("该销售当前状态为“%(s)s”，无需确认") % {"s": sale.get_status_display()})
        return redirect("wealth:sale", pk=sale.pk)
    if sale.seller_id != user.pk:
        return denied(request, _("只有推介该产品的销售人员可以办理确认"), "wealth.sell")
    form = ConfirmForm(request.POST if request.method == "POST" else None, recording_required=sale.recording_required)
    violations: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            sale = entrypoint(services.sale_confirm)(
                actor=user, sale_id=sale.pk, disclosure_confirmed=cd["disclosure_confirmed"],
                disclosure_method=cd["disclosure_method"], recording_id=cd["recording_id"],
                recording_booth=cd["recording_booth"], recorded_at=cd["recorded_at"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            violations = exc.params.get("violations") or []
            show_error(form, exc)
            if violations:
                form.add_error(None, _("不能确认：以下 %(n)d 条规则不满足（错误代码：%(c)s）") % {
                    "n": len(violations), "c": exc.code})
            if any(v["code"] == "suitability_recording_required" for v in violations):
                for name in form.RECORDING_FIELDS:
                    if not form.cleaned_data.get(name) and name not in form.errors:
                        form.add_error(name, _("请填写双录记录"))
                form.recording_required = True
            sale = selectors.sale_get(user, pk)
        else:
            sale.refresh_from_db()
            if sale.status == S.SETTLED and sale.deposit_account_id:
                messages.success(request, _("客户已确认，定期存款已开立：%(a)s 元") % {
                    "a": format_amount(sale.amount_fen, sale.product.currency)})
            elif sale.status == S.SETTLED:
                messages.success(request, _("客户已确认，购买已成交：成交净值 %(nav)s，确认份额 %(u)s 份") % {
                    "nav": f"{sale.nav_x10000 / 10000:.4f}", "u": f"{sale.units_x100 / 100:,.2f}"})
            else:
                messages.success(request, _("客户已确认，%(a)s 元已冻结；冷静期至 %(t)s，期满后自动成交，冷静期内客户可无条件撤销") % {
                    "a": format_amount(sale.amount_fen, sale.product.currency),
                    "t": f"{timezone.localtime(sale.cooling_off_ends_at):%Y-%m-%d %H:%M}"})
            return redirect("wealth:sale", pk=sale.pk)
    log_customers(request, "wealth.sale_confirm", [sale.customer_id], ["name", "account_number"])
    return render(request, "wealth/sale_confirm.html", {
        "sale": sale, "form": form, "violations": violations,
        "recording_required": sale.recording_required or form.recording_required,
        "now_local": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})


def _end_action(run: Any, done: Any) -> Any:
    @require_POST
    @capability_required("wealth.sell")
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        sale = selectors.sale_get(request.user, pk)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请填写原因（错误代码：reason_required）"))
            return redirect("wealth:sale", pk=sale.pk)
        try:
            entrypoint(run)(actor=request.user, sale_id=sale.pk, reason=form.cleaned_data["reason"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            flash(request, exc)
        else:
            messages.success(request, str(done))  # done is lazy: translated in the request's language
        return redirect("wealth:sale", pk=sale.pk)

    return view


sale_withdraw = _end_action(services.sale_withdraw, gettext_lazy("推介已撤回"))
sale_cancel = _end_action(services.sale_cancel, gettext_lazy("已在冷静期内撤销，冻结资金已全额解冻，不收取任何费用"))


# ---- Sales list -----------------------------------------------------------------------------------------------------
@capability_required("wealth.view")
@require_http_methods(["GET", "POST"])
def sale_list(request: HttpRequest) -> HttpResponse:
    """The sales the actor sees, with filters. POST with a customer number starts a proposal for that customer."""
    user = request.user
    if request.method == "POST":
        if not access.can(user, "wealth.sell"):
            return denied(request, access.denial_reason(user, "wealth.sell"), "wealth.sell")
        number = (request.POST.get("customer_no") or "").strip()
        customer = customers_visible(user).filter(customer_no=number).first() if number else None
        if customer is None:
            messages.error(request, _("客户不存在或不在您的管户范围内（错误代码：customer_not_found）"))
            return redirect("wealth:sales")
        return redirect("wealth:sale_new", pk=customer.pk)
    products = list(selectors.products_visible(user).values_list("pk", "code", "name"))
    form = SaleFilterForm(request.GET or None, products=[(pk, f"{c} {n}") for pk, c, n in products],
                          sellers=selectors.sale_sellers(user))
    cd = form.cleaned_data if form.is_valid() else {}
    qs = selectors.sale_queue(user, status=cd.get("status", ""), product_id=cd.get("product", ""),
                              seller_id=cd.get("seller", ""), start=cd.get("start"), end=cd.get("end"),
                              customer_id=request.GET.get("customer", ""))
    page = paginate(request, qs, 30)
    log_customers(request, "wealth.sale_list", [s.customer_id for s in page], ["name", "wealth"])
    return render(request, "wealth/sale_list.html", {
        "page": page, "form": form, "query": request.GET.urlencode(), "can_sell": access.can(user, "wealth.sell")})


# ---- Holdings -------------------------------------------------------------------------------------------------------
@capability_required("wealth.view")
def holding_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    status = request.GET.get("status", "active")
    customer = None
    if str(request.GET.get("customer", "")).isdigit():
        customer = customer_get(user, request.GET["customer"])
    page = paginate(request, selectors.holding_queue(user, status=status, customer_id=customer.pk if customer else ""), 30)
    rows = selectors.holding_rows(list(page))
    log_customers(request, "wealth.holding_list", [h.customer_id for h in page], ["name", "wealth"])
    return render(request, "wealth/holding_list.html", {
        "page": page, "rows": rows, "status": status, "customer": customer, "query": request.GET.urlencode(),
        "total_fen": sum(r["value_fen"] for r in rows), "gain_fen": sum(r["gain_fen"] for r in rows),
        "statuses": [("active", _("持有中")), ("closed", _("已结清")), ("all", _("全部"))]})


def _holding_context(request: HttpRequest, h: Holding, form: RedeemForm | None = None) -> dict[str, Any]:
    user = request.user
    row = selectors.holding_rows([h])[0]
    redeemable = (h.status == Holding.Status.ACTIVE and h.product.open_ended and not h.deposit_account_id
                  and access.can(user, "wealth.redeem"))
    sales = list(selectors.sales_visible(user).filter(customer_id=h.customer_id, product_id=h.product_id)
                 .select_related("seller").order_by("-proposed_at")[:20])
    return {"h": h, "row": row, "redeemable": redeemable, "form": form or RedeemForm(held_x100=h.units_x100),
            "redemptions": list(h.redemptions.select_related("entry", "requested_by")[:50]),
            "payouts": list(h.payouts.select_related("entry")[:50]), "sales": sales,
            "estimate": {"nav_x10000": row["nav_x10000"], "fee_bp": h.product.redeem_fee_bp, "held_x100": h.units_x100}}


@capability_required("wealth.view")
def holding_detail(request: HttpRequest, pk: int) -> HttpResponse:
    h = selectors.holding_get(request.user, pk)
    log_customers(request, "wealth.holding_detail", [h.customer_id], ["name", "account_number", "wealth"])
    return render(request, "wealth/holding_detail.html", _holding_context(request, h))


@require_POST
@capability_required("wealth.redeem")
def holding_redeem(request: HttpRequest, pk: int) -> HttpResponse:
    """Redeem units at the latest NAV, less the fee, to the payout account. Bad input comes back on the form."""
    h = selectors.holding_get(request.user, pk)
    form = RedeemForm(request.POST, held_x100=h.units_x100)
    if form.is_valid():
        try:
            r = entrypoint(services.redemption_request)(actor=request.user, holding_id=h.pk,
                                                        units_x100=form.cleaned_data["units"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            show_error(form, exc, {"units_x100": "units"})
        else:
            cur = h.product.currency
            messages.success(request, _("已赎回 %(u)s 份，赎回净值 %(nav)s，赎回金额 %(g)s 元，赎回费 %(f)s 元，%(n)s 元已转入回款账户") % {
                "u": f"{r.units_x100 / 100:,.2f}", "nav": f"{r.nav_x10000 / 10000:.4f}",
                "g": format_amount(r.gross_fen, cur), "f": format_amount(r.fee_fen, cur),
                "n": format_amount(r.gross_fen - r.fee_fen, cur)})
            return redirect("wealth:holding", pk=h.pk)
    h = selectors.holding_get(request.user, pk)
    log_customers(request, "wealth.holding_detail", [h.customer_id], ["name", "account_number", "wealth"])
    return render(request, "wealth/holding_detail.html", _holding_context(request, h, form), status=200)
