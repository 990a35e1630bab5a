"""Training API (under /api/v1/people/training/): courses (list, detail, create, edit, publish, retire), my
assignments and certificates, submitting a quiz (scored on the server) and attesting, the team's status, manual
assignment, waivers and revocations, requirements and gate rules. Reads go through the scoped selectors (an object
out of scope is 404), writes through one service each in the entry point's durable transaction."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bankcrm.core import access
from bankcrm.core.api.base import ERRORS, HasCapability
from bankcrm.core.errors import ValidationFailed
from bankcrm.core.transactions import entrypoint

from .. import training_selectors as sel
from .. import training_services as svc
from ..models import Assignment, Certificate, GateRule, Requirement
from . import training_serializers as s


def _body(serializer: type, request: Request, **kwargs: Any) -> dict[str, Any]:
    b = serializer(data=request.data, **kwargs)
    b.is_valid(raise_exception=True)
    return dict(b.validated_data)


class CourseListCreate(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.training", "POST": "people.manage_training"}
    serializer_class = s.PpCourseSerializer

    def get_queryset(self):
        user = self.request.user
        if self.request.query_params.get("all") == "1" and access.can(user, "people.manage_training"):
            return sel.courses_admin(user).order_by("category", "code")
        return sel.courses_published().order_by("category", "code")

    @extend_schema(operation_id="people_training_courses_list", description="已发布的课程；管理员加 ?all=1 看全部。")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpCourseWriteSerializer, responses={201: s.PpCourseDetailSerializer, **ERRORS},
                   operation_id="people_training_courses_create")
    def post(self, request: Request) -> Response:
        c = entrypoint(svc.course_save)(actor=request.user, **_body(s.PpCourseWriteSerializer, request))
        return Response(s.PpCourseDetailSerializer(c, context={"with_answers": True}).data, status=201)


class CourseDetail(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.training", "PATCH": "people.manage_training"}

    @extend_schema(responses={200: s.PpCourseDetailSerializer, **ERRORS}, operation_id="people_training_courses_retrieve",
                   description="课程内容与测验题（不含答案；管理员加 ?with_answers=1）。")
    def get(self, request: Request, pk: int) -> Response:
        c = sel.course_for_learner(request.user, pk)
        answers = request.query_params.get("with_answers") == "1" and access.can(request.user, "people.manage_training")
        return Response(s.PpCourseDetailSerializer(c, context={"with_answers": answers}).data)

    @extend_schema(request=s.PpCourseWriteSerializer(partial=True), responses={200: s.PpCourseDetailSerializer, **ERRORS},
                   operation_id="people_training_courses_partial_update")
    def patch(self, request: Request, pk: int) -> Response:
        sel.course_for_admin(request.user, pk)
        data = _body(s.PpCourseWriteSerializer, request, partial=True)
        if not data:
            raise ValidationFailed("nothing_to_update", _("请至少填写一个可修改的字段"))
        c = entrypoint(svc.course_save)(actor=request.user, course_id=pk, **data)
        return Response(s.PpCourseDetailSerializer(c, context={"with_answers": True}).data)


class CoursePublish(APIView):
    permission_classes = [HasCapability]
    capability = "people.manage_training"

    @extend_schema(request=s.PpPublishSerializer, responses={200: s.PpCourseSerializer, **ERRORS},
                   operation_id="people_training_courses_publish")
    def post(self, request: Request, pk: int) -> Response:
        sel.course_for_admin(request.user, pk)
        d = _body(s.PpPublishSerializer, request)
        c = entrypoint(svc.course_publish)(actor=request.user, course_id=pk, new_version=d["new_version"],
                                           reason=d["reason"])
        return Response(s.PpCourseSerializer(c).data)


class CourseRetire(APIView):
    permission_classes = [HasCapability]
    capability = "people.manage_training"

    @extend_schema(request=s.PpReasonSerializer, responses={200: s.PpCourseSerializer, **ERRORS},
                   operation_id="people_training_courses_retire")
    def post(self, request: Request, pk: int) -> Response:
        sel.course_for_admin(request.user, pk)
        c = entrypoint(svc.course_retire)(actor=request.user, course_id=pk,
                                          reason=_body(s.PpReasonSerializer, request)["reason"])
        return Response(s.PpCourseSerializer(c).data)


class CourseQuiz(APIView):
    permission_classes = [HasCapability]
    capability = "people.training"

    @extend_schema(request=s.PpAnswersSerializer, responses={200: s.PpQuizResultSerializer, **ERRORS},
                   operation_id="people_training_courses_quiz",
                   description="提交测验答案；得分由服务器按标准答案计算，通过即颁发证书并完成培训任务。")
    def post(self, request: Request, pk: int) -> Response:
        sel.course_for_learner(request.user, pk)
        d = _body(s.PpAnswersSerializer, request)
        attempt = entrypoint(svc.quiz_submit)(actor=request.user, course_id=pk, answers=d["answers"],
                                              course_version=d.get("version"))
        return Response(s.PpQuizResultSerializer(attempt).data)


class CourseAttest(APIView):
    permission_classes = [HasCapability]
    capability = "people.training"

    @extend_schema(request=s.PpAttestSerializer, responses={201: s.PpCertificateSerializer, **ERRORS},
                   operation_id="people_training_courses_attest")
    def post(self, request: Request, pk: int) -> Response:
        sel.course_for_learner(request.user, pk)
        d = _body(s.PpAttestSerializer, request)
        cert = entrypoint(svc.attest)(actor=request.user, course_id=pk, course_version=d.get("version"))
        return Response(s.PpCertificateSerializer(cert).data, status=201)


class MyAssignments(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.training"
    serializer_class = s.PpAssignmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        qs = sel.my_assignments(self.request.user).select_related("staff").order_by("due_on", "pk")
        status = self.request.query_params.get("status")
        return qs.filter(status=status) if status in Assignment.Status.values else qs

    @extend_schema(operation_id="people_training_my_assignments")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MyCertificates(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.training"
    serializer_class = s.PpCertificateSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Certificate.objects.none()
        return sel.my_certificates(self.request.user).select_related("staff").order_by("-issued_at", "-pk")

    @extend_schema(operation_id="people_training_my_certificates")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class TeamStatus(APIView):
    permission_classes = [HasCapability]
    capability = "people.training_team"

    @extend_schema(responses={200: s.PpTeamSerializer, **ERRORS}, operation_id="people_training_team")
    def get(self, request: Request) -> Response:
        m = sel.team_matrix(request.user)
        rows = [{"staff_id": r.staff.pk, "staff_no": r.staff.staff_no, "name": r.staff.name,
                 "branch": r.staff.branch.name, "overdue": r.overdue,
                 "cells": [{"course": cid, "status": c["status"], "due_on": c["due_on"], "expires_on": c["expires_on"],
                            "required": c["required"]} for cid, c in r.cells.items()]} for r in m["rows"]]
        return Response(s.PpTeamSerializer({"courses": m["columns"], "rows": rows, "overdue": m["overdue"],
                                            "completion": m["completion"]}).data)


class TeamAssignments(generics.ListAPIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": "people.training_team", "POST": "people.assign_training"}
    serializer_class = s.PpAssignmentSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        qs = sel.team_assignments(self.request.user).select_related("course", "staff").order_by("due_on", "pk")
        status = self.request.query_params.get("status")
        return qs.filter(status=status) if status in Assignment.Status.values else qs

    @extend_schema(operation_id="people_training_team_assignments_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpAssignSerializer, responses={201: s.PpAssignmentSerializer, **ERRORS},
                   operation_id="people_training_team_assignments_create")
    def post(self, request: Request) -> Response:
        d = _body(s.PpAssignSerializer, request)
        a = entrypoint(svc.training_assign)(actor=request.user, **d)
        return Response(s.PpAssignmentSerializer(a).data, status=201)


class AssignmentWaive(APIView):
    permission_classes = [HasCapability]
    capability = "people.assign_training"

    @extend_schema(request=s.PpReasonSerializer, responses={200: s.PpAssignmentSerializer, **ERRORS},
                   operation_id="people_training_assignments_waive")
    def post(self, request: Request, pk: int) -> Response:
        a = entrypoint(svc.assignment_waive)(actor=request.user, assignment_id=pk,
                                             reason=_body(s.PpReasonSerializer, request)["reason"])
        return Response(s.PpAssignmentSerializer(a).data)


class CertificateRevoke(APIView):
    permission_classes = [HasCapability]
    capability = "people.assign_training"

    @extend_schema(request=s.PpReasonSerializer, responses={200: s.PpCertificateSerializer, **ERRORS},
                   operation_id="people_training_certificates_revoke")
    def post(self, request: Request, pk: int) -> Response:
        cert = entrypoint(svc.certificate_revoke)(actor=request.user, certificate_id=pk,
                                                  reason=_body(s.PpReasonSerializer, request)["reason"])
        return Response(s.PpCertificateSerializer(cert).data)


class Requirements(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.manage_training"
    serializer_class = s.PpRequirementSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Requirement.objects.none()
        return sel.requirements_admin(self.request.user).order_by("course__code", "pk")

    @extend_schema(operation_id="people_training_requirements_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpRequirementWriteSerializer, responses={201: s.PpRequirementSerializer, **ERRORS},
                   operation_id="people_training_requirements_create")
    def post(self, request: Request) -> Response:
        r = entrypoint(svc.requirement_save)(actor=request.user, **_body(s.PpRequirementWriteSerializer, request))
        return Response(s.PpRequirementSerializer(r).data, status=201)


class RequirementDetail(APIView):
    permission_classes = [HasCapability]
    capability = "people.manage_training"

    @extend_schema(request=s.PpRequirementWriteSerializer, responses={200: s.PpRequirementSerializer, **ERRORS},
                   operation_id="people_training_requirements_update")
    def put(self, request: Request, pk: int) -> Response:
        r = entrypoint(svc.requirement_save)(actor=request.user, requirement_id=pk,
                                             **_body(s.PpRequirementWriteSerializer, request))
        return Response(s.PpRequirementSerializer(r).data)


class GateRules(generics.ListAPIView):
    permission_classes = [HasCapability]
    capability = "people.manage_training"
    serializer_class = s.PpGateRuleSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return GateRule.objects.none()
        return sel.gate_rules_admin(self.request.user).order_by("gate", "pk")

    @extend_schema(operation_id="people_training_gate_rules_list")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.PpGateRuleWriteSerializer, responses={201: s.PpGateRuleSerializer, **ERRORS},
                   operation_id="people_training_gate_rules_create")
    def post(self, request: Request) -> Response:
        g = entrypoint(svc.gate_rule_save)(actor=request.user, **_body(s.PpGateRuleWriteSerializer, request))
        return Response(s.PpGateRuleSerializer(g).data, status=201)


class GateRuleDetail(APIView):
    permission_classes = [HasCapability]
    capability = "people.manage_training"

    @extend_schema(request=s.PpGateRuleWriteSerializer, responses={200: s.PpGateRuleSerializer, **ERRORS},
                   operation_id="people_training_gate_rules_update")
    def put(self, request: Request, pk: int) -> Response:
        g = entrypoint(svc.gate_rule_save)(actor=request.user, rule_id=pk, **_body(s.PpGateRuleWriteSerializer, request))
        return Response(s.PpGateRuleSerializer(g).data)



