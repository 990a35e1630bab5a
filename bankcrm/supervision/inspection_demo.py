"""Demo data of inspections and access reviews: the default checklists, a quarterly plan per branch, last month's
completed inspection of the first branch with two failed checks (findings raised), an inspection in progress at the
second branch, and this quarter's access reviews with one branch done and the others pending."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from bankcrm.core.demo import SeedContext, register

from . import access_review_services as arsvc
from . import inspection_rules as rules
from . import inspection_services as svc
from .models import AccessReview, ChecklistTemplate, Inspection, SampleItem


def _compliance() -> Any:
    from bankcrm.core import access
    from bankcrm.org.models import Staff

    for s in Staff.objects.filter(is_active=True, role_assignments__role="compliance_manager").order_by("staff_no"):
        if access.sees_all_branches(s):
            return s
    return None


def _answers(item: SampleItem, fail: str | None = None) -> dict[str, str]:
    checks = item.inspection.template.checks(item.kind)
    return {c["code"]: ("no" if c["code"] == fail else "yes") for c in checks}


def _record_all(actor: Any, insp: Inspection, *, failures: dict[str, tuple[str, str]], limit: int | None = None) -> int:
    """Answer the items (all "yes" except one failed check per kind named in ``failures``). Returns failed count."""
    failed = 0
    done = 0
    for item in insp.items.order_by("kind", "position", "pk"):
        if limit is not None and done >= limit:
            break
        if item.staff_id == actor.pk:
            continue
        fail = failures.pop(item.kind, None)
        svc.item_record(actor=actor, item_id=item.pk, answers=_answers(item, fail[0] if fail else None),
                        evidence=fail[1] if fail else "")
        failed += bool(fail)
        done += 1
    return failed


def run(ctx: SeedContext) -> None:
    from bankcrm.org.models import Branch

    actor = _compliance()
    if actor is None:
        ctx.out("supervision_inspections: no head-office compliance manager, skipped")
        return
    today = timezone.localdate()
    with transaction.atomic():
        svc.templates_install_default(actor=actor)
        template = ChecklistTemplate.objects.get(code="branch-crm", active=True)
        branches = list(Branch.objects.filter(is_active=True, kind=Branch.Kind.BRANCH).order_by("path"))
        for b in branches:
            svc.plan_save(actor=actor, name=f"{b.name}季度例行检查", branch_id=b.pk, frequency="quarterly",
                          template_id=template.pk, sample_customers=2, sample_transactions=2, sample_complaints=1,
                          risk_weighted=True)
    if not branches:
        return
    scenario: dict[str, Any] = {}
    start, end = rules.period_before(today, "monthly")
    probe = Inspection(branch_path=branches[0].path, period_start=start, period_end=end)
    if not svc.population(probe, "customer").candidates or not svc.population(probe, "transaction").candidates:
        start, end = today - timedelta(days=30), today  # a young demo bank: the last 30 days instead of last month
    with transaction.atomic():
        done = svc.inspection_create(actor=actor, branch_id=branches[0].pk, template_id=template.pk,
                                     period_start=start, period_end=end, sample_customers=2, sample_transactions=2,
                                     sample_complaints=1, risk_weighted=True, seed=ctx.rng.randrange(2 ** 40))
        svc.inspection_sample(actor=actor, inspection_id=done.pk)
        failed = _record_all(actor, done, failures={
            "customer": ("C03", "客户档案中未见个人信息处理授权书，系统无同意记录"),
            "transaction": ("T01", "交易摘要为空，与柜面凭证不一致"),
        })
        if not done.items.filter(result="pending").exists() and done.items.exists():
            svc.inspection_complete(actor=actor, inspection_id=done.pk,
                                    conclusion="本期抽查总体合规；发现客户同意记录缺失、交易摘要不完整各一例，已登记检查发现并要求限期整改。")
        scenario["done"] = (done.number, failed, done.findings.count())
    if len(branches) > 1:
        with transaction.atomic():
            live = svc.inspection_create(actor=actor, branch_id=branches[1].pk, template_id=template.pk,
                                         period_start=start, period_end=end, sample_customers=2, sample_transactions=2,
                                         sample_complaints=1, risk_weighted=True, seed=ctx.rng.randrange(2 ** 40))
            svc.inspection_sample(actor=actor, inspection_id=live.pk)
            _record_all(actor, live, failures={}, limit=2)
            scenario["live"] = live.number
    with transaction.atomic():
        arsvc.access_reviews_open(actor=actor)
        period = rules.quarter_of(today)[0]
        first = AccessReview.objects.filter(period=period, reviewer__isnull=False).order_by("branch_path").first()
        if first is not None:
            for item in first.items.exclude(staff=first.reviewer):
                arsvc.access_review_decide(actor=first.reviewer, item_id=item.pk, decision="confirmed")
            if not first.items.filter(decision="pending").exists():
                arsvc.access_review_complete(actor=first.reviewer, review_id=first.pk)
            scenario["review_done"] = first.branch.name
        scenario["reviews_pending"] = AccessReview.objects.filter(period=period, status="open").count()
    ctx.state["supervision_inspection"] = scenario.get("done", ("",))[0]
    done_no, failed, findings = scenario.get("done", ("—", 0, 0))
    ctx.out(f"supervision_inspections: 检查 {done_no} 已完成（不合规 {failed} 项，检查发现 {findings} 条）；"
            f"检查 {scenario.get('live', '—')} 进行中；权限复核 {period}：{scenario.get('review_done', '—')} 已完成，"
            f"{scenario['reviews_pending']} 个待复核；合规经理 {actor.staff_no} 登录查看")


register("supervision_inspections", 62, run)
