"""Forms of the AML rating and due-diligence pages."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import AmlLevel, DueDiligence


class ManualRatingForm(forms.Form):
    level = forms.ChoiceField(label=_("风险等级"), required=False,
                              choices=[("", _("按模型重新评级"))] + list(AmlLevel.choices))
    rationale = forms.CharField(label=_("评级理由"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                                help_text=_("下调高风险或低于模型等级须经另一名风控经理审批"))


class RatingModelForm(forms.Form):
    factors = forms.CharField(label=_("因子（JSON）"), widget=forms.Textarea(attrs={"rows": 22, "class": "mono"}))
    thresholds = forms.CharField(label=_("等级分界（JSON）"), widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
                                 help_text=_('例如 {"high": 60, "medium": 25}：得分不低于 high 为高风险，不低于 medium 为中风险'))
    effective_from = forms.DateField(label=_("生效日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                     help_text=_("留空表示今天起生效"))

    def _json(self, name: str) -> Any:
        try:
            return json.loads(self.cleaned_data[name])
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(_("不是合法的 JSON：%(e)s") % {"e": exc}) from None

    def clean_factors(self) -> Any:
        return self._json("factors")

    def clean_thresholds(self) -> Any:
        return self._json("thresholds")


class DueDiligenceForm(forms.Form):
    """The checklist fields (``done_<code>``, ``note_<code>``) are added per task."""

    result = forms.ChoiceField(label=_("结论"), choices=[("", "—")] + list(DueDiligence.Result.choices))
    notes = forms.CharField(label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                            help_text=_("结论为上调风险等级或可疑报告时必填"))

    def __init__(self, *args: Any, checklist: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checklist = checklist
        for item in checklist:
            self.fields[f"done_{item['code']}"] = forms.BooleanField(label=_(item["label"]), required=False,
                                                                     initial=item.get("done"))
            self.fields[f"note_{item['code']}"] = forms.CharField(label=_("备注"), required=False, max_length=300,
                                                                  initial=item.get("note"))

    def items(self) -> dict[str, dict[str, Any]]:
        d = self.cleaned_data
        return {i["code"]: {"done": d.get(f"done_{i['code']}"), "note": d.get(f"note_{i['code']}", "")}
                for i in self.checklist}

    def rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"done_{i['code']}"], self[f"note_{i['code']}"]) for i in self.checklist]
