"""Training services (DOMAIN_RULES.md §1 "training and education"): the curriculum (courses, attachments,
requirements, gate rules), assignments (synchronised from the requirements, or given by a supervisor), quizzes and
attestations that issue certificates, external certificates, revocation and reminders.

Every function takes a keyword-only ``actor``, runs in ``transaction.atomic()`` (the entry point owns the durable
transaction), checks the capability and the actor's branch scope, and records its audit event in the same
transaction. Scores are computed here from the stored quiz: a client's score is never trusted.

**Assignment synchronisation** (``assignments_sync``, nightly and on demand) is the one place that turns
requirements into assignments: every active member of staff to whom an active requirement of a published course
applies must hold a certificate valid for the course's current version, or have an open assignment. A certificate
that expires, or whose periodic re-training date comes, within ``training.retrain_lead_days`` gets a re-training
assignment ahead of time. A waived assignment is not re-created for the same course version. The partial unique
constraint (one open assignment per staff and course) makes two concurrent runs harmless.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params, sequences
from bankcrm.core.access import EmploymentType, Role
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.errors import field_error as _field_error

from . import training_rules as rules
from .models import (
    Assignment,
    Certificate,
    Course,
    CourseAttachment,
    CourseCategory,
    GateRule,
    QuizAttempt,
    Requirement,
)

params.define("training.reminder_days", "days", 7, gettext_lazy("培训任务到期前提醒天数"), "DOMAIN_RULES §1", minimum=1, maximum=90)
params.define("training.certificate_warning_days", "days", 30, gettext_lazy("培训证书到期前提醒天数"), "DOMAIN_RULES §1", minimum=1,
              maximum=180)
params.define("training.retrain_lead_days", "days", 30, gettext_lazy("证书到期或定期培训前提前分派天数"), "DOMAIN_RULES §1", maximum=180)

CURRICULUM_FILE = Path(__file__).resolve().parent / "data" / "curriculum.json"
COURSE_FIELDS = ("code", "title", "title_en", "category", "summary", "body", "video_url", "quiz", "pass_mark",
                 "validity_months", "duration_minutes")
MAX_ATTACHMENT = 20 * 1024 * 1024
ATTACHMENT_TYPES = {
    ".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".txt": "text/plain", ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".mp4": "video/mp4",
}
ROLE_CODES = {r.value for r in Role}
TYPE_CODES = {t.value for t in EmploymentType}
S = Assignment.Status
REASON_OF_TRIGGER = {Requirement.Trigger.ONBOARDING: Assignment.Reason.ONBOARDING,
                     Requirement.Trigger.PERIODIC: Assignment.Reason.PERIODIC,
                     Requirement.Trigger.EVENT: Assignment.Reason.EVENT}


def _now() -> datetime:
    return timezone.now()


def _system(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _staff_in_scope(actor: Any, staff_id: Any, field: str = "staff_id") -> Any:
    """A member of staff the actor may act for (their branch subtree; head office: everyone), or a field error."""
    from bankcrm.org.models import Staff

    s = (Staff.objects.with_roles().filter(access.branch_scope_q(actor, "branch__path"), pk=staff_id).first()
         if str(staff_id).isdigit() else None)
    if s is None:
        raise NotFound("staff_not_found", _("员工不存在或不在您的管理范围内"), fields={field: [_("员工不存在或不在您的管理范围内")]})
    return s


def _course(course_id: Any, *, for_update: bool = False) -> Course:
    qs = Course.objects.select_for_update() if for_update else Course.objects
    c = qs.filter(pk=course_id).first() if str(course_id).isdigit() else None
    if c is None:
        raise NotFound("course_not_found", _("课程不存在"))
    return c


def _published(course_id: Any) -> Course:
    """A course staff may take: published only (a draft or retired course is invisible to learners)."""
    c = Course.objects.filter(pk=course_id, status=Course.Status.PUBLISHED).first() if str(course_id).isdigit() else None
    if c is None:
        raise NotFound("course_not_found", _("课程不存在或未发布"))
    return c


# ---- Courses ---------------------------------------------------------------------------------------------------------
def parse_quiz(text: str) -> Any:
    """The quiz typed as JSON in the course form; a syntax error is named with its line and column."""
    text = (text or "").strip()
    if not text:
        return []
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _field_error("quiz_json_invalid", "quiz", _("测验题不是合法的 JSON：第 %(l)d 行第 %(c)d 列 %(m)s") % {
            "l": exc.lineno, "c": exc.colno, "m": exc.msg}) from None


def _clean_course(c: Course) -> None:
    """Every problem of a course's fields, each on its field; quiz problems are all listed on ``quiz``."""
    f: dict[str, list[str]] = {}
    code = (c.code or "").strip()
    if not code or len(code) > 40 or not all(ch.isalnum() or ch in "-_" for ch in code) or not code.isascii():
        f["code"] = [_("课程代码必填：字母、数字、连字符，最多40位")]
    if not (c.title or "").strip():
        f["title"] = [_("请填写课程名称")]
    if c.category not in CourseCategory.values:
        f["category"] = [_("请选择课程类别")]
    if not isinstance(c.pass_mark, int) or not 1 <= c.pass_mark <= 100:
        f["pass_mark"] = [_("及格分必须是 1–100")]
    if c.validity_months is not None and not 1 <= int(c.validity_months) <= 120:
        f["validity_months"] = [_("证书有效期必须是 1–120 个月，或留空表示长期有效")]
    if not 1 <= int(c.duration_minutes or 0) <= 1000:
        f["duration_minutes"] = [_("建议学时必须是 1–1000 分钟")]
    if c.video_url and not str(c.video_url).startswith(("https://", "http://")):
        f["video_url"] = [_("视频链接必须以 http:// 或 https:// 开头")]
    problems = rules.quiz_problems(c.quiz)
    if problems:
        f["quiz"] = [str(m) for m in problems.values()]
    if f:
        raise ValidationFailed("course_invalid", "；".join(m for ms in f.values() for m in ms), fields=f)


