"""Ledger pages: the teller screen (enter → confirm → result), account pages with their state changes and statements,
account opening from the customer 360 page, the teller's cash box and its end-of-day count.

Money moves only through ``idempotency.run`` (which opens the durable transaction): the confirmation form carries a
key made when it was rendered, so a double click, a refresh or a resubmitted form returns the first answer."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, idempotency, logs, params
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from bankcrm.core.money import parse_amount
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, not_found

from . import rules, selectors, services, statement_services, web_support
from .forms import CloseForm, LookupForm, OpenAccountForm, StatementForm, TellerForm
from .models import Account, Product, parse_txn_no

ACCOUNT_FIELDS = ["account_number", "name", "balance", "transactions"]


def show_error(form: Any, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Put a domain error on the form: its field messages where they belong, and the message with its stable code at
    the top (staff quote the code to the help desk)."""
    field_map = field_map or {}
    for name, msgs in exc.fields.items():
        target = field_map.get(name, name)
        for m in msgs:
            form.add_error(target if target in form.fields else None, str(m))
    form.add_error(None, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})


# ---- Teller screen -------------------------------------------------------------------------------------------------
def _picked(request: HttpRequest, form: TellerForm) -> Account | None:
    """The account chosen from a customer's accounts (shown masked), if any."""
    raw = form.data.get("account_id") if form.is_bound else form.initial.get("account_id")
    if not raw:
        return None
    try:
        return selectors.account_get(request.user, raw)
    except NotFound:
        return None


def _teller_page(request: HttpRequest, form: TellerForm, status: int = 200) -> HttpResponse:
    box = web_support.own_cash_box(request.user)
    return render(request, "ledger/teller.html", {"form": form, "picked": _picked(request, form), "box": box,
                                                  "threshold": params.value("approvals.money_threshold.cny")},
                  status=status)


def _resolve_account(actor: Any, cd: dict[str, Any]) -> Account:
    if cd.get("account_id"):
        return selectors.account_get(actor, cd["account_id"])
    try:
        return selectors.account_by_number(actor, cd["account"])
    except NotFound as exc:
        raise NotFound(exc.code, exc.message, fields={"account": [str(exc.message)]}) from None


def _amount(cd: dict[str, Any], currency: str) -> int:
    try:
        return parse_amount(cd["amount"], currency)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.code, exc.message, fields={"amount": [str(exc.message)]}) from None


def _movement(actor: Any, cd: dict[str, Any]) -> services.Movement:
    """The movement the form describes, built by the services (which check the accounts and the counterparty)."""
    acc = _resolve_account(actor, cd)
    amount = _amount(cd, acc.currency)
    kind, memo = cd["kind"], cd.get("memo", "")
    if kind == "cash_in":
        return services.cash_deposit_movement(actor=actor, account_id=acc.pk, amount_fen=amount, memo=memo)
    if kind == "cash_out":
        return services.cash_withdrawal_movement(actor=actor, account_id=acc.pk, amount_fen=amount, memo=memo)
    if kind == "internal":
        return services.internal_transfer_movement(actor=actor, from_account_id=acc.pk, to_account_id=cd["to_account"],
                                                   amount_fen=amount, memo=memo)
    return services.outward_transfer_movement(
        actor=actor, from_account_id=acc.pk, amount_fen=amount, bank=cd["counterparty_bank"], name=cd["counterparty_name"],
        account_no=cd["counterparty_account"], cross_border=cd["cross_border"], country=cd["counterparty_country"],
        memo=memo)


def _field_map(kind: str) -> dict[str, str]:
    return {"credit_account": "to_account" if kind == "internal" else "account", "debit_account": "account"}


