"""Investor suitability services and selectors (DOMAIN_RULES.md §4): the versioned questionnaire, taking a customer
through it, and the one suitability check used wherever a product is recommended or sold (also the gate
``risk.suitability`` for higher apps)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, params
from bankcrm.core.access import register_gate, require_gate
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.customers.models import Customer, ManagerAssignment
from bankcrm.customers.selectors import customer_get

from . import rules_suitability as rules
from .models import Questionnaire, RiskProfile, SuitabilityAssessment

Decision = rules.Decision
Q_STATUS = Questionnaire.Status


# ---- Selectors ----------------------------------------------------------------------------------------------------
def questionnaires(actor: Any) -> QuerySet[Questionnaire]:
    access.require(actor, "risk.manage_questionnaires")
    return Questionnaire.objects.select_related("created_by").order_by("code", "-version")


def questionnaire_get(actor: Any, questionnaire_id: Any, *, for_update: bool = False) -> Questionnaire:
    qs = questionnaires(actor)
    if for_update:
        qs = Questionnaire.objects.select_for_update()
    try:
        return qs.get(pk=int(questionnaire_id))
    except (Questionnaire.DoesNotExist, ValueError, TypeError):
        raise NotFound("questionnaire_not_found", _("问卷不存在")) from None


def questionnaire_active(code: str = rules.DEFAULT_CODE) -> Questionnaire | None:
    """The version customers are assessed with now (questionnaires are not personal data: no scope)."""
    return Questionnaire.objects.filter(code=code, status=Q_STATUS.ACTIVE).order_by("-version").first()


def assessments_of(actor: Any, customer_id: Any) -> QuerySet[SuitabilityAssessment]:
    """A visible customer's assessments, newest first (404 for a customer the actor may not see)."""
    access.require(actor, "risk.view")
    c = customer_get(actor, customer_id)
    return SuitabilityAssessment.objects.filter(customer=c).select_related("questionnaire", "assessed_by", "branch")


def assessment_get(actor: Any, customer_id: Any, assessment_id: Any) -> SuitabilityAssessment:
    try:
        return assessments_of(actor, customer_id).get(pk=int(assessment_id))
    except (SuitabilityAssessment.DoesNotExist, ValueError, TypeError):
        raise NotFound("assessment_not_found", _("评估记录不存在")) from None


def current_assessment(customer_id: int) -> SuitabilityAssessment | None:
    return (SuitabilityAssessment.objects.filter(customer_id=customer_id, status=SuitabilityAssessment.Status.CURRENT)
            .order_by("-assessed_at", "-id").first())


def expiring_profiles(actor: Any) -> QuerySet[RiskProfile]:
    """Risk profiles of the actor's own customers (current assignment) whose assessment expires within
    ``suitability.reminder_days`` or has expired: the customer manager's reminders."""
    if not access.can(actor, "risk.assess_suitability"):
        return RiskProfile.objects.none()
    horizon = timezone.localdate() + timedelta(days=params.value("suitability.reminder_days"))
    mine = ManagerAssignment.objects.filter(staff=actor, ended_at__isnull=True).values("customer_id")
    return (RiskProfile.objects.filter(customer_id__in=mine, customer__status=Customer.Status.ACTIVE,
                                       suitability_valid_until__lte=horizon)
            .select_related("customer").order_by("suitability_valid_until", "customer_id"))


def suitability_summary(actor: Any, customer: Customer) -> dict[str, Any]:
    """The customer 360 risk panel's suitability figures (the caller has already checked the customer is visible)."""
    today = timezone.localdate()
    profile = RiskProfile.objects.filter(customer_id=customer.pk).first()
    last = current_assessment(customer.pk)
    valid_until = profile.suitability_valid_until if profile else None
    expired = rules.is_expired(valid_until, today)
    soon = (valid_until is not None and not expired
            and valid_until <= today + timedelta(days=params.value("suitability.reminder_days")))
    return {"level": profile.suitability_level if profile else None, "valid_until": valid_until, "expired": expired,
            "expiring_soon": soon, "assessed_at": last.assessed_at if last else None,
            "url": reverse("risk:suitability_history", args=[customer.pk]),
            "take_url": reverse("risk:suitability_take", args=[customer.pk])
            if access.can(actor, "risk.assess_suitability") else None}


# ---- Questionnaire ------------------------------------------------------------------------------------------------
def _content(q: Questionnaire) -> dict[str, Any]:
    return {"title": q.title, "title_en": q.title_en, "questions": q.questions, "bands": q.bands}


