"""Training reads, each scoped to the actor: learners see published courses and their own assignments, attempts and
certificates; ``people.training_team`` holders see the staff of their branch subtree (head-office compliance and
administrators: everyone); ``people.manage_training`` holders see every course, requirement and gate rule. An object
outside the actor's scope is ``NotFound`` (404), never a 403 that would confirm it exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, params
from bankcrm.core.errors import NotFound

from . import training_rules as rules
from .models import Assignment, Certificate, Course, CourseAttachment, GateRule, QuizAttempt, Requirement
from .training_services import best_certificates

S = Assignment.Status


# ---- Courses -----------------------------------------------------------------------------------------------------------
def courses_published() -> QuerySet[Course]:
    return Course.objects.filter(status=Course.Status.PUBLISHED)


def courses_admin(actor: Any) -> QuerySet[Course]:
    if not access.can(actor, "people.manage_training"):
        return Course.objects.none()
    return Course.objects.all()


def course_for_learner(actor: Any, pk: Any) -> Course:
    """A published course; administrators also open drafts and retired courses (to preview them)."""
    qs = courses_admin(actor) if access.can(actor, "people.manage_training") else courses_published()
    c = qs.filter(pk=pk).first() if str(pk).isdigit() else None
    if c is None or not access.can(actor, "people.training"):
        raise NotFound("course_not_found", _("课程不存在或未发布"))
    return c


def course_for_admin(actor: Any, pk: Any) -> Course:
    c = courses_admin(actor).filter(pk=pk).first() if str(pk).isdigit() else None
    if c is None:
        raise NotFound("course_not_found", _("课程不存在"))
    return c


def attachment_for(actor: Any, pk: Any) -> CourseAttachment:
    a = CourseAttachment.objects.select_related("course").filter(pk=pk).first() if str(pk).isdigit() else None
    if a is None:
        raise NotFound("attachment_not_found", _("附件不存在"))
    course_for_learner(actor, a.course_id)
    return a


def learner_quiz(course: Course, *, english: bool = False) -> list[dict[str, Any]]:
    """The questions as a learner sees them: no answers."""
    out = []
    for i, q in enumerate(course.quiz):
        text = q.get("q_en") if english and q.get("q_en") else q["q"]
        opts = q.get("options_en") if english and q.get("options_en") else q["options"]
        out.append({"index": i, "number": i + 1, "q": text, "options": list(enumerate(opts))})
    return out


def _flush(blocks: list[dict[str, Any]], para: list[str], items: list[str]) -> None:
    if para:
        blocks.append({"kind": "p", "text": "".join(para)})
        para.clear()
    if items:
        blocks.append({"kind": "ul", "items": list(items)})
        items.clear()


def body_blocks(body: str) -> list[dict[str, Any]]:
    """The course text as blocks for the template (escaped there): ``## `` headings, ``- `` lists, paragraphs."""
    blocks: list[dict[str, Any]] = []
    for chunk in (body or "").replace("\r\n", "\n").split("\n\n"):
        para: list[str] = []
        items: list[str] = []
        for ln in (x.strip() for x in chunk.split("\n") if x.strip()):
            if ln.startswith("## "):
                _flush(blocks, para, items)
                blocks.append({"kind": "h", "text": ln[3:].strip()})
            elif ln.startswith(("- ", "• ")):
                if para:
                    _flush(blocks, para, [])
                items.append(ln[2:].strip())
            else:
                if items:
                    _flush(blocks, [], items)
                para.append(ln)
        _flush(blocks, para, items)
    return blocks


# ---- My training -------------------------------------------------------------------------------------------------------
@dataclass
class CertView:
    cert: Certificate
    state: str
    expiring: bool = False

    @property
    def label(self) -> str:
        return {rules.VALID: _("有效"), rules.EXPIRED: _("已过期"), rules.REVOKED: _("已撤销"),
                rules.OUTDATED: _("课程已更新")}[self.state]


def cert_view(cert: Certificate, today: date, window: int) -> CertView:
    state = rules.certificate_state(cert_version=cert.course_version, course_version=cert.course.version,
                                    expires_on=cert.expires_on, revoked=cert.revoked_at is not None, day=today)
    return CertView(cert, state, state == rules.VALID and rules.expiring_soon(cert.expires_on, today, window))


def my_assignments(actor: Any) -> QuerySet[Assignment]:
    return Assignment.objects.filter(staff_id=actor.pk).select_related("course", "certificate")


def my_certificates(actor: Any) -> QuerySet[Certificate]:
    return Certificate.objects.filter(staff_id=actor.pk).select_related("course")


def my_attempt(actor: Any, pk: Any) -> QuizAttempt:
    a = (QuizAttempt.objects.filter(staff_id=actor.pk, pk=pk).select_related("course").first()
         if str(pk).isdigit() else None)
    if a is None:
        raise NotFound("attempt_not_found", _("测验记录不存在"))
    return a


