"""Segments and next-best-action API: a customer's recommendations (list, refresh now) and decisions on them, a
customer's segments with history, the models' figures and the conversion statistics. Reads naming customers write an
access event; every write goes through the services (scope, suitability re-check, audit)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.transactions import entrypoint

from .. import nba, nba_selectors
from ..models import Recommendation, Segment

DECISION_CHOICES = [("accept", "采纳"), ("decline", "拒绝")]


def _log(request: Request, view: str, ids: Any, fields: list[str]) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids, fields=fields,
                    channel="api")


def _customer(request: Request, pk: int) -> Any:
    from bankcrm.customers.selectors import customer_get

    return customer_get(request.user, pk)


# ---- Serializers ----------------------------------------------------------------------------------------------------
class EgRecommendationSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", default=None, read_only=True)
    product_level = serializers.IntegerField(source="product.risk_level", default=None, read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Recommendation
        fields = ["id", "customer_id", "action", "kind", "category", "title", "product_id", "product_code",
                  "product_level", "score", "reasons", "source", "segment", "status", "created_at", "expires_at",
                  "decided_by_id", "decided_at", "decline_reason", "opportunity_id", "converted", "converted_at"]
        read_only_fields = fields


class EgDecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=DECISION_CHOICES)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    follow_up_on = serializers.DateField(required=False, allow_null=True, default=None)


class EgSegmentSerializer(serializers.ModelSerializer):
    detail = serializers.DictField(read_only=True)

    class Meta:
        model = Segment
        fields = ["kind", "code", "label", "detail", "since", "until"]
        read_only_fields = fields


class EgCustomerSegmentsSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField()
    current = EgSegmentSerializer(many=True)
    history = EgSegmentSerializer(many=True)


class EgRefreshResultSerializer(serializers.Serializer):
    customers = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    expired = serializers.IntegerField()
    model = serializers.IntegerField(allow_null=True)
    recommendations = EgRecommendationSerializer(many=True)


# ---- Views ----------------------------------------------------------------------------------------------------------
class CustomerRecommendations(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(parameters=[OpenApiParameter("status", str, description="open (default), accepted, declined, "
                                                                            "expired, or empty for all")],
                   responses={200: EgRecommendationSerializer(many=True), **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        customer = _customer(request, pk)
        status = request.query_params.get("status", Recommendation.Status.OPEN)
        if status not in ("", *Recommendation.Status.values):
            status = Recommendation.Status.OPEN
        rows = list(nba_selectors.customer_recommendations(request.user, customer, status=status)[:200])
        _log(request, "engagement.api_recommendations", [customer.pk], ["name", "recommendations"])
        return Response(EgRecommendationSerializer(rows, many=True).data)


class CustomerRecommendationsRefresh(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.recommend"

    @extend_schema(request=None, responses={200: EgRefreshResultSerializer, **ERRORS},
                   operation_id="engagement_customer_recommendations_refresh")
    def post(self, request: Request, pk: int) -> Response:
        r = entrypoint(nba.recommendations_refresh)(actor=request.user, customer_ids=[pk])
        customer = _customer(request, pk)
        rows = list(nba_selectors.customer_recommendations(request.user, customer))
        _log(request, "engagement.api_recommendations_refresh", [customer.pk], ["recommendations"])
        return Response({**{k: r[k] for k in ("customers", "created", "updated", "expired", "model")},
                         "recommendations": EgRecommendationSerializer(rows, many=True).data})


class RecommendationDecide(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.recommend"

    @extend_schema(request=EgDecideSerializer, responses={200: EgRecommendationSerializer, **ERRORS},
                   operation_id="engagement_recommendation_decide")
    def post(self, request: Request, pk: int) -> Response:
        s = EgDecideSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        rec = entrypoint(nba.recommendation_decide)(actor=request.user, recommendation_id=pk, **s.validated_data)
        return Response(EgRecommendationSerializer(rec).data)


class CustomerSegments(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(responses={200: EgCustomerSegmentsSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> Response:
        customer = _customer(request, pk)
        seg = nba_selectors.customer_segments(request.user, customer)
        _log(request, "engagement.api_segments", [customer.pk], ["segments"])
        return Response({"customer_id": customer.pk,
                         "current": EgSegmentSerializer(list(seg["current"].values()), many=True).data,
                         "history": EgSegmentSerializer(seg["history"], many=True).data})


class ModelFigures(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.stats"

    @extend_schema(responses={200: OpenApiResponse(description="the latest cluster model (labels, sizes, centres) and "
                                                               "the propensity models' held-out AUCs")})
    def get(self, request: Request) -> Response:
        return Response(nba_selectors.model_figures())


class SegmentOverview(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.stats"

    @extend_schema(responses={200: OpenApiResponse(description="distribution of tiers, RFM groups and clusters over "
                                                               "the customers in scope, and the models' figures")})
    def get(self, request: Request) -> Response:
        return Response(nba_selectors.segment_overview(request.user))


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class ConversionStats(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.stats"

    @extend_schema(parameters=[OpenApiParameter("start", str, description="YYYY-MM-DD (default: 89 days before end)"),
                               OpenApiParameter("end", str, description="YYYY-MM-DD (default: today)")],
                   responses={200: OpenApiResponse(description="acceptance and conversion by action, product category "
                                                               "and segment")})
    def get(self, request: Request) -> Response:
        end = _day(request.query_params.get("end")) or timezone.localdate()
        start = _day(request.query_params.get("start")) or end - timedelta(days=89)
        if start > end:
            start, end = end, start
        return Response(nba_selectors.conversion_stats(request.user, start=start, end=end))
