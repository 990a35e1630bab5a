"""Customer segments (issue #9): value tiers, RFM scores and behaviour clusters, each with its history.

Three kinds of segment, computed together by `segments_compute` (the nightly job ``engagement.segments`` and the
"compute now" button of the segment overview), for every customer who is not closed or restricted (a customer under
an erasure restriction is stored, not processed):

- **Value tier** (``tier``): from the customer's latest assets-under-management snapshot (`wealth.AumSnapshot`, the
  last day on or before the computation day), with the thresholds in force (`wealth.tier.affluent`,
  `wealth.tier.private`): mass, affluent, private banking. A customer without any snapshot has no tier.
- **RFM** (``rfm``): from the customer's own ledger entries of the last `engagement.rfm_window` months (12 by
  default) — the entries the customer initiated (cash in and out, transfers, account opening and closing, wealth
  subscriptions and redemptions; not interest, maturities, payouts or reversals, and not entries later reversed).
  Recency = days since the last such entry, frequency = their number, monetary = their total in CNY (USD at the
  rate in force on the day). Each is scored 1–5 by quintile over the customers with at least one entry (a tie shares
  the lower score; recency: more recent is better), code ``R5F4M3``, and labelled with the classic eight RFM
  groups, "high" meaning a score of 3 or more (重要价值客户: R, F and M high; 重要保持: F and M high, R low;
  重要发展: R and M high, F low; 重要挽留: only M high; 一般价值/保持/发展/挽留 likewise with M low). Customers without
  any entry in the window are 沉睡客户 (``R0F0M0``).
- **Behaviour cluster** (``cluster``, natural persons only): nine features per customer (`FEATURES`) — counts of cash,
  transfer and wealth entries, their total amount, the cash and cross-border shares of that amount, the average
  deposit balance over the last 90 days of snapshots, the wealth share of AUM and the age band — standardised and
  clustered by scikit-learn's KMeans (`engagement.cluster_k` clusters, fixed ``random_state`` and ``n_init``: the same
  data and seed give the same clusters). Each cluster is named from its centre (`label_clusters`), over all centres
  at once: the centre furthest below average on activity is 低活跃; then the strongest (centre, feature) pairs —
  a feature at least a quarter of a standard deviation above average — name the others (现金交易活跃 — by the mean
  of the cash count and cash share, so that one cash deposit is not "active" —, 转账结算活跃, 理财偏好, 跨境往来,
  高存款沉淀, 稳健银发, 年轻活跃; then, at half strength, 现金存取为主 and 理财持有), and a centre with nothing
  notable is 低活跃 or 均衡型. The learned model (scaler, centres, labels, sizes, inertia, seed) is stored as a `ClusterModel`.

History: one open row per customer and kind (``until`` empty). A computation that gives a customer another code or
label closes the open row (``until`` = the day) and opens a new one (``since`` = the day); a second change on the
same day corrects that day's row instead of leaving a zero-length one; a customer who no longer has a segment of a
kind has the open row closed. Rows are written set-based (grouped queries, bulk updates and inserts): a
20,000-customer bank takes seconds.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Avg, Count, Max, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params

from .models import ClusterModel, Segment

SEED = 20261128
N_INIT = 10
CHUNK = 2_000

TIER, RFM, CLUSTER = Segment.Kind.TIER, Segment.Kind.RFM, Segment.Kind.CLUSTER

# Ledger entry kinds the customer initiates (JournalEntry.Kind values), and their groups.
CASH_KINDS = ("cash_in", "cash_out")
TRANSFER_KINDS = ("internal", "outward")
WEALTH_KINDS = ("wm_buy", "wm_redeem")
CUSTOMER_KINDS = (*CASH_KINDS, *TRANSFER_KINDS, *WEALTH_KINDS, "opening", "closing")

TIER_LABELS = {"mass": gettext_lazy("大众客户"), "affluent": gettext_lazy("富裕客户"),
               "private": gettext_lazy("私人银行客户")}

RFM_LABELS = {  # (R high, F high, M high) -> label
    (True, True, True): gettext_lazy("重要价值客户"), (False, True, True): gettext_lazy("重要保持客户"),
    (True, False, True): gettext_lazy("重要发展客户"), (False, False, True): gettext_lazy("重要挽留客户"),
    (True, True, False): gettext_lazy("一般价值客户"), (False, True, False): gettext_lazy("一般保持客户"),
    (True, False, False): gettext_lazy("一般发展客户"), (False, False, False): gettext_lazy("一般挽留客户"),
}
RFM_DORMANT = ("R0F0M0", gettext_lazy("沉睡客户"))
RFM_HIGH = 3  # a score of 3 or more (the middle quintile and above) counts as "high" in the label

FEATURES: list[tuple[str, Any]] = [
    ("n_cash", gettext_lazy("现金交易笔数（对数）")),
    ("n_transfer", gettext_lazy("转账笔数（对数）")),
    ("n_wealth", gettext_lazy("理财交易笔数（对数）")),
    ("amount", gettext_lazy("交易金额（元，对数）")),
    ("cash_share", gettext_lazy("现金交易金额占比")),
    ("xborder_share", gettext_lazy("跨境交易金额占比")),
    ("avg_balance", gettext_lazy("近90天日均存款（元，对数）")),
    ("wealth_share", gettext_lazy("理财占资产比例")),
    ("age_band", gettext_lazy("年龄段（岁/10）")),
]
FEATURE_NAMES = [f for f, _l in FEATURES]

# Cluster names: code -> (label, how strongly the centre shows it, from its standardised values z)
CLUSTER_NAMES: dict[str, tuple[Any, Any]] = {
    "cash": (gettext_lazy("现金交易活跃"), lambda z: (z["cash_share"] + z["n_cash"]) / 2),  # many and mostly cash
    "transfer": (gettext_lazy("转账结算活跃"), lambda z: z["n_transfer"]),
    "wealth": (gettext_lazy("理财偏好"), lambda z: max(z["wealth_share"], z["n_wealth"])),
    "xborder": (gettext_lazy("跨境往来"), lambda z: z["xborder_share"]),
    "deposit": (gettext_lazy("高存款沉淀"), lambda z: z["avg_balance"]),
    "senior": (gettext_lazy("稳健银发"), lambda z: z["age_band"]),
    "young": (gettext_lazy("年轻活跃"), lambda z: -z["age_band"]),
}
# Names used only for what the main ones leave (at half strength): a low-activity centre that is mostly cash, or that
# holds wealth without trading it.
SECONDARY_NAMES: dict[str, tuple[Any, Any]] = {
    "cash_saver": (gettext_lazy("现金存取为主"), lambda z: z["cash_share"]),
    "holder": (gettext_lazy("理财持有"), lambda z: z["wealth_share"]),
}
LOW_ACTIVITY = ("low", gettext_lazy("低活跃"))
LOW_ACTIVITY_Z = -0.5  # mean z of cash, transfer and amount below this (and nothing else notable) → 低活跃
NOTABLE_Z = 0.25  # a feature names a cluster only if its centre is at least this far above average
BALANCED = ("balanced", gettext_lazy("均衡型"))


# ---- Pure helpers -----------------------------------------------------------------------------------------------------
def quintile_scores(values: list[float]) -> list[int]:
    """Scores 1–5 by quintile of rank: the bottom fifth scores 1, the top fifth 5; equal values share the lower
    score (rank = how many values are strictly smaller)."""
    n = len(values)
    if not n:
        return []
    ordered = sorted(values)
    return [1 + (5 * bisect_left(ordered, v)) // n for v in values]


def rfm_label(r: int, f: int, m: int) -> Any:
    if not (r or f or m):
        return RFM_DORMANT[1]
    return RFM_LABELS[(r >= RFM_HIGH, f >= RFM_HIGH, m >= RFM_HIGH)]


def rfm_codes(figures: dict[int, tuple[int, int, int]]) -> dict[int, tuple[int, int, int]]:
    """{customer: (recency days, frequency, monetary)} → {customer: (R, F, M)} quintile scores."""
    ids = list(figures)
    r = quintile_scores([-figures[c][0] for c in ids])
    f = quintile_scores([figures[c][1] for c in ids])
    m = quintile_scores([figures[c][2] for c in ids])
    return {c: (r[i], f[i], m[i]) for i, c in enumerate(ids)}


def tier_of(total_fen: int, affluent_fen: int, private_fen: int) -> str:
    if total_fen >= private_fen:
        return "private"
    if total_fen >= affluent_fen:
        return "affluent"
    return "mass"


def label_clusters(z_centres: list[list[float]]) -> list[tuple[str, str, str]]:
    """(code, label, why) for each standardised centre, codes unique, decided over all centres at once:

    1. the centre lowest on activity (mean z of cash count, transfer count and amount), if below `LOW_ACTIVITY_Z` and
       not strongly notable otherwise, is 低活跃;
    2. then every (centre, name) pair, strongest first, names a centre still unnamed with a name still free, if at
       least `NOTABLE_Z` strong — the main names (`CLUSTER_NAMES`) at their strength, the secondary ones
       (`SECONDARY_NAMES`) at half of it, so that they only name what the main ones leave;
    3. a centre left over is 低活跃 (numbered if taken) when its activity is below average, else 均衡型."""
    out: list[tuple[str, str, str] | None] = [None] * len(z_centres)
    zs = [dict(zip(FEATURE_NAMES, c, strict=True)) for c in z_centres]
    activity = [(z["n_cash"] + z["n_transfer"] + z["amount"]) / 3 for z in zs]
    taken: set[str] = set()

    def top_strength(z: dict[str, float]) -> float:
        return max(strength(z) for _lab, strength in CLUSTER_NAMES.values())

    lows = sorted((a, i) for i, a in enumerate(activity)
                  if a < LOW_ACTIVITY_Z and top_strength(zs[i]) < 2 * NOTABLE_Z)
    if lows:
        a, i = lows[0]
        out[i] = (LOW_ACTIVITY[0], str(LOW_ACTIVITY[1]), f"activity z={a:.2f}")
        taken.add(LOW_ACTIVITY[0])
    pairs = [(strength(z) * weight, code, i, lab)
             for names, weight in ((CLUSTER_NAMES, 1.0), (SECONDARY_NAMES, 0.5))
             for code, (lab, strength) in names.items() for i, z in enumerate(zs)]
    for st, code, i, lab in sorted(pairs, key=lambda t: (-t[0], t[1], t[2])):
        if st < NOTABLE_Z:
            break
        if out[i] is None and code not in taken:
            out[i] = (code, str(lab), f"{code} z={st:.2f}")
            taken.add(code)

    def numbered(base: str, label: Any) -> tuple[str, str]:
        if base not in taken:
            return base, str(label)
        n = 2
        while f"{base}{n}" in taken:
            n += 1
        return f"{base}{n}", f"{label}{n}"

    for i, a in enumerate(activity):
        if out[i] is None:
            code, label = numbered(*(LOW_ACTIVITY if a < 0 else BALANCED))
            out[i] = (code, label, f"activity z={a:.2f}")
            taken.add(code)
    return [o for o in out if o is not None]


# ---- Reading the facts (set-based) ------------------------------------------------------------------------------------
@dataclass
class Activity:
    """A customer's own ledger activity in a window: amounts in CNY fen."""

    last: date | None = None
    n: int = 0
    amount_fen: int = 0
    n_cash: int = 0
    n_transfer: int = 0
    n_wealth: int = 0
    cash_fen: int = 0
    xborder_fen: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int, cny: int, xborder: bool, last: date) -> None:
        self.n += n
        self.amount_fen += cny
        self.by_kind[kind] = self.by_kind.get(kind, 0) + n
        if kind in CASH_KINDS:
            self.n_cash += n
            self.cash_fen += cny
        elif kind in TRANSFER_KINDS:
            self.n_transfer += n
        elif kind in WEALTH_KINDS:
            self.n_wealth += n
        if xborder:
            self.xborder_fen += cny
        if self.last is None or last > self.last:
            self.last = last


