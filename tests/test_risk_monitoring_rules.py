"""Transaction monitoring rules (issue #5, DOMAIN_RULES §3) against a plain-Python reference.

The reference below is written from the rules' documented semantics (bankcrm/risk/rules.py RULE_KINDS and the
monitoring.py docstring), not from monitoring.py: monitored transactions are the legs of non-reversal journal entries
on customer accounts (credit = in, debit = out); the category comes from the other leg (cash box → cash; another
customer account or the clearing account → transfer; anything else is not a customer transaction); days are business
dates; foreign currencies convert to US cents at the day's rates, rounded down per transaction.

Hypothesis generates transaction streams (people with income bands and companies; CNY, USD and EUR accounts; cash in
and out, internal transfers, outward domestic and cross-border transfers with counterparties, interest credits and
reversals; a few business dates plus history a year back; amounts clustered at the thresholds) and rule parameters,
inserts them directly as journal entries + postings (balances need not add up for monitoring), and compares
`monitoring.evaluate(day)` with the reference: dedupe keys, entry ids and the figures' totals. Explicit boundary tests
follow, then real time (ledger services + the risk_monitor outbox consumer) against the nightly run.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bankcrm.core import bulkwrite, outbox
from bankcrm.customers import services as customer_services
from bankcrm.customers.models import Customer
from bankcrm.ledger import services as ledger
from bankcrm.ledger.models import Account, FxRate, JournalEntry, Posting, Product
from bankcrm.risk import monitoring, rules, services
from bankcrm.risk.models import Alert, BatchRun, MonitoringRule
from tests.ledger_helpers import ric

W = 100
ENTRY_KINDS_ACTIVITY = {"cash_in", "cash_out", "internal", "outward", "opening", "closing"}
# The built-in rules as DOMAIN_RULES §3 states them (the oracle: not read from the product's parameters).
BUILTIN = {
    "0501": ("large_value", (), {"category": "cash", "cross_border": None, "threshold_cny": 50_000 * W,
                                 "threshold_usd": 10_000 * W}),
    "0502": ("large_value", ("company",), {"category": "transfer", "cross_border": None,
                                           "threshold_cny": 2_000_000 * W, "threshold_usd": 200_000 * W}),
    "0503": ("large_value", ("person",), {"category": "transfer", "cross_border": False,
                                          "threshold_cny": 500_000 * W, "threshold_usd": 100_000 * W}),
    "0504": ("large_value", ("person",), {"category": "transfer", "cross_border": True,
                                          "threshold_cny": 200_000 * W, "threshold_usd": 10_000 * W}),
    "S01": ("structuring", (), {"category": "cash", "base_threshold": 50_000 * W, "band_pct": 90, "window_days": 3,
                                "min_count": 3}),
    "S02": ("rapid_in_out", (), {"window_days": 2, "min_in": 100_000 * W, "out_pct": 80}),
    "S03": ("dormant", (), {"dormant_months": 12, "min_amount": 50_000 * W}),
    "S04": ("counterparties", (), {"window_days": 3, "min_counterparties": 10}),
    "S05": ("profile", ("person",), {"window_days": 30, "income_caps": {"<10w": 100_000 * W, "10-30w": 300_000 * W,
                                                                       "30-100w": 1_000_000 * W},
                                     "pct": 100, "min_amount": 200_000 * W}),
}


# ---- The world: customers, accounts, internal accounts, rates --------------------------------------------------------
@dataclass(frozen=True)
class Acc:
    id: int
    kind: str            # customer / cash / clearing / interest
    cur: str
    cid: int | None = None
    opened: datetime | None = None


@dataclass
class World:
    bank: Any
    d0: date
    days: list[date]                      # evaluated business dates
    all_days: list[date]                  # plus history (for the dormant rule)
    customers: dict[int, tuple[str, str]]  # id → (kind, income band)
    accounts: list[Acc]                   # customer accounts
    internal: dict[tuple[str, str], Acc]  # (code, currency) → account
    rates: dict[str, list[tuple[date, int]]]
    maker_id: int
    branch_path: str
    by_id: dict[int, Acc] = field(default_factory=dict)


@dataclass
class Entry:
    id: int
    kind: str
    cur: str
    amount: int
    debit: Acc
    credit: Acc
    day: date
    at: datetime
    bank: str = ""
    name: str = ""
    xb: bool = False
    reversal_of: int | None = None


CUSTOMERS = [("person", "<10w"), ("person", "10-30w"), ("person", "30-100w"), ("person", "100w+"),
             ("company", ""), ("company", ""), ("person", "")]
# (customer index, currency, opened long ago?)
ACCOUNTS = [(0, "CNY", True), (0, "USD", True), (0, "CNY", False), (1, "CNY", True), (1, "USD", False),
            (1, "EUR", True), (2, "CNY", True), (2, "USD", True), (3, "CNY", False), (3, "USD", False),
            (4, "CNY", True), (4, "USD", True), (4, "CNY", True), (5, "CNY", False), (5, "USD", False),
            (5, "EUR", False), (6, "CNY", True), (6, "USD", False)]


def local(day: date, at: time = time(10, 0)) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


def build_world(bank) -> World:
    """Customers registered and accounts opened through the services; kinds, income bands and opening dates then set
    directly (monitoring reads only those columns). Rules are not installed here."""
    ledger.ledger_bootstrap(actor=bank.admin)
    ledger._INTERNAL_IDS.clear()
    ledger._CUSTOMER_KIND.clear()
    d0 = timezone.localdate() - timedelta(days=40)
    Product.objects.get_or_create(code="D-EUR", defaults={"name": "欧元活期", "kind": "demand", "currency": "EUR"})
    products = {p.currency: p.pk for p in Product.objects.filter(code__in=["D-CNY", "D-USD", "D-EUR"])}
    customers: dict[int, tuple[str, str]] = {}
    ids = []
    for i, (kind, band) in enumerate(CUSTOMERS):
        c = customer_services.customer_register(actor=bank.cm_a1, kind="person", name=f"监测客户{'甲乙丙丁戊己庚'[i]}",
                                                id_type="resident_id", id_number=ric(f"1970010{i + 1}", f"{i + 31:03d}"),
                                                mobile="13812345678", branch_id=bank.a1.pk)
        Customer.objects.filter(pk=c.pk).update(kind=kind, income_band=band)
        customers[c.pk] = (kind, band)
        ids.append(c.pk)
    accounts = []
    for ci, cur, old in ACCOUNTS:
        a = ledger.account_open(actor=bank.om_a1, customer_id=ids[ci], product_id=products[cur])
        opened = local(d0 - timedelta(days=1100)) if old else local(d0 - timedelta(days=100))
        Account.objects.filter(pk=a.pk).update(opened_at=opened)
        accounts.append(Acc(a.pk, "customer", cur, ids[ci], opened))
    internal = {}
    for cur in ("CNY", "USD", "EUR"):
        internal[("cash", cur)] = Acc(ledger.cash_box_open(actor=bank.om_a1, currency=cur).pk, "cash", cur)
        if cur == "EUR":
            clearing = ledger._open_internal(actor=bank.admin, code="clearing", currency="EUR", branch=bank.head,
                                             title="清算往来（EUR）").pk
        else:
            clearing = ledger.internal_account_id("clearing", cur)
        internal[("clearing", cur)] = Acc(clearing, "clearing", cur)
    internal[("interest", "CNY")] = Acc(ledger.internal_account_id("interest", "CNY"), "interest", "CNY")
    FxRate.objects.create(currency="EUR", rate_micro=7_800_000, effective_date=d0 - timedelta(days=500))
    FxRate.objects.create(currency="EUR", rate_micro=7_900_000, effective_date=d0 + timedelta(days=2))
    FxRate.objects.create(currency="USD", rate_micro=7_150_000, effective_date=d0 + timedelta(days=1))
    rates: dict[str, list[tuple[date, int]]] = defaultdict(list)
    for r in FxRate.objects.order_by("effective_date"):
        rates[r.currency].append((r.effective_date, r.rate_micro))
    days = [d0 + timedelta(days=i) for i in range(4)]
    w = World(bank, d0, days, days + [d0 - timedelta(days=400), d0 - timedelta(days=200)], customers, accounts,
              internal, dict(rates), bank.om_a1.pk, bank.a1.path)
    w.by_id = {a.id: a for a in accounts + list(internal.values())}
    return w


@pytest.fixture
def world(bank) -> World:
    return build_world(bank)


ENTRY_COLS = ["id", "kind", "channel", "currency", "amount_fen", "debit_account_id", "credit_account_id",
              "customer_id", "branch_path", "maker_id", "counterparty_bank", "counterparty_name",
              "counterparty_account", "cross_border", "counterparty_country", "memo", "business_date", "posted_at",
              "reversal_of_id"]
POSTING_COLS = ["entry_id", "account_id", "side", "amount_fen", "balance_after_fen", "business_date", "posted_at"]


def insert(w: World, moves: list[dict]) -> list[Entry]:
    """Journal entries + both postings, in bulk (COPY / executemany), in the caller's transaction."""
    if not moves:
        return []
    ids = bulkwrite.reserve_ids(JournalEntry._meta.db_table, len(moves))
    v = bulkwrite.db_value
    entries, erows, prows = [], [], []
    for pk, m in zip(ids, moves, strict=True):
        e = Entry(pk, **m)
        entries.append(e)
        cust = e.debit.cid or e.credit.cid
        erows.append((pk, e.kind, "counter", e.cur, e.amount, e.debit.id, e.credit.id, cust, w.branch_path,
                      w.maker_id, e.bank, e.name, "", e.xb, "XX" if e.xb else "", "", v(e.day), v(e.at),
                      e.reversal_of))
        prows.append((pk, e.debit.id, "D", e.amount, 0, v(e.day), v(e.at)))
        prows.append((pk, e.credit.id, "C", e.amount, 0, v(e.day), v(e.at)))
    bulkwrite.copy_rows(JournalEntry._meta.db_table, ENTRY_COLS, erows)
    bulkwrite.copy_rows(Posting._meta.db_table, POSTING_COLS, prows)
    return entries


