"""Scoped reads of engagement records.

Scope follows the customer: an interaction, plan, opportunity or needs profile is visible to whoever may see its
customer (customer managers: the customers they manage; branch staff: their subtree; head-office compliance: all),
through ``Customer.objects.visible_to``. A task is also visible to its owner, and a referral to its sender and its
receiver (a receiver who cannot see the customer yet sees the referral with the name masked). Everything needs
``engagement.view``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from . import rules
from .models import (
    ActionPlan,
    Interaction,
    NeedsProfile,
    NeedsProfileVersion,
    Opportunity,
    PlanTemplate,
    Referral,
    Task,
)


def _customers(actor: Any) -> QuerySet:
    from bankcrm.customers.models import Customer

    return Customer.objects.visible_to(actor).values("pk")


def _viewer(actor: Any) -> bool:
    return access.can(actor, "engagement.view")


def _tz() -> Any:
    return timezone.get_default_timezone()


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, _tz())


# ---- Interactions ------------------------------------------------------------------------------------------------
def interactions_visible(actor: Any) -> QuerySet[Interaction]:
    if not _viewer(actor):
        return Interaction.objects.none()
    return Interaction.objects.filter(customer__in=_customers(actor))


def interaction_get(actor: Any, pk: Any) -> Interaction:
    i = (interactions_visible(actor).select_related("customer", "customer__branch", "staff").filter(pk=pk).first()
         if str(pk).isdigit() else None)
    if i is None:
        raise NotFound("interaction_not_found", _("互动记录不存在或无权查看"))
    return i


def interaction_queue(actor: Any, *, status: str = "", mine: bool = False, customer_id: Any = "",
                      kind: str = "") -> QuerySet[Interaction]:
    if not _viewer(actor):
        return Interaction.objects.none()
    qs = interactions_visible(actor).select_related("customer", "staff")
    if status in Interaction.Status.values:
        qs = qs.filter(status=status)
    if kind in Interaction.Kind.values:
        qs = qs.filter(kind=kind)
    if mine:
        qs = qs.filter(staff=actor)
    if str(customer_id).isdigit():
        qs = qs.filter(customer_id=int(customer_id))
    if status == Interaction.Status.PLANNED:
        return qs.order_by("planned_at", "id")
    return qs.order_by("-occurred_at", "-planned_at", "-id")


# ---- Tasks and plans ----------------------------------------------------------------------------------------------
def tasks_visible(actor: Any) -> QuerySet[Task]:
    if not _viewer(actor):
        return Task.objects.none()
    return Task.objects.filter(Q(owner=actor) | Q(customer__in=_customers(actor)))


def task_get(actor: Any, pk: Any) -> Task:
    t = (tasks_visible(actor).select_related("customer", "owner", "plan", "plan__template").filter(pk=pk).first()
         if str(pk).isdigit() else None)
    if t is None:
        raise NotFound("task_not_found", _("任务不存在或无权查看"))
    return t


def task_queue(actor: Any, *, bucket: str = "", status: str = "open", customer_id: Any = "",
               mine: bool = True) -> QuerySet[Task]:
    """Tasks ordered by due date. ``bucket``: overdue, today, upcoming (open tasks only)."""
    today = timezone.localdate()
    if not _viewer(actor):
        return Task.objects.none()
    qs = tasks_visible(actor).select_related("customer", "owner", "plan")
    if mine:
        qs = qs.filter(owner=actor)
    if status in Task.Status.values:
        qs = qs.filter(status=status)
    if str(customer_id).isdigit():
        qs = qs.filter(customer_id=int(customer_id))
    if bucket in ("overdue", "today", "upcoming"):
        qs = qs.filter(status=Task.Status.OPEN)
        qs = {"overdue": qs.filter(due_on__lt=today), "today": qs.filter(due_on=today),
              "upcoming": qs.filter(due_on__gt=today)}[bucket]
    if status in (Task.Status.DONE, Task.Status.CANCELLED):
        return qs.order_by("-done_at", "-id")
    return qs.order_by("due_on", "id")


def my_tasks(actor: Any, *, upcoming_days: int = 30) -> dict[str, Any]:
    """The "my tasks" page: overdue, today, upcoming (next ``upcoming_days``), recently finished."""
    today = timezone.localdate()
    mine = task_queue(actor, status="open")
    return {
        "overdue": list(mine.filter(due_on__lt=today)[:200]),
        "today": list(mine.filter(due_on=today)[:200]),
        "upcoming": list(mine.filter(due_on__gt=today, due_on__lte=today + timedelta(days=upcoming_days))[:200]),
        "later": mine.filter(due_on__gt=today + timedelta(days=upcoming_days)).count(),
        "done": list(task_queue(actor, status="done")[:10]),
    }


def plans_visible(actor: Any) -> QuerySet[ActionPlan]:
    if not _viewer(actor):
        return ActionPlan.objects.none()
    return ActionPlan.objects.filter(customer__in=_customers(actor))


def plan_get(actor: Any, pk: Any) -> ActionPlan:
    p = (plans_visible(actor).select_related("customer", "owner", "template").filter(pk=pk).first()
         if str(pk).isdigit() else None)
    if p is None:
        raise NotFound("plan_not_found", _("行动计划不存在或无权查看"))
    return p


def templates(*, active_only: bool = False) -> QuerySet[PlanTemplate]:
    qs = PlanTemplate.objects.all()
    return qs.filter(active=True) if active_only else qs


def template_get(pk: Any) -> PlanTemplate:
    t = PlanTemplate.objects.filter(pk=pk).first() if str(pk).isdigit() else None
    if t is None:
        raise NotFound("template_not_found", _("行动计划模板不存在"))
    return t


# ---- Referrals ----------------------------------------------------------------------------------------------------
def referrals_visible(actor: Any) -> QuerySet[Referral]:
    if not _viewer(actor):
        return Referral.objects.none()
    return Referral.objects.filter(Q(from_staff=actor) | Q(to_staff=actor) | Q(customer__in=_customers(actor)))


def _mark_seen(actor: Any, rows: list[Referral]) -> list[Referral]:
    """Flag each referral with whether the viewer may see its customer (else the name is masked, no link)."""
    from bankcrm.customers.models import Customer

    ids = {r.customer_id for r in rows}
    seen = set(Customer.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    for r in rows:
        r.can_see_customer = r.customer_id in seen
    return rows


def referral_get(actor: Any, pk: Any) -> Referral:
    r = (referrals_visible(actor).select_related("customer", "from_staff", "to_staff", "opportunity")
         .filter(pk=pk).first() if str(pk).isdigit() else None)
    if r is None:
        raise NotFound("referral_not_found", _("转介不存在或无权查看"))
    return _mark_seen(actor, [r])[0]


def referral_queue(actor: Any, *, box: str = "received", status: str = "") -> QuerySet[Referral]:
    if not _viewer(actor):
        return Referral.objects.none()
    qs = referrals_visible(actor).select_related("customer", "from_staff", "to_staff")
    if box == "received":
        qs = qs.filter(to_staff=actor)
    elif box == "sent":
        qs = qs.filter(from_staff=actor)
    if status == "open":
        qs = qs.filter(status__in=[Referral.Status.SENT, Referral.Status.ACCEPTED])
    elif status in Referral.Status.values:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def referral_rows(actor: Any, rows: Any) -> list[Referral]:
    return _mark_seen(actor, list(rows))


# ---- Opportunities and the pipeline ----------------------------------------------------------------------------------
def opportunities_visible(actor: Any) -> QuerySet[Opportunity]:
    if not _viewer(actor):
        return Opportunity.objects.none()
    return Opportunity.objects.filter(customer__in=_customers(actor))


def opportunity_get(actor: Any, pk: Any) -> Opportunity:
    o = (opportunities_visible(actor).select_related("customer", "owner", "product", "sale").filter(pk=pk).first()
         if str(pk).isdigit() else None)
    if o is None:
        raise NotFound("opportunity_not_found", _("商机不存在或无权查看"))
    return o


def opportunity_queue(actor: Any, *, stage: str = "", mine: bool = False, customer_id: Any = "",
                      goal: str = "") -> QuerySet[Opportunity]:
    if not _viewer(actor):
        return Opportunity.objects.none()
    qs = opportunities_visible(actor).select_related("customer", "owner", "product")
    if stage == "open":
        qs = qs.filter(stage__in=Opportunity.OPEN)
    elif stage in Opportunity.Stage.values:
        qs = qs.filter(stage=stage)
    if mine:
        qs = qs.filter(owner=actor)
    if str(customer_id).isdigit():
        qs = qs.filter(customer_id=int(customer_id))
    if goal in rules.GOAL_CODES:
        qs = qs.filter(goal=goal)
    return qs.order_by("expected_close", "-updated_at", "id")


def pipeline(actor: Any, *, mine: bool = False, goal: str = "", closed_days: int = 90,
             per_column: int = 50) -> dict[str, Any]:
    """Kanban columns by stage with counts and expected amounts: the open stages, and what was won or lost in the
    last ``closed_days`` days. Supervisors see their branch's (the scope of the customers they may see)."""
    qs = opportunity_queue(actor, mine=mine, goal=goal)
    since = timezone.now() - timedelta(days=closed_days)
    qs = qs.filter(Q(stage__in=Opportunity.OPEN) | Q(closed_at__gte=since))
    totals = {row["stage"]: row for row in qs.order_by().values("stage").annotate(n=Count("id"), amount=Sum("amount_fen"))}
    columns = []
    for stage, label in Opportunity.Stage.choices:
        t = totals.get(stage, {})
        order = ("-closed_at", "-id") if stage in rules.CLOSED_STAGES else ("expected_close", "-updated_at", "id")
        columns.append({"stage": stage, "label": label, "count": t.get("n", 0) or 0,
                        "amount_fen": t.get("amount") or 0,
                        "items": list(qs.filter(stage=stage).order_by(*order)[:per_column])})
    open_cols = [c for c in columns if c["stage"] in rules.OPEN_STAGES]
    return {"columns": columns, "open_count": sum(c["count"] for c in open_cols),
            "open_amount_fen": sum(c["amount_fen"] for c in open_cols), "closed_days": closed_days}