def window_days(months: int) -> int:
    return round(months * 365 / 12)


def cny_converter(day: date) -> Any:
    """CNY fen from an amount in a currency, at the rate in force on ``day`` (the first rate before any)."""
    from bankcrm.core.errors import RuleViolation
    from bankcrm.ledger import rules as ledger_rules
    from bankcrm.ledger.models import FxRate
    from bankcrm.ledger.services import fx_rate_micro

    rates: dict[str, int] = {}

    def to_cny(amount_fen: int, currency: str) -> int:
        if currency == "CNY" or not amount_fen:
            return int(amount_fen)
        if currency not in rates:
            try:
                rates[currency] = fx_rate_micro(currency, day)
            except RuleViolation:
                rates[currency] = (FxRate.objects.filter(currency=currency).order_by("effective_date")
                                   .values_list("rate_micro", flat=True).first() or 0)
        return ledger_rules.to_cny_fen(int(amount_fen), currency, rates[currency]) if rates[currency] else 0

    return to_cny


def activity(*, end: date | dict[int, date], months: int, customer_ids: list[int] | None = None) -> dict[int, Activity]:
    """Each customer's own entries with a business date in [end − window, end). ``end`` is one date for everyone or
    a date per customer (training: the day of the customer's first purchase, so nothing after it is seen). One
    grouped query."""
    from bankcrm.ledger.models import JournalEntry

    days = window_days(months)
    per_customer = isinstance(end, dict)
    if per_customer and not end:
        return {}
    lo = (min(end.values()) if per_customer else end) - timedelta(days=days)  # type: ignore[union-attr]
    hi = max(end.values()) if per_customer else end  # type: ignore[union-attr]
    qs = (JournalEntry.objects.filter(customer_id__isnull=False, kind__in=CUSTOMER_KINDS, business_date__gte=lo,
                                      business_date__lt=hi, reversed_by__isnull=True).order_by())
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    group = ["customer_id", "kind", "currency", "cross_border"] + (["business_date"] if per_customer else [])
    rows = qs.values(*group).annotate(n=Count("id"), s=Sum("amount_fen"), last=Max("business_date"))
    to_cny = cny_converter(hi)
    out: dict[int, Activity] = defaultdict(Activity)
    for r in rows:
        cid = r["customer_id"]
        if per_customer:
            e = end.get(cid)  # type: ignore[union-attr]
            if e is None or not (e - timedelta(days=days) <= r["business_date"] < e):
                continue
        out[cid].add(r["kind"], r["n"], to_cny(r["s"] or 0, r["currency"]), r["cross_border"], r["last"])
    return dict(out)


