"""Engagement pages, part 1: logging and planning interactions (from the customer 360 panel and from a one-column
mobile page that first picks one of my customers), the interaction list and detail, and the calendar. Tasks and plans
are in ``views_tasks``, referrals, opportunities and the pipeline in ``views_pipeline``, the needs profile in
``views_needs``. Shared helpers live here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, logs
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import apply_error, capability_required, paginate

from . import rules, selectors, services
from .forms import CompleteForm, InteractionForm, ReasonForm
from .models import Interaction


# ---- Shared helpers ------------------------------------------------------------------------------------------------
def show_error(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {
        "message": f"{exc.message}{'：' + detail if detail and detail != str(exc.message) else ''}", "code": exc.code})


def form_error(form: Any, request: HttpRequest, exc: DomainError) -> None:
    """A domain error on the form (its fields or the top), with the stable code."""
    apply_error(form, request, exc)
    if not exc.fields:
        return
    if not any(f in form.fields for f in exc.fields):
        form.add_error(None, f"{exc.message}（{exc.code}）")


def log_customers(request: HttpRequest, view: str, ids: Any, fields: list[str] | None = None) -> None:
    ids = sorted({i for i in ids if i})
    if ids:
        logs.access(actor=request.user, view=view, subject_type="customers.Customer", subject_ids=ids,
                    fields=fields or ["name"])


def run(request: HttpRequest, func: Callable[..., Any], success: str, **kwargs: Any) -> Any:
    """Run one service in the entry point's transaction; a domain error becomes a page message (404 and 403 go to
    the capability guard). Returns the result, or None when it failed."""
    try:
        result = entrypoint(func)(actor=request.user, **kwargs)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        show_error(request, exc)
        return None
    if success:
        messages.success(request, success)
    return result


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def parse_date(value: str | None) -> date | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").date()
    except ValueError:
        return None


def _customer(request: HttpRequest, pk: Any) -> Any:
    from bankcrm.customers.selectors import customer_get

    return customer_get(request.user, pk)


# ---- Logging and planning --------------------------------------------------------------------------------------------
def save_interaction(request: HttpRequest, form: InteractionForm, customer_id: int) -> Interaction | None:
    """Log (done) or plan a contact from a valid form; errors land on the form."""
    cd = form.cleaned_data
    common = dict(customer_id=customer_id, kind=cd["kind"], subject=cd["subject"], notes=cd["notes"],
                  next_steps=cd["next_steps"], participants=cd["participants"])
    try:
        if cd["mode"] == "planned":
            return entrypoint(services.interaction_plan)(actor=request.user, planned_at=aware(cd["at"]), **common)
        return entrypoint(services.interaction_log)(actor=request.user, occurred_at=aware(cd["at"]),
                                                    follow_up_on=cd["follow_up_on"], **common)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        if "planned_at" in exc.fields or "occurred_at" in exc.fields:
            exc.fields = {"at": [m for k in ("planned_at", "occurred_at") for m in exc.fields.get(k, [])]}
        form_error(form, request, exc)
        return None


def _saved_message(request: HttpRequest, i: Interaction) -> None:
    if i.status == Interaction.Status.PLANNED:
        messages.success(request, _("已计划联系：%(t)s，已加入经营日历") % {
            "t": f"{timezone.localtime(i.planned_at):%Y-%m-%d %H:%M}"})
    else:
        messages.success(request, _("互动已记录"))


@capability_required("engagement.log")
@require_http_methods(["GET", "POST"])
def interaction_new(request: HttpRequest, pk: int) -> HttpResponse:
    """The full (mobile-friendly) form for one customer; the 360 panel's compact form posts here too (``quick-``
    prefix, back to the customer page)."""
    customer = _customer(request, pk)
    quick = request.POST.get("from") == "panel"
    form = InteractionForm(request.POST or None, prefix="quick" if quick else None)
    if request.method == "POST":
        if form.is_valid():
            i = save_interaction(request, form, customer.pk)
            if i is not None:
                _saved_message(request, i)
                if quick:
                    return redirect("customers:detail", pk=customer.pk)
                return redirect("engagement:log")
        # the panel has no room for errors: the full form shows them (and still returns to the customer page)
    log_customers(request, "engagement.interaction_new", [customer.pk])
    recent = list(selectors.interaction_queue(request.user, customer_id=customer.pk)[:3])
    return render(request, "engagement/log_form.html", {"customer": customer, "form": form, "recent": recent,
                                                        "prefix": "quick" if quick else ""})


@capability_required("engagement.log")
def log_page(request: HttpRequest) -> HttpResponse:
    """记录互动 (mobile): search one of my customers, then the one-column form. Recent customers come first."""
    recent_ids: list[int] = []
    for cid in (selectors.interactions_visible(request.user).filter(staff=request.user)
                .order_by("-created_at").values_list("customer_id", flat=True)[:50]):
        if cid not in recent_ids:
            recent_ids.append(cid)
        if len(recent_ids) >= 6:
            break
    from bankcrm.customers.selectors import customers_visible

    by_id = {c.pk: c for c in customers_visible(request.user).filter(pk__in=recent_ids)}
    recent = [by_id[i] for i in recent_ids if i in by_id]
    log_customers(request, "engagement.log_page", [c.pk for c in recent])
    return render(request, "engagement/log_pick.html", {"recent": recent})


@capability_required("engagement.log")
@require_POST
def log_pick(request: HttpRequest) -> HttpResponse:
    """htmx: my customers matching the box (customer number, name, pinyin, mobile or its last four digits). POST, so
    that what was typed never lands in a URL or an access log of the web server."""
    from bankcrm.customers.selectors import search

    q = request.POST.get("q", "").strip()[:40]
    customers: list[Any] = []
    if len(q) >= 2 or (len(q) == 1 and not q.isascii()):
        customers = list(search(request.user, q).filter(status="active").select_related("branch")[:8])
        log_customers(request, "engagement.log_pick", [c.pk for c in customers])
    return render(request, "engagement/_pick.html", {"customers": customers, "q": q})


# ---- Interaction list and detail ------------------------------------------------------------------------------------
@capability_required("engagement.view")
def interaction_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    mine = request.GET.get("mine", "1" if access.can(request.user, "engagement.log") else "") == "1"
    page = paginate(request, selectors.interaction_queue(request.user, status=status, mine=mine, kind=kind,
                                                         customer_id=request.GET.get("customer", "")), 30)
    log_customers(request, "engagement.interaction_list", [i.customer_id for i in page])
    return render(request, "engagement/interaction_list.html", {
        "page": page, "status": status, "kind": kind, "mine": mine, "query": request.GET.urlencode(),
        "can_log": access.can(request.user, "engagement.log"),
        "statuses": [("", _("全部")), *Interaction.Status.choices], "kinds": Interaction.Kind.choices})


@capability_required("engagement.view")
def interaction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    i = selectors.interaction_get(request.user, pk)
    log_customers(request, "engagement.interaction", [i.customer_id], ["name", "interaction_notes"])
    mine = i.staff_id == request.user.pk and access.can(request.user, "engagement.log")
    return render(request, "engagement/interaction_detail.html", {
        "i": i, "can_close": mine and i.status == Interaction.Status.PLANNED, "complete_form": CompleteForm(),
        "cancel_form": ReasonForm()})


@capability_required("engagement.log")
@require_POST
def interaction_complete(request: HttpRequest, pk: int) -> HttpResponse:
    form = CompleteForm(request.POST)
    cd = form.cleaned_data if form.is_valid() else {}
    run(request, services.interaction_complete, _("已标记为完成"), interaction_id=pk, notes=cd.get("notes", ""),
        next_steps=cd.get("next_steps", ""))
    return redirect("engagement:interaction", pk=pk)


@capability_required("engagement.log")
@require_POST
def interaction_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run(request, services.interaction_cancel, _("计划联系已取消"), interaction_id=pk,
        reason=request.POST.get("reason", ""))
    return redirect("engagement:interaction", pk=pk)


# ---- Calendar ------------------------------------------------------------------------------------------------------
@capability_required("engagement.view")
def calendar_page(request: HttpRequest) -> HttpResponse:
    """经营日历: a month grid (or one week as a list) of planned contacts, task due dates and opportunities'
    expected close dates. Mine by default; supervisors and compliance see everyone's in their scope."""
    today = timezone.localdate()
    view = request.GET.get("view", "month")
    can_team = not access.can(request.user, "engagement.log") or "branch_supervisor" in request.user.roles
    mine = request.GET.get("scope", "mine" if not can_team else "team") != "team"
    if view == "week":
        anchor = parse_date(request.GET.get("day")) or today
        start, end = rules.week_bounds(anchor)
        weeks = [[start + timedelta(days=d) for d in range(7)]]
        prev_q, next_q = (start - timedelta(days=7)).isoformat(), (start + timedelta(days=7)).isoformat()
        year, month = anchor.year, anchor.month
    else:
        view = "month"
        try:
            year, month = (int(x) for x in request.GET.get("month", "").split("-"))
            date(year, month, 1)
        except (ValueError, TypeError):
            year, month = today.year, today.month
        start, end = rules.month_bounds(year, month)
        weeks = rules.month_weeks(year, month)
        prev_q = "%04d-%02d" % rules.shift_month(year, month, -1)
        next_q = "%04d-%02d" % rules.shift_month(year, month, 1)
    items = selectors.calendar_items(request.user, start=start, end=end, mine=mine)
    log_customers(request, "engagement.calendar", [x["customer"].pk for day in items.values() for x in day
                                                   if x["customer"] is not None])
    grid = [[{"day": d, "items": items.get(d, []), "in_month": d.month == month, "today": d == today} for d in w]
            for w in weeks]
    return render(request, "engagement/calendar.html", {
        "grid": grid, "view": view, "year": year, "month": month, "prev_q": prev_q, "next_q": next_q,
        "scope": "mine" if mine else "team", "can_team": can_team, "today": today, "start": start, "end": end,
        "count": sum(len(v) for v in items.values())})
