"""Service request and complaint services: every state change checks the capability, the actor's scope and — for
complaints — recusal (the staff member complained about can never be assigned, handle, extend, decide, close or
approve anything on it), writes, adds a timeline event and one audit event, in one transaction.

Deadlines come from `rules` (pure) with figures from `core.params` and the holiday calendar, computed once and stored.
The escalation sweep (`sweep`) is crash-safe: its selection is "targets about to be missed and not yet escalated", the
flag and the notification (unique ``dedupe_key``) commit together per chunk, so a killed run resumes where it stopped
and a re-run notifies nobody twice (QUALITY.md R14).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, audit, outbox, params, sequences
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation
from bankcrm.core.errors import field_error as _field_error
from bankcrm.core.workdays import calendar

from . import rules, selectors
from .access_policy import may_handle_complaints, senior_at_head_office
from .models import (
    Channel,
    Complaint,
    Event,
    Extension,
    Notice,
    Notification,
    ProductLine,
    Rectification,
    RootCause,
    ServiceRequest,
)

# The default root-cause taxonomy (administrators maintain it afterwards).
DEFAULT_ROOT_CAUSES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("ATT", "服务态度", [("ATT01", "接待冷漠或不耐烦"), ("ATT02", "解释不清或推诿"), ("ATT03", "言行不当")]),
    ("ERR", "业务差错", [("ERR01", "操作失误"), ("ERR02", "资料录入错误"), ("ERR03", "未按流程办理")]),
    ("SYS", "系统故障", [("SYS01", "系统宕机或卡顿"), ("SYS02", "渠道功能缺陷"), ("SYS03", "数据不一致")]),
    ("PRD", "产品设计", [("PRD01", "产品条款不合理"), ("PRD02", "办理流程繁琐")]),
    ("FEE", "收费定价", [("FEE01", "收费项目或标准争议"), ("FEE02", "利率或收益争议")]),
    ("DIS", "信息披露", [("DIS01", "风险揭示不充分"), ("DIS02", "信息告知不及时")]),
    ("MKT", "营销行为", [("MKT01", "误导销售"), ("MKT02", "过度营销或骚扰"), ("MKT03", "未经同意营销")]),
    ("OTH", "其他", [("OTH01", "其他原因")]),
]
FURTHER_ROUTES = [
    ("review", _("申请复核")), ("mediation", _("调解")), ("arbitration", _("仲裁")), ("litigation", _("诉讼")),
]


def _tz() -> Any:
    return timezone.get_default_timezone()


def _now() -> datetime:
    return timezone.now()


def _event(*, request: ServiceRequest | None = None, complaint: Complaint | None = None, kind: str, text: str = "",
           actor: Any = None, at: datetime | None = None) -> Event:
    return Event.objects.create(request=request, complaint=complaint, kind=kind, text=str(text)[:500],
                                actor=actor if getattr(actor, "pk", None) else None, at=at or _now())


def _text(value: str | None, field: str, minimum: int, message: Any, maximum: int = 4000) -> str:
    value = (value or "").strip()
    if len(value) < minimum:
        raise _field_error(f"{field}_required", field, message)
    return value[:maximum]


def _choice(value: str, choices: Any, field: str) -> str:
    if value not in {c for c, _l in choices}:
        raise _field_error(f"{field}_invalid", field, _("选项无效"))
    return value


# ---- Staff relations ------------------------------------------------------------------------------------------------
def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def supervisor_for_path(path: str, *, exclude: set[int] | frozenset[int] = frozenset()) -> Any:
    """The nearest active branch supervisor at ``path`` or above (not anyone in ``exclude``); failing that, a
    head-office compliance manager, who oversees complaints bank-wide."""
    from bankcrm.org.models import Staff

    base = Staff.objects.filter(is_active=True).exclude(pk__in=exclude).select_related("branch")
    candidates = list(base.filter(role_assignments__role="branch_supervisor", branch__path__in=_ancestor_paths(path)))
    if candidates:
        return sorted(candidates, key=lambda s: (-len(s.branch.path), s.staff_no))[0]
    heads = [s for s in base.filter(role_assignments__role="compliance_manager") if s.branch.path.count("/") <= 2]
    return sorted(heads, key=lambda s: s.staff_no)[0] if heads else None


def supervisor_of(staff: Any, *, exclude: set[int] | frozenset[int] = frozenset()) -> Any:
    """The staff member's supervisor: the nearest branch supervisor of their branch or above, never themselves."""
    return supervisor_for_path(staff.branch.path, exclude={staff.pk, *exclude})


def _staff(staff_id: Any, field: str) -> Any:
    from bankcrm.org.models import Staff

    s = Staff.objects.select_related("branch").filter(pk=staff_id, is_active=True).first() \
        if str(staff_id).isdigit() else None
    if s is None:
        raise _field_error("staff_not_found", field, _("员工不存在或已停用"))
    return s


def _customer_visible_to(staff: Any, customer_id: int) -> bool:
    return selectors.customer_visible_to(staff, customer_id)


