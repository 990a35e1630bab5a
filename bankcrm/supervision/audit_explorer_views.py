"""审计查询 (audit explorer): search with keyset pagination, event detail, chain verification, signed extract export.
Filters carry no personal data (staff number, verb, target type and internal id, dates, request id), so the search
is a GET; the export is a POST."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bankcrm.core import access, audit
from bankcrm.core.errors import ValidationFailed
from bankcrm.core.web import capability_required

from . import audit_explorer as ax
from .models import AuditExtract


def verb_choices() -> list[tuple[str, str]]:
    return [("", str(gettext_lazy("全部操作")))] + sorted(
        ((code, f"{audit.verb_label(code)} · {code}") for code in audit.VERBS), key=lambda c: c[0])


class AuditSearchForm(forms.Form):
    actor = forms.CharField(label=gettext_lazy("操作人工号"), required=False, max_length=20)
    verb = forms.ChoiceField(label=gettext_lazy("操作"), required=False)
    target_type = forms.CharField(label=gettext_lazy("对象类型"), required=False, max_length=64,
                                  help_text=gettext_lazy("如 customers.Customer"))
    target_id = forms.CharField(label=gettext_lazy("对象编号"), required=False, max_length=64)
    since = forms.DateField(label=gettext_lazy("日期自"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    request_id = forms.CharField(label=gettext_lazy("请求编号"), required=False, max_length=32)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["verb"].choices = verb_choices()

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        if cd.get("since") and cd.get("until") and cd["until"] < cd["since"]:
            self.add_error("until", _("结束日期不能早于开始日期"))
        return cd

    def filters(self) -> ax.Filters:
        cd = self.cleaned_data
        return ax.Filters(actor_no=cd.get("actor") or "", verb=cd.get("verb") or "",
                          target_type=cd.get("target_type") or "", target_id=cd.get("target_id") or "",
                          since=cd.get("since"), until=cd.get("until"), request_id=cd.get("request_id") or "")


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isdigit() else None


@capability_required("supervision.audit")
def audit_page(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    params.pop("before", None)
    form = AuditSearchForm(params or None)
    rows: list = []
    cursor = None
    if not form.is_bound or form.is_valid():
        f = form.filters() if form.is_bound else ax.Filters()
        rows, cursor = ax.page(request.user, f, before=_before(request))
    return render(request, "supervision/audit/index.html", {
        "form": form, "rows": rows, "cursor": cursor, "query": params.urlencode(), "paged": bool(_before(request)),
        "verify": request.session.pop("sv_audit_verify", None),
        "can_export": access.can(request.user, "supervision.audit_export"),
        "extracts": AuditExtract.objects.select_related("created_by")[:8]})


@capability_required("supervision.audit")
def audit_event(request: HttpRequest, seq: int) -> HttpResponse:
    ev = ax.event_get(request.user, seq)
    return render(request, "supervision/audit/event.html", {"ev": ev})


@require_POST
@capability_required("supervision.audit")
def audit_verify(request: HttpRequest) -> HttpResponse:
    request.session["sv_audit_verify"] = ax.verify(actor=request.user)
    return redirect("supervision:audit")


@require_POST
@capability_required("supervision.audit_export")
def audit_extract(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("查询条件有误，未导出"))
        return redirect("supervision:audit")
    try:
        name, data, _rec = ax.build_extract(actor=request.user, filters=form.filters())
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
        return redirect("supervision:audit")
    resp = HttpResponse(data, content_type="application/zip")
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    resp["Cache-Control"] = "no-store"
    return resp
