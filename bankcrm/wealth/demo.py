"""Demo wealth data, all through the services (the same checks, holds, postings, approvals and audit as real use):

- the shelf: bank wealth-management products R1–R5 from the bank's own wealth subsidiary (汇通理财), public funds
  from fund companies (money market, bond, mixed, equity index), two insurance products sold as agent (an annuity
  and a whole-life policy), the bank's time deposits (``wealth_bootstrap``) and one private R4 product (1,000,000
  yuan minimum) — each with its description and risk disclosure, put on the shelf by an administrator and approved
  by the head-office compliance manager (fund houses, insurers and the subsidiary are fictional);
- net asset values for the last ~120 days on working days, a seeded random walk per product (reproducible), set one
  by one through ``nav_set``;
- suitability: the assessments the risk demo made are reused; customers chosen for a sale without one are assessed
  by their manager, face to face; three wealthy customers bring funds (large cash deposits approved by their branch
  supervisor) and pass the qualified-investor test;
- sales through propose → confirm (双录 references for elderly customers buying R3+ or insurance): settled sales of
  every kind, a private sale still in its 24-hour cooling-off, one cancelled in cooling-off, a withdrawn proposal,
  proposals awaiting the customer's confirmation, redemptions, one income distribution of the bond fund, and return
  visits in every state (open, done, done with a problem that opened a feedback case, unreachable);
- the scenario of the issue's browser flow: a customer of about 70 with a valid C4 assessment, a funded account and
  marketing consent, left without wealth sales so that a customer manager can sell them an R3 product (the demo
  prints the customer number);
- 90 days of assets-under-management snapshots (``aum.backfill``) so the charts have history.

Dates: the services stamp "now" and the demo does not move the clock (no other demo does), so every sale,
redemption and the distribution happen today; the NAV history and the deposits' history (from the ledger demo) are
what the 90 days of AUM charts show before today.
"""

from __future__ import annotations

import random
import time as clock
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from bankcrm.core import demo, params

W = 100  # fen per yuan
SUBSIDIARY = "汇通理财有限责任公司"
INSURER = "康宁人寿保险股份有限公司"
SCENARIO_AGE = 70

# ---- Texts ------------------------------------------------------------------------------------------------------------
LEVEL_WORDS = {1: "谨慎型", 2: "稳健型", 3: "平衡型", 4: "进取型", 5: "激进型"}


def _wealth_disclosure(level: int, private: bool) -> str:
    who = f"经风险承受能力评估为C{level}（{LEVEL_WORDS[level]}）及以上的投资者"
    extra = ("本产品为私募理财产品，仅向合格投资者非公开发行，认购后设有24小时投资冷静期，冷静期内可无条件撤销并解除资金冻结；"
             "冷静期结束后方可成交。" if private else "")
    return (f"理财非存款、产品有风险、投资须谨慎。\n本产品为非保本浮动收益型理财产品，风险等级为R{level}（{LEVEL_WORDS[level]}），"
            f"适合{who}。{extra}\n产品过往业绩不代表其未来表现，不等于产品实际收益；业绩比较基准不构成对产品收益的承诺。"
            "投资者可能面临市场风险、信用风险、流动性风险、政策风险、管理人风险及不可抗力风险，极端情况下可能损失全部本金。"
            f"\n本产品由{SUBSIDIARY}发行与管理，汇通银行作为代理销售机构，不承担产品的投资、兑付和风险管理责任。")


def _fund_disclosure(level: int, issuer: str) -> str:
    return (f"基金有风险，投资须谨慎。\n本基金风险等级为R{level}（{LEVEL_WORDS[level]}），适合经风险承受能力评估为C{level}及以上的投资者。"
            f"{issuer}承诺以诚实信用、勤勉尽责的原则管理和运用基金财产，但不保证基金一定盈利，也不保证最低收益。"
            "基金的过往业绩及其净值高低并不预示其未来业绩表现。投资者应认真阅读《基金合同》《招募说明书》及《产品资料概要》，"
            "了解基金的风险收益特征，并根据自身的投资目的、投资期限、投资经验、资产状况等判断是否与自身风险承受能力相匹配。"
            "\n汇通银行为本基金的代销机构，不对基金的投资收益作出任何承诺或保证。")