def course_save(*, actor: Any, course_id: int | None = None, **fields: Any) -> Course:
    """Create a course (a draft) or change one. A change to a published course keeps its version (typos, a new
    attachment); to make everyone take it again, publish it as a new version (``course_publish(new_version=True)``)."""
    access.require(actor, "people.manage_training")
    unknown = set(fields) - set(COURSE_FIELDS)
    if unknown:
        raise ValidationFailed("unknown_fields", _("不可修改的字段：%(f)s") % {"f": "、".join(sorted(unknown))})
    with transaction.atomic():
        if course_id is None:
            c = Course(created_by=_system(actor), status=Course.Status.DRAFT)
            before: dict[str, Any] = {}
        else:
            c = _course(course_id, for_update=True)
            if c.status == Course.Status.RETIRED:
                raise RuleViolation("course_retired", _("已停用的课程不能修改"))
            before = {k: getattr(c, k) for k in COURSE_FIELDS}
        for k, v in fields.items():
            setattr(c, k, v.strip() if isinstance(v, str) and k not in ("body",) else v)
        if c.validity_months == "":
            c.validity_months = None
        _clean_course(c)
        if Course.objects.filter(code=c.code).exclude(pk=c.pk).exists():
            raise _field_error("course_code_taken", "code", _("课程代码 %(c)s 已存在") % {"c": c.code})
        c.save()
        after = {k: getattr(c, k) for k in COURSE_FIELDS}
        changed = [k for k in COURSE_FIELDS if before.get(k) != after[k]]
        audit.record(actor=actor, verb="people.course_saved", target=c,
                     before={k: before[k] for k in changed if k in before and k not in ("body", "quiz")},
                     after={k: after[k] for k in changed if k not in ("body", "quiz")}
                     | {"changed": changed, "questions": len(c.quiz)})
    return c


def course_publish(*, actor: Any, course_id: int, new_version: bool = False, reason: str = "") -> Course:
    """Publish a draft (or re-publish a retired course). Publishing an already published course needs
    ``new_version=True``: the version goes up, certificates of older versions stop counting, open assignments move
    to the new version, and everyone a requirement of the course applies to is assigned it at once (requirements
    with the ``event`` trigger are the regulation or product-rule updates that must be read and attested)."""
    access.require(actor, "people.manage_training")
    with transaction.atomic():
        c = _course(course_id, for_update=True)
        before = {"status": c.status, "version": c.version}
        if c.status == Course.Status.PUBLISHED and not new_version:
            raise RuleViolation("already_published", _("课程已发布；如需全员重新学习，请发布为新版本"))
        if new_version and c.status != Course.Status.PUBLISHED:
            raise RuleViolation("not_published", _("只有已发布的课程才能发布新版本"))
        _clean_course(c)
        if not c.body.strip():
            raise _field_error("body_required", "body", _("发布前请填写课程内容"))
        if new_version:
            if len((reason or "").strip()) < 4:
                raise _field_error("reason_required", "reason", _("发布新版本须说明修订内容（至少4个字）"))
            c.version += 1
        c.status, c.published_at = Course.Status.PUBLISHED, _now()
        c.save(update_fields=["status", "version", "published_at", "updated_at"])
        moved = 0
        if new_version:
            moved = Assignment.objects.filter(course=c, status=S.OPEN).update(course_version=c.version)
        audit.record(actor=actor, verb="people.course_published", target=c, before=before,
                     after={"status": c.status, "version": c.version, "open_moved": moved}, reason=reason)
        result = _sync(actor=actor, today=timezone.localdate(), course_ids=[c.pk],
                       reason_override=Assignment.Reason.EVENT if new_version else None)
    c.assigned_now = result.created  # type: ignore[attr-defined]  (shown by the page after publishing)
    return c


