"""Findings and rectification (整改): the services other parts of supervision call.

A finding moves ``open`` → ``rectifying`` (an action was added) → ``rectified`` (the owner says every action is
done; awaiting re-check) → ``closed`` by compliance. A failed re-check of an action sends the finding back to
``rectifying``. Every step is one function with an explicit actor, in one transaction, with one audit event.

Who may do what (capabilities in ``access_policy.py``; scope = the actor's branch subtree, all branches for
head-office compliance):

- ``finding_raise`` — compliance (``supervision.findings``) or the system (``actor=None``: control runs, inspections
  may pass their inspector). Keyed findings (``key``) are idempotent: while a finding with the key is not closed,
  raising it again returns that finding.
- ``finding_assign`` — compliance, or the current owner handing over to someone else who may rectify in scope.
- ``action_add`` / ``finding_submit_rectified`` — the owner, a supervisor whose subtree holds the finding
  (``supervision.rectify``), or compliance.
- ``action_done`` — the action's owner, or a supervisor in scope; evidence is required.
- ``action_recheck`` / ``finding_close`` / ``accountability_record`` — compliance only; the owner of the finding
  (or of the action) and the person the finding is about never re-check or close it.

Signatures are keyword-only and stable: section B (inspections) and C (conduct) call ``finding_raise``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, sequences
from bankcrm.core.access import Role
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed, field_error

from . import finding_rules as fr
from . import finding_selectors as sel
from .models import Accountability, Clause, Finding, FindingAction, Severity

F, A = Finding.Status, FindingAction.Status
RAISE_FIELDS = ("number", "source", "control", "key", "severity", "title", "target_type", "target_id", "target_repr",
                "branch", "staff", "owner", "status", "due_on", "clause", "inspection")


def _today() -> date:
    return timezone.localdate()


def _in_scope(actor: Any, branch_path: str) -> bool:
    root = access.scope_root(actor)
    return root is None or branch_path.startswith(root)


def _require_scope(actor: Any, finding: Finding, capability: str) -> None:
    access.require(actor, capability)
    if not _in_scope(actor, finding.branch_path):
        raise NotFound("finding_not_found", _("检查发现不存在"))


def _text(value: Any, field: str, message: Any, *, max_length: int | None = None) -> str:
    v = " ".join(str(value or "").split()) if field in ("title", "action") else str(value or "").strip()
    if not v:
        raise field_error(f"{field}_required", field, message)
    if max_length and len(v) > max_length:
        raise field_error(f"{field}_too_long", field, _("最多 %(n)d 个字") % {"n": max_length})
    return v


def _date(value: Any, field: str) -> date:
    if isinstance(value, datetime):
        return timezone.localdate(value)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise field_error(f"{field}_invalid", field, _("请填写正确的日期")) from None


def finding_number(n: int, on: date) -> str:
    return f"F{on:%Y}{n:06d}"


def default_owners(paths: set[str]) -> dict[str, int | None]:
    """For each branch path: the active branch supervisor of that branch, else of the nearest branch above (one
    query for all paths). A tie at one branch goes to the lowest staff number."""
    from bankcrm.org.models import Staff

    ancestors: set[str] = set()
    for p in paths:
        parts = [x for x in p.split("/") if x]
        ancestors.update("/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts)))
    today = _today()
    by_path: dict[str, int] = {}
    for s in (Staff.objects.filter(is_active=True, role_assignments__role=Role.BRANCH_SUPERVISOR,
                                   branch__path__in=ancestors)
              .select_related("branch").order_by("staff_no")):
        if s.contract_valid_on(today):
            by_path.setdefault(s.branch.path, s.pk)
    out: dict[str, int | None] = {}
    for p in paths:
        parts = [x for x in p.split("/") if x]
        out[p] = next((by_path[a] for a in ("/" + "/".join(parts[: i]) + "/" for i in range(len(parts), 0, -1))
                       if a in by_path), None)
    return out


def _may_rectify_in(staff: Any, branch_path: str) -> bool:
    return bool(staff and staff.is_active and access.can(staff, "supervision.rectify") and _in_scope(staff, branch_path))


def finding_raise(*, actor: Any, source: str, title: str, severity: str, branch_id: int, target_type: str = "",
                  target_id: Any = "", target_repr: str = "", staff_id: int | None = None, clause_code: str = "",
                  control: str = "", key: str = "", inspection_id: int | None = None, detail: str = "",
                  due_on: date | None = None, owner_id: int | None = None, run: Any = None) -> Finding:
    """Record a finding (检查发现) and give it an owner and a rectification deadline.

    ``actor`` is the member of compliance raising it, or None for the system (a control run). ``source`` is
    ``control`` / ``inspection`` / ``manual``; ``branch_id`` the branch responsible; ``target_type``/``target_id``
    the record concerned (e.g. ``customers.Customer`` / 42) and ``target_repr`` its **masked** label (never a full name
    or number); ``staff_id`` the member of staff concerned, if any; ``clause_code`` the regulation clause; ``control``
    the control code; ``key`` makes the finding idempotent (``control:target``): while a finding with this key is not
    closed, the existing finding is returned unchanged. ``due_on`` defaults to today + the rule parameter
    ``supervision.rectify_days.<severity>``; ``owner_id`` defaults to the branch supervisor of the branch (or of the
    nearest branch above). Returns the finding."""
    from bankcrm.org.models import Branch, Staff

    if actor is not None:
        access.require(actor, "supervision.findings")
    if source not in Finding.Source.values:
        raise field_error("source_invalid", "source", _("无效的来源"))
    if severity not in Severity.values:
        raise field_error("severity_invalid", "severity", _("请选择严重程度"))
    title = _text(title, "title", _("请填写发现的问题"), max_length=200)
    key = (key or "").strip()[:120]
    with transaction.atomic():
        if key:
            existing = Finding.objects.filter(key=key).exclude(status=F.CLOSED).first()
            if existing is not None:
                return existing
        branch = Branch.objects.filter(pk=branch_id).first() if branch_id else None
        if branch is None or (actor is not None and not _in_scope(actor, branch.path)):
            raise field_error("branch_invalid", "branch", _("请选择您管辖范围内的机构"))
        clause = None
        if clause_code:
            clause = Clause.objects.filter(code=clause_code).first()
            if clause is None:
                raise field_error("clause_invalid", "clause", _("条款不存在"))
        staff = Staff.objects.filter(pk=staff_id).first() if staff_id else None
        if staff_id and staff is None:
            raise field_error("staff_invalid", "staff", _("员工不存在"))
        if owner_id:
            owner = Staff.objects.filter(pk=owner_id).first()
            if owner is None or not _may_rectify_in(owner, branch.path):
                raise field_error("owner_invalid", "owner", _("整改责任人须为该机构（或上级机构）的负责人"))
        else:
            owner_pk = default_owners({branch.path})[branch.path]
            owner = Staff.objects.filter(pk=owner_pk).first() if owner_pk else None
        raised = timezone.now()
        due = _date(due_on, "due_on") if due_on else fr.due_on_for(severity, timezone.localdate(raised))
        if due < timezone.localdate(raised):
            raise field_error("due_on_past", "due_on", _("整改期限不能早于今天"))
        f = Finding(
            number=finding_number(sequences.next_value("supervision.finding"), timezone.localdate(raised)),
            source=source, control=(control or "")[:60], clause=clause, key=key, severity=severity, title=title,
            detail=(detail or "").strip(), target_type=(target_type or "")[:60], target_id=str(target_id or "")[:40],
            target_repr=(target_repr or "")[:200], branch=branch, branch_path=branch.path, staff=staff, owner=owner,
            status=F.OPEN, due_on=due, raised_by=actor if getattr(actor, "pk", None) else None, raised_at=raised,
            run=run, inspection_id=inspection_id)
        try:
            with transaction.atomic():
                f.save(force_insert=True)
        except IntegrityError:
            if key:  # a concurrent raise of the same key won: theirs is the finding
                won = Finding.objects.filter(key=key).exclude(status=F.CLOSED).first()
                if won is not None:
                    return won
            raise
        audit.record(actor=actor, verb="supervision.finding_raised", target=f,
                     after=audit.snapshot(f, RAISE_FIELDS))
    return f


def finding_assign(*, actor: Any, finding_id: int, owner_id: int, reason: str = "") -> Finding:
    """Give the finding a new owner (compliance, or the current owner handing over). The new owner must be able to
    rectify in the finding's branch."""
    from bankcrm.org.models import Staff

    access.require(actor, "supervision.view")
    with transaction.atomic():
        f = sel.finding_get(actor, finding_id, for_update=True)
        if not access.can(actor, "supervision.findings") and f.owner_id != actor.pk:
            raise PermissionDenied("permission_denied", _("只有合规经理或当前整改责任人可以变更责任人"),
                                   capability="supervision.findings")
        if f.status == F.CLOSED:
            raise RuleViolation("finding_closed", _("检查发现已关闭"))
        owner = Staff.objects.filter(pk=owner_id).select_related("branch").first()
        if owner is None or not _may_rectify_in(owner, f.branch_path):
            raise field_error("owner_invalid", "owner", _("整改责任人须为该机构（或上级机构）在岗的负责人"))
        if owner.pk == f.staff_id:
            raise field_error("owner_is_subject", "owner", _("被检查的当事员工不能担任整改责任人"))
        if owner.pk == f.owner_id:
            raise field_error("owner_unchanged", "owner", _("该员工已是整改责任人"))
        before = {"owner": f.owner_id}
        f.owner = owner
        f.save(update_fields=["owner"])
        audit.record(actor=actor, verb="supervision.finding_assigned", target=f, before=before,
                     after={"owner": owner.pk}, reason=(reason or "").strip())
    return f