# ---- Root causes ----------------------------------------------------------------------------------------------------
def root_causes_install_default(*, actor: Any = None) -> int:
    """Install the default two-level taxonomy where it is missing (idempotent). Returns how many were added."""
    if actor is not None:
        access.require(actor, "service.manage_causes")
    added = 0
    with transaction.atomic():
        have = set(RootCause.objects.values_list("code", flat=True))
        for i, (code, name, subs) in enumerate(DEFAULT_ROOT_CAUSES):
            top = RootCause.objects.filter(code=code).first()
            if top is None:
                top = RootCause.objects.create(code=code, name=name, order=i * 10)
                added += 1
            for j, (scode, sname) in enumerate(subs):
                if scode not in have:
                    RootCause.objects.create(code=scode, name=sname, parent=top, order=i * 10 + j + 1)
                    added += 1
        if added:
            audit.record(actor=actor, verb="service.root_cause_saved", target_type="service.RootCause",
                         target_id="default", after={"installed": added})
    return added


def root_cause_save(*, actor: Any, code: str, name: str, parent_code: str = "", active: bool = True,
                    order: int = 0) -> RootCause:
    """Add a cause or change one (name, parent, active, order). Codes are fixed; a cause in use is deactivated,
    never deleted."""
    access.require(actor, "service.manage_causes")
    code = (code or "").strip().upper()
    name = _text(name, "name", 2, _("请填写原因名称（至少2个字）"), 60)
    if not code or len(code) > 20 or not code.replace("_", "").isalnum():
        raise _field_error("code_invalid", "code", _("代码只能包含字母、数字和下划线（最多20位）"))
    with transaction.atomic():
        parent = None
        if parent_code:
            parent = RootCause.objects.filter(code=parent_code.strip().upper(), parent__isnull=True).first()
            if parent is None or parent.code == code:
                raise _field_error("parent_invalid", "parent_code", _("上级原因须是已有的一级原因"))
        cause = RootCause.objects.select_for_update().filter(code=code).first()
        before = {"name": cause.name, "parent": cause.parent_id, "active": cause.active} if cause else {}
        if cause is None:
            cause = RootCause(code=code)
        elif parent is not None and cause.children.exists():
            raise _field_error("parent_invalid", "parent_code", _("一级原因下已有细分原因，不能再设上级"))
        cause.name, cause.parent, cause.active, cause.order = name, parent, bool(active), max(0, int(order or 0))
        cause.save()
        audit.record(actor=actor, verb="service.root_cause_saved", target=cause, target_repr=str(cause),
                     before=before, after={"name": name, "parent": cause.parent_id, "active": cause.active})
    return cause


# ---- Service requests -----------------------------------------------------------------------------------------------
def request_targets(received_at: datetime, priority: str) -> tuple[datetime, datetime]:
    table = {p: (params.value(f"service.respond.{p}", received_at), params.value(f"service.resolve.{p}", received_at))
             for p in rules.PRIORITIES}
    return rules.request_targets(received_at, priority, table)


def request_register(*, actor: Any, customer_id: Any, kind: str, channel: str, subject: str, description: str = "",
                     priority: str = "normal", owner_id: Any = None, appointment_at: datetime | None = None,
                     received_at: datetime | None = None) -> ServiceRequest:
    """Register an enquiry, request or appointment for a customer the actor can see; the owner (default: the actor)
    must be able to see the customer too. Targets by priority are computed now and stored."""
    from bankcrm.customers.selectors import customer_get

    access.require(actor, "service.register")
    kind = _choice(kind, ServiceRequest.Kind.choices, "kind")
    channel = _choice(channel, [c for c in Channel.choices if c[0] != Channel.SURVEY], "channel")
    priority = _choice(priority, ServiceRequest.Priority.choices, "priority")
    subject = _text(subject, "subject", 2, _("请填写事由（至少2个字）"), 120)
    now = _now()
    received_at = received_at or now
    if received_at > now + timedelta(minutes=5) or received_at < now - timedelta(days=30):
        raise _field_error("received_at_invalid", "received_at", _("受理时间须在最近30天内且不晚于现在"))
    if kind == ServiceRequest.Kind.APPOINTMENT and appointment_at is None:
        raise _field_error("appointment_required", "appointment_at", _("预约须填写预约时间"))
    with transaction.atomic():
        customer = customer_get(actor, customer_id)
        owner = actor if owner_id in (None, "", actor.pk) else _staff(owner_id, "owner_id")
        if not access.can(owner, "service.handle") or not _customer_visible_to(owner, customer.pk):
            raise _field_error("owner_invalid", "owner_id", _("负责人须有处理权限且能查看该客户"))
        respond_due, resolve_due = request_targets(received_at, priority)
        number = f"FW{timezone.localdate():%Y%m%d}{sequences.next_value('service.request'):05d}"
        req = ServiceRequest.objects.create(
            number=number, kind=kind, channel=channel, priority=priority, subject=subject,
            description=(description or "").strip()[:4000], customer=customer, branch_path=customer.branch.path,
            owner=owner, appointment_at=appointment_at if kind == ServiceRequest.Kind.APPOINTMENT else None,
            received_at=received_at, respond_due_at=respond_due, resolve_due_at=resolve_due, created_by=actor)
        _event(request=req, kind="registered", actor=actor, at=received_at,
               text=_t("登记（%(ch)s），负责人 %(o)s") % {"ch": req.get_channel_display(), "o": owner.name})
        audit.record(actor=actor, verb="service.request_registered", target=req, target_repr=req.number,
                     after={"kind": kind, "channel": channel, "priority": priority, "customer": customer.pk,
                            "owner": owner.pk, "respond_due_at": respond_due, "resolve_due_at": resolve_due})
    return req


