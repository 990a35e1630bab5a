"""Staff forms for survey templates and campaigns."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Campaign, SurveyTemplate


class TemplateForm(forms.Form):
    code = forms.SlugField(label=_("模板代码"), max_length=40, help_text=_("小写字母、数字、下划线；同一代码的修改保存为新版本"))
    name = forms.CharField(label=_("名称"), max_length=80)
    intro = forms.CharField(label=_("开场说明"), max_length=300, required=False)
    questions = forms.CharField(
        label=_("题目（每行一题）"), widget=forms.Textarea(attrs={"rows": 8, "class": "mono"}),
        help_text=_("格式：类型: 题干。类型为 csat（满意度 1–5）、nps（推荐意愿 0–10）、rating（评分 1–5）、"
                    "choice（单选，选项用 | 分隔）、text（文字意见）；类型前加 * 表示必答。"
                    "例：*csat: 您对本次服务满意吗？"))
    note = forms.CharField(label=_("修改说明"), max_length=200, required=False)


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("活动名称"), max_length=80)
    trigger = forms.ChoiceField(label=_("触发方式"), choices=Campaign.Trigger.choices)
    frequency = forms.ChoiceField(label=_("周期（定期抽样）"), choices=[("", "—"), *Campaign.Frequency.choices],
                                  required=False)
    per_manager = forms.IntegerField(label=_("每位客户经理抽样数"), min_value=1, max_value=500, initial=10)
    template = forms.ModelChoiceField(label=_("调查模板"), queryset=SurveyTemplate.objects.filter(is_current=True))
    channel = forms.ChoiceField(label=_("发送渠道"), choices=Campaign.Channel.choices)
    min_interval_days = forms.IntegerField(label=_("同一客户最短间隔（天）"), min_value=0, max_value=3650, required=False,
                                           help_text=_("留空使用规则参数 surveys.min_interval（默认90天）"))
    valid_days = forms.IntegerField(label=_("链接有效期（天）"), min_value=1, max_value=90, required=False,
                                    help_text=_("留空使用规则参数 surveys.link_valid"))
    csat_low = forms.IntegerField(label=_("满意度低分线（≤）"), min_value=1, max_value=5, required=False,
                                  help_text=_("留空使用规则参数 surveys.csat_low（默认2分）"))
    nps_low = forms.IntegerField(label=_("推荐意愿低分线（≤）"), min_value=0, max_value=10, required=False,
                                 help_text=_("留空使用规则参数 surveys.nps_low（默认6分）"))
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def service_data(self) -> dict:
        d = dict(self.cleaned_data)
        d["template_id"] = d.pop("template").pk
        return d
