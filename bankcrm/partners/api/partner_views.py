"""The partner's own API (under /api/v1/partner/), authenticated by a partner key only.

``GET me/`` who the key belongs to and what it may do; ``GET events/`` the partner's events with their delivery
status, oldest first (``?after=<seq>``: the pull fallback when a webhook was missed); ``GET products/`` its linked
products; ``POST products/<code>/navs/`` a fund company's NAV for one of its own products.

Every view holds ``partners.api`` (only a verified partner key has it: a staff session or token is refused with 403
and a security-log entry) and, where it says so, a key scope (``PartnerScope``: 403 ``partner_scope_missing``).
Refused keys get 401 with a stable code (``partner_key_invalid``, ``_revoked``, ``_expired``, ``_rotated``,
``partner_suspended``, ``partner_ip_not_allowed``). Every call, answered or refused, is in the call log.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core.api.authentication import BearerTokenAuthentication, GuardedSessionAuthentication
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import partner_rules as rules
from .. import partner_selectors as sel
from .. import partner_services as services
from ..models import PartnerEvent
from ..partner_auth import PartnerKeyAuthentication, PartnerScope, partner_exception_handler
from . import serializers as s

# Staff credentials are accepted only so that a member of staff is identified and refused (403, security log) rather
# than told to sign in: they never hold partners.api.
AUTH = [PartnerKeyAuthentication, BearerTokenAuthentication, GuardedSessionAuthentication]


class PartnerAPIMixin:
    authentication_classes = AUTH
    permission_classes = [HasCapability, PartnerScope]
    capability = "partners.api"
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self):
        return partner_exception_handler


class PartnerMe(PartnerAPIMixin, APIView):
    @extend_schema(responses={200: s.PartnerMeSerializer, **ERRORS}, operation_id="partner_me",
                   description="当前密钥所属合作机构、密钥有效期与可用接口范围、可接收事件。")
    def get(self, request: Request) -> Response:
        principal = request.user
        p, key = principal.partner, principal.key
        return Response(s.PartnerMeSerializer({
            "code": p.code, "name": p.name, "kind": p.kind, "key_id": key.key_id, "key_expires_at": key.expires_at,
            "key_grace_until": key.grace_until, "scopes": sorted(principal.scopes),
            "events": sorted(p.allowed_events)}).data)


class PartnerEvents(PartnerAPIMixin, generics.ListAPIView):
    partner_scope = rules.SCOPE_EVENTS
    serializer_class = s.PartnerEventSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PartnerEvent.objects.none()
        q = s.PartnerEventFilterSerializer(data=self.request.query_params)
        q.is_valid(raise_exception=True)
        return sel.events_for_partner(self.request.user.partner, after=q.validated_data.get("after"),
                                      event_type=q.validated_data.get("type", ""))

    @extend_schema(parameters=[s.PartnerEventFilterSerializer], operation_id="partner_events_list",
                   description="本机构的事件（与 Webhook 推送的内容相同），按 seq 升序分页；?after=<seq> 只取之后的事件。"
                               "需要 events:read 范围。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PartnerProducts(PartnerAPIMixin, APIView):
    partner_scope = rules.SCOPE_PRODUCTS

    @extend_schema(responses={200: s.PartnerProductOutSerializer(many=True), **ERRORS}, operation_id="partner_products_list",
                   description="本机构在本行代销的产品及最新净值。需要 products:read 范围。")
    def get(self, request: Request) -> Response:
        from bankcrm.wealth.models import ProductNav

        rows = []
        for link in sel.products_of(request.user.partner):
            w = link.product
            nav = ProductNav.objects.filter(product=w).order_by("-nav_date").first() if w.nav_based else None
            rows.append({"code": w.code, "name": w.name, "kind": w.kind, "risk_level": w.risk_level,
                         "currency": w.currency, "status": w.status,
                         "latest_nav_x10000": nav.nav_x10000 if nav else None,
                         "latest_nav_date": nav.nav_date if nav else None})
        return Response(s.PartnerProductOutSerializer(rows, many=True).data)


class PartnerNavPost(PartnerAPIMixin, APIView):
    partner_scope = rules.SCOPE_NAV

    @extend_schema(request=s.PtNavPostSerializer, responses={201: s.PtNavPostedSerializer, **ERRORS},
                   operation_id="partner_products_nav_post",
                   description="报送本机构产品某日的单位净值（同日再次报送为更正）。其他机构的产品一律 404。需要 nav:write 范围。")
    def post(self, request: Request, code: str) -> Response:
        body = s.PtNavPostSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = entrypoint(services.nav_post)(principal=request.user, product_code=code, **body.validated_data)
        return Response(s.PtNavPostedSerializer({"product_code": code, "nav_date": row.nav_date,
                                               "nav_x10000": row.nav_x10000}).data, status=201)
