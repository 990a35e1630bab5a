"""Demo data of segments and next best action (runs after the wealth demo), all through the services: a cohort of new
customers with documented behaviour-to-purchase patterns, so that the propensity model has something true to learn
and its held-out AUC can be checked against the popularity baseline (``manage.py engagement_train``).

**The cohort.** ``25 × customers_per_manager`` (300 by default) natural persons aged 22–80, registered by the
employee customer managers of the sub-branches (each with the sensitive-data consent; 80 % also consent to marketing),
each with a demand account funded 40–80 days ago (cash at the counter, 30,000–300,000 yuan, log-uniform; from 50,000
yuan with the branch supervisor as second person), 85 % assessed face to face (C1 10 %, C2 25 %, C3 35 %, C4 22 %,
C5 8 %), and one contact logged 2–25 days ago whose note says what the customer talked about (the insight
extraction finds the intents in it). Then each customer buys — today, through propose and confirm, with a 双录
reference where the customer is 65 or older — according to the patterns below; everyone else in the cohort buys a
random product that suits them with a 5 % background probability. The patterns are probabilistic on purpose: some
customers show a signal and buy nothing, and they are the ones the next best action should follow up.

=====  ======================================================  ====================================================  =====
code   behaviour (signal before the purchase)                   purchase                                               p
=====  ======================================================  ====================================================  =====
P1     aged 50+, a note mentions 养老 / 快退休 (45 % of them)      annuity insurance KN-ANN-10, else an R2 steady         0.70
                                                                 product (HT-WY90-2611 / RF-BOND-A)
P2     a large inflow 3–25 days ago (200,000–800,000 yuan cash,   balanced R3 (HT-RX-R3 / CM-VALUE-A) if C3 or above,    0.65
       售房款 / 年终奖; 20 % of the cohort)                         else R2 steady (RF-BOND-A)
P3     aged under 40, a note mentions a child's 留学 (30 %)        one-year time deposit TD-1Y or the money-market        0.60
                                                                 fund HY-MMF-A (R1)
P4     aged 25–45, C4 or above, a note about 基金 / 定投 (35 %)     R4 index fund BY-CSI500-A                              0.50
=====  ======================================================  ====================================================  =====

Customers without a signal get a routine note (手机银行、地址变更、信用卡账单…: no intent). After the purchases the
demo recomputes the last 90 days' AUM snapshots (the cohort's deposits are dated in the past; on a bank of more than
`BACKFILL_LIMIT` customers only today's), computes
the segments, trains the propensity model, refreshes every customer's recommendations, and lets the managers act on
a few: some accepted (an opportunity and a follow-up task each), some declined, and some of the accepted ones bought
at once (their conversion is recorded by the ``wealth.sold`` consumer, drained here).
"""

from __future__ import annotations

import math
import random
import time as clock
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo

W = 100
SEED_SALT = "engagement"

NOTES = {
    "P1": ["客户明年退休，关心养老规划，希望退休后每月有稳定的现金流。", "客户提到快退休了，想提前做些养老方面的准备，问有没有稳健一点的产品。",
           "电话回访时客户说老伴也快退休了，想给两个人的养老钱做个安排。", "客户来网点咨询养老年金，关心收益是否稳定。"],
    "P3": ["客户孩子计划明年出国留学，需要提前准备学费和生活费。", "客户说女儿在准备雅思，打算去英国留学，想把钱存得稳妥一些。",
           "客户咨询孩子留学的资金安排，希望既安全又能随时取用。"],
    "P4": ["客户对基金定投很感兴趣，想配置一些权益类基金。", "客户说最近在研究指数基金，愿意承担一定波动，想长期定投。",
           "客户希望拿出一部分资金做基金投资，追求更高收益。"],
    "routine": ["客户来电咨询手机银行转账限额，已解答。", "客户更新了联系地址和工作单位。", "例行电话联系，客户对网点服务表示满意。",
                "客户询问信用卡账单分期，已告知办理渠道。", "客户到网点办理银行卡挂失补办，已完成。", "客户咨询网银登录问题，已指导重置密码。"],
}
SUBJECTS = {"P1": "养老规划沟通", "P3": "子女留学资金咨询", "P4": "基金投资咨询", "routine": "客户日常联系"}
INFLOW_MEMOS = ["售房款存入", "年终奖金存入", "他行理财到期资金转入存现", "经营收入存入"]
LEVELS = [(1, 10), (2, 25), (3, 35), (4, 22), (5, 8)]
BACKFILL_LIMIT = 5_000  # customers up to which the demo redoes the last 90 days of AUM snapshots


