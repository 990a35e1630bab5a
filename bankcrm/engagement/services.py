"""Engagement services: interactions (logged or planned), tasks and action plans, plan templates, referrals between
staff, opportunities (need → contacted → proposal → won/lost) and the needs profile with its history.

Every function checks the actor's capability and scope (a customer the actor may not see is 404: the customers app's
``customer_get``), validates, writes, records one audit event in the same transaction and schedules side effects after
commit. Customer managers only touch the customers they manage; branch staff their subtree.

Extension point: ``ON_INTERACTION_SAVED`` is a list of callables ``hook(interaction_id)`` run after the commit of every
saved interaction (logged, planned or completed); the insight helper appends its intent extraction to it. A failing
hook is logged and never undoes the interaction.

Referrals: the receiver must be able to see the customer already — except when the sender may assign customer
managers (a branch supervisor): a customer manager of the same branch who does not serve the customer yet may then
receive it, and accepting adds them to the customer's team through ``customers.services.manager_assign`` (a team
member), authorised by the supervisor who sent the referral.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, audit, params
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.workdays import calendar as workday_calendar

from . import rules, selectors
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

log = logging.getLogger(__name__)

# Called after commit with the id of every saved interaction (see the module docstring).
ON_INTERACTION_SAVED: list[Callable[[int], Any]] = []

field_error = rules.field_error


def _now() -> datetime:
    return timezone.now()


def _today() -> date:
    return timezone.localdate()


def _text(value: Any, field: str, minimum: int, maximum: int, message: Any) -> str:
    value = str(value or "").strip()
    if len(value) < minimum:
        raise field_error(f"{field}_required", field, message)
    if len(value) > maximum:
        raise field_error(f"{field}_too_long", field, _("最多 %(n)d 个字") % {"n": maximum})
    return value


def _optional(value: Any, field: str, maximum: int) -> str:
    value = str(value or "").strip()
    if len(value) > maximum:
        raise field_error(f"{field}_too_long", field, _("最多 %(n)d 个字") % {"n": maximum})
    return value


def _choice(value: Any, choices: Any, field: str) -> str:
    if value not in {c for c, _l in choices}:
        raise field_error(f"{field}_invalid", field, _("选项无效"))
    return str(value)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if timezone.is_aware(value) else timezone.make_aware(value)


def _customer(actor: Any, customer_id: Any, *, for_update: bool = False, active: bool = True) -> Any:
    """The customer, if the actor may see it (else 404); only active customers take new engagement records."""
    from bankcrm.customers.selectors import customer_get

    customer = customer_get(actor, customer_id, for_update=for_update)
    if active and customer.status != "active":
        raise RuleViolation("customer_not_active", _("客户已销户或限制处理，不能新增经营记录"))
    return customer


def _sees_customer(staff: Any, customer_id: int) -> bool:
    from bankcrm.customers.models import Customer

    return Customer.objects.visible_to(staff).filter(pk=customer_id).exists()


def _staff(staff_id: Any, field: str) -> Any:
    from bankcrm.org.models import Staff

    s = (Staff.objects.select_related("branch").filter(pk=staff_id, is_active=True).first()
         if str(staff_id).isdigit() else None)
    if s is None or not s.may_work_now():
        raise field_error("staff_not_found", field, _("员工不存在或已停用"))
    return s


def _region(path: str) -> str:
    """The branch (second level of the tree) a path belongs to: /001/101/10101/ → /001/101/."""
    return "/".join(path.split("/")[:3]) + "/"


def _int_param(code: str) -> int:
    return int(params.value(code))


# ---- Interactions ----------------------------------------------------------------------------------------------------
INTERACTION_FIELDS = ["kind", "status", "planned_at", "occurred_at", "customer_id"]


def _after_saved(interaction_id: int) -> None:
    for hook in list(ON_INTERACTION_SAVED):
        try:
            hook(interaction_id)
        except Exception:  # an insight failure never undoes the interaction
            log.warning("interaction hook %r failed for %s", hook, interaction_id, exc_info=True)


def _hooks_after_commit(interaction_id: int) -> None:
    transaction.on_commit(lambda: _after_saved(interaction_id))


def _interaction_body(kind: str, subject: str, notes: str, next_steps: str, participants: Any) -> dict[str, Any]:
    return {"kind": _choice(kind, Interaction.Kind.choices, "kind"),
            "subject": _text(subject, "subject", 2, 100, _("请填写主题（至少2个字）")),
            "notes": _optional(notes, "notes", 4000), "next_steps": _optional(next_steps, "next_steps", 200),
            "participants": rules.clean_participants(participants)}


def interaction_log(*, actor: Any, customer_id: Any, kind: str, subject: str, notes: str = "", next_steps: str = "",
                    participants: Any = None, occurred_at: datetime | None = None,
                    follow_up_on: date | None = None) -> Interaction:
    """Record a contact that took place (default: now). With ``follow_up_on`` a follow-up task is created for the
    actor (source "interaction")."""
    access.require(actor, "engagement.log")
    body = _interaction_body(kind, subject, notes, next_steps, participants)
    now = _now()
    occurred_at = _aware(occurred_at) or now
    rules.check_occurred_at(occurred_at, now=now, backdate_days=_int_param("engagement.backdate_days"))
    if follow_up_on is not None:
        rules.check_due_on(follow_up_on, today=_today())
    with transaction.atomic():
        customer = _customer(actor, customer_id)
        i = Interaction.objects.create(customer=customer, staff=actor, branch_path=customer.branch.path,
                                       status=Interaction.Status.DONE, occurred_at=occurred_at, **body)
        audit.record(actor=actor, verb="engagement.interaction_logged", target=i, target_repr=f"I{i.pk}",
                     after=audit.snapshot(i, INTERACTION_FIELDS))
        if follow_up_on is not None:
            _task_create(actor=actor, owner=actor, customer=customer, title=str(_("跟进：%(s)s") % {
                "s": (body["next_steps"] or body["subject"])[:100]}), due_on=follow_up_on, remind_at=None,
                source=Task.Source.INTERACTION, source_ref=f"interaction:{i.pk}")
        _hooks_after_commit(i.pk)
    return i


def interaction_plan(*, actor: Any, customer_id: Any, kind: str, subject: str, planned_at: datetime,
                     notes: str = "", next_steps: str = "", participants: Any = None) -> Interaction:
    """Plan a contact (it appears on the calendar and, on its day, in the inbox)."""
    access.require(actor, "engagement.log")
    body = _interaction_body(kind, subject, notes, next_steps, participants)
    if planned_at is None:
        raise field_error("planned_at_required", "planned_at", _("请填写计划时间"))
    planned_at = _aware(planned_at)
    rules.check_planned_at(planned_at, now=_now())
    with transaction.atomic():
        customer = _customer(actor, customer_id)
        i = Interaction.objects.create(customer=customer, staff=actor, branch_path=customer.branch.path,
                                       status=Interaction.Status.PLANNED, planned_at=planned_at, **body)
        audit.record(actor=actor, verb="engagement.interaction_planned", target=i, target_repr=f"I{i.pk}",
                     after=audit.snapshot(i, INTERACTION_FIELDS))
        _hooks_after_commit(i.pk)
    return i


def _planned_for_update(actor: Any, interaction_id: Any) -> Interaction:
    access.require(actor, "engagement.log")
    i = (selectors.interactions_visible(actor).select_for_update().filter(pk=interaction_id).first()
         if str(interaction_id).isdigit() else None)
    if i is None:
        raise NotFound("interaction_not_found", _("互动记录不存在或无权查看"))
    if i.staff_id != actor.pk:
        raise PermissionDenied("not_interaction_owner", _("只有计划该联系的员工可以完成或取消它"),
                               capability="engagement.log")
    if i.status != Interaction.Status.PLANNED:
        raise RuleViolation("interaction_not_planned", _("该联系已完成或已取消"))
    return i


def interaction_complete(*, actor: Any, interaction_id: Any, notes: str = "", next_steps: str = "",
                         occurred_at: datetime | None = None, participants: Any = None) -> Interaction:
    """Mark a planned contact as done (notes and next steps may be added now)."""
    now = _now()
    occurred_at = _aware(occurred_at) or now
    rules.check_occurred_at(occurred_at, now=now, backdate_days=_int_param("engagement.backdate_days"))
    with transaction.atomic():
        i = _planned_for_update(actor, interaction_id)
        before = audit.snapshot(i, INTERACTION_FIELDS)
        if notes:
            i.notes = _optional(((i.notes + "\n") if i.notes else "") + str(notes).strip(), "notes", 4000)
        if next_steps:
            i.next_steps = _optional(next_steps, "next_steps", 200)
        if participants not in (None, ""):
            i.participants = rules.clean_participants(participants)
        i.status, i.occurred_at = Interaction.Status.DONE, occurred_at
        i.save()
        audit.record(actor=actor, verb="engagement.interaction_changed", target=i, target_repr=f"I{i.pk}",
                     before=before, after=audit.snapshot(i, INTERACTION_FIELDS))
        _hooks_after_commit(i.pk)
    return i


def interaction_cancel(*, actor: Any, interaction_id: Any, reason: str) -> Interaction:
    reason = _text(reason, "reason", 2, 200, _("请填写取消原因（至少2个字）"))
    with transaction.atomic():
        i = _planned_for_update(actor, interaction_id)
        before = audit.snapshot(i, INTERACTION_FIELDS)
        i.status = Interaction.Status.CANCELLED
        i.save(update_fields=["status", "updated_at"])
        audit.record(actor=actor, verb="engagement.interaction_changed", target=i, target_repr=f"I{i.pk}",
                     before=before, after=audit.snapshot(i, INTERACTION_FIELDS), reason=reason)
    return i


# ---- Tasks -----------------------------------------------------------------------------------------------------------
TASK_FIELDS = ["title", "due_on", "status", "owner_id", "customer_id", "source", "source_ref", "result"]


def _check_owner(owner: Any, customer: Any | None) -> None:
    if not access.can(owner, "engagement.log"):
        raise field_error("owner_invalid", "owner_id", _("负责人须有记录客户互动与任务的权限"))
    if customer is not None and not _sees_customer(owner, customer.pk):
        raise field_error("owner_invalid", "owner_id", _("负责人须能查看该客户"))


def _task_create(*, actor: Any, owner: Any, customer: Any | None, title: str, due_on: date, remind_at: datetime | None,
                 source: str, source_ref: str, plan: ActionPlan | None = None) -> Task:
    try:
        with transaction.atomic():
            t = Task.objects.create(owner=owner, customer=customer, plan=plan, title=title, due_on=due_on,
                                    remind_at=remind_at, source=source, source_ref=source_ref,
                                    branch_path=customer.branch.path if customer is not None else owner.branch.path,
                                    created_by=actor if getattr(actor, "pk", None) else None)
    except IntegrityError:
        raise RuleViolation("task_exists", _("该事项已生成过任务")) from None
    audit.record(actor=actor, verb="engagement.task_created", target=t, target_repr=f"T{t.pk}",
                 after=audit.snapshot(t, TASK_FIELDS))
    return t


def task_create(*, actor: Any, title: str, due_on: date | None, customer_id: Any = None, owner_id: Any = None,
                remind_at: datetime | None = None, source: str = Task.Source.MANUAL, source_ref: str = "") -> Task:
    """Create a task (default owner: the actor). Other features create theirs with ``source`` and a ``source_ref``
    ("recommendation:17", "lifeevent:…"): the same reference returns the existing task, so retries create nothing
    twice. ``actor=None`` is the system (a job); ``owner_id`` is then required."""
    if actor is not None:
        access.require(actor, "engagement.log")
    title = _text(title, "title", 2, 120, _("请填写事项（至少2个字）"))
    source = _choice(source, Task.Source.choices, "source")
    source_ref = _optional(source_ref, "source_ref", 64)
    if due_on is None:
        raise field_error("due_on_required", "due_on", _("请填写到期日"))
    rules.check_due_on(due_on, today=_today())
    with transaction.atomic():
        if source_ref:
            existing = Task.objects.filter(source=source, source_ref=source_ref).first()
            if existing is not None:
                return existing
        if actor is None and owner_id in (None, ""):
            raise field_error("owner_required", "owner_id", _("系统创建任务须指定负责人"))
        owner = actor if owner_id in (None, "", getattr(actor, "pk", None)) else _staff(owner_id, "owner_id")
        customer = None
        if customer_id not in (None, ""):
            customer = _customer(actor or owner, customer_id)
        _check_owner(owner, customer)
        return _task_create(actor=actor, owner=owner, customer=customer, title=title, due_on=due_on,
                            remind_at=_aware(remind_at), source=source, source_ref=source_ref)


def _task_for_update(actor: Any, task_id: Any) -> Task:
    access.require(actor, "engagement.log")
    t = (selectors.tasks_visible(actor).select_for_update().filter(pk=task_id).first()
         if str(task_id).isdigit() else None)
    if t is None:
        raise NotFound("task_not_found", _("任务不存在或无权查看"))
    if t.owner_id != actor.pk:
        raise PermissionDenied("not_task_owner", _("只有任务负责人可以处理该任务"), capability="engagement.log")
    if t.status != Task.Status.OPEN:
        raise RuleViolation("task_not_open", _("任务已完成或已取消"))
    return t


def _close_plan_if_finished(plan_id: int | None) -> None:
    if plan_id is None:
        return
    plan = ActionPlan.objects.select_for_update().filter(pk=plan_id, status=ActionPlan.Status.ACTIVE).first()
    if plan is not None and not plan.tasks.filter(status=Task.Status.OPEN).exists():
        plan.status = ActionPlan.Status.DONE
        plan.save(update_fields=["status"])


def task_complete(*, actor: Any, task_id: Any, result: str = "") -> Task:
    with transaction.atomic():
        t = _task_for_update(actor, task_id)
        before = audit.snapshot(t, TASK_FIELDS)
        t.status, t.result, t.done_at = Task.Status.DONE, _optional(result, "result", 200), _now()
        t.save(update_fields=["status", "result", "done_at"])
        audit.record(actor=actor, verb="engagement.task_done", target=t, target_repr=f"T{t.pk}", before=before,
                     after=audit.snapshot(t, TASK_FIELDS))
        _close_plan_if_finished(t.plan_id)
    return t


def task_cancel(*, actor: Any, task_id: Any, reason: str) -> Task:
    reason = _text(reason, "reason", 2, 200, _("请填写取消原因（至少2个字）"))
    with transaction.atomic():
        t = _task_for_update(actor, task_id)
        before = audit.snapshot(t, TASK_FIELDS)
        t.status, t.result, t.done_at = Task.Status.CANCELLED, reason, _now()
        t.save(update_fields=["status", "result", "done_at"])
        audit.record(actor=actor, verb="engagement.task_done", target=t, target_repr=f"T{t.pk}", before=before,
                     after=audit.snapshot(t, TASK_FIELDS), reason=reason)
        _close_plan_if_finished(t.plan_id)
    return t


def task_reminders_mark(*, now: datetime | None = None, batch: int = 500) -> int:
    """The daily reminder job: every open task whose reminder day has come (due date minus the lead time) and that
    has no reminder time yet gets ``remind_at = now``; the inbox shows reminded and due tasks. One transaction per
    chunk, and a second run for the same day changes nothing (R14). No e-mail is sent. Returns how many were marked."""
    now = now or _now()
    lead = _int_param("engagement.task_remind_lead")
    horizon = timezone.localtime(now).date() + timedelta(days=lead)
    marked = 0
    while True:
        with transaction.atomic():
            ids = list(Task.objects.filter(status=Task.Status.OPEN, remind_at__isnull=True, due_on__lte=horizon)
                       .order_by("pk").values_list("pk", flat=True)[:batch])
            if not ids:
                return marked
            marked += Task.objects.filter(pk__in=ids, remind_at__isnull=True).update(remind_at=now)


# ---- Plan templates and action plans ---------------------------------------------------------------------------------
TEMPLATE_FIELDS = ["code", "name", "name_en", "steps", "active"]


def templates_install_default(*, actor: Any = None) -> int:
    """Install the four default plan templates (onboarding, annual review, maturity follow-up, high-value retention)
    where their code is missing; existing ones, edited or not, are left alone. Idempotent; returns how many were
    added. ``actor=None`` is the system (a migration, the demo)."""
    if actor is not None:
        access.require(actor, "engagement.manage")
    added = 0
    with transaction.atomic():
        have = set(PlanTemplate.objects.values_list("code", flat=True))
        for t in rules.DEFAULT_TEMPLATES:
            if t["code"] in have:
                continue
            PlanTemplate.objects.create(code=t["code"], name=t["name"], name_en=t["name_en"],
                                        steps=rules.clean_steps(t["steps"]), active=True)
            added += 1
        if added:
            audit.record(actor=actor, verb="engagement.template_saved", target_type="engagement.PlanTemplate",
                         target_id="default", after={"installed": added})
    return added


def template_save(*, actor: Any, code: str, name: str, steps: Any, name_en: str = "", active: bool = True,
                  template_id: Any = None) -> PlanTemplate:
    """Create a template (``template_id`` None) or change one; its code is fixed once created."""
    access.require(actor, "engagement.manage")
    name = _text(name, "name", 2, 60, _("请填写模板名称（至少2个字）"))
    name_en = _optional(name_en, "name_en", 80)
    steps = rules.clean_steps(steps)
    with transaction.atomic():
        if template_id not in (None, ""):
            t = (PlanTemplate.objects.select_for_update().filter(pk=template_id).first()
                 if str(template_id).isdigit() else None)
            if t is None:
                raise NotFound("template_not_found", _("行动计划模板不存在"))
            before = audit.snapshot(t, TEMPLATE_FIELDS)
        else:
            code = str(code or "").strip().lower()
            if not code or len(code) > 20 or not code.replace("_", "").isalnum() or not code.isascii():
                raise field_error("code_invalid", "code", _("代码只能包含字母、数字和下划线（最多20位）"))
            if PlanTemplate.objects.filter(code=code).exists():
                raise field_error("code_taken", "code", _("该代码已被使用"))
            t, before = PlanTemplate(code=code), {}
        t.name, t.name_en, t.steps, t.active = name, name_en, steps, bool(active)
        t.save()
        audit.record(actor=actor, verb="engagement.template_saved", target=t, target_repr=t.code, before=before,
                     after=audit.snapshot(t, TEMPLATE_FIELDS))
    return t


def plan_start(*, actor: Any, customer_id: Any, template_id: Any, start_on: date | None = None) -> ActionPlan:
    """Start a plan for a customer: one dated task per template step for the actor (due dates on working days,
    never before today)."""
    access.require(actor, "engagement.log")
    today = _today()
    start_on = start_on or today
    if start_on < today - timedelta(days=60) or start_on > today + timedelta(days=366):
        raise field_error("start_on_invalid", "start_on", _("开始日期须在过去60天至未来一年之间"))
    with transaction.atomic():
        customer = _customer(actor, customer_id)
        template = (PlanTemplate.objects.filter(pk=template_id, active=True).first()
                    if str(template_id).isdigit() else None)
        if template is None:
            raise field_error("template_invalid", "template_id", _("请选择启用中的行动计划模板"))
        steps = rules.clean_steps(template.steps)
        holidays, makeup = workday_calendar()
        dated = rules.plan_step_dates(start_on, steps, today=today, holidays=holidays, makeup=makeup)
        plan = ActionPlan.objects.create(template=template, customer=customer, owner=actor,
                                         branch_path=customer.branch.path, started_on=start_on)
        Task.objects.bulk_create([
            Task(owner=actor, customer=customer, plan=plan, branch_path=customer.branch.path, title=s.title[:120],
                 due_on=s.due_on, source=Task.Source.PLAN, source_ref=f"plan:{plan.pk}:{s.index}", created_by=actor)
            for s in dated])
        audit.record(actor=actor, verb="engagement.plan_started", target=plan, target_repr=f"P{plan.pk}",
                     after={"template": template.code, "customer": customer.pk, "started_on": start_on,
                            "tasks": [[s.title, s.due_on] for s in dated]})
    return plan


def plan_cancel(*, actor: Any, plan_id: Any, reason: str) -> ActionPlan:
    access.require(actor, "engagement.log")
    reason = _text(reason, "reason", 2, 200, _("请填写取消原因（至少2个字）"))
    with transaction.atomic():
        plan = (selectors.plans_visible(actor).select_for_update().filter(pk=plan_id).first()
                if str(plan_id).isdigit() else None)
        if plan is None:
            raise NotFound("plan_not_found", _("行动计划不存在或无权查看"))
        if plan.owner_id != actor.pk:
            raise PermissionDenied("not_plan_owner", _("只有计划负责人可以取消该计划"), capability="engagement.log")
        if plan.status != ActionPlan.Status.ACTIVE:
            raise RuleViolation("plan_not_active", _("行动计划已完成或已取消"))
        n = plan.tasks.filter(status=Task.Status.OPEN).update(status=Task.Status.CANCELLED, result=reason[:200],
                                                              done_at=_now())
        plan.status = ActionPlan.Status.CANCELLED
        plan.save(update_fields=["status"])
        audit.record(actor=actor, verb="engagement.plan_started", target=plan, target_repr=f"P{plan.pk}",
                     before={"status": "active"}, after={"status": plan.status, "tasks_cancelled": n}, reason=reason)
    return plan


# ---- Referrals -------------------------------------------------------------------------------------------------------
REFERRAL_FIELDS = ["status", "from_staff_id", "to_staff_id", "customer_id", "outcome", "opportunity_id"]


def referral_receivers(actor: Any, customer: Any) -> list[Any]:
    """Staff the actor may refer this customer to: active colleagues of the customer's branch (second level) holding
    ``engagement.pipeline`` who can see the customer — or, when the actor may assign managers, any such customer
    manager (accepting then adds them to the customer's team)."""
    from bankcrm.org.models import Staff

    region = _region(customer.branch.path)
    grant = access.can(actor, "customers.assign_manager")
    out = []
    for s in (Staff.objects.filter(is_active=True, branch__path__startswith=region).exclude(pk=actor.pk)
              .select_related("branch").prefetch_related("role_assignments").order_by("branch__path", "staff_no")[:200]):
        if not s.may_work_now() or not access.can(s, "engagement.pipeline"):
            continue
        if _sees_customer(s, customer.pk) or (grant and "customer_manager" in s.roles):
            out.append(s)
    return out


def referral_send(*, actor: Any, customer_id: Any, to_staff_id: Any, reason: str) -> Referral:
    access.require(actor, "engagement.pipeline")
    reason = _text(reason, "reason", 2, 200, _("请填写转介原因（至少2个字）"))
    with transaction.atomic():
        customer = _customer(actor, customer_id)
        to = _staff(to_staff_id, "to_staff_id")
        if to.pk == actor.pk:
            raise field_error("referral_to_self", "to_staff_id", _("不能转介给自己"))
        if not access.can(to, "engagement.pipeline"):
            raise field_error("receiver_invalid", "to_staff_id", _("接收人须为客户经理或网点负责人"))
        if _region(to.branch.path) != _region(customer.branch.path):
            raise field_error("receiver_other_branch", "to_staff_id", _("接收人须与客户属于同一分支机构"))
        if not _sees_customer(to, customer.pk):
            if not (access.can(actor, "customers.assign_manager") and "customer_manager" in to.roles):
                raise field_error("receiver_cannot_see", "to_staff_id",
                                  _("接收人须已能查看该客户（为其服务的客户经理或所在网点负责人）；"
                                    "如需转给其他客户经理，请由网点负责人发起转介"))
        if Referral.objects.filter(customer=customer, to_staff=to,
                                   status__in=[Referral.Status.SENT, Referral.Status.ACCEPTED]).exists():
            raise RuleViolation("referral_open", _("已有一条转给该员工的未完成转介"))
        r = Referral.objects.create(customer=customer, from_staff=actor, to_staff=to, reason=reason,
                                    branch_path=customer.branch.path)
        audit.record(actor=actor, verb="engagement.referral", target=r, target_repr=f"R{r.pk}",
                     after=audit.snapshot(r, REFERRAL_FIELDS))
    return r


def _referral_for_update(actor: Any, referral_id: Any, status: str) -> Referral:
    access.require(actor, "engagement.pipeline")
    r = (selectors.referrals_visible(actor).select_for_update().filter(pk=referral_id).first()
         if str(referral_id).isdigit() else None)
    if r is None:
        raise NotFound("referral_not_found", _("转介不存在或无权查看"))
    if r.to_staff_id != actor.pk:
        raise PermissionDenied("not_referral_receiver", _("只有接收人可以处理该转介"), capability="engagement.pipeline")
    if r.status != status:
        raise RuleViolation("referral_status", _("转介当前状态（%(s)s）不允许此操作") % {"s": r.get_status_display()})
    return r


def referral_accept(*, actor: Any, referral_id: Any) -> Referral:
    """The receiver accepts. If they cannot see the customer yet (a supervisor's referral to another customer
    manager), they join the customer's team through the customers app, authorised by the sender."""
    with transaction.atomic():
        r = _referral_for_update(actor, referral_id, Referral.Status.SENT)
        before = audit.snapshot(r, REFERRAL_FIELDS)
        if not _sees_customer(actor, r.customer_id):
            _join_team(r)
        r.status, r.decided_at = Referral.Status.ACCEPTED, _now()
        r.save(update_fields=["status", "decided_at"])
        audit.record(actor=actor, verb="engagement.referral", target=r, target_repr=f"R{r.pk}", before=before,
                     after=audit.snapshot(r, REFERRAL_FIELDS))
    return r


def _join_team(r: Referral) -> None:
    from bankcrm.customers.services import manager_assign
    from bankcrm.org.models import Staff

    sender = Staff.objects.select_related("branch").get(pk=r.from_staff_id)
    if not access.can(sender, "customers.assign_manager"):
        raise RuleViolation("referral_grant_unavailable",
                            _("您尚不能查看该客户，且转介人已无分配客户经理的权限；请联系网点负责人"))
    try:
        with transaction.atomic():
            manager_assign(actor=sender, customer_id=r.customer_id, staff_id=r.to_staff_id, role="team",
                           reason=str(_("接收转介 R%(n)s") % {"n": r.pk}))
    except DomainError as exc:
        raise RuleViolation("referral_grant_failed",
                            _("无法将您加入该客户的服务团队：%(m)s") % {"m": exc.message}) from None


def referral_decline(*, actor: Any, referral_id: Any, reason: str) -> Referral:
    reason = _text(reason, "reason", 2, 200, _("请填写退回原因（至少2个字）"))
    with transaction.atomic():
        r = _referral_for_update(actor, referral_id, Referral.Status.SENT)
        before = audit.snapshot(r, REFERRAL_FIELDS)
        r.status, r.outcome, r.decided_at = Referral.Status.DECLINED, reason, _now()
        r.save(update_fields=["status", "outcome", "decided_at"])
        audit.record(actor=actor, verb="engagement.referral", target=r, target_repr=f"R{r.pk}", before=before,
                     after=audit.snapshot(r, REFERRAL_FIELDS), reason=reason)
    return r


def referral_complete(*, actor: Any, referral_id: Any, outcome: str) -> Referral:
    outcome = _text(outcome, "outcome", 2, 200, _("请填写转介结果（至少2个字）"))
    with transaction.atomic():
        r = _referral_for_update(actor, referral_id, Referral.Status.ACCEPTED)
        before = audit.snapshot(r, REFERRAL_FIELDS)
        r.status, r.outcome = Referral.Status.COMPLETED, outcome
        r.save(update_fields=["status", "outcome"])
        audit.record(actor=actor, verb="engagement.referral", target=r, target_repr=f"R{r.pk}", before=before,
                     after=audit.snapshot(r, REFERRAL_FIELDS))
    return r


# ---- Opportunities ---------------------------------------------------------------------------------------------------
OPPORTUNITY_FIELDS = ["title", "goal", "stage", "product_id", "amount_fen", "expected_close", "sale_id", "lost_reason",
                      "owner_id", "customer_id"]
MAX_AMOUNT_FEN = 10**13


def _product(actor: Any, product_id: Any) -> Any:
    if product_id in (None, ""):
        return None
    from bankcrm.wealth.selectors import product_get

    try:
        return product_get(actor, product_id)
    except NotFound:
        raise field_error("product_invalid", "product_id", _("意向产品不存在")) from None


def _amount(value: Any) -> int:
    try:
        amount = int(value or 0)
    except (TypeError, ValueError):
        raise field_error("amount_invalid", "amount_fen", _("金额须为整数（分）")) from None
    if amount < 0 or amount > MAX_AMOUNT_FEN:
        raise field_error("amount_invalid", "amount_fen", _("金额超出范围"))
    return amount


def _expected_close(value: date | None) -> date | None:
    if value is not None and (value < _today() or value > _today() + timedelta(days=3 * 366)):
        raise field_error("expected_close_invalid", "expected_close", _("预计成交日须在今天至三年以内"))
    return value


def opportunity_create(*, actor: Any, customer_id: Any, goal: str, title: str = "", product_id: Any = None,
                       amount_fen: Any = 0, expected_close: date | None = None, owner_id: Any = None,
                       referral_id: Any = None) -> Opportunity:
    """Open an opportunity from a need (a goal code from the fixed list). From an accepted referral, the receiver
    opens it and the referral points to it."""
    access.require(actor, "engagement.pipeline")
    goal = rules.clean_goal(goal)
    title = _text(title or f"{rules.goal_label(goal)}", "title", 2, 120, _("请填写商机名称（至少2个字）"))
    amount = _amount(amount_fen)
    expected_close = _expected_close(expected_close)
    with transaction.atomic():
        referral = None
        if referral_id not in (None, ""):
            referral = (selectors.referrals_visible(actor).select_for_update().filter(pk=referral_id).first()
                        if str(referral_id).isdigit() else None)
            if referral is None:
                raise NotFound("referral_not_found", _("转介不存在或无权查看"))
            if referral.to_staff_id != actor.pk or referral.status != Referral.Status.ACCEPTED:
                raise RuleViolation("referral_not_accepted", _("只有接收人可以从已接收的转介创建商机"))
            if referral.opportunity_id:
                raise RuleViolation("referral_has_opportunity", _("该转介已创建过商机"))
            customer_id = referral.customer_id
        customer = _customer(actor, customer_id)
        owner = actor if owner_id in (None, "", actor.pk) else _staff(owner_id, "owner_id")
        if not access.can(owner, "engagement.pipeline") or not _sees_customer(owner, customer.pk):
            raise field_error("owner_invalid", "owner_id", _("负责人须有商机权限且能查看该客户"))
        product = _product(actor, product_id)
        o = Opportunity.objects.create(customer=customer, owner=owner, branch_path=customer.branch.path, title=title,
                                       goal=goal, product=product, amount_fen=amount, expected_close=expected_close)
        if referral is not None:
            referral.opportunity = o
            referral.save(update_fields=["opportunity"])
        audit.record(actor=actor, verb="engagement.opportunity", target=o, target_repr=f"O{o.pk}",
                     after={**audit.snapshot(o, OPPORTUNITY_FIELDS), "referral": referral.pk if referral else None})
    return o


def _opportunity_for_update(actor: Any, opportunity_id: Any) -> Opportunity:
    access.require(actor, "engagement.pipeline")
    o = (selectors.opportunities_visible(actor).select_for_update().filter(pk=opportunity_id).first()
         if str(opportunity_id).isdigit() else None)
    if o is None:
        raise NotFound("opportunity_not_found", _("商机不存在或无权查看"))
    if o.owner_id != actor.pk and "branch_supervisor" not in actor.roles:
        raise PermissionDenied("not_opportunity_owner", _("只有商机负责人或网点负责人可以处理该商机"),
                               capability="engagement.pipeline")
    return o


def opportunity_update(*, actor: Any, opportunity_id: Any, **changes: Any) -> Opportunity:
    """Change an open opportunity's title, product, expected amount or expected close date."""
    allowed = {"title", "product_id", "amount_fen", "expected_close"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed("field_not_editable", _("不能修改这些字段：%(f)s") % {"f": "、".join(sorted(unknown))})
    with transaction.atomic():
        o = _opportunity_for_update(actor, opportunity_id)
        if o.stage not in Opportunity.OPEN:
            raise RuleViolation("opportunity_closed", _("商机已结束（已成交或未成交），不能修改"))
        before = audit.snapshot(o, OPPORTUNITY_FIELDS)
        if "title" in changes:
            o.title = _text(changes["title"], "title", 2, 120, _("请填写商机名称（至少2个字）"))
        if "product_id" in changes:
            o.product = _product(actor, changes["product_id"])
        if "amount_fen" in changes:
            o.amount_fen = _amount(changes["amount_fen"])
        if "expected_close" in changes:
            o.expected_close = _expected_close(changes["expected_close"])
        o.save()
        b, a = audit.diff(before, audit.snapshot(o, OPPORTUNITY_FIELDS))
        if a:
            audit.record(actor=actor, verb="engagement.opportunity", target=o, target_repr=f"O{o.pk}", before=b, after=a)
    return o


def opportunity_move(*, actor: Any, opportunity_id: Any, stage: str, lost_reason: str = "") -> Opportunity:
    """Move an opportunity forward (need → contacted → proposal) or close it as lost (with a reason). Winning is only
    through a settled sale (``opportunity_link_sale`` or the ``wealth.sold`` consumer)."""
    with transaction.atomic():
        o = _opportunity_for_update(actor, opportunity_id)
        rules.stage_move_check(o.stage, stage, lost_reason=lost_reason)
        before = audit.snapshot(o, OPPORTUNITY_FIELDS)
        o.stage = stage
        if stage == Opportunity.Stage.LOST:
            o.lost_reason, o.closed_at = lost_reason.strip()[:200], _now()
        o.save()
        audit.record(actor=actor, verb="engagement.opportunity", target=o, target_repr=f"O{o.pk}", before=before,
                     after=audit.snapshot(o, OPPORTUNITY_FIELDS), reason=o.lost_reason)
    return o


def _win(o: Opportunity, sale: Any, *, at: datetime | None) -> None:
    o.stage, o.sale_id, o.closed_at = Opportunity.Stage.WON, sale.pk, at or _now()
    o.amount_fen = sale.amount_fen
    if o.product_id is None:
        o.product_id = sale.product_id
    o.save()


def opportunity_link_sale(*, actor: Any, opportunity_id: Any, sale_id: Any) -> Opportunity:
    """Win an open opportunity with a settled wealth sale of the same customer (not linked to another one)."""
    from bankcrm.wealth.selectors import sale_get

    with transaction.atomic():
        o = _opportunity_for_update(actor, opportunity_id)
        if o.stage not in Opportunity.OPEN:
            raise RuleViolation("opportunity_closed", _("商机已结束（已成交或未成交）"))
        try:
            sale = sale_get(actor, sale_id)
        except NotFound:
            raise field_error("sale_invalid", "sale_id", _("销售记录不存在或无权查看")) from None
        if sale.customer_id != o.customer_id:
            raise field_error("sale_other_customer", "sale_id", _("只能关联同一客户的销售"))
        if sale.status != "settled":
            raise RuleViolation("sale_not_settled", _("只能关联已成交的销售"))
        if Opportunity.objects.filter(sale_id=sale.pk).exists():
            raise RuleViolation("sale_already_linked", _("该销售已关联其他商机"))
        before = audit.snapshot(o, OPPORTUNITY_FIELDS)
        _win(o, sale, at=sale.settled_at)
        audit.record(actor=actor, verb="engagement.opportunity", target=o, target_repr=f"O{o.pk}", before=before,
                     after=audit.snapshot(o, OPPORTUNITY_FIELDS))
    return o


def opportunity_win_from_sale(*, sale_id: int, customer_id: int, product_id: int | None,
                              settled_at: datetime | None = None) -> Opportunity | None:
    """The ``wealth.sold`` consumer's unit of work (system actor): the customer's open opportunity for that product
    (the most advanced, then the oldest) — else their open proposal-stage opportunity without a product — is won with
    the sale. Idempotent: a sale that already won an opportunity changes nothing. Returns the opportunity won."""
    from bankcrm.wealth.models import Sale

    with transaction.atomic():
        if Opportunity.objects.filter(sale_id=sale_id).exists():
            return None
        sale = Sale.objects.filter(pk=sale_id, customer_id=customer_id, status="settled").first()
        if sale is None:
            return None
        open_ = Opportunity.objects.select_for_update().filter(customer_id=customer_id, stage__in=Opportunity.OPEN)
        rank = {s: i for i, s in enumerate(reversed(rules.OPEN_STAGES))}
        candidates = sorted(open_.filter(product_id=product_id) if product_id else [],
                            key=lambda o: (rank[o.stage], o.created_at, o.pk))
        if not candidates:
            candidates = list(open_.filter(stage=Opportunity.Stage.PROPOSAL, product__isnull=True)
                              .order_by("created_at", "pk"))
        if not candidates:
            return None
        o = candidates[0]
        before = audit.snapshot(o, OPPORTUNITY_FIELDS)
        _win(o, sale, at=settled_at or sale.settled_at)
        audit.record(actor=None, verb="engagement.opportunity", target=o, target_repr=f"O{o.pk}", before=before,
                     after=audit.snapshot(o, OPPORTUNITY_FIELDS), reason="wealth.sold")
    return o


# ---- Needs profile ---------------------------------------------------------------------------------------------------
def needs_save(*, actor: Any, customer_id: Any, goals: Any, horizon: str, liquidity: str, constraints: str = "",
               notes: str = "") -> NeedsProfile:
    """Save the customer's needs profile; every change writes a new version (the history). Saving an unchanged
    profile writes nothing."""
    access.require(actor, "engagement.needs")
    data = rules.needs_data(rules.clean_goals(goals), _choice(horizon, NeedsProfile.Horizon.choices, "horizon"),
                            _choice(liquidity, NeedsProfile.Liquidity.choices, "liquidity"),
                            _optional(constraints, "constraints", 300), _optional(notes, "notes", 2000))
    with transaction.atomic():
        customer = _customer(actor, customer_id, for_update=True)  # serialises saves of one customer's profile
        profile = NeedsProfile.objects.select_for_update().filter(customer=customer).first()
        now = _now()
        if profile is None:
            profile = NeedsProfile(customer=customer, version=0)
            before: dict[str, Any] = {}
        else:
            before = rules.needs_data(profile.goals, profile.horizon, profile.liquidity, profile.constraints,
                                      profile.notes)
            if before == data:
                return profile
        profile.goals, profile.horizon, profile.liquidity = data["goals"], data["horizon"], data["liquidity"]
        profile.constraints, profile.notes = data["constraints"], data["notes"]
        profile.version += 1
        profile.recorded_by, profile.recorded_at = actor, now
        profile.save()
        NeedsProfileVersion.objects.create(customer=customer, version=profile.version, data=data, recorded_by=actor,
                                           recorded_at=now)
        changed = [d["field"] for d in rules.needs_diff(before or None, data)]
        # free text (constraints, notes) is not copied into the audit trail: the version row keeps it, in scope
        audit.record(actor=actor, verb="engagement.needs_saved", target=customer,
                     before={"version": profile.version - 1, "goals": before.get("goals", [])},
                     after={"version": profile.version, "goals": data["goals"], "horizon": data["horizon"],
                            "liquidity": data["liquidity"], "changed": changed})
    return profile


# ---- Convenience for the calendar ------------------------------------------------------------------------------------
def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_default_timezone()
    return datetime.combine(day, time.min, tz), datetime.combine(day + timedelta(days=1), time.min, tz)


# ---- Handover: open work follows the customer -------------------------------------------------------------------
def work_follow_handover(*, handover_id: int, departing_id: int, moves: list[tuple[int, int]]) -> dict[str, int]:
    """Move the departing manager's open work on each handed-over customer to its successor (system action, run by
    the ``engagement_handover`` consumer after the approved handover committed). One audit event with the counts."""
    by_successor: dict[int, list[int]] = {}
    for customer_id, successor_id in moves:
        by_successor.setdefault(successor_id, []).append(customer_id)
    counts = {"tasks": 0, "plans": 0, "opportunities": 0, "planned_contacts": 0}
    with transaction.atomic():
        for successor_id, customers in sorted(by_successor.items()):
            mine = {"owner_id": departing_id, "customer_id__in": customers}
            counts["tasks"] += Task.objects.filter(status=Task.Status.OPEN, **mine).update(owner_id=successor_id)
            counts["plans"] += ActionPlan.objects.filter(status=ActionPlan.Status.ACTIVE, **mine).update(
                owner_id=successor_id)
            counts["opportunities"] += Opportunity.objects.filter(stage__in=Opportunity.OPEN, **mine).update(
                owner_id=successor_id)
            counts["planned_contacts"] += Interaction.objects.filter(
                status=Interaction.Status.PLANNED, staff_id=departing_id, customer_id__in=customers).update(
                staff_id=successor_id)
        if any(counts.values()):
            audit.record(actor=None, verb="engagement.work_handed_over", target_type="customers.Handover",
                         target_id=str(handover_id), target_repr=f"#{handover_id}",
                         after={**counts, "departing": departing_id, "customers": len(moves)})
    return counts
