from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CalendarDay


class ParameterForm(forms.Form):
    value = forms.CharField(label=_("新值"), max_length=20)
    effective_from = forms.DateTimeField(label=_("生效时间"), required=False,
                                         help_text=_("留空表示立即生效；格式 2026-12-01 00:00"),
                                         widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    reason = forms.CharField(label=_("修改理由"), widget=forms.Textarea(attrs={"rows": 2}), max_length=500)


class CalendarDayForm(forms.Form):
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=_("类型"), choices=CalendarDay.Kind.choices)
    name = forms.CharField(label=_("名称"), max_length=40)


class CalendarImportForm(forms.Form):
    file = forms.FileField(label=_("CSV 文件"), help_text=_("每行：日期,类型,名称，例如 2026-10-01,holiday,国庆节；支持 UTF-8 与 GBK"))

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > 1024 * 1024:
            raise forms.ValidationError(_("文件过大（最大 1 MB）"))
        return f


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("操作人（工号）"), required=False)
    verb = forms.ChoiceField(label=_("操作"), required=False)
    target = forms.CharField(label=_("对象"), required=False, help_text=_("类型或类型:编号，如 org.Staff:12"))
    since = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        from .audit import VERBS

        super().__init__(*args, **kwargs)
        self.fields["verb"].choices = [("", _("全部"))] + sorted(((k, f"{v}（{k}）") for k, v in VERBS.items()), key=lambda x: x[0])