def _require_rectifier(actor: Any, f: Finding) -> None:
    """The owner, a supervisor whose subtree holds the finding, or compliance."""
    if access.can(actor, "supervision.findings"):
        return
    access.require(actor, "supervision.rectify")
    if f.owner_id != actor.pk and not _in_scope(actor, f.branch_path):
        raise NotFound("finding_not_found", _("检查发现不存在"))


def action_add(*, actor: Any, finding_id: int, action: str, owner_id: int, due_on: Any) -> FindingAction:
    """Add a rectification action (整改措施) with its owner and deadline; the finding is then under rectification."""
    from bankcrm.org.models import Staff

    access.require(actor, "supervision.view")
    text = _text(action, "action", _("请填写整改措施"), max_length=300)
    due = _date(due_on, "due_on")
    with transaction.atomic():
        f = sel.finding_get(actor, finding_id, for_update=True)
        _require_rectifier(actor, f)
        if f.status not in fr.RUNNING:
            raise RuleViolation("finding_not_open", _("只有待整改或整改中的检查发现可以添加整改措施"))
        if due < _today():
            raise field_error("due_on_past", "due_on", _("完成期限不能早于今天"))
        owner = Staff.objects.filter(pk=owner_id).first() if owner_id else None
        if owner is None or not _may_rectify_in(owner, f.branch_path):
            raise field_error("owner_invalid", "owner", _("责任人须为该机构（或上级机构）在岗的负责人"))
        a = FindingAction(finding=f, action=text, owner=owner, due_on=due, created_by=actor, created_at=timezone.now())
        a.save(force_insert=True)
        before = {"status": f.status}
        if f.status == F.OPEN:
            f.status = F.RECTIFYING
            f.save(update_fields=["status"])
        audit.record(actor=actor, verb="supervision.action_added", target=f, before=before,
                     after={"status": f.status, "action_id": a.pk, "action": text, "owner": owner.pk,
                            "due_on": due})
    return a


