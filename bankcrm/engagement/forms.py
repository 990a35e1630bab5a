"""Forms of the engagement pages (shapes only; the rules live in the services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core.errors import ValidationFailed
from bankcrm.core.money import parse_amount

from . import rules
from .models import Interaction, NeedsProfile, Opportunity

DT = {"type": "datetime-local"}
DATE = {"type": "date"}


def _local_now() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class InteractionForm(forms.Form):
    """记录/计划一次联系: done (when it happened, default now) or planned (when it will happen)."""

    mode = forms.ChoiceField(label=_("类型"), choices=[("done", _("已发生，立即记录")), ("planned", _("计划联系"))],
                             initial="done", widget=forms.RadioSelect)
    kind = forms.ChoiceField(label=_("方式"), choices=Interaction.Kind.choices, initial=Interaction.Kind.CALL,
                             widget=forms.RadioSelect)
    at = forms.DateTimeField(label=_("时间"), required=False, widget=forms.DateTimeInput(attrs=DT),
                             help_text=_("已发生的联系留空为现在；计划联系须填写计划时间"))
    subject = forms.CharField(label=_("主题"), max_length=100,
                              error_messages={"required": _("请填写主题")},
                              widget=forms.TextInput(attrs={"placeholder": _("例如：到期资金安排电话沟通")}))
    notes = forms.CharField(label=_("记录"), required=False, max_length=4000,
                            widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("客户说了什么、关心什么")}))
    next_steps = forms.CharField(label=_("下一步"), required=False, max_length=200)
    participants = forms.CharField(label=_("参与人"), required=False, max_length=400,
                                   help_text=_("多人用逗号或顿号分隔"))
    follow_up_on = forms.DateField(label=_("跟进日期"), required=False, widget=forms.DateInput(attrs=DATE),
                                   help_text=_("填写后自动生成一条跟进任务"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.fields["at"].initial = _local_now()


class QuickInteractionForm(InteractionForm):
    """The compact form of the customer 360 panel: the same fields, smaller widgets."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].widget = forms.Select(choices=Interaction.Kind.choices)
        self.fields["mode"].widget = forms.Select(choices=[("done", _("已发生")), ("planned", _("计划联系"))])
        self.fields["notes"].widget.attrs["rows"] = 2


class CompleteForm(forms.Form):
    notes = forms.CharField(label=_("记录"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    next_steps = forms.CharField(label=_("下一步"), required=False, max_length=200)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200, error_messages={"required": _("请填写原因")})


class TaskForm(forms.Form):
    title = forms.CharField(label=_("事项"), max_length=120, error_messages={"required": _("请填写事项")})
    due_on = forms.DateField(label=_("到期日"), widget=forms.DateInput(attrs=DATE),
                             error_messages={"required": _("请填写到期日")})
    customer = forms.ChoiceField(label=_("客户"), required=False)

    def __init__(self, *args: Any, customers: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [("", _("（不关联客户）"))] + [(str(c.pk), f"{c.customer_no}") for c in customers]
        if not self.is_bound:
            self.fields["due_on"].initial = timezone.localdate().isoformat()


class PlanStartForm(forms.Form):
    template = forms.ChoiceField(label=_("行动计划模板"), error_messages={"required": _("请选择模板")})
    start_on = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs=DATE),
                               help_text=_("留空为今天；到期跟进请填写到期日"))

    def __init__(self, *args: Any, templates: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", _("请选择"))] + [(str(t.pk), t.name) for t in templates]


class TemplateForm(forms.Form):
    code = forms.CharField(label=_("代码"), max_length=20, required=False,
                           help_text=_("字母、数字和下划线；创建后不能修改"))
    name = forms.CharField(label=_("名称"), max_length=60)
    name_en = forms.CharField(label=_("英文名称"), max_length=80, required=False)
    steps = forms.CharField(label=_("步骤（JSON）"), widget=forms.Textarea(attrs={"rows": 10, "class": "mono"}),
                            help_text=_('例如 [{"title": "欢迎致电", "title_en": "Welcome call", "offset_days": 1}]；'
                                        "offset_days 为相对开始日期的天数，可为负数"))
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)


class ReferralForm(forms.Form):
    to_staff = forms.ChoiceField(label=_("接收人"), error_messages={"required": _("请选择接收人")})
    reason = forms.CharField(label=_("转介原因"), max_length=200, widget=forms.Textarea(attrs={"rows": 3}),
                             error_messages={"required": _("请填写转介原因")})

    def __init__(self, *args: Any, receivers: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_staff"].choices = [("", _("请选择"))] + [
            (str(s.pk), f"{s.name}（{s.staff_no}）· {s.branch.name} · {'、'.join(s.role_labels)}") for s in receivers]


class OutcomeForm(forms.Form):
    outcome = forms.CharField(label=_("结果"), max_length=200, error_messages={"required": _("请填写结果")})


def _amount(form: forms.Form, cd: dict[str, Any]) -> None:
    raw = (cd.get("amount") or "").strip()
    if not raw:
        cd["amount_fen"] = 0
        return
    try:
        cd["amount_fen"] = parse_amount(raw, "CNY")
    except ValidationFailed as exc:
        form.add_error("amount", str(exc.message))


class OpportunityForm(forms.Form):
    goal = forms.ChoiceField(label=_("需求类型"), choices=[("", _("请选择"))] + rules.GOALS,
                             error_messages={"required": _("请选择需求类型")})
    title = forms.CharField(label=_("商机名称"), max_length=120, required=False, help_text=_("留空为需求类型名称"))
    product = forms.ChoiceField(label=_("意向产品"), required=False)
    amount = forms.CharField(label=_("预计金额（元）"), max_length=24, required=False,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    expected_close = forms.DateField(label=_("预计成交日"), required=False, widget=forms.DateInput(attrs=DATE))

    def __init__(self, *args: Any, products: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", _("（暂不确定）"))] + [
            (str(p.pk), f"{p.code} {p.name}") for p in products]

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        _amount(self, cd)
        return cd


class OpportunityEditForm(OpportunityForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["goal"]
        self.fields["title"].required = True
        self.fields["title"].help_text = ""


class MoveForm(forms.Form):
    stage = forms.ChoiceField(label=_("阶段"), choices=Opportunity.Stage.choices)
    lost_reason = forms.CharField(label=_("未成交原因"), max_length=200, required=False)


class LinkSaleForm(forms.Form):
    sale = forms.ChoiceField(label=_("已成交的销售"), error_messages={"required": _("请选择销售记录")})

    def __init__(self, *args: Any, sales: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sale"].choices = [("", _("请选择"))] + [
            (str(s.pk), f"{s.number} · {s.product.name}") for s in sales]


class NeedsForm(forms.Form):
    goals = forms.MultipleChoiceField(label=_("理财目标"), choices=rules.GOALS, widget=forms.CheckboxSelectMultiple,
                                      error_messages={"required": _("请至少选择一个理财目标")})
    horizon = forms.ChoiceField(label=_("投资期限"), choices=NeedsProfile.Horizon.choices, widget=forms.RadioSelect)
    liquidity = forms.ChoiceField(label=_("流动性需求"), choices=NeedsProfile.Liquidity.choices,
                                  widget=forms.RadioSelect)
    constraints = forms.CharField(label=_("约束条件"), max_length=300, required=False,
                                  help_text=_("例如：不接受本金亏损；三年后需购房首付"))
    notes = forms.CharField(label=_("补充说明"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 3}))