# ---- Needs profile ---------------------------------------------------------------------------------------------------
def needs_get(actor: Any, customer: Any) -> NeedsProfile | None:
    if not _viewer(actor):
        return None
    return NeedsProfile.objects.filter(customer=customer, customer__in=_customers(actor)).first()


def needs_history(actor: Any, customer: Any) -> list[dict[str, Any]]:
    """Every version, newest first, each with what changed from the one before."""
    if not _viewer(actor):
        return []
    versions = list(NeedsProfileVersion.objects.filter(customer=customer, customer__in=_customers(actor))
                    .select_related("recorded_by").order_by("version"))
    out, previous = [], None
    for v in versions:
        out.append({"version": v, "changes": rules.needs_diff(previous, v.data)})
        previous = v.data
    return list(reversed(out))


# ---- Calendar ----------------------------------------------------------------------------------------------------
def calendar_items(actor: Any, *, start: date, end: date, mine: bool = True) -> dict[date, list[dict[str, Any]]]:
    """Planned contacts, open tasks' due dates and open opportunities' expected close dates in [start, end], by day.
    ``mine``: only the actor's own (planner, task owner, opportunity owner)."""
    out: dict[date, list[dict[str, Any]]] = defaultdict(list)
    lo, hi = _start(start), _start(end + timedelta(days=1))
    contacts = interactions_visible(actor).filter(status=Interaction.Status.PLANNED, planned_at__gte=lo,
                                                  planned_at__lt=hi).select_related("customer", "staff")
    tasks = tasks_visible(actor).filter(status=Task.Status.OPEN, due_on__gte=start, due_on__lte=end)
    opps = opportunities_visible(actor).filter(stage__in=Opportunity.OPEN, expected_close__gte=start,
                                               expected_close__lte=end)
    if mine:
        contacts, tasks, opps = contacts.filter(staff=actor), tasks.filter(owner=actor), opps.filter(owner=actor)
    for i in contacts.order_by("planned_at", "id")[:500]:
        at = timezone.localtime(i.planned_at)
        out[at.date()].append({"kind": "contact", "time": at.strftime("%H:%M"), "title": i.subject,
                               "label": i.get_kind_display(), "customer": i.customer, "staff": i.staff,
                               "url": reverse("engagement:interaction", args=[i.pk]), "id": i.pk})
    for t in tasks.select_related("customer", "owner").order_by("due_on", "id")[:500]:
        out[t.due_on].append({"kind": "task", "time": "", "title": t.title, "label": "", "customer": t.customer,
                              "staff": t.owner, "url": reverse("engagement:tasks") + f"#task-{t.pk}", "id": t.pk})
    for o in opps.select_related("customer", "owner").order_by("expected_close", "id")[:500]:
        out[o.expected_close].append({"kind": "opportunity", "time": "", "title": o.title,
                                      "label": o.get_stage_display(), "customer": o.customer, "staff": o.owner,
                                      "url": reverse("engagement:opportunity", args=[o.pk]), "id": o.pk,
                                      "amount_fen": o.amount_fen})
    return dict(out)