def action_done(*, actor: Any, action_id: int, evidence: str) -> FindingAction:
    """The action's owner (or a supervisor in scope) records what was done, with evidence (整改说明)."""
    access.require(actor, "supervision.rectify")
    evidence = _text(evidence, "evidence", _("请填写整改说明（做了什么、凭证编号等）"), max_length=2000)
    with transaction.atomic():
        a = sel.action_get(actor, action_id, for_update=True)
        f = a.finding
        if a.owner_id != actor.pk and not _in_scope(actor, f.branch_path):
            raise NotFound("action_not_found", _("整改措施不存在"))
        if a.owner_id != actor.pk and Role.BRANCH_SUPERVISOR not in actor.roles:
            raise PermissionDenied("permission_denied", _("只有措施责任人或网点负责人可以登记完成"),
                                   capability="supervision.rectify")
        if f.status not in fr.RUNNING:
            raise RuleViolation("finding_not_open", _("检查发现当前状态不能登记整改"))
        if a.status not in (A.OPEN, A.FAILED):
            raise RuleViolation("action_not_open", _("该整改措施已完成"))
        before = {"status": a.status}
        a.status, a.evidence, a.done_at = A.DONE, evidence, timezone.now()
        a.save(update_fields=["status", "evidence", "done_at"])
        audit.record(actor=actor, verb="supervision.action_done", target=a, target_repr=f"{f.number} #{a.pk}",
                     before=before, after={"status": a.status, "finding": f.pk})
    return a