def _insurance_disclosure(name: str) -> str:
    return (f"本产品（{name}）由{INSURER}承保，汇通银行仅为保险兼业代理机构，不承担保险责任。\n"
            "保险产品不是存款，也不是银行理财产品。投保人享有15日犹豫期，犹豫期内退保仅扣除不超过10元的工本费；"
            "犹豫期后退保可能遭受较大损失，退保金为保单的现金价值。分红保险的红利分配是不确定的，演示利益仅供参考。"
            "\n年满65周岁的投保人须在本行销售专区完成录音录像（双录）后方可投保。")


DEPOSIT_DISCLOSURE = ("本产品为人民币整存整取定期存款，不属于理财产品。\n存款受《存款保险条例》保护：同一存款人在同一家投保机构所有"
                      "被保险存款账户的存款本金和利息合并计算的资金数额在最高偿付限额（人民币50万元）以内的，实行全额偿付。\n"
                      "利率以存入当日本行挂牌利率为准；提前支取的部分按支取日活期存款利率计息；到期按客户约定自动转存或转入结算账户。")

# code, name, kind, issuer, level, min yuan, step yuan, open-ended, sales start (days ago), sales end (days ahead),
# maturity (days ahead), subscribe fee bp, redeem fee bp, management fee bp, benchmark bp, private, walk (drift/yr,
# daily volatility in bp), description
SHELF: list[dict[str, Any]] = [
    dict(code="HT-TTL01", name="汇通理财·天天利现金管理1号", kind="wealth", issuer=SUBSIDIARY, level=1, min=1_000, step=1,
         open=True, start=720, mfee=20, bench=185, walk=(0.019, 0), desc=(
             "现金管理类理财产品，投资于现金、银行存款、同业存单、剩余期限在397天以内的债券等货币市场工具。"
             "工作日9:00-15:00可申请赎回，T+1日到账。业绩比较基准：七天通知存款利率（税后）。")),
    dict(code="HT-WY90-2611", name="汇通理财·稳盈90天（2611期）", kind="wealth", issuer=SUBSIDIARY, level=2, min=10_000,
         step=1_000, open=False, start=6, end=3, maturity=95, term=90, mfee=30, bench=280, walk=(0.028, 2), desc=(
             "封闭式固定收益类理财产品，期限90天，募集期结束后成立，到期一次性兑付本金及收益至客户签约账户。"
             "主要投资于高等级信用债、利率债及同业存单，杠杆率不超过140%。封闭期内不可赎回。")),
    dict(code="HT-RX-R3", name="汇通理财·睿选混合策略1号", kind="wealth", issuer=SUBSIDIARY, level=3, min=10_000,
         step=1_000, open=True, start=540, mfee=60, bench=450, walk=(0.045, 25), desc=(
             "开放式混合类理财产品，固定收益类资产占比50%-90%，权益类资产占比10%-40%，通过股债动态配置追求稳健增值。"
             "每个工作日开放申购赎回，赎回款T+2日到账；持有不足7天赎回收取1.5%赎回费。")),
    dict(code="HT-QY-R4", name="汇通理财·权益精选", kind="wealth", issuer=SUBSIDIARY, level=4, min=10_000, step=1_000,
         open=True, start=400, mfee=100, bench=0, redeem=50, walk=(0.07, 95), desc=(
             "开放式权益类理财产品，权益类资产占比不低于80%，精选高景气行业龙头公司，采用自下而上的个股研究策略。"
             "每个工作日开放申购赎回。本产品不设业绩比较基准。")),
    dict(code="HT-KC-R5", name="汇通理财·科创进取股票型", kind="wealth", issuer=SUBSIDIARY, level=5, min=10_000,
         step=1_000, open=True, start=300, mfee=120, bench=0, redeem=50, walk=(0.09, 160), desc=(
             "开放式权益类理财产品，主要投资于科创板、创业板上市公司股票，可参与股指期货对冲，净值波动大。"
             "每个工作日开放申购赎回。")),
    dict(code="HY-MMF-A", name="恒益货币市场基金A", kind="fund", issuer="恒益基金管理有限公司", level=1, min=100, step=1,
         open=True, start=1500, mfee=25, walk=(0.0, 0), desc=(
             "货币市场基金，投资于现金、期限在1年以内的银行存款、债券回购、中央银行票据、同业存单等。"
             "基金份额净值保持1.0000元，每日计算收益并按月分配。申购赎回无费用。")),
    dict(code="RF-BOND-A", name="瑞丰稳健债券A", kind="fund", issuer="瑞丰基金管理有限公司", level=2, min=1_000, step=1,
         open=True, start=1100, sfee=80, redeem=10, mfee=30, walk=(0.035, 4), desc=(
             "债券型证券投资基金，投资于债券资产的比例不低于基金资产的80%，以利率债和高等级信用债为主，不直接买入股票。"
             "申购费率0.8%（本行柜面），持有不满30天赎回费0.1%。")),
    dict(code="CM-VALUE-A", name="澄明价值优选混合A", kind="fund", issuer="澄明基金管理有限公司", level=3, min=1_000, step=1,
         open=True, start=900, sfee=150, redeem=50, mfee=120, walk=(0.06, 70), desc=(
             "混合型证券投资基金，股票资产占比60%-95%，坚持价值投资理念，重点关注消费、医药与先进制造。"
             "申购费率1.5%，持有不满一年赎回费0.5%。")),
    dict(code="BY-CSI500-A", name="博远中证500指数增强A", kind="fund", issuer="博远基金管理有限公司", level=4, min=1_000,
         step=1, open=True, start=800, sfee=120, redeem=50, mfee=100, walk=(0.05, 120), desc=(
             "股票型指数增强基金，以中证500指数为标的，投资于标的指数成份股及备选成份股的比例不低于非现金资产的80%，"
             "通过量化模型追求超越指数的收益。申购费率1.2%。")),
    dict(code="KN-ANN-10", name="康宁人寿·福满年年年金保险（分红型）", kind="insurance", issuer=INSURER, level=2,
         min=10_000, step=1_000, open=False, start=200, maturity=3650, term=3650, desc=(
             "年金保险（分红型），趸交，保险期间10年。自第6个保单年度起每年给付生存年金，满期给付满期保险金；"
             "另享有保险公司分红险账户的红利分配（不保证）。投保年龄：出生满28天至70周岁。")),
    dict(code="KN-ZE-LIFE", name="康宁人寿·鑫享一生增额终身寿险", kind="insurance", issuer=INSURER, level=2, min=20_000,
         step=1_000, open=False, start=150, maturity=365 * 80, term=365 * 80, desc=(
             "增额终身寿险，趸交，保险期间至被保险人终身。身故或全残保险金按有效保额给付，有效保额每年按3.0%复利递增；"
             "可申请减保领取（以现金价值为限）。投保年龄：出生满28天至75周岁。")),
    dict(code="HT-SX-PRIV01", name="汇通理财·私享臻选固收增强1号（私募）", kind="wealth", issuer=SUBSIDIARY, level=4,
         min=1_000_000, step=10_000, open=False, start=20, end=10, maturity=400, term=365, mfee=80, bench=420,
         private=True, walk=(0.04, 12), desc=(
             "私募理财产品，仅向合格投资者非公开募集，单一投资者认购起点100万元。投资于非标准化债权资产、优质信用债及"
             "不超过20%的权益资产，期限约一年，到期一次性兑付。")),
]

