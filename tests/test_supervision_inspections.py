"""Inspections (issue #10): checklist templates, plans and their due dates, the daily job, the lifecycle planned →
in progress → completed, sampling from the stored seed on the real tables, a failed check raising a finding,
reports that open, scope."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.ledger import services as ledger_services
from bankcrm.service import services as service_services
from bankcrm.supervision import inspection_reports as reports
from bankcrm.supervision import inspection_rules as rules
from bankcrm.supervision import inspection_services as svc
from bankcrm.supervision.models import ChecklistTemplate, Finding, Inspection, InspectionPlan, SampleItem
from tests.helpers import audit_seq, verbs_since
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank):
    """Branch A1 with two customers of cm_a1, four deposits posted by om_a1, a complaint handled by cm_a1; branch B1
    with one customer of cm_b1."""
    led = build_ledger(bank)
    for _i in range(2):
        fund(led.zhang_cny, 100_000, teller=bank.om_a1)
        fund(led.li_cny, 200_000, teller=bank.om_a1)
    service_services.root_causes_install_default(actor=bank.admin)
    c = service_services.complaint_register(actor=bank.cm_a1, customer_id=led.zhang.pk, channel="branch",
                                            summary="收费争议", description="客户对账户管理费有异议", request="退费",
                                            product_line="deposit")
    service_services.complaint_acknowledge(actor=bank.om_a1, complaint_id=c.pk)
    service_services.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    svc.templates_install_default()
    return led


def tpl():
    return ChecklistTemplate.objects.get(code="branch-crm", active=True)


def create(bank, branch=None, seed=None, **sizes):
    today = timezone.localdate()
    kw = {"sample_customers": 2, "sample_transactions": 3, "sample_complaints": 2, **sizes}
    return svc.inspection_create(actor=bank.compliance, branch_id=(branch or bank.a).pk, template_id=tpl().pk,
                                 period_start=today - timedelta(days=30), period_end=today, seed=seed, **kw)


def all_yes(item):
    return {c["code"]: "yes" for c in item.inspection.template.checks(item.kind)}


# ---- Templates ----------------------------------------------------------------------------------------------------
def test_default_templates_install_idempotently(bank):
    seq = audit_seq()
    first = svc.templates_install_default(actor=bank.compliance)
    assert {t.code for t in first} == {"branch-crm", "wealth-sales"}
    assert verbs_since(seq) == ["supervision.checklists_installed"]
    again = svc.templates_install_default(actor=bank.compliance)
    assert [t.pk for t in again] == [t.pk for t in first]
    assert verbs_since(seq) == ["supervision.checklists_installed"]  # nothing new, nothing recorded
    t = ChecklistTemplate.objects.get(code="branch-crm")
    assert len(t.checks("customer")) >= 5 and all(c["text_en"] for c in t.checks("complaint"))
    # an edited template becomes a new version; the old one stays for the inspections that use it
    ChecklistTemplate.objects.filter(pk=t.pk).update(items={"customer": [{"code": "X", "text": "旧", "severity": "low"}]})
    svc.templates_install_default()
    assert list(ChecklistTemplate.objects.filter(code="branch-crm").values_list("version", "active")) == [(2, True), (1, False)]
    with pytest.raises(PermissionDenied):
        svc.templates_install_default(actor=bank.supervisor_a)


# ---- Plans and the daily job ---------------------------------------------------------------------------------------
def test_plan_due_dates_and_daily_job(bank, world):
    today = timezone.localdate()
    plan = svc.plan_save(actor=bank.compliance, name="甲分行季度检查", branch_id=bank.a.pk, frequency="quarterly",
                         template_id=tpl().pk, sample_customers=2, sample_transactions=2, sample_complaints=1)
    assert plan.next_on == rules.first_plan_date(today, "quarterly")
    assert svc.plans_due(today=today) == []  # not yet
    InspectionPlan.objects.filter(pk=plan.pk).update(next_on=today)
    opened = svc.plans_due(today=today)
    assert len(opened) == 1
    insp = opened[0]
    assert (insp.period_start, insp.period_end) == rules.period_before(today, "quarterly")
    assert insp.plan_id == plan.pk and insp.status == "planned" and insp.created_by is None
    assert insp.sizes == {"customer": 2, "transaction": 2, "complaint": 1}
    plan.refresh_from_db()
    assert plan.next_on == rules.next_plan_date(today, "quarterly")
    assert svc.plans_due(today=today) == []  # run twice for the same day: nothing more
    # a plan whose date is long past opens one inspection and catches up to the future
    InspectionPlan.objects.filter(pk=plan.pk).update(next_on=today - timedelta(days=400), frequency="monthly")
    assert len(svc.plans_due(today=today)) == 1
    plan.refresh_from_db()
    assert today < plan.next_on <= rules.add_months(today, 1)


def test_plan_validation_and_capability(bank, world):
    base = dict(name="计划", branch_id=bank.a.pk, frequency="quarterly", template_id=tpl().pk, sample_customers=1,
                sample_transactions=1, sample_complaints=1)
    with pytest.raises(ValidationFailed) as e:
        svc.plan_save(actor=bank.compliance, **{**base, "frequency": "weekly"})
    assert "frequency" in e.value.fields
    with pytest.raises(ValidationFailed) as e:
        svc.plan_save(actor=bank.compliance, **{**base, "sample_customers": 999})
    assert "sample_customers" in e.value.fields
    with pytest.raises(ValidationFailed):
        svc.plan_save(actor=bank.compliance, **{**base, "sample_customers": 0, "sample_transactions": 0,
                                                 "sample_complaints": 0})
    with pytest.raises(PermissionDenied):
        svc.plan_save(actor=bank.supervisor_a, **base)
    assert not InspectionPlan.objects.exists()


# ---- Lifecycle ----------------------------------------------------------------------------------------------------------
def test_lifecycle_sampling_recording_findings_completion(bank, world):
    insp = create(bank)
    assert insp.status == "planned" and insp.number.startswith("JC")
    insp = svc.inspection_sample(actor=bank.compliance, inspection_id=insp.pk)
    assert insp.status == "in_progress" and insp.inspector_id == bank.compliance.pk
    items = list(insp.items.order_by("pk"))
    kinds = {(i.kind, i.staff_id) for i in items}
    assert ("customer", bank.cm_a1.pk) in kinds and ("transaction", bank.om_a1.pk) in kinds
    assert ("complaint", bank.cm_a1.pk) in kinds
    assert sum(1 for i in items if i.kind == "customer" and i.staff_id == bank.cm_a1.pk) == 2   # both of cm_a1's
    assert sum(1 for i in items if i.kind == "transaction" and i.staff_id == bank.om_a1.pk) == 3  # 3 of om_a1's
    assert not any(i.staff_id == bank.cm_b1.pk for i in items)  # branch B is outside the inspection
    cust = next(i for i in items if i.kind == "customer")
    assert "*" in cust.label and led_name_absent(world, cust.label)

    # drawing again changes nothing; a second inspection with the same seed draws the same records
    svc.inspection_sample(actor=bank.compliance, inspection_id=insp.pk)
    assert list(insp.items.order_by("pk").values_list("kind", "object_id")) == [(i.kind, i.object_id) for i in items]
    twin = svc.inspection_sample(actor=bank.compliance, inspection_id=create(bank, seed=insp.seed).pk)
    assert sorted(twin.items.values_list("kind", "object_id")) == sorted((i.kind, i.object_id) for i in items)

    # record: all yes → pass; a "no" without evidence is refused; with evidence → a finding with the check's severity
    svc.item_record(actor=bank.compliance, item_id=cust.pk, answers=all_yes(cust))
    assert SampleItem.objects.get(pk=cust.pk).result == "pass"
    txn = next(i for i in items if i.kind == "transaction")
    answers = {**all_yes(txn), "T02": "no"}
    with pytest.raises(ValidationFailed) as e:
        svc.item_record(actor=bank.compliance, item_id=txn.pk, answers=answers)
    assert "evidence" in e.value.fields
    with pytest.raises(ValidationFailed):
        svc.item_record(actor=bank.compliance, item_id=txn.pk, answers={"T01": "yes"})  # unanswered checks
    seq = audit_seq()
    svc.item_record(actor=bank.compliance, item_id=txn.pk, answers=answers, evidence="凭证无复核签章")
    assert verbs_since(seq) == ["supervision.finding_raised", "supervision.inspection_item_recorded"]
    f = Finding.objects.get(inspection=insp)
    assert (f.source, f.severity, f.staff_id, f.target_type) == ("inspection", "critical", bank.om_a1.pk,
                                                                 "ledger.JournalEntry")
    assert f.title.startswith("T02") and f.target_repr == txn.label
    # recorded again (evidence corrected): no second finding
    svc.item_record(actor=bank.compliance, item_id=txn.pk, answers=answers, evidence="凭证无复核签章，经办人已确认")
    assert Finding.objects.filter(inspection=insp).count() == 1

    with pytest.raises(RuleViolation) as e:
        svc.inspection_complete(actor=bank.compliance, inspection_id=insp.pk)
    assert e.value.code == "inspection_items_pending"
    for it in insp.items.filter(result="pending"):
        svc.item_record(actor=bank.compliance, item_id=it.pk, answers=all_yes(it))
    insp = svc.inspection_complete(actor=bank.compliance, inspection_id=insp.pk, conclusion="总体合规，个别交易未复核。")
    assert insp.status == "completed" and insp.finished_at is not None
    assert insp.summary["total"] == len(items) and insp.summary["fail"] == 1 and insp.summary["findings"] == 1
    with pytest.raises(RuleViolation):
        svc.item_record(actor=bank.compliance, item_id=cust.pk, answers=all_yes(cust))
    with pytest.raises(RuleViolation):
        svc.inspection_sample(actor=bank.compliance, inspection_id=insp.pk)


def test_cancel_needs_a_reason_and_no_findings(bank, world):
    planned = create(bank)
    with pytest.raises(ValidationFailed) as e:
        svc.inspection_cancel(actor=bank.compliance, inspection_id=planned.pk, reason="  ")
    assert e.value.code == "reason_required" and "reason" in e.value.fields
    with pytest.raises(PermissionDenied):
        svc.inspection_cancel(actor=bank.supervisor_a, inspection_id=planned.pk, reason="机构撤并")
    assert Inspection.objects.get(pk=planned.pk).status == "planned"
    seq = audit_seq()
    done = svc.inspection_cancel(actor=bank.compliance, inspection_id=planned.pk, reason="机构撤并，并入总行营业部检查")
    assert verbs_since(seq) == ["supervision.inspection_cancelled"]
    assert done.status == "cancelled" and done.conclusion.startswith("机构撤并") and done.finished_at
    with pytest.raises(RuleViolation) as e:
        svc.inspection_cancel(actor=bank.compliance, inspection_id=planned.pk, reason="再次取消")
    assert e.value.code == "inspection_closed"
    with pytest.raises(RuleViolation):
        svc.inspection_sample(actor=bank.compliance, inspection_id=planned.pk)

    # one that raised a finding stands: it must be completed
    running = svc.inspection_sample(actor=bank.compliance, inspection_id=create(bank).pk)
    txn = running.items.filter(kind="transaction").first()
    svc.item_record(actor=bank.compliance, item_id=txn.pk, answers={**all_yes(txn), "T02": "no"}, evidence="无复核")
    with pytest.raises(RuleViolation) as e:
        svc.inspection_cancel(actor=bank.compliance, inspection_id=running.pk, reason="误建")
    assert e.value.code == "inspection_has_findings"
    assert Inspection.objects.get(pk=running.pk).status == "in_progress"


def led_name_absent(world, label: str) -> bool:
    return all(c.name not in label for c in (world.zhang, world.li, world.wang))


def test_risk_weighted_population_weights(bank, world):
    """High-risk customers, large transactions and late complaints carry the parameter weights."""
    from bankcrm.risk.models import RiskProfile

    RiskProfile.objects.update_or_create(customer=world.zhang, defaults={"branch_path": world.zhang.branch.path,
                                                                         "aml_level": "high"})
    insp = create(bank)
    pop = svc.population(insp, "customer")
    weights = {c.pk: c.weight for c in pop.candidates}
    assert weights[world.zhang.pk] == 5 and weights[world.li.pk] == 1
    assert [c.pk for c in pop.candidates] == sorted(c.pk for c in pop.candidates)
    late = svc.population(insp, "complaint", today=timezone.localdate() + timedelta(days=60))
    assert all(c.weight == 5 for c in late.candidates)


def test_inspector_cannot_check_own_work_and_scope(bank, world):
    insp = svc.inspection_sample(actor=bank.compliance, inspection_id=create(bank).pk)
    item = insp.items.first()
    SampleItem.objects.filter(pk=item.pk).update(staff=bank.compliance)
    with pytest.raises(RuleViolation) as e:
        svc.item_record(actor=bank.compliance, item_id=item.pk, answers=all_yes(item))
    assert e.value.code == "inspector_is_subject"
    # supervisors read their subtree's inspections, never write; another branch's are invisible
    from bankcrm.supervision import inspection_selectors as sel

    assert sel.inspection_get(bank.supervisor_a, insp.pk).pk == insp.pk
    with pytest.raises(NotFound):
        sel.inspection_get(bank.supervisor_b, insp.pk)
    assert not sel.inspections_visible(bank.supervisor_b).exists()
    assert not sel.inspections_visible(bank.cm_a1).exists()
    with pytest.raises(PermissionDenied):
        svc.item_record(actor=bank.supervisor_a, item_id=item.pk, answers=all_yes(item))
    with pytest.raises(NotFound):
        svc.inspection_create(actor=bank.compliance, branch_id=999999, template_id=tpl().pk,
                              period_start=timezone.localdate(), period_end=timezone.localdate(),
                              sample_customers=1, sample_transactions=0, sample_complaints=0)
    with pytest.raises(ValidationFailed):
        svc.inspection_create(actor=bank.compliance, branch_id=bank.a.pk, template_id=tpl().pk,
                              period_start=timezone.localdate(), period_end=timezone.localdate() + timedelta(days=3),
                              sample_customers=1, sample_transactions=0, sample_complaints=0)


def test_reports_open(bank, world):
    from openpyxl import load_workbook

    insp = svc.inspection_sample(actor=bank.compliance, inspection_id=create(bank).pk)
    txn = insp.items.filter(kind="transaction").first()
    svc.item_record(actor=bank.compliance, item_id=txn.pk, answers={**all_yes(txn), "T01": "no"}, evidence="摘要缺失")
    seq = audit_seq()
    name, ctype, data = reports.export(actor=bank.compliance, inspection_id=insp.pk, fmt="xlsx")
    assert name.endswith(".xlsx") and ctype == reports.XLSX
    wb = load_workbook(io.BytesIO(data))
    assert {"检查报告", "样本明细", "检查项", "检查发现"} <= set(wb.sheetnames)
    rows = [r for r in wb["样本明细"].iter_rows(values_only=True)]
    assert len(rows) == insp.items.count() + 1
    assert any("T01" in (r[5] or "") for r in rows[1:])
    assert all(c.name not in str(rows) for c in (world.zhang, world.li))  # masked labels only
    name, ctype, data = reports.export(actor=bank.supervisor_a, inspection_id=insp.pk, fmt="pdf")
    assert data[:5] == b"%PDF-" and len(data) > 5000
    assert verbs_since(seq) == ["supervision.inspection_exported", "supervision.inspection_exported"]
    with pytest.raises(NotFound):
        reports.export(actor=bank.supervisor_b, inspection_id=insp.pk, fmt="pdf")
    with pytest.raises(PermissionDenied):
        reports.export(actor=bank.branch_risk, inspection_id=insp.pk, fmt="xlsx")
    assert Inspection.objects.filter(pk=insp.pk, status="in_progress").exists()


def test_posting_by_system_is_not_sampled(bank, world):
    """Interest and other system postings have no maker: they are not in the transaction population."""
    insp = create(bank)
    pop = svc.population(insp, "transaction")
    assert pop.candidates and all(c.staff_id is not None for c in pop.candidates)
    assert ledger_services is not None


def test_demo_scenario(bank, world):
    """The demo seeder: plans per branch, a completed inspection with two failed items (findings), one in progress,
    this quarter's access reviews with one branch done."""
    import random

    from bankcrm.core.demo import SeedContext
    from bankcrm.supervision import inspection_demo
    from bankcrm.supervision.models import AccessReview

    lines: list[str] = []
    inspection_demo.run(SeedContext(rng=random.Random(7), options={}, out=lines.append))
    assert InspectionPlan.objects.filter(frequency="quarterly").count() == 2
    done = Inspection.objects.get(status="completed")
    assert done.summary["fail"] == 2 and Finding.objects.filter(inspection=done).count() == 2
    assert Inspection.objects.filter(status="in_progress").count() == 1
    assert AccessReview.objects.filter(status="completed").count() == 1
    assert AccessReview.objects.filter(status="open").exists()
    assert lines and "supervision_inspections" in lines[-1]
