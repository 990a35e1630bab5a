"""State changes of inspections (DOMAIN_RULES.md §1 "Supervision: internal mechanism, periodic checks").

Compliance managers keep checklist templates and inspection plans, open inspections (the daily job opens those of
due plans), draw the sample from the inspection's stored seed, record each sampled record's checklist answers with
evidence and complete the inspection. A check answered "no" raises a finding (section A's ``finding_raise``) with the
check's severity and clause; recording the same item again never raises the same finding twice.

Every function takes the acting member of staff, checks capability and scope, runs in ``transaction.atomic()``,
validates, writes and records one audit event (ARCHITECTURE.md §2).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params, sequences
from bankcrm.core.errors import RuleViolation, ValidationFailed
from bankcrm.core.masking import mask_name
from bankcrm.core.money import format_amount

from . import inspection_rules as rules
from . import inspection_selectors as sel
from .models import ChecklistTemplate, Clause, Inspection, InspectionPlan, SampleItem, SampleKind, Severity

# Sampling weights (risk-weighted plans): a weight of w makes a record about w times as likely to be drawn as an
# ordinary one (inspection_rules: Efraimidis–Spirakis).
params.define("supervision.sample_weight.high_risk", "int", 5, gettext_lazy("抽样权重：高洗钱风险客户"),
              "DOMAIN_RULES §1 supervision", minimum=1, maximum=100)
params.define("supervision.sample_weight.medium_risk", "int", 2, gettext_lazy("抽样权重：中洗钱风险客户"),
              "DOMAIN_RULES §1 supervision", minimum=1, maximum=100)
params.define("supervision.sample_weight.large_transaction", "int", 5,
              gettext_lazy("抽样权重：达到复核标准的交易、冲正、跨境交易"), "DOMAIN_RULES §1 supervision",
              minimum=1, maximum=100)
params.define("supervision.sample_weight.late_complaint", "int", 5, gettext_lazy("抽样权重：超期或成立的投诉"),
              "DOMAIN_RULES §1 supervision", minimum=1, maximum=100)
params.define("supervision.sample_max_per_staff", "int", 20, gettext_lazy("每人每类最多抽样数"),
              "DOMAIN_RULES §1 supervision", minimum=1, maximum=200)

CHECKLISTS = Path(__file__).resolve().parent / "data" / "checklists.json"
PLAN_FIELDS = ("name", "branch", "frequency", "template", "sample_customers", "sample_transactions",
               "sample_complaints", "risk_weighted", "next_on", "active")
KIND_LABELS = dict(SampleKind.choices)
# System postings have no member of staff to inspect.
SYSTEM_KINDS = ("interest", "maturity", "wm_payout")


def _day_end(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# ---- Checklist templates -----------------------------------------------------------------------------------------
def _validate_items(items: Any) -> dict[str, list[dict]]:
    if not isinstance(items, dict):
        raise ValidationFailed("checklist_invalid", _("检查项格式不正确"), fields={"items": [_("检查项格式不正确")]})
    out: dict[str, list[dict]] = {}
    seen: set[str] = set()
    for kind, checks in items.items():
        if kind not in KIND_LABELS or not isinstance(checks, list):
            raise ValidationFailed("checklist_kind_invalid", _("未知的样本类别：%(k)s") % {"k": kind},
                                   fields={"items": [_("未知的样本类别")]})
        clean = []
        for c in checks:
            code, text = str(c.get("code", "")).strip(), str(c.get("text", "")).strip()
            if not code or not text or code in seen:
                raise ValidationFailed("checklist_check_invalid", _("检查项须有唯一编号和内容"),
                                       fields={"items": [_("检查项须有唯一编号和内容")]})
            if c.get("severity", "medium") not in Severity.values:
                raise ValidationFailed("checklist_severity_invalid", _("检查项严重程度无效"),
                                       fields={"items": [_("检查项严重程度无效")]})
            seen.add(code)
            clean.append({"code": code, "text": text, "text_en": str(c.get("text_en", "")).strip(),
                          "severity": c.get("severity", "medium"), "clause": str(c.get("clause", "")).strip()})
        out[kind] = clean
    return out


def templates_install_default(*, actor: Any = None) -> list[ChecklistTemplate]:
    """Install the checklists of ``data/checklists.json``. Idempotent: an unchanged template is left alone; one whose
    checks changed is installed as a new version (inspections keep the version they were planned with)."""
    if actor is not None:
        access.require(actor, "supervision.inspect")
    data = json.loads(CHECKLISTS.read_text(encoding="utf-8"))
    out, created = [], []
    with transaction.atomic():
        for t in data["templates"]:
            items = _validate_items(t["items"])
            latest = ChecklistTemplate.objects.filter(code=t["code"]).order_by("-version").first()
            if latest is not None and latest.items == items and latest.name == t["name"]:
                out.append(latest)
                continue
            tpl = ChecklistTemplate.objects.create(code=t["code"], name=t["name"], name_en=t.get("name_en", ""),
                                                   version=(latest.version + 1) if latest else 1, items=items,
                                                   updated_by=actor)
            if latest is not None:
                ChecklistTemplate.objects.filter(code=t["code"]).exclude(pk=tpl.pk).update(active=False)
            out.append(tpl)
            created.append(f"{tpl.code} v{tpl.version}")
        if created:
            audit.record(actor=actor, verb="supervision.checklists_installed", target_type="supervision.ChecklistTemplate",
                         target_id="default", target_repr="checklists.json", after={"installed": created})
    return out


# ---- Plans -------------------------------------------------------------------------------------------------------
def _size(value: Any, field: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = -1
    top = params.value("supervision.sample_max_per_staff")
    if not 0 <= n <= top:
        msg = _("每人抽样数应为 0 至 %(n)d") % {"n": top}
        raise ValidationFailed("sample_size_range", msg, fields={field: [msg]})
    return n


def plan_save(*, actor: Any, name: str, branch_id: int, frequency: str, template_id: int, sample_customers: int,
              sample_transactions: int, sample_complaints: int, risk_weighted: bool = True,
              next_on: date | None = None, active: bool = True, plan_id: int | None = None) -> InspectionPlan:
    """Create or edit an inspection plan. ``next_on`` defaults to the first day of the next month or quarter."""
    from bankcrm.org.selectors import branch_get

    access.require(actor, "supervision.inspect")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("plan_name_required", _("请填写计划名称"), fields={"name": [_("必填")]})
    if frequency not in InspectionPlan.Frequency.values:
        raise ValidationFailed("plan_frequency_invalid", _("无效的检查频率"), fields={"frequency": [_("无效的检查频率")]})
    sizes = {f: _size(v, f) for f, v in (("sample_customers", sample_customers),
                                         ("sample_transactions", sample_transactions),
                                         ("sample_complaints", sample_complaints))}
    if not any(sizes.values()):
        raise ValidationFailed("plan_sample_empty", _("至少抽查一类样本"), fields={"sample_customers": [_("至少抽查一类样本")]})
    today = timezone.localdate()
    with transaction.atomic():
        branch = branch_get(actor, branch_id)
        template = sel.template_get(template_id)
        if plan_id:
            plan = sel.plan_get(actor, plan_id, for_update=True)
            before = audit.snapshot(plan, PLAN_FIELDS)
        else:
            plan, before = InspectionPlan(created_by=actor), {}
        plan.name, plan.branch, plan.branch_path, plan.frequency, plan.template = name, branch, branch.path, frequency, template
        plan.sample_customers, plan.sample_transactions, plan.sample_complaints = (
            sizes["sample_customers"], sizes["sample_transactions"], sizes["sample_complaints"])
        plan.risk_weighted, plan.active = bool(risk_weighted), bool(active)
        plan.next_on = next_on or plan.next_on or rules.first_plan_date(today, frequency)
        if plan_id is None and plan.next_on < today:
            raise ValidationFailed("plan_next_on_past", _("下次检查日不能早于今天"), fields={"next_on": [_("不能早于今天")]})
        plan.full_clean()
        plan.save()
        b, a = audit.diff(before, audit.snapshot(plan, PLAN_FIELDS))
        audit.record(actor=actor, verb="supervision.plan_saved", target=plan, before=b, after=a)
    return plan


def plans_due(*, today: date | None = None) -> list[Inspection]:
    """Daily job: open an inspection for every active plan whose date has come, covering the last full month or
    quarter, and move the plan's date one period on. Idempotent (one inspection per plan and period)."""
    today = today or timezone.localdate()
    opened = []
    for pk in InspectionPlan.objects.filter(active=True, next_on__lte=today).values_list("pk", flat=True):
        with transaction.atomic():
            plan = InspectionPlan.objects.select_for_update().select_related("branch").filter(
                pk=pk, active=True, next_on__lte=today).first()
            if plan is None:
                continue
            start, end = rules.period_before(plan.next_on, plan.frequency)
            if not Inspection.objects.filter(plan=plan, period_start=start).exists():
                opened.append(_create(actor=None, branch=plan.branch, template=plan.template, period_start=start,
                                      period_end=end, sizes=plan.sizes(), risk_weighted=plan.risk_weighted, plan=plan))
            before = plan.next_on
            while plan.next_on <= today:  # a scheduler that was down for months catches up with one inspection
                plan.next_on = rules.next_plan_date(plan.next_on, plan.frequency)
            plan.save(update_fields=["next_on", "updated_at"])
            audit.record(actor=None, verb="supervision.plan_saved", target=plan, before={"next_on": before},
                         after={"next_on": plan.next_on})
    return opened