def course_retire(*, actor: Any, course_id: int, reason: str) -> Course:
    """Stop a course: open assignments are cancelled; refused while an active gate rule needs it (nobody could
    earn the certificate any more)."""
    access.require(actor, "people.manage_training")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise _field_error("reason_required", "reason", _("请填写停用原因（至少4个字）"))
    with transaction.atomic():
        c = _course(course_id, for_update=True)
        if c.status == Course.Status.RETIRED:
            raise RuleViolation("course_retired", _("课程已停用"))
        gates = list(GateRule.objects.filter(course=c, active=True).values_list("gate", flat=True))
        if gates:
            raise RuleViolation("course_in_gate_rule", _("准入规则 %(g)s 仍要求本课程证书，请先停用这些规则") % {
                "g": "、".join(gates)})
        before = c.status
        c.status = Course.Status.RETIRED
        c.save(update_fields=["status", "updated_at"])
        cancelled = Assignment.objects.filter(course=c, status=S.OPEN).update(status=S.CANCELLED)
        audit.record(actor=actor, verb="people.course_retired", target=c, before={"status": before},
                     after={"status": c.status, "assignments_cancelled": cancelled}, reason=reason)
    return c


def attachment_add(*, actor: Any, course_id: int, upload: Any) -> CourseAttachment:
    """Attach a file (PDF, Office, image, text or MP4 up to 20 MB) to a course; stored under MEDIA_ROOT and served
    only through the course page's download view."""
    access.require(actor, "people.manage_training")
    if upload is None:
        raise _field_error("file_required", "file", _("请选择要上传的文件"))
    name = Path(str(getattr(upload, "name", "") or "")).name[-200:]
    ext = Path(name).suffix.lower()
    if ext not in ATTACHMENT_TYPES:
        raise _field_error("attachment_type", "file", _("不支持的文件类型（可上传 %(t)s）") % {
            "t": "、".join(sorted(e.lstrip(".") for e in ATTACHMENT_TYPES))})
    ctype = (getattr(upload, "content_type", "") or mimetypes.guess_type(name)[0] or "").split(";")[0]
    if ctype and ctype not in (ATTACHMENT_TYPES[ext], "application/octet-stream"):
        raise _field_error("attachment_type", "file", _("文件内容类型（%(c)s）与扩展名不符") % {"c": ctype})
    size = int(getattr(upload, "size", 0) or 0)
    if size <= 0:
        raise _field_error("attachment_empty", "file", _("文件是空的"))
    if size > MAX_ATTACHMENT:
        raise _field_error("attachment_too_large", "file", _("文件不能超过 20 MB"))
    with transaction.atomic():
        c = _course(course_id, for_update=True)
        if c.status == Course.Status.RETIRED:
            raise RuleViolation("course_retired", _("已停用的课程不能上传附件"))
        att = CourseAttachment(course=c, name=name, size=size, uploaded_by=actor)
        att.file.save(name, upload, save=False)
        att.save()
        audit.record(actor=actor, verb="people.attachment_added", target=c,
                     after={"attachment": att.pk, "name": name, "size": size})
    return att


# ---- Requirements and gate rules -------------------------------------------------------------------------------------
def requirement_save(*, actor: Any, requirement_id: int | None = None, course_id: Any, roles: list[str],
                     employment_types: list[str], trigger: str, period_months: Any = None, due_days: Any = 30,
                     active: bool = True) -> Requirement:
    """Who must take which course, and when. Saving does not assign by itself: the next synchronisation (nightly,
    or 立即同步 on the requirements page) does."""
    access.require(actor, "people.manage_training")
    f: dict[str, list[str]] = {}
    roles, employment_types = list(roles or []), list(employment_types or [])
    if set(roles) - ROLE_CODES:
        f["roles"] = [_("角色无效：%(r)s") % {"r": "、".join(sorted(set(roles) - ROLE_CODES))}]
    if set(employment_types) - TYPE_CODES:
        f["employment_types"] = [_("用工类型无效")]
    if trigger not in Requirement.Trigger.values:
        f["trigger"] = [_("请选择触发方式")]
    try:
        period = int(period_months) if period_months not in (None, "") else None
    except (TypeError, ValueError):
        period = -1
    if trigger == Requirement.Trigger.PERIODIC and (period is None or not 1 <= period <= 120):
        f["period_months"] = [_("定期培训须填写 1–120 个月的周期")]
    elif period is not None and period != -1 and not 1 <= period <= 120:
        f["period_months"] = [_("周期必须是 1–120 个月")]
    elif period == -1:
        f["period_months"] = [_("周期必须是整数")]
    try:
        days = int(due_days)
    except (TypeError, ValueError):
        days = -1
    if not 1 <= days <= 365:
        f["due_days"] = [_("完成期限必须是 1–365 天")]
    with transaction.atomic():
        course = Course.objects.filter(pk=course_id).first() if str(course_id).isdigit() else None
        if course is None or course.status == Course.Status.RETIRED:
            f["course"] = [_("请选择未停用的课程")]
        if f:
            raise ValidationFailed("requirement_invalid", "；".join(m for ms in f.values() for m in ms), fields=f)
        if requirement_id is None:
            r = Requirement(created_by=_system(actor))
            before: dict[str, Any] = {}
        else:
            r = Requirement.objects.select_for_update().filter(pk=requirement_id).first()
            if r is None:
                raise NotFound("requirement_not_found", _("培训要求不存在"))
            before = {"course": r.course_id, "roles": r.roles, "employment_types": r.employment_types,
                      "trigger": r.trigger, "period_months": r.period_months, "due_days": r.due_days, "active": r.active}
        r.course, r.roles, r.employment_types, r.trigger = course, sorted(roles), sorted(employment_types), trigger
        r.period_months = period if trigger == Requirement.Trigger.PERIODIC else None
        r.due_days, r.active = days, bool(active)
        r.save()
        audit.record(actor=actor, verb="people.requirement_saved", target=r, target_repr=f"{course.code}#{r.pk}",
                     before=before,
                     after={"course": course.pk, "roles": r.roles, "employment_types": r.employment_types,
                            "trigger": r.trigger, "period_months": r.period_months, "due_days": r.due_days,
                            "active": r.active})
    return r