@capability_required("ledger.post")
@require_http_methods(["GET", "POST"])
def teller(request: HttpRequest) -> HttpResponse:
    """Step 1 (enter) and, when the input is valid, step 2 (confirm): nothing is written by either."""
    if request.method == "GET":
        initial: dict[str, Any] = {"kind": request.GET.get("kind", "cash_in")}
        if request.GET.get("account", "").isdigit():
            initial["account_id"] = int(request.GET["account"])
        return _teller_page(request, TellerForm(initial=initial))
    form = TellerForm(request.POST)
    if request.POST.get("edit"):  # back from the confirmation page to change something
        return _teller_page(request, form)
    if form.is_valid():
        cd = form.cleaned_data
        try:
            mv = _movement(request.user, cd)
            services.precheck(mv)  # every rule of the posting (status, balance, limits), written nothing
            approval = services.needs_approval(mv.amount_fen, mv.currency)
        except DomainError as exc:
            show_error(form, exc, _field_map(cd["kind"]))
        else:
            logs.access(actor=request.user, view="ledger.teller_confirm", subject_type="customers.Customer",
                        subject_ids=[mv.customer_id] if mv.customer_id else [], fields=["account_number", "name"])
            return render(request, "ledger/teller_confirm.html", {
                "form": form, "d": web_support.movement_details(mv), "needs_approval": approval,
                "idempotency_key": uuid.uuid4().hex})
    else:
        _precheck(request.user, form)
    return _teller_page(request, form, status=200)


def _precheck(actor: Any, form: TellerForm) -> None:
    """With other fields missing, still check the account number and the amount, so the teller sees every mistake
    at once instead of one after the other."""
    data = form.data
    number = "".join(str(data.get("account", "")).split())
    currency = "CNY"
    if number and not data.get("account_id") and "account" not in form.errors:
        try:
            currency = selectors.account_by_number(actor, number).currency
        except DomainError as exc:
            form.add_error("account", _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})
    if data.get("amount") and "amount" not in form.errors:
        try:
            parse_amount(data["amount"], currency)
        except DomainError as exc:
            form.add_error("amount", _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})


@capability_required("ledger.post")
@require_POST
def teller_confirm(request: HttpRequest) -> HttpResponse:
    """Step 3: post, or submit for approval, exactly once per idempotency key."""
    form = TellerForm(request.POST)
    if not form.is_valid():
        return _teller_page(request, form)
    cd = form.cleaned_data
    actor = request.user

    def execute() -> tuple[int, dict[str, Any]]:
        mv = _movement(actor, cd)
        answer = services.movement_request(actor=actor, mv=mv, reason=cd.get("memo", ""))
        return (201 if answer["status"] == "posted" else 202), answer

    key = request.POST.get("idempotency_key", "")
    try:
        _status, _answer, replayed = idempotency.run(actor=actor, key=key, scope=f"ledger.web.{cd['kind']}",
                                                     body=form.body(), execute=execute)
    except PermissionDenied:
        raise
    except DomainError as exc:
        show_error(form, exc, _field_map(cd["kind"]))
        return _teller_page(request, form)
    url = reverse("ledger:teller_result", args=[key])
    return redirect(url + ("?replayed=1" if replayed else ""))


@capability_required("ledger.post")
def teller_result(request: HttpRequest, key: str) -> HttpResponse:
    record = web_support.teller_answer(request.user, key)
    answer = record.response
    ctx: dict[str, Any] = {"answer": answer, "replayed": request.GET.get("replayed") == "1"}
    if answer.get("status") == "posted":
        ctx.update(web_support.entry_voucher(request.user, answer["entry_id"]))
    else:
        from bankcrm.approvals import selectors as approval_selectors

        try:
            pa = approval_selectors.approval_get(request.user, answer.get("approval_id"))
        except NotFound:
            pa = None
        ctx["pa"] = pa
        ctx["capital"] = web_support.capital(int(answer.get("amount_fen", 0)), answer.get("currency", "CNY"))
        if pa is not None and pa.status == "executed" and (pa.result or {}).get("entry_id"):
            ctx.update(web_support.entry_voucher(request.user, pa.result["entry_id"]))  # approved since: the voucher
    return render(request, "ledger/teller_result.html", ctx)