# ---- Inspections -------------------------------------------------------------------------------------------------
def _new_number(day: date) -> str:
    return f"JC{day:%Y%m}{sequences.next_value(f'supervision.inspection.{day:%Y}'):04d}"


def _create(*, actor: Any, branch: Any, template: ChecklistTemplate, period_start: date, period_end: date,
            sizes: dict[str, int], risk_weighted: bool, plan: InspectionPlan | None = None,
            seed: int | None = None) -> Inspection:
    insp = Inspection(number=_new_number(timezone.localdate()), plan=plan, template=template, branch=branch,
                      branch_path=branch.path, period_start=period_start, period_end=period_end,
                      seed=seed if seed is not None else secrets.randbits(48), sizes={str(k): int(v) for k, v in sizes.items()},
                      risk_weighted=risk_weighted, created_by=actor)
    insp.full_clean()
    try:
        with transaction.atomic():
            insp.save()
    except IntegrityError:
        raise RuleViolation("inspection_exists", _("该计划本期的检查已经创建")) from None
    audit.record(actor=actor, verb="supervision.inspection_created", target=insp,
                 after={"branch": branch.code, "period": f"{period_start}~{period_end}", "seed": insp.seed,
                        "template": template.audit_repr(), "sizes": insp.sizes, "risk_weighted": risk_weighted,
                        "plan": plan.pk if plan else None})
    return insp


