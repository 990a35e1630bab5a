"""The propensity model (issue #9): who is likely to buy what, learned offline from the bank's own sales.

**What is predicted.** One logistic regression per product *category* (`CATEGORIES`), the unit the next-best-action
recommends from: time deposits (``deposit``), steady wealth and funds R1–R2 (``steady``), balanced R3 (``balanced``),
growth R4–R5 including private products (``growth``) and insurance sold as agent (``insurance``). The label of a
customer for a category is 1 when the customer has a settled `wealth.Sale` of a product of that category.

**Who and when.** Natural persons who are not closed or restricted and are adults. Each customer is described as of
a cut-off time: for a buyer, the settlement of their first purchase; for everyone else, the training time. Features
only use what was known before the cut-off: ledger-derived figures up to the end of the previous business day
(business date < the cut-off's date), assessments, interaction insights and sales strictly before the cut-off time.

**Features** (`FEATURES`, then one column per behaviour cluster of the latest `ClusterModel` and one per intent found
in interaction notes): age (in decades) and the bands 50+ and under 35; the investor level of the assessment valid
at the cut-off (0 when none); assets (deposits + wealth) and deposits (log yuan) and whether the assets reach the
affluent tier; the RFM figures over the last 12 months (log days since the last own entry, log count, log amount);
the cash share of that activity; large inflows of the last `engagement.inflow_window` days (log yuan of credits of
at least `engagement.large_inflow`, not counting interest, maturities, reversals or transfers between the customer's
own accounts); a time deposit maturing within `engagement.maturity_window` days; the behaviour cluster the customer's
features fall in; and, for each intent of the insight dictionary (养老, 留学, 理财 …), whether a note of the last
`engagement.intent_window` days mentions it (interaction notes, survey comments and requests; not complaints — the
same insights the next best action follows up).

**Training and evaluation.** Features are standardised (train mean and deviation), then ``LogisticRegression`` (lbfgs,
C = 1, fixed ``random_state``: deterministic) is fitted per category on the training customers; a category with
fewer than `MIN_POSITIVES` buyers in training gets no regression (its score is its training purchase rate). The
held-out split is fixed by customer id: a customer is in the test set when the SHA-256 of their id falls in the
lowest 30 % (`in_test`), whatever the seed. The figures are pooled ROC AUCs over every (test customer, category)
pair: the model's probabilities against the **popularity baseline within segment** — each category's purchase rate
among training customers of the same value tier (mass / affluent or above), the same score for everyone in a tier —
which is stored as ``auc_baseline``; the plain popularity baseline (the category's overall purchase rate, the same for
everyone) and per-category AUCs are kept in ``figures``. A new model becomes the active one only if it beats the
within-segment baseline; otherwise it is stored, inactive, and the previous model stays in use.

Scoring (`score`) needs no scikit-learn: the stored means, deviations, coefficients and intercepts give each
category's probability, and `drivers` names the features that pushed a score up, in plain Chinese.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params

from . import segments
from .models import ClusterModel, PropensityModel

SEED = 20261128
TEST_SHARE = 30  # percent of customers held out, by a hash of their id
MIN_POSITIVES = 3
W = 100

CATEGORIES: dict[str, Any] = {
    "deposit": gettext_lazy("定期存款"),
    "steady": gettext_lazy("稳健理财（R1–R2）"),
    "balanced": gettext_lazy("平衡理财（R3）"),
    "growth": gettext_lazy("进取理财（R4–R5）"),
    "insurance": gettext_lazy("保险保障"),
}


def category_of(kind: str, risk_level: int, private: bool = False) -> str:
    """The category of a shelf product (`wealth.WealthProduct` kind and risk level)."""
    if kind == "deposit":
        return "deposit"
    if kind == "insurance":
        return "insurance"
    if private or risk_level >= 4:
        return "growth"
    return "balanced" if risk_level == 3 else "steady"


# code, why when above average (positive weight), why when below average (negative weight; None: not said), label
FEATURES: list[tuple[str, Any, Any, Any]] = [
    ("age", gettext_lazy("年龄较大"), gettext_lazy("年龄较轻"), gettext_lazy("年龄（十岁）")),
    ("age_50plus", gettext_lazy("年龄50岁以上"), None, gettext_lazy("50岁及以上")),
    ("age_under35", gettext_lazy("年龄35岁以下"), None, gettext_lazy("35岁以下")),
    ("level", gettext_lazy("风险承受能力较高"), gettext_lazy("风险偏好稳健"), gettext_lazy("风险承受能力等级（未评估为0）")),
    ("aum", gettext_lazy("资产规模较大"), None, gettext_lazy("资产（元，对数）")),
    ("deposits", gettext_lazy("存款余额较高"), None, gettext_lazy("存款（元，对数）")),
    ("affluent", gettext_lazy("富裕及以上客户"), None, gettext_lazy("资产达到富裕客户标准")),
    ("recency", gettext_lazy("较久未交易"), gettext_lazy("近期有交易"), gettext_lazy("距最近交易天数（对数）")),
    ("frequency", gettext_lazy("交易频繁"), None, gettext_lazy("近12个月交易笔数（对数）")),
    ("monetary", gettext_lazy("交易金额较大"), None, gettext_lazy("近12个月交易金额（元，对数）")),
    ("cash_share", gettext_lazy("现金交易为主"), None, gettext_lazy("现金交易金额占比")),
    ("inflow", gettext_lazy("近期大额资金流入"), None, gettext_lazy("近期大额流入（元，对数）")),
    ("td_maturing", gettext_lazy("定期存款即将到期"), None, gettext_lazy("定期存款即将到期")),
]
BASE_CODES = [c for c, _h, _lo, _l in FEATURES]


# ---- Pure helpers ---------------------------------------------------------------------------------------------------
def in_test(customer_id: int) -> bool:
    """The fixed held-out split: by a hash of the customer id alone (not the seed), about `TEST_SHARE` %."""
    h = int(hashlib.sha256(str(customer_id).encode()).hexdigest()[:8], 16)
    return h % 100 < TEST_SHARE


def sigmoid(v: float) -> float:
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


def auc(labels: list[int], scores: list[float]) -> float | None:
    """ROC AUC (ties count half); None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if len(set(labels)) < 2:
        return None
    return float(roc_auc_score(labels, scores))


