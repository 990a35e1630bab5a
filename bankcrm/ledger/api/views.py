"""Ledger API: products, accounts (open, read, statement, freeze/unfreeze/reactivate/close), money commands with an
`Idempotency-Key`, reversals, cash counts, limits. Responses that show customers' data write an access event."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api import idempotent
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import NotFound, ValidationFailed
from bankcrm.core.money import parse_amount
from bankcrm.core.transactions import entrypoint
from bankcrm.ledger import rules, selectors, services
from bankcrm.ledger.models import Account, FxRate, LimitRule, Product

from .serializers import (
    AccountOpenSerializer,
    AccountSerializer,
    CashCountCreateSerializer,
    CashCountSerializer,
    CloseSerializer,
    CommandResultSerializer,
    EntrySerializer,
    FxRateSerializer,
    LedgerReasonSerializer,
    LimitChangeSerializer,
    LimitSerializer,
    MovementSerializer,
    ProductRateSerializer,
    ProductSerializer,
    StatementSerializer,
)

RESULT = {201: OpenApiResponse(CommandResultSerializer, description="已记账 / posted"),
          202: OpenApiResponse(CommandResultSerializer, description="已提交复核 / waiting for a second person"),
          **ERRORS}


def _log(request: Request, view: str, accounts: list[Account]) -> None:
    ids = sorted({a.customer_id for a in accounts if a.customer_id})
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=["name", "account", "balance"], channel="api")


def _account_id(actor, value) -> int:
    text = "".join(str(value or "").split())
    if len(text) == 19:
        return selectors.account_by_number(actor, text).pk
    if text.isdigit():
        return int(text)
    raise ValidationFailed("invalid_account", _("请填写账户 id 或 19 位账号"), fields={"account": [_("账户格式不正确")]})


def _date(value: str | None, default: date, field: str) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("invalid_date", _("日期格式应为 YYYY-MM-DD"), fields={field: [_("日期格式不正确")]}) from None


class ProductList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "ledger.view"
    serializer_class = ProductSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.products_on_shelf()


class AccountListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "ledger.view", "POST": "ledger.open_account"}
    serializer_class = AccountSerializer

    @extend_schema(parameters=[OpenApiParameter("customer", int, description="只看该客户的账户")],
                   responses={200: AccountSerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        response = super().get(request, *args, **kwargs)
        page = getattr(self, "_page_objects", [])
        _log(request, "api.ledger_accounts", page)
        return response

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._page_objects = list(page) if page is not None else list(queryset)
        return page

    def get_queryset(self):
        qs = selectors.accounts_visible(self.request.user).select_related("product", "customer").order_by("id")
        customer = self.request.query_params.get("customer")
        if customer and customer.isdigit():
            qs = qs.filter(customer_id=int(customer))
        return qs

    @extend_schema(request=AccountOpenSerializer, responses={201: AccountSerializer, **ERRORS},
                   operation_id="ledger_accounts_open")
    def post(self, request: Request) -> Response:
        s = AccountOpenSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        acc = entrypoint(services.account_open)(actor=request.user, customer_id=d["customer"], product_id=d["product"],
                                                maturity_instruction=d["maturity_instruction"],
                                                payout_account_id=d["payout_account"])
        acc = selectors.account_get(request.user, acc.pk)
        _log(request, "api.ledger_account_open", [acc])
        return Response(AccountSerializer(acc, context={"request": request}).data, status=201)


class AccountDetail(APIView):
    permission_classes = [HasCapability]
    capability = "ledger.view"

    @extend_schema(responses={200: AccountSerializer, **ERRORS}, operation_id="ledger_accounts_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        acc = selectors.account_get(request.user, pk)
        _log(request, "api.ledger_account", [acc])
        return Response(AccountSerializer(acc, context={"request": request}).data)


class AccountStatement(APIView):
    permission_classes = [HasCapability]
    capability = "ledger.statement"

    @extend_schema(parameters=[OpenApiParameter("start", date), OpenApiParameter("end", date)],
                   responses={200: StatementSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        acc = selectors.account_get(request.user, pk)
        today = timezone.localdate()
        start = _date(request.query_params.get("start"), today - timedelta(days=30), "start")
        end = _date(request.query_params.get("end"), today, "end")
        data = selectors.statement(request.user, acc, start, end)
        _log(request, "api.ledger_statement", [acc])
        return Response(StatementSerializer(data).data)


class AccountStatusChange(APIView):
    """Freeze and unfreeze go to a second person; reactivating a dormant account is done at once."""

    permission_classes = [HasCapability]
    action = ""
    capabilities = {"POST": "ledger.freeze"}

    @extend_schema(request=LedgerReasonSerializer, responses=RESULT, parameters=[idempotent.KEY_HEADER])
    def post(self, request: Request, pk: int) -> Response:
        s = LedgerReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        reason = s.validated_data["reason"]

        def execute():
            if self.action == "reactivate":
                acc = services.account_reactivate(actor=request.user, account_id=pk, reason=reason)
                return 200, {"status": acc.status, "account_id": acc.pk}
            return 202, services.account_status_request(actor=request.user, account_id=pk, action=self.action,
                                                        reason=reason)

        return idempotent.respond(request, scope=f"ledger.account.{self.action}.{pk}", body={"reason": reason},
                                  execute=execute)


class AccountFreeze(AccountStatusChange):
    action = "freeze"


class AccountUnfreeze(AccountStatusChange):
    action = "unfreeze"


class AccountReactivate(AccountStatusChange):
    action = "reactivate"
    capabilities = {"POST": "ledger.post"}


class AccountClose(APIView):
    permission_classes = [HasCapability]
    capability = "ledger.close_account"

    @extend_schema(request=CloseSerializer, responses={200: CommandResultSerializer, **RESULT},
                   parameters=[idempotent.KEY_HEADER])
    def post(self, request: Request, pk: int) -> Response:
        s = CloseSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data

        def execute():
            answer = services.account_close_request(actor=request.user, account_id=pk, payout=d["payout"],
                                                    to_account_id=d["to_account"], reason=d["reason"])
            return (202 if answer["status"] == "pending_approval" else 200), answer

        return idempotent.respond(request, scope=f"ledger.account.close.{pk}", body=dict(d), execute=execute)


def movement_from(actor, d: dict) -> services.Movement:
    account = _account_id(actor, d["account"])
    acc = selectors.account_brief(actor, account)  # read once; the movement builders reuse it
    amount = parse_amount(d["amount"], acc.currency)
    channel = "api"
    if d["kind"] == "cash_in":
        return services.cash_deposit_movement(actor=actor, account_id=account, amount_fen=amount, memo=d["memo"],
                                              channel=channel, source=acc)
    if d["kind"] == "cash_out":
        return services.cash_withdrawal_movement(actor=actor, account_id=account, amount_fen=amount, memo=d["memo"],
                                                 channel=channel, source=acc)
    if d["kind"] == "internal":
        if not rules.valid_account_number("".join(d["to_account"].split())):  # full numbers only: ids are not probed
            raise ValidationFailed("invalid_account_number", _("转入账号应为 19 位且校验位正确"),
                                   fields={"to_account": [_("请核对转入账号")]})
        return services.internal_transfer_movement(actor=actor, from_account_id=account, to_account_id=d["to_account"],
                                                   amount_fen=amount, memo=d["memo"], channel=channel, source=acc)
    return services.outward_transfer_movement(
        actor=actor, from_account_id=account, amount_fen=amount, bank=d["counterparty_bank"],
        name=d["counterparty_name"], account_no=d["counterparty_account"], cross_border=d["cross_border"],
        country=d["counterparty_country"], memo=d["memo"], channel=channel, source=acc)


class TransactionListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "ledger.view", "POST": "ledger.post"}
    serializer_class = EntrySerializer

    @extend_schema(parameters=[OpenApiParameter("account", int), OpenApiParameter("customer", int)],
                   responses={200: EntrySerializer(many=True), **ERRORS})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = selectors.entries_visible(self.request.user).order_by("-id")
        p = self.request.query_params
        if (p.get("account") or "").isdigit():
            acc = int(p["account"])
            from django.db.models import Q

            qs = qs.filter(Q(debit_account_id=acc) | Q(credit_account_id=acc))
        if (p.get("customer") or "").isdigit():
            qs = qs.filter(customer_id=int(p["customer"]))
        return qs

    @extend_schema(request=MovementSerializer, responses=RESULT, parameters=[idempotent.KEY_HEADER],
                   operation_id="ledger_transactions_create",
                   description="现金存取、行内转账、跨行/跨境汇出。达到复核标准（默认 5 万元）的交易返回 202，等待第二人复核。")
    def post(self, request: Request) -> Response:
        s = MovementSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)

        def execute():
            answer = services.movement_request(actor=request.user, mv=movement_from(request.user, d), reason=d["reason"])
            return (201 if answer["status"] == "posted" else 202), answer

        return idempotent.respond(request, scope="ledger.transaction", body=d, execute=execute)


class TransactionDetail(APIView):
    permission_classes = [HasCapability]
    capability = "ledger.view"

    @extend_schema(responses={200: EntrySerializer, **ERRORS}, operation_id="ledger_transactions_retrieve")
    def get(self, request: Request, ref: str) -> Response:
        entry = selectors.entry_get(request.user, ref)
        return Response(EntrySerializer(entry).data)


class TransactionReverse(APIView):
    permission_classes = [HasCapability]
    capability = "ledger.reverse"

    @extend_schema(request=LedgerReasonSerializer, responses=RESULT, parameters=[idempotent.KEY_HEADER])
    def post(self, request: Request, ref: str) -> Response:
        s = LedgerReasonSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        reason = s.validated_data["reason"]

        def execute():
            return 202, services.reversal_request(actor=request.user, entry_id=ref, reason=reason)

        return idempotent.respond(request, scope=f"ledger.reverse.{ref}", body={"reason": reason}, execute=execute)


class CashCountCreate(APIView):
    permission_classes = [HasCapability]
    capability = "ledger.cash_count"

    @extend_schema(request=CashCountCreateSerializer, responses={201: CashCountSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        s = CashCountCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        row = entrypoint(services.cash_count)(actor=request.user, denominations=d["denominations"], note=d["note"],
                                              currency=d["currency"])
        return Response(CashCountSerializer(row).data, status=201)


class LimitListChange(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "ledger.view", "POST": "ledger.manage_limits"}
    serializer_class = LimitSerializer
    pagination_class = None
    queryset = LimitRule.objects.all()

    @extend_schema(request=LimitChangeSerializer, responses=RESULT, parameters=[idempotent.KEY_HEADER],
                   operation_id="ledger_limits_change")
    def post(self, request: Request) -> Response:
        s = LimitChangeSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = dict(s.validated_data)

        def execute():
            return 202, services.limit_change_request(actor=request.user, **d)

        return idempotent.respond(request, scope="ledger.limits", body=d, execute=execute)


class FxRateListSet(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "ledger.view_setup", "POST": "ledger.manage_products"}

    @extend_schema(responses={200: FxRateSerializer(many=True), **ERRORS}, operation_id="ledger_fx_rates_list")
    def get(self, request: Request) -> Response:
        rows = FxRate.objects.order_by("-effective_date", "currency")[:100]
        return Response(FxRateSerializer(rows, many=True).data)

    @extend_schema(request=FxRateSerializer, responses={201: FxRateSerializer, **ERRORS}, operation_id="ledger_fx_rates_set")
    def post(self, request: Request) -> Response:
        s = FxRateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        row = entrypoint(services.fx_rate_set)(actor=request.user, **s.validated_data)
        return Response(FxRateSerializer(row).data, status=201)


class ProductRateSet(APIView):
    permission_classes = [HasCapability]
    capability = "ledger.manage_products"

    @extend_schema(request=ProductRateSerializer, responses={201: ProductRateSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        s = ProductRateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        product = Product.objects.filter(pk=pk).exclude(kind="internal").first()
        if product is None:
            raise NotFound("product_not_found", _("产品不存在"))
        row = entrypoint(services.product_rate_set)(actor=request.user, product=product, **s.validated_data)
        return Response(ProductRateSerializer(row).data, status=201)