def inspection_create(*, actor: Any, branch_id: int, template_id: int, period_start: date, period_end: date,
                      sample_customers: int, sample_transactions: int, sample_complaints: int,
                      risk_weighted: bool = True, seed: int | None = None) -> Inspection:
    """Open an inspection by hand (an unplanned or thematic one). The seed is drawn now unless given (e.g. to repeat
    an earlier draw) and stored, so that the sample can be drawn again identically."""
    from bankcrm.org.selectors import branch_get

    access.require(actor, "supervision.inspect")
    if not period_start or not period_end or period_end < period_start:
        raise ValidationFailed("period_invalid", _("检查期间不正确"), fields={"period_end": [_("结束日期不能早于开始日期")]})
    if period_end > timezone.localdate():
        raise ValidationFailed("period_future", _("检查期间不能晚于今天"), fields={"period_end": [_("不能晚于今天")]})
    if seed is not None and not 0 <= int(seed) < 2 ** 62:
        raise ValidationFailed("seed_invalid", _("抽样种子无效"), fields={"seed": [_("抽样种子无效")]})
    sizes = {SampleKind.CUSTOMER: _size(sample_customers, "sample_customers"),
             SampleKind.TRANSACTION: _size(sample_transactions, "sample_transactions"),
             SampleKind.COMPLAINT: _size(sample_complaints, "sample_complaints")}
    if not any(sizes.values()):
        raise ValidationFailed("plan_sample_empty", _("至少抽查一类样本"), fields={"sample_customers": [_("至少抽查一类样本")]})
    with transaction.atomic():
        branch = branch_get(actor, branch_id)
        return _create(actor=actor, branch=branch, template=sel.template_get(template_id), period_start=period_start,
                       period_end=period_end, sizes=sizes, risk_weighted=risk_weighted,
                       seed=int(seed) if seed is not None else None)


