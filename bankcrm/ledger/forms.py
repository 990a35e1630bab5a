"""Forms of the ledger's pages. They only shape input; the rules (check digits, limits, balances) live in the services
and selectors, whose errors the views put back on these forms."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Account, Product

KINDS = [("cash_in", _("现金存入")), ("cash_out", _("现金支取")), ("internal", _("行内转账")), ("outward", _("跨行/跨境汇款"))]


class TellerForm(forms.Form):
    """Step 1 of a counter transaction. The account is given by its 19-digit number, or picked from a customer's
    accounts (then ``account_id`` carries it and only the masked number is shown)."""

    kind = forms.ChoiceField(label=_("业务种类"), choices=KINDS, initial="cash_in", widget=forms.RadioSelect)
    account = forms.CharField(label=_("客户账号"), max_length=40, required=False,
                              widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
                              help_text=_("19 位账号（含校验位），可直接刷卡或输入"))
    account_id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    amount = forms.CharField(label=_("金额"), max_length=24,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                             help_text=_("单位：元，最多两位小数，例如 50000 或 1,234.56"))
    to_account = forms.CharField(label=_("转入账号"), max_length=40, required=False,
                                 widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
                                 help_text=_("本行 19 位账号"))
    counterparty_bank = forms.CharField(label=_("收款银行"), max_length=100, required=False)
    counterparty_name = forms.CharField(label=_("收款人户名"), max_length=100, required=False)
    counterparty_account = forms.CharField(label=_("收款账号"), max_length=40, required=False,
                                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    cross_border = forms.BooleanField(label=_("跨境汇款"), required=False)
    counterparty_country = forms.CharField(label=_("收款国家/地区代码"), max_length=2, required=False,
                                           help_text=_("两位字母，如 HK、US、SG"))
    memo = forms.CharField(label=_("摘要"), max_length=100, required=False)

    def clean_account(self) -> str:
        return "".join(self.cleaned_data.get("account", "").split())

    def clean_to_account(self) -> str:
        return "".join(self.cleaned_data.get("to_account", "").split())

    def clean(self):
        cd = super().clean()
        kind = cd.get("kind")
        if not cd.get("account") and not cd.get("account_id"):
            self.add_error("account", _("请输入账号或从客户账户中选择"))
        if kind == "internal":
            to = cd.get("to_account", "")
            if not to:
                self.add_error("to_account", _("请输入转入账号"))
            elif not (len(to) == 19 and to.isdigit()):
                # The check digit itself is verified by the selector, which answers with a stable error code.
                self.add_error("to_account", _("转入账号应为 19 位数字"))
        if kind == "outward":
            for name in ("counterparty_bank", "counterparty_name", "counterparty_account"):
                if not cd.get(name, "").strip():
                    self.add_error(name, _("汇款须填写此项"))
            if cd.get("cross_border") and not cd.get("counterparty_country", "").strip():
                self.add_error("counterparty_country", _("跨境汇款须填写收款国家/地区"))
        return cd

    def body(self) -> dict:
        """What identifies the request for the idempotency check: only the fields this kind of transaction uses."""
        cd = self.cleaned_data
        keep = ["kind", "account", "account_id", "amount", "memo"]
        if cd["kind"] == "internal":
            keep.append("to_account")
        if cd["kind"] == "outward":
            keep += ["counterparty_bank", "counterparty_name", "counterparty_account", "cross_border", "counterparty_country"]
        out = {k: cd.get(k) for k in keep}
        out["amount"] = str(cd.get("amount", "")).replace(",", "").replace("，", "").strip()
        return out


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=200)


class CloseForm(forms.Form):
    payout = forms.ChoiceField(label=_("余额支付方式"), choices=[("cash", _("现金")), ("transfer", _("转入本人其他账户"))],
                               required=False)
    to_account = forms.ModelChoiceField(label=_("转入账户（选择转账时）"), queryset=Account.objects.none(), required=False)
    reason = forms.CharField(label=_("销户原因"), max_length=200)

    def __init__(self, *args, others=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_account"].queryset = others if others is not None else Account.objects.none()
        self.fields["to_account"].label_from_instance = lambda a: f"{a.masked_number} {a.product.name}"


class StatementForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))

    @staticmethod
    def default_period() -> dict:
        today = timezone.localdate()
        return {"start": today - timedelta(days=30), "end": today}


class OpenAccountForm(forms.Form):
    product = forms.ModelChoiceField(label=_("产品"), queryset=Product.objects.none())
    maturity_instruction = forms.ChoiceField(label=_("到期处理（定期）"), required=False,
                                             choices=[("", "—"), *Account.Maturity.choices])
    payout_account = forms.ModelChoiceField(label=_("到期转入账户（定期）"), queryset=Account.objects.none(), required=False,
                                            help_text=_("到期转出时须选择该客户同币种的活期账户"))

    def __init__(self, *args, products=None, payout_accounts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products if products is not None else Product.objects.none()
        self.fields["product"].label_from_instance = lambda p: f"{p.name}（{p.get_currency_display()}）"
        self.fields["payout_account"].queryset = payout_accounts if payout_accounts is not None else Account.objects.none()
        self.fields["payout_account"].label_from_instance = lambda a: f"{a.masked_number} {a.product.name}"


class LookupForm(forms.Form):
    q = forms.CharField(label=_("账号或交易流水号"), max_length=40,
                        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}))
