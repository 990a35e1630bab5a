"""Insight API (under /api/v1/engagement/): insights and life events of the customers the caller may see, the intent
dictionary, and on-demand analysis of a text (intents with their sentences, keywords, sentiment — nothing stored).
Responses naming customers write an access event."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability

from .. import insight_selectors as sel
from .. import insights
from ..insight_services import active_dictionary
from ..models import Insight, LifeEvent


def _log(request: Request, view: str, ids: Any, fields: list[str]) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids, fields=fields,
                    channel="api")


# ---- Serializers ----------------------------------------------------------------------------------------------------
class EgInsightSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()

    class Meta:
        model = Insight
        fields = ["id", "customer_id", "source", "source_id", "intent", "label", "keyword", "sentence", "sentiment",
                  "found_at"]
        read_only_fields = fields

    def get_label(self, obj: Insight) -> str:
        return active_dictionary().label(obj.intent)


class EgLifeEventSerializer(serializers.ModelSerializer):
    text = serializers.SerializerMethodField()
    detail = serializers.DictField(read_only=True)

    class Meta:
        model = LifeEvent
        fields = ["id", "customer_id", "kind", "on_date", "text", "detail", "key", "created_at"]
        read_only_fields = fields

    def get_text(self, obj: LifeEvent) -> str:
        return sel.event_text(obj)


class EgAnalyzeRequestSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=insights.MAX_TEXT, trim_whitespace=True,
                                 error_messages={"required": _("请提供要分析的文字"), "blank": _("请提供要分析的文字"),
                                                 "max_length": _("文字过长")})


class EgAnalyzedIntentSerializer(serializers.Serializer):
    intent = serializers.CharField()
    label = serializers.CharField()
    keyword = serializers.CharField()
    sentence = serializers.CharField()
    sentence_index = serializers.IntegerField()
    start = serializers.IntegerField(help_text="offset of the keyword in the sentence")
    end = serializers.IntegerField()
    sentiment = serializers.CharField(help_text="pos / neu / neg")


class EgDroppedIntentSerializer(serializers.Serializer):
    intent = serializers.CharField()
    label = serializers.CharField()
    keyword = serializers.CharField()
    reason = serializers.CharField(help_text="negated, refused, third_party, not_self or yielded")
    sentence = serializers.CharField()


class EgSentenceSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.CharField()
    sentiment = serializers.CharField()


class EgAnalysisSerializer(serializers.Serializer):
    dictionary_version = serializers.IntegerField()
    sentiment = serializers.CharField(help_text="pos / neu / neg")
    keywords = serializers.ListField(child=serializers.CharField())
    topics = serializers.ListField(child=serializers.CharField(), help_text="service topics (排队, 手续费, 态度 …)")
    intents = EgAnalyzedIntentSerializer(many=True)
    dropped = EgDroppedIntentSerializer(many=True)
    sentences = EgSentenceSerializer(many=True)


class EgIntentDefSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    label_en = serializers.CharField()
    goal = serializers.CharField()
    product_kinds = serializers.ListField(child=serializers.CharField())
    keywords = serializers.ListField(child=serializers.CharField())
    phrases = serializers.ListField(child=serializers.CharField())


class EgIntentDictionarySerializer(serializers.Serializer):
    version = serializers.IntegerField()
    digest = serializers.CharField()
    intents = EgIntentDefSerializer(many=True)


# ---- Views ----------------------------------------------------------------------------------------------------------
class InsightList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"
    serializer_class = EgInsightSerializer

    def get_queryset(self):
        q = self.request.query_params
        return sel.insight_queue(self.request.user, customer_id=q.get("customer", ""), intent=q.get("intent", ""),
                                 source=q.get("source", ""), sentiment=q.get("sentiment", ""))

    @extend_schema(parameters=[OpenApiParameter("customer", int), OpenApiParameter("intent", str),
                               OpenApiParameter("source", str, enum=Insight.Source.values),
                               OpenApiParameter("sentiment", str, enum=Insight.Sentiment.values)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "engagement.api_insights", [r["customer_id"] for r in response.data.get("results", [])],
             ["insights"])
        return response


class LifeEventList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"
    serializer_class = EgLifeEventSerializer

    def get_queryset(self):
        q = self.request.query_params
        f = serializers.DateField()
        try:
            start = f.to_internal_value(q["from"]) if q.get("from") else None
            end = f.to_internal_value(q["to"]) if q.get("to") else None
        except serializers.ValidationError:
            raise serializers.ValidationError({"from": [_("日期格式应为 YYYY-MM-DD")]}) from None
        return sel.life_event_queue(self.request.user, customer_id=q.get("customer", ""), kind=q.get("kind", ""),
                                    start=start, end=end)

    @extend_schema(parameters=[OpenApiParameter("customer", int),
                               OpenApiParameter("kind", str, enum=LifeEvent.Kind.values),
                               OpenApiParameter("from", str, description="YYYY-MM-DD (default: today)"),
                               OpenApiParameter("to", str, description="YYYY-MM-DD")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        _log(request, "engagement.api_life_events", [r["customer_id"] for r in response.data.get("results", [])],
             ["life_events"])
        return response


class Analyze(APIView):
    """Analyse a text now: intents with the sentence each came from, dropped candidates with the reason, keywords,
    topics and sentiment. Nothing is stored."""

    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(request=EgAnalyzeRequestSerializer, responses={200: EgAnalysisSerializer, **ERRORS},
                   operation_id="engagement_analyze")
    def post(self, request: Request) -> Response:
        s = EgAnalyzeRequestSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        return Response(insights.analyze(s.validated_data["text"], active_dictionary()).as_dict())


class IntentDictionary(APIView):
    permission_classes = [HasCapability]
    capability = "engagement.view"

    @extend_schema(responses={200: EgIntentDictionarySerializer, **ERRORS}, operation_id="engagement_intents")
    def get(self, request: Request) -> Response:
        d = active_dictionary()
        return Response({"version": d.version, "digest": d.digest, "intents": [
            {"code": i.code, "label": i.label, "label_en": i.label_en, "goal": i.goal,
             "product_kinds": list(i.product_kinds), "keywords": list(i.keywords), "phrases": list(i.phrases)}
            for i in d.intents]})
