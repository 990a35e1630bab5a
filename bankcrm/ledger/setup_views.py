"""Product shelf, interest rates, exchange rates and transaction limits (账务参数): everyone who may view the ledger
reads them; administrators set rates; supervisors and administrators request limit changes (maker-checker)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access
from bankcrm.core.errors import DomainError
from bankcrm.core.money import parse_amount
from bankcrm.core.navigation import NavEntry, register
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, denied

from . import services
from .models import FxRate, LimitRule, Product


class RateForm(forms.Form):
    product = forms.ModelChoiceField(label=gettext_lazy("产品"), queryset=Product.objects.exclude(kind="internal")
                                     .exclude(kind="wealth"))
    rate = forms.CharField(label=gettext_lazy("年利率（%）"), help_text=gettext_lazy("如 1.35 表示 1.35%"))
    effective_from = forms.DateField(label=gettext_lazy("生效日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_rate(self) -> int:
        try:
            bp = Decimal(self.cleaned_data["rate"].strip().rstrip("%")) * 100
        except (InvalidOperation, ValueError):
            raise forms.ValidationError(_("请输入百分比数字，如 1.35")) from None
        if bp != bp.to_integral_value() or not 0 <= bp <= 10_000:
            raise forms.ValidationError(_("利率须在 0–100% 之间，最多两位小数"))
        return int(bp)


class FxForm(forms.Form):
    currency = forms.ChoiceField(label=gettext_lazy("币种"), choices=[("USD", gettext_lazy("美元"))])
    rate = forms.CharField(label=gettext_lazy("中间价（1 外币 = ? 人民币）"))
    effective_date = forms.DateField(label=gettext_lazy("生效日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean_rate(self) -> int:
        try:
            micro = Decimal(self.cleaned_data["rate"].strip()) * 1_000_000
        except (InvalidOperation, ValueError):
            raise forms.ValidationError(_("请输入汇率数字，如 7.1234")) from None
        if micro <= 0 or micro != micro.to_integral_value():
            raise forms.ValidationError(_("汇率须为正数，最多六位小数"))
        return int(micro)


class LimitForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("渠道"), choices=LimitRule.Channel.choices)
    customer_kind = forms.ChoiceField(label=gettext_lazy("客户类型"), choices=[("person", gettext_lazy("个人客户")),
                                                                         ("company", gettext_lazy("单位客户"))])
    per_txn = forms.CharField(label=gettext_lazy("单笔限额（元）"))
    per_day = forms.CharField(label=gettext_lazy("日累计限额（元）"))
    reason = forms.CharField(label=gettext_lazy("调整原因"), max_length=200)


def _rates() -> list[dict]:
    today = timezone.localdate()
    rows = []
    for p in Product.objects.exclude(kind="internal").order_by("kind", "code"):
        rows.append({"product": p, "rate_bp": services.rate_in_force(p.pk, today)})
    return rows


@capability_required("ledger.view_setup")
def setup_view(request: HttpRequest) -> HttpResponse:
    can_rates = access.can(request.user, "ledger.manage_products")
    can_limits = access.can(request.user, "ledger.manage_limits")
    op = request.POST.get("op") if request.method == "POST" else None
    rate_form = RateForm(request.POST if op == "rate" else None, initial={"effective_from": timezone.localdate()})
    fx_form = FxForm(request.POST if op == "fx" else None, initial={"effective_date": timezone.localdate()})
    limit_form = LimitForm(request.POST if op == "limit" else None)
    if op:
        needed = "ledger.manage_limits" if op == "limit" else "ledger.manage_products"
        if not access.can(request.user, needed):
            return denied(request, access.denial_reason(request.user, needed), needed)
        form = {"rate": rate_form, "fx": fx_form, "limit": limit_form}.get(op)
        if form is not None and form.is_valid():
            d = form.cleaned_data
            try:
                if op == "rate":
                    entrypoint(services.product_rate_set)(actor=request.user, product=d["product"], rate_bp=d["rate"],
                                                          effective_from=d["effective_from"])
                    messages.success(request, _("利率已设定"))
                elif op == "fx":
                    entrypoint(services.fx_rate_set)(actor=request.user, currency=d["currency"], rate_micro=d["rate"],
                                                     effective_date=d["effective_date"])
                    messages.success(request, _("汇率已设定"))
                else:
                    try:
                        per_txn, per_day = parse_amount(d["per_txn"]), parse_amount(d["per_day"])
                    except DomainError as exc:
                        limit_form.add_error("per_txn", str(exc.message))
                        raise
                    answer = entrypoint(services.limit_change_request)(
                        actor=request.user, channel=d["channel"], customer_kind=d["customer_kind"], per_txn_fen=per_txn,
                        per_day_fen=per_day, reason=d["reason"])
                    messages.success(request, _("限额调整已提交复核（编号 %(id)s），复核通过后生效") % {"id": answer["approval_id"]})
                return redirect(request.path)
            except DomainError as exc:
                apply_error(form, request, exc)
    return render(request, "ledger/setup.html", {
        "rates": _rates(), "fx": FxRate.objects.order_by("-effective_date")[:10],
        "limits": LimitRule.objects.all(), "rate_form": rate_form, "fx_form": fx_form, "limit_form": limit_form,
        "can_rates": can_rates, "can_limits": can_limits, "today": date.today(),
    })


register(NavEntry(gettext_lazy("账务"), gettext_lazy("产品、利率与限额"), "ledger-setup", "ledger.view_setup", "sliders", 18))