def latest_aum(day: date, customer_ids: list[int] | None = None) -> dict[int, tuple[date, int, int, int]]:
    """{customer: (snapshot day, deposits, wealth, total)} from each customer's latest snapshot on or before ``day``
    (all customers, or those given): the rows of the latest day in one indexed query, then — in chunks — the few
    wanted customers missing from that day (a new customer, a day the job missed)."""
    from bankcrm.customers.models import Customer
    from bankcrm.wealth.models import AumSnapshot

    base = AumSnapshot.objects.filter(day__lte=day).order_by()
    top = base.aggregate(d=Max("day"))["d"]
    if top is None:
        return {}
    fields = ("customer_id", "day", "deposits_fen", "wealth_fen", "total_fen")
    wanted = set(customer_ids) if customer_ids is not None else None
    at_top = base.filter(day=top)
    if wanted is not None and len(wanted) <= CHUNK:
        at_top = at_top.filter(customer_id__in=list(wanted))
    out = {r[0]: tuple(r[1:]) for r in at_top.values_list(*fields) if wanted is None or r[0] in wanted}
    if wanted is None:
        wanted = set(Customer.objects.filter(status=Customer.Status.ACTIVE).values_list("pk", flat=True))
    rest = sorted(c for c in wanted if c not in out)
    for i in range(0, len(rest), CHUNK):
        chunk = rest[i:i + CHUNK]
        latest = dict(base.filter(customer_id__in=chunk).values("customer_id").annotate(d=Max("day"))
                      .values_list("customer_id", "d"))
        by_day: dict[date, list[int]] = defaultdict(list)
        for cid, d in latest.items():
            by_day[d].append(cid)
        for d, ids in by_day.items():
            for r in base.filter(day=d, customer_id__in=ids).values_list(*fields):
                out[r[0]] = tuple(r[1:])
    return out  # type: ignore[return-value]


