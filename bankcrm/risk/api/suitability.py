"""Suitability API: questionnaire versions (list, active, new draft, edit draft, publish), a customer's assessments
(history, submit answers) and the suitability check. Domain errors are mapped centrally (core.api.errors)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import logs
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import NotFound
from bankcrm.core.transactions import entrypoint
from bankcrm.customers.selectors import customers_visible

from .. import rules_suitability as rules
from .. import suitability as svc
from ..models import Questionnaire, SuitabilityAssessment


# ---- Serializers --------------------------------------------------------------------------------------------------
class QuestionnaireSerializer(serializers.ModelSerializer):
    class Meta:
        model = Questionnaire
        fields = ["id", "code", "version", "title", "title_en", "questions", "bands", "status", "effective_from",
                  "created_at"]
        read_only_fields = fields


class QuestionnaireContentSerializer(serializers.Serializer):
    """A draft's content; validated in full by the service (every problem named)."""

    title = serializers.CharField(max_length=100)
    title_en = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    questions = serializers.JSONField()
    bands = serializers.JSONField()


class AssessmentSerializer(serializers.ModelSerializer):
    questionnaire = serializers.SerializerMethodField()
    assessed_by = serializers.CharField(source="assessed_by.staff_no", read_only=True)
    branch = serializers.CharField(source="branch.code", read_only=True)

    class Meta:
        model = SuitabilityAssessment
        fields = ["id", "customer", "questionnaire", "answers", "score", "level", "face_to_face", "first_time",
                  "branch", "assessed_by", "assessed_at", "valid_until", "status"]
        read_only_fields = fields

    def get_questionnaire(self, obj: SuitabilityAssessment) -> str:
        return f"{obj.questionnaire.code} v{obj.questionnaire.version}"


class AssessSerializer(serializers.Serializer):
    answers = serializers.DictField(child=serializers.CharField(allow_blank=True), allow_empty=True,
                                    help_text="{question code: option code}")
    face_to_face = serializers.BooleanField(default=False, help_text="网点面签（首次评估必须为 true）")
    questionnaire = serializers.IntegerField(required=False, allow_null=True, default=None,
                                             help_text="作答时的问卷 id；若问卷已更新则 409 questionnaire_changed")


class RecordingSerializer(serializers.Serializer):
    recording_id = serializers.CharField(max_length=40)
    booth = serializers.CharField(max_length=40)
    recorded_at = serializers.DateTimeField()


class CheckSerializer(serializers.Serializer):
    customer = serializers.IntegerField(required=False, help_text="客户 id（或填 customer_no）")
    customer_no = serializers.CharField(required=False, max_length=16)
    product_level = serializers.IntegerField(min_value=0, max_value=5, help_text="0 为存款类，1–5 对应 R1–R5")
    product_kind = serializers.ChoiceField(choices=list(rules.PRODUCT_KINDS))
    recording = RecordingSerializer(required=False, allow_null=True, help_text="双录记录")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("customer") and not attrs.get("customer_no"):
            raise serializers.ValidationError({"customer": [_("请填写客户 id 或客户号")]})
        return attrs


class DecisionSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    violations = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    requirements = serializers.DictField()
    investor_level = serializers.IntegerField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)


# ---- Views --------------------------------------------------------------------------------------------------------
class QuestionnaireListCreate(APIView):
    permission_classes = [HasCapability]
    capability = "risk.manage_questionnaires"

    @extend_schema(responses={200: QuestionnaireSerializer(many=True), **ERRORS}, operation_id="risk_questionnaires_list")
    def get(self, request: Request) -> Response:
        return Response(QuestionnaireSerializer(svc.questionnaires(request.user), many=True).data)

    @extend_schema(request=QuestionnaireContentSerializer, operation_id="risk_questionnaires_create",
                   responses={201: QuestionnaireSerializer, **ERRORS},
                   description="新建草稿版本：不带内容时复制最新版本，带内容时校验后保存。")
    def post(self, request: Request) -> Response:
        content = None
        if request.data:
            s = QuestionnaireContentSerializer(data=request.data)
            s.is_valid(raise_exception=True)
            content = dict(s.validated_data)
        q = entrypoint(svc.questionnaire_draft_create)(actor=request.user, content=content)
        return Response(QuestionnaireSerializer(q).data, status=201)