def finding_submit_rectified(*, actor: Any, finding_id: int, note: str = "") -> Finding:
    """The owner (or a supervisor in scope) reports the rectification complete: every action is done. The finding
    then waits for compliance to re-check and close it."""
    access.require(actor, "supervision.rectify")
    with transaction.atomic():
        f = sel.finding_get(actor, finding_id, for_update=True)
        _require_rectifier(actor, f)
        if f.status not in fr.RUNNING:
            raise RuleViolation("finding_not_open", _("只有整改中的检查发现可以提交复查"))
        statuses = list(f.actions.values_list("status", flat=True))
        if not fr.may_submit(statuses):
            raise RuleViolation("actions_not_done", _("请先添加整改措施并全部登记完成"))
        before = {"status": f.status}
        f.status, f.rectified_at = F.RECTIFIED, timezone.now()
        f.save(update_fields=["status", "rectified_at"])
        audit.record(actor=actor, verb="supervision.finding_rectified", target=f, before=before,
                     after={"status": f.status}, reason=(note or "").strip())
    return f


def action_recheck(*, actor: Any, action_id: int, passed: bool, note: str = "") -> FindingAction:
    """Compliance re-checks a done action (复查): pass, or fail with a note — a failure sends the finding back to
    rectification and the action to its owner again."""
    access.require(actor, "supervision.findings")
    note = (note or "").strip()
    if not passed and not note:
        raise field_error("note_required", "note", _("复查未通过须填写复查意见"))
    with transaction.atomic():
        a = sel.action_get(actor, action_id, for_update=True)
        f = Finding.objects.select_for_update().get(pk=a.finding_id) if sel._pg() else a.finding
        if actor.pk in (a.owner_id, f.owner_id):
            raise PermissionDenied("segregation", _("整改责任人不能复查自己的整改"), capability="supervision.findings")
        if a.status != A.DONE:
            raise RuleViolation("action_not_done", _("只有已完成的整改措施可以复查"))
        if f.status == F.CLOSED:
            raise RuleViolation("finding_closed", _("检查发现已关闭"))
        before = {"status": a.status, "finding_status": f.status}
        a.status = A.PASSED if passed else A.FAILED
        a.recheck_note, a.rechecked_by, a.rechecked_at = note, actor, timezone.now()
        a.save(update_fields=["status", "recheck_note", "rechecked_by", "rechecked_at"])
        if not passed and f.status == F.RECTIFIED:
            f.status, f.rectified_at = F.RECTIFYING, None
            f.save(update_fields=["status", "rectified_at"])
        audit.record(actor=actor, verb="supervision.action_rechecked", target=a, target_repr=f"{f.number} #{a.pk}",
                     before=before, after={"status": a.status, "finding_status": f.status, "finding": f.pk},
                     reason=note)
    return a


def finding_close(*, actor: Any, finding_id: int, note: str = "", reason: str = "") -> Finding:
    """Compliance closes a finding (关闭). Routine when every action passed its re-check; otherwise (no actions,
    actions not re-checked, resolved in the data) ``reason`` is required. Never by the owner or the person the
    finding is about."""
    access.require(actor, "supervision.findings")
    note, reason = (note or "").strip(), (reason or "").strip()
    with transaction.atomic():
        f = sel.finding_get(actor, finding_id, for_update=True)
        if f.status == F.CLOSED:
            raise RuleViolation("finding_closed", _("检查发现已关闭"))
        if not fr.may_close(actor_id=actor.pk, owner_id=f.owner_id, staff_id=f.staff_id):
            raise PermissionDenied("segregation", _("整改责任人或当事员工不能关闭检查发现"),
                                   capability="supervision.findings")
        statuses = list(f.actions.values_list("status", flat=True))
        if fr.close_needs_reason(statuses) and not reason:
            raise field_error("reason_required", "reason",
                              _("尚有整改措施未通过复查（或没有整改措施），关闭须说明理由"))
        before = {"status": f.status}
        f.status, f.closed_by, f.closed_at = F.CLOSED, actor, timezone.now()
        f.close_note = "\n".join(x for x in (note, reason) if x)
        f.save(update_fields=["status", "closed_by", "closed_at", "close_note"])
        audit.record(actor=actor, verb="supervision.finding_closed", target=f, before=before,
                     after={"status": f.status, "actions": statuses, "auto_resolved": bool(f.auto_resolved_at)},
                     reason=f.close_note)
    return f


