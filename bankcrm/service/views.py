"""Service pages: the complaint and request queues (ordered by deadline, with countdowns), registering from the
customer page, the complaint page (what is on file for the customer, timeline, each transition as its own form),
the decision letter (printable HTML and PDF), statistics with charts and files, and the root-cause taxonomy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required, not_found, paginate

from . import reports, selectors, services
from .forms import ComplaintForm, DecisionForm, PeriodForm, RequestForm
from .models import Complaint, Rectification, ServiceRequest

CUSTOMER_FIELDS = ["name", "complaint"]


def _error(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {
        "message": f"{exc.message}{'：' + detail if detail and detail != str(exc.message) else ''}", "code": exc.code})


def _log(request: HttpRequest, view: str, ids: Any, fields: list[str] | None = None) -> None:
    ids = sorted(set(ids))
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=fields or CUSTOMER_FIELDS)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


# ---- Complaints -----------------------------------------------------------------------------------------------------
@capability_required("service.view")
def complaint_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    kind = request.GET.get("kind", "")
    mine = request.GET.get("mine") == "1"
    page = paginate(request, selectors.complaint_queue(request.user, status=status, kind=kind, mine=mine,
                                                       q=request.GET.get("q", "")), 30)
    _log(request, "service.complaint_list", [c.customer_id for c in page])
    return render(request, "service/complaint_list.html", {
        "page": page, "status": status, "kind": kind, "mine": mine, "q": request.GET.get("q", ""),
        "statuses": [("open", _("未办结")), *Complaint.Status.choices, ("", _("全部"))],
        "kinds": Complaint.Kind.choices, "today": timezone.localdate(),
        "counts": selectors.queue_counts(request.user)})


@capability_required("service.register")
def complaint_new(request: HttpRequest, pk: int) -> HttpResponse:
    from bankcrm.customers.selectors import customer_get

    customer = customer_get(request.user, pk)
    form = ComplaintForm(request.POST or None, staff_choices=selectors.staff_around(customer))
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            c = entrypoint(services.complaint_register)(
                actor=request.user, customer_id=customer.pk, channel=cd["channel"], summary=cd["summary"],
                description=cd["description"], request=cd["request"], product_line=cd["product_line"],
                staff_named_id=cd["staff_named"] or None, received_at=_aware(cd["received_at"]))
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            from bankcrm.core.web import apply_error

            apply_error(form, request, exc)
        else:
            messages.success(request, _("投诉已登记：%(n)s，受理回执须于 %(a)s 前发出，处理决定须于 %(d)s 前作出") % {
                "n": c.number, "a": c.ack_due_on, "d": c.decision_due_on})
            return redirect("service:complaint", pk=c.pk)
    return render(request, "service/complaint_new.html", {"form": form, "customer": customer,
                                                          "on_file": selectors.on_file(request.user, customer)})


@capability_required("service.view")
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    c = selectors.complaint_get(request.user, pk)
    if c is None:
        return not_found(request, _("投诉不存在或无权查看"))
    _log(request, "service.complaint_detail", [c.customer_id], ["name", "id_number", "accounts", "consents", "complaint"])
    user = request.user
    recused = c.staff_named_id == user.pk
    can = selectors.complaint_actions(user, c)
    return render(request, "service/complaint_detail.html", {
        "c": c, "on_file": selectors.on_file(user, c.customer), "events": c.events.select_related("actor"),
        "extensions": c.extensions.select_related("approved_by"), "notices": c.notices.all(),
        "rectifications": c.rectifications.select_related("owner"), "recused": recused, "can": can,
        "handlers": selectors.eligible_staff(c.customer_id, exclude={c.staff_named_id or 0}, complaints=True)
        if can["assign"] else [],
        "owners": selectors.eligible_staff(c.customer_id, exclude=set(), complaints=False) if can["rectify"] else [],
        "causes": selectors.root_cause_tree(), "decision_form": DecisionForm(), "today": timezone.localdate()})


def _complaint_action(capability: str, run: Callable[[HttpRequest, int], Any], done: Any) -> Callable:
    @require_POST
    @capability_required(capability)
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        try:
            entrypoint(run)(request, pk)
            messages.success(request, str(done))  # done is lazy: translated in the request's language
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _error(request, exc)
        return redirect("service:complaint", pk=pk)

    return view


def _date(value: str) -> Any:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except (TypeError, ValueError):
        return None


complaint_acknowledge = _complaint_action("service.handle", lambda r, pk: services.complaint_acknowledge(
    actor=r.user, complaint_id=pk, note=r.POST.get("note", "")), gettext_lazy("已受理，受理回执已记录"))
complaint_assign = _complaint_action("service.assign", lambda r, pk: services.complaint_assign(
    actor=r.user, complaint_id=pk, handler_id=r.POST.get("handler_id", "")), gettext_lazy("已分派"))
complaint_extend = _complaint_action("service.extend", lambda r, pk: services.complaint_extend(
    actor=r.user, complaint_id=pk, reason=r.POST.get("reason", "")), gettext_lazy("已延期，延期告知书已记录"))
complaint_decide = _complaint_action("service.handle", lambda r, pk: services.complaint_decide(
    actor=r.user, complaint_id=pk, findings=r.POST.get("findings", ""), decision=r.POST.get("decision", ""),
    remedy=r.POST.get("remedy", ""), root_cause_id=r.POST.get("root_cause", "")), gettext_lazy("处理决定已作出，可打印处理决定书"))
complaint_close = _complaint_action("service.handle", lambda r, pk: services.complaint_close(
    actor=r.user, complaint_id=pk), gettext_lazy("投诉已办结"))
complaint_rectify = _complaint_action("service.handle", lambda r, pk: services.rectification_add(
    actor=r.user, complaint_id=pk, action=r.POST.get("action", ""), owner_id=r.POST.get("owner_id", ""),
    due_on=_date(r.POST.get("due_on", ""))), gettext_lazy("整改措施已添加"))


@require_POST
@capability_required("service.handle")
def rectification_done(request: HttpRequest, pk: int) -> HttpResponse:
    r = Rectification.objects.filter(pk=pk).only("complaint_id").first()
    if r is None or selectors.complaint_get(request.user, r.complaint_id) is None:
        return not_found(request, _("整改措施不存在或无权查看"))
    try:
        entrypoint(services.rectification_done)(actor=request.user, rectification_id=pk,
                                                note=request.POST.get("note", ""))
        messages.success(request, _("整改措施已完成"))
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        _error(request, exc)
    return redirect("service:complaint", pk=r.complaint_id)


@capability_required("service.letter")
def letter(request: HttpRequest, pk: int) -> HttpResponse:
    c = selectors.complaint_get(request.user, pk)
    if c is None:
        return not_found(request, _("投诉不存在或无权查看"))
    if c.staff_named_id == request.user.pk:
        raise PermissionDenied("complaint_recused", _("您是被投诉员工，须回避"), capability="service.letter")
    if c.decided_at is None:
        messages.error(request, _("尚未作出处理决定"))
        return redirect("service:complaint", pk=pk)
    _log(request, "service.letter", [c.customer_id], ["name"])
    return render(request, "service/letter_print.html", reports.letter_context(request.user, c, for_export=False))


@require_POST
@capability_required("service.letter")
def letter_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        name, ctype, data = entrypoint(reports.letter_pdf)(actor=request.user, complaint_id=pk)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        _error(request, exc)
        return redirect("service:complaint", pk=pk)
    resp = HttpResponse(data, content_type=ctype)
    resp["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


# ---- Requests -------------------------------------------------------------------------------------------------------
@capability_required("service.view")
def request_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    mine = request.GET.get("mine") == "1"
    page = paginate(request, selectors.request_queue(request.user, status=status, mine=mine,
                                                     q=request.GET.get("q", "")), 30)
    _log(request, "service.request_list", [r.customer_id for r in page])
    return render(request, "service/request_list.html", {
        "page": page, "status": status, "mine": mine, "q": request.GET.get("q", ""), "now": timezone.now(),
        "statuses": [("open", _("未完成")), *ServiceRequest.Status.choices, ("", _("全部"))]})


@capability_required("service.register")
def request_new(request: HttpRequest, pk: int) -> HttpResponse:
    from bankcrm.customers.selectors import customer_get

    customer = customer_get(request.user, pk)
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cd = form.cleaned_data
        try:
            req = entrypoint(services.request_register)(
                actor=request.user, customer_id=customer.pk, kind=cd["kind"], channel=cd["channel"],
                subject=cd["subject"], description=cd["description"], priority=cd["priority"],
                appointment_at=_aware(cd["appointment_at"]))
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            from bankcrm.core.web import apply_error

            apply_error(form, request, exc)
        else:
            messages.success(request, _("服务请求已登记：%(n)s") % {"n": req.number})
            return redirect("service:request", pk=req.pk)
    return render(request, "service/request_new.html", {"form": form, "customer": customer})


@capability_required("service.view")
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = selectors.request_get(request.user, pk)
    if req is None:
        return not_found(request, _("服务请求不存在或无权查看"))
    _log(request, "service.request_detail", [req.customer_id], ["name"])
    user = request.user
    may = req.is_open and (req.owner_id == user.pk or access.can(user, "service.assign")) and access.can(
        user, "service.handle")
    return render(request, "service/request_detail.html", {
        "r": req, "events": req.events.select_related("actor"), "may": may, "now": timezone.now(),
        "owners": selectors.eligible_staff(req.customer_id, exclude={req.owner_id}, complaints=False) if may else [],
        "may_close": req.status == ServiceRequest.Status.RESOLVED and (
            req.owner_id == user.pk or access.can(user, "service.assign"))})


def _request_action(run: Callable[[HttpRequest, int], Any], done: Any) -> Callable:
    @require_POST
    @capability_required("service.handle")
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        try:
            entrypoint(run)(request, pk)
            messages.success(request, str(done))  # done is lazy: translated in the request's language
        except (NotFound, PermissionDenied):
            raise
        except DomainError as exc:
            _error(request, exc)
        return redirect("service:request", pk=pk)

    return view


request_respond = _request_action(lambda r, pk: services.request_respond(
    actor=r.user, request_id=pk, note=r.POST.get("note", "")), gettext_lazy("已响应"))
request_assign = _request_action(lambda r, pk: services.request_assign(
    actor=r.user, request_id=pk, owner_id=r.POST.get("owner_id", "")), gettext_lazy("已转派"))
request_resolve = _request_action(lambda r, pk: services.request_resolve(
    actor=r.user, request_id=pk, resolution=r.POST.get("resolution", "")), gettext_lazy("已解决"))
request_close = _request_action(lambda r, pk: services.request_close(actor=r.user, request_id=pk), gettext_lazy("已关闭"))


@require_POST
@capability_required("service.view")
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Dismiss one's own escalation notice from the inbox (one's own inbox state; not audited)."""
    services.notification_read(actor=request.user, notification_id=pk)
    return redirect("core:inbox")


