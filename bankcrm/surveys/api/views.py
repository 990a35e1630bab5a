"""Surveys API: templates (versions), campaigns (create, change, run a sampling, send), answers, analytics and the
outbox transport's messages. Answers name customers: each response writes an access event."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import NotFound
from bankcrm.core.transactions import entrypoint

from .. import selectors, services
from ..models import Campaign, CampaignRun, OutboxMessage, QuestionKind, Response, SurveyTemplate


# ---- Serializers ----------------------------------------------------------------------------------------------------
class SurveyQuestionSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    kind = serializers.ChoiceField(choices=QuestionKind.choices)
    text = serializers.CharField(max_length=200)
    required = serializers.BooleanField(default=False)
    options = serializers.ListField(child=serializers.CharField(max_length=60), required=False)


class SurveyTemplateSerializer(serializers.ModelSerializer):
    questions = SurveyQuestionSerializer(many=True)

    class Meta:
        model = SurveyTemplate
        fields = ["id", "code", "version", "name", "intro", "questions", "is_current", "note", "created_at"]
        read_only_fields = ["id", "version", "is_current", "created_at"]
        validators: list = []  # a new version of an existing code is the point: the service versions it


class SurveyCampaignSerializer(serializers.ModelSerializer):
    template_id = serializers.PrimaryKeyRelatedField(source="template", queryset=SurveyTemplate.objects.all())
    branch_id = serializers.IntegerField(required=False, write_only=True)

    class Meta:
        model = Campaign
        fields = ["id", "name", "trigger", "frequency", "per_manager", "template_id", "channel", "min_interval_days",
                  "valid_days", "csat_low", "nps_low", "active", "branch_id", "branch_path", "created_at"]
        read_only_fields = ["id", "branch_path", "created_at"]


class SurveyRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignRun
        fields = ["id", "campaign_id", "period", "sampled", "skipped_consent", "skipped_interval", "created_at"]
        read_only_fields = fields


class SurveyDispatchResultSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class SurveyResponseSerializer(serializers.ModelSerializer):
    customer_no = serializers.CharField(source="customer.customer_no", read_only=True)
    campaign_id = serializers.IntegerField(source="invitation.campaign_id", read_only=True)
    manager_id = serializers.IntegerField(source="invitation.manager_id", read_only=True, allow_null=True)
    branch_path = serializers.CharField(source="invitation.branch_path", read_only=True)
    product = serializers.CharField(source="invitation.product", read_only=True)
    channel = serializers.CharField(source="invitation.channel", read_only=True)
    trigger = serializers.CharField(source="invitation.trigger", read_only=True)
    template_version = serializers.IntegerField(source="invitation.template.version", read_only=True)

    class Meta:
        model = Response
        fields = ["id", "customer_id", "customer_no", "campaign_id", "manager_id", "branch_path", "product",
                  "channel", "trigger", "template_version", "answers", "csat", "nps", "comment", "sentiment",
                  "keywords", "low_score", "needs_followup", "case_ref", "created_at"]
        read_only_fields = fields


class SurveyFiguresSerializer(serializers.Serializer):
    answers = serializers.IntegerField()
    csat = serializers.FloatField(allow_null=True, help_text="% of CSAT answers 4–5")
    nps = serializers.FloatField(allow_null=True, help_text="% promoters − % detractors")
    negative = serializers.IntegerField()
    followups = serializers.IntegerField()


class SurveyGroupSerializer(SurveyFiguresSerializer):
    key = serializers.CharField()


class SurveyPeriodSerializer(SurveyFiguresSerializer):
    period = serializers.CharField()


class SurveyAnalyticsSerializer(serializers.Serializer):
    total = SurveyFiguresSerializer()
    by = serializers.DictField(child=SurveyGroupSerializer(many=True),
                               help_text="branch, manager, product, channel, trigger")
    trend = SurveyPeriodSerializer(many=True)
    quarters = SurveyPeriodSerializer(many=True)
    keywords = serializers.ListField(child=serializers.ListField(), help_text="[keyword, count]")
    sentiments = serializers.DictField(child=serializers.IntegerField())
    invited = serializers.IntegerField()


class SurveyOutboxSerializer(serializers.ModelSerializer):
    invitation_status = serializers.CharField(source="invitation.status", read_only=True)
    campaign_id = serializers.IntegerField(source="invitation.campaign_id", read_only=True)

    class Meta:
        model = OutboxMessage
        fields = ["id", "invitation_id", "campaign_id", "channel", "recipient_masked", "subject", "body",
                  "invitation_status", "created_at"]
        read_only_fields = fields


# ---- Views ----------------------------------------------------------------------------------------------------------
class TemplateListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "surveys.view", "POST": "surveys.manage_templates"}
    serializer_class = SurveyTemplateSerializer

    def get_queryset(self):
        qs = SurveyTemplate.objects.order_by("code", "-version")
        return qs if self.request.query_params.get("all") == "1" else qs.filter(is_current=True)

    @extend_schema(parameters=[OpenApiParameter("all", str, description="1 = every version")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=SurveyTemplateSerializer, responses={201: SurveyTemplateSerializer, **ERRORS})
    def post(self, request: Request) -> ApiResponse:
        s = SurveyTemplateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        t = entrypoint(services.template_save)(actor=request.user, code=d["code"], name=d["name"],
                                               intro=d.get("intro", ""), note=d.get("note", ""),
                                               questions=[dict(q) for q in d["questions"]])
        return ApiResponse(SurveyTemplateSerializer(t).data, status=201)


class TemplateDetail(APIView):
    permission_classes = [HasCapability]
    capability = "surveys.view"

    @extend_schema(responses={200: SurveyTemplateSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> ApiResponse:
        t = selectors.template_get(pk)
        if t is None:
            raise NotFound("template_not_found", "调查模板不存在")
        return ApiResponse(SurveyTemplateSerializer(t).data)


def _campaign_data(d: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in d.items() if k in services.CAMPAIGN_FIELDS}
    if "template" in d:
        out["template_id"] = d["template"].pk
    return out


class CampaignListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "surveys.view", "POST": "surveys.manage_campaigns"}
    serializer_class = SurveyCampaignSerializer

    def get_queryset(self):
        return selectors.campaigns_visible(self.request.user).order_by("-created_at")

    @extend_schema(request=SurveyCampaignSerializer, responses={201: SurveyCampaignSerializer, **ERRORS})
    def post(self, request: Request) -> ApiResponse:
        s = SurveyCampaignSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        c = entrypoint(services.campaign_save)(actor=request.user, branch_id=s.validated_data.get("branch_id"),
                                               **_campaign_data(s.validated_data))
        return ApiResponse(SurveyCampaignSerializer(c).data, status=201)


class CampaignDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "surveys.view", "PATCH": "surveys.manage_campaigns"}

    @extend_schema(responses={200: SurveyCampaignSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> ApiResponse:
        c = selectors.campaign_get(request.user, pk)
        if c is None:
            raise NotFound("campaign_not_found", "调查活动不存在或无权查看")
        return ApiResponse(SurveyCampaignSerializer(c).data)

    @extend_schema(request=SurveyCampaignSerializer, responses={200: SurveyCampaignSerializer, **ERRORS})
    def patch(self, request: Request, pk: int) -> ApiResponse:
        if selectors.campaign_get(request.user, pk) is None:
            raise NotFound("campaign_not_found", "调查活动不存在或无权查看")
        s = SurveyCampaignSerializer(data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        c = entrypoint(services.campaign_save)(actor=request.user, campaign_id=pk, **_campaign_data(s.validated_data))
        return ApiResponse(SurveyCampaignSerializer(c).data)


class CampaignRunCreate(APIView):
    permission_classes = [HasCapability]
    capability = "surveys.manage_campaigns"

    @extend_schema(request=None, responses={201: SurveyRunSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> ApiResponse:
        run = entrypoint(services.campaign_run)(actor=request.user, campaign_id=pk)
        return ApiResponse(SurveyRunSerializer(run).data, status=201)


class CampaignDispatch(APIView):
    permission_classes = [HasCapability]
    capability = "surveys.manage_campaigns"

    @extend_schema(request=None, responses={200: SurveyDispatchResultSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> ApiResponse:
        return ApiResponse(services.dispatch_now(actor=request.user, campaign_id=pk))  # commits per chunk


def _log(request: Request, view: str, ids: Any) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=["survey_answers"], channel="api")


class ResponseList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "surveys.view"
    serializer_class = SurveyResponseSerializer

    def get_queryset(self):
        q = self.request.query_params
        qs = selectors.response_list(self.request.user, sentiment=q.get("sentiment", ""), low=q.get("low", ""),
                                     campaign=q.get("campaign", ""))
        cid = q.get("customer", "")
        return qs.filter(customer_id=int(cid)) if cid.isdigit() else qs

    @extend_schema(parameters=[OpenApiParameter("sentiment", str), OpenApiParameter("low", str, description="1"),
                               OpenApiParameter("campaign", int), OpenApiParameter("customer", int)])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        response = super().get(request, *args, **kwargs)
        _log(request, "surveys.api_responses", [r["customer_id"] for r in response.data.get("results", [])])
        return response


class ResponseDetail(APIView):
    permission_classes = [HasCapability]
    capability = "surveys.view"

    @extend_schema(responses={200: SurveyResponseSerializer, **ERRORS})
    def get(self, request: Request, pk: int) -> ApiResponse:
        r = selectors.response_get(request.user, pk)
        if r is None:
            raise NotFound("response_not_found", "答卷不存在或无权查看")
        _log(request, "surveys.api_response", [r.customer_id])
        return ApiResponse(SurveyResponseSerializer(r).data)


class Analytics(APIView):
    permission_classes = [HasCapability]
    capability = "surveys.view"

    @extend_schema(parameters=[OpenApiParameter("campaign", int), OpenApiParameter("months", int)],
                   responses={200: SurveyAnalyticsSerializer, **ERRORS})
    def get(self, request: Request) -> ApiResponse:
        months = request.query_params.get("months", "12")
        data = selectors.analytics(request.user, campaign=request.query_params.get("campaign", ""),
                                   months=min(60, int(months)) if months.isdigit() and int(months) > 0 else 12)
        return ApiResponse(data)


class OutboxList(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "surveys.view_outbox"
    serializer_class = SurveyOutboxSerializer

    def get_queryset(self):
        return selectors.outbox_visible(self.request.user)
