"""Forms of the report pages: the filter (period and branch) and a schedule's settings."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from . import report_catalog as catalog
from . import report_rules as rules
from . import report_selectors as sel
from .models import ReportSchedule


class ReportFilterForm(forms.Form):
    """统计期间 (a month, quarter, year or a date range) and 机构 (a branch of one's scope; empty: the whole scope).
    The branch is not a closed choice: a branch outside the scope is answered 404 by the selector, like any record
    one may not see."""

    period = forms.CharField(label=_("统计期间"), required=False, max_length=40, widget=forms.Select)
    start = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    branch = forms.CharField(label=_("机构"), required=False, max_length=255, widget=forms.Select)

    def __init__(self, *args: Any, actor: Any, report: catalog.Report, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today, self.report = today, report
        choices = rules.period_choices(today)
        chosen = (self.data.get("period") or "").strip() if self.is_bound else ""
        known = {v for _g, opts in choices for v, _l in opts}
        if chosen and chosen not in known:
            try:
                p = rules.parse_period(chosen, today=today)
                choices.insert(0, (_("已选"), [(p.key, p.label)]))
            except rules.PeriodError:
                pass
        self.fields["period"].widget.choices = choices
        self.fields["period"].initial = rules.current_period(report.default_period, today).key
        self.fields["branch"].widget.choices = [("", _("全部（本人可见范围）"))] + sel.branch_choices(actor)

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        value = (cd.get("period") or "").strip() or rules.current_period(self.report.default_period, self.today).key
        start, end = cd.get("start"), cd.get("end")
        if value == rules.RANGE and (not start or not end):
            for name, got in (("start", start), ("end", end)):
                if not got and name not in self.errors:
                    self.add_error(name, _("自定义区间须填写开始与结束日期"))
            return cd
        try:
            cd["period_obj"] = rules.parse_period(value, start.isoformat() if start else "",
                                                  end.isoformat() if end else "", today=self.today)
        except rules.PeriodError as exc:
            self.add_error(exc.field if exc.field in self.fields else "period", exc.message)
        cd["branch"] = (cd.get("branch") or "").strip()
        return cd


def filters_from(params: Any, *, actor: Any, report: catalog.Report, today: date) -> ReportFilterForm:
    """The filter form bound to query parameters (the page, the drill-through, the export)."""
    return ReportFilterForm(params, actor=actor, report=report, today=today)


class ScheduleForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=80, required=False)
    report = forms.ChoiceField(label=_("报表"), required=False)
    branch = forms.ChoiceField(label=_("机构"), required=False)
    frequency = forms.ChoiceField(label=_("频率"), choices=ReportSchedule.Frequency.choices, required=False,
                                  help_text=_("每日：前一天；每周：上一周（周一至周日）；每月：上一个月"))
    file_format = forms.ChoiceField(label=_("文件格式"), choices=ReportSchedule.Format.choices, required=False)

    def __init__(self, *args: Any, owner: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["report"].choices = [("", "—")] + [(r.code, r.title) for r in catalog.REPORTS.values()]
        self.fields["branch"].choices = [("", _("全部（订阅人可见范围）"))] + sel.branch_choices(owner)
