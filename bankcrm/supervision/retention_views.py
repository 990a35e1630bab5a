"""数据保留: the retention categories with their periods, dry runs and real runs, the run history, and legal holds
(place by customer number or by record, release with a reason). Customer numbers go in POST bodies, never URLs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bankcrm.core import access, params
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import retention_services as rs


class HoldForm(forms.Form):
    customer_no = forms.CharField(label=gettext_lazy("客户号"), required=False, max_length=20)
    target_type = forms.ChoiceField(label=gettext_lazy("或：对象类型"), required=False)
    target_id = forms.CharField(label=gettext_lazy("对象编号"), required=False, max_length=40)
    reason = forms.CharField(label=gettext_lazy("保全原因"), max_length=300,
                             help_text=gettext_lazy("如：诉讼案号、监管调查文号"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_type"].choices = [("", "—")] + [(k, v) for k, v in rs.HOLD_TYPES.items()
                                                            if k != "customers.Customer"]

    def clean(self) -> dict[str, Any]:
        cd = super().clean()
        if not cd.get("customer_no") and not (cd.get("target_type") and cd.get("target_id")):
            self.add_error("customer_no", _("请填写客户号，或选择对象类型并填写编号"))
        return cd


class ReleaseForm(forms.Form):
    release_reason = forms.CharField(label=gettext_lazy("解除原因"), max_length=300)


def _categories() -> list[dict[str, Any]]:
    return [{"code": c.code, "label": c.label, "what": c.what, "action": c.action,
             "years": params.value(c.param), "param": c.param} for c in rs.CATEGORIES]


@capability_required("supervision.retention")
def retention_page(request: HttpRequest, hold_form: HoldForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    holds = rs.holds_visible(user)
    show = request.GET.get("holds", "active")
    if show != "all":
        holds = holds.filter(released_at__isnull=True)
    return render(request, "supervision/retention/index.html", {
        "categories": _categories(), "holds": holds[:200], "show": show,
        "runs": paginate(request, rs.runs_visible(user), 15), "query": "",
        "hold_form": hold_form or HoldForm(), "release_form": ReleaseForm(),
        "can_hold": access.can(user, "supervision.legal_hold"), "can_run": access.can(user, "supervision.retention_run"),
    }, status=status)


@require_POST
@capability_required("supervision.retention_run")
def retention_run(request: HttpRequest) -> HttpResponse:
    dry = request.POST.get("dry_run") == "on"
    run = rs.retention_run(actor=request.user, dry_run=dry)
    total = sum(v["would" if dry else "done"] for v in run.counts.values())
    messages.success(request, (_("试运行完成：%(n)d 条记录将被清理或匿名化") if dry else
                               _("清理完成：已清理或匿名化 %(n)d 条记录")) % {"n": total})
    return redirect("supervision:retention")


@require_POST
@capability_required("supervision.legal_hold")
def hold_place(request: HttpRequest) -> HttpResponse:
    form = HoldForm(request.POST)
    if form.is_valid():
        cd = form.cleaned_data
        customer_id = None
        try:
            if cd.get("customer_no"):
                from bankcrm.customers.selectors import customers_visible

                customer_id = customers_visible(request.user).filter(
                    customer_no=cd["customer_no"].strip()).values_list("pk", flat=True).first()
                if customer_id is None:
                    form.add_error("customer_no", _("客户不存在或无权查看"))
                    return retention_page(request, hold_form=form, status=400)
            entrypoint(rs.hold_place)(actor=request.user, reason=cd["reason"], customer_id=customer_id,
                                      target_type="" if customer_id else cd.get("target_type", ""),
                                      target_id="" if customer_id else cd.get("target_id", ""))
        except DomainError as exc:
            if isinstance(exc, (NotFound, PermissionDenied)):
                raise
            apply_error(form, request, exc)
        else:
            messages.success(request, _("已设置法律保全"))
            return redirect("supervision:retention")
    return retention_page(request, hold_form=form, status=400)


@require_POST
@capability_required("supervision.legal_hold")
def hold_release(request: HttpRequest, pk: int) -> HttpResponse:
    form = ReleaseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写解除原因"))
        return redirect("supervision:retention")
    try:
        entrypoint(rs.hold_release)(actor=request.user, hold_id=pk, reason=form.cleaned_data["release_reason"])
    except DomainError as exc:
        if isinstance(exc, (NotFound, PermissionDenied)):
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已解除法律保全"))
    return redirect("supervision:retention")
