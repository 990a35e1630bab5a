"""Demo appraisal (order 53: after training, before incentives, which allocate pools from Q3's signed-off cards):
the default schemes, the periods 2026Q3, 2026Q4 and the year 2026 computed from the demo data, and Q3's cards moved
through the steps as a bank would have them at the end of November — most signed off by the sub-branch supervisors
(one adjusted, one branch calibrated), one appeal open, and CM001's card self-assessed and waiting for the review of
the supervisor of CM001's sub-branch.

Note: the survey answers are seeded at order 60, after this; the demo's CSAT/NPS lines are therefore only measured if
the surveys seeder runs earlier (see the README of the demo)."""

from __future__ import annotations

from django.db import transaction

from bankcrm.core import demo

SELF_COMMENTS = ["本季度重点维护存量客户，按时完成回访与培训。", "客户满意度有所提升，下季度加强新客户拓展。",
                 "完成了全部到期客户的需求复核，个别投诉已妥善处理。", "按计划推进客户经营，继续提升专业能力。"]
REVIEWS = ["工作扎实，客户反馈良好。", "完成情况符合预期，注意投诉处理时效。", "客户经营积极主动，继续保持。"]


def _supervisor_of(staff, supervisors):
    """The nearest supervisor whose branch subtree holds ``staff`` (never the person themself)."""
    best = None
    for sv in supervisors:
        if sv.pk != staff.pk and staff.branch.path.startswith(sv.branch.path):
            if best is None or len(sv.branch.path) > len(best.branch.path):
                best = sv
    return best


def seed_appraisal(ctx: demo.SeedContext) -> None:
    from bankcrm.org.models import Staff

    from . import appraisal_services as svc
    from .models import Scorecard

    rng = ctx.rng
    admin = ctx.state.get("admin") or Staff.objects.filter(role_assignments__role="admin").order_by("staff_no").first()
    with transaction.atomic():
        svc.schemes_install_default(actor=admin)
        q3 = svc.period_open(actor=admin, year=2026, quarter=3)
        q4 = svc.period_open(actor=admin, year=2026, quarter=4)
        year = svc.period_open(actor=admin, year=2026)
    counts = {p: svc.scorecards_compute(actor=admin, period_id=p.pk) for p in (q3, q4, year)}
    supervisors = list(Staff.objects.filter(is_active=True, role_assignments__role="branch_supervisor")
                       .select_related("branch"))
    cards = list(Scorecard.objects.filter(period=q3).select_related("staff", "staff__branch").order_by("staff__staff_no"))
    signed = appealed = 0
    waiting_for = None
    cm001 = next((c for c in cards if c.staff.staff_no == "CM001"), None)
    appeal_card = next((c for c in cards if c.staff.staff_no == "CM002"), None)
    reviewed_only = next((c for c in cards if c.staff.staff_no == "OM001"), None)
    for card in cards:
        sv = _supervisor_of(card.staff, supervisors)
        if sv is None:
            continue  # head-office staff: no branch supervisor above them in the demo; left computed
        with transaction.atomic():
            svc.scorecard_self_assess(actor=card.staff, scorecard_id=card.pk, comment=rng.choice(SELF_COMMENTS))
            if card is cm001:
                waiting_for = sv
                continue
            adjustment = max(-card.computed_score, min(rng.choice([0, 0, 0, 100, -100, 200]),
                                                       10_000 - card.computed_score))
            svc.scorecard_review(actor=sv, scorecard_id=card.pk, comment=rng.choice(REVIEWS), adjustment=adjustment)
            if card is reviewed_only:
                continue
            svc.scorecard_sign_off(actor=sv, scorecard_id=card.pk)
            signed += 1
        if card is appeal_card:
            with transaction.atomic():
                svc.appeal_raise(actor=card.staff, scorecard_id=card.pk,
                                 reason="投诉率指标计入了已转交其他客户经理的客户投诉，请复核。")
            appealed += 1
    ctx.out(f"  考核：方案 5 套；2026Q3 记分卡 {counts[q3]['created']} 张（已签署 {signed} 张，申诉中 {appealed} 张），"
            f"2026Q4 {counts[q4]['created']} 张，2026 年度 {counts[year]['created']} 张")
    if cm001 is not None and waiting_for is not None:
        ctx.out(f"  考核场景：CM001 {cm001.staff.name} 的 2026Q3 记分卡已自评，等待 {waiting_for.staff_no} "
                f"{waiting_for.name}（{waiting_for.branch.name}负责人）评价与签署")


demo.register("people_appraisal", 53, seed_appraisal)
