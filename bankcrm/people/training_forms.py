"""Forms of the training pages. They only shape input (the quiz typed as JSON, roles ticked as boxes); the rules and
their messages live in ``training_services``, whose ``ValidationFailed.fields`` the views put back on these fields."""

from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import EMPLOYMENT_LABELS, ROLE_LABELS

from .gates import GATE_POINTS
from .models import Course, CourseCategory, Requirement

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
ROLE_CHOICES = [(r.value, label) for r, label in ROLE_LABELS.items()]
TYPE_CHOICES = [(t.value, label) for t, label in EMPLOYMENT_LABELS.items()]
QUIZ_HELP = _('JSON 数组，每题一个对象：{"q": "题干", "q_en": "English", "options": ["A", "B", "C", "D"], '
              '"options_en": [...], "answer": 0}；answer 为正确选项的序号（0–3）。留空 [] 表示阅读确认类课程。')


class CourseForm(forms.Form):
    code = forms.CharField(label=_("课程代码"), max_length=40, help_text=_("字母、数字、连字符，如 aml-2026"))
    title = forms.CharField(label=_("课程名称"), max_length=120)
    title_en = forms.CharField(label=_("英文名称"), max_length=160, required=False)
    category = forms.ChoiceField(label=_("类别"), choices=CourseCategory.choices)
    summary = forms.CharField(label=_("简介"), max_length=300, required=False)
    body = forms.CharField(label=_("课程内容"), required=False, widget=forms.Textarea(attrs={"rows": 14}),
                           help_text=_("段落之间空一行；“## ”开头为小标题，“- ”开头为列表项"))
    video_url = forms.CharField(label=_("视频链接"), max_length=200, required=False)
    pass_mark = forms.IntegerField(label=_("及格分（百分制）"), min_value=1, max_value=100, initial=80)
    validity_months = forms.IntegerField(label=_("证书有效期（月）"), required=False, min_value=1, max_value=120,
                                         help_text=_("空表示长期有效"))
    duration_minutes = forms.IntegerField(label=_("建议学时（分钟）"), min_value=1, max_value=1000, initial=30)
    quiz = forms.CharField(label=_("测验题（JSON）"), required=False, help_text=QUIZ_HELP,
                           widget=forms.Textarea(attrs={"rows": 14, "class": "mono", "spellcheck": "false"}))

    @staticmethod
    def initial_for(c: Course) -> dict:
        return {k: getattr(c, k) for k in ("code", "title", "title_en", "category", "summary", "body", "video_url",
                                           "pass_mark", "validity_months", "duration_minutes")} | {
            "quiz": json.dumps(c.quiz, ensure_ascii=False, indent=1)}


class PublishForm(forms.Form):
    reason = forms.CharField(label=_("修订说明"), max_length=300, required=False)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("附件"), help_text=_("PDF、Word、PowerPoint、Excel、图片、文本或 MP4，最大 20 MB"))


class RequirementForm(forms.Form):
    course = forms.ModelChoiceField(label=_("课程"), queryset=Course.objects.exclude(status=Course.Status.RETIRED),
                                    empty_label=_("请选择课程"))
    roles = forms.MultipleChoiceField(label=_("适用角色"), choices=ROLE_CHOICES, required=False,
                                      widget=forms.CheckboxSelectMultiple, help_text=_("不选表示所有角色"))
    employment_types = forms.MultipleChoiceField(label=_("适用用工类型"), choices=TYPE_CHOICES, required=False,
                                                 widget=forms.CheckboxSelectMultiple, help_text=_("不选表示所有用工类型"))
    trigger = forms.ChoiceField(label=_("触发"), choices=Requirement.Trigger.choices)
    period_months = forms.IntegerField(label=_("周期（月）"), required=False, help_text=_("定期培训必填"))
    due_days = forms.IntegerField(label=_("完成期限（天）"), initial=30)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)


class GateRuleForm(forms.Form):
    gate = forms.ChoiceField(label=_("受控操作"), choices=list(GATE_POINTS.items()))
    course = forms.ModelChoiceField(label=_("所需课程证书"), queryset=Course.objects.filter(status=Course.Status.PUBLISHED),
                                    empty_label=_("请选择课程"))
    min_product_level = forms.TypedChoiceField(
        label=_("适用的最低产品风险等级"), required=False, coerce=int, empty_value=None,
        choices=[("", _("全部等级")), *[(str(i), f"R{i}") for i in range(1, 6)]],
        help_text=_("仅“销售高风险产品”：如 R4 表示销售 R4、R5 产品须持证"))
    action_prefix = forms.CharField(label=_("适用的复核事项（代码前缀）"), max_length=60, required=False,
                                    help_text=_("仅“复核”：如 ledger. 表示账务类大额交易复核；留空表示全部复核事项"))
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)


class AssignForm(forms.Form):
    course = forms.ModelChoiceField(label=_("课程"), queryset=Course.objects.filter(status=Course.Status.PUBLISHED),
                                    empty_label=_("请选择课程"))
    due_on = forms.DateField(label=_("完成期限"), widget=DATE)
    note = forms.CharField(label=_("说明"), max_length=300, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=300)


class ExternalCertificateForm(forms.Form):
    course = forms.ModelChoiceField(label=_("课程"), queryset=Course.objects.filter(status=Course.Status.PUBLISHED),
                                    empty_label=_("请选择课程"))
    issued_on = forms.DateField(label=_("发证日期"), widget=DATE)
    expires_on = forms.DateField(label=_("有效期至"), widget=DATE, required=False, help_text=_("空则按课程有效期计算"))
    reference = forms.CharField(label=_("外部证书编号 / 发证机构"), max_length=200)
