"""Money back to the customer (issue #6: redemption, maturity and income distribution post through the ledger; NAVs
per product and day): redemption fees, units and cost share against hand-computed figures, closing at zero, what
cannot be redeemed; maturity and income distribution pay each holder once however often they run; the rules for
setting and correcting a NAV."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.ledger.models import Account, JournalEntry
from bankcrm.ledger.selectors import invariant_report
from bankcrm.wealth import selectors, services
from bankcrm.wealth.models import NAV_ONE, Holding, Payout, ProductNav, Redemption
from tests.helpers import audit_seq, verbs_since
from tests.wealth_helpers import CNY, build_wealth, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(bank):
    return build_wealth(bank)


def buy(w, customer, account, p, amount_fen):
    bank = w.bank
    s = services.sale_propose(actor=bank.cm_a1, customer_id=customer.pk, product_id=p.pk, account_id=account.pk,
                              amount_fen=amount_fen)
    rec = {}
    if s.recording_required:
        rec = dict(recording_id=f"SL-{s.pk}", recording_booth="甲一支行双录区1",
                   recorded_at=timezone.now() - timedelta(minutes=1))
    s = services.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True, **rec)
    s.refresh_from_db()
    assert s.status == "settled"
    return s


def balance(acc) -> int:
    return Account.objects.get(pk=acc.pk).balance_fen


# ---- Redemption --------------------------------------------------------------------------------------------------------
def test_redemption_fees_units_cost_share_and_close_at_zero(w):
    bank, acc = w.bank, w.ledger.li_cny
    today = timezone.localdate()
    fund = product(bank, "FD-R2", level=2, kind="fund", min_amount_fen=1_000 * CNY, step_fen=CNY,
                   subscribe_fee_bp=150, redeem_fee_bp=50)
    services.nav_set(actor=bank.om_a1, product_id=fund.pk, nav_date=today - timedelta(days=1), nav_x10000=12_500)
    s = buy(w, w.li, acc, fund, 20_000 * CNY)
    # 20,000.00 yuan, fee 1.5 % = 300.00 inside the amount; 19,700.00 at NAV 1.2500 buys 15,760.00 units
    assert (s.fee_fen, s.nav_x10000, s.units_x100) == (30_000, 12_500, 1_576_000)
    h = Holding.objects.get(customer=w.li, product=fund)
    assert (h.units_x100, h.cost_fen) == (1_576_000, 2_000_000)

    services.nav_set(actor=bank.om_a1, product_id=fund.pk, nav_date=today, nav_x10000=13_107)
    before = balance(acc)
    seq = audit_seq()
    r = services.redemption_request(actor=bank.cm_a1, holding_id=h.pk, units_x100=500_000)
    # 5,000.00 units at 1.3107 = 6,553.50 yuan; fee 0.5 % = 32.7675 → 32.77; paid 6,520.73
    assert (r.nav_x10000, r.gross_fen, r.fee_fen) == (13_107, 655_350, 3_277)
    assert balance(acc) - before == 652_073
    entry = JournalEntry.objects.get(pk=r.entry_id)
    assert (entry.kind, entry.amount_fen, entry.credit_account_id) == ("wm_redeem", 652_073, acc.pk)
    h.refresh_from_db()
    # cost carried by 5,000 of 15,760 units: 20,000.00 × 5000/15760 = 6,345.1776 → 6,345.17
    assert (h.units_x100, h.cost_fen, h.status) == (1_076_000, 2_000_000 - 634_517, "active")
    assert verbs_since(seq) == ["wealth.redeemed"]

    r2 = services.redemption_request(actor=bank.cm_a1, holding_id=h.pk, units_x100=1_076_000)
    # the rest: 10,760.00 units × 1.3107 = 14,103.132 → 14,103.13; fee 70.515… → 70.52; paid 14,032.61
    assert (r2.gross_fen, r2.fee_fen) == (1_410_313, 7_052)
    assert balance(acc) - before == 652_073 + 1_403_261
    h.refresh_from_db()
    assert (h.units_x100, h.cost_fen, h.status) == (0, 0, "closed") and h.closed_at
    with pytest.raises(RuleViolation) as e:
        services.redemption_request(actor=bank.cm_a1, holding_id=h.pk, units_x100=1)
    assert e.value.code == "holding_closed"
    assert Redemption.objects.filter(holding=h).count() == 2
    assert not any(invariant_report().values())


def test_redemption_input_and_what_cannot_be_redeemed(w):
    bank, acc = w.bank, w.ledger.li_cny
    today = timezone.localdate()
    closed = product(bank, "WM-CL", level=2, open_ended=False, min_amount_fen=1_000 * CNY, step_fen=CNY,
                     sales_end=today + timedelta(days=5), maturity_date=today + timedelta(days=30))
    ins = product(bank, "INS-1", level=1, kind="insurance", min_amount_fen=1_000 * CNY, step_fen=CNY)
    opened = buy(w, w.li, acc, w.products["R2"], 20_000 * CNY)
    for p in (closed, ins, w.products["DEP"]):
        buy(w, w.li, acc, p, 10_000 * CNY)
    seq = audit_seq()
    for p in (closed, ins, w.products["DEP"]):
        h = Holding.objects.get(customer=w.li, product=p)
        with pytest.raises(RuleViolation) as e:
            services.redemption_request(actor=bank.cm_a1, holding_id=h.pk, units_x100=100)
        assert e.value.code == "not_redeemable", p.code
    h = Holding.objects.get(customer=w.li, product=w.products["R2"])
    assert h.units_x100 == opened.units_x100 == 2_000_000  # no NAV published: 1.0000
    for units, code in ((0, "units_x100_invalid"), (-5, "units_x100_invalid"), ("x", "units_x100_invalid"),
                        (True, "units_x100_invalid"), (2_000_001, "units_exceed")):
        with pytest.raises(ValidationFailed) as e:
            services.redemption_request(actor=bank.cm_a1, holding_id=h.pk, units_x100=units)
        assert e.value.code == code and "units_x100" in e.value.fields, units
    with pytest.raises(NotFound):
        services.redemption_request(actor=bank.cm_b1, holding_id=h.pk, units_x100=100)  # another branch's manager
    with pytest.raises(PermissionDenied):
        services.redemption_request(actor=bank.supervisor_a, holding_id=h.pk, units_x100=100)  # no capability
    assert verbs_since(seq) == []
    h.refresh_from_db()
    assert h.units_x100 == 2_000_000 and not Redemption.objects.exists()


# ---- Maturity ----------------------------------------------------------------------------------------------------------
def test_maturity_pays_each_holder_once(w):
    bank = w.bank
    today = timezone.localdate()
    maturity = today + timedelta(days=30)
    p = product(bank, "WM-MT", level=2, open_ended=False, min_amount_fen=1_000 * CNY, step_fen=CNY,
                sales_end=today + timedelta(days=5), maturity_date=maturity)
    services.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=today, nav_x10000=10_350)
    s_li = buy(w, w.li, w.ledger.li_cny, p, 10_000 * CNY)
    s_zh = buy(w, w.zhang, w.ledger.zhang_cny, p, 30_000 * CNY)
    assert (s_li.units_x100, s_zh.units_x100) == (966_183, 2_898_550)  # 10,000 / 1.035, 30,000 / 1.035, rounded down
    b_li, b_zh = balance(w.ledger.li_cny), balance(w.ledger.zhang_cny)
    assert services.maturity_run(today=maturity - timedelta(days=1)) == 0
    assert services.maturity_run(today=maturity) == 2
    assert services.maturity_run(today=maturity) == 0  # run twice: pays nothing more
    assert services.maturity_run(today=maturity + timedelta(days=3)) == 0
    # units × NAV on the maturity date (the latest published: 1.0350), rounded down to the fen
    assert balance(w.ledger.li_cny) - b_li == 999_999
    assert balance(w.ledger.zhang_cny) - b_zh == 2_999_999
    payouts = Payout.objects.filter(holding__product=p)
    assert sorted(payouts.values_list("kind", "event_key", "amount_fen")) == [
        ("maturity", maturity.isoformat(), 999_999), ("maturity", maturity.isoformat(), 2_999_999)]
    assert all(po.entry and po.entry.kind == "wm_payout" and po.entry.amount_fen == po.amount_fen for po in payouts)
    assert set(Holding.objects.filter(product=p).values_list("status", flat=True)) == {"closed"}
    assert not any(invariant_report().values())


def test_insurance_matures_without_payment_and_deposits_are_left_to_the_ledger(w):
    bank = w.bank
    ins = product(bank, "INS-2", level=1, kind="insurance", min_amount_fen=1_000 * CNY, step_fen=CNY)
    buy(w, w.li, w.ledger.li_cny, ins, 5_000 * CNY)
    buy(w, w.li, w.ledger.li_cny, w.products["DEP"], 10_000 * CNY)
    entries = JournalEntry.objects.count()
    assert services.maturity_run(today=ins.maturity_date) == 1
    assert services.maturity_run(today=ins.maturity_date) == 0
    h = Holding.objects.get(customer=w.li, product=ins)
    assert h.status == "closed"
    po = Payout.objects.get(holding=h)
    assert po.amount_fen == 0 and po.entry_id is None and JournalEntry.objects.count() == entries
    assert Holding.objects.get(customer=w.li, product=w.products["DEP"]).status == "active"


# ---- Income distribution -----------------------------------------------------------------------------------------------
def test_distribution_pays_each_holder_once(w):
    bank = w.bank
    today = timezone.localdate()
    p = product(bank, "FD-DV", level=2, kind="fund", min_amount_fen=1_000 * CNY, step_fen=CNY)
    buy(w, w.li, w.ledger.li_cny, p, 20_000 * CNY)     # 20,000.00 units at 1.0000
    buy(w, w.zhang, w.ledger.zhang_cny, p, 35_000 * CNY)
    gone = product(bank, "FD-GN", level=2, kind="fund", min_amount_fen=1_000 * CNY, step_fen=CNY)
    buy(w, w.li, w.ledger.li_cny, gone, 1_000 * CNY)
    b_li, b_zh = balance(w.ledger.li_cny), balance(w.ledger.zhang_cny)
    seq = audit_seq()
    r = services.distribution_run(actor=bank.om_a1, product_id=p.pk, record_date=today, per_unit_x10000=235)
    # 0.0235 yuan per unit: 20,000 units → 470.00; 35,000 units → 822.50
    assert r == {"holders": 2, "paid": 2, "total_fen": 47_000 + 82_250}
    assert balance(w.ledger.li_cny) - b_li == 47_000 and balance(w.ledger.zhang_cny) - b_zh == 82_250
    assert verbs_since(seq).count("wealth.paid_out") == 3  # one per holder, one for the run
    again = services.distribution_run(actor=bank.om_a1, product_id=p.pk, record_date=today, per_unit_x10000=235)
    assert again == {"holders": 2, "paid": 0, "total_fen": 0}
    assert balance(w.ledger.li_cny) - b_li == 47_000 and balance(w.ledger.zhang_cny) - b_zh == 82_250
    assert Payout.objects.filter(holding__product=p, kind="income").count() == 2
    # holders on the record date only: yesterday nobody held it
    assert services.distribution_run(actor=bank.om_a1, product_id=p.pk, record_date=today - timedelta(days=1),
                                     per_unit_x10000=235)["holders"] == 0
    # a holding redeemed to zero is not paid
    h = Holding.objects.get(customer=w.li, product=gone)
    services.redemption_request(actor=bank.cm_a1, holding_id=h.pk, units_x100=h.units_x100)
    assert services.distribution_run(actor=bank.om_a1, product_id=gone.pk, record_date=today,
                                     per_unit_x10000=100)["holders"] == 0
    assert not any(invariant_report().values())


def test_distribution_input_rules(w):
    bank = w.bank
    today = timezone.localdate()
    p = w.products["R2"]
    for kw, code in ((dict(per_unit_x10000=0), "per_unit_x10000_invalid"),
                     (dict(per_unit_x10000="abc"), "per_unit_x10000_invalid"),
                     (dict(record_date=today + timedelta(days=1)), "record_date_invalid")):
        with pytest.raises(ValidationFailed) as e:
            services.distribution_run(actor=bank.om_a1, product_id=p.pk, **{"record_date": today,
                                                                             "per_unit_x10000": 100, **kw})
        assert e.value.code == code, kw
    with pytest.raises(RuleViolation) as e:
        services.distribution_run(actor=bank.om_a1, product_id=w.products["DEP"].pk, record_date=today,
                                  per_unit_x10000=100)
    assert e.value.code == "product_not_nav_based"
    with pytest.raises(PermissionDenied):
        services.distribution_run(actor=bank.cm_a1, product_id=p.pk, record_date=today, per_unit_x10000=100)
    assert not Payout.objects.exists()


# ---- NAVs --------------------------------------------------------------------------------------------------------------
def test_nav_set_and_correct(w):
    bank = w.bank
    today = timezone.localdate()
    p = w.products["R2"]
    assert services.nav_on(p, today) == NAV_ONE  # none published yet
    seq = audit_seq()
    services.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=today - timedelta(days=2), nav_x10000=10_100)
    services.nav_set(actor=bank.admin, product_id=p.pk, nav_date=today, nav_x10000=10_250)
    row = services.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=today, nav_x10000=10_240)  # a correction
    assert ProductNav.objects.filter(product=p).count() == 2
    assert row.nav_x10000 == 10_240 and row.set_by_id == bank.om_a1.pk
    assert verbs_since(seq) == ["wealth.nav_set"] * 3
    from bankcrm.core.models import AuditEvent

    last = AuditEvent.objects.order_by("-seq").first()
    assert last.before == {"nav_x10000": 10_250} and last.after["nav_x10000"] == 10_240
    assert services.nav_on(p, today) == 10_240
    assert services.nav_on(p, today - timedelta(days=1)) == 10_100  # the latest on or before the day
    assert services.nav_on(p, today - timedelta(days=3)) == NAV_ONE
    assert selectors.latest_navs([p.pk, w.products["DEP"].pk]) == {p.pk: 10_240, w.products["DEP"].pk: NAV_ONE}


@pytest.mark.parametrize("kw,code", [
    (dict(nav_x10000=0), "nav_x10000_invalid"), (dict(nav_x10000=-1), "nav_x10000_invalid"),
    (dict(nav_x10000="1.02"), "nav_x10000_invalid"), (dict(nav_x10000=100 * NAV_ONE + 1), "nav_x10000_invalid"),
    (dict(nav_date="future"), "nav_date_invalid"), (dict(nav_date="text"), "nav_date_invalid")])
def test_nav_set_refuses_bad_input(w, kw, code):
    today = timezone.localdate()
    kw = dict(kw)
    if kw.get("nav_date") == "future":
        kw["nav_date"] = today + timedelta(days=1)
    args = {"nav_date": today, "nav_x10000": 10_000, **kw}
    with pytest.raises(ValidationFailed) as e:
        services.nav_set(actor=w.bank.om_a1, product_id=w.products["R2"].pk, **args)
    assert e.value.code == code and e.value.fields
    assert not ProductNav.objects.exists()


def test_nav_set_refuses_products_without_nav_and_staff_without_capability(w):
    bank = w.bank
    today = timezone.localdate()
    ins = product(bank, "INS-3", level=1, kind="insurance")
    for p in (w.products["DEP"], ins):
        with pytest.raises(RuleViolation) as e:
            services.nav_set(actor=bank.om_a1, product_id=p.pk, nav_date=today, nav_x10000=10_000)
        assert e.value.code == "product_not_nav_based"
    with pytest.raises(PermissionDenied):
        services.nav_set(actor=bank.cm_a1, product_id=w.products["R2"].pk, nav_date=today, nav_x10000=10_000)
    with pytest.raises(NotFound), transaction.atomic():
        services.nav_set(actor=bank.om_a1, product_id=10**9, nav_date=today, nav_x10000=10_000)
    assert not ProductNav.objects.exists()
