"""员工行为监测: conduct signals (list, detail, review or escalate, run now) and key-post mandatory leave and rotation
(status table, record forms). Thin views: scoped selectors to read, one service per change."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bankcrm.core import access
from bankcrm.core.access import ROLE_LABELS, Role
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.models import ConductSignal
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import conduct_rules as rules
from . import conduct_selectors as sel
from . import conduct_services as svc
from .models import LeaveRecord, Severity


class SignalFilterForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("类型"), required=False,
                             choices=[("", gettext_lazy("全部"))] + [(k, v) for k, v in rules.KIND_LABELS.items()])
    status = forms.ChoiceField(label=gettext_lazy("状态"), required=False,
                               choices=[("", gettext_lazy("全部"))] + list(ConductSignal.Status.choices))
    staff_no = forms.CharField(label=gettext_lazy("员工工号"), required=False, max_length=20)


class ReviewForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("核查说明"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    severity = forms.ChoiceField(label=gettext_lazy("严重程度（升级时）"), choices=Severity.choices,
                                 initial=Severity.MEDIUM, required=False)


def _key_post_choices() -> list[tuple[str, Any]]:
    return [(r, ROLE_LABELS[Role(r)]) for r in rules.key_post_roles()]


class LeaveForm(forms.Form):
    staff_id = forms.TypedChoiceField(label=gettext_lazy("员工"), coerce=int)
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=LeaveRecord.Kind.choices)
    start_on = forms.DateField(label=gettext_lazy("开始日期"), widget=forms.DateInput(attrs={"type": "date"}))
    end_on = forms.DateField(label=gettext_lazy("结束日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("说明"), required=False, max_length=200)

    def __init__(self, *args: Any, staff_choices: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff_id"].choices = staff_choices


class RotationForm(forms.Form):
    staff_id = forms.TypedChoiceField(label=gettext_lazy("员工"), coerce=int)
    post = forms.ChoiceField(label=gettext_lazy("关键岗位"))
    from_on = forms.DateField(label=gettext_lazy("任职起始"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=gettext_lazy("说明"), required=False, max_length=200)

    def __init__(self, *args: Any, staff_choices: list, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff_id"].choices = staff_choices
        self.fields["post"].choices = _key_post_choices()


def _staff_choices(user: Any) -> list[tuple[int, str]]:
    return [(s.pk, f"{s.staff_no} {s.name} · {s.branch.name}") for s in sel.conduct_key_post_staff(user)
            .order_by("branch__path", "staff_no")]


def _signal_rows(page: Any) -> None:
    for s in page:
        s.kind_label = rules.KIND_LABELS.get(s.kind, s.kind)
        s.summary = rules.summary(s.kind, s.detail)
        s.record = getattr(s, "supervision", None) if hasattr(s, "supervision") else None


@capability_required("supervision.conduct")
def conduct_page(request: HttpRequest, leave_form: LeaveForm | None = None,
                 rotation_form: RotationForm | None = None) -> HttpResponse:
    user = request.user
    form = SignalFilterForm(request.GET or None)
    cd = form.cleaned_data if form.is_bound and form.is_valid() else {}
    qs = sel.signal_list(user, kind=cd.get("kind", ""), status=cd.get("status", "") if form.is_bound else "open",
                         staff_no=cd.get("staff_no", ""))
    page = paginate(request, qs, 25)
    _signal_rows(page)
    counts = sel.signal_counts(user)
    choices = _staff_choices(user)
    query = request.GET.copy()
    query.pop("page", None)
    status_rows = sel.leave_status(user)
    for r in status_rows:
        r["role_labels"] = [ROLE_LABELS[Role(x)] for x in r["roles"]]
    return render(request, "supervision/conduct/index.html", {
        "form": form, "page": page, "query": query.urlencode(),
        "cards": [{"kind": k, "label": v, "n": counts.get(k, 0)} for k, v in rules.KIND_LABELS.items()],
        "status_rows": status_rows,
        "leave_overdue": sum(1 for r in status_rows if r["leave_overdue"]),
        "rotation_overdue": sum(1 for r in status_rows if r["rotation_overdue"]),
        "leave_form": leave_form or LeaveForm(staff_choices=choices, initial={"kind": "mandatory"}),
        "rotation_form": rotation_form or RotationForm(staff_choices=choices),
        "can_review": access.can(user, "supervision.conduct_review"),
        "can_record": access.can(user, "supervision.conduct_records"),
        "recent_leave": sel.leave_records(user).order_by("-start_on", "-pk")[:10],
        "today": timezone.localdate(),
    })


@capability_required("supervision.conduct")
def signal_detail(request: HttpRequest, pk: int, form: ReviewForm | None = None) -> HttpResponse:
    s = sel.signal_get(request.user, pk)
    s.kind_label = rules.KIND_LABELS.get(s.kind, s.kind)
    record = getattr(s, "supervision", None) if hasattr(s, "supervision") else None
    detail = rules.detail_rows(s.detail)
    return render(request, "supervision/conduct/signal.html", {
        "s": s, "record": record, "detail": detail, "sample": s.detail.get("sample") or s.detail.get("entries") or [],
        "form": form or ReviewForm(), "can_review": access.can(request.user, "supervision.conduct_review")},
        status=400 if form is not None else 200)


@require_POST
@capability_required("supervision.conduct_review")
def signal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReviewForm(request.POST)
    action = request.POST.get("action", "review")
    if not form.is_valid():
        return signal_detail(request, pk, form)
    try:
        if action == "escalate":
            rec = entrypoint(svc.signal_escalate)(actor=request.user, signal_id=pk, note=form.cleaned_data["note"],
                                                  severity=form.cleaned_data.get("severity") or Severity.MEDIUM)
            messages.success(request, _("已升级为检查发现 %(n)s") % {"n": getattr(rec.finding, "number", "")})
        else:
            entrypoint(svc.signal_review)(actor=request.user, signal_id=pk, note=form.cleaned_data["note"])
            messages.success(request, _("已核查并关闭预警"))
    except DomainError as exc:
        if exc.fields:
            apply_error(form, request, exc)
            return signal_detail(request, pk, form)
        if isinstance(exc, (NotFound, PermissionDenied)):
            raise
        messages.error(request, str(exc.message))
    return redirect("supervision:conduct_signal", pk=pk)


@require_POST
@capability_required("supervision.conduct_review")
def conduct_run(request: HttpRequest) -> HttpResponse:
    counts = entrypoint(svc.conduct_run_now)(actor=request.user)
    messages.success(request, _("已完成今日员工行为监测：新增预警 %(n)d 条") % {"n": sum(counts.values())})
    return redirect("supervision:conduct")


@require_POST
@capability_required("supervision.conduct_records")
def leave_new(request: HttpRequest) -> HttpResponse:
    form = LeaveForm(request.POST, staff_choices=_staff_choices(request.user))
    if form.is_valid():
        try:
            entrypoint(svc.leave_record)(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, (NotFound, PermissionDenied)):
                raise
            apply_error(form, request, exc)
        else:
            messages.success(request, _("已登记休假记录"))
            return redirect("supervision:conduct")
    return conduct_page(request, leave_form=form)


@require_POST
@capability_required("supervision.conduct_records")
def rotation_new(request: HttpRequest) -> HttpResponse:
    form = RotationForm(request.POST, staff_choices=_staff_choices(request.user))
    if form.is_valid():
        try:
            entrypoint(svc.rotation_record)(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            if isinstance(exc, (NotFound, PermissionDenied)):
                raise
            apply_error(form, request, exc)
        else:
            messages.success(request, _("已登记岗位轮换"))
            return redirect("supervision:conduct")
    return conduct_page(request, rotation_form=form)