def _request_for_update(actor: Any, request_id: Any, capability: str = "service.handle") -> ServiceRequest:
    access.require(actor, capability)
    req = selectors.requests_visible(actor).select_for_update().filter(pk=request_id).first() \
        if str(request_id).isdigit() else None
    if req is None:
        raise NotFound("request_not_found", _("服务请求不存在或无权查看"))
    return req


def _require_open_request(req: ServiceRequest) -> None:
    if not req.is_open:
        raise RuleViolation("request_not_open", _("该服务请求已解决或已关闭"))


def _require_owner_or_supervisor(actor: Any, req: ServiceRequest) -> None:
    if req.owner_id != actor.pk and not access.can(actor, "service.assign"):
        raise PermissionDenied("not_request_owner", _("只有负责人或其上级可以处理该服务请求"),
                               capability="service.handle")


def request_respond(*, actor: Any, request_id: Any, note: str) -> ServiceRequest:
    """The first response to the customer (the response target is met)."""
    with transaction.atomic():
        req = _request_for_update(actor, request_id)
        _require_open_request(req)
        note = _text(note, "note", 2, _("请填写响应内容"), 500)
        _require_owner_or_supervisor(actor, req)
        if req.responded_at:
            raise RuleViolation("already_responded", _("该服务请求已响应"))
        req.responded_at, req.status = _now(), ServiceRequest.Status.IN_PROGRESS
        req.save(update_fields=["responded_at", "status"])
        _event(request=req, kind="responded", actor=actor, text=note)
        audit.record(actor=actor, verb="service.request_responded", target=req, target_repr=req.number,
                     after={"responded_at": req.responded_at, "on_time": req.responded_at <= req.respond_due_at})
    return req


def request_assign(*, actor: Any, request_id: Any, owner_id: Any) -> ServiceRequest:
    """Hand a request to another owner (a supervisor, or the owner passing it on) who can see the customer."""
    with transaction.atomic():
        req = _request_for_update(actor, request_id)
        _require_open_request(req)
        _require_owner_or_supervisor(actor, req)
        owner = _staff(owner_id, "owner_id")
        if owner.pk == req.owner_id:
            raise RuleViolation("same_owner", _("新负责人与当前负责人相同"))
        if not access.can(owner, "service.handle") or not _customer_visible_to(owner, req.customer_id):
            raise _field_error("owner_invalid", "owner_id", _("负责人须有处理权限且能查看该客户"))
        before = {"owner": req.owner_id}
        req.owner = owner
        req.save(update_fields=["owner"])
        _event(request=req, kind="assigned", actor=actor, text=_t("转派给 %(o)s") % {"o": owner.name})
        audit.record(actor=actor, verb="service.request_assigned", target=req, target_repr=req.number,
                     before=before, after={"owner": owner.pk})
    return req


def request_resolve(*, actor: Any, request_id: Any, resolution: str) -> ServiceRequest:
    with transaction.atomic():
        req = _request_for_update(actor, request_id)
        _require_open_request(req)
        resolution = _text(resolution, "resolution", 4, _("请填写处理结果（至少4个字）"))
        _require_owner_or_supervisor(actor, req)
        now = _now()
        req.responded_at = req.responded_at or now
        req.resolved_at, req.resolution, req.status = now, resolution, ServiceRequest.Status.RESOLVED
        req.save(update_fields=["responded_at", "resolved_at", "resolution", "status"])
        _event(request=req, kind="resolved", actor=actor, text=resolution)
        audit.record(actor=actor, verb="service.request_resolved", target=req, target_repr=req.number,
                     after={"status": req.status, "on_time": now <= req.resolve_due_at})
    return req


def request_close(*, actor: Any, request_id: Any) -> ServiceRequest:
    with transaction.atomic():
        req = _request_for_update(actor, request_id)
        _require_owner_or_supervisor(actor, req)
        if req.status != ServiceRequest.Status.RESOLVED:
            raise RuleViolation("request_not_resolved", _("请先记录处理结果再关闭"))
        req.closed_at, req.status = _now(), ServiceRequest.Status.CLOSED
        req.save(update_fields=["closed_at", "status"])
        _event(request=req, kind="closed", actor=actor)
        audit.record(actor=actor, verb="service.request_closed", target=req, target_repr=req.number,
                     before={"status": "resolved"}, after={"status": req.status})
    return req


# ---- Complaints -----------------------------------------------------------------------------------------------------
def complaint_deadlines(received_at: datetime) -> tuple[date, date]:
    """(acknowledge by, decide by) for a complaint received at ``received_at``."""
    holidays, makeup = calendar()
    ack = rules.acknowledge_due(received_at, _tz(), params.value("complaints.acknowledge", received_at), holidays,
                                makeup)
    return ack, rules.decision_due(received_at, params.value("complaints.decision", received_at), _tz())