@capability_required("ledger.post")
def teller_pick(request: HttpRequest) -> HttpResponse:
    """htmx: a customer's accounts to pick from (customer number, name, mobile or ID number; masked)."""
    from bankcrm.customers import selectors as customer_selectors

    q = request.GET.get("q", "").strip()
    customers: list[Any] = []
    if len(q) >= 2:
        customers = list(customer_selectors.search(request.user, q).select_related("branch")[:5])
        accounts = {}
        for acc in selectors.accounts_visible(request.user).filter(customer__in=customers).select_related("product"):
            accounts.setdefault(acc.customer_id, []).append(acc)
        for c in customers:
            c.ledger_accounts = accounts.get(c.pk, [])
        logs.access(actor=request.user, view="ledger.teller_pick", subject_type="customers.Customer",
                    subject_ids=[c.pk for c in customers], fields=["name", "account_number", "balance"])
    return render(request, "ledger/_pick.html", {"customers": customers, "q": q})


# ---- Accounts ------------------------------------------------------------------------------------------------------
def _log_account(request: HttpRequest, acc: Account, view: str) -> None:
    statement_services.log_statement_read(actor=request.user, account=acc, view=view)


@capability_required("ledger.view")
def account_lookup(request: HttpRequest) -> HttpResponse:
    """Find an account by its 19-digit number (or a transaction by its number) and go to it."""
    form = LookupForm(request.GET or None)
    if form.is_bound and form.is_valid():
        q = "".join(form.cleaned_data["q"].split())
        try:
            if len(q) == 18 and parse_txn_no(q):
                entry = selectors.entry_get(request.user, q)
                visible = selectors.accounts_visible(request.user).filter(
                    pk__in=[entry.debit_account_id, entry.credit_account_id], kind=Account.Kind.CUSTOMER).first()
                acc = visible or selectors.account_get(request.user, entry.debit_account_id)
            else:
                acc = selectors.account_by_number(request.user, q)
        except DomainError as exc:
            show_error(form, exc, {"account": "q"})
        else:
            return redirect("ledger:account", pk=acc.pk)
    return render(request, "ledger/account_lookup.html", {"form": form})


@capability_required("ledger.view")
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    acc = selectors.account_get(request.user, pk)
    if acc.kind == Account.Kind.INTERNAL and acc.internal_code == Account.Internal.CASH:
        return redirect("ledger:cash_box_detail", pk=acc.pk)
    _log_account(request, acc, "ledger.account")
    user = request.user
    customer_account = acc.kind == Account.Kind.CUSTOMER
    others = (selectors.customer_accounts(user, acc.customer_id).exclude(pk=acc.pk)
              .exclude(status=Account.Status.CLOSED).filter(currency=acc.currency) if customer_account else Account.objects.none())
    from bankcrm.approvals import selectors as approval_selectors

    pending = list(approval_selectors.approvals_visible(user).filter(target_type="ledger.Account", target_id=str(acc.pk),
                                                                    status="pending"))
    return render(request, "ledger/account_detail.html", {
        "acc": acc, "rows": web_support.recent_postings(acc, 20), "pending": pending,
        "can_post": customer_account and access.can(user, "ledger.post") and acc.status in ("active", "frozen"),
        "can_freeze": customer_account and access.can(user, "ledger.freeze") and acc.status == Account.Status.ACTIVE,
        "can_unfreeze": customer_account and access.can(user, "ledger.freeze") and acc.status == Account.Status.FROZEN,
        "can_reactivate": customer_account and access.can(user, "ledger.post") and acc.status == Account.Status.DORMANT,
        "can_close": customer_account and access.can(user, "ledger.close_account") and acc.status != Account.Status.CLOSED,
        "can_reverse": access.can(user, "ledger.reverse"),
        "can_statement": access.can(user, "ledger.statement"),
        "close_form": CloseForm(others=others), "period": StatementForm.default_period(),
    })


