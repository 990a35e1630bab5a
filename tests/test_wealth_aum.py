"""AUM snapshots as of the end of a day (issue #6): deposits from the postings, wealth from settled sales, redemptions
and maturities at the NAV of the day, USD at the rate of the day, tiers from the thresholds in force.

The history is made through the services over five days (the clock moved with freezegun): deposits, a withdrawal, a
USD account and an FX rate change, a fund bought with a fee, a closed-end product that matures, a private sale that
settles after its cooling-off, a time deposit bought on the shelf, insurance, a partial redemption, NAV changes and a
change of the affluent threshold. The snapshots are compared with a plain reference that replays the rows event by
event, with hand-computed figures, and (for today) with the simple current-balances computation.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from freezegun import freeze_time

from bankcrm.core.services import parameter_set
from bankcrm.customers import services as customer_services
from bankcrm.ledger import services as ledger
from bankcrm.ledger.models import Account, FxRate, Posting, Product
from bankcrm.ledger.rules import to_cny_fen
from bankcrm.risk import suitability as suit
from bankcrm.wealth import aum, rules, services
from bankcrm.wealth.models import (
    NAV_ONE,
    AumSnapshot,
    Holding,
    Payout,
    ProductNav,
    Redemption,
    Sale,
    WealthProduct,
)
from tests.ledger_helpers import build_ledger, fund
from tests.wealth_helpers import CNY, assess, product

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _at(day: date, hour: int = 11) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SH)


def _buy(actor, customer, prod, account, amount_fen, *, elderly=False, initiated=False):
    s = services.sale_propose(actor=actor, customer_id=customer.pk, product_id=prod.pk, account_id=account.pk,
                              amount_fen=amount_fen, customer_initiated=initiated)
    rec = {}
    if elderly:
        rec = dict(recording_id=f"SL-{s.pk}", recording_booth="甲一支行双录区1",
                   recorded_at=timezone.now() - timedelta(minutes=5))
    services.sale_confirm(actor=actor, sale_id=s.pk, disclosure_confirmed=True, **rec)
    s.refresh_from_db()
    return s


@pytest.fixture
def history(bank):
    """Five days D0..D4 (D4 = today) of history through the services. Returns the days and the actors' objects."""
    today = timezone.localdate()
    days = [today - timedelta(days=4 - i) for i in range(5)]
    d0, d1, d2, d3, d4 = days
    out = {"days": days}
    with freeze_time(_at(d0)) as clock:
        led = build_ledger(bank)
        suit.questionnaire_install_default(actor=bank.admin)
        assess(bank, led.zhang, 4)   # born 1948: elderly
        assess(bank, led.li, 3)
        for c in (led.zhang, led.li):
            customer_services.consent_grant(actor=bank.cm_a1, customer_id=c.pk, purpose="marketing", channel="branch",
                                            evidence="营销同意书")
        fund(led.zhang_cny, 1_200_000 * CNY, teller=bank.om_a1)
        fund(led.li_cny, 300_000 * CNY, teller=bank.om_a1)
        fund(led.wang_cny, 80_000 * CNY, teller=bank.om_b1)
        ledger.cash_box_open(actor=bank.om_a1, currency="USD")
        li_usd = ledger.account_open(actor=bank.om_a1, customer_id=led.li.pk, product_id=Product.objects.get(code="D-USD").pk)
        fund(li_usd, 2_000 * CNY, teller=bank.om_a1)  # USD 2,000.00 at 7.12 (the bootstrap rate)
        ledger.fx_rate_set(actor=bank.admin, currency="USD", rate_micro=7_200_000, effective_date=d2)
        # The affluent threshold drops to 200,000 yuan from the start of D2.
        parameter_set(actor=bank.admin, code="wealth.tier.affluent", value=200_000 * CNY,
                      effective_from=datetime.combine(d2, time.min, tzinfo=SH), reason="测试：调整富裕客户标准")
        fnd = product(bank, "FD-R3", level=3, kind="fund", subscribe_fee_bp=100, redeem_fee_bp=50)
        ce = product(bank, "WM-CE", level=2, open_ended=False, sales_end=d1, maturity_date=d3)
        ins = product(bank, "INS-1", level=2, kind="insurance")
        dep = product(bank, "TD-1Y", kind="deposit")
        priv = product(bank, "PE-R3", level=3, private=True, min_amount_fen=1_000_000 * CNY)
        services.qualified_investor_certify(actor=bank.cm_a1, customer_id=led.zhang.pk, basis="assets",
                                            experience_years=5, evidence="资产证明 ZC-2026-001")
        services.nav_set(actor=bank.admin, product_id=fnd.pk, nav_date=d0, nav_x10000=NAV_ONE)
        services.nav_set(actor=bank.admin, product_id=ce.pk, nav_date=d0, nav_x10000=NAV_ONE)
        # li buys the fund: 100,000 with a 1% fee → 99,000.00 units at 1.0000
        _buy(bank.cm_a1, led.li, fnd, led.li_cny, 100_000 * CNY)

        clock.move_to(_at(d1))
        _buy(bank.cm_a1, led.zhang, ce, led.zhang_cny, 200_000 * CNY)            # 200,000.00 units at 1.0000
        _buy(bank.cm_a1, led.li, dep, led.li_cny, 50_000 * CNY)                  # a time deposit: a ledger account
        held = _buy(bank.cm_a1, led.zhang, priv, led.zhang_cny, 1_000_000 * CNY, elderly=True, initiated=True)
        assert held.status == Sale.Status.HELD                                   # cooling off until D2 11:00

        clock.move_to(_at(d2))
        services.nav_set(actor=bank.admin, product_id=fnd.pk, nav_date=d2, nav_x10000=10_500)
        services.nav_set(actor=bank.admin, product_id=ce.pk, nav_date=d2, nav_x10000=10_100)
        clock.move_to(_at(d2, 12))
        assert services.settle_due() == 1                                        # the private sale settles on D2
        with transaction.atomic():
            ledger.post(ledger.cash_withdrawal_movement(actor=bank.om_a1, account_id=led.li_cny.pk,
                                                        amount_fen=20_000 * CNY), maker=bank.om_a1)
        _buy(bank.cm_a1, led.li, ins, led.li_cny, 30_000 * CNY)                  # insurance at premium

        clock.move_to(_at(d3))
        services.nav_set(actor=bank.admin, product_id=fnd.pk, nav_date=d3, nav_x10000=9_800)
        h = Holding.objects.get(customer=led.li, product=fnd)
        services.redemption_request(actor=bank.cm_a1, holding_id=h.pk, units_x100=40_000 * 100)
        assert services.maturity_run(today=d3) == 1                              # the closed-end product pays out

        clock.move_to(_at(d4))
        _buy(bank.cm_a1, led.zhang, fnd, led.zhang_cny, 50_000 * CNY, elderly=True)
    out.update(led=led, li_usd=li_usd, fnd=fnd, ce=ce, ins=ins, dep=dep, priv=priv)
    return out