class QuestionnaireActive(APIView):
    permission_classes = [HasCapability]
    capability = "risk.view"

    @extend_schema(responses={200: QuestionnaireSerializer, **ERRORS}, operation_id="risk_questionnaires_active")
    def get(self, request: Request) -> Response:
        q = svc.questionnaire_active()
        if q is None:
            raise NotFound("questionnaire_missing", _("没有启用的风险承受能力问卷"))
        return Response(QuestionnaireSerializer(q).data)


class QuestionnaireDetail(APIView):
    permission_classes = [HasCapability]
    capability = "risk.manage_questionnaires"

    @extend_schema(responses={200: QuestionnaireSerializer, **ERRORS}, operation_id="risk_questionnaires_read")
    def get(self, request: Request, pk: int) -> Response:
        return Response(QuestionnaireSerializer(svc.questionnaire_get(request.user, pk)).data)

    @extend_schema(request=QuestionnaireContentSerializer, responses={200: QuestionnaireSerializer, **ERRORS},
                   operation_id="risk_questionnaires_update", description="修改草稿（已发布的版本不能修改：409）。")
    def put(self, request: Request, pk: int) -> Response:
        s = QuestionnaireContentSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        q = entrypoint(svc.questionnaire_draft_save)(actor=request.user, questionnaire_id=pk,
                                                     content=dict(s.validated_data))
        return Response(QuestionnaireSerializer(q).data)


class QuestionnairePublish(APIView):
    permission_classes = [HasCapability]
    capability = "risk.manage_questionnaires"

    @extend_schema(request=None, responses={200: QuestionnaireSerializer, **ERRORS},
                   operation_id="risk_questionnaires_publish")
    def post(self, request: Request, pk: int) -> Response:
        q = entrypoint(svc.questionnaire_publish)(actor=request.user, questionnaire_id=pk)
        return Response(QuestionnaireSerializer(q).data)


class CustomerSuitability(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "risk.view", "POST": "risk.assess_suitability"}

    @extend_schema(responses={200: AssessmentSerializer(many=True), **ERRORS}, operation_id="risk_suitability_list")
    def get(self, request: Request, pk: int) -> Response:
        rows = list(svc.assessments_of(request.user, pk))
        logs.access(actor=request.user, view="api.risk_suitability", subject_type="customers.Customer",
                    subject_ids=[pk], fields=["suitability"], channel="api")
        return Response(AssessmentSerializer(rows, many=True).data)

    @extend_schema(request=AssessSerializer, responses={201: AssessmentSerializer, **ERRORS},
                   operation_id="risk_suitability_assess")
    def post(self, request: Request, pk: int) -> Response:
        s = AssessSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        a = entrypoint(svc.suitability_assess)(actor=request.user, customer_id=pk, answers=d["answers"],
                                               face_to_face=d["face_to_face"], questionnaire_id=d["questionnaire"])
        return Response(AssessmentSerializer(a).data, status=201)


class SuitabilityCheck(APIView):
    permission_classes = [HasCapability]
    capability = "risk.assess_suitability"

    @extend_schema(request=CheckSerializer, operation_id="risk_suitability_check",
                   responses={200: OpenApiResponse(DecisionSerializer, description="校验结果（含每条不满足的规则）"),
                              **ERRORS})
    def post(self, request: Request) -> Response:
        s = CheckSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        qs = customers_visible(request.user)
        c = qs.filter(pk=d["customer"]).first() if d.get("customer") else qs.filter(customer_no=d["customer_no"]).first()
        if c is None:
            raise NotFound("customer_not_found", _("客户不存在或不在您的管户范围内"))
        rec = dict(d["recording"]) if d.get("recording") else None
        decision = entrypoint(svc.suitability_check_recorded)(
            actor=request.user, customer_id=c.pk, product_level=d["product_level"], product_kind=d["product_kind"],
            recording=rec)
        return Response(decision.as_dict())