# ---- Statistics and files -------------------------------------------------------------------------------------------
def _period_of(request: HttpRequest, data: Any) -> tuple[PeriodForm, Any, Any]:
    start, end = PeriodForm.default()
    form = PeriodForm(data if data.get("start") else None, initial={"start": start, "end": end})
    if form.is_bound and form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    return form, start, end


@capability_required("service.stats")
def stats(request: HttpRequest) -> HttpResponse:
    form, start, end = _period_of(request, request.GET)
    st = selectors.complaint_stats(request.user, start=start, end=end, kind="")
    st.pop("rows")
    chart = {"byCause": {"title": _("按根本原因"), "labels": [k for k, _n in st["by_cause"]],
                         "values": [n for _k, n in st["by_cause"]]},
             "byProduct": {"title": _("按业务类别"), "labels": [k for k, _n in st["by_product"]],
                           "values": [n for _k, n in st["by_product"]]},
             "buckets": {"title": _("决定用时（天）"), "labels": list(st["decision_buckets"]),
                         "values": list(st["decision_buckets"].values())}}
    return render(request, "service/stats.html", {
        "form": form, "start": start, "end": end, "st": st, "chart": chart,
        "requests": selectors.request_cycle_times(request.user, start=start, end=end),
        "can_export": access.can(request.user, "service.stats_export"),
        "can_report": access.can(request.user, "service.report")})


