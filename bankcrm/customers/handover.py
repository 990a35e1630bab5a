"""Portfolio handover: when a customer manager leaves (deactivation, contract end) or is moved, every customer they
serve goes to a named successor. A supervisor prepares it, a second person approves it, and it executes in one
transaction; it refuses to execute if any customer would be orphaned (DOMAIN_RULES.md §7)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.approvals.registry import ApprovableAction, register
from bankcrm.approvals.services import approval_submit
from bankcrm.core import access, audit, outbox
from bankcrm.core.access import Role
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.org import hooks

from .models import Handover, HandoverItem, ManagerAssignment

ACTION = "customers.handover"
TOPIC_HANDOVER_EXECUTED = "customers.handover_executed"
H = Handover.Status


def handovers_visible(actor: Any):
    from bankcrm.org.models import Staff

    if not access.can(actor, "customers.assign_manager"):
        return Handover.objects.none()
    return Handover.objects.filter(departing__in=Staff.objects.visible_to(actor)).select_related("departing", "departing__branch")


def handover_get(actor: Any, handover_id: Any, *, for_update: bool = False) -> Handover:
    qs = handovers_visible(actor)
    if for_update:
        qs = qs.select_for_update(of=("self",)) if _has_of() else qs.select_for_update()
    try:
        return qs.get(pk=int(handover_id))
    except (Handover.DoesNotExist, ValueError, TypeError):
        raise NotFound("handover_not_found", _("移交单不存在或无权查看")) from None


def _has_of() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_of


def _current(staff: Any):
    return ManagerAssignment.objects.filter(staff=staff, ended_at__isnull=True).select_related("customer")


def _open(departing: Any, reason: str, actor: Any) -> Handover | None:
    assignments = list(_current(departing))
    if not assignments:
        return None
    try:
        with transaction.atomic():
            h = Handover.objects.create(departing=departing, reason=reason[:200], created_by=actor)
    except IntegrityError:
        return Handover.objects.get(departing=departing, status__in=[H.DRAFT, H.SUBMITTED])
    HandoverItem.objects.bulk_create([HandoverItem(handover=h, customer=a.customer, role=a.role) for a in assignments])
    audit.record(actor=actor, verb="customers.handover_opened", target=h, target_type="customers.Handover",
                 target_repr=f"#{h.pk} {departing.staff_no}", after={"departing": departing.pk, "customers": len(assignments)},
                 reason=reason)
    return h


def handover_open(*, actor: Any, staff_id: int, reason: str) -> Handover:
    """A supervisor opens a handover of a member of staff's whole portfolio."""
    access.require(actor, "customers.assign_manager")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("请填写移交原因"), fields={"reason": [_("必填")]})
    from bankcrm.org.selectors import staff_get

    with transaction.atomic():
        departing = staff_get(actor, staff_id)
        h = _open(departing, reason, actor)
        if h is None:
            raise RuleViolation("nothing_to_hand_over", _("该员工名下没有需要移交的客户"))
    return h


@hooks.on_access_ended
def open_on_departure(*, staff: Any, reason: str) -> None:
    """Deactivation or contract end: the portfolio goes into a draft handover at once (system actor), so the
    supervisor sees it in the inbox and no customer silently keeps a manager who has left."""
    _open(staff, _("离岗：%(r)s") % {"r": reason}, None)


def _successor_ok(actor: Any, h: Handover, successor: Any) -> None:
    if successor.pk == h.departing_id:
        raise RuleViolation("successor_is_departing", _("接手人不能是移交人本人"))
    if Role.CUSTOMER_MANAGER not in successor.roles or not successor.may_work_now():
        raise RuleViolation("successor_not_manager", _("接手人必须是在岗的客户经理"))


def handover_set_successor(*, actor: Any, handover_id: int, successor_id: int, item_ids: list[int] | None = None) -> int:
    """Name the successor for some items (or all that have none yet). Returns the number of items changed."""
    access.require(actor, "customers.assign_manager")
    from bankcrm.org.selectors import staff_get

    with transaction.atomic():
        h = handover_get(actor, handover_id, for_update=True)
        if h.status != H.DRAFT:
            raise RuleViolation("handover_not_draft", _("移交单已提交，不能修改"))
        successor = staff_get(actor, successor_id)
        _successor_ok(actor, h, successor)
        items = h.items.all() if item_ids else h.items.filter(successor__isnull=True)
        if item_ids:
            items = items.filter(pk__in=item_ids)
        n = items.update(successor=successor)
        audit.record(actor=actor, verb="customers.handover_successor_set", target=h, target_type="customers.Handover",
                     after={"successor": successor.pk, "items": n})
    return n


def _payload(h: Handover) -> dict:
    return {"handover_id": h.pk, "departing": h.departing_id,
            "items": sorted([i.customer_id, i.role, i.successor_id] for i in h.items.all())}


def handover_submit(*, actor: Any, handover_id: int) -> Handover:
    access.require(actor, "customers.assign_manager")
    with transaction.atomic():
        h = handover_get(actor, handover_id, for_update=True)
        if h.status != H.DRAFT:
            raise RuleViolation("handover_not_draft", _("移交单已提交"))
        missing = h.items.filter(role=ManagerAssignment.Role.PRIMARY, successor__isnull=True).count()
        if missing:
            raise RuleViolation("handover_incomplete", _("还有 %(n)d 名客户没有指定接手的客户经理") % {"n": missing})
        h.pending_action = approval_submit(actor=actor, action_code=ACTION, payload=_payload(h), target=h.departing,
                                           summary=_("客户移交：%(name)s（%(no)s）名下 %(n)d 名客户") % {
                                               "name": h.departing.name, "no": h.departing.staff_no, "n": h.items.count()},
                                           reason=h.reason)
        h.status = H.SUBMITTED
        h.save(update_fields=["status", "pending_action"])
        audit.record(actor=actor, verb="customers.handover_submitted", target=h, target_type="customers.Handover",
                     after={"pending_action": h.pending_action_id})
    return h


