"""Training API serializers (prefix ``Pp`` keeps their names unique in the OpenAPI schema). A course shown to a
learner carries its questions without the answers; answers are scored on the server."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from bankcrm.core.access import EmploymentType, Role

from ..gates import GATE_POINTS
from ..models import Assignment, Certificate, Course, CourseCategory, GateRule, QuizAttempt, Requirement


class PpQuestionSerializer(serializers.Serializer):
    q = serializers.CharField()
    q_en = serializers.CharField(required=False)
    options = serializers.ListField(child=serializers.CharField())
    options_en = serializers.ListField(child=serializers.CharField(), required=False)


class PpCourseSerializer(serializers.ModelSerializer):
    questions = serializers.SerializerMethodField()

    class Meta:
        model = Course
        fields = ["id", "code", "title", "title_en", "category", "summary", "version", "status", "pass_mark",
                  "validity_months", "duration_minutes", "video_url", "published_at", "questions"]

    def get_questions(self, obj: Course) -> int:
        return len(obj.quiz)


class PpCourseDetailSerializer(PpCourseSerializer):
    quiz = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta(PpCourseSerializer.Meta):
        fields = [*PpCourseSerializer.Meta.fields, "body", "quiz", "attachments"]

    def get_quiz(self, obj: Course) -> list[dict[str, Any]]:
        """The questions without their answers (administrators get the answers through ``?with_answers=1``)."""
        keep = ("q", "q_en", "options", "options_en") + (("answer",) if self.context.get("with_answers") else ())
        return [{k: q[k] for k in keep if k in q} for q in obj.quiz]

    def get_attachments(self, obj: Course) -> list[dict[str, Any]]:
        return [{"id": a.pk, "name": a.name, "size": a.size} for a in obj.attachments.all()]


class PpCourseWriteSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40)
    title = serializers.CharField(max_length=120)
    title_en = serializers.CharField(max_length=160, required=False, allow_blank=True)
    category = serializers.ChoiceField(choices=CourseCategory.choices)
    summary = serializers.CharField(max_length=300, required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True)
    video_url = serializers.CharField(max_length=200, required=False, allow_blank=True)
    quiz = serializers.JSONField(required=False, help_text='[{"q", "q_en", "options": [4], "options_en": [4], "answer": 0-3}]')
    pass_mark = serializers.IntegerField(min_value=1, max_value=100, required=False)
    validity_months = serializers.IntegerField(min_value=1, max_value=120, required=False, allow_null=True)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=1000, required=False)


class PpPublishSerializer(serializers.Serializer):
    new_version = serializers.BooleanField(default=False, help_text="已发布课程发布为新版本：全员重新学习")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PpReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class PpAnswersSerializer(serializers.Serializer):
    answers = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=3), allow_empty=False,
                                    help_text="每题所选选项的序号（0–3），按题目顺序")
    version = serializers.IntegerField(min_value=1, required=False, help_text="作答时看到的课程版本")


class PpAttestSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, required=False)


class PpCertificateSerializer(serializers.ModelSerializer):
    course_code = serializers.CharField(source="course.code", read_only=True)
    course_title = serializers.CharField(source="course.title", read_only=True)
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)
    revoked = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = ["id", "number", "staff_no", "course", "course_code", "course_title", "course_version", "method",
                  "score", "issued_at", "expires_on", "revoked", "revoked_at", "revoke_reason"]

    def get_revoked(self, obj: Certificate) -> bool:
        return obj.revoked_at is not None


class PpQuizResultSerializer(serializers.ModelSerializer):
    wrong = serializers.SerializerMethodField(help_text="答错的题目序号（从 0 起）")
    pass_mark = serializers.IntegerField(source="course.pass_mark", read_only=True)
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = QuizAttempt
        fields = ["id", "course", "course_version", "score", "pass_mark", "passed", "wrong", "submitted_at",
                  "certificate"]

    def get_wrong(self, obj: QuizAttempt) -> list[int]:
        return list(getattr(obj, "wrong", []))

    def get_certificate(self, obj: QuizAttempt) -> dict[str, Any] | None:
        cert = getattr(obj, "certificate", None)
        return PpCertificateSerializer(cert).data if cert else None


class PpAssignmentSerializer(serializers.ModelSerializer):
    course_code = serializers.CharField(source="course.code", read_only=True)
    course_title = serializers.CharField(source="course.title", read_only=True)
    staff_no = serializers.CharField(source="staff.staff_no", read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "staff_no", "course", "course_code", "course_title", "course_version", "reason", "status",
                  "assigned_at", "due_on", "completed_at", "certificate"]


class PpAssignSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField(min_value=1)
    course_id = serializers.IntegerField(min_value=1)
    due_on = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PpRequirementSerializer(serializers.ModelSerializer):
    course_code = serializers.CharField(source="course.code", read_only=True)

    class Meta:
        model = Requirement
        fields = ["id", "course", "course_code", "roles", "employment_types", "trigger", "period_months", "due_days",
                  "active"]


class PpRequirementWriteSerializer(serializers.Serializer):
    course_id = serializers.IntegerField(min_value=1)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=[r.value for r in Role]), required=False,
                                  default=list, help_text="空表示所有角色")
    employment_types = serializers.ListField(child=serializers.ChoiceField(choices=[t.value for t in EmploymentType]),
                                             required=False, default=list, help_text="空表示所有用工类型")
    trigger = serializers.ChoiceField(choices=Requirement.Trigger.choices)
    period_months = serializers.IntegerField(required=False, allow_null=True, default=None)
    due_days = serializers.IntegerField(default=30)
    active = serializers.BooleanField(default=True)


class PpGateRuleSerializer(serializers.ModelSerializer):
    course_code = serializers.CharField(source="course.code", read_only=True)
    gate_label = serializers.SerializerMethodField()

    class Meta:
        model = GateRule
        fields = ["id", "gate", "gate_label", "course", "course_code", "min_product_level", "action_prefix", "active",
                  "updated_at"]

    def get_gate_label(self, obj: GateRule) -> str:
        return str(GATE_POINTS.get(obj.gate, obj.gate))


class PpGateRuleWriteSerializer(serializers.Serializer):
    gate = serializers.ChoiceField(choices=[(k, str(v)) for k, v in GATE_POINTS.items()])
    course_id = serializers.IntegerField(min_value=1)
    min_product_level = serializers.IntegerField(required=False, allow_null=True, default=None)
    action_prefix = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    active = serializers.BooleanField(default=True)


class PpTeamCellSerializer(serializers.Serializer):
    course = serializers.IntegerField()
    status = serializers.CharField()
    due_on = serializers.DateField(allow_null=True)
    expires_on = serializers.DateField(allow_null=True)
    required = serializers.BooleanField()


class PpTeamRowSerializer(serializers.Serializer):
    staff_id = serializers.IntegerField()
    staff_no = serializers.CharField()
    name = serializers.CharField()
    branch = serializers.CharField()
    overdue = serializers.IntegerField()
    cells = PpTeamCellSerializer(many=True)


class PpTeamSerializer(serializers.Serializer):
    courses = PpCourseSerializer(many=True)
    rows = PpTeamRowSerializer(many=True)
    overdue = serializers.IntegerField()
    completion = serializers.IntegerField(help_text="有效证书占应持证书的百分比")
