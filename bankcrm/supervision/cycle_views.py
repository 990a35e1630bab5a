"""流程时效: medians and 90th percentiles of key processes per month or quarter (ECharts) and per branch (table),
within the viewer's branch scope."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core.web import capability_required

from . import cycle_selectors as cy

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str) -> date | None:
    m = MONTH.match((value or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return date(int(m.group(1)), int(m.group(2)), 1)


def default_window() -> tuple[date, date]:
    today = timezone.localdate()
    y, m = (today.year - 1, today.month + 1) if today.month < 12 else (today.year, 1)
    return date(y, m, 1), today


class CycleForm(forms.Form):
    start = forms.CharField(label=gettext_lazy("起始月份"), required=False, max_length=7,
                            widget=forms.TextInput(attrs={"type": "month"}))
    end = forms.CharField(label=gettext_lazy("截止月份"), required=False, max_length=7,
                          widget=forms.TextInput(attrs={"type": "month"}))
    granularity = forms.ChoiceField(label=gettext_lazy("统计周期"), required=False,
                                    choices=[("month", gettext_lazy("按月")), ("quarter", gettext_lazy("按季"))])
    branch = forms.ChoiceField(label=gettext_lazy("机构"), required=False)

    def __init__(self, *args: Any, branches: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [("", gettext_lazy("全部（本人可见范围）"))] + branches

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        d_start, d_end = default_window()
        for name in ("start", "end"):
            if cd.get(name):
                parsed = parse_month(cd[name])
                if parsed is None:
                    self.add_error(name, _("请输入年月，如 2025-01"))
                cd[name + "_date"] = parsed
        start = cd.get("start_date") or d_start
        end = cd.get("end_date") or d_end
        if end < start:
            self.add_error("end", _("截止月份不能早于起始月份"))
        elif (end.year - start.year) * 12 + end.month - start.month >= cy.MAX_MONTHS:
            self.add_error("end", _("统计期最长 %(n)d 个月") % {"n": cy.MAX_MONTHS})
        cd["start_date"], cd["end_date"] = start, end
        return cd


def fmt_hours(h: float | None) -> str:
    if h is None:
        return "—"
    return _("%(d).1f 天") % {"d": h / 24} if h >= 48 else _("%(h).1f 小时") % {"h": h}


@capability_required("supervision.cycle")
def cycle_page(request: HttpRequest) -> HttpResponse:
    branches = cy.branch_choices(request.user)
    form = CycleForm(request.GET or None, branches=branches)
    start, end = default_window()
    granularity, branch = "month", None
    if form.is_bound and form.is_valid():
        cd = form.cleaned_data
        start, end, granularity, branch = cd["start_date"], cd["end_date"], cd.get("granularity") or "month", \
            cd.get("branch") or None
    elif form.is_bound:
        return render(request, "supervision/cycle/index.html", {"form": form, "processes": []})
    data = cy.cycle_times(request.user, start=start, end=end, granularity=granularity, branch_path=branch)
    processes = []
    for p in cy.PROCESSES:
        rows = [r for r in data["branches"] if r["process"] == p.code]
        for r in rows:
            r["median"], r["p90"] = fmt_hours(r["median_h"]), fmt_hours(r["p90_h"])
        total = data["totals"][p.code]
        processes.append({"code": p.code, "label": p.label, "rows": rows, "n": total["n"],
                          "median": fmt_hours(total["median_h"]), "p90": fmt_hours(total["p90_h"])})
    chart = {"periods": data["periods"], "median": _("中位数"), "p90": _("90 分位"), "unit": _("小时"),
             "processes": [{"code": p.code, "label": str(p.label),
                            "median": [x["median_h"] for x in data["series"][p.code]],
                            "p90": [x["p90_h"] for x in data["series"][p.code]],
                            "n": [x["n"] for x in data["series"][p.code]]} for p in cy.PROCESSES]}
    return render(request, "supervision/cycle/index.html", {
        "form": form, "processes": processes, "chart": chart, "start": start, "end": end,
        "granularity": granularity, "has_rows": any(p["rows"] for p in processes)})
