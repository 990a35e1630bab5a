"""Forms of the suitability pages: the questionnaire taken by a customer, the questionnaire JSON editor, the check."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from .models import Questionnaire


def localised(item: dict[str, Any], key: str = "text") -> str:
    """The English text of a question or option when the page is in English and it has one."""
    if (get_language() or "").startswith("en") and item.get(f"{key}_en"):
        return item[f"{key}_en"]
    return item.get(key, "")


class TakeForm(forms.Form):
    """One required radio group per question of ``questionnaire``, plus the face-to-face confirmation."""

    questionnaire_id = forms.IntegerField(widget=forms.HiddenInput)
    face_to_face = forms.BooleanField(label=gettext_lazy("网点面签：客户本人在网点当面完成评估"), required=False)

    def __init__(self, *args: Any, questionnaire: Questionnaire, first_time: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questionnaire, self.first_time = questionnaire, first_time
        self.fields["questionnaire_id"].initial = questionnaire.pk
        for i, q in enumerate(questionnaire.questions, 1):
            self.fields[f"q_{q['code']}"] = forms.ChoiceField(
                label=f"{i}. {localised(q)}", widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                choices=[(o["code"], f"{o['code']}. {localised(o)}") for o in q["options"]],
                error_messages={"required": _("请回答此题")})
        self.fields["face_to_face"].widget.attrs["class"] = "form-check-input"
        self.fields["face_to_face"].required = first_time
        self.fields["face_to_face"].error_messages["required"] = _("首次评估须在网点面签，请勾选确认")
        self.order_fields([f"q_{q['code']}" for q in questionnaire.questions] + ["face_to_face"])

    def question_fields(self) -> list:
        return [self[f"q_{q['code']}"] for q in self.questionnaire.questions]

    def answers(self) -> dict[str, str]:
        return {q["code"]: self.cleaned_data[f"q_{q['code']}"] for q in self.questionnaire.questions}

    def field_for(self, code: str) -> str:
        return code if code == "face_to_face" else f"q_{code}"


class QuestionnaireForm(forms.Form):
    """A draft's title, questions and bands as one JSON document."""

    content = forms.CharField(label=gettext_lazy("问卷内容（JSON）"), widget=forms.Textarea(attrs={
        "rows": 28, "class": "font-monospace small", "spellcheck": "false"}),
        help_text=gettext_lazy('{"title", "title_en", "questions": [{"code", "text", "text_en", "options": [{"code", '
                               '"text", "text_en", "score"}]}], "bands": [[最高分, 等级], ...]}'))

    @staticmethod
    def dump(q: Questionnaire) -> str:
        return json.dumps({"title": q.title, "title_en": q.title_en, "questions": q.questions, "bands": q.bands},
                          ensure_ascii=False, indent=2)

    def clean_content(self) -> dict[str, Any]:
        text = self.cleaned_data["content"]
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("JSON 格式错误：第 %(l)d 行第 %(c)d 列：%(m)s")
                                        % {"l": exc.lineno, "c": exc.colno, "m": exc.msg}) from None


LEVEL_CHOICES = [(0, gettext_lazy("R0 存款类（无风险等级）"))] + [(n, f"R{n}") for n in range(1, 6)]
KIND_CHOICES = [("deposit", gettext_lazy("存款")), ("wealth", gettext_lazy("理财")), ("fund", gettext_lazy("基金")),
                ("insurance", gettext_lazy("保险")), ("private", gettext_lazy("私募产品"))]


class CheckForm(forms.Form):
    customer_no = forms.CharField(label=gettext_lazy("客户号"), max_length=16)
    product_level = forms.TypedChoiceField(label=gettext_lazy("产品风险等级"), choices=LEVEL_CHOICES, coerce=int)
    product_kind = forms.ChoiceField(label=gettext_lazy("产品类型"), choices=KIND_CHOICES)
    recording_id = forms.CharField(label=gettext_lazy("双录编号"), max_length=40, required=False)
    booth = forms.CharField(label=gettext_lazy("双录区"), max_length=40, required=False)
    recorded_at = forms.DateTimeField(label=gettext_lazy("录制时间"), required=False,
                                      widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))

    def recording(self) -> dict[str, Any] | None:
        cd = self.cleaned_data
        if not (cd.get("recording_id") or cd.get("booth") or cd.get("recorded_at")):
            return None
        return {"recording_id": cd.get("recording_id", ""), "booth": cd.get("booth", ""),
                "recorded_at": cd.get("recorded_at")}