def move(w: World, kind: str, acc: Acc, amount: int, day: date, *, other: Acc | None = None, bank: str = "",
         name: str = "", xb: bool = False, at: datetime | None = None, reverses: Entry | None = None) -> dict:
    """One movement as insert() takes it: cash_in/cash_out/internal (acc → other)/outward/interest/reversal."""
    at = at or local(day)
    cur = acc.cur if acc else ""
    if kind == "cash_in":
        d, c = w.internal[("cash", cur)], acc
    elif kind == "cash_out":
        d, c = acc, w.internal[("cash", cur)]
    elif kind == "internal":
        d, c = acc, other
    elif kind == "outward":
        d, c = acc, w.internal[("clearing", cur)]
    elif kind == "interest":
        d, c = w.internal[("interest", "CNY")], acc
    else:  # reversal of ``reverses``
        return dict(kind="reversal", cur=reverses.cur, amount=reverses.amount, debit=reverses.credit,
                    credit=reverses.debit, day=day, at=at, reversal_of=reverses.id)
    return dict(kind=kind, cur=cur, amount=amount, debit=d, credit=c, day=day, at=at, bank=bank, name=name, xb=xb)


# ---- The reference ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leg:
    entry: int
    cid: int
    ckind: str
    band: str
    dir: str
    amount: int
    cur: str
    xb: bool
    d: date
    acc: int
    opened: datetime
    cat: str
    cp: str