# ---- The customer 360 panel and the inbox ----------------------------------------------------------------------------
def customer_engagement(actor: Any, customer: Any) -> dict[str, Any]:
    """What the 360 panel shows for one customer (the caller has already checked the customer is visible)."""
    interactions = interactions_visible(actor).filter(customer=customer).select_related("staff")
    return {
        "planned": list(interactions.filter(status=Interaction.Status.PLANNED).order_by("planned_at", "id")[:10]),
        "recent": list(interactions.exclude(status=Interaction.Status.PLANNED)
                       .order_by("-occurred_at", "-id")[:10]),
        "interaction_count": interactions.filter(status=Interaction.Status.DONE).count(),
        "tasks": list(tasks_visible(actor).filter(customer=customer, status=Task.Status.OPEN)
                      .select_related("owner").order_by("due_on", "id")[:10]),
        "opportunities": list(opportunities_visible(actor).filter(customer=customer, stage__in=Opportunity.OPEN)
                              .select_related("owner", "product").order_by("expected_close", "id")[:10]),
        "referrals": list(referrals_visible(actor).filter(customer=customer, status__in=[
            Referral.Status.SENT, Referral.Status.ACCEPTED]).select_related("from_staff", "to_staff")[:10]),
        "plans": list(plans_visible(actor).filter(customer=customer, status=ActionPlan.Status.ACTIVE)
                      .select_related("template")[:5]),
        "needs": needs_get(actor, customer),
    }


def due_tasks(actor: Any) -> QuerySet[Task]:
    """My open tasks that are due (today or overdue) or whose reminder time has come."""
    today = timezone.localdate()
    return tasks_visible(actor).filter(owner=actor, status=Task.Status.OPEN).filter(
        Q(due_on__lte=today) | Q(remind_at__lte=timezone.now()))


def referrals_to_me(actor: Any) -> QuerySet[Referral]:
    return referrals_visible(actor).filter(to_staff=actor, status=Referral.Status.SENT)


def planned_contacts_due(actor: Any) -> QuerySet[Interaction]:
    """My planned contacts of today and earlier (overdue ones stay until done or cancelled)."""
    end = _start(timezone.localdate() + timedelta(days=1))
    return interactions_visible(actor).filter(staff=actor, status=Interaction.Status.PLANNED, planned_at__lt=end)