# ---- Populations ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Population:
    candidates: list[rules.Candidate]
    labels: dict[int, str]


def population(insp: Inspection, kind: str, *, today: date | None = None) -> Population:
    """The records of ``kind`` the inspection may sample: in the branch subtree and the period, attributed to the
    member of staff responsible (the primary manager of a customer, the maker of a transaction, the handler of a
    complaint), with their risk weight. Ordered by primary key; labels are masked."""
    if kind == SampleKind.CUSTOMER:
        return _customers(insp)
    if kind == SampleKind.TRANSACTION:
        return _transactions(insp)
    if kind == SampleKind.COMPLAINT:
        return _complaints(insp, today or timezone.localdate())
    raise ValueError(kind)


def _customers(insp: Inspection) -> Population:
    from bankcrm.customers.models import Customer, ManagerAssignment

    primary = ManagerAssignment.objects.filter(customer=OuterRef("pk"), role="primary", ended_at__isnull=True)
    rows = (Customer.objects.filter(branch__path__startswith=insp.branch_path, status=Customer.Status.ACTIVE,
                                    created_at__lt=_day_end(insp.period_end))
            .annotate(mgr=Subquery(primary.values("staff_id")[:1]))
            .values_list("pk", "mgr", "risk_profile__aml_level", "customer_no", "name").order_by("pk"))
    high, medium = params.value("supervision.sample_weight.high_risk"), params.value("supervision.sample_weight.medium_risk")
    cands, labels = [], {}
    for pk, mgr, level, no, name in rows:
        cands.append(rules.Candidate(pk, mgr, high if level == "high" else medium if level == "medium" else 1))
        labels[pk] = f"{no} {mask_name(name)}"
    return Population(cands, labels)


def _transactions(insp: Inspection) -> Population:
    from bankcrm.ledger.models import JournalEntry, txn_no

    threshold = params.value("approvals.money_threshold.cny")
    w = params.value("supervision.sample_weight.large_transaction")
    rows = (JournalEntry.objects.filter(branch_path__startswith=insp.branch_path, maker__isnull=False,
                                        business_date__gte=insp.period_start, business_date__lte=insp.period_end)
            .exclude(kind__in=SYSTEM_KINDS)
            .values_list("pk", "maker_id", "amount_fen", "currency", "kind", "cross_border", "business_date")
            .order_by("pk"))
    kinds = dict(JournalEntry.Kind.choices)
    cands, labels = [], {}
    for pk, maker, amount, currency, kind, cross, day in rows:
        risky = (currency == "CNY" and amount >= threshold) or kind == "reversal" or cross
        cands.append(rules.Candidate(pk, maker, w if risky else 1))
        labels[pk] = f"{txn_no(day, pk)} {kinds.get(kind, kind)} {currency} {format_amount(amount, currency)}"
    return Population(cands, labels)


def _complaints(insp: Inspection, today: date) -> Population:
    from bankcrm.service.models import Complaint

    w = params.value("supervision.sample_weight.late_complaint")
    rows = (Complaint.objects.filter(branch_path__startswith=insp.branch_path,
                                     received_at__gte=_day_start(insp.period_start),
                                     received_at__lt=_day_end(insp.period_end))
            .values_list("pk", "handler_id", "number", "kind", "decision", "decision_due_on", "decided_at")
            .order_by("pk"))
    kinds = dict(Complaint.Kind.choices)
    cands, labels = [], {}
    for pk, handler, number, kind, decision, due, decided_at in rows:
        decided_on = timezone.localtime(decided_at).date() if decided_at else None
        late = (decided_on is not None and decided_on > due) or (decided_on is None and due < today)
        cands.append(rules.Candidate(pk, handler, w if late or decision == "upheld" else 1))
        labels[pk] = f"{number} {kinds.get(kind, kind)}"
    return Population(cands, labels)


def draw_sample(insp: Inspection) -> list[tuple[str, rules.Drawn, str]]:
    """The inspection's sample: (kind, drawn record, masked label) for each kind, n per member of staff, from the
    stored seed. Pure given the populations, so drawing again gives the same records."""
    out = []
    for kind in SampleKind.values:
        n = int((insp.sizes or {}).get(kind, 0))
        if n <= 0:
            continue
        pop = population(insp, kind)
        for d in rules.draw_per_staff(pop.candidates, n, seed=insp.seed, kind=kind, weighted=insp.risk_weighted):
            out.append((kind, d, pop.labels[d.pk]))
    return out