def legs_of(w: World, entries: list[Entry]) -> list[Leg]:
    out = []
    for e in entries:
        if e.kind == "reversal":
            continue
        for acc, other, direction in ((e.debit, e.credit, "out"), (e.credit, e.debit, "in")):
            if acc.kind != "customer":
                continue
            if other.kind == "cash":
                cat = "cash"
            elif other.kind in ("customer", "clearing"):
                cat = "transfer"
            else:
                continue
            cp = f"C{other.cid}" if other.kind == "customer" else f"N{e.bank}/{e.name}"
            kind, band = w.customers[acc.cid]
            out.append(Leg(e.id, acc.cid, kind, band, direction, e.amount, e.cur, e.xb, e.day, acc.id, acc.opened,
                           cat, cp))
    return out


def rate_on(w: World, cur: str, day: date) -> int | None:
    found = None
    for d, r in w.rates.get(cur, []):
        if d <= day:
            found = r
    return found


def in_usd_cents(w: World, amount: int, cur: str, day: date) -> int:
    """A foreign amount in US cents at the day's rates, rounded down; a currency without a rate counts nothing."""
    if cur == "USD":
        return amount
    r, usd = rate_on(w, cur, day), rate_on(w, "USD", day)
    return amount * r // usd if r and usd else 0