def accountability_record(*, actor: Any, finding_id: int, staff_id: int, measure: str, note: str = "") -> Accountability:
    """Record what followed for a member of staff responsible for the finding (约谈、通报、培训、扣减、处分)."""
    from bankcrm.org.models import Staff

    access.require(actor, "supervision.findings")
    if measure not in Accountability.Measure.values:
        raise field_error("measure_invalid", "measure", _("请选择问责措施"))
    note = (note or "").strip()
    with transaction.atomic():
        f = sel.finding_get(actor, finding_id, for_update=True)
        staff = Staff.objects.visible_to(actor).filter(pk=staff_id).first() if staff_id else None
        if staff is None:
            raise field_error("staff_invalid", "staff", _("请选择您管辖范围内的员工"))
        if staff.pk == actor.pk:
            raise PermissionDenied("segregation", _("不能对自己登记问责"), capability="supervision.findings")
        rec = Accountability(finding=f, staff=staff, measure=measure, note=note, recorded_by=actor,
                             recorded_at=timezone.now())
        rec.save(force_insert=True)
        audit.record(actor=actor, verb="supervision.accountability_recorded", target=f,
                     after={"staff": staff.pk, "measure": measure, "accountability_id": rec.pk}, reason=note)
    return rec


# ---- Deadlines: the daily job -------------------------------------------------------------------------------------
def findings_mark_overdue(*, today: date | None = None) -> dict[str, int]:
    """Daily: mark findings whose deadline passed while still open or under rectification (one system audit event
    each, once), and note the reminder day of findings and actions due within ``supervision.remind_lead`` days (the
    inbox shows them to their owners). Idempotent: a second run the same day changes nothing."""
    from datetime import timedelta

    from bankcrm.core import params

    today = today or _today()
    now = timezone.now()
    marked = 0
    ids = list(Finding.objects.filter(status__in=fr.RUNNING, due_on__lt=today, overdue_at__isnull=True)
               .values_list("pk", flat=True).order_by("pk"))
    for pk in ids:  # one short transaction each: a killed run resumes where it stopped
        with transaction.atomic():
            n = Finding.objects.filter(pk=pk, status__in=fr.RUNNING, due_on__lt=today, overdue_at__isnull=True
                                       ).update(overdue_at=now)
            if n:
                f = Finding.objects.get(pk=pk)
                audit.record(actor=None, verb="supervision.finding_overdue", target=f,
                             after={"due_on": f.due_on, "owner": f.owner_id, "status": f.status})
                marked += 1
    horizon = today + timedelta(days=params.value("supervision.remind_lead"))
    with transaction.atomic():
        reminded = (Finding.objects.filter(status__in=fr.RUNNING, due_on__lte=horizon)
                    .exclude(reminded_on=today).update(reminded_on=today))
        reminded += (FindingAction.objects.filter(status__in=[A.OPEN, A.FAILED], due_on__lte=horizon,
                                                  finding__status__in=fr.RUNNING)
                     .exclude(reminded_on=today).update(reminded_on=today))
    return {"overdue": marked, "reminded": reminded}


def finding_by_key(key: str) -> Finding | None:
    return Finding.objects.filter(key=key).exclude(status=F.CLOSED).first()


__all__ = [
    "ValidationFailed",
    "accountability_record",
    "action_add",
    "action_done",
    "action_recheck",
    "default_owners",
    "finding_assign",
    "finding_close",
    "finding_raise",
    "finding_submit_rectified",
    "findings_mark_overdue",
]
