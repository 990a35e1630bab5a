"""Customer due diligence (DOMAIN_RULES.md §3): a task per triggering fact (a one-off service at or above
aml.due_diligence.*, a rating raised to high, an alert), with a checklist a customer manager or risk manager
works through and a conclusion. "Raise" re-rates the customer at least one level up through the rating service."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params, workdays
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.customers.models import Customer

from . import rules_rating as rules
from .models import DueDiligence, RiskProfile

D = DueDiligence
# (code, Chinese label stored with the task, English label stored alongside)
CHECKLIST = [
    ("identity", "核实身份证件", "Verify the identity documents"),
    ("purpose", "了解交易目的和资金来源", "Understand the purpose and source of funds"),
    ("beneficial_owner", "核实受益所有人", "Identify the beneficial owner"),
    ("occupation", "核对职业与交易是否相符", "Check the transactions fit the occupation"),
    ("records", "留存相关资料", "Keep the supporting records"),
]
# Marked for translation extraction; the stored Chinese labels are translated on display with gettext.
_LABELS = [gettext_lazy("核实身份证件"), gettext_lazy("了解交易目的和资金来源"), gettext_lazy("核实受益所有人"),
           gettext_lazy("核对职业与交易是否相符"), gettext_lazy("留存相关资料")]


def default_checklist() -> list[dict[str, Any]]:
    return [{"code": c, "label": zh, "label_en": en, "done": False, "note": ""} for c, zh, en in CHECKLIST]


def due_diligence_open(*, customer_id: int, trigger: str, source_key: str, entry_id: int | None = None,
                       actor: Any = None) -> DueDiligence:
    """Open the task for ``source_key`` once (a second call returns the existing task). System callers pass no
    actor; a person opening one by hand needs ``risk.due_diligence`` and must see the customer."""
    if trigger not in D.Trigger.values:
        raise ValidationFailed("trigger_invalid", _("无效的尽职调查触发原因"), fields={"trigger": [_("无效的触发原因")]})
    source_key = (source_key or "").strip()
    if not source_key or len(source_key) > 80:
        raise ValidationFailed("source_key_invalid", _("尽职调查来源标识无效"), fields={"source_key": [_("必填，最多 80 个字符")]})
    if actor is not None and trigger == D.Trigger.MANUAL:
        access.require(actor, "risk.due_diligence")
        qs = Customer.objects.visible_to(actor)
    else:
        qs = Customer.objects.all()
    existing = DueDiligence.objects.filter(source_key=source_key).first()
    if existing is not None:
        return existing
    customer = qs.filter(pk=customer_id).values("pk", "branch__path").first()
    if customer is None:
        raise NotFound("customer_not_found", _("客户不存在或不在您的管户范围内"))
    now = timezone.now()
    due = workdays.working_days_after(timezone.localdate(now), params.value("aml.large_report_deadline"))
    try:
        with transaction.atomic():
            dd = DueDiligence.objects.create(customer_id=customer["pk"], branch_path=customer["branch__path"],
                                             trigger=trigger, source_key=source_key, entry_id=entry_id,
                                             checklist=default_checklist(), opened_at=now, due_on=due)
            audit.record(actor=actor, verb="risk.due_diligence_opened", target=dd,
                         after={"customer": customer["pk"], "trigger": trigger, "source_key": source_key,
                                "entry_id": entry_id, "due_on": due})
    except IntegrityError:  # opened concurrently for the same fact
        return DueDiligence.objects.get(source_key=source_key)
    return dd


def due_diligence_complete(*, actor: Any, dd_id: int, items: dict[str, dict[str, Any]], result: str,
                           notes: str = "") -> DueDiligence:
    """Complete the checklist (every item done, each with an optional note) with a conclusion; notes are required
    for "raise" and "report". "raise" re-rates the customer: at least medium, high if already medium or high."""
    access.require(actor, "risk.due_diligence")
    notes = (notes or "").strip()
    if result not in D.Result.values:
        raise ValidationFailed("dd_result_invalid", _("请选择尽职调查结论"), fields={"result": [_("请选择结论")]})
    if result != D.Result.NORMAL and not notes:
        raise ValidationFailed("dd_notes_required", _("结论为上调风险等级或可疑报告时必须填写说明"),
                               fields={"notes": [_("请填写说明")]})
    if len(notes) > 1000:
        raise ValidationFailed("dd_notes_too_long", _("说明不能超过 1000 字"), fields={"notes": [_("不能超过 1000 字")]})
    if not isinstance(items, dict):
        raise ValidationFailed("dd_items_invalid", _("检查清单格式不正确"), fields={"items": [_("格式不正确")]})
    with transaction.atomic():
        dd = dd_get(actor, dd_id, for_update=True)
        if dd.status != D.Status.OPEN:
            raise RuleViolation("dd_not_open", _("该尽职调查已完成，不能再次提交"))
        unknown = set(items) - {i["code"] for i in dd.checklist}
        if unknown:
            raise ValidationFailed("dd_items_invalid", _("检查清单中没有这些项目：%(c)s") % {"c": ", ".join(sorted(unknown))},
                                   fields={"items": [_("未知的检查项")]})
        checklist, missing = [], []
        for item in dd.checklist:
            given = items.get(item["code"]) or {}
            note = str(given.get("note") or "").strip()[:300]
            done = given.get("done") in (True, "true", "on", "1", 1)
            if not done:
                missing.append(_(item["label"]))
            checklist.append({**item, "done": done, "note": note})
        if missing:
            raise ValidationFailed("dd_items_incomplete", _("以下检查项尚未完成：%(m)s") % {"m": "、".join(missing)},
                                   fields={"items": [_("每一项都必须完成")]})
        dd.checklist, dd.result, dd.notes = checklist, result, notes
        dd.status, dd.completed_by, dd.completed_at = D.Status.DONE, actor, timezone.now()
        dd.save(update_fields=["checklist", "result", "notes", "status", "completed_by", "completed_at"])
        audit.record(actor=actor, verb="risk.due_diligence_completed", target=dd, before={"status": D.Status.OPEN},
                     after={"status": dd.status, "result": result, "customer": dd.customer_id}, reason=notes)
        if result == D.Result.RAISE:
            from .rating import _rate_one

            current = RiskProfile.objects.filter(pk=dd.customer_id).values_list("aml_level", flat=True).first()
            floor = rules.HIGH if current in (rules.MEDIUM, rules.HIGH) else rules.MEDIUM
            _rate_one(actor=actor, customer_id=dd.customer_id, trigger="dd", rationale=notes, floor=floor)
        elif result == D.Result.REPORT:
            _refer_for_investigation(actor, dd)
    return dd


def _refer_for_investigation(actor: Any, dd: DueDiligence) -> None:
    """A due diligence that concludes "report" becomes an alert, so risk managers take it into a case (and the
    suspicious-report clock starts when they confirm it) like any other indicator."""
    from . import alerting

    alerting.raise_alerts([alerting.Hit(
        dedupe_key=f"DD:{dd.pk}", rule_code="DD", kind="due_diligence", report_kind="suspicious",
        customer_id=dd.customer_id, branch_path=dd.branch_path, business_date=timezone.localdate(),
        figures={"due_diligence": dd.pk, "trigger": dd.trigger, "notes": dd.notes[:200]},
        entry_ids=(dd.entry_id,) if dd.entry_id else ())], source="dd", actor=actor)


# ---- Selectors -------------------------------------------------------------------------------------------------------
def dd_visible(actor: Any) -> QuerySet[DueDiligence]:
    """Tasks of customers the actor may see; open first, then by deadline."""
    if not access.can(actor, "risk.due_diligence"):
        return DueDiligence.objects.none()
    visible = Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"))
    return (DueDiligence.objects.filter(Exists(visible)).select_related("customer", "completed_by")
            .order_by("status", "due_on", "id"))


def dd_get(actor: Any, dd_id: Any, *, for_update: bool = False) -> DueDiligence:
    qs = dd_visible(actor)
    if for_update:
        qs = qs.select_for_update(of=("self",)) if _supports_of() else qs.select_for_update()
    try:
        return qs.get(pk=int(dd_id))
    except (DueDiligence.DoesNotExist, ValueError, TypeError):
        raise NotFound("dd_not_found", _("尽职调查不存在或不在您的管户范围内")) from None


def _supports_of() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_of


def days_left(dd: DueDiligence) -> int:
    return (dd.due_on - timezone.localdate()).days