def gate_rule_save(*, actor: Any, rule_id: int | None = None, gate: str, course_id: Any,
                   min_product_level: Any = None, action_prefix: str = "", active: bool = True) -> GateRule:
    """Configure which certificate a guarded action needs (see ``people.gates.GATE_POINTS``)."""
    from .gates import GATE_POINTS

    access.require(actor, "people.manage_training")
    f: dict[str, list[str]] = {}
    if gate not in GATE_POINTS:
        f["gate"] = [_("请选择受控操作")]
    level = None
    if min_product_level not in (None, ""):
        try:
            level = int(min_product_level)
        except (TypeError, ValueError):
            level = 0
        if not 1 <= level <= 5:
            f["min_product_level"] = [_("最低产品风险等级必须是 1–5（R1–R5）")]
    if level is not None and gate != "risk.sell_certified":
        f["min_product_level"] = [_("只有“销售高风险产品”准入可以按产品风险等级限定")]
    prefix = (action_prefix or "").strip()
    if prefix and gate != "approvals.approve":
        f["action_prefix"] = [_("只有“复核”准入可以按复核事项代码前缀限定")]
    if len(prefix) > 60:
        f["action_prefix"] = [_("代码前缀最多60个字符")]
    with transaction.atomic():
        course = Course.objects.filter(pk=course_id).first() if str(course_id).isdigit() else None
        if course is None or (active and course.status != Course.Status.PUBLISHED):
            f["course"] = [_("请选择已发布的课程（员工须能取得该证书）")]
        if f:
            raise ValidationFailed("gate_rule_invalid", "；".join(m for ms in f.values() for m in ms), fields=f)
        if rule_id is None:
            rule = GateRule(created_by=_system(actor))
            before: dict[str, Any] = {}
        else:
            rule = GateRule.objects.select_for_update().filter(pk=rule_id).first()
            if rule is None:
                raise NotFound("gate_rule_not_found", _("准入规则不存在"))
            before = {"gate": rule.gate, "course": rule.course_id, "min_product_level": rule.min_product_level,
                      "action_prefix": rule.action_prefix, "active": rule.active}
        if GateRule.objects.filter(gate=gate, course=course).exclude(pk=rule.pk).exists():
            raise _field_error("gate_rule_exists", "course", _("该受控操作已有要求此课程的规则"))
        rule.gate, rule.course, rule.min_product_level, rule.action_prefix, rule.active = (
            gate, course, level, prefix, bool(active))
        rule.save()
        audit.record(actor=actor, verb="people.gate_rule_saved", target=rule, target_repr=f"{gate}→{course.code}",
                     before=before, after={"gate": gate, "course": course.pk, "min_product_level": level,
                                           "action_prefix": prefix, "active": rule.active})
    return rule


# ---- The default curriculum ------------------------------------------------------------------------------------------
def load_curriculum() -> dict[str, Any]:
    return json.loads(CURRICULUM_FILE.read_text(encoding="utf-8"))