def months_back(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 - months
    y, m = divmod(total, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def reference(w: World, code: str, kind: str, kinds: tuple[str, ...], p: dict, day: date,
              entries: list[Entry]) -> set[tuple]:
    """Hits of one rule on ``day``: (dedupe key, entry ids, figures)."""
    allowed = [k for k in kinds if k in ("person", "company")]
    legs = [leg for leg in legs_of(w, entries) if not allowed or leg.ckind in allowed]
    start = day - timedelta(days=p.get("window_days", 1) - 1) if kind != "large_value" else day
    window = [leg for leg in legs if start <= leg.d <= day]
    out: set[tuple] = set()

    def ids(group: list[Leg]) -> tuple[int, ...]:
        return tuple(sorted({leg.entry for leg in group}))

    by_cid: dict[Any, list[Leg]] = defaultdict(list)
    if kind == "large_value":
        vals: dict[tuple, list[tuple[Leg, int]]] = defaultdict(list)
        for leg in window:
            if leg.cat != p["category"] or (p["cross_border"] is not None and leg.xb != p["cross_border"]):
                continue
            grp = "CNY" if leg.cur == "CNY" else "USD"
            vals[(leg.cid, leg.dir, grp)].append((leg, leg.amount if grp == "CNY" else
                                                  in_usd_cents(w, leg.amount, leg.cur, day)))
        for (cid, direction, grp), items in vals.items():
            total = sum(v for _l, v in items)
            if total >= (p["threshold_cny"] if grp == "CNY" else p["threshold_usd"]):
                out.add((f"{code}:{cid}:{day}:{direction}:{grp}", ids([x for x, _v in items]), (total, len(items))))
        return out
    if kind == "structuring":
        floor = ceil_div(p["base_threshold"] * p["band_pct"], 100)
        for leg in window:
            if leg.cat == p["category"] and leg.cur == "CNY" and floor <= leg.amount < p["base_threshold"]:
                by_cid[leg.cid].append(leg)
        for cid, g in by_cid.items():
            if len(g) >= p["min_count"] and any(leg.d == day for leg in g):
                out.add((f"{code}:{cid}:{day}", ids(g), (sum(leg.amount for leg in g), len(g))))
    elif kind == "rapid_in_out":
        for leg in window:
            if leg.cur == "CNY":
                by_cid[leg.cid].append(leg)
        for cid, g in by_cid.items():
            sin = sum(leg.amount for leg in g if leg.dir == "in")
            sout = sum(leg.amount for leg in g if leg.dir == "out")
            if sin >= p["min_in"] and sout * 100 >= p["out_pct"] * sin and \
                    any(leg.dir == "out" and leg.d == day for leg in g):
                out.add((f"{code}:{cid}:{day}", ids(g), (sin, sout)))
    elif kind == "dormant":
        cutoff = months_back(day, p["dormant_months"])
        active = {acc.id for e in entries if e.kind in ENTRY_KINDS_ACTIVITY and cutoff <= e.day < day
                  for acc in (e.debit, e.credit)}
        for leg in window:
            if leg.cur == "CNY" and leg.opened < local(cutoff, time.min) and leg.acc not in active:
                by_cid[leg.cid].append(leg)
        for cid, g in by_cid.items():
            total = sum(leg.amount for leg in g)
            if total >= p["min_amount"]:
                out.add((f"{code}:{cid}:{day}", ids(g), (total, len({leg.acc for leg in g}))))
    elif kind == "counterparties":
        for leg in window:
            if leg.cat == "transfer":
                by_cid[leg.cid].append(leg)
        for cid, g in by_cid.items():
            cps = len({leg.cp for leg in g})
            if cps >= p["min_counterparties"] and any(leg.d == day for leg in g):
                out.add((f"{code}:{cid}:{day}", ids(g), (cps, len(g))))
    elif kind == "profile":
        for leg in window:
            if leg.dir == "in" and leg.cur == "CNY" and leg.band in p["income_caps"]:
                by_cid[leg.cid].append(leg)
        for cid, g in by_cid.items():
            band = g[0].band
            limit = max(p["min_amount"], ceil_div(p["income_caps"][band] * p["pct"], 100))
            total = sum(leg.amount for leg in g)
            if total >= limit and any(leg.d == day for leg in g):
                out.add((f"{code}:{cid}:{day}", ids(g), (total, band)))
    return out


def product_view(hits) -> set[tuple]:
    """The same triple from the product's hits."""
    out = set()
    for h in hits:
        f = h.figures
        fig = {"large_value": lambda: (f["total"], f["count"]), "structuring": lambda: (f["total"], f["count"]),
               "rapid_in_out": lambda: (f["in"], f["out"]), "dormant": lambda: (f["total"], f["accounts"]),
               "counterparties": lambda: (f["counterparties"], f["count"]),
               "profile": lambda: (f["inflow"], f["income_band"])}[h.kind]()
        out.add((h.dedupe_key, tuple(h.entry_ids), fig))
    return out


# ---- Generated streams --------------------------------------------------------------------------------------------------
POINTS = [45_000 * W, 50_000 * W, 25_000 * W, 10_000 * W, 9_129 * W, 5_000 * W, 100_000 * W, 200_000 * W,
          300_000 * W, 500_000 * W, 250_000 * W, 1_000_000 * W, 2_000_000 * W, 200_000 * W // 3]
amounts = st.one_of(
    st.builds(lambda p, d: max(1, p + d), st.sampled_from(POINTS), st.sampled_from([0, 0, -1, 1, -100, 100])),
    st.integers(1, 600_000 * W))
KINDS = ["cash_in", "cash_in", "cash_out", "internal", "internal", "outward", "outward", "interest", "reversal",
         "in_out"]  # in_out: money in, then most of it out again the same or the next day
# Two thirds of the movements on customer 0's three accounts (so that windows fill up), the rest anywhere.
account_index = st.one_of(st.integers(0, 2), st.integers(0, 2), st.integers(0, len(ACCOUNTS) - 1))


def near(figures: list[int], parts: tuple[int, ...] = (1, 2, 3)) -> st.SearchStrategy:
    """Amounts at a rule's own figures (and halves and thirds of them, for cumulative sums), give or take a fen."""
    pts = sorted({max(1, f // k + d) for f in figures for k in parts for d in (-1, 0, 1)})
    return st.sampled_from(pts)


def amounts_for(kind: str, p: dict) -> st.SearchStrategy:
    figs = figures_of(kind, p)
    if kind == "structuring":  # mostly inside the band [floor, base), and its edges
        band = st.integers(figs[1], p["base_threshold"] - 1)
        return st.one_of(amounts, near(figs, (1,)), band, band)
    return st.one_of(amounts, near(figs), near(figs))


def moves_of(amount: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(st.tuples(st.sampled_from(KINDS), account_index, st.integers(0, 99), amount,
                              st.sampled_from([0, 0, 1, 1, 2, 2, 3, 3, 4, 5]), st.integers(0, 11), st.booleans(),
                              st.sampled_from([1, 1, 2, 3])),
                    min_size=8, max_size=40)


raw_moves = moves_of(st.one_of(amounts, near([50_000 * W, 45_000 * W, 10_000 * W, 100_000 * W])))


def figures_of(kind: str, p: dict) -> list[int]:
    if kind == "large_value":
        return [p["threshold_cny"], p["threshold_usd"], p["threshold_usd"] * 7_120_000 // 7_800_000]
    if kind == "structuring":
        return [p["base_threshold"], -(-p["base_threshold"] * p["band_pct"] // 100)]
    if kind == "rapid_in_out":
        return [p["min_in"], p["min_in"] * p["out_pct"] // 100]
    if kind == "dormant":
        return [p["min_amount"]]
    if kind == "profile":
        return [max(p["min_amount"], -(-c * p["pct"] // 100)) for c in p["income_caps"].values()]
    return [10_000 * W]


def resolve(w: World, raw: list[tuple]) -> list[dict]:
    """Generated tuples → concrete movements (every choice made by index, so any tuple is valid). Reversals are
    inserted after what they reverse; an entry is reversed at most once."""
    plain, reversals, reversed_ = [], [], set()
    for kind, ai, oi, amount, di, cpi, xb, repeat in raw:
        for k in range(1 if kind == "reversal" else repeat):  # repeats: the same movement on the following days
            resolve_one(w, plain, reversals, reversed_, kind, w.accounts[ai % len(w.accounts)], oi + k, amount,
                        w.all_days[di] + timedelta(days=k) if di < len(w.days) - k else w.all_days[di], cpi + k, xb)
    return plain + [dict(i=i, day=max(d, plain[i]["day"])) for i, d in reversals]


def resolve_one(w: World, plain: list, reversals: list, reversed_: set, kind: str, acc: Acc, oi: int, amount: int,
                day: date, cpi: int, xb: bool) -> None:
    """One generated movement (``oi`` and ``cpi`` pick the other account / the counterparty)."""
    if kind == "reversal":
        if plain and (oi % len(plain)) not in reversed_:
            reversed_.add(oi % len(plain))
            reversals.append((oi % len(plain), day))
        return
    if kind == "in_out":
        plain.append(move(w, "cash_in", acc, amount, day))
        out_day = min(day + timedelta(days=oi % 2), w.days[-1]) if day in w.days else day
        plain.append(move(w, "outward", acc, amount * (70 + oi % 31) // 100 or 1, out_day, bank="某银行",
                          name=f"对手{cpi}", xb=xb))
    elif kind == "internal":
        same = [a for a in w.accounts if a.cur == acc.cur and a.id != acc.id]
        plain.append(move(w, "internal", acc, amount, day, other=same[oi % len(same)]))
    elif kind == "outward":
        plain.append(move(w, "outward", acc, amount, day, bank=f"银行{cpi % 3}", name=f"对手{cpi}",
                          xb=xb))
    elif kind == "interest" and acc.cur == "CNY":
        plain.append(move(w, "interest", acc, amount % (1_000 * W) + 1, day))
    else:
        plain.append(move(w, "cash_out" if kind == "cash_out" else "cash_in", acc, amount, day))


def insert_resolved(w: World, moves: list[dict]) -> list[Entry]:
    plain = [m for m in moves if "i" not in m]
    entries = insert(w, plain)
    revs = [move(w, "reversal", None, 0, m["day"], reverses=entries[m["i"]]) for m in moves if "i" in m]
    return entries + insert(w, revs)


def rule_params(kind: str) -> st.SearchStrategy:
    money = st.sampled_from(POINTS)
    kinds = st.sampled_from([[], ["person"], ["company"], ["person", "company"]])
    p = {
        "large_value": st.fixed_dictionaries({
            "category": st.sampled_from(["cash", "transfer"]), "cross_border": st.sampled_from([None, True, False]),
            "threshold_cny": money, "threshold_usd": st.sampled_from([10_000 * W, 9_000 * W, 100_000 * W, 1])}),
        "structuring": st.fixed_dictionaries({
            "category": st.sampled_from(["cash", "transfer"]), "base_threshold": money,
            "band_pct": st.integers(50, 99), "window_days": st.integers(1, 5), "min_count": st.integers(2, 4)}),
        "rapid_in_out": st.fixed_dictionaries({
            "window_days": st.integers(1, 4), "min_in": money, "out_pct": st.integers(20, 90)}),
        "dormant": st.fixed_dictionaries({
            "dormant_months": st.sampled_from([6, 12, 13]), "min_amount": st.sampled_from([1, 10_000 * W, 50_000 * W])}),
        "counterparties": st.fixed_dictionaries({
            "window_days": st.integers(1, 4), "min_counterparties": st.integers(2, 6)}),
        "profile": st.fixed_dictionaries({
            "window_days": st.integers(1, 30),
            "income_caps": st.dictionaries(st.sampled_from(rules.INCOME_BANDS), st.sampled_from(POINTS), min_size=1),
            "pct": st.integers(10, 300), "min_amount": money}),
    }[kind]
    return st.tuples(p, kinds)


def check(w: World, rules_: list[tuple[str, str, tuple, dict]], entries: list[Entry],
          objs: list[MonitoringRule] | None = None) -> int:
    """Product vs reference on every evaluated day; returns how many hits there were."""
    n = 0
    for day in w.days:
        got = product_view(monitoring.evaluate(day, rules_=objs) if objs is not None else monitoring.evaluate(day))
        want = set()
        for code, kind, kinds, p in rules_:
            want |= reference(w, code, kind, kinds, p, day, entries)
        assert got == want, (day, sorted(got ^ want))
        n += len(got)
    return n


HYP = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
           derandomize=True)


@pytest.mark.parametrize("kind", list(rules.RULE_KINDS))
def test_rule_kind_matches_reference(world, kind):
    """Every rule kind with generated parameters over generated streams. Counts hits so that a reference that never
    fires would show (the examples must produce some)."""
    fired = []

    @settings(max_examples=40, **HYP)
    @given(st.data())
    def run(data):
        p, kinds = data.draw(rule_params(kind), label="rule")
        raw = data.draw(moves_of(amounts_for(kind, p)), label="moves")
        assert not rules.validate_params(kind, p)
        rule = MonitoringRule(code="T1", version=1, kind=kind, report_kind="suspicious", params=p,
                              customer_kinds=kinds, effective_from=world.d0)
        with transaction.atomic():
            entries = insert_resolved(world, resolve(world, raw))
            fired.append(check(world, [("T1", kind, tuple(kinds), p)], entries, [rule]))
            transaction.set_rollback(True)

    run()
    assert sum(1 for n in fired if n) >= 2, f"too few examples of {kind} fired"


def test_builtin_rules_match_domain_rules(world):
    """The installed built-in rules (all of them at once, as the nightly run evaluates them) against DOMAIN_RULES'
    figures."""
    services.rules_install_builtin(actor=world.bank.admin)
    installed = {r.code: (r.kind, tuple(r.customer_kinds), r.params) for r in MonitoringRule.objects.all()}
    assert installed == BUILTIN
    specs = [(code, kind, kinds, p) for code, (kind, kinds, p) in BUILTIN.items()]
    fired = []

    @settings(max_examples=30, **HYP)
    @given(raw_moves)
    def run(raw):
        with transaction.atomic():
            fired.append(check(world, specs, insert_resolved(world, resolve(world, raw))))
            transaction.set_rollback(True)

    run()
    assert sum(fired) > 0


# ---- Explicit boundaries -----------------------------------------------------------------------------------------------
def _alerts(day: date, code: str | None = None) -> dict[str, Any]:
    return {h.dedupe_key: h for h in monitoring.evaluate(day) if code is None or h.rule_code == code}


def _acc(w: World, cindex: int, cur: str) -> Acc:
    cid = list(w.customers)[cindex]
    return next(a for a in w.accounts if a.cid == cid and a.cur == cur)


LARGE_CASES = {  # code → customer index (person 0 / company 4), how the movement is made
    "0501": (0, "cash_in", "in"),
    "0502": (4, "outward", "out"),
    "0503": (0, "outward", "out"),
    "0504": (0, "outward_xb", "out"),
}


@pytest.mark.parametrize("code", list(LARGE_CASES))
@pytest.mark.parametrize("cur", ["CNY", "USD"])
def test_large_value_threshold_is_inclusive(world, code, cur):
    services.rules_install_builtin(actor=world.bank.admin)
    ci, how, direction = LARGE_CASES[code]
    _kind, _kinds, p = BUILTIN[code]
    threshold = p["threshold_cny" if cur == "CNY" else "threshold_usd"]
    acc = _acc(world, ci, cur)
    day = world.d0
    key = f"{code}:{acc.cid}:{day}:{direction}:{cur}"
    for amount, fires in ((threshold, True), (threshold - 1, False)):
        with transaction.atomic():
            kind = "outward" if how.startswith("outward") else how
            insert(world, [move(world, kind, acc, amount, day, bank="某银行", name="某人", xb=how == "outward_xb")])
            got = _alerts(day, code)
            assert (key in got) is fires, (amount, list(got))
            if fires:
                assert got[key].total_minor == threshold and got[key].threshold_minor == threshold
            transaction.set_rollback(True)


def test_cumulative_within_a_day_but_not_across_midnight(world):
    services.rules_install_builtin(actor=world.bank.admin)
    acc, d0, d1 = _acc(world, 0, "CNY"), world.d0, world.d0 + timedelta(days=1)
    half = 25_000 * W
    with transaction.atomic():
        insert(world, [move(world, "cash_in", acc, half, d0, at=local(d0, time(9))),
                       move(world, "cash_in", acc, half, d0, at=local(d0, time(16)))])
        assert f"0501:{acc.cid}:{d0}:in:CNY" in _alerts(d0, "0501")
        transaction.set_rollback(True)
    with transaction.atomic():  # 23:59:59 on d0 and 00:00:01 on d1, Asia/Shanghai
        insert(world, [move(world, "cash_in", acc, half, d0, at=local(d0, time(23, 59, 59))),
                       move(world, "cash_in", acc, half, d1, at=local(d1, time(0, 0, 1)))])
        assert not _alerts(d0, "0501") and not _alerts(d1, "0501")
        transaction.set_rollback(True)


def test_currencies_and_directions_are_separate(world):
    services.rules_install_builtin(actor=world.bank.admin)
    cny, usd, day = _acc(world, 0, "CNY"), _acc(world, 0, "USD"), world.d0
    with transaction.atomic():
        insert(world, [move(world, "cash_in", cny, 40_000 * W, day), move(world, "cash_in", usd, 9_000 * W, day)])
        assert not _alerts(day, "0501")
        transaction.set_rollback(True)
    with transaction.atomic():
        insert(world, [move(world, "cash_in", cny, 30_000 * W, day), move(world, "cash_out", cny, 30_000 * W, day)])
        assert not _alerts(day, "0501")
        transaction.set_rollback(True)


def test_other_foreign_currency_converts_at_the_days_rate(world):
    """EUR → USD at the rates in force that day (EUR 7.8 until d0+2, then 7.9; USD 7.12, then 7.15 from d0+1),
    rounded down per transaction: an amount just enough on d0+2 is not enough on d0+1."""
    services.rules_install_builtin(actor=world.bank.admin)
    eur = _acc(world, 1, "EUR")
    d1, d2 = world.d0 + timedelta(days=1), world.d0 + timedelta(days=2)
    need = ceil_div(10_000 * W * 7_150_000, 7_900_000)  # smallest EUR amount worth USD 10,000 on d2
    assert rules.usd_minor(need, "EUR", 7_900_000, 7_150_000) == 10_000 * W
    assert rules.usd_minor(need - 1, "EUR", 7_900_000, 7_150_000) == 10_000 * W - 1
    assert monitoring.day_rates(d1) == {"USD": 7_150_000, "EUR": 7_800_000}
    assert monitoring.day_rates(d2) == {"USD": 7_150_000, "EUR": 7_900_000}
    for day, amount, fires in ((d2, need, True), (d2, need - 1, False), (d1, need, False)):
        with transaction.atomic():
            insert(world, [move(world, "cash_in", eur, amount, day)])
            got = _alerts(day, "0501")
            key = f"0501:{eur.cid}:{day}:in:USD"
            assert (key in got) is fires, (day, amount)
            if fires:
                assert got[key].total_minor == 10_000 * W
            transaction.set_rollback(True)


def test_reversals_are_not_counted(world):
    services.rules_install_builtin(actor=world.bank.admin)
    acc, day = _acc(world, 0, "CNY"), world.d0
    with transaction.atomic():
        (orig,) = insert(world, [move(world, "cash_in", acc, 50_000 * W, day)])
        insert(world, [move(world, "reversal", acc, 0, day, reverses=orig)])
        got = _alerts(day, "0501")
        # the deposit still happened (it is reported); its reversal is no cash withdrawal
        assert set(got) == {f"0501:{acc.cid}:{day}:in:CNY"}
        assert got[f"0501:{acc.cid}:{day}:in:CNY"].entry_ids == (orig.id,)
        transaction.set_rollback(True)


def test_rule_version_applies_from_its_effective_date(world):
    """v2 of 0501 (threshold CNY 30,000) in force from d0+1: 40,000 cash fires on d0+1, not on d0."""
    services.rules_install_builtin(actor=world.bank.admin)
    d0, d1 = world.d0, world.d0 + timedelta(days=1)
    v1 = MonitoringRule.objects.get(code="0501")
    MonitoringRule.objects.filter(pk=v1.pk).update(effective_to=d1)
    MonitoringRule.objects.create(code="0501", version=2, name=v1.name, kind=v1.kind, report_kind=v1.report_kind,
                                  params={**v1.params, "threshold_cny": 30_000 * W}, customer_kinds=[],
                                  effective_from=d1)
    acc = _acc(world, 0, "CNY")
    insert(world, [move(world, "cash_in", acc, 40_000 * W, d0), move(world, "cash_in", acc, 40_000 * W, d1)])
    assert not _alerts(d0, "0501")
    got = _alerts(d1, "0501")
    assert list(got) == [f"0501:{acc.cid}:{d1}:in:CNY"] and got[f"0501:{acc.cid}:{d1}:in:CNY"].figures[
        "rule_version"] == 2
    assert [r.version for r in monitoring.rules_in_force(d0) if r.code == "0501"] == [1]
    assert [r.version for r in monitoring.rules_in_force(d1) if r.code == "0501"] == [2]


# ---- Real time and nightly ------------------------------------------------------------------------------------------------
def test_realtime_and_nightly_raise_the_same_alerts(world):
    """Post through the ledger services (outbox events), consume them with risk_monitor; then the nightly run for
    the same dates adds nothing; from scratch the nightly run alone raises the same alerts."""
    services.rules_install_builtin(actor=world.bank.admin)
    teller = world.bank.om_a1
    p0, p1, company, person6 = _acc(world, 0, "CNY"), _acc(world, 1, "CNY"), _acc(world, 4, "CNY"), _acc(world, 6, "CNY")
    usd = _acc(world, 0, "USD")
    box = {c: world.internal[("cash", c)].id for c in ("CNY", "USD")}
    clearing = world.internal[("clearing", "CNY")].id
    K = ledger.K
    days = world.days[:3]
    plan = []
    for i, day in enumerate(days):
        plan += [
            (day, ledger.Movement(kind=K.CASH_DEPOSIT, amount_fen=46_000 * W, currency="CNY", debit_id=box["CNY"],
                                  credit_id=p0.id)),                                          # S01 over 3 days, 0501
            (day, ledger.Movement(kind=K.CASH_DEPOSIT, amount_fen=5_000 * W, currency="USD", debit_id=box["USD"],
                                  credit_id=usd.id)),                                         # below 0501 each day
            (day, ledger.Movement(kind=K.CASH_DEPOSIT, amount_fen=3_000_000 * W, currency="CNY",
                                  debit_id=box["CNY"], credit_id=company.id)),
            (day, ledger.Movement(kind=K.OUTWARD, amount_fen=(2_000_000 + i) * W, currency="CNY", debit_id=company.id,
                                  credit_id=clearing, counterparty_bank="某银行", counterparty_name="某公司",
                                  counterparty_account="6222000011112222")),                  # 0502 every day
            (day, ledger.Movement(kind=K.CASH_DEPOSIT, amount_fen=300_000 * W, currency="CNY", debit_id=box["CNY"],
                                  credit_id=p1.id)),
            (day, ledger.Movement(kind=K.INTERNAL, amount_fen=280_000 * W, currency="CNY", debit_id=p1.id,
                                  credit_id=person6.id)),                                     # S02 (p1), S05 (p1 inflow)
        ]
    for day, mv in plan:
        with transaction.atomic():
            ledger.post(mv, maker=teller, today=day)
    while outbox.consume("risk_monitor"):
        pass
    realtime = dict(Alert.objects.values_list("dedupe_key", "source"))
    assert realtime and set(realtime.values()) == {"realtime"}
    codes = {k.split(":")[0] for k in realtime}
    assert {"0501", "0502", "S01", "S02", "S05"} <= codes, codes
    for day in days:
        run = services.monitoring_run(day=day)
        assert run.changes == 0
    assert dict(Alert.objects.values_list("dedupe_key", "source")) == realtime
    Alert.objects.all().delete()
    BatchRun.objects.all().delete()
    for day in days:
        services.monitoring_run(day=day)
    nightly = dict(Alert.objects.values_list("dedupe_key", "source"))
    assert set(nightly) == set(realtime) and set(nightly.values()) == {"batch"}
