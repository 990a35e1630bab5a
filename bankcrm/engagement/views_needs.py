"""Engagement pages, part 4: the customer's needs profile (goals, horizon, liquidity, constraints) and its history
with what changed in each version."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from bankcrm.core import access
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required

from . import rules, selectors, services
from .forms import NeedsForm
from .models import NeedsProfile
from .views import _customer, form_error, log_customers

FIELD_LABELS = {"goals": gettext_lazy("理财目标"), "horizon": gettext_lazy("投资期限"),
                "liquidity": gettext_lazy("流动性需求"), "constraints": gettext_lazy("约束条件"),
                "notes": gettext_lazy("补充说明")}


@capability_required("engagement.needs")
@require_http_methods(["GET", "POST"])
def needs_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    profile = selectors.needs_get(request.user, customer)
    initial = {}
    if profile is not None:
        initial = {"goals": profile.goals, "horizon": profile.horizon, "liquidity": profile.liquidity,
                   "constraints": profile.constraints, "notes": profile.notes}
    form = NeedsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        before = profile.version if profile else 0
        try:
            saved = entrypoint(services.needs_save)(actor=request.user, customer_id=customer.pk, goals=cd["goals"],
                                                    horizon=cd["horizon"], liquidity=cd["liquidity"],
                                                    constraints=cd["constraints"], notes=cd["notes"])
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            form_error(form, request, exc)
        else:
            if saved.version == before:
                messages.info(request, _("需求档案没有变化，未生成新版本"))
            else:
                messages.success(request, _("需求档案已保存（第 %(v)d 版）") % {"v": saved.version})
            return redirect("customers:detail", pk=customer.pk)
    log_customers(request, "engagement.needs_edit", [customer.pk], ["name", "needs"])
    return render(request, "engagement/needs_form.html", {"customer": customer, "form": form, "profile": profile})


def _display(field: str, value: object) -> str:
    if field == "goals":
        return "、".join(rules.goal_label(g) for g in (value or [])) or "—"
    if field == "horizon":
        return str(dict(NeedsProfile.Horizon.choices).get(value, value or "—"))
    if field == "liquidity":
        return str(dict(NeedsProfile.Liquidity.choices).get(value, value or "—"))
    return str(value or "—")


@capability_required("engagement.view")
def needs_history(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    history = selectors.needs_history(request.user, customer)
    for h in history:
        for c in h["changes"]:
            c["label"] = FIELD_LABELS.get(c["field"], c["field"])
            c["before_text"], c["after_text"] = _display(c["field"], c["before"]), _display(c["field"], c["after"])
            c["added_text"] = [rules.goal_label(g) for g in c.get("added", [])]
            c["removed_text"] = [rules.goal_label(g) for g in c.get("removed", [])]
    log_customers(request, "engagement.needs_history", [customer.pk], ["name", "needs"])
    return render(request, "engagement/needs_history.html", {
        "customer": customer, "history": history,
        "can_edit": access.can(request.user, "engagement.needs") and customer.status == "active"})
