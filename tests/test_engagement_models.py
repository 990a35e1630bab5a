"""Segments and the propensity model (issue #9): value tiers at their thresholds, RFM quintiles on hand-made data,
segment history (a change closes the open row and opens a new one), behaviour clusters reproducible for a seed, and
the propensity model — deterministic for a seed, trained without any network, beating the popularity baseline on a
seeded pattern dataset (and the broken variants that must not)."""

from __future__ import annotations

import random
import socket
from datetime import date, timedelta

import pytest
from django.utils import timezone

from bankcrm.engagement import propensity, segments
from bankcrm.engagement.models import ClusterModel, PropensityModel, Segment
from tests.conftest import write_figures

pytestmark = pytest.mark.django_db
W = 100


# ---- Pure: quintiles, RFM labels, cluster names --------------------------------------------------------------------
def test_quintile_scores_on_hand_made_data():
    assert segments.quintile_scores(list(range(1, 11))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert segments.quintile_scores([10, 20, 30, 40, 50]) == [1, 2, 3, 4, 5]
    # order of input does not matter; equal values share the lower score
    assert segments.quintile_scores([50, 10, 30, 20, 40]) == [5, 1, 3, 2, 4]
    assert segments.quintile_scores([7, 7, 7, 7, 1]) == [2, 2, 2, 2, 1]
    assert segments.quintile_scores([3]) == [1]
    assert segments.quintile_scores([]) == []


def test_rfm_codes_and_labels_on_hand_made_data():
    # customer: (days since last entry, number of entries, amount in fen)
    figures = {1: (2, 40, 900_000), 2: (5, 30, 700_000), 3: (30, 20, 500_000), 4: (90, 10, 300_000),
               5: (200, 1, 1_000)}
    scores = segments.rfm_codes(figures)
    assert scores == {1: (5, 5, 5), 2: (4, 4, 4), 3: (3, 3, 3), 4: (2, 2, 2), 5: (1, 1, 1)}
    assert str(segments.rfm_label(*scores[1])) == "重要价值客户"
    assert str(segments.rfm_label(*scores[5])) == "一般挽留客户"
    assert str(segments.rfm_label(1, 5, 5)) == "重要保持客户"   # frequent and valuable, not seen lately
    assert str(segments.rfm_label(5, 1, 5)) == "重要发展客户"
    assert str(segments.rfm_label(1, 1, 5)) == "重要挽留客户"
    assert str(segments.rfm_label(5, 5, 1)) == "一般价值客户"
    assert str(segments.rfm_label(0, 0, 0)) == "沉睡客户"


def test_tier_of_at_the_thresholds():
    aff, priv = 500_000 * W, 6_000_000 * W
    assert segments.tier_of(aff - 1, aff, priv) == "mass"
    assert segments.tier_of(aff, aff, priv) == "affluent"
    assert segments.tier_of(priv - 1, aff, priv) == "affluent"
    assert segments.tier_of(priv, aff, priv) == "private"


def test_cluster_labels_come_from_the_centres():
    names = segments.FEATURE_NAMES
    z = lambda **kw: [kw.get(n, 0.0) for n in names]  # noqa: E731
    labels = segments.label_clusters([
        z(n_cash=1.5, cash_share=1.2), z(n_wealth=2.0, wealth_share=1.8), z(n_cash=-1, n_transfer=-1, amount=-1),
        z(xborder_share=2.5), z(age_band=1.4), z(age_band=-1.3, n_transfer=0.1), z(n_cash=0.1, n_transfer=0.1)])
    assert [c for c, _l, _w in labels] == ["cash", "wealth", "low", "xborder", "senior", "young", "balanced"]
    assert [lab for _c, lab, _w in labels][:4] == ["现金交易活跃", "理财偏好", "低活跃", "跨境往来"]
    # two centres with the same strongest feature get different names: the stronger one keeps it
    two = segments.label_clusters([z(n_cash=1.5, avg_balance=0.8), z(n_cash=2.0)])
    assert [c for c, _l, _w in two] == ["deposit", "cash"]
    # two quiet centres: the quieter is 低活跃, the other named by what it holds (a secondary name)
    quiet = segments.label_clusters([z(n_cash=-0.7, n_transfer=-0.6, amount=-0.1, n_wealth=1.2, wealth_share=1.0),
                                     z(n_cash=-0.8, n_transfer=-0.7, amount=-0.7, cash_share=0.9),
                                     z(n_wealth=2.0, wealth_share=2.0, amount=1.7)])
    assert [c for c, _l, _w in quiet] == ["holder", "low", "wealth"]


# ---- Segment history -------------------------------------------------------------------------------------------------
def _customers(bank, n: int):
    from tests.ledger_helpers import build_ledger

    led = build_ledger(bank)
    return led, [led.zhang, led.li, led.wang][:n]


def test_history_change_closes_the_open_row_and_opens_a_new_one(bank):
    _led, (a, b, c) = _customers(bank, 3)
    d1, d2, d3 = date(2026, 1, 5), date(2026, 2, 5), date(2026, 3, 5)
    r1 = segments.apply_history("tier", {a.pk: ("mass", "大众客户", {}), b.pk: ("mass", "大众客户", {}),
                                          c.pk: ("affluent", "富裕客户", {})}, d1)
    assert r1["opened"] == 3
    r2 = segments.apply_history("tier", {a.pk: ("affluent", "富裕客户", {}), b.pk: ("mass", "大众客户", {})}, d2)
    assert (r2["opened"], r2["closed"], r2["unchanged"]) == (1, 2, 1)  # a changed; c has no tier any more
    rows = list(Segment.objects.filter(customer=a, kind="tier").order_by("since"))
    assert [(s.code, s.since, s.until) for s in rows] == [("mass", d1, d2), ("affluent", d2, None)]
    assert Segment.objects.get(customer=b, kind="tier").until is None  # unchanged: still the first row
    assert Segment.objects.get(customer=c, kind="tier").until == d2
    # a second change on the same day corrects that day's row (no zero-length row)
    segments.apply_history("tier", {a.pk: ("private", "私人银行客户", {}), b.pk: ("mass", "大众客户", {})}, d2)
    assert [(s.code, s.since, s.until) for s in Segment.objects.filter(customer=a, kind="tier").order_by("since")] == [
        ("mass", d1, d2), ("private", d2, None)]
    # one open row per customer and kind, always
    segments.apply_history("tier", {a.pk: ("mass", "大众客户", {}), c.pk: ("mass", "大众客户", {})}, d3)
    for cust in (a, b, c):
        assert Segment.objects.filter(customer=cust, kind="tier", until__isnull=True).count() <= 1
    assert Segment.objects.filter(customer=c, kind="tier").count() == 2


def test_history_detector_catches_a_change_that_does_not_close_the_old_row(bank, monkeypatch):
    """Broken variant: the close step skipped — the unique open row per kind (and the test) refuses it."""
    from django.db import IntegrityError, transaction

    _led, (a, _b, _c) = _customers(bank, 3)
    segments.apply_history("rfm", {a.pk: ("R1F1M1", "一般挽留客户", {})}, date(2026, 1, 1))
    real_update = segments.Segment.objects.filter

    def no_close(*args, **kwargs):
        qs = real_update(*args, **kwargs)
        if "pk__in" in kwargs:
            return segments.Segment.objects.none()
        return qs

    monkeypatch.setattr(segments.Segment.objects, "filter", no_close)
    with pytest.raises(IntegrityError), transaction.atomic():
        segments.apply_history("rfm", {a.pk: ("R5F5M5", "重要价值客户", {})}, date(2026, 2, 1))


def test_tiers_from_the_latest_snapshot_at_the_thresholds(bank):
    from bankcrm.wealth.models import AumSnapshot

    _led, (a, b, c) = _customers(bank, 3)
    today = timezone.localdate()
    aff = 500_000 * W
    for cust, old, new in ((a, 9_000_000 * W, aff), (b, aff, aff - 1), (c, 0, 6_000_000 * W)):
        for day, total in ((today - timedelta(days=3), old), (today - timedelta(days=1), new)):
            AumSnapshot.objects.create(day=day, customer=cust, branch_path=cust.branch.path, deposits_fen=total,
                                       total_fen=total, tier="")
    AumSnapshot.objects.create(day=today - timedelta(days=10), customer=c, branch_path=c.branch.path, tier="")
    tiers = segments.compute_tiers(today, segments.population())
    assert {cid: code for cid, (code, _l, _d) in tiers.items()} == {a.pk: "affluent", b.pk: "mass", c.pk: "private"}
    assert tiers[a.pk][2]["snapshot_day"] == (today - timedelta(days=1)).isoformat()


def test_rfm_from_the_ledger_of_the_last_twelve_months(bank):
    from tests.ledger_helpers import fund

    led, (a, b, c) = _customers(bank, 3)
    fund(led.zhang_cny, 3_000_000 * W, teller=bank.om_a1)   # 75 cash deposits: frequent and large
    fund(led.li_cny, 40_000 * W, teller=bank.om_a1)         # one deposit
    rfm = segments.compute_rfm(timezone.localdate(), segments.population())
    # two active customers: the higher one scores 1 + 5·1//2 = 3, the lower 1; both transacted today (a tie: 1)
    assert rfm[a.pk][0] == "R1F3M3" and rfm[b.pk][0] == "R1F1M1"
    assert (rfm[a.pk][2]["frequency"], rfm[b.pk][2]["frequency"]) == (75, 1)
    assert rfm[a.pk][2]["monetary_fen"] == 3_000_000 * W and rfm[a.pk][2]["recency_days"] == 0
    assert rfm[c.pk][:2] == ("R0F0M0", "沉睡客户")  # wang never transacted


def test_segments_compute_is_one_audited_run_and_reproducible(bank):
    from bankcrm.core.errors import PermissionDenied
    from bankcrm.core.models import AuditEvent
    from tests.ledger_helpers import fund

    led, _custs = _customers(bank, 3)
    fund(led.zhang_cny, 200_000 * W, teller=bank.om_a1)
    fund(led.wang_cny, 80_000 * W, teller=bank.om_b1)
    with pytest.raises(PermissionDenied):
        segments.segments_compute(actor=bank.cm_a1)
    r1 = segments.segments_compute(actor=bank.admin)
    assert r1["customers"] == 3 and r1["rfm"]["opened"] == 3 and r1["cluster"]["total"] == 3
    assert AuditEvent.objects.filter(verb="engagement.segments_computed").count() == 1
    m1 = ClusterModel.objects.get(version=r1["cluster_model"])
    r2 = segments.segments_compute()
    m2 = ClusterModel.objects.get(version=r2["cluster_model"])
    assert (m1.centers, m1.labels, m1.inertia) == (m2.centers, m2.labels, m2.inertia)  # same data, same seed
    assert r2["rfm"]["unchanged"] == 3 and r2["cluster"]["unchanged"] == 3
    assert Segment.objects.filter(until__isnull=True, kind="cluster").count() == 3


def test_kmeans_is_reproducible_for_a_seed():
    rng = random.Random(7)
    rows = {i: [rng.random() * (3 if i % 3 == 0 else 1) for _f in segments.FEATURE_NAMES] for i in range(1, 120)}
    a = segments.train_clusters(rows, k=4, seed=11)
    b = segments.train_clusters(rows, k=4, seed=11)
    assert a["centers"] == b["centers"] and a["labels_"] == b["labels_"] and a["labels"] == b["labels"]
    assert len({lab["code"] for lab in a["labels"]}) == 4


# ---- The propensity model ------------------------------------------------------------------------------------------
def pattern_dataset(n: int = 1200, seed: int = 5) -> propensity.Dataset:
    """Synthetic customers with planted patterns (the same as the demo's): 50+ and 养老 → insurance; a large inflow
    → balanced; young and 留学 → deposit; C4+ and 理财 → growth; plus noise."""
    rng = random.Random(seed)
    codes = [*propensity.BASE_CODES, "intent:retirement", "intent:study_abroad", "intent:wealth"]
    ids, x, tier = [], [], []
    y = {c: [] for c in propensity.CATEGORIES}
    for i in range(1, n + 1):
        age = rng.randrange(22, 81)
        level = rng.choice([0, 1, 2, 3, 3, 4, 5])
        inflow = rng.random() < 0.2
        retire = age >= 50 and rng.random() < 0.45
        abroad = age < 40 and rng.random() < 0.3
        wealth = level >= 4 and rng.random() < 0.35
        aum = rng.lognormvariate(11, 1)
        v = {"age": age / 10, "age_50plus": float(age >= 50), "age_under35": float(age < 35), "level": level,
             "aum": aum / 5, "deposits": aum / 5, "affluent": float(aum > 13), "recency": rng.random() * 5,
             "frequency": rng.random() * 4, "monetary": rng.random() * 12, "cash_share": rng.random(),
             "inflow": 12.5 if inflow else 0.0, "td_maturing": float(rng.random() < 0.05),
             "intent:retirement": float(retire), "intent:study_abroad": float(abroad), "intent:wealth": float(wealth)}
        ids.append(i)
        x.append([float(v[c]) for c in codes])
        tier.append("affluent" if v["affluent"] else "mass")
        buys = {"insurance": retire and rng.random() < 0.7, "balanced": inflow and level >= 3 and rng.random() < 0.65,
                "steady": (inflow and level < 3 and rng.random() < 0.5) or rng.random() < 0.03,
                "deposit": (abroad and rng.random() < 0.6) or rng.random() < 0.03,
                "growth": wealth and rng.random() < 0.5}
        for c in propensity.CATEGORIES:
            y[c].append(int(bool(buys[c])))
    return propensity.Dataset(ids=ids, feature_codes=codes, x=x, y=y, tier=tier, cut={})


def test_model_beats_the_popularity_baseline_on_a_seeded_pattern_dataset():
    r = propensity.fit(pattern_dataset(), seed=propensity.SEED)
    write_figures("ENG-propensity", r["auc_model"] > r["auc_baseline"], auc_model=round(r["auc_model"], 4),
                  auc_baseline_tier=round(r["auc_baseline"], 4), auc_baseline_global=round(r["auc_global_baseline"], 4),
                  n_train=r["n_train"], n_test=r["n_test"])
    assert r["auc_model"] > r["auc_baseline"] + 0.1
    assert r["auc_model"] > r["auc_global_baseline"] + 0.1
    for cat in ("insurance", "balanced", "deposit"):
        assert r["per_category"][cat]["auc_model"] > 0.75, cat


def test_baseline_comparison_catches_a_model_without_signal():
    """Broken variant: labels shuffled across customers (no behaviour-to-purchase pattern): the model cannot beat the
    baseline by the margin the real test asks for."""
    ds = pattern_dataset()
    rng = random.Random(1)
    for c in ds.y:
        rng.shuffle(ds.y[c])
    r = propensity.fit(ds, seed=propensity.SEED)
    assert r["auc_model"] < r["auc_baseline"] + 0.1


def test_training_is_deterministic_for_a_seed():
    ds = pattern_dataset(n=600)
    a, b = propensity.fit(ds, seed=3), propensity.fit(ds, seed=3)
    assert a["categories"] == b["categories"] and a["scaler"] == b["scaler"]
    assert a["auc_model"] == b["auc_model"]


def test_held_out_split_is_fixed_by_customer_id():
    share = sum(propensity.in_test(i) for i in range(1, 5001)) / 5000
    assert 0.27 < share < 0.33
    assert [propensity.in_test(i) for i in range(1, 50)] == [propensity.in_test(i) for i in range(1, 50)]


def test_stored_scoring_matches_scikit_learn():
    ds = pattern_dataset(n=600)
    r = propensity.fit(ds, seed=3)
    coefficients = {"scaler": r["scaler"], "categories": r["categories"]}
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array(ds.x)
    train = np.array([not propensity.in_test(i) for i in ds.ids])
    mean, scale = np.array(r["scaler"]["mean"]), np.array(r["scaler"]["scale"])
    lr = LogisticRegression(C=1.0, solver="lbfgs", max_iter=2000, random_state=3).fit(
        ((x - mean) / scale)[train], np.array(ds.y["insurance"])[train])
    p = lr.predict_proba((x[:5] - mean) / scale)[:, 1]
    ours = [propensity.score_row(coefficients, row)["insurance"] for row in ds.x[:5]]
    assert ours == pytest.approx(list(p), abs=1e-9)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return refuse


def test_fit_runs_without_network(no_network):
    r = propensity.fit(pattern_dataset(n=400), seed=1)
    assert r["auc_model"] is not None


def _bank_with_sales(bank):
    """The wealth test bank plus a few customers who bought: enough to train on."""
    from bankcrm.wealth import services as wealth
    from tests.wealth_helpers import build_wealth

    w = build_wealth(bank)
    for customer, account, product in ((w.zhang, w.ledger.zhang_cny, w.products["R2"]),
                                       (w.li, w.ledger.li_cny, w.products["DEP"])):
        s = wealth.sale_propose(actor=bank.cm_a1, customer_id=customer.pk, product_id=product.pk,
                                account_id=account.pk, amount_fen=product.min_amount_fen)
        wealth.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    return w


def test_propensity_train_from_the_bank_is_deterministic_offline_and_audited(bank, no_network):
    from bankcrm.core.errors import PermissionDenied
    from bankcrm.core.models import AuditEvent

    _bank_with_sales(bank)
    segments.segments_compute()
    with pytest.raises(PermissionDenied):
        propensity.propensity_train(actor=bank.cm_a1)
    m1 = propensity.propensity_train(actor=bank.admin, seed=9)
    m2 = propensity.propensity_train(seed=9)
    assert m1.coefficients == m2.coefficients and m1.features == m2.features
    assert (m1.n_train + m1.n_test) == 3 and m1.figures["positives"]["steady"] == 1
    assert AuditEvent.objects.filter(verb="engagement.model_trained").count() == 2
    assert PropensityModel.objects.count() == 2
    assert PropensityModel.objects.filter(active=True).count() <= 1


def test_only_a_model_that_beats_the_baseline_becomes_active(bank, monkeypatch):
    _bank_with_sales(bank)
    fake = {"scaler": {"mean": [], "scale": []}, "categories": {}, "per_category": {}, "n_train": 1, "n_test": 1,
            "auc_global_baseline": 0.6}
    monkeypatch.setattr(propensity, "fit", lambda ds, seed: {**fake, "auc_model": 0.8, "auc_baseline": 0.6})
    good = propensity.propensity_train()
    monkeypatch.setattr(propensity, "fit", lambda ds, seed: {**fake, "auc_model": 0.55, "auc_baseline": 0.6})
    bad = propensity.propensity_train()
    good.refresh_from_db()
    assert good.active and not bad.active and propensity.active_model() == good


def test_features_use_only_what_was_known_before_the_purchase(bank):
    """The cut-off: a buyer's row reads the deposits at the end of the day before the purchase and the insights found
    before it; an insight written after the purchase is not in it."""
    from bankcrm.engagement.models import Insight

    w = _bank_with_sales(bank)
    from bankcrm.wealth.models import Sale

    sale = Sale.objects.get(customer=w.zhang)
    Insight.objects.create(customer=w.zhang, source="interaction", source_id=1, intent="retirement", keyword="养老",
                           sentence="客户想了解养老", found_at=sale.settled_at - timedelta(hours=1))
    Insight.objects.create(customer=w.li, source="interaction", source_id=2, intent="retirement", keyword="养老",
                           sentence="客户想了解养老", found_at=timezone.now() + timedelta(minutes=5))
    ds, spec, _cm = propensity.dataset()
    codes = [s["code"] for s in spec]
    rows = dict(zip(ds.ids, ds.x, strict=True))
    i = codes.index("intent:retirement")
    assert rows[w.zhang.pk][i] == 1.0 and rows[w.li.pk][i] == 0.0
    # zhang's deposits: funded today, bought today → the day before the purchase had nothing
    assert rows[w.zhang.pk][codes.index("deposits")] == 0.0


def check_engagement_demo(ctx, lines) -> None:
    """Run by tests/test_demo_bank.py on the small demo bank: the engagement seeder's cohort and its documented
    patterns give a model that beats the popularity baseline on the held-out customers, and every open
    recommendation it leads to has a reason."""
    from bankcrm.core import demo
    from bankcrm.engagement.models import Insight, Recommendation

    assert demo.SEEDERS["engagement_nba"].order > demo.SEEDERS["wealth"].order
    m = propensity.active_model()
    assert m is not None, "\n".join(lines)
    write_figures("ENG-propensity-demo", m.auc_model > m.auc_baseline, auc_model=round(m.auc_model, 4),
                  auc_baseline=round(m.auc_baseline, 4), auc_global_baseline=m.figures["auc_global_baseline"],
                  n_train=m.n_train, n_test=m.n_test)
    assert m.auc_model > m.auc_baseline and m.auc_model > m.figures["auc_global_baseline"]
    assert Insight.objects.filter(intent="retirement").exists()
    assert Segment.objects.filter(kind="cluster", until__isnull=True).exists()
    recs = list(Recommendation.objects.filter(status="open"))
    assert recs and all(r.reasons for r in recs)
    assert Recommendation.objects.filter(converted=True).exists()


def test_engagement_train_command_prints_the_figures_as_json(bank, no_network):
    import io
    import json

    from django.core.management import call_command

    _bank_with_sales(bank)
    out = io.StringIO()
    call_command("engagement_train", "--segments", "--refresh", "--seed", "5", stdout=out)
    data = json.loads(out.getvalue())
    assert data["model"]["seed"] == 5 and data["model"]["n_train"] + data["model"]["n_test"] == 3
    assert {"auc_model", "auc_baseline", "auc_global_baseline", "per_category"} <= set(data["model"])
    assert data["segments"]["cluster_model"] == ClusterModel.objects.get().version
    assert data["recommendations"]["customers"] == 3


def test_nightly_jobs_are_registered():
    from bankcrm.core.scheduling import JOBS

    assert {"engagement.segments", "engagement.propensity", "engagement.recommendations"} <= set(JOBS)
    order = [JOBS[n].daily_at for n in ("engagement.segments", "engagement.propensity", "engagement.recommendations")]
    assert order == sorted(order) and order[0] > JOBS["wealth.aum_snapshot"].daily_at