def handover_cancel(*, actor: Any, handover_id: int, reason: str) -> Handover:
    access.require(actor, "customers.assign_manager")
    with transaction.atomic():
        h = handover_get(actor, handover_id, for_update=True)
        if h.status != H.DRAFT:
            raise RuleViolation("handover_not_draft", _("只能取消草拟中的移交单（已提交的请在复核中拒绝）"))
        if not h.departing.may_work_now():
            raise RuleViolation("handover_required", _("移交人已离岗，其客户必须移交，不能取消"))
        h.status = H.CANCELLED
        h.save(update_fields=["status"])
        audit.record(actor=actor, verb="customers.handover_cancelled", target=h, target_type="customers.Handover", reason=reason)
    return h


def execute_handover(*, payload: dict, maker: Any, checker: Any) -> dict:
    """Approved: move exactly the reviewed items, after checking that the portfolio has not changed since."""
    h = Handover.objects.select_for_update().filter(pk=payload["handover_id"]).first()
    if h is None or h.status != H.SUBMITTED:
        raise RuleViolation("handover_not_submitted", _("移交单状态已变化，不能执行"))
    current = {(a.customer_id, a.role) for a in _current(h.departing)}
    reviewed = {(c, r) for c, r, _s in payload["items"]}
    if current - reviewed:
        raise RuleViolation("handover_portfolio_changed", _("移交人名下新增了客户，请重新发起移交"))
    from bankcrm.org.models import Staff

    now = timezone.now()
    moved = 0
    for customer_id, role, successor_id in payload["items"]:
        ManagerAssignment.objects.filter(customer_id=customer_id, staff=h.departing, ended_at__isnull=True).update(ended_at=now)
        if successor_id is None:
            continue
        successor = Staff.objects.get(pk=successor_id)
        if Role.CUSTOMER_MANAGER not in successor.roles or not successor.may_work_now():
            raise RuleViolation("successor_not_manager", _("接手人 %(no)s 已不是在岗客户经理") % {"no": successor.staff_no})
        existing = ManagerAssignment.objects.filter(customer_id=customer_id, staff=successor, ended_at__isnull=True).first()
        if existing and (existing.role == role or role == ManagerAssignment.Role.TEAM):
            continue
        if existing:  # a team member becomes the primary manager
            existing.ended_at = now
            existing.save(update_fields=["ended_at"])
        ManagerAssignment.objects.create(customer_id=customer_id, staff=successor, role=role, started_at=now,
                                         assigned_by=checker, reason=_("客户移交 #%(id)d") % {"id": h.pk})
        moved += 1
    orphans = (ManagerAssignment.objects.filter(customer_id__in=[c for c, _r, _s in payload["items"]], role="primary",
                                                ended_at__isnull=True).values("customer_id").distinct().count())
    if orphans != len({c for c, r, _s in payload["items"] if r == "primary"}):
        raise RuleViolation("handover_would_orphan", _("执行后将有客户没有主管客户经理，已取消"))
    h.status, h.executed_at = H.EXECUTED, now
    h.save(update_fields=["status", "executed_at"])
    # Features that keep per-manager work on a customer (tasks, opportunities, planned contacts) move it after commit;
    # ids only, no personal data in events.
    outbox.publish(TOPIC_HANDOVER_EXECUTED, {
        "handover_id": h.pk, "departing_id": h.departing_id,
        "moves": sorted([c, s] for c, r, s in payload["items"] if s is not None and r == "primary")})
    audit.record(actor=checker, verb="customers.handover_executed", target=h, target_type="customers.Handover",
                 after={"moved": moved, "customers": sorted({c for c, _r, _s in payload["items"]})})
    return {"moved": moved, "handover_id": h.pk}


def describe(payload: dict) -> list[tuple[str, str]]:
    from collections import Counter

    from bankcrm.org.models import Staff

    staff = {s.pk: s for s in Staff.objects.filter(pk__in={payload["departing"], *(s for _c, _r, s in payload["items"] if s)})}
    dep = staff.get(payload["departing"])
    counts = Counter(s for _c, _r, s in payload["items"])
    rows = [(_("移交人"), f"{dep.name}（{dep.staff_no}）" if dep else str(payload["departing"]))]
    for sid, n in counts.most_common():
        who = f"{staff[sid].name}（{staff[sid].staff_no}）" if sid in staff else _("（协办关系结束）")
        rows.append((_("接手人"), _("%(who)s：%(n)d 名客户") % {"who": who, "n": n}))
    return rows


register(ApprovableAction(code=ACTION, label=gettext_lazy("客户移交"), execute=execute_handover,
                          checker_capability="customers.assign_manager", describe=describe))


def _open_for(actor: Any):
    return handovers_visible(actor).filter(status=H.DRAFT)


def _inbox_items(actor: Any):
    from django.urls import reverse

    from bankcrm.core.inbox import InboxItem

    for h in _open_for(actor)[:50]:
        yield InboxItem(kind="handover", kind_label=gettext_lazy("客户移交"),
                        title=_("%(name)s（%(no)s）的客户待指定接手人") % {"name": h.departing.name, "no": h.departing.staff_no},
                        url=reverse("customers:handover", args=[h.pk]), due_at=None, subtitle=h.reason)


def _register_inbox() -> None:
    from bankcrm.core.inbox import register_provider

    register_provider("customers.handovers", _inbox_items, lambda a: _open_for(a).count())


_register_inbox()