def average_deposits(day: date, days: int = 90, customer_ids: list[int] | None = None) -> dict[int, float]:
    from bankcrm.wealth.models import AumSnapshot

    qs = AumSnapshot.objects.filter(day__lte=day, day__gt=day - timedelta(days=days)).order_by()
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    return {c: float(a or 0) for c, a in qs.values("customer_id").annotate(a=Avg("deposits_fen"))
            .values_list("customer_id", "a")}


def current_deposits(customer_ids: list[int] | None = None, day: date | None = None) -> dict[int, int]:
    """CNY fen on each customer's accounts now."""
    from bankcrm.ledger.models import Account

    qs = Account.objects.filter(kind="customer", customer_id__isnull=False).order_by()
    if customer_ids is not None:
        qs = qs.filter(customer_id__in=customer_ids)
    to_cny = cny_converter(day or timezone.localdate())
    out: dict[int, int] = defaultdict(int)
    for cid, cur, total in qs.values("customer_id", "currency").annotate(t=Sum("balance_fen")).values_list(
            "customer_id", "currency", "t"):
        out[cid] += to_cny(int(total or 0), cur)
    return dict(out)


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def population(customer_ids: list[int] | None = None) -> dict[int, tuple[str, date | None]]:
    """{customer: (kind, birth date)} of the customers segments are computed for: not closed, not restricted."""
    from bankcrm.customers.models import Customer

    qs = Customer.objects.filter(status=Customer.Status.ACTIVE).order_by()
    if customer_ids is not None:
        qs = qs.filter(pk__in=customer_ids)
    return {pk: (kind, birth) for pk, kind, birth in qs.values_list("pk", "kind", "birth_date")}