def _run(fn, **kw):
    with transaction.atomic():
        return fn(**kw)


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    total = sum(w for _v, w in pairs)
    x = rng.uniform(0, total)
    for v, w in pairs:
        x -= w
        if x <= 0:
            return v
    return pairs[-1][0]


def _people_team() -> list[tuple[Any, Any, Any]]:
    """(customer manager, teller, supervisor) per sub-branch with a teller: employees only."""
    from bankcrm.customers.demo import REGIONS
    from bankcrm.org.models import Staff
    from bankcrm.wealth.demo import _Bank

    bank = _Bank()
    out = []
    for cm in (Staff.objects.filter(is_active=True, employment_type="employee", role_assignments__role="customer_manager",
                                    branch__code__in=list(REGIONS)).select_related("branch").order_by("staff_no")
               .distinct()):
        teller = bank.teller(cm.branch.path)
        if teller is not None:
            out.append((cm, teller, bank.supervisor(cm.branch.path, exclude=teller)))
    return out


def _newcomer(rng: random.Random, n: int, team: list[tuple[Any, Any, Any]], demand: Any, q: Any, *, today: Any,
              now: Any) -> dict[str, Any] | None:
    """One cohort customer: registered, consenting, funded in the past, assessed, one contact — one transaction."""
    from bankcrm.core.errors import RuleViolation
    from bankcrm.customers import services as customer_services
    from bankcrm.customers.demo import GIVEN, OCCUPATIONS, REGIONS, SURNAMES, person_id
    from bankcrm.ledger import services as ledger
    from bankcrm.risk import suitability
    from bankcrm.wealth.demo import _answers_for

    from . import services

    cm, teller, supervisor = team[n % len(team)]
    age = rng.randrange(22, 81)
    born = today - timedelta(days=age * 365 + rng.randrange(0, 360))
    name = rng.choice(SURNAMES[:-2]) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
    occ, ind = rng.choice(OCCUPATIONS)
    if age >= 60 and rng.random() < 0.7:
        occ, ind = "退休人员", ""
    funds = int(math.exp(rng.uniform(math.log(30_000), math.log(300_000)))) // 1_000 * 1_000 * W
    funded_on = today - timedelta(days=rng.randrange(40, 81))
    consent = rng.random() < 0.8
    level = _weighted(rng, LEVELS) if rng.random() < 0.85 else 0
    pattern = ""
    if age >= 50 and rng.random() < 0.45:
        pattern = "P1"
    elif age < 40 and rng.random() < 0.30:
        pattern = "P3"
    elif 25 <= age <= 45 and rng.random() < 0.35:
        pattern, level = "P4", max(level, 4)
    inflow = rng.random() < 0.20
    inflow_fen = rng.randrange(200, 801) * 1_000 * W
    inflow_on = today - timedelta(days=rng.randrange(3, 26))
    kind = pattern or "routine"
    note = rng.choice(NOTES[kind])
    channel = rng.choice(["call", "visit", "wechat"])
    occurred = now - timedelta(days=rng.randrange(2, 26), minutes=rng.randrange(0, 480))
    region = rng.choice(REGIONS[cm.branch.code])
    for _attempt in range(5):  # a drawn identity number may exist already: draw another
        number = person_id(rng, region, born)
        try:
            with transaction.atomic():
                c = customer_services.customer_register(
                    actor=cm, kind="person", name=name, id_type="resident_id", id_number=number,
                    mobile=f"1{rng.choice('3589')}{rng.randrange(10)}{rng.randrange(10**8):08d}", occupation=occ,
                    industry=ind, income_band=rng.choice(["10-30w", "10-30w", "30-100w", "100w+", "<10w"]),
                    preferred_channel=rng.choice(["phone", "wechat", "branch"]))
                customer_services.consent_grant(actor=cm, customer_id=c.pk, purpose="sensitive", channel="branch",
                                                evidence=f"SQ{today:%Y}{n:06d}")
                if consent:
                    customer_services.consent_grant(actor=cm, customer_id=c.pk, purpose="marketing",
                                                    channel=rng.choice(["branch", "online", "phone"]))
                acc = ledger.account_open(actor=teller, customer_id=c.pk, product_id=demand.pk)
                ledger.post(ledger.cash_deposit_movement(actor=teller, account_id=acc.pk, amount_fen=funds,
                                                         memo="开户存入"),
                            maker=teller, checker=supervisor if funds >= 50_000 * W else None, today=funded_on)
                if level:
                    suitability.suitability_assess(actor=cm, customer_id=c.pk, answers=_answers_for(q, level),
                                                   face_to_face=True)
                if inflow:
                    ledger.post(ledger.cash_deposit_movement(actor=teller, account_id=acc.pk, amount_fen=inflow_fen,
                                                             memo=rng.choice(INFLOW_MEMOS)),
                                maker=teller, checker=supervisor, today=inflow_on)
                i = services.interaction_log(actor=cm, customer_id=c.pk, kind=channel, subject=SUBJECTS[kind],
                                             notes=note, occurred_at=occurred)
        except RuleViolation as exc:
            if exc.code.startswith("customer_duplicate"):
                continue
            raise
        return {"c": c, "cm": cm, "acc": acc, "age": age, "level": level, "consent": consent, "pattern": pattern,
                "inflow": inflow, "interaction": i.pk}
    return None


