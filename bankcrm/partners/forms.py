from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from . import partner_rules as rules
from .models import Partner, WebhookDelivery

EVENT_CHOICES = list(rules.EVENTS.items())
SCOPE_CHOICES = [(code, format_lazy("{}（{}）", label, code)) for code, label in rules.SCOPES.items()]


class PartnerForm(forms.Form):
    code = forms.CharField(label=_("机构代码"), max_length=20, help_text=_("大写字母、数字或连字符，登记后不能修改，如 KNLIFE"))
    name = forms.CharField(label=_("机构名称"), max_length=100)
    kind = forms.ChoiceField(label=_("机构类型"), choices=Partner.Kind.choices)
    contact = forms.CharField(label=_("业务联系部门"), max_length=100, required=False,
                              help_text=_("对方负责对接的部门或岗位，不填个人手机号"))
    allowed_events = forms.MultipleChoiceField(
        label=_("可接收事件"), choices=EVENT_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("保险公司、基金公司：代销产品成交；支付清算机构：跨行汇出清算；监管机构：监管转办投诉办结"))
    allowed_scopes = forms.MultipleChoiceField(
        label=_("可授权接口范围"), choices=SCOPE_CHOICES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("净值报送仅限基金公司；产品查询限保险公司与基金公司"))
    ip_allowlist = forms.CharField(label=_("来源 IP 白名单"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 2, "placeholder": "203.0.113.0/24"}),
                                   help_text=_("每行一个 IP 地址或网段；留空表示不限制（经银行网关接入时）"))
    note = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["code"]
            del self.fields["kind"]


class StatusForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class KeyIssueForm(forms.Form):
    label = forms.CharField(label=_("用途"), max_length=60, help_text=_("如：生产系统对接、净值报送"))
    scopes = forms.MultipleChoiceField(label=_("接口范围"), choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple)
    days = forms.IntegerField(label=_("有效期（天）"), min_value=1, max_value=730)

    def __init__(self, *args: Any, partner: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [c for c in SCOPE_CHOICES if c[0] in partner.allowed_scopes]


class KeyRotateForm(forms.Form):
    grace_hours = forms.IntegerField(label=_("旧密钥宽限期（小时）"), min_value=0, max_value=720)


class KeyRevokeForm(forms.Form):
    reason = forms.CharField(label=_("吊销原因"), max_length=200)


class EndpointForm(forms.Form):
    url = forms.CharField(label=_("推送地址"), max_length=500, help_text=_("须为 HTTPS 地址，如 https://api.example.com/bankcrm/webhooks"))
    description = forms.CharField(label=_("说明"), max_length=100, required=False)
    events = forms.MultipleChoiceField(label=_("订阅事件"), choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, partner: Partner, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = [c for c in EVENT_CHOICES if c[0] in partner.allowed_events]


class ProductsForm(forms.Form):
    products = forms.MultipleChoiceField(label=_("关联产品"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["products"].choices = choices


class DeliveryFilterForm(forms.Form):
    partner = forms.TypedChoiceField(label=_("合作机构"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=[("", _("全部状态")), *WebhookDelivery.Status.choices])
    type = forms.ChoiceField(label=_("事件"), required=False,
                             choices=[("", _("全部事件")), *rules.EVENT_LABELS.items()])

    def __init__(self, *args: Any, partners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", _("全部机构")), *partners]


class CallFilterForm(forms.Form):
    partner = forms.TypedChoiceField(label=_("合作机构"), required=False, coerce=int, empty_value=None)
    result = forms.ChoiceField(label=_("结果"), required=False,
                               choices=[("", _("全部结果")), ("ok", _("成功")), ("denied", _("拒绝或出错"))])
    key_id = forms.CharField(label=_("密钥编号"), required=False, max_length=20)
    since = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, partners: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", _("全部机构")), *partners]