def _new_complaint(*, actor: Any, customer: Any, kind: str, channel: str, product_line: str, summary: str,
                   description: str, request: str, staff_named: Any, handler: Any, received_at: datetime,
                   source_ref: str | None) -> Complaint:
    ack_due, decision_due = complaint_deadlines(received_at)
    prefix = "FK" if kind == Complaint.Kind.FEEDBACK else "TS"
    number = f"{prefix}{timezone.localdate():%Y%m%d}{sequences.next_value('service.complaint'):05d}"
    branch = staff_named.branch if staff_named is not None else customer.branch
    now = _now()
    return Complaint.objects.create(
        number=number, kind=kind, channel=channel, product_line=product_line, summary=summary,
        description=description, request=request, customer=customer, branch_path=customer.branch.path, branch=branch,
        staff_named=staff_named, handler=handler, assigned_at=now if handler else None, source_ref=source_ref,
        status=Complaint.Status.ASSIGNED if handler else Complaint.Status.RECEIVED, received_at=received_at,
        ack_due_on=ack_due, decision_due_on=decision_due, created_by=actor if getattr(actor, "pk", None) else None)


def complaint_register(*, actor: Any, customer_id: Any, channel: str, summary: str, description: str = "",
                       request: str = "", product_line: str = "other", staff_named_id: Any = None,
                       received_at: datetime | None = None) -> Complaint:
    """Register a complaint received from a customer the actor can see. ``received_at`` is when the bank received
    it (a letter may arrive before it is registered); both deadlines run from then. ``staff_named_id``: the member
    of staff complained about, who is recused from everything on it."""
    from bankcrm.customers.selectors import customer_get

    access.require(actor, "service.register")
    channel = _choice(channel, [c for c in Channel.choices if c[0] != Channel.SURVEY], "channel")
    product_line = _choice(product_line, ProductLine.choices, "product_line")
    summary = _text(summary, "summary", 4, _("请填写投诉事由（至少4个字）"), 200)
    now = _now()
    received_at = received_at or now
    if received_at > now + timedelta(minutes=5) or received_at < now - timedelta(days=15):
        raise _field_error("received_at_invalid", "received_at", _("收到时间须在最近15天内且不晚于现在"))
    with transaction.atomic():
        customer = customer_get(actor, customer_id)
        named = _staff(staff_named_id, "staff_named_id") if staff_named_id not in (None, "") else None
        c = _new_complaint(actor=actor, customer=customer, kind=Complaint.Kind.COMPLAINT, channel=channel,
                           product_line=product_line, summary=summary, description=(description or "").strip()[:4000],
                           request=(request or "").strip()[:2000], staff_named=named, handler=None,
                           received_at=received_at, source_ref=None)
        _event(complaint=c, kind="registered", actor=actor, at=received_at,
               text=_t("收到投诉（%(ch)s）") % {"ch": c.get_channel_display()})
        audit.record(actor=actor, verb="service.complaint_registered", target=c, target_repr=c.number,
                     after={"customer": customer.pk, "channel": channel, "product_line": product_line,
                            "staff_named": named.pk if named else None, "ack_due_on": c.ack_due_on,
                            "decision_due_on": c.decision_due_on})
    return c


def feedback_case_open(*, customer_id: int, summary: str, source_ref: str, assignee_id: int | None,
                       actor: Any = None) -> Complaint:
    """A feedback case for a low survey score or negative comment: kind "feedback", channel "survey", tracked like a
    complaint (deadlines, root cause, rectification). Assigned to ``assignee_id`` (the surveys app passes the
    customer manager's supervisor), else to the supervisor of the customer's branch. The customer's primary manager
    — whose service was rated — is the staff named (recused). Idempotent per ``source_ref``: a second call returns
    the case already opened. ``actor`` None is the system."""
    from bankcrm.customers.models import Customer, ManagerAssignment

    if actor is not None:
        access.require(actor, "service.register")
    source_ref = (source_ref or "").strip()
    if not source_ref or len(source_ref) > 64:
        raise _field_error("source_ref_invalid", "source_ref", _("来源编号必填（最多64位）"))
    existing = Complaint.objects.filter(source_ref=source_ref).first()
    if existing is not None:
        return existing
    summary = _text(summary, "summary", 2, _("请填写反馈事由"), 200)
    customer = Customer.objects.select_related("branch").filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("customer_not_found", _("客户不存在"))
    manager = (ManagerAssignment.objects.filter(customer=customer, role="primary", ended_at__isnull=True)
               .select_related("staff__branch").first())
    named = manager.staff if manager else None
    assignee = _staff(assignee_id, "assignee_id") if assignee_id else None
    if assignee is None or (named is not None and assignee.pk == named.pk):
        assignee = supervisor_for_path(named.branch.path if named else customer.branch.path,
                                       exclude={named.pk} if named else set())
    try:
        with transaction.atomic():
            c = _new_complaint(actor=actor, customer=customer, kind=Complaint.Kind.FEEDBACK, channel=Channel.SURVEY,
                               product_line=ProductLine.SERVICE, summary=summary, description="", request="",
                               staff_named=named, handler=assignee, received_at=_now(), source_ref=source_ref)
            _event(complaint=c, kind="registered", actor=actor,
                   text=_t("满意度调查低分，自动开立反馈案件，分派给 %(h)s") % {"h": assignee.name if assignee else "-"})
            audit.record(actor=actor, verb="service.feedback_case_opened", target=c, target_repr=c.number,
                         after={"customer": customer.pk, "source_ref": source_ref,
                                "handler": assignee.pk if assignee else None, "staff_named": named.pk if named else None,
                                "decision_due_on": c.decision_due_on})
    except IntegrityError:
        existing = Complaint.objects.filter(source_ref=source_ref).first()
        if existing is None:
            raise
        return existing
    return c


