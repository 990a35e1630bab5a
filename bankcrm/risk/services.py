"""Risk services for monitoring: rule versions, the nightly run and real-time monitoring, alert triage, cases and
their decisions. Suitability, rating, due diligence and watch lists have their own modules."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access, audit, params, sequences
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.core.workdays import working_days_after
from bankcrm.ledger.rules import add_months

from . import alerting, batchrun, monitoring, rules, selectors
from .models import Alert, Case, CaseNote, MonitoringRule

MAX_ATTACHMENT = 5 * 1024 * 1024
ATTACHMENT_TYPES = {"application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# ---- Rules ----------------------------------------------------------------------------------------------------------
def rules_install_builtin(*, actor: Any = None, effective_from: date | None = None) -> int:
    """Install the built-in rules that are missing (idempotent); returns how many were added."""
    start = effective_from or date(2020, 1, 1)
    added = 0
    with transaction.atomic():
        have = set(MonitoringRule.objects.values_list("code", flat=True))
        for b in rules.builtin_rules(params.value):
            if b.code in have:
                continue
            rule = MonitoringRule.objects.create(
                code=b.code, version=1, name=b.name, name_en=b.name_en, kind=b.kind, report_kind=b.report_kind,
                params=b.params, customer_kinds=list(b.customer_kinds), effective_from=start,
                note=str(_("系统内置规则")), created_by=actor if getattr(actor, "pk", None) else None)
            audit.record(actor=actor, verb="risk.rule_saved", target=rule, target_repr=str(rule),
                         after={"version": 1, "kind": b.kind, "params": b.params})
            added += 1
    return added


def rule_save(*, actor: Any, code: str, params_: dict[str, Any], customer_kinds: list[str], effective_from: date,
              active: bool = True, note: str, name: str | None = None, name_en: str | None = None) -> MonitoringRule:
    """A new version of a rule, in force from ``effective_from`` (today or later); the version it replaces ends
    then. History is kept: old versions are never edited."""
    access.require(actor, "risk.manage_rules")
    with transaction.atomic():
        current = (MonitoringRule.objects.select_for_update().filter(code=code).order_by("-version").first())
        if current is None:
            raise NotFound("rule_not_found", _("监测规则不存在"))
        errors = rules.validate_params(current.kind, params_)
        if any(k not in rules.CUSTOMER_KINDS for k in customer_kinds):
            errors["customer_kinds"] = [str(_("客户类型无效"))]
        if effective_from < timezone.localdate():
            errors["effective_from"] = [str(_("生效日期不能早于今天（历史版本不可追溯修改）"))]
        if effective_from < current.effective_from:
            errors["effective_from"] = [str(_("生效日期不能早于当前版本的生效日期"))]
        if not (note or "").strip():
            errors["note"] = [str(_("请填写修改说明"))]
        if errors:
            raise ValidationFailed("rule_invalid", _("规则参数有误，请检查后重新提交"), fields=errors)
        # versions that would start on or after the new one are replaced by it
        MonitoringRule.objects.filter(code=code, effective_from__gte=effective_from).update(
            active=False, effective_to=effective_from)
        MonitoringRule.objects.filter(code=code, effective_from__lt=effective_from).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gt=effective_from)).update(effective_to=effective_from)
        rule = MonitoringRule.objects.create(
            code=code, version=current.version + 1, name=name or current.name, name_en=name_en or current.name_en,
            kind=current.kind, report_kind=current.report_kind, params=params_, customer_kinds=customer_kinds,
            active=active, effective_from=effective_from, note=note.strip()[:200], created_by=actor)
        audit.record(actor=actor, verb="risk.rule_saved", target=rule, target_repr=str(rule),
                     before={"version": current.version, "params": current.params, "active": current.active,
                             "customer_kinds": current.customer_kinds},
                     after={"version": rule.version, "params": params_, "active": active,
                            "customer_kinds": customer_kinds, "effective_from": effective_from},
                     reason=rule.note)
    return rule


# ---- Monitoring runs ------------------------------------------------------------------------------------------------
# Customers per chunk of the nightly run: each chunk runs every rule once over its id range, so fewer, larger chunks
# cost less (each statement reads the rule's whole window); a chunk's alerts and checkpoint commit together.
CHUNK = 50_000


def monitoring_run(*, day: date, force: bool = False, chunk: int = CHUNK) -> Any:
    """The nightly run for one business date: customers with transactions that day, in id chunks; each chunk's alerts
    and the checkpoint commit together (killed → resumes; run twice → nothing new)."""
    rules_ = monitoring.rules_in_force(day)
    everyone = monitoring.customers_active_on(day, 0, chunk + 1)

    def process(ids: list[int]) -> int:
        # One chunk holds everyone active that day: no id range (a range filter steers SQLite to a worse plan).
        scope = monitoring.Scope() if len(everyone) <= chunk else monitoring.Scope(lo=ids[0], hi=ids[-1])
        hits = monitoring.evaluate(day, scope, rules_)
        created, refreshed = alerting.raise_or_refresh(hits, source="batch")
        return len(created) + refreshed

    return batchrun.run("monitoring", day, next_ids=lambda after, n: monitoring.customers_active_on(day, after, n),
                        process=process, chunk=chunk, force=force)


def monitor_realtime(pairs: set[tuple[date, int]]) -> int:
    """Real-time monitoring of the customers just transacted (from the ledger outbox), in the consumer's
    transaction. Returns how many alerts were raised."""
    by_day: dict[date, set[int]] = {}
    for day, cid in pairs:
        by_day.setdefault(day, set()).add(cid)
    raised = 0
    for day, ids in sorted(by_day.items()):
        for i in range(0, len(ids), 500):
            part = tuple(sorted(ids))[i:i + 500]
            created, _refreshed = alerting.raise_or_refresh(monitoring.evaluate(day, monitoring.Scope(ids=part)),
                                                            source="realtime")
            raised += len(created)
    return raised


# ---- Alerts ---------------------------------------------------------------------------------------------------------
def _alert_for_update(actor: Any, alert_id: Any) -> Alert:
    access.require(actor, "risk.investigate")
    alert = selectors.alerts_visible(actor).select_for_update().filter(pk=alert_id).first() if str(alert_id).isdigit() \
        else None
    if alert is None:
        raise NotFound("alert_not_found", _("预警不存在或无权查看"))
    return alert


def alert_close(*, actor: Any, alert_id: Any, reason: str) -> Alert:
    """Close one alert as a false positive, with the reason (an alert in a case is decided with its case)."""
    reason = (reason or "").strip()
    with transaction.atomic():
        alert = _alert_for_update(actor, alert_id)
        if alert.case_id:
            raise RuleViolation("alert_in_case", _("该预警已并入案件，请在案件中作出结论"))
        if alert.status not in (Alert.Status.NEW, Alert.Status.REVIEWING):
            raise RuleViolation("alert_not_open", _("该预警已处理完毕"))
        if alert.report_kind == "large":
            raise RuleViolation("large_value_must_report", _("大额交易达到报告标准即须报告，不能作排除处理"))
        if len(reason) < 4:
            raise ValidationFailed("reason_required", _("请填写排除理由（至少4个字）"),
                                   fields={"reason": [str(_("请填写排除理由（至少4个字）"))]})
        before = {"status": alert.status}
        alert.status, alert.closed_at, alert.closed_by, alert.close_reason = (
            Alert.Status.CLOSED, timezone.now(), actor, reason[:500])
        alert.save(update_fields=["status", "closed_at", "closed_by", "close_reason"])
        alerting.alerts_left_open([alert.customer_id])
        audit.record(actor=actor, verb="risk.alert_closed", target=alert, before=before,
                     after={"status": alert.status}, reason=reason)
    return alert


# ---- Cases ----------------------------------------------------------------------------------------------------------
def case_open(*, actor: Any, alert_ids: list[Any], title: str = "") -> Case:
    """Group open alerts (of one customer, or related ones) into a new case."""
    access.require(actor, "risk.investigate")
    ids = sorted({int(a) for a in alert_ids if str(a).isdigit()})
    if not ids:
        raise ValidationFailed("alerts_required", _("请选择要并案调查的预警"))
    with transaction.atomic():
        alerts = list(selectors.alerts_visible(actor).select_for_update().filter(pk__in=ids).order_by("id"))
        if len(alerts) != len(ids):
            raise NotFound("alert_not_found", _("预警不存在或无权查看"))
        busy = [a for a in alerts if a.case_id or a.status not in (Alert.Status.NEW, Alert.Status.REVIEWING)]
        if busy:
            raise RuleViolation("alert_not_open", _("预警 %(ids)s 已处理或已在其他案件中") % {
                "ids": ", ".join(f"A{a.pk}" for a in busy)})
        first = alerts[0]
        now = timezone.now()
        number = f"C{timezone.localdate():%Y%m%d}{sequences.next_value('risk.case'):05d}"
        case = Case.objects.create(
            number=number, title=(title or "").strip()[:120] or f"{first.customer.name} {first.rule_code}",
            customer_id=first.customer_id, branch_path=first.branch_path, opened_by=actor, opened_at=now)
        related = {a.customer_id for a in alerts} - {first.customer_id}
        if related:
            case.related_customers.add(*related)
        Alert.objects.filter(pk__in=ids).update(case=case, status=Alert.Status.REVIEWING)
        audit.record(actor=actor, verb="risk.case_opened", target=case,
                     after={"alerts": ids, "customer": first.customer_id, "title": case.title})
    return case


def _case_for_update(actor: Any, case_id: Any) -> Case:
    access.require(actor, "risk.investigate")
    case = selectors.cases_visible(actor).select_for_update().filter(pk=case_id).first() if str(case_id).isdigit() \
        else None
    if case is None:
        raise NotFound("case_not_found", _("案件不存在或无权查看"))
    return case


def _require_open(case: Case) -> None:
    if case.status != Case.Status.OPEN:
        raise RuleViolation("case_not_open", _("案件已结案或已上报，不能再修改"))


def case_add_alerts(*, actor: Any, case_id: Any, alert_ids: list[Any]) -> Case:
    ids = sorted({int(a) for a in alert_ids if str(a).isdigit()})
    with transaction.atomic():
        case = _case_for_update(actor, case_id)
        _require_open(case)
        alerts = list(selectors.alerts_visible(actor).select_for_update().filter(pk__in=ids))
        if not ids or len(alerts) != len(ids):
            raise NotFound("alert_not_found", _("预警不存在或无权查看"))
        if any(a.case_id or a.status not in (Alert.Status.NEW, Alert.Status.REVIEWING) for a in alerts):
            raise RuleViolation("alert_not_open", _("所选预警已处理或已在其他案件中"))
        Alert.objects.filter(pk__in=ids).update(case=case, status=Alert.Status.REVIEWING)
        others = {a.customer_id for a in alerts} - {case.customer_id}
        if others:
            case.related_customers.add(*others)
        audit.record(actor=actor, verb="risk.case_updated", target=case, after={"added_alerts": ids})
    return case


def case_link_customer(*, actor: Any, case_id: Any, customer_no: str) -> Case:
    """Add a related customer to the investigation (a counterparty, a relative, a company's controller), found by
    customer number among the customers the actor may see."""
    from bankcrm.customers.models import Customer

    customer_no = (customer_no or "").strip()
    with transaction.atomic():
        case = _case_for_update(actor, case_id)
        _require_open(case)
        other = Customer.objects.visible_to(actor).filter(customer_no=customer_no).first() if customer_no else None
        if other is None:
            raise NotFound("customer_not_found", _("客户不存在或无权查看"),
                           fields={"customer_no": [str(_("客户不存在或无权查看"))]})
        if other.pk == case.customer_id or case.related_customers.filter(pk=other.pk).exists():
            raise RuleViolation("customer_already_linked", _("该客户已在本案中"))
        case.related_customers.add(other)
        audit.record(actor=actor, verb="risk.case_updated", target=case, after={"related_customer": other.pk})
    return case


def case_add_note(*, actor: Any, case_id: Any, text: str, attachment: Any = None) -> CaseNote:
    """An investigation note, optionally with one attachment (PDF, image, text, CSV or Excel up to 5 MB)."""
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("note_required", _("请填写调查记录"), fields={"text": [str(_("请填写调查记录"))]})
    data, name, ctype = None, "", ""
    if attachment is not None:
        ctype = (getattr(attachment, "content_type", "") or "").split(";")[0]
        if ctype not in ATTACHMENT_TYPES:
            raise ValidationFailed("attachment_type", _("附件格式不支持（可上传 PDF、图片、文本、CSV 或 Excel）"),
                                   fields={"attachment": [str(_("附件格式不支持"))]})
        if attachment.size > MAX_ATTACHMENT:
            raise ValidationFailed("attachment_too_large", _("附件不能超过 5 MB"),
                                   fields={"attachment": [str(_("附件不能超过 5 MB"))]})
        data, name = attachment.read(), str(attachment.name)[-120:]
    with transaction.atomic():
        case = _case_for_update(actor, case_id)
        _require_open(case)
        note = CaseNote.objects.create(case=case, author=actor, text=text[:4000], attachment=data,
                                       attachment_name=name, attachment_type=ctype, created_at=timezone.now())
        audit.record(actor=actor, verb="risk.case_note_added", target=case,
                     after={"note": note.pk, "attachment": name, "length": len(text)})
    return note


def case_close(*, actor: Any, case_id: Any, reason: str) -> Case:
    """Decide a case as not suspicious (a false positive), with the reason: its suspicious-kind alerts close; its
    large-value alerts still go into the day's large-value report."""
    reason = (reason or "").strip()
    with transaction.atomic():
        case = _case_for_update(actor, case_id)
        _require_open(case)
        access.require_gate("risk.case_decide", actor, case=case)  # the decider's AML certification
        if len(reason) < 10:
            raise ValidationFailed("reason_required", _("请填写结案理由（至少10个字）"),
                                   fields={"reason": [str(_("请填写结案理由（至少10个字）"))]})
        alerts = list(case.alerts.select_for_update())
        now = timezone.now()
        case.status, case.decision_reason, case.decided_by, case.decided_at = Case.Status.CLOSED, reason[:1000], actor, now
        case.save(update_fields=["status", "decision_reason", "decided_by", "decided_at"])
        # Not suspicious: the suspicious-kind alerts close. Large-value alerts stay open until the day's large-value
        # report includes them — a large transaction is reported whatever the investigation found.
        open_ = [a for a in alerts if a.status in Alert.OPEN_STATUSES and a.report_kind != "large"]
        Alert.objects.filter(pk__in=[a.pk for a in open_]).update(
            status=Alert.Status.CLOSED, closed_at=now, closed_by=actor, close_reason=reason[:500])
        alerting.alerts_left_open(a.customer_id for a in open_)
        audit.record(actor=actor, verb="risk.case_closed", target=case, before={"status": "open"},
                     after={"status": case.status, "alerts": [a.pk for a in alerts]}, reason=reason)
    return case


def case_escalate(*, actor: Any, case_id: Any, reason: str) -> Case:
    """Confirm the case as suspicious and escalate it to compliance: the suspicious-report clock starts (report
    within N working days of confirmation; follow-up reports every M months while it continues)."""
    reason = (reason or "").strip()
    with transaction.atomic():
        case = _case_for_update(actor, case_id)
        _require_open(case)
        access.require_gate("risk.case_decide", actor, case=case)  # the decider's AML certification
        if len(reason) < 10:
            raise ValidationFailed("reason_required", _("请填写上报理由（至少10个字）"),
                                   fields={"reason": [str(_("请填写上报理由（至少10个字）"))]})
        now = timezone.now()
        today = timezone.localdate()
        case.status, case.decision_reason, case.decided_by, case.decided_at = (
            Case.Status.ESCALATED, reason[:1000], actor, now)
        case.confirmed_at = now
        case.report_due_on = working_days_after(today, params.value("aml.suspicious_report_deadline"))
        case.next_followup_on = add_months(today, params.value("aml.suspicious_followup"))
        case.save(update_fields=["status", "decision_reason", "decided_by", "decided_at", "confirmed_at",
                                 "report_due_on", "next_followup_on"])
        case.alerts.filter(status__in=[Alert.Status.NEW, Alert.Status.REVIEWING]).update(status=Alert.Status.ESCALATED)
        audit.record(actor=actor, verb="risk.case_escalated", target=case, before={"status": "open"},
                     after={"status": case.status, "report_due_on": case.report_due_on}, reason=reason)
    return case
