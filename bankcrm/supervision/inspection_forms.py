"""Forms of the inspection and access-review pages (shapes only: the rules live in the services, whose errors the
views put back on these forms)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .models import InspectionPlan

ANSWER_CHOICES = [("yes", _("符合")), ("no", _("不符合")), ("na", _("不适用"))]


def _branch_choices(branches: Any) -> list[tuple[str, str]]:
    return [("", _("请选择"))] + [(str(b.pk), f"{'　' * max(b.depth - 1, 0)}{b.code} {b.label}") for b in branches]


def _template_choices(templates: Any) -> list[tuple[str, str]]:
    return [(str(t.pk), str(t)) for t in templates]


class _Sizes(forms.Form):
    sample_customers = forms.IntegerField(label=_("每人抽查客户数"), min_value=0, initial=2,
                                          help_text=_("每位客户经理主管的客户中抽查"))
    sample_transactions = forms.IntegerField(label=_("每人抽查交易数"), min_value=0, initial=3,
                                             help_text=_("每位经办人员的交易中抽查"))
    sample_complaints = forms.IntegerField(label=_("每人抽查投诉数"), min_value=0, initial=2,
                                           help_text=_("每位投诉经办人处理的投诉中抽查"))
    risk_weighted = forms.BooleanField(label=_("按风险加权抽样"), required=False, initial=True,
                                       help_text=_("高风险客户、大额交易、超期投诉被抽中的概率更高"))


class PlanForm(_Sizes):
    name = forms.CharField(label=_("计划名称"), max_length=120)
    branch = forms.ChoiceField(label=_("被检查机构"))
    frequency = forms.ChoiceField(label=_("频率"), choices=InspectionPlan.Frequency.choices)
    template = forms.ChoiceField(label=_("检查清单"))
    next_on = forms.DateField(label=_("下次检查日"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                              help_text=_("留空则为下个月（季度）的第一天；检查覆盖此前一个完整的月（季度）"))
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    field_order = ["name", "branch", "frequency", "template", "sample_customers", "sample_transactions",
                   "sample_complaints", "risk_weighted", "next_on", "active"]

    def __init__(self, *args: Any, branches: Any = (), templates: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = _branch_choices(branches)
        self.fields["template"].choices = _template_choices(templates)


class InspectionForm(_Sizes):
    branch = forms.ChoiceField(label=_("被检查机构"))
    template = forms.ChoiceField(label=_("检查清单"))
    period_start = forms.DateField(label=_("检查期间自"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("检查期间至"), widget=forms.DateInput(attrs={"type": "date"}))
    seed = forms.IntegerField(label=_("抽样种子"), required=False, min_value=0,
                              help_text=_("留空由系统随机生成；填写以前检查的种子可复现同样的抽样"))

    field_order = ["branch", "template", "period_start", "period_end", "sample_customers", "sample_transactions",
                   "sample_complaints", "risk_weighted", "seed"]

    def __init__(self, *args: Any, branches: Any = (), templates: Any = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = _branch_choices(branches)
        self.fields["template"].choices = _template_choices(templates)
        today = timezone.localdate()
        self.fields["period_end"].initial = today
        self.fields["period_start"].initial = today.replace(day=1)


class ItemForm(forms.Form):
    """One sampled record's checklist: a yes / no / n.a. choice per check, and the evidence."""

    evidence = forms.CharField(label=_("检查证据"), required=False, max_length=2000,
                               widget=forms.Textarea(attrs={"rows": 2}),
                               help_text=_("不符合时必填：查阅的凭证、系统记录、访谈情况等"))

    def __init__(self, *args: Any, checks: list[dict] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        english = (get_language() or "").startswith("en")
        self.checks = list(checks)
        for c in self.checks:
            self.fields[f"check_{c['code']}"] = forms.ChoiceField(
                label=f"{c['code']} {c.get('text_en') if english and c.get('text_en') else c['text']}",
                choices=ANSWER_CHOICES, widget=forms.RadioSelect,
                error_messages={"required": _("请选择")})

    def answers(self) -> dict[str, str]:
        return {c["code"]: self.cleaned_data[f"check_{c['code']}"] for c in self.checks}

    def check_fields(self) -> list[Any]:
        return [self[f"check_{c['code']}"] for c in self.checks]


class CompleteForm(forms.Form):
    conclusion = forms.CharField(label=_("检查结论"), required=False, max_length=4000,
                                 widget=forms.Textarea(attrs={"rows": 3}))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("取消原因"), max_length=4000, widget=forms.Textarea(attrs={"rows": 2}))


class DecideForm(forms.Form):
    decision = forms.ChoiceField(label=_("复核结论"), choices=[("confirmed", _("确认保留")), ("revoked", _("撤销"))],
                                 error_messages={"required": _("请选择确认或撤销")})
    reason = forms.CharField(label=_("理由"), required=False, max_length=300)