def curriculum_install_default(*, actor: Any = None) -> dict[str, int]:
    """Install the shipped curriculum (courses published, requirements, gate rules) where missing, by course code:
    idempotent, and never overwrites what an administrator changed. ``actor`` None is the system (setup, demo)."""
    if actor is not None:
        access.require(actor, "people.manage_training")
    data = load_curriculum()
    out = {"courses": 0, "requirements": 0, "gate_rules": 0}
    with transaction.atomic():
        by_code = {c.code: c for c in Course.objects.filter(code__in=[x["code"] for x in data["courses"]])}
        for x in data["courses"]:
            if x["code"] in by_code:
                continue
            c = Course(**{k: x[k] for k in COURSE_FIELDS if k in x}, status=Course.Status.PUBLISHED,
                       published_at=_now(), created_by=_system(actor))
            _clean_course(c)
            c.save()
            by_code[c.code] = c
            audit.record(actor=actor, verb="people.course_saved", target=c,
                         after={"installed": "default", "title": c.title, "questions": len(c.quiz),
                                "validity_months": c.validity_months, "status": c.status})
            out["courses"] += 1
        for x in data["requirements"]:
            course = by_code[x["course"]]
            key = dict(course=course, roles=sorted(x["roles"]), employment_types=sorted(x["employment_types"]),
                       trigger=x["trigger"])
            if any(r.roles == key["roles"] and r.employment_types == key["employment_types"] and r.trigger == x["trigger"]
                   for r in Requirement.objects.filter(course=course)):
                continue
            r = Requirement.objects.create(**key, period_months=x.get("period_months"), due_days=x["due_days"],
                                           created_by=_system(actor))
            audit.record(actor=actor, verb="people.requirement_saved", target=r, target_repr=f"{course.code}#{r.pk}",
                         after={"installed": "default", "roles": r.roles, "employment_types": r.employment_types,
                                "trigger": r.trigger, "period_months": r.period_months, "due_days": r.due_days})
            out["requirements"] += 1
        for x in data["gate_rules"]:
            course = by_code[x["course"]]
            rule, created = GateRule.objects.get_or_create(
                gate=x["gate"], course=course,
                defaults={"min_product_level": x.get("min_product_level"), "action_prefix": x.get("action_prefix", ""),
                          "created_by": _system(actor)})
            if created:
                audit.record(actor=actor, verb="people.gate_rule_saved", target=rule,
                             target_repr=f"{rule.gate}→{course.code}",
                             after={"installed": "default", "min_product_level": rule.min_product_level,
                                    "action_prefix": rule.action_prefix})
                out["gate_rules"] += 1
    return out


# ---- Assignments -----------------------------------------------------------------------------------------------------
@dataclass
class SyncResult:
    staff: int = 0
    created: int = 0
    periodic: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"staff": self.staff, "created": self.created, "periodic": self.periodic}


def best_certificates(staff_ids: list[int], course_ids: list[int] | None = None) -> dict[tuple[int, int], Certificate]:
    """The latest unrevoked certificate per (staff, course) on the highest version: the one that counts."""
    qs = Certificate.objects.filter(staff_id__in=staff_ids, revoked_at__isnull=True)
    if course_ids is not None:
        qs = qs.filter(course_id__in=course_ids)
    best: dict[tuple[int, int], Certificate] = {}
    for cert in qs.order_by("course_version", "issued_at", "pk"):
        best[(cert.staff_id, cert.course_id)] = cert
    return best


def _sync(*, actor: Any, today: date, staff_ids: list[int] | None = None, course_ids: list[int] | None = None,
          reason_override: str | None = None, chunk: int = 400) -> SyncResult:
    from bankcrm.org.models import Staff

    reqs = list(Requirement.objects.filter(active=True, course__status=Course.Status.PUBLISHED).select_related("course"))
    if course_ids is not None:
        reqs = [r for r in reqs if r.course_id in course_ids]
    result = SyncResult()
    if not reqs:
        return result
    lead = params.value("training.retrain_lead_days")
    wanted_courses = sorted({r.course_id for r in reqs})
    staff_qs = Staff.objects.filter(is_active=True).with_roles().order_by("pk")
    if staff_ids is not None:
        staff_qs = staff_qs.filter(pk__in=staff_ids)
    ids = list(staff_qs.values_list("pk", flat=True))
    now = _now()
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        with transaction.atomic():
            staff = list(Staff.objects.filter(pk__in=part).with_roles())
            open_ = set(Assignment.objects.filter(staff_id__in=part, course_id__in=wanted_courses, status=S.OPEN)
                        .values_list("staff_id", "course_id"))
            waived = set(Assignment.objects.filter(staff_id__in=part, course_id__in=wanted_courses, status=S.WAIVED)
                         .values_list("staff_id", "course_id", "course_version"))
            certs = best_certificates(part, wanted_courses)
            todo: dict[tuple[int, int], Assignment] = {}
            for s in staff:
                if not s.contract_valid_on(today):
                    continue
                for r in reqs:
                    if not rules.requirement_applies(req_roles=r.roles, req_types=r.employment_types,
                                                     staff_roles=s.roles, staff_type=s.employment_type):
                        continue
                    key = (s.pk, r.course_id)
                    c = r.course
                    if key in open_ or (s.pk, c.pk, c.version) in waived:
                        continue
                    cert = certs.get(key)
                    reason, due = REASON_OF_TRIGGER[r.trigger], rules.due_date(today, r.due_days)
                    if cert is None and r.trigger == Requirement.Trigger.PERIODIC:
                        reason = Assignment.Reason.ONBOARDING  # the first time is not a re-training
                    if cert is not None and rules.certificate_valid(
                            cert_version=cert.course_version, course_version=c.version, expires_on=cert.expires_on,
                            revoked=False, day=today):
                        nxt = rules.retraining_due_on(
                            issued_on=timezone.localtime(cert.issued_at).date(), expires_on=cert.expires_on,
                            period_months=r.period_months if r.trigger == Requirement.Trigger.PERIODIC else None)
                        if not rules.retraining_needed(next_due=nxt, today=today, lead_days=lead):
                            continue
                        reason = Assignment.Reason.PERIODIC
                        due = rules.retraining_assignment_due(next_due=nxt, today=today, due_days=r.due_days)
                    if reason_override and r.trigger == Requirement.Trigger.EVENT:
                        reason = reason_override
                    current = todo.get(key)
                    if current is None or due < current.due_on:
                        todo[key] = Assignment(staff=s, course=c, course_version=c.version, requirement=r,
                                               reason=reason, branch_path=s.branch.path, assigned_by=_system(actor),
                                               assigned_at=now, due_on=due)
            made = _create_assignments(list(todo.values()))
            for a in made:
                audit.record(actor=actor, verb="people.training_assigned", target=a,
                             target_repr=f"{a.staff.staff_no} {a.course.code} v{a.course_version}",
                             after={"staff": a.staff_id, "course": a.course.code, "version": a.course_version,
                                    "reason": a.reason, "due_on": a.due_on, "requirement": a.requirement_id})
            result.staff += len(staff)
            result.created += len(made)
            result.periodic += sum(1 for a in made if a.reason == Assignment.Reason.PERIODIC)
    return result