TD_SHELF = [  # the bank's own time deposits on the shelf, linked to the ledger's products (wealth_bootstrap)
    ("TD-3M", "T-3M", "整存整取定期存款（三个月）"),
    ("TD-1Y", "T-1Y", "整存整取定期存款（一年）"),
    ("TD-3Y", "T-3Y", "整存整取定期存款（三年）"),
]


def wealth_bootstrap(*, actor: Any) -> dict[str, int]:
    """What a new bank's shelf needs (idempotent; `manage.py wealth_bootstrap` runs it in production): the bank's
    own time deposits (three months, one year, three years) as shelf products linked to the ledger's time-deposit
    products, with their documents, submitted for putting on the shelf (a second person approves). Products that
    exist are left alone; a draft of ours that was never submitted is submitted. Needs the ledger's products
    (``ledger_bootstrap``)."""
    from django.utils.translation import gettext as _

    from bankcrm.core.errors import RuleViolation
    from bankcrm.ledger.models import Product

    from . import services
    from .models import WealthProduct

    missing = [lp for _c, lp, _n in TD_SHELF if not Product.objects.filter(code=lp, kind=Product.Kind.TIME).exists()]
    if missing:
        raise RuleViolation("ledger_not_bootstrapped", _("请先初始化存款产品（ledger_bootstrap）：缺少 %(p)s")
                            % {"p": "、".join(missing)})
    out = {"created": 0, "submitted": 0}
    today = timezone.localdate()
    with transaction.atomic():
        for code, ledger_code, name in TD_SHELF:
            p = WealthProduct.objects.filter(code=code).first()
            if p is None:
                lp = Product.objects.get(code=ledger_code)
                p = services.product_save(
                    actor=actor, code=code, name=name, kind="deposit", issuer="汇通银行", risk_level=0,
                    min_amount_fen=50 * W, step_fen=W, term_days=lp.term_months * 30, sales_start=today,
                    ledger_product_id=lp.pk, name_en=lp.name_en,
                    description=f"{name}：人民币50元起存，存期{lp.term_months}个月，到期按约定方式自动转存或转入结算账户。"
                                "通过理财货架购买时从客户本人活期账户扣款并开立定期存款账户。",
                    risk_disclosure=DEPOSIT_DISCLOSURE)
                out["created"] += 1
            if p.status == WealthProduct.Status.DRAFT:
                services.product_shelf_request(actor=actor, product_id=p.pk, action="on")
                out["submitted"] += 1
    return out