def _validated(content: dict[str, Any]) -> dict[str, Any]:
    """Title, questions and bands checked; every problem is named in the message and under field ``content``."""
    if not isinstance(content, dict):
        raise ValidationFailed("questionnaire_invalid", _("问卷内容必须是 JSON 对象（含 title、questions、bands）"),
                               fields={"content": [_("问卷内容必须是 JSON 对象")]})
    problems = []
    title, title_en = content.get("title"), content.get("title_en", "")
    if not isinstance(title, str) or not title.strip() or len(title) > 100:
        problems.append(_("标题（title）必填，最多 100 字"))
    if not isinstance(title_en, str) or len(title_en) > 120:
        problems.append(_("英文标题（title_en）必须是字符串，最多 120 字"))
    unknown = set(content) - {"title", "title_en", "questions", "bands"}
    if unknown:
        problems.append(_("不认识的字段：%(f)s") % {"f": ", ".join(sorted(map(str, unknown)))})
    problems += rules.questionnaire_problems(content.get("questions"), content.get("bands"))
    if problems:
        raise ValidationFailed("questionnaire_invalid", _("问卷内容有误：%(p)s") % {"p": "；".join(map(str, problems))},
                               fields={"content": [str(p) for p in problems]})
    return {"title": title.strip(), "title_en": title_en.strip(), "questions": content["questions"],
            "bands": content["bands"]}


def questionnaire_install_default(*, actor: Any) -> Questionnaire:
    """Idempotent: publish the built-in questionnaire as version 1 unless a questionnaire of its code exists."""
    access.require(actor, "risk.manage_questionnaires")
    with transaction.atomic():
        existing = questionnaire_active() or Questionnaire.objects.filter(code=rules.DEFAULT_CODE).first()
        if existing is not None:
            return existing
        q = Questionnaire.objects.create(
            code=rules.DEFAULT_CODE, version=1, title=rules.DEFAULT_TITLE[0], title_en=rules.DEFAULT_TITLE[1],
            questions=rules.DEFAULT_QUESTIONS, bands=rules.DEFAULT_BANDS, status=Q_STATUS.ACTIVE,
            effective_from=timezone.localdate(), created_by=actor if getattr(actor, "pk", None) else None)
        audit.record(actor=actor, verb="risk.questionnaire_published", target=q,
                     after={"code": q.code, "version": 1, "status": q.status, "default": True})
    return q


def questionnaire_draft_create(*, actor: Any, code: str = rules.DEFAULT_CODE,
                               content: dict[str, Any] | None = None) -> Questionnaire:
    """A new draft version: a copy of the latest version of ``code`` (or ``content`` when given, validated)."""
    access.require(actor, "risk.manage_questionnaires")
    with transaction.atomic():
        latest = Questionnaire.objects.select_for_update().filter(code=code).order_by("-version").first()
        if latest is None:
            raise NotFound("questionnaire_not_found", _("问卷 %(c)s 不存在") % {"c": code})
        draft = Questionnaire.objects.filter(code=code, status=Q_STATUS.DRAFT).first()
        if draft is not None:
            raise RuleViolation("questionnaire_draft_exists", _("已有未发布的草稿版本 v%(v)d，请先编辑或发布它")
                                % {"v": draft.version}, questionnaire_id=draft.pk)
        data = _validated(content) if content is not None else _content(latest)
        q = Questionnaire.objects.create(code=code, version=latest.version + 1, status=Q_STATUS.DRAFT,
                                         created_by=actor, **data)
        audit.record(actor=actor, verb="risk.questionnaire_saved", target=q,
                     after={"code": code, "version": q.version, "copied_from": latest.version})
    return q


def questionnaire_draft_save(*, actor: Any, questionnaire_id: int, content: dict[str, Any]) -> Questionnaire:
    """Replace a draft's title, questions and bands. Published (active or retired) versions are never edited."""
    access.require(actor, "risk.manage_questionnaires")
    with transaction.atomic():
        q = questionnaire_get(actor, questionnaire_id, for_update=True)
        if q.status != Q_STATUS.DRAFT:
            raise RuleViolation("questionnaire_not_draft", _("已发布的问卷版本不能修改，请新建版本"))
        data = _validated(content)
        before = _content(q)
        for k, v in data.items():
            setattr(q, k, v)
        q.save(update_fields=list(data))
        b, a = audit.diff({k: before[k] for k in ("title", "title_en")} | {"questions_n": len(before["questions"] or [])},
                          {"title": q.title, "title_en": q.title_en, "questions_n": len(q.questions)})
        audit.record(actor=actor, verb="risk.questionnaire_saved", target=q, before=b,
                     after=a | {"version": q.version, "max_score": rules.max_score(q.questions), "bands": q.bands})
    return q