def inspection_sample(*, actor: Any, inspection_id: int) -> Inspection:
    """Draw the sample (planned → in progress; the actor becomes the inspector if none is set). Drawing again
    while in progress adds only records missing from the stored sample: with the same seed and population the
    draw is the same, so nothing changes, and recorded answers are never lost."""
    access.require(actor, "supervision.inspect")
    with transaction.atomic():
        insp = sel.inspection_get(actor, inspection_id, for_update=True)
        if insp.status not in (Inspection.Status.PLANNED, Inspection.Status.IN_PROGRESS):
            raise RuleViolation("inspection_closed", _("检查已完成或已取消，不能再抽样"))
        drawn = draw_sample(insp)
        existing = set(insp.items.values_list("kind", "object_id"))
        new = [SampleItem(inspection=insp, kind=kind, object_id=d.pk, label=label[:120], staff_id=d.staff_id,
                          weight=d.weight, position=d.position)
               for kind, d, label in drawn if (kind, d.pk) not in existing]
        SampleItem.objects.bulk_create(new)
        before = {"status": insp.status}
        now = timezone.now()
        insp.status, insp.sampled_at = Inspection.Status.IN_PROGRESS, now
        insp.started_at = insp.started_at or now
        insp.inspector = insp.inspector or actor
        insp.save(update_fields=["status", "sampled_at", "started_at", "inspector"])
        counts: dict[str, int] = {}
        for kind, _d, _l in drawn:
            counts[kind] = counts.get(kind, 0) + 1
        audit.record(actor=actor, verb="supervision.inspection_sampled", target=insp, before=before,
                     after={"status": insp.status, "seed": insp.seed, "drawn": counts, "added": len(new)})
    return insp


def item_record(*, actor: Any, item_id: int, answers: dict[str, str], evidence: str = "") -> SampleItem:
    """Record the inspector's answers for one sampled record. A check answered "no" needs evidence and raises a
    finding with that check's severity (once per check, however often the item is recorded again)."""
    access.require(actor, "supervision.inspect")
    evidence = (evidence or "").strip()
    with transaction.atomic():
        item = sel.item_get(actor, item_id, for_update=True)
        insp = item.inspection
        if insp.status != Inspection.Status.IN_PROGRESS:
            raise RuleViolation("inspection_not_in_progress", _("只有检查中的检查可以记录结果"))
        if item.staff_id is not None and item.staff_id == actor.pk:
            raise RuleViolation("inspector_is_subject", _("不能检查本人经办的业务"))
        checks = insp.template.checks(item.kind)
        answers = {str(k): str(v) for k, v in (answers or {}).items()}
        unknown = set(answers) - {c["code"] for c in checks}
        if unknown:
            raise ValidationFailed("answer_unknown_check", _("检查项不存在：%(c)s") % {"c": ", ".join(sorted(unknown))},
                                   fields={"answers": [_("检查项不存在")]})
        try:
            result = rules.item_result(answers, [c["code"] for c in checks])
        except ValueError as exc:
            raise ValidationFailed("answer_missing", _("请逐项填写检查结果"), fields={f"check_{exc.args[0]}": [_("请选择")]}) from None
        failed = rules.failed_checks(answers, checks)
        if failed and not evidence:
            raise ValidationFailed("evidence_required", _("不合规的样本须填写检查证据"), fields={"evidence": [_("请填写检查证据")]})
        before = {"result": item.result, "answers": item.answers}
        item.answers, item.result, item.evidence = answers, result, evidence
        item.checked_by, item.checked_at = actor, timezone.now()
        raised = list(item.raised or [])
        new_findings = []
        for check in failed:
            if check["code"] in raised:
                continue
            new_findings.append(_raise(actor, insp, item, check, evidence))
            raised.append(check["code"])
        item.raised = raised
        item.save(update_fields=["answers", "result", "evidence", "raised", "checked_by", "checked_at"])
        audit.record(actor=actor, verb="supervision.inspection_item_recorded", target=item, before=before,
                     after={"result": result, "answers": answers, "findings": [f.number for f in new_findings]})
    return item


