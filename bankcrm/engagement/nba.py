"""Next best action (issue #9): what each customer manager should do next for each customer, and why.

**Candidates.** Rules read what the bank knows about the customer; the propensity model adds its scores:

- a time deposit maturing within `engagement.maturity_window` days → renew it (a time deposit of the shelf, the same
  term first) or move it to steady wealth (R1–R2);
- an idle balance — available demand deposits of at least `engagement.idle_balance` → steady or balanced wealth;
- the needs profile's goals (养老 → insurance and steady wealth, 子女教育 → deposits and insurance, 购房 and
  流动性管理 → deposits and steady wealth, 财富增值 → balanced and growth wealth, 保障 → insurance);
- intents found in interaction notes, survey comments and service requests of the last `engagement.intent_window`
  days (养老, 留学, 子女教育, 理财, 保险, 存款 → the categories of `INTENT_CATEGORIES`); a complaint is not a sales
  lead, so intents found in complaints are not used, and a sentence said with negative sentiment weighs less
  (`NEGATIVE_INTENT_SCORE`: "不想承担太大风险" is a negative sentence about a real need; an explicit refusal — "不需要
  保险" — is no intent at all, the insight extraction drops it);
- the active propensity model's probability for each product category (`propensity.CATEGORIES`) — on its own when at
  least `engagement.model_floor` %, and as one more signal for the rules' products;
- a birthday within `engagement.birthday_window` days → a greeting task for the manager, no product (a greeting is
  customer care, not marketing: it needs no marketing consent).

Every rule names every on-sale product of its categories. A product's score combines its signals as independent
evidence (1 − ∏(1 − s)), with a rule weight per signal (`RULE_SCORES`) and the model's probability.

**Filters — always, for every product candidate, in this order:**

1. a customer with a sale held in its cooling-off period gets no product recommendation at all;
2. nothing the customer already holds (an active holding) or has an open proposal for;
3. the wealth point-of-sale decision (`wealth.services.facts` + `wealth.rules.decide`) for the customer's primary
   manager as seller, the product's minimum amount and ``customer_initiated=False`` — so marketing consent, the
   investor level against the product level, the assessment's validity, the product's shelf status and sales period,
   qualified-investor status for private products and the seller's privileges are all enforced; any violation drops
   the product (a 双录 recording still to be made is a requirement of the sale, not a refusal, as at proposal);
4. the customer can afford the minimum (available deposits in the product's currency, plus maturing time deposits).

Customers without marketing consent, minors and customers without an active primary manager get no product
candidates at all (the point-of-sale check would refuse every one of them; skipping them first saves the work).

**Ranking.** By score; per category only the best product (score, then the product whose risk level is closest to the
investor's, then the higher benchmark); at most `engagement.recommendations_max` per customer.

**Reasons.** Every recommendation carries its reasons in plain Chinese — the trigger ("定期存款7天后到期"), the
suitability fact ("风险等级C3 ≥ R2"), the note ("10月3日提到养老"), the model ("模型预测购买意向 42%（年龄50岁以上、
近期大额资金流入）") — and `_save` refuses one without a reason (code ``recommendation_reason_missing``).

**Lifecycle.** `recommendations_refresh` (the nightly job ``engagement.recommendations`` for every customer, or on
demand for one customer) keeps one open recommendation per customer and action: a candidate still valid is updated
in place, a new one is created valid for `engagement.recommendation_valid` days, and an open one that is no longer a
candidate (bought, consent withdrawn, assessment expired, deposit renewed …) or has passed its validity is expired.
An action declined within `engagement.decline_cooldown` days, or accepted within the validity period, is not
proposed again. `recommendation_decide` records the manager's accept or decline; accepting re-checks the product's
suitability, opens an opportunity at the proposal stage for the product and a follow-up task (the engagement
services), a greeting only the task. A recommendation converts when the customer buys its product within
`engagement.conversion_window` days of its creation (the ``wealth.sold`` consumer in `nba_consumers`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed

from . import propensity, segments
from .models import Recommendation

R, K = Recommendation.Status, Recommendation.Kind
CHUNK = 200
W = 100

RULE_SCORES = {K.MATURITY: 0.85, K.INTENT: 0.7, K.GOAL: 0.6, K.IDLE_BALANCE: 0.5, K.BIRTHDAY: 0.4}
ALTERNATIVE_SCORE = 0.6  # a maturing deposit moved to steady wealth instead of renewed
NEGATIVE_INTENT_SCORE = 0.45  # an intent in a sentence said with negative sentiment
NOT_LEADS = ("complaint",)  # insight sources whose intents are not followed up with a product
IGNORED_AT_RECOMMENDATION = ("suitability_recording_required",)  # a requirement of the sale, not a refusal

INTENT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "retirement": ("insurance", "steady"),
    "study_abroad": ("deposit", "steady"),
    "education": ("deposit", "insurance", "steady"),
    "wealth": ("steady", "balanced", "growth"),
    "insurance": ("insurance",),
    "deposit": ("deposit",),
}
GOAL_CATEGORIES: dict[str, tuple[str, ...]] = {
    "retirement": ("insurance", "steady"),
    "education": ("deposit", "insurance"),
    "housing": ("deposit", "steady"),
    "growth": ("balanced", "growth"),
    "liquidity": ("deposit", "steady"),
    "protection": ("insurance",),
}
CATEGORY_GOAL = {"deposit": "liquidity", "steady": "growth", "balanced": "growth", "growth": "growth",
                 "insurance": "protection"}
TITLES = {K.MATURITY: gettext_lazy("到期续作"), K.IDLE_BALANCE: gettext_lazy("闲置资金配置"),
          K.GOAL: gettext_lazy("需求匹配"), K.INTENT: gettext_lazy("意向跟进"), K.MODEL: gettext_lazy("精准推荐"),
          K.BIRTHDAY: gettext_lazy("生日关怀")}


def _now() -> datetime:
    return timezone.now()


# Within one refresh the figures in force at its start are read once (not once per customer).
_FIGURES: ContextVar[dict[str, int] | None] = ContextVar("nba_figures", default=None)


def figure(code: str) -> int:
    cache = _FIGURES.get()
    if cache is None:
        return params.value(code)
    if code not in cache:
        cache[code] = params.value(code)
    return cache[code]


@contextmanager
def figures_fixed() -> Iterator[None]:
    token = _FIGURES.set({})
    try:
        yield
    finally:
        _FIGURES.reset(token)


def _md(d: date) -> str:
    return _("%(m)d月%(d)d日") % {"m": d.month, "d": d.day}


def _wan(fen: int) -> str:
    """An amount in 万元 with up to two decimals (120000000 fen → 120万)."""
    v = fen / 1_000_000
    return f"{v:,.2f}".rstrip("0").rstrip(".")


# ---- What the rules read ----------------------------------------------------------------------------------------------
@dataclass
class Maturing:
    account_id: int
    maturity_date: date
    balance_fen: int
    currency: str
    ledger_product_id: int


@dataclass
class Facts:
    """Everything the rules read about one customer (loaded set-based for a chunk of customers)."""

    customer: Any
    manager: Any = None
    consent: bool = False
    level: int | None = None
    valid_until: date | None = None
    available: dict[str, int] = field(default_factory=dict)  # currency -> available demand deposits
    maturing: list[Maturing] = field(default_factory=list)
    intents: list[tuple[str, datetime, str]] = field(default_factory=list)  # (code, found_at, sentiment), newest first
    goals: list[str] = field(default_factory=list)
    held_products: set[int] = field(default_factory=set)
    cooling_off: bool = False
    segments: dict[str, Any] = field(default_factory=dict)
    model: tuple[dict[str, float], list[float]] | None = None
    blocked_actions: set[str] = field(default_factory=set)

    @property
    def age(self) -> int | None:
        return segments.age_on(self.customer.birth_date, timezone.localdate())


def on_sale_products(day: date) -> list[Any]:
    from django.db.models import Q

    from bankcrm.wealth.models import WealthProduct

    return list(WealthProduct.objects.filter(status=WealthProduct.Status.ON_SHELF, sales_start__lte=day)
                .filter(Q(sales_end__isnull=True) | Q(sales_end__gte=day)).select_related("ledger_product")
                .order_by("kind", "risk_level", "code"))


def load_facts(customer_ids: list[int], *, now: datetime, model: Any = None,
               scores: dict[int, Any] | None = None) -> dict[int, Facts]:
    """The rules' facts for a chunk of customers: a dozen queries, whatever the chunk's size. ``scores``: the model's
    scores computed beforehand for many customers at once (else they are computed for the chunk)."""
    from bankcrm.customers.models import Consent, Customer, ManagerAssignment
    from bankcrm.ledger.models import Account
    from bankcrm.risk.models import RiskProfile
    from bankcrm.wealth.models import Holding, Sale

    from .models import Insight, NeedsProfile

    today = timezone.localtime(now).date()
    out = {c.pk: Facts(customer=c) for c in Customer.objects.filter(pk__in=customer_ids).select_related("branch")}
    ids = list(out)
    for a in (ManagerAssignment.objects.filter(customer_id__in=ids, role="primary", ended_at__isnull=True,
                                               staff__is_active=True).select_related("staff__branch")):
        out[a.customer_id].manager = a.staff
    for cid in Consent.objects.filter(customer_id__in=ids, purpose="marketing", withdrawn_at__isnull=True).values_list(
            "customer_id", flat=True):
        out[cid].consent = True
    for cid, level, until in RiskProfile.objects.filter(customer_id__in=ids).values_list(
            "customer_id", "suitability_level", "suitability_valid_until"):
        out[cid].level, out[cid].valid_until = level, until
    window = today + timedelta(days=figure("engagement.maturity_window"))
    for a in Account.objects.filter(customer_id__in=ids, kind="customer", status="active").select_related("product"):
        f = out[a.customer_id]
        if a.product.kind == "demand":
            f.available[a.currency] = f.available.get(a.currency, 0) + max(a.available_fen, 0)
        elif a.product.kind == "time" and a.maturity_date and today <= a.maturity_date <= window and a.balance_fen > 0:
            f.maturing.append(Maturing(a.pk, a.maturity_date, a.balance_fen, a.currency, a.product_id))
    for cid, pid in Holding.objects.filter(customer_id__in=ids, status="active").values_list("customer_id",
                                                                                            "product_id"):
        out[cid].held_products.add(pid)
    for cid, pid, status, cool in Sale.objects.filter(customer_id__in=ids, status__in=["proposed", "held"]).values_list(
            "customer_id", "product_id", "status", "cooling_off_ends_at"):
        out[cid].held_products.add(pid)
        if status == "held" and cool is not None and cool > now:
            out[cid].cooling_off = True
    since = now - timedelta(days=figure("engagement.intent_window"))
    for cid, code, at, sentiment in (Insight.objects.filter(customer_id__in=ids, found_at__gte=since, found_at__lte=now)
                                     .exclude(source__in=NOT_LEADS).order_by("-found_at", "-id")
                                     .values_list("customer_id", "intent", "found_at", "sentiment")):
        out[cid].intents.append((code, at, sentiment))
    for cid, goals in NeedsProfile.objects.filter(customer_id__in=ids).values_list("customer_id", "goals"):
        out[cid].goals = [g for g in goals or [] if isinstance(g, str)]
    for cid, by_kind in segments.open_segments(ids).items():
        out[cid].segments = {k: {"code": s.code, "label": s.label} for k, s in by_kind.items()}
    cooldown = now - timedelta(days=figure("engagement.decline_cooldown"))
    valid = now - timedelta(days=figure("engagement.recommendation_valid"))
    for cid, action, status, at, converted in (Recommendation.objects.filter(
            customer_id__in=ids, status__in=[R.ACCEPTED, R.DECLINED], decided_at__gte=min(cooldown, valid))
            .values_list("customer_id", "action", "status", "decided_at", "converted")):
        if (status == R.DECLINED and at >= cooldown) or (status == R.ACCEPTED and at >= valid and not converted):
            out[cid].blocked_actions.add(action)
    if model is not None:
        if scores is None:
            people = [cid for cid, f in out.items() if f.customer.kind == "person"]
            scores = propensity.score(model, people, at=now)
        for cid in ids:
            if cid in scores:
                out[cid].model = scores[cid]
    return out


# ---- Candidates (pure given the facts) ------------------------------------------------------------------------------
@dataclass
class Signal:
    kind: str
    score: float
    reason: str
    code: str = ""  # the intent or goal code, the maturing account


@dataclass
class Candidate:
    action: str
    product: Any
    category: str
    signals: list[Signal]

    @property
    def score(self) -> float:
        miss = 1.0
        for s in self.signals:
            miss *= 1.0 - max(0.0, min(s.score, 0.999))
        return 1.0 - miss

    @property
    def top(self) -> Signal:
        return max(self.signals, key=lambda s: (s.score, s.kind != K.MODEL))


def product_action(product: Any) -> str:
    return f"product:{product.code}"[:40]


def candidates(f: Facts, products: list[Any], *, now: datetime, model: Any = None) -> list[Candidate]:
    """Every candidate the rules and the model name for one customer, before any filter."""
    from .insights import shipped

    today = timezone.localtime(now).date()
    by_cat: dict[str, list[Any]] = defaultdict(list)
    for p in products:
        by_cat[propensity.category_of(p.kind, p.risk_level, p.private)].append(p)
    signals: dict[int, list[Signal]] = defaultdict(list)
    product_of = {p.pk: p for p in products}

    def to(cats: tuple[str, ...], sig: Signal, only: Any = None) -> None:
        for cat in cats:
            for p in by_cat.get(cat, []):
                if only is None or only(p):
                    signals[p.pk].append(Signal(sig.kind, sig.score, sig.reason, sig.code))

    for m in f.maturing:
        days = (m.maturity_date - today).days
        reason = (_("定期存款今天到期（本金%(a)s万元）") % {"a": _wan(m.balance_fen)} if days == 0 else
                  _("定期存款%(n)d天后到期（%(d)s，本金%(a)s万元）") % {"n": days, "d": _md(m.maturity_date),
                                                           "a": _wan(m.balance_fen)})
        same = [p for p in by_cat.get("deposit", []) if p.ledger_product_id == m.ledger_product_id]
        to(("deposit",), Signal(K.MATURITY, RULE_SCORES[K.MATURITY], reason, str(m.account_id)),
           only=(lambda p, same=same: p in same) if same else None)
        if same:  # the other terms as renewal options, slightly less
            to(("deposit",), Signal(K.MATURITY, RULE_SCORES[K.MATURITY] - 0.1, reason, str(m.account_id)),
               only=lambda p, same=same: p not in same)
        to(("steady",), Signal(K.MATURITY, ALTERNATIVE_SCORE, reason, str(m.account_id)))
    idle = f.available.get("CNY", 0)
    if idle >= figure("engagement.idle_balance"):
        to(("steady", "balanced"), Signal(K.IDLE_BALANCE, RULE_SCORES[K.IDLE_BALANCE],
                                          _("活期可用余额%(a)s万元，资金闲置") % {"a": _wan(idle)}))
    try:
        dictionary = shipped()
    except Exception:  # the shipped dictionary only gives labels here
        dictionary = None
    seen: set[str] = set()
    for code, at, sentiment in f.intents:  # newest first: the latest mention of each intent
        if code in seen or code not in INTENT_CATEGORIES:
            continue
        seen.add(code)
        word = dictionary.label(code) if dictionary else code
        weight = NEGATIVE_INTENT_SCORE if sentiment == "neg" else RULE_SCORES[K.INTENT]
        to(INTENT_CATEGORIES[code], Signal(K.INTENT, weight, _("%(d)s提到%(w)s") % {
            "d": _md(timezone.localtime(at).date()), "w": word}, code))
    from .rules import goal_label

    for goal in f.goals:
        if goal in GOAL_CATEGORIES:
            to(GOAL_CATEGORIES[goal], Signal(K.GOAL, RULE_SCORES[K.GOAL],
                                             _("需求档案目标：%(g)s") % {"g": goal_label(goal)}, goal))
    if f.model is not None and model is not None:
        probs, row = f.model
        floor = figure("engagement.model_floor") / 100
        for cat, p in probs.items():
            why = propensity.drivers(model, cat, row)
            reason = (_("模型预测购买意向%(p)d%%（%(w)s）") % {"p": round(p * 100), "w": "、".join(why)} if why else
                      _("模型预测购买意向%(p)d%%") % {"p": round(p * 100)})
            sig = Signal(K.MODEL, p, reason)
            if p >= floor:
                to((cat,), sig)
            else:  # below the floor the model only adds to what a rule already named
                for prod in by_cat.get(cat, []):
                    if signals.get(prod.pk):
                        signals[prod.pk].append(Signal(K.MODEL, p, reason))
    out = [Candidate(product_action(product_of[pid]), product_of[pid],
                     propensity.category_of(product_of[pid].kind, product_of[pid].risk_level, product_of[pid].private),
                     sigs) for pid, sigs in signals.items()]
    birthday = next_birthday(f.customer.birth_date, today)
    if birthday is not None and (birthday - today).days <= figure("engagement.birthday_window"):
        age = segments.age_on(f.customer.birth_date, birthday)
        out.append(Candidate("greeting:birthday", None, "", [Signal(K.BIRTHDAY, RULE_SCORES[K.BIRTHDAY], (
            _("今天生日（%(a)d岁）") % {"a": age} if birthday == today else
            _("%(d)s生日（%(a)d岁）") % {"d": _md(birthday), "a": age}))]))
    return out


def next_birthday(birth: date | None, today: date) -> date | None:
    if birth is None:
        return None
    for year in (today.year, today.year + 1):
        try:
            d = birth.replace(year=year)
        except ValueError:  # 29 February
            d = date(year, 3, 1)
        if d >= today:
            return d
    return None


# ---- Filters ----------------------------------------------------------------------------------------------------------
def pos_decision(f: Facts, product: Any, *, seller: Any, now: datetime) -> Any:
    """The wealth point-of-sale decision for recommending ``product`` to the customer (not customer-initiated, at the
    product's minimum amount), ignoring only what is a requirement of the sale itself."""
    from bankcrm.wealth import rules as wealth_rules
    from bankcrm.wealth import services as wealth_services

    facts = wealth_services.facts(customer=f.customer, product=product, amount_fen=product.min_amount_fen,
                                  customer_initiated=False, seller=seller, recording=None, at=now)
    return wealth_rules.decide(facts).without(*IGNORED_AT_RECOMMENDATION)


def affordable(f: Facts, product: Any) -> bool:
    have = f.available.get(product.currency, 0) + sum(m.balance_fen for m in f.maturing
                                                      if m.currency == product.currency)
    return have >= product.min_amount_fen


def eligible_for_products(f: Facts) -> bool:
    c = f.customer
    age = f.age
    return (c.status == "active" and f.consent and f.manager is not None and not f.cooling_off
            and (c.kind != "person" or (age is not None and age >= 18)))


def suitability_reason(decision: Any, product: Any, f: Facts) -> list[str]:
    out = []
    if product.risk_level:
        out.append(_("风险等级C%(c)d ≥ R%(r)d（评估有效至%(d)s）") % {
            "c": decision.investor_level, "r": product.risk_level, "d": decision.valid_until})
    else:
        out.append(_("存款产品，不涉及风险等级"))
    req = decision.requirements or {}
    if req.get("recording"):
        out.append(_("客户已达老年客户年龄，销售时须加强风险揭示并双录"))
    if req.get("cooling_off_until"):
        out.append(_("私募产品，成交前设冷静期"))
    return out


@dataclass
class Chosen:
    candidate: Candidate
    reasons: list[str]
    decision: Any = None


def choose(f: Facts, cands: list[Candidate], *, now: datetime) -> list[Chosen]:
    """Filter (always), keep the best product per category, rank, cap."""
    chosen: list[Chosen] = []
    floor = figure("engagement.model_floor") / 100
    products_ok = eligible_for_products(f)
    by_category: dict[str, list[Candidate]] = defaultdict(list)
    for c in cands:
        if c.action in f.blocked_actions:
            continue
        if c.product is None:
            if f.manager is not None and f.customer.status == "active":
                chosen.append(Chosen(c, [s.reason for s in c.signals]))
            continue
        if not products_ok or c.product.pk in f.held_products or not affordable(f, c.product):
            continue
        if c.product.risk_level and (f.level is None or f.level < c.product.risk_level):
            continue  # the decision below would refuse it; no need to ask
        by_category[c.category].append(c)
    level = f.level or 0
    for _cat, group in sorted(by_category.items()):
        group.sort(key=lambda c: (-round(c.score, 6), abs(level - c.product.risk_level), -c.product.benchmark_bp,
                                  c.product.code))
        for c in group:  # the best product of the category that passes the point-of-sale check
            d = pos_decision(f, c.product, seller=f.manager, now=now)
            if not d.allowed:
                continue
            sigs = sorted(c.signals, key=lambda s: (s.kind == K.MODEL, -s.score))
            rule_reasons = list(dict.fromkeys(s.reason for s in sigs if s.kind != K.MODEL))
            # the model is named as a reason only at or above its floor (below it, it only adds to the score)
            model_reasons = [s.reason for s in sigs if s.kind == K.MODEL and s.score >= floor][:1]
            reasons = rule_reasons[:1] + suitability_reason(d, c.product, f) + rule_reasons[1:] + model_reasons
            chosen.append(Chosen(c, reasons, d))
            break
    chosen.sort(key=lambda ch: (-ch.candidate.score, ch.candidate.action))
    return chosen[:figure("engagement.recommendations_max")]


# ---- Writing ----------------------------------------------------------------------------------------------------------
def _title(c: Candidate, f: Facts) -> str:
    kind = c.top.kind
    if c.product is None:
        return str(_("生日关怀：%(n)s") % {"n": f.customer.name})[:120]
    return f"{TITLES[kind]}：{c.product.name}"[:120]


def _goal(c: Candidate) -> str:
    for s in sorted(c.signals, key=lambda s: -s.score):
        if s.kind == K.GOAL and s.code:
            return s.code
        if s.kind == K.INTENT and s.code in GOAL_CATEGORIES:
            return s.code
        if s.kind == K.INTENT and s.code == "study_abroad":
            return "education"
    return CATEGORY_GOAL.get(c.category, "growth")


def _save(rec: Recommendation, *, reasons: list[str]) -> Recommendation:
    """The one place a recommendation is written: refused without a reason in plain words."""
    clean = [str(r).strip() for r in reasons if str(r or "").strip()]
    if not clean:
        raise RuleViolation("recommendation_reason_missing", _("推荐必须说明理由"))
    rec.reasons = clean
    rec.full_clean(exclude=["customer", "product", "decided_by", "opportunity"], validate_unique=False,
                   validate_constraints=False)
    rec.save()
    return rec


def _apply(f: Facts, chosen: list[Chosen], *, now: datetime, open_recs: list[Recommendation]) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "expired": 0}
    valid_until = now + timedelta(days=figure("engagement.recommendation_valid"))
    current = {r.action: r for r in open_recs}
    wanted = {ch.candidate.action for ch in chosen}
    for r in open_recs:
        if r.action not in wanted or (r.expires_at is not None and r.expires_at <= now):
            r.status = R.EXPIRED
            r.save(update_fields=["status"])
            counts["expired"] += 1
            current.pop(r.action, None)
    tier = (f.segments.get("tier") or {}).get("code", "")
    for ch in chosen:
        c = ch.candidate
        rec = current.get(c.action)
        if rec is None:
            rec = Recommendation(customer=f.customer, action=c.action, status=R.OPEN, created_at=now,
                                 expires_at=valid_until)
            counts["created"] += 1
        else:
            counts["updated"] += 1
        rec.kind, rec.category, rec.product = c.top.kind, c.category, c.product
        rec.title = _title(c, f)
        rec.score = round(c.score, 6)
        rec.source = Recommendation.Source.MODEL if c.top.kind == K.MODEL else Recommendation.Source.RULE
        rec.segment = tier
        rec.segments = {k: v for k, v in f.segments.items()}
        rec.refreshed_at = now
        rec.detail = {"signals": [{"kind": s.kind, "score": round(s.score, 4), "code": s.code} for s in c.signals],
                      "goal": _goal(c) if c.product is not None else "",
                      "amount_fen": c.product.min_amount_fen if c.product is not None else 0,
                      "investor_level": getattr(ch.decision, "investor_level", None)}
        _save(rec, reasons=ch.reasons)
    return counts


