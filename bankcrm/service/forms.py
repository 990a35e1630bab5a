"""Forms of the service pages (validation of shapes only; the rules live in the services)."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Channel, Complaint, ProductLine, ServiceRequest

CHANNELS = [c for c in Channel.choices if c[0] != Channel.SURVEY]


class ComplaintForm(forms.Form):
    channel = forms.ChoiceField(label=_("渠道"), choices=CHANNELS)
    product_line = forms.ChoiceField(label=_("业务类别"), choices=ProductLine.choices, initial=ProductLine.OTHER)
    summary = forms.CharField(label=_("投诉事由"), max_length=200)
    description = forms.CharField(label=_("投诉内容"), widget=forms.Textarea(attrs={"rows": 4}), required=False,
                                  max_length=4000)
    request = forms.CharField(label=_("客户诉求"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                              max_length=2000)
    staff_named = forms.ChoiceField(label=_("被投诉员工"), required=False,
                                    help_text=_("投诉涉及的员工须回避：不能被分派、办理或审批本投诉"))
    received_at = forms.DateTimeField(label=_("收到时间"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                      help_text=_("留空为现在；信函、监管转办按实际收到时间填写，时限从此起算"))

    def __init__(self, *args, staff_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["staff_named"].choices = [("", _("（未涉及具体员工）")), *staff_choices]


class RequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("类型"), choices=ServiceRequest.Kind.choices)
    channel = forms.ChoiceField(label=_("渠道"), choices=CHANNELS)
    priority = forms.ChoiceField(label=_("优先级"), choices=ServiceRequest.Priority.choices,
                                 initial=ServiceRequest.Priority.NORMAL,
                                 help_text=_("响应和解决时限按优先级取规则参数"))
    subject = forms.CharField(label=_("事由"), max_length=120)
    description = forms.CharField(label=_("详细内容"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  max_length=4000)
    appointment_at = forms.DateTimeField(label=_("预约时间"), required=False,
                                         widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class DecisionForm(forms.Form):
    findings = forms.CharField(label=_("调查情况"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4000)
    decision = forms.ChoiceField(label=_("处理决定"), choices=Complaint.Decision.choices, widget=forms.RadioSelect)
    remedy = forms.CharField(label=_("补救措施"), widget=forms.Textarea(attrs={"rows": 2}), required=False,
                             max_length=2000)
    root_cause = forms.IntegerField(label=_("根本原因"))


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))

    @staticmethod
    def default() -> tuple:
        today = timezone.localdate()
        q_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return q_start, today
