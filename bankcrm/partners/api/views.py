"""Staff API of partner administration (under /api/v1/partners/): partners, their products, API keys, webhook
endpoints, deliveries and the call log. Reads need ``partners.view`` (administrators, compliance), changes
``partners.manage`` (administrators); each change is one service call in the entry point's durable transaction.
A new key's token and a new signing secret are returned once, in the answer of the call that made them."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import partner_selectors as sel
from .. import partner_services as services
from .. import webhook_services as webhooks
from ..models import ApiCall, ApiKey, Partner, PartnerProduct, WebhookDelivery, WebhookEndpoint
from . import serializers as s

VIEW, MANAGE = "partners.view", "partners.manage"


def _body(serializer: type[serializers.Serializer], request: Request, *, partial: bool = False) -> dict[str, Any]:
    b = serializer(data=request.data, partial=partial)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


def _query(serializer: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    q = serializer(data=request.query_params)
    q.is_valid(raise_exception=True)
    return dict(q.validated_data)


class PartnerFilterSerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=50)
    kind = serializers.ChoiceField(choices=Partner.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Partner.Status.choices, required=False)


# ---- Partners -----------------------------------------------------------------------------------------------------------
class PartnerListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": VIEW, "POST": MANAGE}
    serializer_class = s.PartnerSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Partner.objects.none()
        return sel.partners_visible(self.request.user, **_query(PartnerFilterSerializer, self.request))

    @extend_schema(parameters=[PartnerFilterSerializer], operation_id="partners_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PartnerCreateSerializer, responses={201: s.PartnerSerializer, **ERRORS},
                   operation_id="partners_create",
                   description="登记合作机构；可接收事件与可授权接口范围须在其机构类型允许的范围内。")
    def post(self, request: Request) -> Response:
        p = entrypoint(services.partner_create)(actor=request.user, **_body(s.PartnerCreateSerializer, request))
        return Response(s.PartnerSerializer(p).data, status=201)


class PartnerDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": VIEW, "PATCH": MANAGE}

    @extend_schema(responses={200: s.PartnerSerializer, **ERRORS}, operation_id="partners_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.PartnerSerializer(sel.partner_get(request.user, pk)).data)

    @extend_schema(request=s.PartnerUpdateSerializer, responses={200: s.PartnerSerializer, **ERRORS},
                   operation_id="partners_update", description="修改名称、联系部门、可接收事件、接口范围、IP 白名单或备注（代码与类型不可改）。")
    def patch(self, request: Request, pk: int) -> Response:
        p = entrypoint(services.partner_update)(actor=request.user, partner_id=pk,
                                                **_body(s.PartnerUpdateSerializer, request, partial=True))
        return Response(s.PartnerSerializer(p).data)


class PartnerStatus(APIView):
    permission_classes = [HasCapability]
    capability = MANAGE

    @extend_schema(request=s.PartnerStatusSerializer, responses={200: s.PartnerSerializer, **ERRORS},
                   operation_id="partners_status", description="暂停（须填写原因，密钥即时失效、推送暂停）或恢复合作机构。")
    def post(self, request: Request, pk: int) -> Response:
        p = entrypoint(services.partner_set_status)(actor=request.user, partner_id=pk,
                                                    **_body(s.PartnerStatusSerializer, request))
        return Response(s.PartnerSerializer(p).data)


class PartnerProducts(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": VIEW, "PUT": MANAGE}
    serializer_class = s.PartnerProductSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PartnerProduct.objects.none()
        return sel.products_of(sel.partner_get(self.request.user, self.kwargs["pk"]))

    @extend_schema(operation_id="partners_products_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PartnerProductsSetSerializer, responses={200: s.PartnerProductSerializer(many=True), **ERRORS},
                   operation_id="partners_products_set", description="设置该机构发行的产品（整体替换）；一个产品只属于一个合作机构。")
    def put(self, request: Request, pk: int) -> Response:
        entrypoint(services.partner_products_set)(actor=request.user, partner_id=pk,
                                                  **_body(s.PartnerProductsSetSerializer, request))
        return Response(s.PartnerProductSerializer(sel.products_of(sel.partner_get(request.user, pk)), many=True).data)


# ---- Keys ---------------------------------------------------------------------------------------------------------------
class PartnerKeys(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": VIEW, "POST": MANAGE}
    serializer_class = s.PtApiKeySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiKey.objects.none()
        return sel.keys_of(sel.partner_get(self.request.user, self.kwargs["pk"]))

    @extend_schema(operation_id="partners_keys_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PtApiKeyIssueSerializer, responses={201: s.PtApiKeyIssuedSerializer, **ERRORS},
                   operation_id="partners_keys_issue",
                   description="签发 API 密钥。返回的 token 只出现这一次（库中仅存其带密钥的摘要），请通过安全渠道交给合作机构。")
    def post(self, request: Request, pk: int) -> Response:
        key, token = entrypoint(services.key_issue)(actor=request.user, partner_id=pk,
                                                    **_body(s.PtApiKeyIssueSerializer, request))
        return Response(s.PtApiKeyIssuedSerializer({"key": key, "token": token, "old_key_until": None}).data, status=201)


class KeyRotate(APIView):
    permission_classes = [HasCapability]
    capability = MANAGE

    @extend_schema(request=s.PtApiKeyRotateSerializer, responses={201: s.PtApiKeyIssuedSerializer, **ERRORS},
                   operation_id="partners_keys_rotate",
                   description="轮换：签发新密钥（只返回这一次），旧密钥在宽限期（grace_hours，默认取规则参数）结束前仍可使用，之后停用。")
    def post(self, request: Request, pk: int) -> Response:
        key, token = entrypoint(services.key_rotate)(actor=request.user, key_pk=pk,
                                                     **_body(s.PtApiKeyRotateSerializer, request))
        old = ApiKey.objects.get(replaced_by=key)
        return Response(s.PtApiKeyIssuedSerializer({"key": key, "token": token, "old_key_until": old.grace_until}).data,
                        status=201)


class KeyRevoke(APIView):
    permission_classes = [HasCapability]
    capability = MANAGE

    @extend_schema(request=s.PtReasonSerializer, responses={200: s.PtApiKeySerializer, **ERRORS},
                   operation_id="partners_keys_revoke", description="吊销密钥，即时失效（宽限中的旧密钥也可吊销）。")
    def post(self, request: Request, pk: int) -> Response:
        key = entrypoint(services.key_revoke)(actor=request.user, key_pk=pk, **_body(s.PtReasonSerializer, request))
        return Response(s.PtApiKeySerializer(key).data)


# ---- Endpoints ----------------------------------------------------------------------------------------------------------
class PartnerEndpoints(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": VIEW, "POST": MANAGE}
    serializer_class = s.PtEndpointSerializer
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookEndpoint.objects.none()
        return sel.partner_get(self.request.user, self.kwargs["pk"]).endpoints.order_by("id")

    @extend_schema(operation_id="partners_endpoints_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PtEndpointCreateSerializer, responses={201: s.PtEndpointSecretSerializer, **ERRORS},
                   operation_id="partners_endpoints_create",
                   description="添加 HTTPS 推送地址；返回的签名密钥（signing_secret）只出现这一次，库中加密保存。")
    def post(self, request: Request, pk: int) -> Response:
        ep, secret = entrypoint(services.endpoint_create)(actor=request.user, partner_id=pk,
                                                          **_body(s.PtEndpointCreateSerializer, request))
        return Response(s.PtEndpointSecretSerializer({"endpoint": ep, "signing_secret": secret}).data, status=201)


class EndpointDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": VIEW, "PATCH": MANAGE}

    @extend_schema(responses={200: s.PtEndpointSerializer, **ERRORS}, operation_id="partners_endpoints_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.PtEndpointSerializer(sel.endpoint_get(request.user, pk)).data)

    @extend_schema(request=s.PtEndpointUpdateSerializer, responses={200: s.PtEndpointSerializer, **ERRORS},
                   operation_id="partners_endpoints_update")
    def patch(self, request: Request, pk: int) -> Response:
        ep = entrypoint(services.endpoint_update)(actor=request.user, endpoint_id=pk,
                                                  **_body(s.PtEndpointUpdateSerializer, request, partial=True))
        return Response(s.PtEndpointSerializer(ep).data)


class EndpointRotateSecret(APIView):
    permission_classes = [HasCapability]
    capability = MANAGE

    @extend_schema(request=None, responses={200: s.PtEndpointSecretSerializer, **ERRORS},
                   operation_id="partners_endpoints_rotate_secret",
                   description="更换签名密钥（只返回这一次）；宽限期内每次推送同时带新旧两个 v1 签名。")
    def post(self, request: Request, pk: int) -> Response:
        ep, secret = entrypoint(services.endpoint_rotate_secret)(actor=request.user, endpoint_id=pk)
        return Response(s.PtEndpointSecretSerializer({"endpoint": ep, "signing_secret": secret}).data)


class EndpointTest(APIView):
    permission_classes = [HasCapability]
    capability = MANAGE

    @extend_schema(request=None, responses={200: s.PtDeliverySerializer, **ERRORS}, operation_id="partners_endpoints_test",
                   description="向该地址发送一条 test.ping 测试事件并立即尝试推送；返回推送记录（含响应码）。")
    def post(self, request: Request, pk: int) -> Response:
        d = entrypoint(webhooks.endpoint_test)(actor=request.user, endpoint_id=pk)
        webhooks.attempt(d.pk)  # after commit, outside any transaction
        return Response(s.PtDeliverySerializer(sel.delivery_get(request.user, d.pk)).data)


# ---- Deliveries and calls -----------------------------------------------------------------------------------------------
class DeliveryList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = VIEW
    serializer_class = s.PtDeliverySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        q = _query(s.PtDeliveryFilterSerializer, self.request)
        return sel.deliveries_visible(self.request.user, partner_id=q.get("partner"), endpoint_id=q.get("endpoint"),
                                      status=q.get("status", ""), event_type=q.get("type", ""))

    @extend_schema(parameters=[s.PtDeliveryFilterSerializer], operation_id="partners_deliveries_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DeliveryRetry(APIView):
    permission_classes = [HasCapability]
    capability = MANAGE

    @extend_schema(request=None, responses={200: s.PtDeliverySerializer, **ERRORS}, operation_id="partners_deliveries_retry",
                   description="立即重试一条失败或已放弃的推送（已送达的不能重试，409 delivery_already_delivered）。")
    def post(self, request: Request, pk: int) -> Response:
        d = entrypoint(webhooks.delivery_retry)(actor=request.user, delivery_id=pk)
        webhooks.attempt(d.pk)
        return Response(s.PtDeliverySerializer(sel.delivery_get(request.user, d.pk)).data)


class CallList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = VIEW
    serializer_class = s.PtApiCallSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiCall.objects.none()
        q = _query(s.PtCallFilterSerializer, self.request)
        result = q.get("result")
        return sel.calls_visible(self.request.user, partner_id=q.get("partner"), outcome=q.get("outcome", ""),
                                 key_id=q.get("key_id", ""), since=q.get("since"), until=q.get("until"),
                                 denied=None if result is None else result == "denied")

    @extend_schema(parameters=[s.PtCallFilterSerializer], operation_id="partners_calls_list",
                   description="合作机构接口调用日志（成功与被拒绝的调用；不含请求体与查询参数）。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