# ---- The reference: plain Python over the rows, event by event -------------------------------------------------------
def _rate(currency: str, day: date) -> int:
    rates = sorted((r.effective_date, r.rate_micro) for r in FxRate.objects.filter(currency=currency))
    return [r for d, r in rates if d <= day][-1]


def reference(day: date, threshold_change: date) -> dict[int, tuple[int, int, str]]:
    """{customer id: (deposits, wealth, tier)} at the end of ``day``, computed the slow, obvious way (the affluent
    line is 500,000 yuan before ``threshold_change`` and 200,000 from then; private banking 6,000,000)."""
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=SH)
    by_cur: dict[tuple[int, str], int] = defaultdict(int)
    for acc in Account.objects.filter(kind="customer"):
        for p in Posting.objects.filter(account=acc):
            if p.business_date <= day:
                by_cur[(acc.customer_id, acc.currency)] += p.amount_fen if p.side == acc.normal_side else -p.amount_fen
    deposits: dict[int, int] = defaultdict(int)
    for (cid, cur), v in by_cur.items():
        deposits[cid] += v if cur == "CNY" else to_cny_fen(v, cur, _rate(cur, day))
    events = []  # (when, customer, product, units delta, cost delta, closes)
    for s in Sale.objects.filter(status="settled").select_related("product"):
        if s.product.kind != "deposit":
            events.append((s.settled_at, s.customer_id, s.product_id, s.units_x100, s.amount_fen, False))
    for r in Redemption.objects.select_related("holding"):
        events.append((r.created_at, r.holding.customer_id, r.holding.product_id, -r.units_x100, 0, False))
    for p in Payout.objects.filter(kind="maturity").select_related("holding"):
        events.append((p.created_at, p.holding.customer_id, p.holding.product_id, 0, 0, True))
    pos: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for when, cid, pid, du, dc, closes in sorted(events, key=lambda e: e[0]):
        if when >= end:
            continue
        if closes:
            pos[(cid, pid)] = [0, 0]
        else:
            pos[(cid, pid)][0] += du
            pos[(cid, pid)][1] += dc
    wealth: dict[int, int] = defaultdict(int)
    for (cid, pid), (units, cost) in pos.items():
        prod = WealthProduct.objects.get(pk=pid)
        if prod.kind in ("wealth", "fund"):
            navs = [n.nav_x10000 for n in sorted(ProductNav.objects.filter(product=prod), key=lambda n: n.nav_date)
                    if n.nav_date <= day]
            wealth[cid] += units * (navs[-1] if navs else NAV_ONE) // NAV_ONE
        else:
            wealth[cid] += cost
    out = {}
    for cid in set(deposits) | set(wealth):
        total = deposits[cid] + wealth[cid]
        affluent = 200_000 * CNY if day >= threshold_change else 500_000 * CNY
        tier = "private" if total >= 6_000_000 * CNY else "affluent" if total >= affluent else "mass"
        out[cid] = (deposits[cid], wealth[cid], tier)
    return out