def _refresh_chunk(ids: list[int], *, actor: Any, now: datetime, products: list[Any], model: Any,
                   scores: dict[int, Any] | None = None) -> dict[str, int]:
    totals = {"customers": 0, "created": 0, "updated": 0, "expired": 0, "kept": 0}
    with transaction.atomic():
        facts = load_facts(ids, now=now, model=model, scores=scores)
        open_by: dict[int, list[Recommendation]] = defaultdict(list)
        for r in Recommendation.objects.select_for_update().filter(customer_id__in=list(facts), status=R.OPEN):
            open_by[r.customer_id].append(r)
        for cid in sorted(facts):
            f = facts[cid]
            chosen = choose(f, candidates(f, products, now=now, model=model), now=now)
            try:
                with transaction.atomic():  # a savepoint: a concurrent refresh of the same customer wins, we retry
                    counts = _apply(f, chosen, now=now, open_recs=open_by.get(cid, []))
            except IntegrityError:
                fresh = list(Recommendation.objects.select_for_update().filter(customer_id=cid, status=R.OPEN))
                counts = _apply(f, chosen, now=now, open_recs=fresh)
            totals["customers"] += 1
            for k, v in counts.items():
                totals[k] += v
        totals["kept"] = totals["updated"]
        single = len(ids) == 1 and ids[0] in facts
        audit.record(actor=actor, verb="engagement.recommendations_refreshed",
                     target_type="customers.Customer" if single else "engagement.Recommendation",
                     target_id=ids[0] if single else "",
                     target_repr=facts[ids[0]].customer.audit_repr() if single else _("%(n)d 位客户") % {"n": len(facts)},
                     after={**totals, "model": model.version if model else None})
    return totals