def questionnaire_publish(*, actor: Any, questionnaire_id: int) -> Questionnaire:
    """Publish a draft: it becomes the active version from today and the previously active one retires."""
    access.require(actor, "risk.manage_questionnaires")
    with transaction.atomic():
        q = questionnaire_get(actor, questionnaire_id, for_update=True)
        if q.status != Q_STATUS.DRAFT:
            raise RuleViolation("questionnaire_not_draft", _("只能发布草稿版本"))
        _validated(_content(q))
        old = list(Questionnaire.objects.select_for_update().filter(code=q.code, status=Q_STATUS.ACTIVE))
        Questionnaire.objects.filter(pk__in=[o.pk for o in old]).update(status=Q_STATUS.RETIRED)
        q.status, q.effective_from = Q_STATUS.ACTIVE, timezone.localdate()
        q.save(update_fields=["status", "effective_from"])
        audit.record(actor=actor, verb="risk.questionnaire_published", target=q, before={"status": "draft"},
                     after={"status": q.status, "version": q.version, "retired": [o.version for o in old]})
    return q


# ---- Assessment ---------------------------------------------------------------------------------------------------
def suitability_assess(*, actor: Any, customer_id: int, answers: dict[str, str], face_to_face: bool = False,
                       questionnaire_id: int | None = None) -> SuitabilityAssessment:
    """Record a customer's answers to the active questionnaire: score, level C1–C5 and validity. The first assessment
    of a customer must be taken face to face at a branch. The previous current assessment is superseded and the
    customer's RiskProfile shows the new level."""
    access.require(actor, "risk.assess_suitability")
    if not isinstance(answers, dict):
        raise ValidationFailed("answers_invalid", _("答案格式不正确"), fields={"answers": [_("答案格式不正确")]})
    with transaction.atomic():
        c = customer_get(actor, customer_id, for_update=True)
        if c.status != Customer.Status.ACTIVE:
            raise RuleViolation("customer_inactive", _("客户状态为“%(s)s”，不能做风险承受能力评估") % {"s": c.get_status_display()})
        q = questionnaire_active()
        if q is None:
            raise RuleViolation("questionnaire_missing", _("没有启用的风险承受能力问卷，请联系管理员发布问卷"))
        if questionnaire_id is not None and int(questionnaire_id) != q.pk:
            raise RuleViolation("questionnaire_changed", _("问卷已更新为 v%(v)d，请按新版问卷重新作答") % {"v": q.version})
        answers = {str(k): str(v) for k, v in answers.items()}
        problems = rules.answer_problems(q.questions, answers)
        previous = current_assessment(c.pk)
        first = not SuitabilityAssessment.objects.filter(customer=c).exists()
        f2f_msg = _("首次风险承受能力评估须在网点面签，请确认客户在网点当面完成")
        if first and not face_to_face:
            problems["face_to_face"] = f2f_msg
        if problems:
            if list(problems) == ["face_to_face"]:
                raise ValidationFailed("face_to_face_required", f2f_msg, fields={"face_to_face": [f2f_msg]})
            raise ValidationFailed("answers_incomplete", _("问卷未答完或答案有误：共 %(n)d 处") % {"n": len(problems)},
                                   fields={k: [v] for k, v in problems.items()})
        total = rules.score(q.questions, answers)
        level = rules.level_for(total, q.bands)
        now = timezone.now()
        valid_until = timezone.localdate() + timedelta(days=params.value("suitability.valid_days"))
        if previous is not None:
            SuitabilityAssessment.objects.filter(pk=previous.pk).update(status=SuitabilityAssessment.Status.SUPERSEDED)
        a = SuitabilityAssessment.objects.create(
            customer=c, questionnaire=q, answers=answers, score=total, level=level, face_to_face=bool(face_to_face),
            first_time=first, branch=actor.branch, assessed_by=actor, assessed_at=now, valid_until=valid_until)
        RiskProfile.objects.bulk_create([RiskProfile(customer=c, branch_path=c.branch.path)], ignore_conflicts=True)
        RiskProfile.objects.filter(customer=c).update(suitability_level=level, suitability_valid_until=valid_until,
                                                      suitability_reminded_on=None, branch_path=c.branch.path,
                                                      updated_at=now)
        audit.record(actor=actor, verb="risk.suitability_assessed", target=c,
                     before={"level": previous.level, "valid_until": previous.valid_until} if previous else {},
                     after={"assessment": a.pk, "questionnaire": f"{q.code} v{q.version}", "score": total,
                            "level": level, "valid_until": valid_until, "first_time": first,
                            "face_to_face": a.face_to_face})
    return a