def feature_rows(*, day: date, people: dict[int, date | None], acts: dict[int, Activity],
                 aum: dict[int, tuple[date, int, int, int]], avg_dep: dict[int, float],
                 deposits_now: dict[int, int]) -> dict[int, list[float]]:
    """The nine behaviour features (`FEATURES`) per natural person, in the features' own units."""
    out: dict[int, list[float]] = {}
    for cid, birth in people.items():
        a = acts.get(cid) or Activity()
        snap = aum.get(cid)
        avg = avg_dep.get(cid)
        if avg is None:
            avg = float(deposits_now.get(cid, 0))
        total = snap[3] if snap else 0
        age = age_on(birth, day)
        out[cid] = [
            math.log1p(a.n_cash), math.log1p(a.n_transfer), math.log1p(a.n_wealth),
            math.log1p(max(a.amount_fen, 0) / 100),
            a.cash_fen / a.amount_fen if a.amount_fen > 0 else 0.0,
            a.xborder_fen / a.amount_fen if a.amount_fen > 0 else 0.0,
            math.log1p(max(avg, 0.0) / 100),
            (snap[2] / total) if snap and total > 0 else 0.0,
            float(min(age // 10, 9)) if age is not None else 0.0,
        ]
    return out


# ---- Computing each kind ----------------------------------------------------------------------------------------------
def compute_tiers(day: date, customers: dict[int, tuple[str, date | None]]) -> dict[int, tuple[str, str, dict]]:
    at = timezone.make_aware(datetime.combine(day, datetime.max.time()))
    affluent, private = params.value("wealth.tier.affluent", at), params.value("wealth.tier.private", at)
    out = {}
    for cid, (snap_day, dep, wealth, total) in latest_aum(day).items():
        if cid not in customers:
            continue
        code = tier_of(total, affluent, private)
        out[cid] = (code, str(TIER_LABELS[code]), {"total_fen": total, "deposits_fen": dep, "wealth_fen": wealth,
                                                   "snapshot_day": snap_day.isoformat()})
    return out


def compute_rfm(day: date, customers: dict[int, tuple[str, date | None]]) -> dict[int, tuple[str, str, dict]]:
    acts = activity(end=day + timedelta(days=1), months=params.value("engagement.rfm_window"))
    figures = {cid: ((day - a.last).days, a.n, a.amount_fen) for cid, a in acts.items()
               if cid in customers and a.n and a.last is not None}
    scores = rfm_codes(figures)
    out: dict[int, tuple[str, str, dict]] = {}
    for cid in customers:
        if cid in scores:
            r, f, m = scores[cid]
            rec, freq, mon = figures[cid]
            out[cid] = (f"R{r}F{f}M{m}", str(rfm_label(r, f, m)),
                        {"r": r, "f": f, "m": m, "recency_days": rec, "frequency": freq, "monetary_fen": mon})
        else:
            out[cid] = (RFM_DORMANT[0], str(RFM_DORMANT[1]), {"r": 0, "f": 0, "m": 0})
    return out


def behaviour_features(day: date, customer_ids: list[int] | None = None) -> dict[int, list[float]]:
    """The cluster features of the natural persons (all, or those given) as of the end of ``day``."""
    people = {cid: birth for cid, (kind, birth) in population(customer_ids).items() if kind == "person"}
    if not people:
        return {}
    ids = None if customer_ids is None else list(people)
    acts = activity(end=day + timedelta(days=1), months=params.value("engagement.rfm_window"), customer_ids=ids)
    aum = latest_aum(day, ids)
    avg_dep = average_deposits(day, customer_ids=ids)
    missing = [c for c in people if c not in avg_dep]
    deposits_now = current_deposits(missing, day) if missing else {}
    return feature_rows(day=day, people=people, acts=acts, aum=aum, avg_dep=avg_dep, deposits_now=deposits_now)


@dataclass
class Clustering:
    model: ClusterModel | None
    assignment: dict[int, tuple[str, str, dict]]


def train_clusters(rows: dict[int, list[float]], *, k: int, seed: int) -> dict[str, Any]:
    """Standardise the features and run KMeans (fixed seed and n_init). Returns what a `ClusterModel` stores, plus
    each customer's cluster. Deterministic for the same rows and seed."""
    import numpy as np
    from sklearn.cluster import KMeans

    ids = sorted(rows)
    x = np.array([rows[c] for c in ids], dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    distinct = len({tuple(r) for r in z.round(9).tolist()})
    k = max(1, min(k, distinct))
    km = KMeans(n_clusters=k, random_state=seed, n_init=N_INIT).fit(z)
    centres = km.cluster_centers_
    names = label_clusters(centres.tolist())
    # Stable order: clusters sorted by their code, so the same model gives the same indexes
    order = sorted(range(k), key=lambda i: names[i][0])
    index_of = {old: new for new, old in enumerate(order)}
    sizes = np.bincount(km.labels_, minlength=k)
    raw = centres * scale + mean
    return {
        "ids": ids, "labels_": [index_of[int(x)] for x in km.labels_],
        "scaler": {"mean": mean.tolist(), "scale": scale.tolist()},
        "centers": [centres[i].tolist() for i in order],
        "labels": [{"code": names[i][0], "label": names[i][1], "why": names[i][2]} for i in order],
        "figures": {"sizes": [int(sizes[i]) for i in order], "centers_raw": [raw[i].tolist() for i in order],
                    "k": k, "n_init": N_INIT},
        "inertia": float(km.inertia_), "k": k,
    }


def assign_cluster(model: ClusterModel, row: list[float]) -> tuple[str, str]:
    """The nearest centre of a stored model for one feature row (scoring without scikit-learn)."""
    mean, scale = model.scaler["mean"], model.scaler["scale"]
    z = [(v - m) / s for v, m, s in zip(row, mean, scale, strict=True)]
    best = min(range(len(model.centers)), key=lambda i: sum((a - b) ** 2 for a, b in zip(z, model.centers[i],
                                                                                             strict=True)))
    lab = model.labels[best]
    return lab["code"], lab["label"]


def compute_clusters(day: date, customers: dict[int, tuple[str, date | None]], *, seed: int, at: datetime) -> Clustering:
    rows = behaviour_features(day)
    rows = {c: r for c, r in rows.items() if c in customers}
    if len(rows) < 2:
        return Clustering(None, {})
    t = train_clusters(rows, k=params.value("engagement.cluster_k"), seed=seed)
    version = (ClusterModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    model = ClusterModel.objects.create(
        version=version, seed=seed, features=[{"code": c, "label": str(lab)} for c, lab in FEATURES],
        scaler=t["scaler"], centers=t["centers"], labels=t["labels"], n_customers=len(t["ids"]),
        inertia=t["inertia"], trained_at=at, figures=t["figures"])
    assignment = {}
    for cid, idx in zip(t["ids"], t["labels_"], strict=True):
        lab = t["labels"][idx]
        assignment[cid] = (lab["code"], lab["label"], {"model": version, "index": idx})
    return Clustering(model, assignment)


# ---- History ----------------------------------------------------------------------------------------------------------
def apply_history(kind: str, rows: dict[int, tuple[str, str, dict]], day: date, *,
                  scope: set[int] | None = None) -> dict[str, int]:
    """Make the open rows of ``kind`` say ``rows`` as of ``day``: unchanged rows stay, a changed one is closed and a
    new one opened (or, if it was opened the same day, corrected), and a customer of ``scope`` (default: everyone)
    missing from ``rows`` has the open row closed. Set-based."""
    open_rows = Segment.objects.filter(kind=kind, until__isnull=True).order_by()
    if scope is not None:
        open_rows = open_rows.filter(customer_id__in=list(scope))
    current = {cid: (pk, code, label, since) for pk, cid, code, label, since in
               open_rows.values_list("pk", "customer_id", "code", "label", "since")}
    close, fix, new = [], [], []
    for cid, (pk, code, label, since) in current.items():
        want = rows.get(cid)
        if want is None:
            if since >= day:
                fix.append((pk, None))
            else:
                close.append(pk)
        elif (want[0], want[1]) != (code, label):
            if since >= day:
                fix.append((pk, want))
            else:
                close.append(pk)
                new.append(cid)
    new += [cid for cid in rows if cid not in current]
    for i in range(0, len(close), CHUNK):
        Segment.objects.filter(pk__in=close[i:i + CHUNK]).update(until=day)
    removed = 0
    for pk, want in fix:  # same-day corrections (rare): the day's row says what is true at the end of the day
        if want is None:
            Segment.objects.filter(pk=pk).update(until=day)
            removed += 1
        else:
            Segment.objects.filter(pk=pk).update(code=want[0], label=want[1][:60], detail=want[2])
    Segment.objects.bulk_create([Segment(customer_id=cid, kind=kind, code=rows[cid][0][:20], label=rows[cid][1][:60],
                                         detail=rows[cid][2], since=day) for cid in new], batch_size=CHUNK)
    return {"opened": len(new), "closed": len(close) + removed, "corrected": len(fix) - removed,
            "unchanged": len(current) - len(close) - len(fix), "total": len(rows)}


# ---- The service ------------------------------------------------------------------------------------------------------
def segments_compute(*, actor: Any = None, day: date | None = None, seed: int = SEED) -> dict[str, Any]:
    """Compute every customer's value tier, RFM score and behaviour cluster as of ``day`` (default today), train and
    store the cluster model, and bring the segment history up to date. ``actor`` None is the nightly job; staff need
    ``engagement.manage``. One transaction, one audit event."""
    if actor is not None:
        access.require(actor, "engagement.manage")
    day = day or timezone.localdate()
    if day > timezone.localdate():
        from bankcrm.core.errors import ValidationFailed

        raise ValidationFailed("day_invalid", _("计算日期不能晚于今天"), fields={"day": [_("计算日期不能晚于今天")]})
    at = timezone.now()
    customers = population()
    # labels are stored text: always in the bank's language (Chinese), whatever the actor's UI language
    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        tiers = apply_history(TIER, compute_tiers(day, customers), day)
        rfm = apply_history(RFM, compute_rfm(day, customers), day)
        clustering = compute_clusters(day, customers, seed=seed, at=at)
        clusters = apply_history(CLUSTER, clustering.assignment, day)
        m = clustering.model
        result = {"day": day.isoformat(), "customers": len(customers), "tier": tiers, "rfm": rfm, "cluster": clusters,
                  "cluster_model": m.version if m else None, "inertia": round(m.inertia, 3) if m else None,
                  "labels": [lab["label"] for lab in m.labels] if m else []}
        audit.record(actor=actor, verb="engagement.segments_computed", target_type="engagement.Segment",
                     target_id=day.isoformat(), target_repr=_("客户分群 %(d)s") % {"d": day.isoformat()},
                     after={"customers": len(customers), "tier": tiers, "rfm": rfm, "cluster": clusters,
                            "cluster_model": result["cluster_model"], "seed": seed})
    return result


def open_segments(customer_ids: list[int]) -> dict[int, dict[str, Segment]]:
    """{customer: {kind: open row}} for the given customers (one query)."""
    out: dict[int, dict[str, Segment]] = defaultdict(dict)
    for i in range(0, len(customer_ids), CHUNK):
        for s in Segment.objects.filter(customer_id__in=customer_ids[i:i + CHUNK], until__isnull=True):
            out[s.customer_id][s.kind] = s
    return dict(out)
