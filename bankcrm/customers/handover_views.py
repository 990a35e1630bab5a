"""Pages of the portfolio handover."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bankcrm.core.errors import DomainError
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate
from bankcrm.org.models import Staff

from . import handover as svc
from .models import Handover


def _managers(actor):
    return (Staff.objects.visible_to(actor).filter(role_assignments__role="customer_manager").select_related("branch")
            .annotate(customers=Count("customer_assignments", filter=Q(customer_assignments__ended_at__isnull=True)))
            .order_by("branch__path", "staff_no"))


@capability_required("customers.assign_manager")
@require_http_methods(["GET", "POST"])
def handover_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            h = entrypoint(svc.handover_open)(actor=request.user, staff_id=int(request.POST.get("staff") or 0),
                                              reason=request.POST.get("reason", ""))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        except ValueError:
            messages.error(request, _("请选择移交人"))
        else:
            return redirect("customers:handover", pk=h.pk)
    qs = svc.handovers_visible(request.user).annotate(n=Count("items"))
    return render(request, "customers/handover_list.html", {"page": paginate(request, qs, 20), "query": "",
                                                           "managers": _managers(request.user).filter(customers__gt=0)})


@capability_required("customers.assign_manager")
@require_http_methods(["GET", "POST"])
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    h = svc.handover_get(request.user, pk)
    if request.method == "POST":
        op = request.POST.get("op")
        try:
            if op == "successor":
                ids = [int(i) for i in request.POST.getlist("items")]
                n = entrypoint(svc.handover_set_successor)(actor=request.user, handover_id=h.pk,
                                                          successor_id=int(request.POST.get("successor") or 0), item_ids=ids or None)
                messages.success(request, _("已为 %(n)d 名客户指定接手人") % {"n": n})
            elif op == "submit":
                entrypoint(svc.handover_submit)(actor=request.user, handover_id=h.pk)
                messages.success(request, _("已提交复核，另一名有权人员通过后执行"))
            elif op == "cancel":
                entrypoint(svc.handover_cancel)(actor=request.user, handover_id=h.pk, reason=request.POST.get("reason", ""))
                messages.success(request, _("已取消"))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        except ValueError:
            messages.error(request, _("请选择接手的客户经理"))
        return redirect("customers:handover", pk=h.pk)
    items = h.items.select_related("customer", "successor").order_by("role", "customer__customer_no")
    successors = _managers(request.user).filter(is_active=True).exclude(pk=h.departing_id)
    return render(request, "customers/handover_detail.html", {
        "h": h, "items": items, "successors": successors,
        "missing": items.filter(role="primary", successor__isnull=True).count(),
        "editable": h.status == Handover.Status.DRAFT,
    })