def _raise(actor: Any, insp: Inspection, item: SampleItem, check: dict, evidence: str) -> Any:
    from .finding_services import finding_raise

    target_type = {SampleKind.CUSTOMER: "customers.Customer", SampleKind.TRANSACTION: "ledger.JournalEntry",
                   SampleKind.COMPLAINT: "service.Complaint"}[item.kind]
    branch_id = insp.branch_id
    if item.staff_id and item.staff.branch.path.startswith(insp.branch_path):
        branch_id = item.staff.branch_id  # the staff member's own (sub-)branch answers for it
    clause = check.get("clause", "")
    if clause and not Clause.objects.filter(code=clause).exists():
        clause = ""  # clauses are editable data: a checklist must not fail because a clause was renamed
    return finding_raise(actor=actor, source="inspection", inspection_id=insp.pk,
                         title=f"{check['code']} {check['text']}"[:200], severity=check.get("severity", "medium"),
                         branch_id=branch_id, target_type=target_type, target_id=str(item.object_id),
                         target_repr=item.label, staff_id=item.staff_id, clause_code=clause,
                         detail=_("检查 %(n)s 抽查样本 %(l)s：%(t)s。检查证据：%(e)s") % {
                             "n": insp.number, "l": item.label, "t": check["text"], "e": evidence})


def inspection_complete(*, actor: Any, inspection_id: int, conclusion: str = "") -> Inspection:
    """Complete an inspection once every sampled record is checked; the summary counts are frozen."""
    access.require(actor, "supervision.inspect")
    with transaction.atomic():
        insp = sel.inspection_get(actor, inspection_id, for_update=True)
        if insp.status != Inspection.Status.IN_PROGRESS:
            raise RuleViolation("inspection_not_in_progress", _("只有检查中的检查可以完成"))
        rows = list(insp.items.values_list("kind", "staff_id", "result"))
        pending = sum(1 for r in rows if r[2] == SampleItem.Result.PENDING)
        if pending:
            raise RuleViolation("inspection_items_pending", _("还有 %(n)d 个样本未检查") % {"n": pending})
        summary = rules.summarise(rows)
        summary["findings"] = insp.findings.count()
        insp.status, insp.finished_at, insp.summary = Inspection.Status.COMPLETED, timezone.now(), summary
        insp.conclusion = (conclusion or "").strip()
        insp.save(update_fields=["status", "finished_at", "summary", "conclusion"])
        audit.record(actor=actor, verb="supervision.inspection_completed", target=insp,
                     before={"status": Inspection.Status.IN_PROGRESS},
                     after={"status": insp.status, "total": summary["total"], "fail": summary["fail"],
                            "findings": summary["findings"]})
    return insp


def inspection_cancel(*, actor: Any, inspection_id: int, reason: str) -> Inspection:
    """Cancel a planned or running inspection (the branch was merged, the period is covered by another inspection…)
    with a reason. One that already raised findings cannot be cancelled: its findings stand, so it must be
    completed. Sampled records and recorded answers are kept with it."""
    access.require(actor, "supervision.inspect")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("reason_required", _("请填写取消原因"), fields={"reason": [_("请填写取消原因")]})
    with transaction.atomic():
        insp = sel.inspection_get(actor, inspection_id, for_update=True)
        if insp.status not in (Inspection.Status.PLANNED, Inspection.Status.IN_PROGRESS):
            raise RuleViolation("inspection_closed", _("检查已完成或已取消"))
        if insp.findings.exists():
            raise RuleViolation("inspection_has_findings",
                                _("该检查已登记检查发现，不能取消；请检查完毕后完成检查"))
        before = {"status": insp.status}
        insp.status, insp.finished_at = Inspection.Status.CANCELLED, timezone.now()
        insp.conclusion = reason[:4000]
        insp.save(update_fields=["status", "finished_at", "conclusion"])
        audit.record(actor=actor, verb="supervision.inspection_cancelled", target=insp, before=before,
                     after={"status": insp.status, "reason": insp.conclusion})
    return insp


def inspection_exported(*, actor: Any, inspection: Inspection, fmt: str) -> None:
    """Record an export of an inspection report (every export is audited, ARCHITECTURE.md §4)."""
    access.require(actor, "supervision.export")
    with transaction.atomic():
        audit.record(actor=actor, verb="supervision.inspection_exported", target=inspection, after={"format": fmt})