@dataclass
class Dataset:
    ids: list[int]
    feature_codes: list[str]
    x: list[list[float]]
    y: dict[str, list[int]]  # category -> labels aligned with ids
    tier: list[str]  # "mass" / "affluent" per customer (the baseline's segment)
    cut: dict[int, datetime]


def fit(ds: Dataset, *, seed: int) -> dict[str, Any]:
    """Standardise, fit one regression per category on the training customers, evaluate on the held-out ones.
    Returns what a `PropensityModel` stores. Pure given the dataset and seed (no database, no network)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array(ds.x, dtype=float) if ds.x else np.zeros((0, len(ds.feature_codes)))
    test = np.array([in_test(c) for c in ds.ids], dtype=bool)
    train = ~test
    mean = x[train].mean(axis=0) if train.any() else np.zeros(x.shape[1])
    scale = x[train].std(axis=0) if train.any() else np.ones(x.shape[1])
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    tiers = np.array(ds.tier)
    models: dict[str, Any] = {}
    pooled_y: list[int] = []
    pooled_model: list[float] = []
    pooled_tier: list[float] = []
    pooled_global: list[float] = []
    per: dict[str, Any] = {}
    for cat in CATEGORIES:
        y = np.array(ds.y.get(cat, [0] * len(ds.ids)), dtype=int)
        ytr = y[train]
        base = float(ytr.mean()) if len(ytr) else 0.0
        by_tier = {t: (float(ytr[tiers[train] == t].mean()) if (tiers[train] == t).any() else base)
                   for t in ("mass", "affluent")}
        entry: dict[str, Any] = {"base_rate": base, "tier_rates": by_tier, "n_pos_train": int(ytr.sum()),
                                 "n_pos_test": int(y[test].sum())}
        if ytr.sum() >= MIN_POSITIVES and ytr.sum() < len(ytr):
            lr = LogisticRegression(C=1.0, solver="lbfgs", max_iter=2000, random_state=seed).fit(z[train], ytr)
            entry["coef"] = [float(v) for v in lr.coef_[0]]
            entry["intercept"] = float(lr.intercept_[0])
            p_test = lr.predict_proba(z[test])[:, 1] if test.any() else np.zeros(0)
        else:
            entry["coef"], entry["intercept"] = None, None
            p_test = np.full(int(test.sum()), base)
        yte = y[test].tolist()
        tier_scores = [by_tier[t] for t in tiers[test]]
        entry["auc_model"] = auc(yte, p_test.tolist())
        entry["auc_baseline"] = auc(yte, tier_scores)
        pooled_y += yte
        pooled_model += p_test.tolist()
        pooled_tier += tier_scores
        pooled_global += [base] * len(yte)
        models[cat] = entry
        per[cat] = {k: entry[k] for k in ("n_pos_train", "n_pos_test", "auc_model", "auc_baseline", "base_rate")}
    return {
        "scaler": {"mean": mean.tolist(), "scale": scale.tolist()}, "categories": models,
        "auc_model": auc(pooled_y, pooled_model), "auc_baseline": auc(pooled_y, pooled_tier),
        "auc_global_baseline": auc(pooled_y, pooled_global), "per_category": per,
        "n_train": int(train.sum()), "n_test": int(test.sum()),
    }


def score_row(coefficients: dict[str, Any], row: list[float]) -> dict[str, float]:
    """{category: probability} for one feature row of a stored model."""
    mean, scale = coefficients["scaler"]["mean"], coefficients["scaler"]["scale"]
    z = [(v - m) / s for v, m, s in zip(row, mean, scale, strict=True)]
    out = {}
    for cat, m in coefficients["categories"].items():
        if m.get("coef") is None:
            out[cat] = float(m["base_rate"])
        else:
            out[cat] = sigmoid(m["intercept"] + sum(c * v for c, v in zip(m["coef"], z, strict=True)))
    return out


def drivers(model: PropensityModel, category: str, row: list[float], *, top: int = 2) -> list[str]:
    """The features that pushed this customer's score for ``category`` up the most, as plain Chinese."""
    m = model.coefficients["categories"].get(category) or {}
    if m.get("coef") is None:
        return []
    mean, scale = model.coefficients["scaler"]["mean"], model.coefficients["scaler"]["scale"]
    parts = []
    for i, (c, v, mu, s) in enumerate(zip(m["coef"], row, mean, scale, strict=True)):
        contribution = c * (v - mu) / s
        if contribution <= 0.1:
            continue
        why = model.features[i].get("why") if v > mu else model.features[i].get("why_low")
        if why:
            parts.append((contribution, i, why))
    parts.sort(key=lambda t: (-t[0], t[1]))
    return [why for _c, _i, why in parts[:top]]