# ---- Helpers -----------------------------------------------------------------------------------------------------------
def _run(fn, **kw):
    with transaction.atomic():
        return fn(**kw)


def _age(c: Any, today: date) -> int:
    b = c.birth_date
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day)) if b else 0


def _answers_for(q: Any, level: int) -> dict[str, str]:
    """Answers to the active questionnaire that score within ``level``'s band (highest options first, greedily)."""
    from bankcrm.risk import rules_suitability as rules

    top = next(mx for mx, lv in q.bands if lv == level)
    low = {x["code"]: min(x["options"], key=lambda o: o["score"]) for x in q.questions}
    total = sum(o["score"] for o in low.values())
    answers = {k: o["code"] for k, o in low.items()}
    for x in q.questions:
        for o in sorted(x["options"], key=lambda o: -o["score"]):
            if total - low[x["code"]]["score"] + o["score"] <= top:
                total += o["score"] - low[x["code"]]["score"]
                answers[x["code"]] = o["code"]
                break
    if rules.level_for(rules.score(q.questions, answers), q.bands) != level:
        raise RuntimeError(f"questionnaire cannot score C{level}")
    return answers


class _Bank:
    """Who does what in the demo: tellers and supervisors per sub-branch, the customers' managers."""

    def __init__(self) -> None:
        from bankcrm.org.models import Staff

        def first(role: str, **kw) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for s in (Staff.objects.filter(is_active=True, employment_type="employee", role_assignments__role=role, **kw)
                      .select_related("branch").order_by("staff_no").distinct()):
                out.setdefault(s.branch.path, s)
            return out

        self.tellers = first("operations_manager")
        self.supervisors = first("branch_supervisor")

    def teller(self, path: str) -> Any:
        return next((t for p, t in sorted(self.tellers.items(), key=lambda x: -len(x[0])) if path.startswith(p)), None)

    def supervisor(self, path: str, exclude: Any = None) -> Any:
        for p, s in sorted(self.supervisors.items(), key=lambda x: -len(x[0])):
            if path.startswith(p) and s != exclude:
                return s
        return None


def _deposit(bank: _Bank, account: Any, amount_fen: int, memo: str) -> None:
    """A cash deposit at the counter; at or above the approval threshold the branch supervisor approves it."""
    from bankcrm.approvals.services import approval_approve
    from bankcrm.ledger import services as ledger

    teller = bank.teller(account.branch_path)
    with transaction.atomic():
        mv = ledger.cash_deposit_movement(actor=teller, account_id=account.pk, amount_fen=amount_fen, memo=memo)
        answer = ledger.movement_request(actor=teller, mv=mv, reason="客户本人到柜面办理，已核实身份及资金来源")
    if answer.get("status") == "pending_approval":
        _run(approval_approve, actor=bank.supervisor(account.branch_path, exclude=teller),
             pending_id=answer["approval_id"], reason="已核实客户身份与资金来源证明")