def recommendations_refresh(*, actor: Any = None, customer_ids: Any = "all", now: datetime | None = None
                            ) -> dict[str, Any]:
    """Bring the open recommendations of the given customers (or of every active customer: ``"all"``) up to date.
    Staff refresh the customers they may see (``engagement.recommend``); everyone (``"all"``) is the nightly job
    (``actor`` None) or an administrator (``engagement.manage``). Each chunk of customers is one transaction with its
    audit event, so a run killed half-way and run again finishes the work without doing any twice."""
    from bankcrm.customers.models import Customer
    from bankcrm.customers.selectors import customer_get

    now = now or _now()
    if customer_ids == "all":
        if actor is not None:
            access.require(actor, "engagement.manage")
        ids = list(Customer.objects.filter(status=Customer.Status.ACTIVE).order_by("pk").values_list("pk", flat=True))
    else:
        if not isinstance(customer_ids, list | tuple | set) or not customer_ids:
            raise ValidationFailed("customers_required", _("请指定客户"))
        if actor is not None:
            access.require(actor, "engagement.recommend")
            ids = sorted({customer_get(actor, cid).pk for cid in customer_ids})
        else:
            ids = sorted({int(c) for c in customer_ids})
    model = propensity.active_model()
    products = on_sale_products(timezone.localtime(now).date())
    totals = {"customers": 0, "created": 0, "updated": 0, "expired": 0, "kept": 0}
    # Reasons and titles are stored text: always in the bank's language (Chinese), whatever the actor's UI language
    with figures_fixed(), translation.override(settings.LANGUAGE_CODE):
        # many customers: the model scores everyone in one set-based pass (grouped queries), not chunk by chunk
        scores = (propensity.score(model, None if customer_ids == "all" else ids, at=now)
                  if model is not None and len(ids) > CHUNK else None)
        for i in range(0, len(ids), CHUNK):
            for k, v in _refresh_chunk(ids[i:i + CHUNK], actor=actor, now=now, products=products, model=model,
                                       scores=scores).items():
                totals[k] += v
    # customers no longer active keep no open recommendation
    stale = Recommendation.objects.filter(status=R.OPEN).exclude(customer__status=Customer.Status.ACTIVE)
    if customer_ids == "all" and stale.exists():
        with transaction.atomic():
            n = stale.update(status=R.EXPIRED)
            totals["expired"] += n
            audit.record(actor=actor, verb="engagement.recommendations_refreshed",
                         target_type="engagement.Recommendation", target_repr=_("非正常状态客户的推荐"),
                         after={"expired": n})
    return {**totals, "model": model.version if model else None, "products": len(products)}