def _approval_message(request: HttpRequest, answer: dict[str, Any], text: str) -> None:
    messages.info(request, _("%(text)s已提交复核（事项 #%(id)s），复核通过后生效。") % {"text": text, "id": answer["approval_id"]})


@require_POST
@capability_required("ledger.view")
def account_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One endpoint per transition: freeze, unfreeze, reactivate, close. The services check the specific capability
    (a refusal is a 403 with a security-log entry) and the account's scope."""
    acc = selectors.account_get(request.user, pk)
    p = request.POST
    reason = p.get("reason", "").strip()
    try:
        if action in ("freeze", "unfreeze"):
            answer = entrypoint(services.account_status_request)(actor=request.user, account_id=acc.pk, action=action,
                                                                  reason=reason)
            _approval_message(request, answer, _("冻结申请") if action == "freeze" else _("解冻申请"))
        elif action == "reactivate":
            entrypoint(services.account_reactivate)(actor=request.user, account_id=acc.pk, reason=reason)
            messages.success(request, _("账户已激活"))
        elif action == "close":
            answer = entrypoint(services.account_close_request)(actor=request.user, account_id=acc.pk,
                                                                payout=p.get("payout", ""),
                                                                to_account_id=p.get("to_account") or None, reason=reason)
            if answer["status"] == "pending_approval":
                _approval_message(request, answer, _("销户申请"))
            else:
                messages.success(request, _("账户已销户"))
        else:
            return not_found(request)
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})
    return redirect("ledger:account", pk=acc.pk)


@require_POST
@capability_required("ledger.reverse")
def entry_reverse(request: HttpRequest, pk: int) -> HttpResponse:
    """Request the reversal of a posted entry (always approved by a second person)."""
    entry = selectors.entry_get(request.user, pk)
    back = request.POST.get("account", "")
    try:
        answer = entrypoint(services.reversal_request)(actor=request.user, entry_id=entry.pk,
                                                       reason=request.POST.get("reason", ""))
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})
    else:
        _approval_message(request, answer, _("交易 %(no)s 的冲正申请") % {"no": entry.txn_no})
    if back.isdigit() and int(back) in (entry.debit_account_id, entry.credit_account_id):
        return redirect("ledger:account", pk=int(back))
    return redirect("ledger:lookup")


def _period(request: HttpRequest, data: Any) -> tuple[StatementForm, date, date]:
    form = StatementForm(data if data.get("start") or data.get("end") else None, initial=StatementForm.default_period())
    if form.is_bound and form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    d = StatementForm.default_period()
    return form, d["start"], d["end"]


@capability_required("ledger.statement")
def statement(request: HttpRequest, pk: int) -> HttpResponse:
    acc = selectors.account_get(request.user, pk)
    form, start, end = _period(request, request.GET)
    st = None
    if not form.is_bound or form.is_valid():
        try:
            st = web_support.statement_rows(selectors.statement(request.user, acc, start, end))
        except DomainError as exc:
            show_error(form, exc)
        else:
            _log_account(request, acc, "ledger.statement")
    return render(request, "ledger/statement.html", {"acc": acc, "form": form, "st": st, "start": start, "end": end})