def _create_assignments(rows: list[Assignment]) -> list[Assignment]:
    """Insert the new open assignments; one that another run created meanwhile (the partial unique constraint) is
    skipped, never duplicated."""
    made = []
    for a in rows:
        try:
            with transaction.atomic():
                a.save(force_insert=True)
            made.append(a)
        except IntegrityError:
            continue
    return made


def assignments_sync(*, actor: Any = None, today: date | None = None, staff_ids: list[int] | None = None) -> dict[str, int]:
    """Create the missing open assignments for every active member of staff (nightly job, or 立即同步 by an
    administrator). Idempotent: a second run creates nothing."""
    if actor is not None:
        access.require(actor, "people.manage_training")
    today = today or timezone.localdate()
    return _sync(actor=actor, today=today, staff_ids=staff_ids).as_dict()


def training_assign(*, actor: Any, staff_id: Any, course_id: Any, due_on: date | None, note: str = "") -> Assignment:
    """A supervisor (or compliance, an administrator) assigns a published course to a member of staff in their
    scope, due on a date from tomorrow on."""
    access.require(actor, "people.assign_training")
    today = timezone.localdate()
    if not isinstance(due_on, date) or due_on <= today:
        raise _field_error("due_on_invalid", "due_on", _("完成期限须晚于今天"))
    with transaction.atomic():
        s = _staff_in_scope(actor, staff_id)
        if not s.is_active:
            raise _field_error("staff_inactive", "staff_id", _("该员工账户已停用"))
        course = Course.objects.filter(pk=course_id, status=Course.Status.PUBLISHED).first() \
            if str(course_id).isdigit() else None
        if course is None:
            raise _field_error("course_invalid", "course_id", _("请选择已发布的课程"))
        if Assignment.objects.filter(staff=s, course=course, status=S.OPEN).exists():
            raise RuleViolation("assignment_open", _("%(n)s 已有《%(c)s》的未完成培训任务") % {"n": s.name, "c": course.title})
        a = Assignment(staff=s, course=course, course_version=course.version, reason=Assignment.Reason.MANUAL,
                       branch_path=s.branch.path, assigned_by=actor, assigned_at=_now(), due_on=due_on)
        try:
            with transaction.atomic():
                a.save(force_insert=True)
        except IntegrityError:
            raise RuleViolation("assignment_open", _("%(n)s 已有《%(c)s》的未完成培训任务") % {
                "n": s.name, "c": course.title}) from None
        audit.record(actor=actor, verb="people.training_assigned", target=a,
                     target_repr=f"{s.staff_no} {course.code} v{course.version}",
                     after={"staff": s.pk, "course": course.code, "version": course.version, "reason": a.reason,
                            "due_on": due_on}, reason=(note or "")[:300])
    return a


def _assignment_in_scope(actor: Any, assignment_id: Any) -> Assignment:
    a = (Assignment.objects.select_for_update().filter(access.branch_scope_q(actor, "branch_path"), pk=assignment_id)
         .first() if str(assignment_id).isdigit() else None)
    if a is None:
        raise NotFound("assignment_not_found", _("培训任务不存在或无权查看"))
    return a


