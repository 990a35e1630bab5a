"""The customer manager's workbench (客户经理工作台) on the home page: what needs doing today for the customers the manager
looks after, each block linking through to its records.

"Own customers" are the customers the actor manages now (a current primary or team assignment) among those they may
see at all (``Customer.objects.visible_to``): a branch supervisor who also manages a few customers sees only those few
here, never their whole branch; another manager's customers — in the same branch or another — never appear.

Blocks (each one or two scoped queries, at most ``LIMIT`` rows plus a "more" flag):

- ``tasks``: my open tasks due today or overdue (tasks without a customer included);
- ``contacts``: my planned contacts of today, and earlier ones still planned (overdue);
- ``maturities``: time deposits and wealth products maturing within `engagement.maturity_window` days;
- ``birthdays``: birthdays within `engagement.birthday_window` days;
- ``recommendations``: the open, unexpired recommendations with the highest scores, with their reasons;
- ``reviews``: suitability assessments expired or expiring (the risk app's ``expiring_profiles``) and AML ratings and
  reviews overdue or due within `engagement.workbench_review_days` days (``risk.rating.ratings_due``);
- ``feedback``: complaints and feedback cases received, and survey answers with a low score or a negative comment,
  in the last `engagement.workbench_feedback_days` days.

Every block also needs the capability of the app it reads (``ledger.view``, ``wealth.view``, ``service.view`` …):
the lower apps' selectors return nothing without it. Showing the workbench records one access-log entry listing the
customers whose data it showed.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, logs, params
from bankcrm.core.access import Role
from bankcrm.core.home import HomeSection
from bankcrm.core.home import register as register_home

from . import selectors
from .models import Interaction, Recommendation, Task

LIMIT = 8
TOP_RECOMMENDATIONS = 5


# ---- Scope -------------------------------------------------------------------------------------------------------------
def my_customers(actor: Any) -> QuerySet:
    """The customers the actor manages now and may see (see the module docstring)."""
    from bankcrm.customers.models import Customer, ManagerAssignment

    managed = ManagerAssignment.objects.filter(customer=OuterRef("pk"), staff=actor, ended_at__isnull=True)
    return Customer.objects.visible_to(actor).filter(Exists(managed))


def _mine(actor: Any, field: str = "customer_id") -> Q:
    return Q(Exists(my_customers(actor).filter(pk=OuterRef(field))))


def _cut(rows: list[Any], limit: int = LIMIT) -> dict[str, Any]:
    return {"rows": rows[:limit], "more": len(rows) > limit}


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.get_default_timezone())


def when(in_days: int, *, due: bool = True) -> dict[str, str]:
    """A date relative to today in words, and how loud to say it: 逾期 3 天 / 今天 / 明天 / 5 天后."""
    if in_days < 0:
        text = gettext("逾期 %(n)d 天") % {"n": -in_days} if due else gettext("%(n)d 天前") % {"n": -in_days}
        return {"text": text, "css": "text-danger fw-semibold" if due else "text-secondary"}
    if in_days == 0:
        return {"text": gettext("今天"), "css": "text-primary fw-semibold"}
    if in_days == 1:
        return {"text": gettext("明天"), "css": "text-body"}
    return {"text": gettext("%(n)d 天后") % {"n": in_days}, "css": "text-secondary"}


# ---- Blocks ------------------------------------------------------------------------------------------------------------
def tasks_due(actor: Any, *, today: date) -> dict[str, Any]:
    """My open tasks due today or earlier, overdue first (one query)."""
    qs = (selectors.tasks_visible(actor).filter(owner=actor, status=Task.Status.OPEN, due_on__lte=today)
          .filter(Q(customer__isnull=True) | _mine(actor))
          .select_related("customer").order_by("due_on", "id"))
    rows = list(qs[:LIMIT + 1])
    for t in rows:
        t.when = when((t.due_on - today).days)  # type: ignore[attr-defined]
    return _cut(rows)


def contacts_today(actor: Any, *, today: date) -> dict[str, Any]:
    """My planned contacts with my customers of today, and earlier ones not yet done or cancelled (one query)."""
    qs = (selectors.interactions_visible(actor)
          .filter(_mine(actor), staff=actor, status=Interaction.Status.PLANNED,
                  planned_at__lt=_day_start(today + timedelta(days=1)))
          .select_related("customer").order_by("planned_at", "id"))
    rows = list(qs[:LIMIT + 1])
    start = _day_start(today)
    for i in rows:
        i.overdue = i.planned_at < start  # type: ignore[attr-defined]
    return _cut(rows)


def maturities(actor: Any, *, today: date, days: int) -> dict[str, Any]:
    """Time deposits (the ledger) and wealth holdings (closed-end products) of my customers maturing in [today, today
    + days], by date (two queries). Deposit-kind holdings are time-deposit accounts: the ledger row covers them."""
    from bankcrm.ledger.selectors import accounts_visible
    from bankcrm.wealth.selectors import holdings_visible

    end = today + timedelta(days=days)
    deposits = (accounts_visible(actor)
                .filter(_mine(actor), kind="customer", product__kind="time", maturity_date__gte=today,
                        maturity_date__lte=end)
                .exclude(status="closed").select_related("customer", "product").order_by("maturity_date", "id"))
    holdings = (holdings_visible(actor)
                .filter(_mine(actor), status="active", deposit_account__isnull=True,
                        product__maturity_date__gte=today, product__maturity_date__lte=end)
                .select_related("customer", "product").order_by("product__maturity_date", "id"))
    rows = []
    for a in deposits[:LIMIT + 1]:
        rows.append({"kind": "deposit", "label": _("定期存款"), "on": a.maturity_date, "customer": a.customer,
                     "title": a.product.name, "number": a.masked_number, "amount_fen": a.balance_fen,
                     "currency": a.currency, "note": a.get_maturity_instruction_display(),
                     "url": reverse("ledger:account", args=[a.pk])})
    for h in holdings[:LIMIT + 1]:
        rows.append({"kind": "wealth", "label": _("理财产品"), "on": h.product.maturity_date, "customer": h.customer,
                     "title": h.product.name, "number": h.product.code, "amount_fen": h.cost_fen,
                     "currency": h.product.currency, "note": "", "url": reverse("wealth:holding", args=[h.pk])})
    rows.sort(key=lambda r: (r["on"], r["kind"]))
    for r in rows:
        r["when"] = when((r["on"] - today).days)
    return {**_cut(rows), "days": days}


def _birthday_in(year: int, born: date) -> date:
    try:
        return born.replace(year=year)
    except ValueError:  # 29 February in a common year: kept on 28 February
        return date(year, 2, 28)


def birthdays(actor: Any, *, today: date, days: int) -> dict[str, Any]:
    """My customers (natural persons) whose birthday falls in [today, today + days], soonest first (one query)."""
    window = [today + timedelta(days=n) for n in range(days + 1)]
    q = Q()
    for d in window:
        q |= Q(birth_date__month=d.month, birth_date__day=d.day)
        if (d.month, d.day) == (2, 28):
            q |= Q(birth_date__month=2, birth_date__day=29)
    rows = []
    for c in (my_customers(actor).filter(q, kind="person", status="active", birth_date__isnull=False)
              .only("id", "customer_no", "name", "birth_date").order_by("id")[:200]):
        for d in window:
            if _birthday_in(d.year, c.birth_date) == d:
                rows.append({"customer": c, "on": d, "age": d.year - c.birth_date.year, "when": when((d - today).days),
                             "url": reverse("customers:detail", args=[c.pk])})
                break
    rows.sort(key=lambda r: (r["on"], r["customer"].pk))
    return {**_cut(rows), "days": days}


def top_recommendations(actor: Any, *, now: datetime) -> dict[str, Any]:
    """The open, unexpired recommendations for my customers with the highest scores, with their reasons (one query)."""
    from .nba_selectors import recommendations_visible

    qs = (recommendations_visible(actor).filter(_mine(actor), status=Recommendation.Status.OPEN)
          .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
          .select_related("customer", "product").order_by("-score", "-id"))
    rows = list(qs[:TOP_RECOMMENDATIONS + 1])
    for r in rows:
        r.url = reverse("engagement:customer_recommendations", args=[r.customer_id]) + f"#rec-{r.pk}"  # type: ignore[attr-defined]
    return {**_cut(rows, TOP_RECOMMENDATIONS), "can_decide": access.can(actor, "engagement.recommend")}


def reviews_due(actor: Any, *, today: date, aml_days: int) -> dict[str, Any]:
    """Suitability assessments expired or expiring (within `suitability.reminder_days`) and AML first ratings and
    reviews overdue or due within ``aml_days``, of my customers, most urgent first (two queries)."""
    from bankcrm.risk import rating
    from bankcrm.risk.suitability import expiring_profiles

    can_view = access.can(actor, "risk.view")
    can_assess = access.can(actor, "risk.assess_suitability")
    rows = []
    for p in expiring_profiles(actor).filter(_mine(actor))[:LIMIT + 1]:
        due = p.suitability_valid_until
        rows.append({"kind": "suitability", "label": _("适当性评估"), "customer": p.customer, "due": due,
                     "when": when((due - today).days),
                     "level": f"C{p.suitability_level}" if p.suitability_level else "",
                     "url": reverse("risk:suitability_take" if can_assess else "risk:suitability_history",
                                    args=[p.customer_id]) if (can_assess or can_view) else ""})
    if can_view:
        for p in rating.ratings_due(actor, today, within_days=aml_days).filter(_mine(actor))[:LIMIT + 1]:
            due = rating.due_on(p)
            if due is None:
                continue
            rows.append({"kind": "aml", "label": _("反洗钱首次评级") if not p.aml_level else _("反洗钱复评"),
                         "customer": p.customer, "due": due, "when": when((due - today).days),
                         "level": p.get_aml_level_display() if p.aml_level else "",
                         "url": reverse("risk:customer_rating", args=[p.customer_id])})
    rows.sort(key=lambda r: (r["due"], r["kind"], r["customer"].pk))
    return {**_cut(rows), "aml_days": aml_days}


def recent_feedback(actor: Any, *, since: datetime, days: int) -> dict[str, Any]:
    """Complaints and feedback cases received, and survey answers with a low score or a negative comment, of my
    customers since ``since``, newest first (two queries)."""
    from bankcrm.service.selectors import complaints_visible
    from bankcrm.surveys.selectors import responses_visible

    complaints = (complaints_visible(actor).filter(_mine(actor), received_at__gte=since)
                  .select_related("customer").order_by("-received_at", "-id"))
    answers = (responses_visible(actor).filter(_mine(actor), created_at__gte=since)
               .filter(Q(low_score=True) | Q(needs_followup=True))
               .select_related("customer").order_by("-created_at", "-id"))
    rows = []
    for c in complaints[:LIMIT + 1]:
        rows.append({"kind": c.kind, "label": c.get_kind_display(), "at": c.received_at, "customer": c.customer,
                     "title": f"{c.number} · {c.summary}", "status": c.get_status_display(),
                     "open": c.status in c.OPEN_STATUSES, "url": reverse("service:complaint", args=[c.pk])})
    for r in answers[:LIMIT + 1]:
        scores = " · ".join(s for s in (f"CSAT {r.csat}" if r.csat is not None else "",
                                         f"NPS {r.nps}" if r.nps is not None else "") if s)
        rows.append({"kind": "survey", "label": _("满意度调查"), "at": r.created_at, "customer": r.customer,
                     "title": scores or str(_("调查答卷")), "comment": r.comment, "low": r.low_score,
                     "negative": r.sentiment == "negative", "status": "", "open": not r.case_ref,
                     "url": reverse("surveys:response", args=[r.pk])})
    rows.sort(key=lambda r: r["at"], reverse=True)
    return {**_cut(rows), "days": days}


# ---- The section -------------------------------------------------------------------------------------------------------
def workbench(actor: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Every block of the workbench for ``actor`` (see the module docstring)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    feedback_days = params.value("engagement.workbench_feedback_days", at=now)
    return {
        "today": today,
        "tasks": tasks_due(actor, today=today),
        "contacts": contacts_today(actor, today=today),
        "maturities": maturities(actor, today=today, days=params.value("engagement.maturity_window", at=now)),
        "birthdays": birthdays(actor, today=today, days=params.value("engagement.birthday_window", at=now)),
        "recommendations": top_recommendations(actor, now=now),
        "reviews": reviews_due(actor, today=today, aml_days=params.value("engagement.workbench_review_days", at=now)),
        "feedback": recent_feedback(actor, since=now - timedelta(days=feedback_days), days=feedback_days),
    }


BLOCKS = ("tasks", "contacts", "maturities", "birthdays", "recommendations", "reviews", "feedback")
# what each block shows of the customers besides their names (for the access log)
FIELDS = (("tasks", "tasks"), ("contacts", "planned_contacts"), ("maturities", "balances"),
          ("birthdays", "birth_date"), ("recommendations", "recommendations"), ("reviews", "risk_levels"),
          ("feedback", "complaints_and_survey_answers"))


def shown_customers(data: dict[str, Any]) -> list[int]:
    ids = set()
    for block in BLOCKS:
        for row in data[block]["rows"]:
            c = row.get("customer") if isinstance(row, dict) else getattr(row, "customer", None)
            if c is not None:
                ids.add(c.pk)
    return sorted(ids)


def is_customer_manager(actor: Any) -> bool:
    """Whom the workbench is for: customer managers, and anyone else who manages customers now."""
    from bankcrm.customers.models import ManagerAssignment

    if Role.CUSTOMER_MANAGER in getattr(actor, "roles", ()):
        return True
    return ManagerAssignment.objects.filter(staff=actor, ended_at__isnull=True).exists()


def home_context(request: Any) -> dict[str, Any] | None:
    user = request.user
    if not is_customer_manager(user):
        return None
    data = workbench(user)
    ids = shown_customers(data)
    if ids:
        shown = {b for b in BLOCKS if data[b]["rows"]}
        fields = ["name", *(f for b, f in FIELDS if b in shown)]
        logs.access(actor=user, view="engagement.workbench", subject_type="customers.Customer", subject_ids=ids,
                    fields=fields)
    data["counts"] = [
        {"key": b, "n": len(data[b]["rows"]), "more": data[b]["more"]} for b in BLOCKS]
    return {"wb": data}


register_home(HomeSection(code="engagement.workbench", order=10, template="engagement/_home_workbench.html",
                          context=home_context, capability="engagement.view"))