# ---- Deciding ---------------------------------------------------------------------------------------------------------
DECISIONS = ("accept", "decline")


def recommendations_visible(actor: Any) -> Any:
    from django.db.models import Exists, OuterRef

    from bankcrm.customers.models import Customer

    if not access.can(actor, "engagement.view"):
        return Recommendation.objects.none()
    return Recommendation.objects.filter(Exists(Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"))))


def recommendation_decide(*, actor: Any, recommendation_id: Any, decision: str, reason: str = "",
                          follow_up_on: date | None = None) -> Recommendation:
    """The customer manager accepts or declines an open recommendation. Accepting re-checks the product against the
    point-of-sale rules (for the actor as seller), opens an opportunity at the proposal stage and a follow-up task
    (due ``follow_up_on``, default in three days); a birthday greeting only gets the task. Declining keeps the reason.
    """
    from . import services

    access.require(actor, "engagement.recommend")
    if decision not in DECISIONS:
        raise ValidationFailed("decision_invalid", _("请选择采纳或拒绝"), fields={"decision": [_("请选择采纳或拒绝")]})
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise ValidationFailed("reason_too_long", _("原因最多200字"), fields={"reason": [_("原因最多200字")]})
    today = timezone.localdate()
    if follow_up_on is not None and (follow_up_on < today or follow_up_on > today + timedelta(days=366)):
        raise ValidationFailed("follow_up_on_invalid", _("跟进日期须在今天至一年以内"),
                               fields={"follow_up_on": [_("跟进日期须在今天至一年以内")]})
    now = _now()
    with transaction.atomic():
        rec = (recommendations_visible(actor).select_for_update().filter(pk=recommendation_id).first()
               if str(recommendation_id).isdigit() else None)
        if rec is None:
            raise NotFound("recommendation_not_found", _("推荐不存在或无权查看"))
        rec = Recommendation.objects.select_related("customer__branch", "product").get(pk=rec.pk)
        if rec.status != R.OPEN:
            raise RuleViolation("recommendation_not_open", _("该推荐已处理或已失效（%(s)s）") % {
                "s": rec.get_status_display()})
        if rec.expires_at is not None and rec.expires_at <= now:
            raise RuleViolation("recommendation_expired", _("该推荐已过有效期，请刷新推荐"))
        before = {"status": rec.status}
        if decision == "decline":
            rec.status, rec.decline_reason = R.DECLINED, reason[:200]
        else:
            if rec.product is not None:
                f = load_facts([rec.customer_id], now=now).get(rec.customer_id)
                if f is None or f.cooling_off or rec.product_id in f.held_products:
                    raise RuleViolation("recommendation_unsuitable", _("客户已持有该产品、已有在途申请或处于冷静期，不能采纳"))
                d = pos_decision(f, rec.product, seller=actor, now=now)
                if not d.allowed:
                    raise RuleViolation("recommendation_unsuitable", _("不能采纳：%(v)s") % {
                        "v": "；".join(str(m) for _c, m in d.violations)},
                        violations=[{"code": c, "message": str(m)} for c, m in d.violations])
                o = services.opportunity_create(
                    actor=actor, customer_id=rec.customer_id, goal=(rec.detail or {}).get("goal") or "growth",
                    title=rec.title, product_id=rec.product_id, amount_fen=(rec.detail or {}).get("amount_fen") or 0,
                    expected_close=follow_up_on)
                o = services.opportunity_move(actor=actor, opportunity_id=o.pk, stage="proposal")
                rec.opportunity = o
            services.task_create(actor=actor, title=str(_("跟进推荐：%(t)s") % {"t": rec.title})[:120],
                                 due_on=follow_up_on or today + timedelta(days=3), customer_id=rec.customer_id,
                                 source="recommendation", source_ref=f"recommendation:{rec.pk}")
            rec.status = R.ACCEPTED
            if reason:
                rec.decline_reason = ""
        rec.decided_by, rec.decided_at = actor, now
        rec.save(update_fields=["status", "decline_reason", "decided_by", "decided_at", "opportunity"])
        audit.record(actor=actor, verb="engagement.recommendation_decided", target=rec.customer, before=before,
                     after={"recommendation": rec.pk, "action": rec.action, "status": rec.status,
                            "opportunity": rec.opportunity_id, "follow_up_on": follow_up_on}, reason=reason)
    return rec


# ---- Conversion -------------------------------------------------------------------------------------------------------
def conversions_record(sales: list[dict[str, Any]]) -> int:
    """Mark as converted the recommendations of each sold product made within `engagement.conversion_window` days
    before the sale (the ``wealth.sold`` consumer's unit of work; idempotent: converted ones are left alone)."""
    n = 0
    window = timedelta(days=figure("engagement.conversion_window"))
    for s in sales:
        at = s["settled_at"]
        n += (Recommendation.objects.filter(customer_id=s["customer_id"], product_id=s["product_id"], converted=False,
                                            created_at__lte=at, created_at__gte=at - window)
              .update(converted=True, converted_at=at, converted_sale_id=s["sale_id"]))
    return n