# ---- Reading the facts (set-based) ----------------------------------------------------------------------------------
def intent_label(code: str) -> str:
    """The Chinese word of an intent code of the insight dictionary (养老 for retirement); the code if unknown."""
    try:
        from .insights import shipped

        return next((i.label for i in shipped().intents if i.code == code), code)
    except Exception:  # the dictionary is optional for scoring; an unreadable one must not stop it
        return code


def _intent_codes() -> list[str]:
    from .models import Insight

    return sorted(set(Insight.objects.order_by().values_list("intent", flat=True).distinct()))


def feature_spec(cluster_model: ClusterModel | None, intents: list[str]) -> list[dict[str, str]]:
    spec = [{"code": c, "why": str(high), "why_low": str(low) if low else "", "label": str(lab)}
            for c, high, low, lab in FEATURES]
    if cluster_model is not None:
        for lab in cluster_model.labels:
            spec.append({"code": f"cluster:{lab['code']}", "why": _("行为分群：%(l)s") % {"l": lab["label"]},
                         "why_low": "", "label": _("行为分群：%(l)s") % {"l": lab["label"]}})
    for intent in intents:
        word = intent_label(intent)
        spec.append({"code": f"intent:{intent}", "why": _("提到%(i)s") % {"i": word}, "why_low": "",
                     "label": _("互动记录提到“%(i)s”") % {"i": word}})
    return spec


def _deposits_before(cut_day: dict[int, date], ids: list[int] | None) -> dict[int, int]:
    """CNY fen on each customer's accounts at the end of the day before their cut-off day: the balance now less the
    postings dated on or after that day (grouped by business date)."""
    from bankcrm.ledger.models import Posting

    now = segments.current_deposits(ids)
    if not cut_day:
        return now
    lo = min(cut_day.values())
    to_cny = segments.cny_converter(timezone.localdate())
    later = Posting.objects.filter(account__kind="customer", account__customer_id__isnull=False, business_date__gte=lo)
    if ids is not None:
        later = later.filter(account__customer_id__in=ids)
    later = (later.order_by().values("account__customer_id", "account__currency", "side", "business_date")
             .annotate(s=Sum("amount_fen")))
    out = dict(now)
    for r in later:
        cid = r["account__customer_id"]
        d = cut_day.get(cid)
        if d is None or r["business_date"] < d:
            continue
        delta = to_cny(int(r["s"] or 0), r["account__currency"])
        out[cid] = out.get(cid, 0) - (delta if r["side"] == "C" else -delta)
    return out


