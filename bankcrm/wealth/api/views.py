"""Wealth API (under /api/v1/wealth/): the product shelf (list, create, edit, shelf requests through maker-checker,
net asset values, income distributions), the point-of-sale check, sales with one endpoint per transition (propose,
confirm, withdraw, cancel), holdings with their value and redemption, return visits, qualified investors and assets
under management.

Every read goes through a scoped selector (an object the caller may not see is 404), every write through one service
inside the entry point's durable transaction; domain errors are mapped once (core.api.errors: 400 validation, 403
capability, 404 invisible, 409 rule). Responses that show customers write an access event. Money-moving transitions
take an ``Idempotency-Key`` (required for a redemption, optional for confirm, cancel and distributions, whose
services refuse a second run by state)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api import idempotent
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import RuleViolation, ValidationFailed
from bankcrm.core.transactions import entrypoint
from bankcrm.customers.selectors import customer_get

from .. import aum, selectors, services
from ..models import Holding, ProductNav, ReturnVisit, Sale, WealthProduct
from . import serializers as s


def _log(request: Request, view: str, ids: Any, fields: tuple[str, ...] = ("name", "wealth")) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=list(fields), channel="api")


def _query(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validated query parameters: a bad filter is a 400 naming the parameter, never silently ignored."""
    q = serializer(data=request.query_params)
    q.is_valid(raise_exception=True)
    return {k: v for k, v in q.validated_data.items() if v is not None}


def _body(serializer: type[serializers.Serializer], request: Request, **kwargs: Any) -> dict[str, Any]:
    b = serializer(data=request.data, **kwargs)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


def _detail(request: Request) -> dict[str, Any]:
    """Serializer context of a single object: the customer's name follows the viewer (lists always mask it)."""
    return {"request": request, "masked": False}


def _run(request: Request, *, scope: str, body: dict[str, Any], status: int,
         execute: Callable[[], dict[str, Any]]) -> Response:
    """Run a money-moving transition: with an ``Idempotency-Key`` a retry gets the first answer back; without one,
    in the entry point's durable transaction (the service refuses a second run by the object's state)."""
    if request.headers.get("Idempotency-Key"):
        return idempotent.respond(request, scope=scope, body=body, execute=lambda: (status, dict(execute())))
    return Response(entrypoint(execute)(), status=status)


# ---- Query-parameter serializers ------------------------------------------------------------------------------------
class WmProductFilterSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=WealthProduct.Kind.choices, required=False)
    risk_level = serializers.IntegerField(min_value=0, max_value=5, required=False, help_text="0–5（0 为定期存款）")
    status = serializers.ChoiceField(choices=WealthProduct.Status.choices, required=False)
    on_sale = serializers.BooleanField(required=False, allow_null=True, default=None,
                                       help_text="true：只看今天在售（已上架且在销售期内）；false：只看不在售的")
    q = serializers.CharField(required=False, allow_blank=True, max_length=40, help_text="代码、名称或发行机构")


class WmSaleFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("open", gettext_lazy("进行中")), *Sale.Status.choices], required=False,
                                     help_text="open = proposed + held")
    customer_id = serializers.IntegerField(min_value=1, required=False)
    product_id = serializers.IntegerField(min_value=1, required=False)
    seller_id = serializers.IntegerField(min_value=1, required=False)


class WmHoldingFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[*Holding.Status.choices, ("all", gettext_lazy("全部"))], default="active")
    customer_id = serializers.IntegerField(min_value=1, required=False)
    product_id = serializers.IntegerField(min_value=1, required=False)


class WmVisitFilterSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=[("mine", gettext_lazy("我的待回访")), ("open", gettext_lazy("全部待回访")), ("done", gettext_lazy("已完成"))],
                                    default="mine")


class WmAumFilterSerializer(serializers.Serializer):
    day = serializers.DateField(required=False, help_text="统计日 YYYY-MM-DD（默认最近一次快照日）")
    days = serializers.IntegerField(min_value=1, max_value=730, default=90, help_text="趋势的天数（1–730）")
    manager_id = serializers.IntegerField(min_value=1, required=False, help_text="趋势只看该客户经理的客户")


class WmHistoryFilterSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=3650, default=365, help_text="天数（1–3650）")