def seed_nba(ctx: demo.SeedContext) -> None:
    from bankcrm.core import outbox
    from bankcrm.ledger.models import Product
    from bankcrm.risk import suitability
    from bankcrm.wealth import aum
    from bankcrm.wealth import services as wealth
    from bankcrm.wealth.models import WealthProduct

    from . import nba, propensity, segments
    from .models import Recommendation

    started = clock.monotonic()
    timings: dict[str, float] = {}
    rng = random.Random(f"{SEED_SALT}:{ctx.options.get('seed', 0)}")  # its own generator: other seeders unchanged
    team = _people_team()
    products = {p.code: p for p in WealthProduct.objects.filter(status=WealthProduct.Status.ON_SHELF)}
    q = suitability.questionnaire_active()
    needed = {"KN-ANN-10", "RF-BOND-A", "HT-RX-R3", "CM-VALUE-A", "BY-CSI500-A", "HY-MMF-A", "TD-1Y"}
    if not team or q is None or not needed <= set(products):
        ctx.out("  客户分群与推荐：缺少客户经理、问卷或理财货架，跳过")
        return
    demand = Product.objects.get(code="D-CNY")
    per_manager = int(ctx.options.get("customers_per_manager") or 12)
    size = int(ctx.options.get("nba_cohort") or 25 * per_manager)
    today = timezone.localdate()
    now = timezone.now()
    try:
        from .insight_services import insights_for_interaction
    except ImportError:  # the insight feature is optional for this demo
        insights_for_interaction = None

    # ---- 1. The cohort: registered, consenting, funded, assessed, one contact each (one transaction per customer) ---
    from . import nba_consumers

    nba_consumers.REFRESH_ON_INTERACTION = False  # everyone is refreshed at the end
    cohort: list[dict[str, Any]] = []
    contacts: list[int] = []
    try:
        for n in range(size):
            p = _newcomer(rng, n, team, demand, q, today=today, now=now)
            if p is not None:
                cohort.append(p)
                contacts.append(p["interaction"])
    finally:
        nba_consumers.REFRESH_ON_INTERACTION = True
    if insights_for_interaction is not None:
        for pk in contacts:  # idempotent: the after-commit hook may have done it already
            insights_for_interaction(pk)
    timings["cohort"] = clock.monotonic() - started

    # ---- 2. The purchases, by pattern --------------------------------------------------------------------------------
    seq = {"rec": 0}

    def available(p: dict[str, Any]) -> int:
        p["acc"].refresh_from_db()
        return p["acc"].available_fen

    def sell(p: dict[str, Any], code: str) -> Any:
        prod = products[code]
        budget = available(p) * rng.choice([20, 30, 40, 50]) // 100
        step = max(prod.step_fen, 1_000 * W)
        amount = max(prod.min_amount_fen, budget // step * step)
        if prod.risk_level > p["level"] or amount > available(p):
            return None
        with transaction.atomic():  # proposed and confirmed in one sitting
            s = wealth.sale_propose(actor=p["cm"], customer_id=p["c"].pk, product_id=prod.pk, account_id=p["acc"].pk,
                                    amount_fen=amount, customer_initiated=not p["consent"])
            rec = {}
            if s.recording_required:
                seq["rec"] += 1
                rec = dict(recording_id=f"SL{today:%Y%m%d}{p['c'].branch.code}N{seq['rec']:03d}",
                           recording_booth=f"{p['c'].branch.name}理财销售专区1号双录室",
                           recorded_at=timezone.now() - timedelta(minutes=rng.randrange(5, 30)))
            return wealth.sale_confirm(actor=p["cm"], sale_id=s.pk, disclosure_confirmed=True, **rec)

    def steady(p: dict[str, Any]) -> str:
        return "HT-WY90-2611" if "HT-WY90-2611" in products and p["level"] >= 2 and rng.random() < 0.5 else "RF-BOND-A"

    sold = {"P1": 0, "P2": 0, "P3": 0, "P4": 0, "background": 0}
    for p in cohort:
        plan: list[tuple[str, str]] = []
        if p["pattern"] == "P1" and rng.random() < 0.70:
            plan.append(("P1", "KN-ANN-10" if p["level"] >= 2 and rng.random() < 0.7 else steady(p)))
        if p["pattern"] == "P3" and rng.random() < 0.60:
            plan.append(("P3", "TD-1Y" if rng.random() < 0.5 or not p["level"] else "HY-MMF-A"))
        if p["pattern"] == "P4" and rng.random() < 0.50:
            plan.append(("P4", "BY-CSI500-A"))
        if p["inflow"] and rng.random() < 0.65:
            plan.append(("P2", rng.choice(["HT-RX-R3", "CM-VALUE-A"]) if p["level"] >= 3 else "RF-BOND-A"))
        if not plan and rng.random() < 0.05:
            menu = ["TD-1Y", "TD-3M"] + [c for c, pr in products.items()
                                        if pr.kind in ("wealth", "fund") and 0 < pr.risk_level <= p["level"]
                                        and not pr.private and pr.min_amount_fen <= 10_000 * W]
            plan.append(("background", rng.choice(sorted(menu))))
        for pattern, code in plan:
            if code in products and (products[code].risk_level == 0 or p["level"]) and sell(p, code) is not None:
                sold[pattern] += 1

    timings["sales"] = clock.monotonic() - started - sum(timings.values())
    # ---- 3. History, segments, the model, recommendations ------------------------------------------------------------
    # The cohort's deposits are dated in the past: redo the AUM history (a big bank only redoes today: its 90-day
    # backfill already took minutes in the wealth demo, and the cohort's history matters for the charts only)
    from bankcrm.customers.models import Customer

    snapshots = (aum.backfill(days=90) if Customer.objects.count() <= BACKFILL_LIMIT
                 else aum.snapshot_run(day=today))
    timings["aum"] = clock.monotonic() - started - sum(timings.values())
    with transaction.atomic():
        seg = segments.segments_compute()
    with transaction.atomic():
        model = propensity.propensity_train()
    refreshed = nba.recommendations_refresh()
    timings["models"] = clock.monotonic() - started - sum(timings.values())

    # ---- 4. Managers act on some recommendations; some accepted ones are bought at once -----------------------------
    by_customer = {p["c"].pk: p for p in cohort}
    open_recs = list(Recommendation.objects.filter(status="open", customer_id__in=list(by_customer),
                                                   product__isnull=False).select_related("product")
                     .order_by("-score", "pk")[:40])
    rng.shuffle(open_recs)
    decided = {"accepted": 0, "declined": 0, "converted": 0}
    for r in open_recs[:24]:
        p = by_customer[r.customer_id]
        try:
            if decided["declined"] < 8 and rng.random() < 0.35:
                _run(nba.recommendation_decide, actor=p["cm"], recommendation_id=r.pk, decision="decline",
                     reason=rng.choice(["客户暂无购买计划", "客户资金另有安排", "客户希望先与家人商量"]))
                decided["declined"] += 1
                continue
            _run(nba.recommendation_decide, actor=p["cm"], recommendation_id=r.pk, decision="accept",
                 follow_up_on=today + timedelta(days=rng.choice([1, 3, 7])))
            decided["accepted"] += 1
            if rng.random() < 0.5 and sell(p, r.product.code) is not None:
                decided["converted"] += 1
        except Exception as exc:
            ctx.out(f"  （推荐 {r.pk} 未处理：{exc}）")
    while outbox.consume("engagement_nba_conversion", batch=1000):
        pass
    aum.snapshot_run(day=today)
    f = propensity.model_figures(model)
    ctx.out(f"  客户分群与推荐演示：新客户 {len(cohort)} 名（互动记录各 1 条），按规律成交 "
            f"养老 {sold['P1']}、大额流入 {sold['P2']}、留学 {sold['P3']}、进取 {sold['P4']}、其他 {sold['background']} 笔；"
            f"客户资产快照 {snapshots:,} 条")
    ctx.out(f"  客户分群 {seg['customers']} 名（行为分群：{'、'.join(seg['labels'])}）；购买倾向模型 v{f['version']} "
            f"留出集 AUC {f['auc_model']}，同分层热门度基线 {f['auc_baseline']}，全行热门度基线 {f['auc_global_baseline']}"
            f"（{'已启用' if f['active'] else '未超过基线，未启用'}）")
    ctx.out(f"  推荐 {refreshed['created']} 条（{refreshed['customers']} 位客户），客户经理采纳 {decided['accepted']} 条、"
            f"拒绝 {decided['declined']} 条，采纳后成交 {decided['converted']} 笔（{clock.monotonic() - started:.0f} 秒："
            + "，".join(f"{k} {v:.0f}" for k, v in timings.items()) + "）")


demo.register("engagement_nba", 47, seed_nba)