def my_overview(actor: Any, *, today: date | None = None) -> dict[str, Any]:
    """我的培训: open assignments (overdue first, with urgency), the completed ones, and certificates (latest per
    course first) with their state."""
    today = today or timezone.localdate()
    soon = params.value("training.reminder_days")
    window = params.value("training.certificate_warning_days")
    rows = list(my_assignments(actor).order_by("due_on", "pk"))
    open_ = [a for a in rows if a.status == S.OPEN]
    for a in open_:
        a.urgency = rules.urgency(a.due_on, today, soon)  # type: ignore[attr-defined]
        a.days_left = (a.due_on - today).days  # type: ignore[attr-defined]
        a.overdue_days = max(0, -a.days_left)  # type: ignore[attr-defined]
    done = sorted((a for a in rows if a.status != S.OPEN), key=lambda a: a.completed_at or a.assigned_at,
                  reverse=True)
    certs = [cert_view(c, today, window) for c in my_certificates(actor).order_by("-issued_at", "-pk")]
    latest: dict[int, CertView] = {}
    for cv in certs:
        latest.setdefault(cv.cert.course_id, cv)
    return {"open": open_, "done": done[:50], "certificates": certs, "latest": latest, "today": today,
            "overdue": sum(1 for a in open_ if a.urgency == rules.OVERDUE),  # type: ignore[attr-defined]
            "due_soon": sum(1 for a in open_ if a.urgency == rules.DUE_SOON),  # type: ignore[attr-defined]
            "expiring": [cv for cv in latest.values() if cv.expiring],
            "valid": sum(1 for cv in latest.values() if cv.state == rules.VALID)}


def due_items(actor: Any, *, today: date | None = None) -> dict[str, Any]:
    """What the home page and the inbox remind of: my open assignments due within the reminder window or overdue,
    and my certificates expiring within the warning window that no newer certificate replaced."""
    today = today or timezone.localdate()
    soon = params.value("training.reminder_days")
    window = params.value("training.certificate_warning_days")
    due = list(Assignment.objects.filter(staff_id=actor.pk, status=S.OPEN, due_on__lte=rules.due_date(today, soon))
               .select_related("course").order_by("due_on", "pk"))
    for a in due:
        a.urgency = rules.urgency(a.due_on, today, soon)  # type: ignore[attr-defined]
        a.days_left = (a.due_on - today).days  # type: ignore[attr-defined]
        a.overdue_days = max(0, -a.days_left)  # type: ignore[attr-defined]
    best = best_certificates([actor.pk])
    expiring = [c for c in best.values()
                if c.course.status == Course.Status.PUBLISHED and c.course_version >= c.course.version
                and rules.expiring_soon(c.expires_on, today, window)
                and not Assignment.objects.filter(staff_id=actor.pk, course_id=c.course_id, status=S.OPEN,
                                                  due_on__lte=rules.due_date(today, soon)).exists()]
    for c in expiring:
        c.days_left = (c.expires_on - today).days  # type: ignore[attr-defined, operator]
    return {"due": due, "expiring": expiring, "today": today}


# ---- Team ----------------------------------------------------------------------------------------------------------------
def team_staff(actor: Any) -> QuerySet:
    from bankcrm.org.models import Staff

    if not access.can(actor, "people.training_team"):
        return Staff.objects.none()
    return (Staff.objects.filter(access.branch_scope_q(actor, "branch__path"), is_active=True)
            .select_related("branch").prefetch_related("role_assignments").order_by("branch__path", "staff_no"))


def team_member(actor: Any, pk: Any) -> Any:
    s = team_staff(actor).filter(pk=pk).first() if str(pk).isdigit() else None
    if s is None:
        raise NotFound("staff_not_found", _("员工不存在或不在您的管理范围内"))
    return s


def team_assignments(actor: Any) -> QuerySet[Assignment]:
    if not access.can(actor, "people.training_team"):
        return Assignment.objects.none()
    return Assignment.objects.filter(access.branch_scope_q(actor, "branch_path"))


def team_certificates(actor: Any) -> QuerySet[Certificate]:
    if not access.can(actor, "people.training_team"):
        return Certificate.objects.none()
    return Certificate.objects.filter(access.branch_scope_q(actor, "staff__branch__path"))


CELL_CSS = {"valid": "success", "expiring": "warning", "open": "info", "due_soon": "warning", "overdue": "danger",
            "expired": "danger", "missing": "secondary", "waived": "light"}


def cell_label(status: str) -> str:
    return {"valid": _("有效"), "expiring": _("证书将到期"), "open": _("学习中"), "due_soon": _("临近期限"),
            "overdue": _("已逾期"), "expired": _("证书失效"), "missing": _("未分派"), "waived": _("已免除")}[status]


@dataclass
class TeamRow:
    staff: Any
    cells: dict[int, dict[str, Any]] = field(default_factory=dict)
    overdue: int = 0
    required: int = 0
    valid: int = 0