def _complaint_for_update(actor: Any, complaint_id: Any, capability: str) -> Complaint:
    """Lock a complaint the actor may see, after the capability — and recusal: the staff member complained about
    may do nothing on it."""
    access.require(actor, capability)
    c = selectors.complaints_visible(actor).select_for_update().filter(pk=complaint_id).first() \
        if str(complaint_id).isdigit() else None
    if c is None:
        raise NotFound("complaint_not_found", _("投诉不存在或无权查看"))
    if c.staff_named_id == actor.pk:
        raise PermissionDenied("complaint_recused", _("您是被投诉员工，须回避，不能办理本投诉的任何事项"),
                               capability=capability)
    return c


def _require_handler_type(actor: Any) -> None:
    if not may_handle_complaints(actor):
        raise PermissionDenied("complaint_handler_type", _("投诉须由正式员工办理（实习生、临时工、顾问只能登记）"),
                               capability="service.handle")


def _require_open(c: Complaint) -> None:
    if not c.is_open:
        raise RuleViolation("complaint_not_open", _("该投诉已作出决定或已办结"))


def _require_handler(actor: Any, c: Complaint) -> None:
    if c.handler_id != actor.pk:
        raise PermissionDenied("not_complaint_handler", _("只有本投诉的经办人可以办理此事项"),
                               capability="service.handle")


def complaint_acknowledge(*, actor: Any, complaint_id: Any, note: str = "") -> Complaint:
    """Acknowledge receipt to the complainant (a receipt notice is kept)."""
    with transaction.atomic():
        c = _complaint_for_update(actor, complaint_id, "service.handle")
        _require_handler_type(actor)
        access.require_gate("service.handle_complaint", actor, complaint=c)  # the handler's certification
        _require_open(c)
        if c.acknowledged_at:
            raise RuleViolation("already_acknowledged", _("该投诉已受理"))
        now = _now()
        c.acknowledged_at = now
        if c.status == Complaint.Status.RECEIVED:
            c.status = Complaint.Status.ACKNOWLEDGED
        c.save(update_fields=["acknowledged_at", "status"])
        body = _t("您于%(d)s提出的投诉（编号 %(n)s）本行已受理，将于%(due)s前作出处理决定并告知您。%(note)s") % {
            "d": f"{timezone.localtime(c.received_at):%Y年%m月%d日}", "n": c.number,
            "due": f"{c.decision_due_on:%Y年%m月%d日}", "note": (note or "").strip()[:300]}
        Notice.objects.create(complaint=c, kind=Notice.Kind.ACKNOWLEDGEMENT, body=body, created_by=actor, created_at=now)
        _event(complaint=c, kind="acknowledged", actor=actor, text=_t("已向投诉人发出受理回执"))
        audit.record(actor=actor, verb="service.complaint_acknowledged", target=c, target_repr=c.number,
                     after={"acknowledged_at": now, "on_time": timezone.localdate(now) <= c.ack_due_on})
    return c


def complaint_assign(*, actor: Any, complaint_id: Any, handler_id: Any) -> Complaint:
    """A supervisor (or compliance) assigns the complaint to a handler: an employee who can see the customer and is
    not the staff member complained about."""
    with transaction.atomic():
        c = _complaint_for_update(actor, complaint_id, "service.assign")
        _require_open(c)
        handler = _staff(handler_id, "handler_id")
        if handler.pk == c.staff_named_id:
            raise RuleViolation("handler_recused", _("被投诉员工须回避，不能被指定为经办人"),
                                fields={"handler_id": [str(_("被投诉员工须回避"))]})
        if not may_handle_complaints(handler) or not _customer_visible_to(handler, c.customer_id):
            raise _field_error("handler_invalid", "handler_id", _("经办人须为能查看该客户的正式员工"))
        before = {"handler": c.handler_id, "status": c.status}
        c.handler, c.assigned_at, c.status = handler, _now(), Complaint.Status.ASSIGNED
        c.save(update_fields=["handler", "assigned_at", "status"])
        _event(complaint=c, kind="assigned", actor=actor, text=_t("分派给 %(h)s") % {"h": handler.name})
        audit.record(actor=actor, verb="service.complaint_assigned", target=c, target_repr=c.number, before=before,
                     after={"handler": handler.pk, "status": c.status})
    return c


