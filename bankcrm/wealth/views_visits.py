"""回访任务: the queue of return visits (due dates, overdue first) and the form that records one. The seller never
records the return visit of their own sale; an answer "no" opens a feedback case whose number the page shows."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, paginate

from . import selectors, services
from .forms import ReturnVisitForm, yes_no
from .models import ReturnVisit
from .views_sales import log_customers, show_error


@capability_required("wealth.return_visit")
def return_visit_list(request: HttpRequest) -> HttpResponse:
    scope = request.GET.get("scope", "mine")
    if scope not in ("mine", "open", "done"):
        scope = "mine"
    page = paginate(request, selectors.return_visit_queue(request.user, scope=scope), 30)
    log_customers(request, "wealth.return_visit_list", [v.sale.customer_id for v in page], ["name", "wealth"])
    return render(request, "wealth/return_visit_list.html", {
        "page": page, "scope": scope, "today": timezone.localdate(), "query": request.GET.urlencode(),
        "scopes": [("mine", _("待我回访")), ("open", _("全部待回访")), ("done", _("已完成"))]})


@capability_required("wealth.return_visit")
@require_http_methods(["GET", "POST"])
def return_visit_form(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    visit = selectors.return_visit_get(user, pk)
    is_seller = visit.sale.seller_id == user.pk
    form = ReturnVisitForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if is_seller:
            raise PermissionDenied("seller_cannot_visit", _("销售人员不能回访自己销售的产品"), capability="wealth.return_visit")
        if form.is_valid():
            cd = form.cleaned_data
            reached = cd["reached"] == "yes"
            try:
                visit = entrypoint(services.return_visit_record)(
                    actor=user, visit_id=visit.pk, reached=reached, notes=cd["notes"],
                    **{k: yes_no(cd[k]) for k in ReturnVisitForm.ANSWERS})
            except (NotFound, PermissionDenied):
                raise
            except DomainError as exc:
                show_error(form, exc)
            else:
                if visit.complaint_id:
                    messages.warning(request, _("回访发现问题，已生成反馈工单（编号见下方），由网点主管跟进处理"))
                elif visit.status == ReturnVisit.Status.DONE:
                    messages.success(request, _("回访已完成：客户无异议"))
                elif visit.status == ReturnVisit.Status.UNREACHABLE:
                    messages.warning(request, _("已记录：多次联系未果，回访标记为“无法联系”"))
                else:
                    messages.info(request, _("已记录未联系到客户（第 %(n)d 次），请稍后再次联系") % {"n": visit.attempts})
                return redirect("wealth:return_visit", pk=visit.pk)
    log_customers(request, "wealth.return_visit", [visit.sale.customer_id], ["name", "mobile", "wealth"])
    return render(request, "wealth/return_visit_form.html", {
        "v": visit, "sale": visit.sale, "form": form, "is_seller": is_seller, "today": timezone.localdate(),
        "complaint": _complaint(user, visit), "answers": _answers(visit)})


def _complaint(user: object, visit: ReturnVisit) -> object | None:
    """The feedback case a problem opened, as far as the viewer may see it."""
    if not visit.complaint_id:
        return None
    from bankcrm.service.selectors import complaint_get

    return complaint_get(user, visit.complaint_id)


def _answers(visit: ReturnVisit) -> list[tuple[str, bool | None]]:
    form = ReturnVisitForm()
    return [(str(form.fields[k].label), getattr(visit, k)) for k in ReturnVisitForm.ANSWERS]