# ---- The seeder ---------------------------------------------------------------------------------------------------------
def _shelf(admin: Any, checker: Any) -> dict[str, Any]:
    from bankcrm.approvals.models import PendingAction
    from bankcrm.approvals.services import approval_approve

    from . import services
    from .models import WealthProduct

    today = timezone.localdate()
    wealth_bootstrap(actor=admin)
    for spec in SHELF:
        if WealthProduct.objects.filter(code=spec["code"]).exists():
            continue
        kind, level, private = spec["kind"], spec["level"], spec.get("private", False)
        disclosure = (_fund_disclosure(level, spec["issuer"]) if kind == "fund" else
                      _insurance_disclosure(spec["name"]) if kind == "insurance" else _wealth_disclosure(level, private))
        p = _run(services.product_save, actor=admin, code=spec["code"], name=spec["name"], kind=kind,
                 issuer=spec["issuer"], risk_level=level, min_amount_fen=spec["min"] * W, step_fen=spec["step"] * W,
                 open_ended=spec["open"], term_days=spec.get("term", 0), subscribe_fee_bp=spec.get("sfee", 0),
                 redeem_fee_bp=spec.get("redeem", 0), management_fee_bp=spec.get("mfee", 0),
                 benchmark_bp=spec.get("bench", 0), sales_start=today - timedelta(days=spec["start"]),
                 sales_end=today + timedelta(days=spec["end"]) if "end" in spec else None,
                 maturity_date=today + timedelta(days=spec["maturity"]) if "maturity" in spec else None,
                 private=private, description=spec["desc"], risk_disclosure=disclosure)
        _run(services.product_shelf_request, actor=admin, product_id=p.pk, action="on")
    for pa in PendingAction.objects.filter(status="pending", action_code="wealth.shelf_on").order_by("pk"):
        _run(approval_approve, actor=checker, pending_id=pa.pk, reason="产品资料齐全，风险评级与销售文件已核对")
    return {p.code: p for p in WealthProduct.objects.filter(status=WealthProduct.Status.ON_SHELF)}


def _navs(rng: random.Random, admin: Any, products: dict[str, Any], days: int = 120) -> int:
    """A seeded random walk per NAV-based product over the working days of the last ``days`` days (from the product's
    start if later), each value set through ``nav_set`` (one transaction per product)."""
    from bankcrm.core.workdays import calendar, is_working_day

    from . import services
    from .models import NAV_ONE

    holidays, makeup = calendar()
    today = timezone.localdate()
    spec = {s["code"]: s for s in SHELF}
    written = 0
    for code, p in sorted(products.items()):
        if not p.nav_based or code not in spec:
            continue
        drift, vol_bp = spec[code]["walk"]
        first = max(p.sales_start, today - timedelta(days=days))
        # A product launched within the window starts at 1.0000; an older one where its history has taken it.
        age_years = (first - p.sales_start).days / 365
        nav = 1.0 + drift * age_years + (rng.uniform(-0.03, 0.08) if vol_bp and age_years else 0.0)
        with transaction.atomic():
            d = first
            while d <= today:
                if is_working_day(d, holidays, makeup):  # NAVs are published on working days
                    if d != p.sales_start:  # launch day: 1.0000
                        nav *= 1 + drift / 250 + rng.gauss(0, vol_bp / 10_000)
                    value = max(1, round(nav * NAV_ONE)) if drift or vol_bp else NAV_ONE
                    services.nav_set(actor=admin, product_id=p.pk, nav_date=d, nav_x10000=value)
                    written += 1
                d += timedelta(days=1)
    return written