def team_matrix(actor: Any, *, today: date | None = None, branch_prefix: str = "", staff_limit: int = 500
                ) -> dict[str, Any]:
    """团队培训: staff × the courses required of anyone in the team (plus courses assigned by hand), each cell the
    staff member's status for that course (valid / expiring / open / due soon / overdue / expired / waived / not
    assigned; blank: not required). A handful of queries whatever the team size (up to ``staff_limit`` people)."""
    today = today or timezone.localdate()
    soon = params.value("training.reminder_days")
    window = params.value("training.certificate_warning_days")
    qs = team_staff(actor)
    if branch_prefix:
        qs = qs.filter(branch__path__startswith=branch_prefix)
    staff = list(qs[:staff_limit + 1])
    truncated = len(staff) > staff_limit
    staff = staff[:staff_limit]
    ids = [s.pk for s in staff]
    reqs = list(Requirement.objects.filter(active=True, course__status=Course.Status.PUBLISHED).select_related("course"))
    assignments = list(Assignment.objects.filter(staff_id__in=ids).exclude(status=S.CANCELLED)
                       .select_related("course").order_by("assigned_at", "pk"))
    certs = best_certificates(ids)
    latest_assignment: dict[tuple[int, int], Assignment] = {}
    for a in assignments:
        key = (a.staff_id, a.course_id)
        if a.status == S.OPEN or key not in latest_assignment or latest_assignment[key].status != S.OPEN:
            latest_assignment[key] = a
    courses: dict[int, Course] = {}
    rows = []
    for s in staff:
        row = TeamRow(staff=s)
        required = {r.course_id: r.course for r in reqs if rules.requirement_applies(
            req_roles=r.roles, req_types=r.employment_types, staff_roles=s.roles, staff_type=s.employment_type)}
        assigned = {a.course_id: a.course for (sid, _cid), a in latest_assignment.items()
                    if sid == s.pk and a.status == S.OPEN}
        for cid, course in {**required, **assigned}.items():
            courses[cid] = course
            a = latest_assignment.get((s.pk, cid))
            cert = certs.get((s.pk, cid))
            state = (rules.certificate_state(cert_version=cert.course_version, course_version=course.version,
                                             expires_on=cert.expires_on, revoked=False, day=today)
                     if cert else None)
            if a is not None and a.status == S.OPEN:
                status = {rules.OVERDUE: "overdue", rules.DUE_SOON: "due_soon", rules.ON_TRACK: "open"}[
                    rules.urgency(a.due_on, today, soon)]
                if status == "open" and state == rules.VALID:
                    status = "valid"  # re-training ahead of expiry: still certified
            elif state == rules.VALID:
                status = "expiring" if rules.expiring_soon(cert.expires_on, today, window) else "valid"  # type: ignore[union-attr]
            elif a is not None and a.status == S.WAIVED and a.course_version == course.version:
                status = "waived"
            elif state is not None:
                status = "expired"
            else:
                status = "missing"
            row.cells[cid] = {"status": status, "css": CELL_CSS[status], "label": cell_label(status),
                              "due_on": a.due_on if a is not None and a.status == S.OPEN else None,
                              "expires_on": cert.expires_on if cert is not None else None,
                              "required": cid in required}
            row.overdue += status == "overdue"
            row.required += cid in required
            row.valid += status in ("valid", "expiring")
        rows.append(row)
    columns = sorted(courses.values(), key=lambda c: (c.category, c.code))
    return {"rows": rows, "columns": columns, "truncated": truncated, "today": today,
            "overdue": sum(r.overdue for r in rows),
            "staff_overdue": sum(1 for r in rows if r.overdue),
            "completion": (sum(r.valid for r in rows) * 100 // max(1, sum(len(r.cells) for r in rows)))}


def team_branches(actor: Any) -> list[Any]:
    from bankcrm.org.models import Branch

    return list(Branch.objects.visible_to(actor).order_by("path")) if access.can(actor, "people.training_team") else []


def team_overdue_count(actor: Any, *, today: date | None = None) -> int:
    today = today or timezone.localdate()
    return team_assignments(actor).filter(status=S.OPEN, due_on__lt=today).exclude(staff_id=actor.pk).count()


# ---- Administration ----------------------------------------------------------------------------------------------------
def requirements_admin(actor: Any) -> QuerySet[Requirement]:
    if not access.can(actor, "people.manage_training"):
        return Requirement.objects.none()
    return Requirement.objects.select_related("course")


def gate_rules_admin(actor: Any) -> QuerySet[GateRule]:
    if not access.can(actor, "people.manage_training"):
        return GateRule.objects.none()
    return GateRule.objects.select_related("course")


def course_stats(course_ids: list[int]) -> dict[int, dict[str, int]]:
    from django.db.models import Count

    out: dict[int, dict[str, int]] = {cid: {"open": 0, "certs": 0} for cid in course_ids}
    for row in (Assignment.objects.filter(course_id__in=course_ids, status=S.OPEN).values("course_id")
                .annotate(n=Count("id"))):
        out[row["course_id"]]["open"] = row["n"]
    for row in (Certificate.objects.filter(course_id__in=course_ids, revoked_at__isnull=True)
                .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=timezone.localdate()))
                .values("course_id").annotate(n=Count("id"))):
        out[row["course_id"]]["certs"] = row["n"]
    return out
