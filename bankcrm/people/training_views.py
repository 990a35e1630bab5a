"""Training pages: 我的培训 (what is due, done, my certificates), the course page (text, attachments, video, the quiz
or the attestation) and the quiz result, 团队培训 (staff × required courses for supervisors and compliance, a member's
page with assign / waive / external certificate / revoke, Excel export), and the administration of courses,
requirements and gate rules (准入规则).

Views parse input, call one service or selector and render; the services' ``ValidationFailed.fields`` go back on
the form fields, other domain errors become a message with their stable code."""

from __future__ import annotations

import io
import mimetypes
from typing import Any
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from bankcrm.core import access, audit
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from bankcrm.core.transactions import entrypoint
from bankcrm.core.web import capability_required

from . import training_rules as rules
from . import training_selectors as sel
from . import training_services as svc
from .gates import GATE_POINTS
from .models import Assignment, Certificate, Course
from .training_forms import (
    AssignForm,
    AttachmentForm,
    CourseForm,
    ExternalCertificateForm,
    GateRuleForm,
    PublishForm,
    RequirementForm,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _flash(request: HttpRequest, exc: DomainError) -> None:
    detail = "；".join(str(m) for msgs in exc.fields.values() for m in msgs)
    text = str(exc.message) if not detail or detail == str(exc.message) else f"{exc.message}：{detail}"
    messages.error(request, _("%(message)s（错误代码：%(code)s）") % {"message": text, "code": exc.code})


def _show_error(form: forms.Form, exc: DomainError, field_map: dict[str, str] | None = None) -> None:
    """Each field message on its field; the message with its code above the form."""
    placed = False
    for name, msgs in exc.fields.items():
        target = (field_map or {}).get(name, name)
        if target in form.fields:
            for m in msgs:
                form.add_error(target, str(m))
            placed = True
    if not placed or not exc.fields:
        form.add_error(None, _("%(message)s（错误代码：%(code)s）") % {"message": exc.message, "code": exc.code})


def _english() -> bool:
    return (get_language() or "").startswith("en")


# ---- 我的培训 ---------------------------------------------------------------------------------------------------------
@capability_required("people.training")
def my_training(request: HttpRequest) -> HttpResponse:
    data = sel.my_overview(request.user)
    # self-study: published courses neither assigned now nor already certified (valid) on their current version
    skip = {a.course_id for a in data["open"]} | {cid for cid, cv in data["latest"].items() if cv.state == "valid"}
    others = [c for c in sel.courses_published().order_by("category", "code") if c.pk not in skip]
    return render(request, "people/training/my.html", {"d": data, "others": others})


@capability_required("people.training")
def course_page(request: HttpRequest, pk: int) -> HttpResponse:
    course = sel.course_for_learner(request.user, pk)
    overview = sel.my_overview(request.user)
    open_a = next((a for a in overview["open"] if a.course_id == course.pk), None)
    cert = overview["latest"].get(course.pk)
    attempts = list(request.user.quiz_attempts.filter(course=course).order_by("-submitted_at")[:5])
    return render(request, "people/training/course.html", {
        "course": course, "blocks": sel.body_blocks(course.body), "attachments": course.attachments.all(),
        "quiz": sel.learner_quiz(course, english=_english()), "assignment": open_a, "cert": cert,
        "attempts": attempts, "published": course.status == Course.Status.PUBLISHED,
        "title": course.title_en if _english() and course.title_en else course.title,
    })


@require_POST
@capability_required("people.training")
def course_submit(request: HttpRequest, pk: int) -> HttpResponse:
    course = sel.course_for_learner(request.user, pk)
    answers: list[Any] = []
    for i in range(len(course.quiz)):
        raw = request.POST.get(f"q{i}", "")
        answers.append(int(raw) if raw.isdigit() else None)
    try:
        attempt = entrypoint(svc.quiz_submit)(actor=request.user, course_id=course.pk, answers=answers,
                                              course_version=request.POST.get("version"))
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        _flash(request, exc)
        return redirect("people:course", pk=course.pk)
    if attempt.passed:
        messages.success(request, _("测验通过（%(s)d 分），已颁发证书 %(n)s") % {
            "s": attempt.score, "n": attempt.certificate.number})
    else:
        messages.warning(request, _("本次得分 %(s)d 分，未达到及格分 %(p)d 分，请复习后重新作答") % {
            "s": attempt.score, "p": course.pass_mark})
    return redirect("people:attempt", pk=attempt.pk)


@capability_required("people.training")
def attempt_result(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = sel.my_attempt(request.user, pk)
    course = attempt.course
    same_version = attempt.course_version == course.version
    wrong = set(rules.wrong_questions(course.quiz, attempt.answers)) if same_version else set()
    english = _english()
    items = []
    for q in sel.learner_quiz(course, english=english) if same_version else []:
        i = q["index"]
        given = attempt.answers[i]
        items.append({**q, "given": given, "wrong": i in wrong,
                      # the right answer is shown once the quiz is passed (never to someone still trying)
                      "answer": course.quiz[i]["answer"] if attempt.passed else None})
    cert = Certificate.objects.filter(attempt=attempt).first()
    return render(request, "people/training/result.html", {
        "attempt": attempt, "course": course, "items": items, "wrong": len(wrong), "cert": cert,
        "same_version": same_version, "total": len(course.quiz)})


@require_POST
@capability_required("people.training")
def course_attest(request: HttpRequest, pk: int) -> HttpResponse:
    course = sel.course_for_learner(request.user, pk)
    if request.POST.get("confirm") != "1":
        messages.error(request, _("请勾选“我已阅读并理解”后再确认"))
        return redirect("people:course", pk=course.pk)
    try:
        cert = entrypoint(svc.attest)(actor=request.user, course_id=course.pk,
                                      course_version=request.POST.get("version"))
        messages.success(request, _("已确认阅读，证书 %(n)s") % {"n": cert.number})
    except (NotFound, PermissionDenied):
        raise
    except DomainError as exc:
        _flash(request, exc)
    return redirect("people:course", pk=course.pk)


@capability_required("people.training")
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    att = sel.attachment_for(request.user, pk)
    ctype = mimetypes.guess_type(att.name)[0] or "application/octet-stream"
    resp = FileResponse(att.file.open("rb"), content_type=ctype)
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(att.name)}"
    return resp


# ---- 团队培训 --------------------------------------------------------------------------------------------------------
def _team_filters(request: HttpRequest) -> tuple[str, str]:
    branches = {b.path: b for b in sel.team_branches(request.user)}
    code = request.GET.get("branch", "")
    prefix = next((p for p, b in branches.items() if b.code == code), "") if code else ""
    status = request.GET.get("status", "")
    return prefix, status if status in sel.CELL_CSS else ""


@capability_required("people.training_team")
def team(request: HttpRequest) -> HttpResponse:
    prefix, status = _team_filters(request)
    m = sel.team_matrix(request.user, branch_prefix=prefix)
    rows = m["rows"]
    if status:
        rows = [r for r in rows if any(c["status"] == status for c in r.cells.values())]
    for r in rows:
        r.line = [r.cells.get(c.pk) for c in m["columns"]]  # type: ignore[attr-defined]
    return render(request, "people/training/team.html", {
        "m": m, "rows": rows, "status": status, "branch": request.GET.get("branch", ""),
        "branches": sel.team_branches(request.user), "legend": [(k, v, sel.cell_label(k)) for k, v in sel.CELL_CSS.items()],
        "can_export": access.can(request.user, "people.export"),
        "can_assign": access.can(request.user, "people.assign_training")})


@capability_required("people.export")
def team_export(request: HttpRequest) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    if not access.can(request.user, "people.training_team"):
        raise PermissionDenied("permission_denied", access.denial_reason(request.user, "people.training_team"),
                               capability="people.training_team")
    prefix, _status = _team_filters(request)
    fills = {"success": "C6EFCE", "warning": "FFEB9C", "danger": "FFC7CE", "info": "DDEBF7", "secondary": "EDEDED",
             "light": "FFFFFF"}
    with transaction.atomic(durable=True):
        m = sel.team_matrix(request.user, branch_prefix=prefix)
        wb = Workbook()
        ws = wb.active
        ws.title = _("团队培训")
        ws.append([_("团队培训情况"), f"{m['today']:%Y-%m-%d}", _("导出人"), f"{request.user.staff_no} {request.user.name}"])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([_("工号"), _("姓名"), _("机构"), _("用工类型"), _("逾期项"),
                   *[c.title for c in m["columns"]]])
        for cell in ws[2]:
            cell.font = Font(bold=True)
        for r in m["rows"]:
            line = [r.staff.staff_no, r.staff.name, r.staff.branch.name, r.staff.employment_label, r.overdue]
            for c in m["columns"]:
                cell = r.cells.get(c.pk)
                if cell is None:
                    line.append("")
                    continue
                extra = (_("期限 %(d)s") % {"d": cell["due_on"]} if cell["due_on"] else
                         _("至 %(d)s") % {"d": cell["expires_on"]} if cell["expires_on"] else "")
                line.append(f"{cell['label']} {extra}".strip())
            ws.append(line)
            for j, c in enumerate(m["columns"]):
                cell = r.cells.get(c.pk)
                if cell is not None:
                    ws.cell(row=ws.max_row, column=6 + j).fill = PatternFill("solid", fgColor=fills[cell["css"]])
        for col, width in zip("ABCDE", (10, 10, 16, 10, 8), strict=True):
            ws.column_dimensions[col].width = width
        buf = io.BytesIO()
        wb.save(buf)
        audit.record(actor=request.user, verb="people.training_exported", target_type="people.Assignment",
                     target_repr=prefix or "all", after={"staff": len(m["rows"]), "courses": len(m["columns"])})
    resp = HttpResponse(buf.getvalue(), content_type=XLSX)
    name = f"团队培训-{m['today']:%Y%m%d}.xlsx"
    resp["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return resp


@require_http_methods(["GET", "POST"])
@capability_required("people.training_team")
def team_member(request: HttpRequest, pk: int) -> HttpResponse:
    staff = sel.team_member(request.user, pk)
    user = request.user
    can_assign = access.can(user, "people.assign_training") and staff.pk != user.pk
    assign_form = AssignForm(prefix="a")
    external_form = ExternalCertificateForm(prefix="x")
    if request.method == "POST":
        if not can_assign:
            raise PermissionDenied("permission_denied", access.denial_reason(user, "people.assign_training"),
                                   capability="people.assign_training")
        action = request.POST.get("action")
        try:
            if action == "assign":
                assign_form = AssignForm(request.POST, prefix="a")
                if assign_form.is_valid():
                    d = assign_form.cleaned_data
                    entrypoint(svc.training_assign)(actor=user, staff_id=staff.pk, course_id=d["course"].pk,
                                                    due_on=d["due_on"], note=d["note"])
                    messages.success(request, _("已分派培训"))
                    return redirect("people:team_member", pk=staff.pk)
            elif action == "external":
                external_form = ExternalCertificateForm(request.POST, prefix="x")
                if external_form.is_valid():
                    d = external_form.cleaned_data
                    entrypoint(svc.certificate_record_external)(
                        actor=user, staff_id=staff.pk, course_id=d["course"].pk, issued_on=d["issued_on"],
                        expires_on=d["expires_on"], reference=d["reference"])
                    messages.success(request, _("已录入外部证书"))
                    return redirect("people:team_member", pk=staff.pk)
            elif action in ("waive", "revoke"):
                reason = request.POST.get("reason", "")
                if action == "waive":
                    entrypoint(svc.assignment_waive)(actor=user, assignment_id=request.POST.get("id"), reason=reason)
                    messages.success(request, _("已免除该培训任务"))
                else:
                    entrypoint(svc.certificate_revoke)(actor=user, certificate_id=request.POST.get("id"), reason=reason)
                    messages.success(request, _("证书已撤销，已重新分派培训"))
                return redirect("people:team_member", pk=staff.pk)
            else:
                raise NotFound("unknown_action", _("未知操作"))
        except (NotFound, PermissionDenied):
            raise
        except ValidationFailed as exc:
            form = assign_form if action == "assign" else external_form if action == "external" else None
            if form is not None:
                _show_error(form, exc, {"course_id": "course", "staff_id": "course"})
            else:
                _flash(request, exc)
                return redirect("people:team_member", pk=staff.pk)
        except DomainError as exc:
            _flash(request, exc)
            return redirect("people:team_member", pk=staff.pk)
    today = timezone.localdate()
    window = svc.params.value("training.certificate_warning_days")
    assignments = list(Assignment.objects.filter(staff=staff).select_related("course", "assigned_by")
                       .order_by("-assigned_at")[:100])
    for a in assignments:
        a.urgency = rules.urgency(a.due_on, today, svc.params.value("training.reminder_days"))  # type: ignore[attr-defined]
    certs = [sel.cert_view(c, today, window) for c in
             Certificate.objects.filter(staff=staff).select_related("course", "recorded_by").order_by("-issued_at")]
    return render(request, "people/training/member.html", {
        "staff": staff, "assignments": assignments, "certs": certs, "can_assign": can_assign,
        "assign_form": assign_form, "external_form": external_form, "today": today})


# ---- Administration: courses --------------------------------------------------------------------------------------------
@capability_required("people.manage_training")
def course_list(request: HttpRequest) -> HttpResponse:
    courses = list(sel.courses_admin(request.user).order_by("status", "category", "code"))
    stats = sel.course_stats([c.pk for c in courses])
    for c in courses:
        c.stats = stats[c.pk]  # type: ignore[attr-defined]
    return render(request, "people/training/course_list.html", {"courses": courses})


def _course_fields(form: CourseForm) -> dict[str, Any]:
    d = dict(form.cleaned_data)
    d["quiz"] = svc.parse_quiz(d.get("quiz", ""))
    return d


@require_http_methods(["GET", "POST"])
@capability_required("people.manage_training")
def course_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    course = sel.course_for_admin(request.user, pk) if pk is not None else None
    if request.method == "POST":
        form = CourseForm(request.POST)
        if form.is_valid():
            try:
                fields = _course_fields(form)
                c = entrypoint(svc.course_save)(actor=request.user, course_id=course.pk if course else None, **fields)
                messages.success(request, _("课程已保存"))
                return redirect("people:course_admin", pk=c.pk)
            except (NotFound, PermissionDenied):
                raise
            except DomainError as exc:
                _show_error(form, exc)
    else:
        form = CourseForm(initial=CourseForm.initial_for(course) if course else {"quiz": "[]"})
    return render(request, "people/training/course_form.html", {"form": form, "course": course})


@require_http_methods(["GET", "POST"])
@capability_required("people.manage_training")
def course_admin(request: HttpRequest, pk: int) -> HttpResponse:
    """A course's administration page: status and version, publish / new version / retire, attachments, its
    requirements and gate rules, and the number of open assignments and valid certificates."""
    course = sel.course_for_admin(request.user, pk)
    upload = AttachmentForm()
    publish = PublishForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "publish":
                publish = PublishForm(request.POST)
                new_version = request.POST.get("new_version") == "1"
                c = entrypoint(svc.course_publish)(actor=request.user, course_id=course.pk, new_version=new_version,
                                                   reason=request.POST.get("reason", ""))
                messages.success(request, _("已发布第 %(v)d 版，新分派 %(n)d 项培训任务") % {
                    "v": c.version, "n": c.assigned_now})
                return redirect("people:course_admin", pk=course.pk)
            if action == "retire":
                entrypoint(svc.course_retire)(actor=request.user, course_id=course.pk,
                                              reason=request.POST.get("reason", ""))
                messages.success(request, _("课程已停用"))
                return redirect("people:course_admin", pk=course.pk)
            if action == "attach":
                upload = AttachmentForm(request.POST, request.FILES)
                if upload.is_valid():
                    entrypoint(svc.attachment_add)(actor=request.user, course_id=course.pk,
                                                   upload=upload.cleaned_data["file"])
                    messages.success(request, _("附件已上传"))
                    return redirect("people:course_admin", pk=course.pk)
            else:
                raise NotFound("unknown_action", _("未知操作"))
        except (NotFound, PermissionDenied):
            raise
        except ValidationFailed as exc:
            if action == "attach":
                _show_error(upload, exc)
            elif action == "publish" and "reason" in exc.fields:
                _show_error(publish, exc)
            else:
                _flash(request, exc)
        except DomainError as exc:
            _flash(request, exc)
    stats = sel.course_stats([course.pk])[course.pk]
    return render(request, "people/training/course_admin.html", {
        "course": course, "stats": stats, "upload": upload, "publish": publish,
        "attachments": course.attachments.select_related("uploaded_by"),
        "requirements": course.requirements.all(), "gate_rules": course.gate_rules.all(),
        "gate_labels": GATE_POINTS, "questions": len(course.quiz)})


# ---- Administration: requirements and gate rules --------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@capability_required("people.manage_training")
def requirements(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and request.POST.get("action") == "sync":
        result = entrypoint(svc.assignments_sync)(actor=request.user)
        messages.success(request, _("同步完成：检查 %(s)d 名员工，新分派 %(n)d 项培训（其中定期复训 %(p)d 项）") % {
            "s": result["staff"], "n": result["created"], "p": result["periodic"]})
        return redirect("people:requirements")
    rows = list(sel.requirements_admin(request.user).order_by("course__category", "course__code", "pk"))
    return render(request, "people/training/requirements.html", {"rows": rows, "role_labels": dict(
        (k, v) for k, v in RequirementForm.base_fields["roles"].choices), "type_labels": dict(
        RequirementForm.base_fields["employment_types"].choices)})


@require_http_methods(["GET", "POST"])
@capability_required("people.manage_training")
def requirement_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    r = sel.requirements_admin(request.user).filter(pk=pk).first() if pk is not None else None
    if pk is not None and r is None:
        raise NotFound("requirement_not_found", _("培训要求不存在"))
    if request.method == "POST":
        form = RequirementForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                entrypoint(svc.requirement_save)(
                    actor=request.user, requirement_id=r.pk if r else None, course_id=d["course"].pk, roles=d["roles"],
                    employment_types=d["employment_types"], trigger=d["trigger"], period_months=d["period_months"],
                    due_days=d["due_days"], active=d["active"])
                messages.success(request, _("培训要求已保存；下次同步（每晚或点“立即同步”）时分派"))
                return redirect("people:requirements")
            except (NotFound, PermissionDenied):
                raise
            except DomainError as exc:
                _show_error(form, exc)
    else:
        form = RequirementForm(initial={"course": r.course, "roles": r.roles, "employment_types": r.employment_types,
                                        "trigger": r.trigger, "period_months": r.period_months,
                                        "due_days": r.due_days, "active": r.active} if r else None)
    return render(request, "people/training/requirement_form.html", {"form": form, "r": r})


@capability_required("people.manage_training")
def gate_rules(request: HttpRequest) -> HttpResponse:
    rows = list(sel.gate_rules_admin(request.user).order_by("gate", "course__code"))
    for g in rows:
        g.label = GATE_POINTS.get(g.gate, g.gate)  # type: ignore[attr-defined]
    points = [{"code": code, "label": label, "rules": [g for g in rows if g.gate == code and g.active]}
              for code, label in GATE_POINTS.items()]
    return render(request, "people/training/gate_rules.html", {"rows": rows, "points": points})


@require_http_methods(["GET", "POST"])
@capability_required("people.manage_training")
def gate_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    g = sel.gate_rules_admin(request.user).filter(pk=pk).first() if pk is not None else None
    if pk is not None and g is None:
        raise NotFound("gate_rule_not_found", _("准入规则不存在"))
    if request.method == "POST":
        form = GateRuleForm(request.POST)
        if g is not None:  # an inactive rule may name a course that is no longer published
            form.fields["course"].queryset = Course.objects.all()
        if form.is_valid():
            d = form.cleaned_data
            try:
                entrypoint(svc.gate_rule_save)(
                    actor=request.user, rule_id=g.pk if g else None, gate=d["gate"], course_id=d["course"].pk,
                    min_product_level=d["min_product_level"], action_prefix=d["action_prefix"], active=d["active"])
                messages.success(request, _("准入规则已保存，立即生效"))
                return redirect("people:gate_rules")
            except (NotFound, PermissionDenied):
                raise
            except DomainError as exc:
                _show_error(form, exc)
    else:
        form = GateRuleForm(initial={"gate": g.gate, "course": g.course, "min_product_level": g.min_product_level,
                                     "action_prefix": g.action_prefix, "active": g.active} if g else None)
    return render(request, "people/training/gate_rule_form.html", {"form": form, "g": g})