def seed_wealth(ctx: demo.SeedContext) -> None:
    from bankcrm.customers import services as customer_services
    from bankcrm.customers.models import ManagerAssignment
    from bankcrm.customers.selectors import has_consent
    from bankcrm.ledger.models import Account
    from bankcrm.org.models import Staff
    from bankcrm.risk import suitability

    from . import aum, services
    from .models import Holding, QualifiedInvestor, ReturnVisit, Sale

    started = clock.monotonic()
    rng = random.Random(f"wealth:{ctx.options.get('seed', 0)}")  # its own generator: the other seeders are unchanged
    admin = ctx.state.get("admin") or Staff.objects.filter(role_assignments__role="admin").order_by("staff_no").first()
    checker = (Staff.objects.filter(is_active=True, employment_type="employee", branch__parent__isnull=True,
                                    role_assignments__role="compliance_manager").order_by("staff_no").first())
    if admin is None or checker is None:
        ctx.out("  理财：缺少管理员或总行合规经理，跳过")
        return
    products = _shelf(admin, checker)
    navs = _navs(rng, admin, products)
    ctx.out(f"  理财货架 {len(products)} 个产品（银行理财R1–R5、公募基金、代理保险、定期存款、私募），"
            f"由 {admin.staff_no} 提交、{checker.staff_no} 复核上架；近120天净值 {navs} 条")

    bank = _Bank()
    today = timezone.localdate()
    now = timezone.now()
    q = suitability.questionnaire_active()
    # Customers: adults served by an employee customer manager, with an active CNY demand account at a branch that
    # has a teller.
    people = []
    for a in (ManagerAssignment.objects.filter(role="primary", ended_at__isnull=True, customer__kind="person",
                                               customer__status="active", staff__is_active=True,
                                               staff__employment_type="employee",
                                               staff__role_assignments__role="customer_manager")
              .select_related("customer__branch", "staff").order_by("customer_id").distinct()):
        c = a.customer
        acc = (Account.objects.filter(customer=c, kind="customer", status="active", currency="CNY",
                                      product__kind="demand").order_by("id").first())
        if acc is None or _age(c, today) < 18 or bank.teller(acc.branch_path) is None:
            continue
        people.append({"c": c, "cm": a.staff, "acc": acc, "age": _age(c, today)})
    if len(people) < 8 or q is None:
        ctx.out("  理财：演示客户不足，跳过销售")
        return

    def level_of(p: dict[str, Any]) -> int:
        cur = suitability.current_assessment(p["c"].pk)
        return cur.level if cur and cur.valid_until >= today else 0

    def ensure_level(p: dict[str, Any], level: int) -> int:
        """Reuse a valid assessment at ``level`` or above; otherwise the manager assesses the customer face to face."""
        have = level_of(p)
        if have >= level:
            return have
        _run(suitability.suitability_assess, actor=p["cm"], customer_id=p["c"].pk, answers=_answers_for(q, level),
             face_to_face=True)
        return level

    def available(p: dict[str, Any]) -> int:
        p["acc"].refresh_from_db()
        return p["acc"].available_fen

    # 1. The browser scenario: a customer of about 70, C4, funded, consenting to marketing — no wealth sales.
    elderly = sorted((p for p in people if 66 <= p["age"] <= 74),
                     key=lambda p: (p["cm"].staff_no != "CM001", abs(p["age"] - SCENARIO_AGE), p["c"].pk))
    scenario = elderly[0] if elderly else None
    if scenario is not None:
        people.remove(scenario)
        if level_of(scenario) != 4:
            _run(suitability.suitability_assess, actor=scenario["cm"], customer_id=scenario["c"].pk,
                 answers=_answers_for(q, 4), face_to_face=True)
        if not has_consent(scenario["c"], "marketing"):
            _run(customer_services.consent_grant, actor=scenario["cm"], customer_id=scenario["c"].pk,
                 purpose="marketing", channel="branch", evidence="营销联系同意书（网点签署）")
        need = 150_000 * W - available(scenario)
        if need > 0:
            _deposit(bank, scenario["acc"], -(-need // (1_000 * W)) * 1_000 * W, "现金存入")

    # 2. Wealthy customers: funds brought to the bank, qualified-investor tests.
    wealthy_pool = sorted((p for p in people if 35 <= p["age"] <= 64), key=lambda p: (-level_of(p), p["c"].pk))
    wealthy = wealthy_pool[:3]
    for p, amount, basis, evidence in zip(
            wealthy, (6_500_000, 1_600_000, 900_000),
            ("assets", "assets", "income"),
            ("金融资产证明（他行存款及证券账户对账单）", "个人金融资产证明（他行理财持仓证明）", "近三年个人所得税纳税记录"),
            strict=False):
        people.remove(p)
        p["level"] = ensure_level(p, 4)
        _deposit(bank, p["acc"], amount * W, "大额现金存入（售房款，已提供资金来源证明）")
        _run(services.qualified_investor_certify, actor=p["cm"], customer_id=p["c"].pk, basis=basis,
             experience_years=rng.choice([3, 5, 8]), evidence=evidence)

    seq = {"rec": 0}

    def sell(p: dict[str, Any], code: str, amount_yuan: int, *, confirm: bool = True, initiated: bool | None = None):
        prod = products[code]
        if initiated is None:
            initiated = not has_consent(p["c"], "marketing")
        s = _run(services.sale_propose, actor=p["cm"], customer_id=p["c"].pk, product_id=prod.pk,
                 account_id=p["acc"].pk, amount_fen=amount_yuan * W, customer_initiated=initiated)
        if not confirm:
            return s
        rec = {}
        if s.recording_required:
            seq["rec"] += 1
            rec = dict(recording_id=f"SL{today:%Y%m%d}{p['c'].branch.code}{seq['rec']:03d}",
                       recording_booth=f"{p['c'].branch.name}理财销售专区{1 + seq['rec'] % 2}号双录室",
                       recorded_at=now - timedelta(minutes=rng.randrange(10, 40)))
        return _run(services.sale_confirm, actor=p["cm"], sale_id=s.pk, disclosure_confirmed=True,
                    disclosure_method=rng.choice(["counter_signature", "counter_signature", "e_signature"]), **rec)

    def fits(p: dict[str, Any], code: str, amount_yuan: int) -> bool:
        prod = products[code]
        return (prod.risk_level <= p.get("level", level_of(p)) and amount_yuan * W >= prod.min_amount_fen
                and (amount_yuan * W - prod.min_amount_fen) % prod.step_fen == 0 and amount_yuan * W <= available(p))

    # Private product: one sale in cooling-off, one cancelled in it; the wealthy also buy other things.
    if len(wealthy) >= 2:
        sell(wealthy[0], "HT-SX-PRIV01", 1_000_000, initiated=True)
        cancelled = sell(wealthy[1], "HT-SX-PRIV01", 1_000_000, initiated=True)
        _run(services.sale_cancel, actor=wealthy[1]["cm"], sale_id=cancelled.pk,
             reason="客户冷静期内来电申请撤销，资金另有安排")
        sell(wealthy[0], "HT-QY-R4", 800_000)
        sell(wealthy[0], "KN-ZE-LIFE", 300_000)
        sell(wealthy[0], "TD-3Y", 2_000_000)
        sell(wealthy[1], "RF-BOND-A", 300_000)
        sell(wealthy[1], "TD-1Y", 500_000)
    if len(wealthy) >= 3:
        sell(wealthy[2], "CM-VALUE-A", 200_000)
        sell(wealthy[2], "KN-ANN-10", 100_000)

    # 3. Elderly customers buying R3 or insurance: the 双录 recording comes before the sale completes.
    seniors = [p for p in people if p["age"] >= 65 and level_of(p) != 1 and available(p) >= 12_000 * W][:3]
    for p in seniors:
        people.remove(p)
        p["level"] = level_of(p) or ensure_level(p, 3)  # a first assessment, face to face
        code = "CM-VALUE-A" if p["level"] >= 3 else "KN-ANN-10"
        amount = max(products[code].min_amount_fen, available(p) * 4 // 10 // (1_000 * W) * 1_000 * W) // W
        if fits(p, code, amount):
            sell(p, code, amount)

    # 4. Everyday sales: each customer buys one or two products that suit them, sized to their balance.
    menu = {1: ["HT-TTL01", "HY-MMF-A", "TD-3M", "TD-1Y"], 2: ["HT-WY90-2611", "RF-BOND-A", "KN-ANN-10", "TD-1Y"],
            3: ["HT-RX-R3", "CM-VALUE-A", "KN-ZE-LIFE"], 4: ["BY-CSI500-A", "HT-QY-R4"], 5: ["HT-KC-R5"]}
    eligible = [p for p in people if level_of(p) and available(p) >= 12_000 * W]
    rng.shuffle(eligible)
    waiting = [p for p in eligible if level_of(p) >= 2][:4]  # kept for the proposals below
    buyers = sorted([p for p in eligible if p not in waiting][:24], key=lambda p: p["c"].pk)
    for p in buyers:
        p["level"] = level_of(p)
        picks = rng.sample([c for lv in range(1, p["level"] + 1) for c in menu.get(lv, [])], k=rng.choice([1, 1, 2]))
        for code in picks:
            prod = products[code]
            budget = available(p) * rng.choice([20, 30, 40, 50]) // 100
            step = max(prod.step_fen, 1_000 * W)
            amount = max(prod.min_amount_fen, budget // step * step) // W
            if fits(p, code, amount):
                sell(p, code, amount)
    # A proposal withdrawn and three awaiting the customer's confirmation.
    for i, p in enumerate(waiting):
        code = "RF-BOND-A" if i % 2 else "HT-WY90-2611"
        p["level"] = level_of(p)
        amount = min(50_000, available(p) // (1_000 * W) * 1_000)
        if not fits(p, code, amount):
            continue
        s = sell(p, code, amount, confirm=False)
        if i == 0:
            _run(services.sale_withdraw, actor=p["cm"], sale_id=s.pk, reason="客户表示需与家人商量，暂不购买")

    # 5. Redemptions of open-ended holdings, and the bond fund's income distribution.
    redeemed = 0
    for h in list(Holding.objects.filter(status="active", deposit_account__isnull=True, product__open_ended=True,
                                         product__kind__in=["wealth", "fund"]).order_by("pk"))[::2][:3]:
        seller = Sale.objects.filter(customer_id=h.customer_id, product_id=h.product_id,
                                     status="settled").order_by("pk").first().seller
        _run(services.redemption_request, actor=seller, holding_id=h.pk,
             units_x100=max(1, h.units_x100 * rng.choice([30, 40, 50]) // 100))
        redeemed += 1
    dist: dict[str, int] = {}
    bond = products.get("RF-BOND-A")
    if bond is not None and Holding.objects.filter(product=bond, status="active").exists():
        dist = _run(services.distribution_run, actor=admin, product_id=bond.pk, record_date=today, per_unit_x10000=120)

    # 6. Return visits in every state, each by its assignee (never the seller).
    visits = list(ReturnVisit.objects.filter(status="open").select_related("assignee", "sale").order_by("pk"))
    attempts = params.value("wealth.return_visit_attempts")
    for i, v in enumerate(visits):
        kw = dict(actor=v.assignee, visit_id=v.pk)
        if i == 1:   # a problem: the customer did not understand the risk → a feedback case
            _run(services.return_visit_record, reached=True, understood_product=True, understood_risk=False,
                 voluntary=True, received_documents=True,
                 notes="客户称“以为和定期存款一样保本”，对净值可能下跌不了解，要求客户经理再次说明。", **kw)
        elif i == 2:  # unreachable after every attempt
            for _n in range(attempts):
                _run(services.return_visit_record, reached=False, notes="电话无人接听", **kw)
        elif i == 3:  # one failed attempt, still open
            _run(services.return_visit_record, reached=False, notes="客户正在开会，约定明天上午回电", **kw)
        elif i % 5 in (0, 4) and i < len(visits) - 4:
            _run(services.return_visit_record, reached=True, understood_product=True, understood_risk=True,
                 voluntary=True, received_documents=True, notes="客户确认了解产品及风险，系自愿购买，已收到产品文件。", **kw)

    # 7. Assets under management over the last 90 days.
    snapshots = aum.backfill(days=90)
    st = dict(Sale.objects.order_by().values_list("status").annotate(n=Count("id")))
    rv = {s: ReturnVisit.objects.filter(status=s).count() for s in ("open", "done", "unreachable")}
    ctx.out(f"  理财销售：成交 {st.get('settled', 0)} 笔（双录 {Sale.objects.exclude(recording_id='').count()} 笔），"
            f"私募冷静期中 {st.get('held', 0)} 笔，冷静期撤销 {st.get('cancelled', 0)} 笔，撤回 {st.get('withdrawn', 0)} 笔，"
            f"待客户确认 {st.get('proposed', 0)} 笔；赎回 {redeemed} 笔；"
            + (f"债券基金收益分配 1 次（{dist['paid']} 户）；" if dist else "") +
            f"合格投资者 {QualifiedInvestor.objects.count()} 名")
    ctx.out(f"  理财回访：待回访 {rv['open']}，已完成 {rv['done']}（其中发现问题 "
            f"{ReturnVisit.objects.filter(outcome='problem').count()} 件，已转反馈工单），无法联系 {rv['unreachable']}；"
            f"客户资产快照近90天 {snapshots:,} 条（{clock.monotonic() - started:.0f} 秒）")
    if scenario is not None:
        ctx.out(f"  演示场景（老年客户购买R3）：客户号 {scenario['c'].customer_no}（{scenario['age']}岁，C4，已同意营销，"
                f"活期可用 {available(scenario) // (10_000 * W)} 万元），由客户经理 {scenario['cm'].staff_no} 推介 R3 产品，"
                "确认时须录入双录编号；回访须由销售人员以外的员工完成")
    ctx.state["wealth_scenario_customer"] = scenario["c"].customer_no if scenario else None


demo.register("wealth", 45, seed_wealth)