def _file_view(capability: str, build: Callable[..., tuple[str, str, bytes]]) -> Callable:
    @require_POST
    @capability_required(capability)
    def view(request: HttpRequest) -> HttpResponse:
        _form, start, end = _period_of(request, request.POST)
        try:
            name, ctype, data = entrypoint(build)(actor=request.user, start=start, end=end)
        except PermissionDenied:
            raise
        except DomainError as exc:
            _error(request, exc)
            return redirect("service:stats")
        resp = HttpResponse(data, content_type=ctype)
        resp["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp

    return view


stats_xlsx = _file_view("service.stats_export", reports.stats_xlsx)
regulator_file = _file_view("service.report", reports.regulator_csv)


@capability_required("service.manage_causes")
def causes(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            if request.POST.get("op") == "install":
                n = entrypoint(services.root_causes_install_default)(actor=request.user)
                messages.success(request, _("已安装默认原因分类 %(n)d 项") % {"n": n})
            else:
                entrypoint(services.root_cause_save)(
                    actor=request.user, code=request.POST.get("code", ""), name=request.POST.get("name", ""),
                    parent_code=request.POST.get("parent_code", ""), active=request.POST.get("active") == "on",
                    order=int(request.POST.get("order") or 0) if (request.POST.get("order") or "0").isdigit() else 0)
                messages.success(request, _("投诉原因已保存"))
        except PermissionDenied:
            raise
        except DomainError as exc:
            _error(request, exc)
        return redirect("service:causes")
    return render(request, "service/causes.html", {"tree": selectors.root_cause_tree(active_only=False)})