def _wealth_before(cut: dict[int, datetime], ids: list[int] | None) -> dict[int, int]:
    """Wealth (not deposits) bought before the cut-off, less what was redeemed before it: CNY fen of cost."""
    from bankcrm.wealth.models import Redemption, Sale

    to_cny = segments.cny_converter(timezone.localdate())
    out: dict[int, int] = defaultdict(int)
    sales = Sale.objects.filter(status="settled").exclude(product__kind="deposit").order_by()
    redemptions = Redemption.objects.order_by()
    if ids is not None:
        sales, redemptions = sales.filter(customer_id__in=ids), redemptions.filter(holding__customer_id__in=ids)
    for cid, amount, cur, at in sales.values_list("customer_id", "amount_fen", "product__currency", "settled_at"):
        if cid in cut and at < cut[cid]:
            out[cid] += to_cny(amount, cur)
    for cid, gross, cur, at in redemptions.values_list(
            "holding__customer_id", "gross_fen", "holding__product__currency", "created_at"):
        if cid in cut and at < cut[cid]:
            out[cid] -= to_cny(gross, cur)
    return dict(out)


def _inflows_before(cut_day: dict[int, date], days: int, threshold_fen: int) -> dict[int, int]:
    """CNY fen of large credits to each customer's accounts in the ``days`` before their cut-off day."""
    from bankcrm.ledger.models import Posting

    if not cut_day:
        return {}
    lo, hi = min(cut_day.values()) - timedelta(days=days), max(cut_day.values())
    to_cny = segments.cny_converter(timezone.localdate())
    rows = (Posting.objects.filter(side="C", account__kind="customer", account__customer_id__isnull=False,
                                   business_date__gte=lo, business_date__lt=hi, amount_fen__gte=threshold_fen // 20)
            .exclude(entry__kind__in=["interest", "maturity", "reversal", "closing"])
            .exclude(Q(entry__kind="internal") & Q(entry__customer_id=F("account__customer_id")))
            .order_by().values_list("account__customer_id", "account__currency", "business_date", "amount_fen"))
    out: dict[int, int] = defaultdict(int)
    for cid, cur, day, amount in rows:
        d = cut_day.get(cid)
        if d is None or not (d - timedelta(days=days) <= day < d):
            continue
        cny = to_cny(amount, cur)
        if cny >= threshold_fen:
            out[cid] += cny
    return dict(out)


def _maturing(cut_day: dict[int, date], days: int) -> set[int]:
    from bankcrm.ledger.models import Account

    if not cut_day:
        return set()
    lo, hi = min(cut_day.values()), max(cut_day.values()) + timedelta(days=days)
    out = set()
    for cid, maturity, opened in (Account.objects.filter(kind="customer", product__kind="time", status="active",
                                                         maturity_date__gte=lo, maturity_date__lte=hi)
                                  .order_by().values_list("customer_id", "maturity_date", "opened_at")):
        d = cut_day.get(cid)
        if d is not None and d <= maturity <= d + timedelta(days=days) and timezone.localtime(opened).date() < d:
            out.add(cid)
    return out


def _levels(cut: dict[int, datetime], ids: list[int] | None) -> dict[int, int]:
    """The investor level of the assessment valid at each customer's cut-off (latest assessed before it)."""
    from bankcrm.risk.models import SuitabilityAssessment

    hi = max(cut.values()) if cut else timezone.now()
    best: dict[int, tuple[datetime, int, date]] = {}
    qs = SuitabilityAssessment.objects.filter(assessed_at__lt=hi).order_by()
    if ids is not None:
        qs = qs.filter(customer_id__in=ids)
    for cid, level, at, until in qs.values_list("customer_id", "level", "assessed_at", "valid_until"):
        c = cut.get(cid)
        if c is None or at >= c:
            continue
        if cid not in best or at > best[cid][0]:
            best[cid] = (at, level, until)
    return {cid: level for cid, (_at, level, until) in best.items() if until >= timezone.localtime(cut[cid]).date()}


def _intents(cut: dict[int, datetime], days: int) -> dict[int, set[str]]:
    from .models import Insight

    if not cut:
        return {}
    lo, hi = min(cut.values()) - timedelta(days=days), max(cut.values())
    out: dict[int, set[str]] = defaultdict(set)
    for cid, intent, at in (Insight.objects.filter(found_at__gte=lo, found_at__lt=hi).exclude(source="complaint")
                            .order_by().values_list("customer_id", "intent", "found_at")):
        c = cut.get(cid)
        if c is not None and c - timedelta(days=days) <= at < c:
            out[cid].add(intent)
    return dict(out)


def feature_matrix(cut: dict[int, datetime], births: dict[int, date | None], *, spec: list[dict[str, str]],
                   cluster_model: ClusterModel | None) -> tuple[dict[int, list[float]], dict[int, str]]:
    """One feature row per customer as of their cut-off (see the module docstring), and their value tier."""
    cut_day = {c: timezone.localtime(t).date() for c, t in cut.items()}
    ids = sorted(cut) if len(cut) <= segments.CHUNK else None  # a few customers (scoring on demand): narrow the reads
    deposits = _deposits_before(cut_day, ids)
    wealth = _wealth_before(cut, ids)
    inflows = _inflows_before(cut_day, params.value("engagement.inflow_window"), params.value("engagement.large_inflow"))
    maturing = _maturing(cut_day, params.value("engagement.maturity_window"))
    levels = _levels(cut, ids)
    intents = _intents(cut, params.value("engagement.intent_window"))
    acts = segments.activity(end=cut_day, months=params.value("engagement.rfm_window"), customer_ids=ids)
    affluent = params.value("wealth.tier.affluent")
    codes = [s["code"] for s in spec]
    rows: dict[int, list[float]] = {}
    tiers: dict[int, str] = {}
    for cid in cut:
        day = cut_day[cid]
        age = segments.age_on(births.get(cid), day) or 0
        dep = max(deposits.get(cid, 0), 0)
        aum = dep + max(wealth.get(cid, 0), 0)
        a = acts.get(cid) or segments.Activity()
        recency = (day - a.last).days if a.last else segments.window_days(12)
        values = {
            "age": age / 10, "age_50plus": float(age >= 50), "age_under35": float(age < 35),
            "level": float(levels.get(cid, 0)), "aum": math.log1p(aum / W), "deposits": math.log1p(dep / W),
            "affluent": float(aum >= affluent), "recency": math.log1p(recency), "frequency": math.log1p(a.n),
            "monetary": math.log1p(max(a.amount_fen, 0) / W),
            "cash_share": a.cash_fen / a.amount_fen if a.amount_fen > 0 else 0.0,
            "inflow": math.log1p(inflows.get(cid, 0) / W), "td_maturing": float(cid in maturing),
        }
        if cluster_model is not None:
            behaviour = [math.log1p(a.n_cash), math.log1p(a.n_transfer), math.log1p(a.n_wealth),
                         math.log1p(max(a.amount_fen, 0) / W), values["cash_share"],
                         a.xborder_fen / a.amount_fen if a.amount_fen > 0 else 0.0, values["deposits"],
                         (aum - dep) / aum if aum > 0 else 0.0, float(min(age // 10, 9))]
            code, _label = segments.assign_cluster(cluster_model, behaviour)
            values[f"cluster:{code}"] = 1.0
        for intent in intents.get(cid, ()):
            values[f"intent:{intent}"] = 1.0
        rows[cid] = [float(values.get(c, 0.0)) for c in codes]
        tiers[cid] = "affluent" if aum >= affluent else "mass"
    return rows, tiers


def _people(customer_ids: list[int] | None = None) -> dict[int, date | None]:
    from bankcrm.customers.models import Customer

    qs = Customer.objects.filter(status=Customer.Status.ACTIVE, kind=Customer.Kind.PERSON).order_by()
    if customer_ids is not None:
        qs = qs.filter(pk__in=customer_ids)
    return dict(qs.values_list("pk", "birth_date"))


def dataset(*, at: datetime | None = None) -> tuple[Dataset, list[dict[str, str]], ClusterModel | None]:
    """The training data from the bank's history (see the module docstring)."""
    from bankcrm.wealth.models import Sale

    at = at or timezone.now()
    births = _people()
    bought: dict[int, set[str]] = defaultdict(set)
    first: dict[int, datetime] = {}
    for cid, kind, level, private, settled in (Sale.objects.filter(status="settled", settled_at__lte=at).order_by()
                                               .values_list("customer_id", "product__kind", "product__risk_level",
                                                            "product__private", "settled_at")):
        if cid not in births:
            continue
        bought[cid].add(category_of(kind, level, private))
        if cid not in first or settled < first[cid]:
            first[cid] = settled
    cut = {cid: first.get(cid, at) for cid in births}
    adults = {cid for cid, t in cut.items()
              if (segments.age_on(births[cid], timezone.localtime(t).date()) or 0) >= 18}
    cut = {c: t for c, t in cut.items() if c in adults}
    cluster_model = ClusterModel.objects.order_by("-version").first()
    spec = feature_spec(cluster_model, _intent_codes())
    rows, tiers = feature_matrix(cut, births, spec=spec, cluster_model=cluster_model)
    ids = sorted(rows)
    ds = Dataset(ids=ids, feature_codes=[s["code"] for s in spec], x=[rows[c] for c in ids],
                 y={cat: [int(cat in bought.get(c, ())) for c in ids] for cat in CATEGORIES},
                 tier=[tiers[c] for c in ids], cut=cut)
    return ds, spec, cluster_model


# ---- The service ----------------------------------------------------------------------------------------------------
def propensity_train(*, actor: Any = None, seed: int = SEED) -> PropensityModel:
    """Train the propensity model on the bank's own history and store it with its held-out figures; it becomes the
    active model only if it beats the within-segment popularity baseline. ``actor`` None is the command or job;
    staff need ``engagement.manage``. Deterministic for the same data and seed; needs no network."""
    if actor is not None:
        access.require(actor, "engagement.manage")
    at = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):  # the stored explanations are Chinese text
        ds, spec, cluster_model = dataset(at=at)
    result = fit(ds, seed=seed)
    beats = (result["auc_model"] is not None and result["auc_baseline"] is not None
             and result["auc_model"] > result["auc_baseline"])
    with transaction.atomic():
        version = (PropensityModel.objects.select_for_update().aggregate(v=Max("version"))["v"] or 0) + 1
        if beats:
            PropensityModel.objects.filter(active=True).update(active=False)
        m = PropensityModel.objects.create(
            version=version, seed=seed, features=spec,
            coefficients={"scaler": result["scaler"], "categories": result["categories"]},
            auc_model=result["auc_model"] if result["auc_model"] is not None else 0.0,
            auc_baseline=result["auc_baseline"] if result["auc_baseline"] is not None else 0.0,
            n_train=result["n_train"], n_test=result["n_test"], trained_at=at, active=beats,
            figures={"auc_global_baseline": result["auc_global_baseline"], "per_category": result["per_category"],
                     "baseline": "popularity within value tier (mass / affluent and above)",
                     "split": f"sha256(customer id) % 100 < {TEST_SHARE}", "cut": "first settled purchase, else now",
                     "positives": {c: sum(v) for c, v in ds.y.items()}, "customers": len(ds.ids),
                     "cluster_model": cluster_model.version if cluster_model else None})
        audit.record(actor=actor, verb="engagement.model_trained", target=m, target_repr=f"propensity v{version}",
                     after={"version": version, "seed": seed, "auc_model": m.auc_model, "auc_baseline": m.auc_baseline,
                            "n_train": m.n_train, "n_test": m.n_test, "active": beats})
    return m


def model_figures(m: PropensityModel) -> dict[str, Any]:
    return {"version": m.version, "seed": m.seed, "active": m.active, "trained_at": m.trained_at.isoformat(),
            "auc_model": round(m.auc_model, 4), "auc_baseline": round(m.auc_baseline, 4),
            "auc_global_baseline": (round(m.figures["auc_global_baseline"], 4)
                                    if m.figures.get("auc_global_baseline") is not None else None),
            "n_train": m.n_train, "n_test": m.n_test, "baseline": m.figures.get("baseline"),
            "per_category": m.figures.get("per_category", {}), "positives": m.figures.get("positives", {}),
            "features": len(m.features)}


def active_model() -> PropensityModel | None:
    return PropensityModel.objects.filter(active=True).order_by("-version").first()


def score(model: PropensityModel, customer_ids: list[int] | None, *, at: datetime | None = None
          ) -> dict[int, tuple[dict[str, float], list[float]]]:
    """{customer: ({category: probability}, feature row)} as of ``at`` (now) for the given natural persons (None:
    every active natural person, set-based)."""
    at = at or timezone.now()
    births = _people(customer_ids)
    if not births:
        return {}
    cluster_model = None
    if any(s["code"].startswith("cluster:") for s in model.features):
        version = model.figures.get("cluster_model")
        cluster_model = ClusterModel.objects.filter(version=version).first() if version else None
    rows, _tiers = feature_matrix({c: at for c in births}, births, spec=model.features, cluster_model=cluster_model)
    return {cid: (score_row(model.coefficients, row), row) for cid, row in rows.items()}