def assignment_waive(*, actor: Any, assignment_id: Any, reason: str) -> Assignment:
    """Excuse a member of staff from an open assignment (e.g. long leave, already certified elsewhere), with a
    reason. Not one's own: nobody waives their own training."""
    access.require(actor, "people.assign_training")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise _field_error("reason_required", "reason", _("请填写免除理由（至少4个字）"))
    with transaction.atomic():
        a = _assignment_in_scope(actor, assignment_id)
        if a.staff_id == actor.pk:
            raise PermissionDenied("waive_own", _("不能免除本人的培训任务"), capability="people.assign_training")
        if a.status != S.OPEN:
            raise RuleViolation("assignment_not_open", _("培训任务已%(s)s，不能免除") % {"s": a.get_status_display()})
        a.status, a.completed_at = S.WAIVED, _now()
        a.save(update_fields=["status", "completed_at"])
        audit.record(actor=actor, verb="people.training_waived", target=a, before={"status": S.OPEN},
                     after={"status": a.status}, reason=reason)
    return a


# ---- Quizzes, attestation and certificates -----------------------------------------------------------------------------
def _certificate_number() -> str:
    return f"TC{timezone.localdate():%Y%m%d}{sequences.next_value('people.certificate'):05d}"


def _issue(*, actor: Any, staff: Any, course: Course, method: str, score: int | None = None,
           attempt: QuizAttempt | None = None, issued_at: datetime | None = None, expires_on: date | None = None,
           recorded_by: Any = None, reason: str = "") -> Certificate:
    issued_at = issued_at or _now()
    if expires_on is None:
        expires_on = rules.expiry_date(timezone.localtime(issued_at).date(), course.validity_months)
    cert = Certificate.objects.create(staff=staff, course=course, course_version=course.version, method=method,
                                      score=score, attempt=attempt, number=_certificate_number(), issued_at=issued_at,
                                      expires_on=expires_on, recorded_by=recorded_by)
    done = Assignment.objects.select_for_update().filter(staff=staff, course=course, status=S.OPEN).first()
    if done is not None:
        done.status, done.completed_at, done.certificate = S.COMPLETED, issued_at, cert
        done.save(update_fields=["status", "completed_at", "certificate"])
    audit.record(actor=actor, verb="people.certificate_issued", target=cert, target_repr=cert.number,
                 after={"staff": staff.pk, "course": course.code, "version": course.version, "method": method,
                        "score": score, "expires_on": expires_on, "assignment": done.pk if done else None},
                 reason=reason)
    return cert


def quiz_submit(*, actor: Any, course_id: Any, answers: Any, course_version: Any = None) -> QuizAttempt:
    """Score a quiz from the stored questions (never from a client's score). A pass issues a certificate (valid
    for ``validity_months``) and completes the open assignment. ``course_version`` is the version the learner saw:
    a course republished meanwhile must be answered again."""
    access.require(actor, "people.training")
    with transaction.atomic():
        course = _published(course_id)
        if not course.quiz:
            raise RuleViolation("no_quiz", _("本课程没有测验，阅读后请确认（阅读确认）"))
        if course_version not in (None, "") and str(course_version) != str(course.version):
            raise RuleViolation("course_changed", _("课程已更新为第 %(v)d 版，请阅读新版本后重新作答") % {
                "v": course.version})
        problems = rules.answer_problems(course.quiz, answers)
        if problems:
            raise ValidationFailed("answers_incomplete", _("请回答全部题目：%(p)s") % {"p": "；".join(problems.values())},
                                   fields=problems)
        answers = [int(a) for a in answers]
        score = rules.score(course.quiz, answers)
        ok = rules.passed(score, course.pass_mark)
        attempt = QuizAttempt.objects.create(staff=actor, course=course, course_version=course.version,
                                             answers=answers, score=score, passed=ok, submitted_at=_now())
        audit.record(actor=actor, verb="people.quiz_submitted", target=attempt,
                     target_repr=f"{course.code} v{course.version}",
                     after={"course": course.code, "score": score, "passed": ok, "pass_mark": course.pass_mark})
        attempt.certificate = (_issue(actor=actor, staff=actor, course=course,  # type: ignore[attr-defined]
                                      method=Certificate.Method.QUIZ, score=score, attempt=attempt) if ok else None)
    attempt.wrong = rules.wrong_questions(course.quiz, answers)  # type: ignore[attr-defined]
    return attempt


def attest(*, actor: Any, course_id: Any, course_version: Any = None) -> Certificate:
    """Confirm having read a course without a quiz (a new version of the regulation, a product rule)."""
    access.require(actor, "people.training")
    with transaction.atomic():
        course = _published(course_id)
        if course.quiz:
            raise RuleViolation("quiz_required", _("本课程须通过测验，不能仅阅读确认"))
        if course_version not in (None, "") and str(course_version) != str(course.version):
            raise RuleViolation("course_changed", _("课程已更新为第 %(v)d 版，请阅读新版本后再确认") % {"v": course.version})
        return _issue(actor=actor, staff=actor, course=course, method=Certificate.Method.ATTESTATION)