def current_figures() -> dict[int, tuple[int, int]]:
    """The simple current-balances computation (what the snapshot for today must equal): balances of the accounts
    that are not closed, active holdings at the latest NAV, insurance at cost."""
    from bankcrm.wealth.selectors import latest_navs

    deposits: dict[int, int] = defaultdict(int)
    for a in Account.objects.filter(kind="customer").exclude(status="closed"):
        deposits[a.customer_id] += a.balance_fen if a.currency == "CNY" else ledger.to_cny(a.balance_fen, a.currency)
    holdings = list(Holding.objects.filter(status="active", deposit_account__isnull=True).select_related("product"))
    navs = latest_navs(sorted({h.product_id for h in holdings}))
    wealth: dict[int, int] = defaultdict(int)
    for h in holdings:
        v = rules.value_of(h.units_x100, navs[h.product_id]) if h.product.nav_based else h.cost_fen
        wealth[h.customer_id] += v if h.product.currency == "CNY" else ledger.to_cny(v, h.product.currency)
    return {c: (deposits[c], wealth[c]) for c in set(deposits) | set(wealth)}


def _snap(day: date) -> dict[int, tuple[int, int, str]]:
    return {r.customer_id: (r.deposits_fen, r.wealth_fen, r.tier) for r in AumSnapshot.objects.filter(day=day)}


# ---- Tests ----------------------------------------------------------------------------------------------------------
def test_as_of_matches_reference_every_day(history, bank):
    days, led = history["days"], history["led"]
    assert aum.backfill(days=5) == 5 * 3
    for day in days:
        snap, ref = _snap(day), reference(day, days[2])
        assert set(snap) == {led.zhang.pk, led.li.pk, led.wang.pk}
        for cid, row in snap.items():
            assert row == ref.get(cid, (0, 0, "mass")), (day, cid)
        for r in AumSnapshot.objects.filter(day=day):
            assert r.total_fen == r.deposits_fen + r.wealth_fen
            assert r.manager_id == (bank.cm_a1.pk if r.customer_id != led.wang.pk else bank.cm_b1.pk)