# ---- Products -------------------------------------------------------------------------------------------------------
def _product_detail(product: WealthProduct) -> dict[str, Any]:
    nav = selectors.latest_navs([product.pk]).get(product.pk) if product.nav_based else None
    return s.WmProductDetailSerializer(product, context={"latest_nav": nav}).data


class ProductListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "wealth.view", "POST": "wealth.manage_products"}
    serializer_class = s.WmProductSerializer

    def get_queryset(self):
        f = _query(WmProductFilterSerializer, self.request)
        level = f.get("risk_level")
        qs = selectors.products_filtered(self.request.user, kind=f.get("kind", ""), status=f.get("status", ""),
                                         level="" if level is None else str(level), q=f.get("q", ""))
        if "on_sale" in f:
            on_sale = selectors.products_on_sale(self.request.user).values("pk")
            qs = qs.filter(pk__in=on_sale) if f["on_sale"] else qs.exclude(pk__in=on_sale)
        return qs.order_by("kind", "risk_level", "code")

    @extend_schema(parameters=[WmProductFilterSerializer], operation_id="wealth_products_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.WmProductWriteSerializer, responses={201: s.WmProductDetailSerializer, **ERRORS},
                   operation_id="wealth_products_create",
                   description="新建产品（草稿）。状态、文件版本由系统维护；上架须经复核（shelf/）。")
    def post(self, request: Request) -> Response:
        data = _body(s.WmProductWriteSerializer, request)
        p = entrypoint(services.product_save)(actor=request.user, **data)
        return Response(_product_detail(p), status=201)


class ProductDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "wealth.view", "PATCH": "wealth.manage_products"}

    @extend_schema(responses={200: s.WmProductDetailSerializer, **ERRORS}, operation_id="wealth_products_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(_product_detail(selectors.product_get(request.user, pk)))

    @extend_schema(request=s.WmProductWriteSerializer(partial=True), responses={200: s.WmProductDetailSerializer, **ERRORS},
                   operation_id="wealth_products_partial_update",
                   description="修改草稿或已下架的产品（在售、待复核的产品 409 product_not_editable）。只改请求中给出的字段；"
                               "状态等字段不可修改。")
    def patch(self, request: Request, pk: int) -> Response:
        selectors.product_get(request.user, pk)
        data = _body(s.WmProductWriteSerializer, request, partial=True)
        if not data:
            raise ValidationFailed("nothing_to_update", _("请至少填写一个可修改的字段"))
        p = entrypoint(services.product_save)(actor=request.user, product_id=pk, **data)
        return Response(_product_detail(p))


class ProductShelf(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.manage_products"

    @extend_schema(request=s.WmShelfSerializer, operation_id="wealth_products_shelf",
                   responses={202: OpenApiResponse(s.WmShelfResultSerializer, description="已提交复核 / waiting for a "
                                                                                           "second person"), **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        selectors.product_get(request.user, pk)
        d = _body(s.WmShelfSerializer, request)
        answer = entrypoint(services.product_shelf_request)(actor=request.user, product_id=pk, action=d["action"],
                                                            reason=d["reason"])
        return Response(s.WmShelfResultSerializer(answer).data, status=202)


class ProductNavs(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "wealth.view", "POST": "wealth.nav"}
    serializer_class = s.WmNavSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no request user, no product
            return ProductNav.objects.none()
        product = selectors.product_get(self.request.user, self.kwargs["pk"])
        return product.navs.select_related("set_by").order_by("-nav_date")

    @extend_schema(operation_id="wealth_products_navs_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.WmNavSetSerializer, responses={201: s.WmNavSerializer, **ERRORS},
                   operation_id="wealth_products_navs_set", description="发布（或当日更正）单位净值；日期不能晚于今天。")
    def post(self, request: Request, pk: int) -> Response:
        selectors.product_get(request.user, pk)
        d = _body(s.WmNavSetSerializer, request)
        row = entrypoint(services.nav_set)(actor=request.user, product_id=pk, **d)
        return Response(s.WmNavSerializer(row).data, status=201)


class ProductDistributions(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "wealth.view", "POST": "wealth.nav"}

    @extend_schema(responses={200: s.WmDistributionEventSerializer(many=True), **ERRORS},
                   operation_id="wealth_products_distributions_list")
    def get(self, request: Request, pk: int) -> Response:
        product = selectors.product_get(request.user, pk)
        return Response(s.WmDistributionEventSerializer(selectors.distribution_events(product), many=True).data)

    @extend_schema(request=s.WmDistributionSerializer, responses={200: s.WmDistributionResultSerializer, **ERRORS},
                   parameters=[idempotent.OPTIONAL_KEY_HEADER], operation_id="wealth_products_distributions_run",
                   description="收益分配：权益登记日的每个持有人按份额入账一次；同一登记日和每份金额重复提交不会重复分配。")
    def post(self, request: Request, pk: int) -> Response:
        selectors.product_get(request.user, pk)
        d = _body(s.WmDistributionSerializer, request)

        def execute() -> dict[str, Any]:
            return services.distribution_run(actor=request.user, product_id=pk, **d)

        return _run(request, scope=f"wealth.distribution.{pk}", body=d, status=200, execute=execute)


# ---- Point of sale --------------------------------------------------------------------------------------------------
class PosCheck(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.sell"

    @extend_schema(request=s.WmPosCheckSerializer, operation_id="wealth_pos_check",
                   responses={200: OpenApiResponse(s.WmDecisionSerializer, description="校验结果（含每条不满足的规则）"),
                              **ERRORS},
                   description="售前适当性校验（只读）：以调用者为销售人员，逐条列出不满足的规则及其代码。")
    def post(self, request: Request) -> Response:
        d = _body(s.WmPosCheckSerializer, request)
        rec = dict(d["recording"]) if d.get("recording") else None
        decision = entrypoint(services.pos_check)(actor=request.user, customer_id=d["customer_id"],
                                                  product_id=d["product_id"], amount_fen=d["amount_fen"],
                                                  customer_initiated=d["customer_initiated"], recording=rec)
        _log(request, "wealth.api_pos_check", [d["customer_id"]], ("suitability",))
        return Response(s.WmDecisionSerializer(decision.as_dict()).data)


# ---- Sales ----------------------------------------------------------------------------------------------------------
def _propose_keeping_refusal(**kwargs: Any) -> tuple[Sale | None, RuleViolation | None]:
    """A refused proposal is answered with every violated rule, and its audit event (``wealth.pos_checked``, written
    by the service before it refuses) is kept: the refusal is returned out of the transaction, not raised through
    it. Any other error rolls everything back as usual."""
    try:
        return services.sale_propose(**kwargs), None
    except RuleViolation as e:
        if "violations" not in e.params:
            raise
        return None, e


def _sale_detail(request: Request, sale_id: int) -> dict[str, Any]:
    return s.WmSaleDetailSerializer(selectors.sale_get(request.user, sale_id), context=_detail(request)).data


class SaleListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "wealth.view", "POST": "wealth.sell"}
    serializer_class = s.WmSaleSerializer

    def get_queryset(self):
        f = _query(WmSaleFilterSerializer, self.request)
        return selectors.sale_queue(self.request.user, status=f.get("status", ""), product_id=f.get("product_id", ""),
                                    seller_id=f.get("seller_id", ""), customer_id=f.get("customer_id", ""))

    @extend_schema(parameters=[WmSaleFilterSerializer], operation_id="wealth_sales_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "wealth.api_sale_list", [r["customer_id"] for r in response.data.get("results", [])])
        return response

    @extend_schema(request=s.WmProposeSerializer, operation_id="wealth_sales_propose",
                   responses={201: s.WmSaleDetailSerializer, **ERRORS},
                   description="推介：售前校验通过才创建销售（待客户确认）；不通过时 409，error.params.violations 列出"
                               "每条不满足的规则。须双录的销售在确认时提供双录记录。")
    def post(self, request: Request) -> Response:
        d = _body(s.WmProposeSerializer, request)
        sale, refusal = entrypoint(_propose_keeping_refusal)(actor=request.user, **d)
        if refusal is not None:
            raise refusal
        data = _sale_detail(request, sale.pk)
        _log(request, "wealth.api_sale_propose", [sale.customer_id])
        return Response(data, status=201)


class SaleDetail(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.view"

    @extend_schema(responses={200: s.WmSaleDetailSerializer, **ERRORS}, operation_id="wealth_sales_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        sale = selectors.sale_get(request.user, pk)
        _log(request, "wealth.api_sale", [sale.customer_id])
        return Response(s.WmSaleDetailSerializer(sale, context=_detail(request)).data)


class SaleConfirm(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.sell"

    @extend_schema(request=s.WmConfirmSerializer, responses={200: s.WmSaleDetailSerializer, **ERRORS},
                   parameters=[idempotent.OPTIONAL_KEY_HEADER], operation_id="wealth_sales_confirm",
                   description="客户确认风险揭示（须双录的附双录记录）：再次校验，冻结资金；公募产品随即成交，私募产品进入冷静期。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.WmConfirmSerializer, request)

        def execute() -> dict[str, Any]:
            sale = services.sale_confirm(actor=request.user, sale_id=pk, **d)
            _log(request, "wealth.api_sale_confirm", [sale.customer_id])
            return _sale_detail(request, sale.pk)

        return _run(request, scope=f"wealth.sale.confirm.{pk}", body=d, status=200, execute=execute)


class SaleWithdraw(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.sell"

    @extend_schema(request=s.WmReasonSerializer, responses={200: s.WmSaleDetailSerializer, **ERRORS},
                   operation_id="wealth_sales_withdraw", description="撤回客户尚未确认的推介。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.WmReasonSerializer, request)
        sale = entrypoint(services.sale_withdraw)(actor=request.user, sale_id=pk, reason=d["reason"])
        _log(request, "wealth.api_sale_withdraw", [sale.customer_id])
        return Response(_sale_detail(request, sale.pk))


class SaleCancel(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.sell"

    @extend_schema(request=s.WmReasonSerializer, responses={200: s.WmSaleDetailSerializer, **ERRORS},
                   parameters=[idempotent.OPTIONAL_KEY_HEADER], operation_id="wealth_sales_cancel",
                   description="冷静期内撤销：免费，恰好解除该笔资金冻结。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.WmReasonSerializer, request)

        def execute() -> dict[str, Any]:
            sale = services.sale_cancel(actor=request.user, sale_id=pk, reason=d["reason"])
            _log(request, "wealth.api_sale_cancel", [sale.customer_id])
            return _sale_detail(request, sale.pk)

        return _run(request, scope=f"wealth.sale.cancel.{pk}", body=d, status=200, execute=execute)


# ---- Holdings -------------------------------------------------------------------------------------------------------
class HoldingList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "wealth.view"
    serializer_class = s.WmHoldingSerializer

    def get_queryset(self):
        f = _query(WmHoldingFilterSerializer, self.request)
        return selectors.holding_queue(self.request.user, status=f["status"], customer_id=f.get("customer_id", ""),
                                       product_id=f.get("product_id", "")).select_related("payout_account")

    @extend_schema(parameters=[WmHoldingFilterSerializer], operation_id="wealth_holdings_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = selectors.holding_rows(list(page))
        _log(request, "wealth.api_holding_list", [r["holding"].customer_id for r in rows], ("name", "holdings"))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class HoldingDetail(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.view"

    @extend_schema(responses={200: s.WmHoldingDetailSerializer, **ERRORS}, operation_id="wealth_holdings_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        row = selectors.holding_rows([selectors.holding_get(request.user, pk)])[0]
        _log(request, "wealth.api_holding", [row["holding"].customer_id], ("name", "holdings"))
        return Response(s.WmHoldingDetailSerializer(row, context=_detail(request)).data)


class HoldingRedeem(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.redeem"

    @extend_schema(request=s.WmRedeemSerializer, responses={201: s.WmRedemptionSerializer, **ERRORS},
                   parameters=[idempotent.KEY_HEADER], operation_id="wealth_holdings_redeem",
                   description="按最新净值赎回开放式产品的份额，扣除赎回费后入回款账户。须带 Idempotency-Key。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.WmRedeemSerializer, request)

        def execute() -> tuple[int, dict[str, Any]]:
            r = services.redemption_request(actor=request.user, holding_id=pk, units_x100=d["units_x100"])
            _log(request, "wealth.api_holding_redeem", [r.holding.customer_id], ("holdings",))
            return 201, dict(s.WmRedemptionSerializer(r).data)

        return idempotent.respond(request, scope=f"wealth.redeem.{pk}", body=d, execute=execute)


# ---- Return visits --------------------------------------------------------------------------------------------------
class ReturnVisitList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "wealth.view"
    serializer_class = s.WmReturnVisitSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReturnVisit.objects.none()
        return selectors.return_visit_queue(self.request.user, scope=_query(WmVisitFilterSerializer, self.request)["scope"])

    @extend_schema(parameters=[WmVisitFilterSerializer], operation_id="wealth_return_visits_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "wealth.api_return_visit_list", [r["customer_id"] for r in response.data.get("results", [])])
        return response


class ReturnVisitDetail(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.view"

    @extend_schema(responses={200: s.WmReturnVisitDetailSerializer, **ERRORS}, operation_id="wealth_return_visits_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        visit = selectors.return_visit_get(request.user, pk)
        _log(request, "wealth.api_return_visit", [visit.sale.customer_id])
        return Response(s.WmReturnVisitDetailSerializer(visit, context=_detail(request)).data)


class ReturnVisitRecord(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.return_visit"

    @extend_schema(request=s.WmVisitRecordSerializer, responses={200: s.WmReturnVisitDetailSerializer, **ERRORS},
                   operation_id="wealth_return_visits_record",
                   description="记录回访：未联系上记一次尝试；联系上须逐项回答，任何“否”都会生成反馈工单。销售人员不能回访自己的销售。")
    def post(self, request: Request, pk: int) -> Response:
        d = _body(s.WmVisitRecordSerializer, request)
        visit: ReturnVisit = entrypoint(services.return_visit_record)(actor=request.user, visit_id=pk, **d)
        visit = selectors.return_visit_get(request.user, visit.pk)
        _log(request, "wealth.api_return_visit_record", [visit.sale.customer_id])
        return Response(s.WmReturnVisitDetailSerializer(visit, context=_detail(request)).data)


# ---- Qualified investors --------------------------------------------------------------------------------------------
class QualifiedInvestors(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "wealth.view", "POST": "wealth.qualify"}

    @extend_schema(responses={200: s.WmQualifiedInvestorSerializer(many=True), **ERRORS},
                   operation_id="wealth_qualified_investor_list")
    def get(self, request: Request, customer_id: int) -> Response:
        customer = customer_get(request.user, customer_id)
        rows = selectors.qualified_history(request.user, customer)
        _log(request, "wealth.api_qualified_investor", [customer.pk], ("qualified_investor",))
        return Response(s.WmQualifiedInvestorSerializer(rows, many=True).data)

    @extend_schema(request=s.WmCertifySerializer, responses={201: s.WmQualifiedInvestorSerializer, **ERRORS},
                   operation_id="wealth_qualified_investor_certify",
                   description="认定合格投资者（有效期按规则参数）；私募产品仅向有效认定的客户销售。")
    def post(self, request: Request, customer_id: int) -> Response:
        d = _body(s.WmCertifySerializer, request)
        q = entrypoint(services.qualified_investor_certify)(actor=request.user, customer_id=customer_id, **d)
        return Response(s.WmQualifiedInvestorSerializer(q).data, status=201)


# ---- Assets under management ----------------------------------------------------------------------------------------
class Aum(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.aum"

    @extend_schema(parameters=[WmAumFilterSerializer], responses={200: s.WmAumSerializer, **ERRORS},
                   operation_id="wealth_aum",
                   description="客户资产（AUM）：统计日按层级、客户经理、机构的汇总，以及趋势；范围同调用者可见的客户。")
    def get(self, request: Request) -> Response:
        f = _query(WmAumFilterSerializer, request)
        actor = request.user
        day = f.get("day") or aum.latest_day(actor)
        data = {"day": day, "by_tier": aum.by_tier(actor, day) if day else [],
                "by_manager": aum.by_manager(actor, day) if day else [],
                "by_branch": aum.by_branch(actor, day) if day else [],
                "trend": aum.trend(actor, days=f["days"], manager_id=f.get("manager_id"))}
        return Response(s.WmAumSerializer(data).data)


class CustomerAum(APIView):
    permission_classes = [HasCapability]
    capability = "wealth.aum"

    @extend_schema(parameters=[WmHistoryFilterSerializer], responses={200: s.WmCustomerAumSerializer, **ERRORS},
                   operation_id="wealth_customer_aum")
    def get(self, request: Request, customer_id: int) -> Response:
        f = _query(WmHistoryFilterSerializer, request)
        customer = customer_get(request.user, customer_id)
        history = aum.customer_history(customer.pk, days=f["days"])
        _log(request, "wealth.api_customer_aum", [customer.pk], ("aum",))
        return Response(s.WmCustomerAumSerializer({"customer_id": customer.pk, "history": history}).data)