# ---- The suitability check ----------------------------------------------------------------------------------------
def _seller_certified(seller: Any, product_level: int) -> bool:
    try:
        require_gate("risk.sell_certified", seller, product_level=product_level)
    except (PermissionDenied, RuleViolation):
        return False
    return True


def _check_input(product_level: Any, product_kind: Any) -> int:
    fields = {}
    if not isinstance(product_level, int) or isinstance(product_level, bool) or not 0 <= product_level <= 5:
        fields["product_level"] = [_("产品风险等级必须是 0–5（0 为存款类）")]
    if product_kind not in rules.PRODUCT_KINDS:
        fields["product_kind"] = [_("产品类型必须是 %(k)s 之一") % {"k": "、".join(rules.PRODUCT_KINDS)}]
    if fields:
        raise ValidationFailed("check_invalid", "；".join(m for ms in fields.values() for m in ms), fields=fields)
    return product_level


def suitability_check(*, actor: Any, customer_id: int, product_level: int, product_kind: str, seller: Any,
                      recording: dict[str, Any] | None = None, at: datetime | None = None) -> Decision:
    """The one suitability decision for recommending or selling a product (read only, no audit event)."""
    access.require(actor, "risk.view")
    level = _check_input(product_level, product_kind)
    c = customer_get(actor, customer_id)
    at = at or timezone.now()
    today = timezone.localtime(at).date()
    current = current_assessment(c.pk)
    certified_level = params.value("suitability.certified_level", at)
    return rules.decide(
        investor_level=current.level if current else None, valid_until=current.valid_until if current else None,
        birth_date=c.birth_date, product_level=level, product_kind=product_kind,
        recording_ok=rules.recording_complete(recording, at),
        seller_certified=level < certified_level or _seller_certified(seller, level), at=at, today=today,
        elderly_age=params.value("suitability.elderly_age", at),
        elderly_product_level=params.value("suitability.elderly_product_level", at),
        cooling_off_hours=params.value("suitability.cooling_off", at), certified_level=certified_level)


def suitability_check_recorded(*, actor: Any, customer_id: int, product_level: int, product_kind: str,
                               recording: dict[str, Any] | None = None) -> Decision:
    """The check asked from the 适当性校验 page or the API, by the actor as seller: the decision is audited."""
    access.require(actor, "risk.assess_suitability")
    with transaction.atomic():
        d = suitability_check(actor=actor, customer_id=customer_id, product_level=product_level,
                              product_kind=product_kind, seller=actor, recording=recording)
        c = Customer.objects.get(pk=customer_id)
        audit.record(actor=actor, verb="risk.suitability_checked", target=c,
                     after={"product_level": product_level, "product_kind": product_kind, "allowed": d.allowed,
                            "violations": d.codes, "investor_level": d.investor_level,
                            "recording": (recording or {}).get("recording_id", "")})
    return d


def _gate(actor: Any, *, customer_id: int | None = None, customer: Customer | None = None, product_level: int,
          product_kind: str, recording: dict[str, Any] | None = None, seller: Any = None, at: datetime | None = None,
          **_context: Any) -> None:
    """``require_gate("risk.suitability", actor, customer_id=.., product_level=.., product_kind=.., recording=..)``:
    raises RuleViolation with the first violation's code (all of them under ``violations``)."""
    d = suitability_check(actor=actor, customer_id=customer_id if customer_id is not None else getattr(customer, "pk", 0),
                          product_level=product_level, product_kind=product_kind, seller=seller or actor,
                          recording=recording, at=at)
    if not d.allowed:
        code, message = d.violations[0]
        raise RuleViolation(code, message, violations=[{"code": c, "message": str(m)} for c, m in d.violations],
                            requirements=d.as_dict()["requirements"])


register_gate("risk.suitability", _gate)
