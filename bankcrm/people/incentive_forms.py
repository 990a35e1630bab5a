"""Forms of the incentive pages: input shape only — the services check every rule."""

from __future__ import annotations

import json

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import IncentiveScheme


class PoolForm(forms.Form):
    branch_id = forms.TypedChoiceField(label=_("机构"), coerce=int)
    period_id = forms.TypedChoiceField(label=_("考核期"), coerce=int)
    scheme_id = forms.TypedChoiceField(label=_("激励方案"), coerce=int)
    amount = forms.CharField(label=_("奖金池金额（元）"), max_length=24,
                             widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "50,000.00"}))

    def __init__(self, *args, branches=(), periods=(), schemes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch_id"].choices = [(b.pk, f"{b.code} {b.name}") for b in branches]
        self.fields["period_id"].choices = [(p.pk, str(p)) for p in periods]
        self.fields["scheme_id"].choices = [(s.pk, s.name) for s in schemes]


class PaidForm(forms.Form):
    paid_on = forms.DateField(label=_("发放日期"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()


class DecideForm(forms.Form):
    decision = forms.ChoiceField(label=_("处理"), choices=[("confirm", _("确认追索")), ("waive", _("豁免"))])
    reason = forms.CharField(label=_("说明"), required=False, max_length=1000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class SchemeForm(forms.Form):
    code = forms.CharField(label=_("方案代码"), max_length=40)
    name = forms.CharField(label=_("方案名称"), max_length=120)
    method = forms.ChoiceField(label=_("分配方式"), choices=IncentiveScheme.Method.choices)
    min_score = forms.DecimalField(label=_("最低得分（分）"), min_value=0, max_value=100, decimal_places=2,
                                   help_text=_("低于此分的员工不参与分配"))
    tiers = forms.CharField(label=_("档次"), required=False, max_length=500,
                            help_text=_("按得分档次分配时填写，每行“最低得分,系数%”，如 90,150"),
                            widget=forms.Textarea(attrs={"rows": 4, "placeholder": "90,150\n80,120\n70,100\n60,60"}))
    cap_percent = forms.IntegerField(label=_("个人上限（占奖金池%）"), min_value=1, max_value=100, initial=40)
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def tiers_value(self) -> list[list[int]] | str:
        """[[min_score in hundredths, multiplier], …] from the lines; the raw text when it cannot be read (the
        service then reports it on the field)."""
        raw = (self.cleaned_data.get("tiers") or "").strip()
        if not raw:
            return []
        if raw.startswith("["):
            try:
                return json.loads(raw)
            except ValueError:
                return raw
        out = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.replace("，", ",").split(",")]
            try:
                out.append([round(float(parts[0]) * 100), int(parts[1])])
            except (ValueError, IndexError):
                return raw
        return out


def tiers_text(tiers: list) -> str:
    return "\n".join(f"{t[0] / 100:g},{t[1]}" for t in tiers or [])