def complaint_extend(*, actor: Any, complaint_id: Any, reason: str) -> Complaint:
    """Extend the decision date: the first time by a supervisor (to 30 days), the second by a head-office senior
    manager (to 60 days at most). Each with a reason and a notice to the complainant; only before the date passes."""
    with transaction.atomic():
        c = _complaint_for_update(actor, complaint_id, "service.extend")
        reason = _text(reason, "reason", 10, _("请填写延期理由（至少10个字）"), 1000)
        _require_open(c)
        if not rules.extension_allowed(c.extension_level):
            raise RuleViolation("extension_limit", _("投诉已延期两次（最长60日），不能再延期"))
        level = c.extension_level + 1
        if level == 2 and not senior_at_head_office(actor):
            raise PermissionDenied("extension_needs_senior", _("第二次延期须由总行高级管理人员（合规经理）批准"),
                                   capability="service.extend_final")
        today = timezone.localdate()
        if today > c.decision_due_on:
            raise RuleViolation("deadline_passed", _("处理时限已过，不能再延期"))
        at = c.received_at
        new_due = rules.extended_due(at, _tz(), level=level, decision_days=params.value("complaints.decision", at),
                                     ext1=params.value("complaints.extension_1", at),
                                     ext2=params.value("complaints.extension_2", at))
        now = _now()
        Extension.objects.create(complaint=c, level=level, reason=reason, previous_due_on=c.decision_due_on,
                                 new_due_on=new_due, approved_by=actor, created_at=now)
        body = _t("您的投诉（编号 %(n)s）情况复杂，本行需延长处理期限至%(due)s。延期理由：%(r)s") % {
            "n": c.number, "due": f"{new_due:%Y年%m月%d日}", "r": reason}
        Notice.objects.create(complaint=c, kind=Notice.Kind.EXTENSION, body=body, created_by=actor, created_at=now)
        before = {"decision_due_on": c.decision_due_on, "extension_level": c.extension_level}
        c.decision_due_on, c.extension_level = new_due, level
        c.save(update_fields=["decision_due_on", "extension_level"])
        _event(complaint=c, kind="extended", actor=actor,
               text=_t("第%(l)d次延期至 %(d)s，已告知投诉人：%(r)s") % {"l": level, "d": new_due, "r": reason})
        audit.record(actor=actor, verb="service.complaint_extended", target=c, target_repr=c.number, before=before,
                     after={"decision_due_on": new_due, "extension_level": level}, reason=reason)
    return c


def complaint_decide(*, actor: Any, complaint_id: Any, findings: str, decision: str, remedy: str,
                     root_cause_id: Any) -> Complaint:
    """The handler's decision: findings, upheld / partly / not upheld, remedy and the root cause (a sub-cause of
    the taxonomy); the decision letter is kept as a notice."""
    with transaction.atomic():
        c = _complaint_for_update(actor, complaint_id, "service.handle")
        findings = _text(findings, "findings", 10, _("请填写调查情况（至少10个字）"))
        decision = _choice(decision, Complaint.Decision.choices, "decision")
        remedy = (remedy or "").strip()[:2000]
        if decision != Complaint.Decision.NOT_UPHELD and len(remedy) < 4:
            raise _field_error("remedy_required", "remedy", _("投诉成立或部分成立时须填写补救措施"))
        _require_handler_type(actor)
        access.require_gate("service.handle_complaint", actor, complaint=c)  # the handler's certification
        _require_open(c)
        _require_handler(actor, c)
        if not c.acknowledged_at:
            raise RuleViolation("not_acknowledged", _("请先受理（向投诉人发出受理回执）"))
        cause = RootCause.objects.filter(pk=root_cause_id, active=True).first() if str(root_cause_id).isdigit() else None
        if cause is None or (cause.parent_id is None and cause.children.exists()):
            raise _field_error("root_cause_invalid", "root_cause_id", _("请选择具体的根本原因"))
        now = _now()
        c.findings, c.decision, c.remedy, c.root_cause = findings, decision, remedy, cause
        c.decided_at, c.decided_by, c.status = now, actor, Complaint.Status.DECIDED
        c.save(update_fields=["findings", "decision", "remedy", "root_cause", "decided_at", "decided_by", "status"])
        Notice.objects.create(complaint=c, kind=Notice.Kind.DECISION, body=decision_text(c), created_by=actor,
                              created_at=now)
        _event(complaint=c, kind="decided", actor=actor, text=f"{c.get_decision_display()} · {cause}")
        audit.record(actor=actor, verb="service.complaint_decided", target=c, target_repr=c.number,
                     after={"decision": decision, "root_cause": cause.code, "decided_at": now,
                            "on_time": timezone.localdate(now) <= c.decision_due_on})
    return c


def decision_text(c: Complaint) -> str:
    """The decision letter's body, kept as sent (the printable letter and PDF render it with the routes)."""
    routes = "、".join(str(label) for _code, label in FURTHER_ROUTES)
    remedy = c.remedy.rstrip("。.；; ")
    return _t("调查情况：%(f)s\n处理决定：%(d)s。%(r)s\n如您对本处理决定有异议，可在收到本决定书之日起30日内向本行申请复核，"
              "也可依法通过%(routes)s等途径解决。") % {
        "f": c.findings, "d": c.get_decision_display(), "routes": routes,
        "r": (_t("补救措施：%(m)s。") % {"m": remedy}) if remedy else ""}


