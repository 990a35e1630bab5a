"""Forms of the selling pages (shapes only: the point-of-sale rules live in rules.py and the services, whose errors the
views put back on these forms)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core.errors import ValidationFailed
from bankcrm.core.money import parse_amount

from .models import Sale
from .services import DISCLOSURE_METHODS

YES_NO = [("yes", _("是")), ("no", _("否"))]
METHOD_LABELS = {"counter_signature": _("柜面签字确认"), "e_signature": _("电子签名确认")}


def yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


class SaleForm(forms.Form):
    """推介/购买: the product (on sale), the customer's demand account, the amount in yuan, customer-initiated."""

    product = forms.ChoiceField(label=_("产品"), widget=forms.RadioSelect,
                                error_messages={"required": _("请选择产品"), "invalid_choice": _("请选择在售产品")})
    account = forms.ChoiceField(label=_("扣款账户"),
                                error_messages={"required": _("请选择扣款账户"),
                                                "invalid_choice": _("请选择该客户本人的活期账户")})
    amount = forms.CharField(label=_("购买金额（元）"), max_length=24,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                             error_messages={"required": _("请填写购买金额")},
                             help_text=_("单位：元，最多两位小数，例如 50000 或 1,234.56"))
    customer_initiated = forms.BooleanField(label=_("客户主动购买"), required=False,
                                            help_text=_("客户本人主动要求购买时勾选；未勾选视为客户经理主动推介，须客户已同意营销联系"))

    def __init__(self, *args: Any, products: list[Any] = (), accounts: list[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.products = {str(p.pk): p for p in products}
        self.accounts = {str(a.pk): a for a in accounts}
        self.fields["product"].choices = [(k, str(p)) for k, p in self.products.items()]
        self.fields["account"].choices = [("", _("请选择"))] + [(k, a.masked_number) for k, a in self.accounts.items()]
        if len(self.accounts) == 1:
            self.fields["account"].initial = next(iter(self.accounts))

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        p = self.products.get(cd.get("product") or "")
        acc = self.accounts.get(cd.get("account") or "")
        if p is not None and acc is not None and acc.currency != p.currency:
            self.add_error("account", _("扣款账户币种（%(a)s）与产品币种（%(p)s）不一致") % {"a": acc.currency, "p": p.currency})
        if cd.get("amount"):
            try:
                cd["amount_fen"] = parse_amount(cd["amount"], p.currency if p else "CNY")
            except ValidationFailed as exc:
                self.add_error("amount", str(exc.message))
        return cd


class ConfirmForm(forms.Form):
    """The customer's confirmation: risk disclosure read and confirmed, how, and the 双录 reference where required."""

    disclosure_confirmed = forms.BooleanField(label=_("客户已阅读并确认风险揭示书"),
                                              error_messages={"required": _("客户须阅读并确认风险揭示书")})
    disclosure_method = forms.ChoiceField(label=_("确认方式"), choices=[(k, METHOD_LABELS.get(k, v)) for k, v in DISCLOSURE_METHODS.items()],
                                          initial="counter_signature")
    recording_id = forms.CharField(label=_("双录编号（录音录像编号）"), max_length=40, required=False)
    recording_booth = forms.CharField(label=_("双录区"), max_length=40, required=False)
    recorded_at = forms.DateTimeField(label=_("录制时间"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
                                      input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
                                      error_messages={"invalid": _("录制时间格式不正确")})

    RECORDING_FIELDS = ("recording_id", "recording_booth", "recorded_at")

    def __init__(self, *args: Any, recording_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recording_required = recording_required
        for name in self.RECORDING_FIELDS:
            self.fields[name].widget.attrs["data-recording"] = "1"

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        when = cd.get("recorded_at")
        if when and when > timezone.now():
            self.add_error("recorded_at", _("录制时间不能晚于现在"))
        if self.recording_required:
            msg = _("本笔销售须双录，请填写")
            missing = [name for name in self.RECORDING_FIELDS if not cd.get(name) and name not in self.errors]
            for name in missing:
                self.add_error(name, msg)
            if missing:
                self.add_error(None, _("老年客户购买本产品须加强风险揭示并双录：请先在双录区完成录音录像，再填写双录编号、双录区和录制时间"
                                       "（错误代码：suitability_recording_required）"))
        return cd


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200, error_messages={"required": _("请填写原因")})


class RedeemForm(forms.Form):
    units = forms.CharField(label=_("赎回份额"), max_length=24,
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                            error_messages={"required": _("请填写赎回份额")}, help_text=_("最多两位小数"))

    def __init__(self, *args: Any, held_x100: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held_x100 = held_x100

    def clean_units(self) -> int:
        text = str(self.cleaned_data["units"]).replace(",", "").replace("，", "").strip()
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(_("份额格式不正确")) from None
        if not value.is_finite() or value <= 0:
            raise forms.ValidationError(_("赎回份额必须大于零"))
        scaled = value * 100
        if scaled != scaled.to_integral_value():
            raise forms.ValidationError(_("份额最多保留两位小数"))
        return int(scaled)


class ReturnVisitForm(forms.Form):
    reached = forms.ChoiceField(label=_("是否联系到客户本人"), choices=YES_NO, widget=forms.RadioSelect,
                                error_messages={"required": _("请选择是否联系到客户")})
    understood_product = forms.ChoiceField(label=_("客户了解所购产品（期限、收益特征、费用）"), choices=YES_NO,
                                           widget=forms.RadioSelect, required=False)
    understood_risk = forms.ChoiceField(label=_("客户知晓产品风险（可能亏损本金）并与其风险承受能力相符"), choices=YES_NO,
                                        widget=forms.RadioSelect, required=False)
    voluntary = forms.ChoiceField(label=_("客户系自愿购买，未受误导或强迫"), choices=YES_NO, widget=forms.RadioSelect,
                                  required=False)
    received_documents = forms.ChoiceField(label=_("客户已收到产品说明书、风险揭示书等文件"), choices=YES_NO,
                                           widget=forms.RadioSelect, required=False)
    notes = forms.CharField(label=_("回访记录"), required=False, max_length=2000,
                            widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("客户回答“否”时须记录客户原话；未联系到时可记录联系情况"))

    ANSWERS = ("understood_product", "understood_risk", "voluntary", "received_documents")


class SaleFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=[("", _("全部状态")), ("open", _("未完成")), *Sale.Status.choices])
    product = forms.ChoiceField(label=_("产品"), required=False)
    seller = forms.ChoiceField(label=_("销售人员"), required=False)
    start = forms.DateField(label=_("推介日期自"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, products: list[tuple[int, str]] = (), sellers: list[tuple[int, str]] = (),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", _("全部产品")), *[(str(k), v) for k, v in products]]
        self.fields["seller"].choices = [("", _("全部销售人员")), *[(str(k), v) for k, v in sellers]]
        for name, f in self.fields.items():
            f.widget.attrs["class"] = "form-select-sm" if name in ("status", "product", "seller") else "form-control-sm"