def certificate_record_external(*, actor: Any, staff_id: Any, course_id: Any, issued_on: date,
                                expires_on: date | None = None, reference: str) -> Certificate:
    """Record a certificate earned outside (an industry qualification exam, training at another institution)
    for a member of staff in the actor's scope; ``reference`` names the external certificate."""
    access.require(actor, "people.assign_training")
    reference = (reference or "").strip()
    f: dict[str, list[str]] = {}
    today = timezone.localdate()
    if len(reference) < 4:
        f["reference"] = [_("请填写外部证书编号或发证机构（至少4个字）")]
    if not isinstance(issued_on, date) or issued_on > today:
        f["issued_on"] = [_("发证日期不能晚于今天")]
    if expires_on is not None and (not isinstance(expires_on, date) or
                                   (isinstance(issued_on, date) and expires_on < issued_on)):
        f["expires_on"] = [_("有效期不能早于发证日期")]
    if f:
        raise ValidationFailed("certificate_invalid", "；".join(m for ms in f.values() for m in ms), fields=f)
    with transaction.atomic():
        s = _staff_in_scope(actor, staff_id)
        course = Course.objects.filter(pk=course_id, status=Course.Status.PUBLISHED).first() \
            if str(course_id).isdigit() else None
        if course is None:
            raise _field_error("course_invalid", "course_id", _("请选择已发布的课程"))
        if s.pk == actor.pk:
            raise PermissionDenied("record_own", _("不能为本人录入证书"), capability="people.assign_training")
        issued_at = timezone.make_aware(datetime.combine(issued_on, datetime.min.time().replace(hour=9)))
        if expires_on is None:
            expires_on = rules.expiry_date(issued_on, course.validity_months)
        return _issue(actor=actor, staff=s, course=course, method=Certificate.Method.EXTERNAL, issued_at=issued_at,
                      expires_on=expires_on, recorded_by=actor, reason=reference[:200])


def certificate_revoke(*, actor: Any, certificate_id: Any, reason: str) -> Certificate:
    """Revoke a certificate (e.g. mis-selling found, a cheating attempt): it stops counting at once for the gates
    and for requirements; the holder is assigned the course again."""
    access.require(actor, "people.assign_training")
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise _field_error("reason_required", "reason", _("请填写撤销原因（至少4个字）"))
    with transaction.atomic():
        cert = (Certificate.objects.select_for_update()
                .filter(access.branch_scope_q(actor, "staff__branch__path"), pk=certificate_id).first()
                if str(certificate_id).isdigit() else None)
        if cert is None:
            raise NotFound("certificate_not_found", _("证书不存在或无权查看"))
        if cert.staff_id == actor.pk:
            raise PermissionDenied("revoke_own", _("不能撤销本人的证书"), capability="people.assign_training")
        if cert.revoked_at:
            raise RuleViolation("certificate_revoked", _("证书已撤销"))
        cert.revoked_at, cert.revoked_by, cert.revoke_reason = _now(), actor, reason[:200]
        cert.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit.record(actor=actor, verb="people.certificate_revoked", target=cert, target_repr=cert.number,
                     before={"revoked": False}, after={"revoked": True, "staff": cert.staff_id}, reason=reason)
        _sync(actor=actor, today=timezone.localdate(), staff_ids=[cert.staff_id], course_ids=[cert.course_id])
    return cert


# ---- Reminders --------------------------------------------------------------------------------------------------------
def training_reminders(*, today: date | None = None) -> dict[str, int]:
    """The daily reminder run: open assignments due within ``training.reminder_days`` or overdue, and certificates
    expiring within ``training.certificate_warning_days`` (not yet renewed), are stamped ``reminded_on`` today — the
    inbox shows them to their holder and the team page to the supervisor. Run twice on a day, it changes nothing."""
    today = today or timezone.localdate()
    soon = params.value("training.reminder_days")
    window = params.value("training.certificate_warning_days")
    with transaction.atomic():
        due = (Assignment.objects.filter(status=S.OPEN, due_on__lte=rules.due_date(today, soon))
               .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today)))
        n_assign = due.update(reminded_on=today)
        expiring = list(Certificate.objects.filter(revoked_at__isnull=True, expires_on__gte=today,
                                                   expires_on__lte=rules.due_date(today, window))
                        .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=today))
                        .values_list("pk", "staff_id", "course_id", "issued_at"))
        latest: dict[tuple[int, int], datetime] = {}
        for s, c, t in Certificate.objects.filter(revoked_at__isnull=True, staff_id__in={e[1] for e in expiring}
                                                  ).values_list("staff_id", "course_id", "issued_at"):
            latest[(s, c)] = max(t, latest.get((s, c), t))
        ids = [pk for pk, s, c, t in expiring if latest.get((s, c), t) <= t]  # a newer certificate: renewed
        n_cert = Certificate.objects.filter(pk__in=ids).update(reminded_on=today)
        if n_assign or n_cert:
            audit.record(actor=None, verb="people.training_reminded", target_type="people.Assignment",
                         target_repr=str(today), after={"assignments": n_assign, "certificates": n_cert})
    return {"assignments": n_assign, "certificates": n_cert}


def nightly(*, today: date | None = None) -> dict[str, Any]:
    """The daily job: synchronise assignments, then remind."""
    return {"sync": assignments_sync(today=today), "reminders": training_reminders(today=today)}