@require_POST
@capability_required("ledger.statement")
def statement_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    if fmt not in statement_services.FORMATS:
        return not_found(request)
    form, start, end = _period(request, request.POST)
    if form.is_bound and not form.is_valid():
        messages.error(request, _("请选择正确的日期"))
        return redirect("ledger:statement", pk=pk)
    try:
        name, content_type, data = entrypoint(statement_services.statement_export)(
            actor=request.user, account_id=pk, start=start, end=end, fmt=fmt)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})
        return redirect("ledger:statement", pk=pk)
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---- Account opening (from the customer 360 page) -----------------------------------------------------------------
@capability_required("ledger.open_account")
@require_http_methods(["GET", "POST"])
def account_open(request: HttpRequest, pk: int) -> HttpResponse:
    from bankcrm.customers import selectors as customer_selectors

    customer = customer_selectors.customer_get(request.user, pk)
    products = selectors.products_on_shelf().exclude(kind=Product.Kind.WEALTH)
    payout_accounts = (selectors.customer_accounts(request.user, customer.pk)
                       .filter(product__kind=Product.Kind.DEMAND, status=Account.Status.ACTIVE))
    form = OpenAccountForm(request.POST or None, products=products, payout_accounts=payout_accounts)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            acc = entrypoint(services.account_open)(
                actor=request.user, customer_id=customer.pk, product_id=cd["product"].pk,
                maturity_instruction=cd["maturity_instruction"] if cd["product"].kind == Product.Kind.TIME else "",
                payout_account_id=cd["payout_account"].pk if cd["payout_account"] and cd["product"].kind == Product.Kind.TIME else None)
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, _("已开立账户 %(no)s（%(p)s），请办理首笔存入") % {"no": acc.masked_number, "p": acc.product.display_name})
            return redirect("ledger:account", pk=acc.pk)
    return render(request, "ledger/account_open.html", {"form": form, "customer": customer, "products": products})


# ---- Cash box ------------------------------------------------------------------------------------------------------
def _cash_box_page(request: HttpRequest, box: Account | None) -> HttpResponse:
    today = services.business_date()
    own = box is not None and box.teller_id == request.user.pk
    ctx: dict[str, Any] = {"box": box, "own": own, "today": today,
                           "can_open_box": box is None and access.can(request.user, "ledger.post")}
    if box is not None:
        ctx.update(day=web_support.cash_box_day(box, today), counts=web_support.recent_counts(box),
                   rows=web_support.recent_postings(box, 15),
                   denominations=[(face, rules_label(face)) for face in rules.DENOMINATIONS_CNY])
    if box is None or not own:
        ctx["boxes"] = web_support.cash_boxes_in_scope(request.user) if access.can(request.user, "ledger.view_internal") else []
    return render(request, "ledger/cash_box.html", ctx)


def rules_label(face: int) -> str:
    return _("%(n)s 元") % {"n": face // 100} if face >= 100 else _("%(n)s 角") % {"n": face // 10}


@capability_required("ledger.cash_count")
def cash_box(request: HttpRequest) -> HttpResponse:
    return _cash_box_page(request, web_support.own_cash_box(request.user))


@capability_required("ledger.cash_count")
def cash_box_detail(request: HttpRequest, pk: int) -> HttpResponse:
    box = web_support.cash_box_get(request.user, pk)
    if box.teller_id == request.user.pk:
        return redirect("ledger:cash_box")
    return _cash_box_page(request, box)


@require_POST
@capability_required("ledger.post")
def cash_box_open(request: HttpRequest) -> HttpResponse:
    try:
        entrypoint(services.cash_box_open)(actor=request.user, currency="CNY")
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已领用现金尾箱"))
    return redirect("ledger:cash_box")


@require_POST
@capability_required("ledger.cash_count")
def cash_box_count(request: HttpRequest) -> HttpResponse:
    denominations = {str(face): request.POST.get(f"d_{face}", "").strip() or "0" for face in rules.DENOMINATIONS_CNY}
    try:
        row = entrypoint(services.cash_count)(actor=request.user, denominations=denominations,
                                              note=request.POST.get("note", ""))
    except PermissionDenied:
        raise
    except DomainError as exc:
        messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})
    else:
        from bankcrm.core.money import format_amount

        if row.difference_fen:
            messages.warning(request, _("账实不符：差额 %(d)s 元，已记录并上报支行负责人") % {"d": format_amount(row.difference_fen)})
        else:
            messages.success(request, _("轧账完成：账实相符（%(a)s 元）") % {"a": format_amount(row.counted_fen)})
    return redirect("ledger:cash_box")