def test_hand_computed_figures(history):
    """The same days computed by hand from the story in the fixture."""
    d0, d1, d2, d3, d4 = history["days"]
    led = history["led"]
    aum.backfill(days=5)
    z, li, wang = led.zhang.pk, led.li.pk, led.wang.pk
    usd_d0, usd_d2 = 2_000 * 712 * CNY // 100, 2_000 * 720 * CNY // 100   # 14,240.00 and 14,400.00 yuan
    fund_units_li = 99_000 * 100                                           # (100,000 − 1% fee) at 1.0000
    # D0: zhang 1,200,000 in cash; li 300,000 − 100,000 to the fund + USD; the fund at 1.0000
    assert _snap(d0)[z] == (1_200_000 * CNY, 0, "affluent")
    assert _snap(d0)[li] == (200_000 * CNY + usd_d0, 99_000 * CNY, "mass")
    assert _snap(d0)[wang] == (80_000 * CNY, 0, "mass")
    # D1: zhang bought the closed-end product (200,000); the private sale is only held (still a deposit); li moved
    # 50,000 into a time deposit (still a deposit)
    assert _snap(d1)[z] == (1_000_000 * CNY, 200_000 * CNY, "affluent")
    assert _snap(d1)[li] == (200_000 * CNY + usd_d0, 99_000 * CNY, "mass")
    # D2: the private sale settled (1,000,000 at 1.0000, no NAV published); the closed-end NAV is 1.0100; the fund's
    # 1.0500; li withdrew 20,000 and paid a 30,000 premium; USD at 7.20; the affluent line is now 200,000
    assert _snap(d2)[z] == (0, 202_000 * CNY + 1_000_000 * CNY, "affluent")
    fund_li_d2 = fund_units_li * 10_500 // NAV_ONE
    assert _snap(d2)[li] == (150_000 * CNY + usd_d2, fund_li_d2 + 30_000 * CNY, "affluent")
    # D3: li redeemed 40,000 units at 0.9800 less 0.5%; the closed-end product matured and paid 202,000 to zhang
    gross = 40_000 * 100 * 9_800 // NAV_ONE
    paid = gross - rules.fee(gross, 50)
    assert _snap(d3)[z] == (202_000 * CNY, 1_000_000 * CNY, "affluent")
    assert _snap(d3)[li] == (150_000 * CNY + usd_d2 + paid, (fund_units_li - 40_000 * 100) * 9_800 // NAV_ONE
                             + 30_000 * CNY, "affluent")
    # D4 (today): zhang bought 50,000 of the fund (1% fee) at 0.9800
    z_units = rules.units_for(49_500 * CNY, 9_800)
    assert _snap(d4)[z] == (152_000 * CNY, 1_000_000 * CNY + z_units * 9_800 // NAV_ONE, "affluent")
    assert _snap(d4)[wang] == (80_000 * CNY, 0, "mass")


def test_today_equals_current_balances(history):
    aum.snapshot_run()
    today = timezone.localdate()
    current = current_figures()
    snap = _snap(today)
    assert snap and {c: (d, w) for c, (d, w, _t) in snap.items()} == {c: current.get(c, (0, 0)) for c in snap}
    # and equals what the holdings show right now
    assert Holding.objects.filter(status="active").exists()


def test_rerun_replaces_exactly_the_day(history):
    d1 = history["days"][1]
    aum.backfill(days=5)
    before = {d: _snap(d) for d in history["days"]}
    assert aum.snapshot_run(day=d1) == 3
    assert AumSnapshot.objects.count() == 15
    assert {d: _snap(d) for d in history["days"]} == before


def test_killed_half_way_then_rerun(history, monkeypatch):
    """Chunks of one customer; the run dies while writing the second chunk; a re-run leaves one row per customer with
    the same figures as an uninterrupted run. A row of a customer closed since is removed too."""
    day = history["days"][2]
    aum.snapshot_run(day=day)
    clean = _snap(day)
    AumSnapshot.objects.filter(day=day).update(deposits_fen=-1)  # stale figures from an earlier run
    monkeypatch.setattr(aum, "CHUNK", 1)
    real = AumSnapshot.objects.bulk_create
    calls = {"n": 0}

    def dying(rows, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("killed")
        return real(rows, **kw)

    monkeypatch.setattr(AumSnapshot.objects, "bulk_create", dying)
    with pytest.raises(KeyboardInterrupt):
        aum.snapshot_run(day=day)
    assert AumSnapshot.objects.filter(day=day).count() == 3
    monkeypatch.setattr(AumSnapshot.objects, "bulk_create", real)
    assert aum.snapshot_run(day=day) == 3
    assert _snap(day) == clean
    from bankcrm.customers.models import Customer

    Customer.objects.filter(pk=history["led"].wang.pk).update(status="closed")
    aum.snapshot_run(day=day)
    assert set(_snap(day)) == set(clean) - {history["led"].wang.pk}


def test_set_based_query_count(history, bank):
    """The number of queries does not grow with the customers (no query per customer or account)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.ledger_helpers import ric

    day = history["days"][3]
    with CaptureQueriesContext(connection) as q1:
        aum.snapshot_run(day=day)
    demand = Product.objects.get(code="D-CNY")
    for i in range(6):
        c = customer_services.customer_register(actor=bank.cm_a1, kind="person", name=f"新客户{i}", id_type="resident_id",
                                                id_number=ric("19700101", f"{200 + i}"), mobile="13812345678",
                                                branch_id=bank.a1.pk, primary_manager_id=bank.cm_a1.pk)
        acc = ledger.account_open(actor=bank.om_a1, customer_id=c.pk, product_id=demand.pk)
        fund(acc, (i + 1) * 10_000 * CNY, teller=bank.om_a1)
    with CaptureQueriesContext(connection) as q2:
        assert aum.snapshot_run(day=day) == 9
    assert len(q2.captured_queries) == len(q1.captured_queries)


def test_nightly_writes_yesterday_and_today(history):
    aum.nightly()
    today = timezone.localdate()
    assert set(AumSnapshot.objects.values_list("day", flat=True).distinct()) == {today - timedelta(days=1), today}


def _balance_after_variant(day: date) -> dict[int, int]:
    """The broken variant: each account's ``balance_after_fen`` of its last posting on or before the day (CNY only
    here). Wrong once a posting is made later with an earlier business date."""
    out: dict[int, int] = defaultdict(int)
    for acc in Account.objects.filter(kind="customer", currency="CNY"):
        last = Posting.objects.filter(account=acc, business_date__lte=day).order_by("-business_date", "-id").first()
        out[acc.customer_id] += last.balance_after_fen if last else 0
    return out


def test_backdated_posting_and_the_broken_variant(history, bank):
    """A posting made today with an earlier business date (the ledger allows it, the risk demo does it) counts from its
    business date on. The reference and the snapshot agree; the balance-after-last-posting variant does not, and
    neither does using today's balances for a past day — so this test can fail."""
    days, led = history["days"], history["led"]
    with transaction.atomic():
        ledger.post(ledger.cash_deposit_movement(actor=bank.om_b1, account_id=led.wang_cny.pk, amount_fen=7_000 * CNY),
                    maker=bank.om_b1, today=days[1])
    aum.backfill(days=5)
    for day in days:
        assert _snap(day) == {c: reference(day, days[2]).get(c, (0, 0, "mass")) for c in _snap(day)}
    assert _snap(days[0])[led.wang.pk][0] == 80_000 * CNY
    assert _snap(days[1])[led.wang.pk][0] == 87_000 * CNY
    # Today's balances are not the figures of a past day:
    current = current_figures()
    assert any(current[c][:2] != reference(days[0], days[2])[c][:2] for c in current)
    # A second backdated posting to D0, made after the D1 one: balance-after says 94,000 for D0 (it saw the D1
    # posting), the truth is 87,000.
    with transaction.atomic():
        ledger.post(ledger.cash_deposit_movement(actor=bank.om_b1, account_id=led.wang_cny.pk, amount_fen=7_000 * CNY),
                    maker=bank.om_b1, today=days[0])
    aum.snapshot_run(day=days[0])
    assert _snap(days[0])[led.wang.pk][0] == 87_000 * CNY == reference(days[0], days[2])[led.wang.pk][0]
    assert _balance_after_variant(days[0])[led.wang.pk] == 94_000 * CNY