def complaint_close(*, actor: Any, complaint_id: Any) -> Complaint:
    """Close a decided complaint once the decision has been delivered; a survey may follow (outbox event)."""
    with transaction.atomic():
        c = _complaint_for_update(actor, complaint_id, "service.handle")
        _require_handler_type(actor)
        if c.status != Complaint.Status.DECIDED:
            raise RuleViolation("complaint_not_decided", _("请先作出处理决定"))
        if c.handler_id != actor.pk and not access.can(actor, "service.assign"):
            raise PermissionDenied("not_complaint_handler", _("只有经办人或其上级可以办结"), capability="service.handle")
        c.closed_at, c.status = _now(), Complaint.Status.CLOSED
        c.save(update_fields=["closed_at", "status"])
        _event(complaint=c, kind="closed", actor=actor)
        outbox.publish("service.complaint_closed", {"complaint_id": c.pk, "customer_id": c.customer_id,
                                                    "kind": c.kind})
        audit.record(actor=actor, verb="service.complaint_closed", target=c, target_repr=c.number,
                     before={"status": "decided"}, after={"status": c.status})
    return c


def rectification_add(*, actor: Any, complaint_id: Any, action: str, owner_id: Any, due_on: date) -> Rectification:
    """An improvement action with an owner and a deadline (by the handler or a supervisor, before or after the
    decision)."""
    with transaction.atomic():
        c = _complaint_for_update(actor, complaint_id, "service.handle")
        action = _text(action, "action", 4, _("请填写整改措施（至少4个字）"), 300)
        _require_handler_type(actor)
        if c.handler_id != actor.pk and not access.can(actor, "service.assign"):
            raise PermissionDenied("not_complaint_handler", _("只有经办人或其上级可以安排整改"), capability="service.handle")
        owner = _staff(owner_id, "owner_id")
        if not isinstance(due_on, date) or due_on < timezone.localdate():
            raise _field_error("due_on_invalid", "due_on", _("完成期限不能早于今天"))
        r = Rectification.objects.create(complaint=c, action=action, owner=owner, due_on=due_on, created_by=actor,
                                         created_at=_now())
        _event(complaint=c, kind="rectification", actor=actor,
               text=_t("整改：%(a)s（%(o)s，%(d)s前）") % {"a": action, "o": owner.name, "d": due_on})
        audit.record(actor=actor, verb="service.rectification_added", target=c, target_repr=c.number,
                     after={"rectification": r.pk, "owner": owner.pk, "due_on": due_on})
    return r


def rectification_done(*, actor: Any, rectification_id: Any, note: str) -> Rectification:
    """Mark an action done (its owner, the handler or a supervisor; never the staff member complained about)."""
    with transaction.atomic():
        r = Rectification.objects.select_for_update().filter(pk=rectification_id).first() \
            if str(rectification_id).isdigit() else None
        if r is None:
            raise NotFound("rectification_not_found", _("整改措施不存在或无权查看"))
        c = _complaint_for_update(actor, r.complaint_id, "service.handle")
        note = _text(note, "note", 2, _("请填写完成情况"), 300)
        if actor.pk not in (r.owner_id, c.handler_id) and not access.can(actor, "service.assign"):
            raise PermissionDenied("not_rectification_owner", _("只有责任人、经办人或其上级可以确认完成"),
                                   capability="service.handle")
        if r.status == Rectification.Status.DONE:
            raise RuleViolation("rectification_done", _("该整改措施已完成"))
        r.status, r.done_at, r.done_note = Rectification.Status.DONE, _now(), note
        r.save(update_fields=["status", "done_at", "done_note"])
        _event(complaint=c, kind="rectified", actor=actor, text=_t("整改完成：%(a)s") % {"a": r.action})
        audit.record(actor=actor, verb="service.rectification_done", target=c, target_repr=c.number,
                     after={"rectification": r.pk, "done_at": r.done_at})
    return r


def letter_record(*, actor: Any, complaint_id: Any, fmt: str) -> Complaint:
    """Printing the decision letter (PDF) is an audited export; the staff member complained about is recused."""
    with transaction.atomic():
        c = _complaint_for_update(actor, complaint_id, "service.letter")
        if c.decided_at is None:
            raise RuleViolation("complaint_not_decided", _("尚未作出处理决定"))
        audit.record(actor=actor, verb="service.letter_printed", target=c, target_repr=c.number, after={"format": fmt})
    return c


# ---- Escalation sweep -----------------------------------------------------------------------------------------------
def notify(*, recipient: Any, key: str, title: str, url: str, due_at: datetime | None, now: datetime) -> bool:
    """One in-app notification per key (a second attempt with the same key is a no-op). True if it was new."""
    if Notification.objects.filter(dedupe_key=key[:80]).exists():
        return False
    Notification.objects.bulk_create(
        [Notification(recipient=recipient, dedupe_key=key[:80], title=title[:200], url=url, due_at=due_at,
                      created_at=now)], ignore_conflicts=True)
    return True


_SWEEP_CACHE: dict[tuple, Any] = {}


def _cached_supervisor(staff_id: int | None, path: str, exclude: frozenset[int]) -> Any:
    """Supervisor lookups of one sweep run, memoised (thousands of items share a few owners)."""
    key = (staff_id, path, exclude)
    if key not in _SWEEP_CACHE:
        if staff_id is not None:
            from bankcrm.org.models import Staff

            staff = Staff.objects.select_related("branch").get(pk=staff_id)
            _SWEEP_CACHE[key] = supervisor_of(staff, exclude=exclude)
        else:
            _SWEEP_CACHE[key] = supervisor_for_path(path, exclude=exclude)
    return _SWEEP_CACHE[key]


