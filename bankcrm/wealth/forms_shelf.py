"""Forms of the shelf pages (product, NAV, income distribution, qualified investor). They only shape input —
amounts typed in yuan become fen, rates typed in % become basis points, a NAV typed like 1.0234 becomes
``nav_x10000`` — and the rules live in the services, whose ``ValidationFailed.fields`` the views put back here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import money
from bankcrm.core.errors import ValidationFailed

from .models import NAV_ONE, QualifiedInvestor, WealthProduct

LEVEL_CHOICES = [("1", _("R1（低风险）")), ("2", _("R2（中低风险）")), ("3", _("R3（中风险）")),
                 ("4", _("R4（中高风险）")), ("5", _("R5（高风险）")), ("0", _("不评级（仅定期存款）"))]
CURRENCY_CHOICES = [("CNY", _("人民币 CNY")), ("USD", _("美元 USD"))]
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# Service field → form field, so a service's field error lands on the input the user typed.
PRODUCT_FIELD_MAP = {"min_amount_fen": "min_amount", "step_fen": "step", "subscribe_fee_bp": "subscribe_fee",
                     "redeem_fee_bp": "redeem_fee", "management_fee_bp": "management_fee", "benchmark_bp": "benchmark",
                     "ledger_product_id": "ledger_product"}


def _decimal(text: Any, *, places: int, label: str, allow_zero: bool = True) -> Decimal:
    raw = str(text or "").replace(",", "").replace("，", "").replace("%", "").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise forms.ValidationError(_("%(l)s格式不正确，请输入数字") % {"l": label}, code="invalid") from None
    if not value.is_finite() or value < 0 or (value == 0 and not allow_zero):
        raise forms.ValidationError(_("%(l)s必须大于零") % {"l": label} if not allow_zero
                                    else _("%(l)s不能为负数") % {"l": label}, code="invalid")
    if value != value.quantize(Decimal(1).scaleb(-places)):
        raise forms.ValidationError(_("%(l)s最多保留 %(n)d 位小数") % {"l": label, "n": places}, code="precision")
    return value


def yuan_to_fen(text: Any, label: str) -> int:
    try:
        return money.parse_amount(str(text or ""), "CNY")
    except ValidationFailed as exc:
        raise forms.ValidationError(_("%(l)s：%(m)s") % {"l": label, "m": exc.message}, code=exc.code) from None


def percent_to_bp(text: Any, label: str) -> int:
    """'0.50' (%) → 50 basis points; at most two decimals (one basis point); blank is 0."""
    if not str(text or "").strip():
        return 0
    return int(_decimal(text, places=2, label=label) * 100)


def nav_to_x10000(text: Any, label: str) -> int:
    """'1.0234' → 10234; at most four decimals."""
    return int(_decimal(text, places=4, label=label, allow_zero=False) * NAV_ONE)


def fen_text(fen: int | None) -> str:
    return "" if fen is None else f"{Decimal(fen) / 100:.2f}"


def bp_text(bp: int | None) -> str:
    return "" if bp is None else f"{Decimal(bp) / 100:.2f}"


def nav_text(nav_x10000: int | None) -> str:
    return "" if nav_x10000 is None else f"{Decimal(nav_x10000) / NAV_ONE:.4f}"


class ProductFilterForm(forms.Form):
    q = forms.CharField(label=_("代码、名称或发行机构"), required=False, max_length=40)
    kind = forms.ChoiceField(label=_("产品类型"), required=False, choices=[("", _("全部类型")), *WealthProduct.Kind.choices])
    level = forms.ChoiceField(label=_("风险等级"), required=False, choices=[("", _("全部等级")), *LEVEL_CHOICES])
    status = forms.ChoiceField(label=_("状态"), required=False,
                               choices=[("", _("全部状态")), *WealthProduct.Status.choices])
    private = forms.ChoiceField(label=_("私募"), required=False,
                                choices=[("", _("公募与私募")), ("0", _("仅公募")), ("1", _("仅私募"))])


class ProductForm(forms.Form):
    """Every field of a product. Amounts in yuan, rates in percent; the view converts with ``service_fields``."""

    code = forms.CharField(label=_("产品代码"), max_length=20,
                           help_text=_("本行登记的唯一代码，如理财登记编码或基金代码，最多 20 位"))
    name = forms.CharField(label=_("产品名称"), max_length=80)
    name_en = forms.CharField(label=_("英文名称"), max_length=120, required=False)
    kind = forms.ChoiceField(label=_("产品类型"), choices=WealthProduct.Kind.choices)
    issuer = forms.CharField(label=_("发行机构"), max_length=80, help_text=_("理财子公司、基金公司或保险公司全称"))
    risk_level = forms.ChoiceField(label=_("风险等级"), choices=LEVEL_CHOICES,
                                   help_text=_("以发行机构评级与本行评级孰高为准；定期存款不评级"))
    currency = forms.ChoiceField(label=_("币种"), choices=CURRENCY_CHOICES, initial="CNY")
    min_amount = forms.CharField(label=_("起购金额（元）"), max_length=20,
                                 widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                                 help_text=_("单位：元，例如 10000 或 1,000,000.00"))
    step = forms.CharField(label=_("递增金额（元）"), max_length=20, initial="1000.00",
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
                           help_text=_("超过起购金额的部分须为此金额的整数倍"))
    term_days = forms.IntegerField(label=_("期限（天）"), min_value=0, initial=0,
                                   help_text=_("0 表示无固定期限（开放式）"))
    open_ended = forms.BooleanField(label=_("开放式产品（可随时申购、赎回）"), required=False, initial=True)
    subscribe_fee = forms.CharField(required=False, label=_("认/申购费率（%）"), max_length=8, initial="0.00",
                                    widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                    help_text=_("按百分比填写：0.50 表示 0.50%（50 个基点），不超过 5%"))
    redeem_fee = forms.CharField(required=False, label=_("赎回费率（%）"), max_length=8, initial="0.00",
                                 widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                 help_text=_("按百分比填写，不超过 5%"))
    management_fee = forms.CharField(required=False, label=_("管理费率（年化，%）"), max_length=8, initial="0.00",
                                     widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    benchmark = forms.CharField(required=False, label=_("业绩比较基准（年化，%）"), max_length=8, initial="0.00",
                                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                help_text=_("不代表收益承诺；如 3.20 表示 3.20%"))
    sales_start = forms.DateField(label=_("销售起始日"), widget=DATE)
    sales_end = forms.DateField(label=_("销售截止日"), widget=DATE, required=False, help_text=_("留空表示长期销售"))
    maturity_date = forms.DateField(label=_("到期日"), widget=DATE, required=False,
                                    help_text=_("封闭式理财与代理保险必填；须晚于销售截止日"))
    private = forms.BooleanField(label=_("私募产品（仅向合格投资者销售，购买后设冷静期）"), required=False)
    ledger_product = forms.TypedChoiceField(label=_("对应存款产品"), required=False, coerce=int, empty_value=None,
                                            help_text=_("仅定期存款：客户购买后开立的定期存款产品"))
    description = forms.CharField(label=_("产品说明书"), required=False, max_length=20000,
                                  widget=forms.Textarea(attrs={"rows": 8}),
                                  help_text=_("上架前必须提供；修改后文件版本自动加一，须重新复核上架"))
    risk_disclosure = forms.CharField(label=_("风险揭示书"), required=False, max_length=20000,
                                      widget=forms.Textarea(attrs={"rows": 8}),
                                      help_text=_("客户购买前须阅读并确认；私募产品必须提供"))

    def __init__(self, *args: Any, deposit_products: list[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ledger_product"].choices = [("", _("（不适用）")), *deposit_products]

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()

    def clean_min_amount(self) -> int:
        return yuan_to_fen(self.cleaned_data["min_amount"], str(_("起购金额")))

    def clean_step(self) -> int:
        return yuan_to_fen(self.cleaned_data["step"], str(_("递增金额")))

    def clean_subscribe_fee(self) -> int:
        return percent_to_bp(self.cleaned_data["subscribe_fee"], str(_("认/申购费率")))

    def clean_redeem_fee(self) -> int:
        return percent_to_bp(self.cleaned_data["redeem_fee"], str(_("赎回费率")))

    def clean_management_fee(self) -> int:
        return percent_to_bp(self.cleaned_data["management_fee"], str(_("管理费率")))

    def clean_benchmark(self) -> int:
        return percent_to_bp(self.cleaned_data["benchmark"], str(_("业绩比较基准")))

    def service_fields(self) -> dict[str, Any]:
        cd = self.cleaned_data
        return {"code": cd["code"], "name": cd["name"], "name_en": cd["name_en"], "kind": cd["kind"],
                "issuer": cd["issuer"], "risk_level": int(cd["risk_level"]), "currency": cd["currency"],
                "min_amount_fen": cd["min_amount"], "step_fen": cd["step"], "term_days": cd["term_days"],
                "open_ended": cd["open_ended"], "subscribe_fee_bp": cd["subscribe_fee"],
                "redeem_fee_bp": cd["redeem_fee"], "management_fee_bp": cd["management_fee"],
                "benchmark_bp": cd["benchmark"], "sales_start": cd["sales_start"], "sales_end": cd["sales_end"],
                "maturity_date": cd["maturity_date"], "private": cd["private"],
                "ledger_product_id": cd["ledger_product"] if cd["kind"] == WealthProduct.Kind.DEPOSIT else None,
                "description": cd["description"], "risk_disclosure": cd["risk_disclosure"]}

    @staticmethod
    def initial_for(p: WealthProduct) -> dict[str, Any]:
        return {"code": p.code, "name": p.name, "name_en": p.name_en, "kind": p.kind, "issuer": p.issuer,
                "risk_level": str(p.risk_level), "currency": p.currency, "min_amount": fen_text(p.min_amount_fen),
                "step": fen_text(p.step_fen), "term_days": p.term_days, "open_ended": p.open_ended,
                "subscribe_fee": bp_text(p.subscribe_fee_bp), "redeem_fee": bp_text(p.redeem_fee_bp),
                "management_fee": bp_text(p.management_fee_bp), "benchmark": bp_text(p.benchmark_bp),
                "sales_start": p.sales_start, "sales_end": p.sales_end, "maturity_date": p.maturity_date,
                "private": p.private, "ledger_product": p.ledger_product_id, "description": p.description,
                "risk_disclosure": p.risk_disclosure}


class ShelfRequestForm(forms.Form):
    action = forms.ChoiceField(choices=[("on", _("上架")), ("off", _("下架"))], widget=forms.HiddenInput)
    reason = forms.CharField(label=_("申请说明"), required=False, max_length=200,
                             widget=forms.Textarea(attrs={"rows": 2}))


class NavForm(forms.Form):
    nav_date = forms.DateField(label=_("净值日期"), widget=DATE)
    nav = forms.CharField(label=_("单位净值"), max_length=10,
                          widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                                        "placeholder": "1.0000"}),
                          help_text=_("保留四位小数，例如 1.0234；同一日期再次录入即为更正"))

    def clean_nav_date(self) -> date:
        d = self.cleaned_data["nav_date"]
        if d > timezone.localdate():
            raise forms.ValidationError(_("净值日期不能晚于今天"))
        return d

    def clean_nav(self) -> int:
        return nav_to_x10000(self.cleaned_data["nav"], str(_("单位净值")))


class DistributionForm(forms.Form):
    record_date = forms.DateField(label=_("权益登记日"), widget=DATE,
                                  help_text=_("该日（含）之前已持有份额的客户参与本次分配"))
    per_unit = forms.CharField(label=_("每份分配金额（元）"), max_length=10,
                               widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                                             "placeholder": "0.0150"}),
                               help_text=_("每 1 份产品派发的现金，保留四位小数，例如 0.0150 元/份"))

    def clean_record_date(self) -> date:
        d = self.cleaned_data["record_date"]
        if d > timezone.localdate():
            raise forms.ValidationError(_("权益登记日不能晚于今天"))
        return d

    def clean_per_unit(self) -> int:
        return nav_to_x10000(self.cleaned_data["per_unit"], str(_("每份分配金额")))


class QualifiedForm(forms.Form):
    basis = forms.ChoiceField(label=_("认定依据"), choices=QualifiedInvestor.Basis.choices, widget=forms.RadioSelect)
    experience_years = forms.IntegerField(label=_("投资经历（年）"), min_value=0, max_value=80,
                                          help_text="")
    evidence = forms.CharField(label=_("证明材料"), max_length=200,
                               help_text=_("注明已核验的材料及编号，如：资产证明 ZC2026-0012、近三年完税证明"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from bankcrm.core import params

        super().__init__(*args, **kwargs)
        self.fields["experience_years"].help_text = _("个人投资者须具有 %(y)d 年以上投资经历；单位客户不要求") % {
            "y": params.value("wealth.qualified_experience_years")}