def _escalate_request(req: ServiceRequest, stage: str, now: datetime) -> int:
    target = _cached_supervisor(req.owner_id, "", frozenset())
    due = req.respond_due_at if stage == "respond" else req.resolve_due_at
    fields = {"respond_escalated_at": now} if stage == "respond" else {"resolve_escalated_at": now}
    ServiceRequest.objects.filter(pk=req.pk).update(escalated_to=target, **fields)
    label = _t("响应") if stage == "respond" else _t("解决")
    _event(request=req, kind="escalated", at=now,
           text=_t("%(s)s时限 %(d)s 将至，已升级至 %(t)s") % {
               "s": label, "d": f"{timezone.localtime(due):%m-%d %H:%M}", "t": target.name if target else "-"})
    if target is not None:
        notify(recipient=target, key=f"req:{req.pk}:{stage}:{due:%Y%m%d%H%M}",
               title=_t("服务请求%(s)s即将超时：%(n)s %(sub)s") % {"s": label, "n": req.number, "sub": req.subject},
               url=reverse("service:request", args=[req.pk]), due_at=due, now=now)
    return 1


def _escalate_complaint(c: Complaint, stage: str, now: datetime) -> int:
    exclude = frozenset({c.staff_named_id} if c.staff_named_id else set())
    target = _cached_supervisor(c.handler_id, c.branch_path, exclude)
    due_day = c.ack_due_on if stage == "ack" else c.decision_due_on
    due = rules.end_of_day(due_day, _tz())
    if stage == "ack":
        Complaint.objects.filter(pk=c.pk).update(ack_escalated_at=now, escalated_to=target)
    else:
        Complaint.objects.filter(pk=c.pk).update(decision_escalated_for=due_day, escalated_to=target)
    label = _t("受理") if stage == "ack" else _t("处理决定")
    _event(complaint=c, kind="escalated", at=now, text=_t("%(s)s时限 %(d)s 将至，已升级至 %(t)s") % {
        "s": label, "d": due_day, "t": target.name if target else "-"})
    if target is not None:
        notify(recipient=target, key=f"cmp:{c.pk}:{stage}:{due_day:%Y%m%d}",
               title=_t("投诉%(s)s即将超时：%(n)s %(sub)s") % {"s": label, "n": c.number, "sub": c.summary[:60]},
               url=reverse("service:complaint", args=[c.pk]), due_at=due, now=now)
    return 1


def _request_stages(now: datetime) -> list[tuple[str, Q]]:
    lead = timedelta(hours=params.value("service.escalation_lead", now))
    open_ = Q(status__in=ServiceRequest.OPEN_STATUSES)
    return [("respond", open_ & Q(responded_at__isnull=True, respond_escalated_at__isnull=True,
                                  respond_due_at__lte=now + lead)),
            ("resolve", open_ & Q(resolved_at__isnull=True, resolve_escalated_at__isnull=True,
                                  resolve_due_at__lte=now + lead))]


def _complaint_stages(now: datetime) -> list[tuple[str, Q]]:
    def horizon(code: str) -> date:
        # a date deadline passes at the end of its local day: escalate when end_of_day(due) - lead <= now
        lead = timedelta(hours=params.value(code, now))
        return timezone.localtime(now + lead, _tz()).date() - timedelta(days=1)

    open_ = Q(status__in=Complaint.OPEN_STATUSES)
    ack_h, horizon = horizon("complaints.ack_escalation_lead"), horizon("complaints.escalation_lead")
    return [("ack", open_ & Q(acknowledged_at__isnull=True, ack_escalated_at__isnull=True, ack_due_on__lte=ack_h)),
            ("decision", open_ & Q(decision_due_on__lte=horizon)
             & (Q(decision_escalated_for__isnull=True) | ~Q(decision_escalated_for=F("decision_due_on"))))]


def sweep(*, now: datetime | None = None, chunk: int = 200) -> dict[str, int]:
    """Escalate every request and complaint whose next target falls due within the lead time and has not been
    escalated for it: mark it, add a timeline event and notify the supervisor, chunk by chunk (each chunk commits
    with its flags, so a killed sweep resumes and never notifies twice)."""
    now = now or _now()
    _SWEEP_CACHE.clear()
    done = {"requests": 0, "complaints": 0}
    for model, stages, fn, key in ((ServiceRequest, _request_stages(now), _escalate_request, "requests"),
                                   (Complaint, _complaint_stages(now), _escalate_complaint, "complaints")):
        for stage, q in stages:
            while True:
                with transaction.atomic():
                    rows = list(model.objects.select_for_update(skip_locked=True).filter(q)
                                .order_by("id")[:chunk]) if _skip_locked() else \
                        list(model.objects.filter(q).order_by("id")[:chunk])
                    if not rows:
                        break
                    for row in rows:
                        done[key] += fn(row, stage, now)
                    if len(rows) < chunk:
                        break
    if done["requests"] or done["complaints"]:
        with transaction.atomic():
            audit.record(actor=None, verb="service.escalated", target_type="service.Sweep",
                         target_id=f"{timezone.localtime(now):%Y%m%d%H%M}", after=done)
    return done


def _skip_locked() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_skip_locked


def notification_read(*, actor: Any, notification_id: Any) -> None:
    Notification.objects.filter(pk=notification_id if str(notification_id).isdigit() else 0, recipient=actor,
                                read_at__isnull=True).update(read_at=_now())
