"""AML customer risk rating (DOMAIN_RULES.md §3): factor scoring, review scheduling on working days, the rating
lifecycle with approval for lowering HIGH, system triggers, the nightly sweep (R14), pages and API."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from bankcrm.approvals.services import approval_approve, approval_reject
from bankcrm.core import outbox, params, workdays
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.models import AuditEvent, CalendarDay
from bankcrm.customers import services as customer_services
from bankcrm.risk import alerting, batchrun, rating
from bankcrm.risk import rules_rating as rules
from bankcrm.risk.models import Alert, BatchRun, DueDiligence, RatingModel, RiskProfile, RiskRating
from tests.conftest import login_client, write_figures
from tests.test_customers import ric

pytestmark = pytest.mark.django_db

INPUTS = {"kind": "person", "id_type": "resident_id", "nationality": "CHN", "branch": ["001", "101"], "occupation": "教师",
          "accounts": 1, "foreign_accounts": 0, "wealth_accounts": 0, "channel": None, "alerts": 0, "pep": "no"}


# ---- Pure rules ----------------------------------------------------------------------------------------------------
def test_factor_scoring_and_thresholds():
    total, reasons = rules.score(rules.DEFAULT_FACTORS, INPUTS)
    assert total == 0 and rules.level_for(total, rules.DEFAULT_THRESHOLDS) == "low"
    by = {r["factor"]: r for r in reasons}
    assert set(by) == set(rules.DEFAULT_FACTORS)
    assert by["channel"]["scored"] is False and by["channel"]["points"] == 0  # unknown channel: not scored
    # keyword (highest matching keyword), count (highest step reached), exact with default, any (branch codes)
    jeweller = {**INPUTS, "occupation": "个体 珠宝首饰", "foreign_accounts": 3, "channel": "non_face_to_face"}
    total, reasons = rules.score(rules.DEFAULT_FACTORS, jeweller)
    by = {r["factor"]: r for r in reasons}
    assert (by["occupation"]["matched"], by["occupation"]["points"]) == ("珠宝", 25)
    assert (by["foreign_accounts"]["matched"], by["foreign_accounts"]["points"]) == ("3", 20)
    assert total == 25 + 20 + 15 and rules.level_for(total, rules.DEFAULT_THRESHOLDS) == "high"
    assert rules.score(rules.DEFAULT_FACTORS, {**INPUTS, "nationality": "USA"})[0] == 10  # default for other values
    weighted = {**rules.DEFAULT_FACTORS, "branch": {"weight": 2, "values": {"101": 7}, "default": 0}}
    assert rules.score(weighted, INPUTS)[0] == 14
    assert rules.score(rules.DEFAULT_FACTORS, {**INPUTS, "pep": "yes"})[0] == 60
    th = {"high": 60, "medium": 25}
    assert [rules.level_for(s, th) for s in (0, 24, 25, 59, 60, 200)] == ["low", "low", "medium", "medium", "high", "high"]


def test_approval_rule_and_levels():
    assert rules.needs_approval("high", "medium", "medium", manual=False)
    assert rules.needs_approval("high", "low", "high", manual=True)
    assert not rules.needs_approval("medium", "low", "low", manual=False)
    assert rules.needs_approval("low", "low", "medium", manual=True)  # a manual level below the model's
    assert not rules.needs_approval("low", "high", "low", manual=True)  # upward freely
    assert rules.higher("low", "medium") == "medium" and rules.higher("high", None) == "high"


@pytest.mark.parametrize("factors,thresholds,needle", [
    ({"nope": {"weight": 1}}, {"high": 60, "medium": 25}, "nope"),
    ({"alerts": {"values": {"many": 5}}}, {"high": 60, "medium": 25}, "many"),
    ({"occupation": {"weight": -1}}, {"high": 60, "medium": 25}, "weight"),
    ({"occupation": {"values": {"珠宝": "x"}}}, {"high": 60, "medium": 25}, "珠宝"),
    ({"occupation": {"values": {}}}, {"high": 20, "medium": 25}, "medium"),
    ({"occupation": {"values": {}}}, {"high": 20}, "medium"),
    ([], {"high": 60, "medium": 25}, "JSON"),
])
def test_model_validation_names_the_problem(factors, thresholds, needle):
    with pytest.raises(ValidationFailed) as exc:
        rules.validate_model(factors, thresholds)
    assert needle in str(exc.value.message)


def test_next_review_moves_to_a_working_day(db):
    months = {"high": 6, "medium": 12, "low": 24}
    assert rules.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    # 2026-04-08 + 24 months = 2028-04-08, a Saturday → Monday 2028-04-10
    assert rules.next_review(date(2026, 4, 8), "low", months, frozenset(), frozenset()) == date(2028, 4, 10)
    # a holiday on the due date (recorded in the calendar table) moves it to the next working day
    CalendarDay.objects.create(date=date(2027, 4, 8), kind="holiday", name="测试")
    CalendarDay.objects.create(date=date(2027, 4, 9), kind="holiday", name="测试")
    holidays, makeup = workdays.calendar()
    assert rules.next_review(date(2026, 4, 8), "medium", months, holidays, makeup) == date(2027, 4, 12)
    # a makeup working day on a weekend is a working day
    CalendarDay.objects.create(date=date(2028, 4, 8), kind="workday", name="调休")
    holidays, makeup = workdays.calendar()
    assert rules.next_review(date(2026, 4, 8), "low", months, holidays, makeup) == date(2028, 4, 8)


# ---- Services --------------------------------------------------------------------------------------------------------
def person(bank, seq: str, actor=None, **profile):
    actor = actor or bank.cm_a1
    return customer_services.customer_register(actor=actor, kind="person", name="测试" + seq, id_type="resident_id",
                                               id_number=ric(seq=seq), **profile)


def pep_alert(customer, key="pep-1", status="new"):
    hit = alerting.Hit(dedupe_key=key, rule_code="WL", kind="watchlist", report_kind="suspicious",
                       customer_id=customer.pk, branch_path=customer.branch.path, business_date=timezone.localdate(),
                       figures={"list_kind": "pep"})
    created = alerting.raise_alerts([hit], source="batch")
    while outbox.consume("risk_alert_hooks"):  # the re-rating hook runs after commit, from the outbox
        pass
    return created


def current(customer) -> RiskRating:
    return RiskRating.objects.get(customer=customer, status="current")


def test_default_model_is_installed_once(bank):
    m1 = rating.rating_model_install_default(actor=bank.admin)
    m2 = rating.rating_model_install_default(actor=bank.admin)
    assert m1.pk == m2.pk and RatingModel.objects.count() == 1
    assert AuditEvent.objects.filter(verb="risk.rating_model_saved").count() == 1


def test_new_customer_is_rated_once_with_deadline_and_review(bank):
    rating.rating_model_install_default(actor=bank.admin)
    c = person(bank, "301", occupation="教师")
    assert rating.on_customers_registered([c.pk]) == 1
    assert rating.on_customers_registered([c.pk]) == 0  # idempotent
    r = current(c)
    assert (r.level, r.trigger, r.rated_by, r.rationale) == ("low", "new", None, "系统按模型评级")
    p = RiskProfile.objects.get(pk=c.pk)
    holidays, makeup = workdays.calendar()
    created = timezone.localdate(c.created_at)
    assert p.aml_rating_due_on == workdays.add_working_days(created, params.value("aml.new_customer_rating"), holidays, makeup)
    assert p.aml_review_due_on == rules.next_review(timezone.localdate(), "low", {"low": 24, "medium": 12, "high": 6},
                                                    holidays, makeup)
    assert (p.aml_level, p.branch_path) == ("low", c.branch.path)
    assert AuditEvent.objects.filter(verb="risk.rated").count() == 1
    assert {f["factor"] for f in r.factors} == set(rules.DEFAULT_FACTORS)


def test_profile_and_alert_triggers_rerate_only_when_the_model_changes(bank):
    c = person(bank, "302", occupation="教师")
    rating.on_customers_registered([c.pk])
    assert rating.on_customers_changed([c.pk]) == 0
    customer_services.customer_update(actor=bank.cm_a1, customer_id=c.pk, occupation="典当行经营者")
    assert rating.on_customers_changed([c.pk]) == 1
    assert (current(c).level, current(c).trigger) == ("medium", "profile")
    assert rating.on_customers_changed([c.pk]) == 0
    # a PEP hit raises an alert; the alert hook (after commit, from the outbox) re-rates: high, with a due diligence
    pep_alert(c)
    r = current(c)
    assert (r.level, r.trigger) == ("high", "alert")
    dd = DueDiligence.objects.get(customer=c)
    assert (dd.trigger, dd.source_key, dd.status) == ("raised", f"rating:{r.pk}", "open")
    assert rating.on_new_alerts([c.pk]) == 0
    assert DueDiligence.objects.count() == 1


def test_system_never_lowers_high(bank):
    c = person(bank, "303")
    pep_alert(c)
    assert current(c).level == "high"
    Alert.objects.filter(customer=c).update(status="closed")
    assert rating.on_customers_changed([c.pk]) == 1  # the model now says low: recorded, but high is kept
    r = current(c)
    assert (r.level, r.computed_level) == ("high", "low") and "不下调" in r.rationale
    assert rating.on_customers_changed([c.pk]) == 0


def test_manual_rating_rules(bank):
    c = person(bank, "304")
    rating.on_customers_registered([c.pk])
    with pytest.raises(PermissionDenied):
        rating.risk_rate(actor=bank.cm_a1, customer_id=c.pk, rationale="x", level="high")
    with pytest.raises(ValidationFailed) as exc:
        rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale=" ", level="high")
    assert exc.value.code == "rationale_required"
    with pytest.raises(ValidationFailed):
        rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="x", level="extreme")
    other = person(bank, "305", actor=bank.cm_b1)
    with pytest.raises(NotFound):
        rating.risk_rate(actor=bank.branch_risk, customer_id=other.pk, rationale="核查", level="high")
    assert RiskRating.objects.filter(customer=c).count() == 1
    # upward freely, applied at once, audited with before/after and the rationale; a rise to high opens a DD
    r = rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="客户交易异常", level="high")
    assert (r.status, r.level, r.rated_by_id) == ("current", "high", bank.branch_risk.pk)
    ev = AuditEvent.objects.filter(verb="risk.rated").latest("seq")
    assert (ev.before, ev.after["level"], ev.reason) == ({"level": "low"}, "high", "客户交易异常")
    assert RiskProfile.objects.get(pk=c.pk).aml_level == "high"
    assert DueDiligence.objects.filter(customer=c, trigger="raised").count() == 1


def test_lowering_high_needs_another_risk_manager(bank):
    from bankcrm.approvals.models import PendingAction

    c = person(bank, "306")
    rating.on_customers_registered([c.pk])
    rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="可疑", level="high")
    r = rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="核实后风险已消除", level="low")
    assert r.status == "pending" and r.pending_action_id
    assert RiskProfile.objects.get(pk=c.pk).aml_level == "high"
    assert AuditEvent.objects.filter(verb="risk.rating_submitted").count() == 1
    assert rating.rating_summary(bank.branch_risk, c)["pending_approval"] is True
    with pytest.raises(RuleViolation) as exc:
        rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="再次", level="medium")
    assert exc.value.code == "rating_pending"
    # the maker cannot approve; compliance lacks risk.approve_rating; another risk manager approves
    with pytest.raises(RuleViolation) as exc:
        approval_approve(actor=bank.branch_risk, pending_id=r.pending_action_id)
    assert exc.value.code == "maker_cannot_check"
    with pytest.raises(PermissionDenied):
        approval_approve(actor=bank.compliance, pending_id=r.pending_action_id)
    pa = approval_approve(actor=bank.risk, pending_id=r.pending_action_id)
    assert pa.status == PendingAction.Status.EXECUTED
    r.refresh_from_db()
    assert (r.status, r.level) == ("current", "low")
    assert RiskProfile.objects.get(pk=c.pk).aml_level == "low"
    assert RiskRating.objects.filter(customer=c, status="current").count() == 1
    ev = AuditEvent.objects.filter(verb="risk.rated").latest("seq")
    assert (ev.actor_id, ev.before["level"], ev.after["level"]) == (bank.risk.pk, "high", "low")


def test_rejected_lowering_keeps_high(bank):
    c = person(bank, "307")
    rating.on_customers_registered([c.pk])
    rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="可疑", level="high")
    r = rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="按模型", level=None)  # model: low
    assert (r.status, r.level) == ("pending", "low")
    approval_reject(actor=bank.risk, pending_id=r.pending_action_id, reason="证据不足")
    assert RiskProfile.objects.get(pk=c.pk).aml_level == "high"
    assert rating.rating_summary(bank.branch_risk, c)["pending_approval"] is False
    # the next rating settles the rejected row and may submit again
    r2 = rating.risk_rate(actor=bank.branch_risk, customer_id=c.pk, rationale="补充材料后再次申请", level="medium")
    r.refresh_from_db()
    assert r.status == "rejected" and r2.status == "pending"
    assert current(c).level == "high"


def test_rating_summary(bank):
    c = person(bank, "308")
    assert rating.rating_summary(bank.cm_a1, c)["level"] == ""
    rating.on_customers_registered([c.pk])
    s = rating.rating_summary(bank.cm_a1, c)
    assert (s["level"], s["overdue"], s["pending_approval"], s["open_due_diligence"]) == ("low", False, False, 0)
    assert s["url"].endswith(f"/risk/customers/{c.pk}/rating/") and s["review_due_on"] > timezone.localdate()
    RiskProfile.objects.filter(pk=c.pk).update(aml_review_due_on=timezone.localdate() - timedelta(days=1))
    assert rating.rating_summary(bank.cm_a1, c)["overdue"] is True


def test_foreign_currency_accounts_and_channel_score(bank):
    from bankcrm.customers.services import consent_grant
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Product

    ledger.ledger_bootstrap(actor=bank.admin)
    c = person(bank, "309", occupation="个体经营者")
    usd = Product.objects.filter(currency="USD", kind="demand").first()
    ledger.account_open(actor=bank.om_a1, customer_id=c.pk, product_id=usd.pk)
    consent_grant(actor=bank.cm_a1, customer_id=c.pk, purpose="sensitive", channel="online")
    rating.on_customers_registered([c.pk])
    by = {f["factor"]: f for f in current(c).factors}
    assert by["foreign_accounts"]["points"] == 10 and by["channel"]["value"] == "non_face_to_face"
    assert by["occupation"]["matched"] == "个体"
    assert current(c).score == 10 + 15 + 10 and current(c).level == "medium"


# ---- Nightly sweep (R14) ---------------------------------------------------------------------------------------------
class Killed(Exception):
    pass


def _bulk_customers(bank, n: int) -> list[int]:
    from bankcrm.customers import bulk
    from bankcrm.customers.demo_bulk import generate
    from bankcrm.customers.models import Customer

    registrar = bulk.BulkRegistrar(actor=bank.supervisor_a, default_manager=bank.cm_a1, source="test")
    total, errors = bulk.register_rows(generate(random.Random(14), n, ["CM001"], timezone.localdate()),
                                       registrar=registrar, commit_each_batch=False)
    assert (total, errors) == (n, [])
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(7)
    # variety: high-risk occupations, foreign nationalities, PEP and other open alerts
    Customer.objects.filter(pk__in=rng.sample(ids, n // 10)).update(occupation="珠宝贵金属零售")
    Customer.objects.filter(pk__in=rng.sample(ids, n // 20)).update(nationality="USA")
    Customer.objects.filter(pk__in=rng.sample(ids, n // 100)).update(nationality="PRK")
    paths = dict(Customer.objects.values_list("pk", "branch__path"))
    now, today = timezone.now(), timezone.localdate()
    Alert.objects.bulk_create([
        Alert(dedupe_key=f"r14-{i}-{cid}", rule_code="T", kind="watchlist" if i == 0 else "structuring",
              report_kind="suspicious", customer_id=cid, branch_path=paths[cid], business_date=today,
              figures={"list_kind": "pep"} if i == 0 else {}, created_at=now)
        for i, sample in enumerate([rng.sample(ids, n // 50), rng.sample(ids, n // 10)]) for cid in sample])
    return ids


def _outcome() -> dict:
    ratings = {r["customer_id"]: (r["level"], r["computed_level"], r["score"], r["trigger"], r["next_review_on"])
               for r in RiskRating.objects.filter(status="current").values(
                   "customer_id", "level", "computed_level", "score", "trigger", "next_review_on")}
    profiles = {p["customer_id"]: (p["aml_level"], p["aml_review_due_on"])
                for p in RiskProfile.objects.values("customer_id", "aml_level", "aml_review_due_on")}
    dds = sorted(DueDiligence.objects.values_list("customer_id", "trigger"))
    return {"ratings": ratings, "profiles": profiles, "dds": dds, "rows": RiskRating.objects.count()}


def _reset() -> None:
    DueDiligence.objects.all().delete()
    RiskRating.objects.all().delete()
    RiskProfile.objects.all().delete()
    BatchRun.objects.all().delete()


def _killing(monkeypatch, kill_after: list[int]):
    """Make `process` raise on given chunk calls (counted over the whole test), after doing the chunk's work."""
    real = rating._sweep_chunk
    calls = {"n": 0}

    def chunk(ids, day):
        calls["n"] += 1
        changed = real(ids, day)
        if calls["n"] in kill_after:
            raise Killed(f"killed in chunk call {calls['n']}")
        return changed

    monkeypatch.setattr(rating, "_sweep_chunk", chunk)
    return calls


def _run_until_done(day, chunk) -> tuple[int, BatchRun]:
    kills = 0
    while True:
        try:
            return kills, rating.rating_sweep(day, chunk=chunk)
        except Killed:
            kills += 1


def test_r14_rating_sweep(bank, monkeypatch):
    n, chunk = 2000, 250
    rating.rating_model_install_default(actor=bank.admin)
    _bulk_customers(bank, n)
    day = timezone.localdate()
    # 1. uninterrupted
    run = rating.rating_sweep(day, chunk=chunk)
    clean = _outcome()
    assert run.status == "done" and run.items == n and run.changes == n and len(clean["ratings"]) == n
    levels = {lvl: sum(1 for v in clean["ratings"].values() if v[0] == lvl) for lvl in ("low", "medium", "high")}
    assert all(levels.values()), levels
    # 2. the same data, killed three times mid-way (each kill after the chunk's work, before its commit) and resumed
    _reset()
    _killing(monkeypatch, kill_after=[2, 4, 7])
    kills, run = _run_until_done(day, chunk)
    killed = _outcome()
    diff = sum(1 for k in set(clean["ratings"]) | set(killed["ratings"]) if clean["ratings"].get(k) != killed["ratings"].get(k))
    diff += sum(1 for k in set(clean["profiles"]) | set(killed["profiles"])
                if clean["profiles"].get(k) != killed["profiles"].get(k))
    diff += int(clean["dds"] != killed["dds"]) + abs(clean["rows"] - killed["rows"])
    # 3. run twice for the same date (and forced): no extra changes
    rows = RiskRating.objects.count()
    again = rating.rating_sweep(day, chunk=chunk)
    forced = rating.rating_sweep(day, chunk=chunk, force=True)
    second_changes = (RiskRating.objects.count() - rows) + forced.changes
    # 4. reviews due later: only the due customers are re-rated (periodic), also across a kill
    later = day + timedelta(days=400)
    due_ids = list(RiskProfile.objects.filter(aml_review_due_on__lte=later).values_list("pk", flat=True))
    _killing(monkeypatch, kill_after=[1])
    kills2, run2 = _run_until_done(later, chunk)
    periodic = RiskRating.objects.filter(status="current", trigger="periodic").count()
    write_figures("R14", diff == 0 and second_changes == 0, rating_customers=n, rating_kills=kills + kills2,
                  rating_diff=diff, rating_second_run_changes=second_changes, rating_levels=levels,
                  rating_periodic_reviews=periodic, rating_due_dd=len(clean["dds"]))
    assert kills == 3 and diff == 0
    assert again.status == "done" and second_changes == 0
    assert kills2 == 1 and run2.changes == len(due_ids) == periodic > 0


def test_r14_detector_catches_a_sweep_that_is_not_idempotent(bank, monkeypatch):
    """Broken variant: the sweep re-rates every customer whatever their review date, so a forced re-run of the same
    date writes again: the second-run check reports it."""
    rating.rating_model_install_default(actor=bank.admin)
    ids = [person(bank, f"5{i:02d}").pk for i in range(5)]
    day = timezone.localdate()
    assert rating.rating_sweep(day).changes == len(ids)
    monkeypatch.setattr(rating, "_sweep_due", lambda day: Q())
    monkeypatch.setattr(rating, "_sweep_chunk", lambda ids, day: len(rating._rate_many(ids, trigger="periodic", day=day)))
    assert rating.rating_sweep(day, force=True).changes == len(ids)


def test_sweep_job_is_registered(db):
    from bankcrm.core.scheduling import JOBS

    assert "risk.rating_sweep" in JOBS
    assert batchrun.run.__name__ == "run"


# ---- Pages and API -----------------------------------------------------------------------------------------------------
def test_rating_pages_and_authorization(bank):
    c = person(bank, "310")
    rating.on_customers_registered([c.pk])
    url = f"/risk/customers/{c.pk}/rating/"
    r = login_client(bank.cm_a1).get(url)
    assert r.status_code == 200 and "rating-reasons" in r.content.decode() and "manual-rating-form" not in r.content.decode()
    assert login_client(bank.cm_b1).get(url).status_code == 404      # not visible
    assert login_client(bank.admin).get(url).status_code == 403      # no risk.view
    risk = login_client(bank.branch_risk)
    assert "manual-rating-form" in risk.get(url).content.decode()
    before = RiskRating.objects.count(), AuditEvent.objects.count()
    r = risk.post(url + "rate/", {"level": "high", "rationale": ""})
    assert r.status_code == 400 and (RiskRating.objects.count(), AuditEvent.objects.count()) == before
    r = risk.post(url + "rate/", {"level": "high", "rationale": "网点报告可疑"})
    assert r.status_code == 302 and current(c).level == "high"
    r = risk.post(url + "rate/", {"level": "low", "rationale": "已核实"})
    assert r.status_code == 302 and "rating-pending" in risk.get(url).content.decode()
    assert login_client(bank.cm_a1).post(url + "rate/", {"level": "high", "rationale": "x"}).status_code == 403
    # reviews due: overdue first and highlighted, scoped
    RiskProfile.objects.filter(pk=c.pk).update(aml_review_due_on=timezone.localdate() - timedelta(days=3))
    html = risk.get("/risk/ratings/due/").content.decode()
    assert c.customer_no in html and "table-danger" in html
    assert login_client(bank.cm_a1).get("/risk/ratings/due/").status_code == 403


def test_rating_model_page_saves_validated_versions(bank):
    rating.rating_model_install_default(actor=bank.admin)
    risk = login_client(bank.risk)
    assert risk.get("/risk/rating-model/").status_code == 200
    assert login_client(bank.compliance).get("/risk/rating-model/new/").status_code == 403
    form = risk.get("/risk/rating-model/new/")
    assert form.status_code == 200
    bad = risk.post("/risk/rating-model/new/", {"factors": '{"bogus": {}}', "thresholds": '{"high": 60, "medium": 25}'})
    assert bad.status_code == 400 and "bogus" in bad.content.decode() and RatingModel.objects.count() == 1
    bad = risk.post("/risk/rating-model/new/", {"factors": "{not json", "thresholds": '{"high": 60, "medium": 25}'})
    assert bad.status_code == 400 and RatingModel.objects.count() == 1
    factors = {**rules.DEFAULT_FACTORS, "branch": {"weight": 1, "values": {"101": 30}, "default": 0}}
    ok = risk.post("/risk/rating-model/new/", {"factors": json.dumps(factors, ensure_ascii=False),
                                               "thresholds": '{"high": 60, "medium": 25}'})
    assert ok.status_code == 302
    assert rating.rating_model_current().version == 2
    c = person(bank, "311")  # branch A1 lies under A (101): now medium
    rating.on_customers_registered([c.pk])
    assert (current(c).level, current(c).model.version) == ("medium", 2)


def test_rating_api(bank):
    c = person(bank, "312")
    rating.on_customers_registered([c.pk])
    url = f"/api/v1/risk/customers/{c.pk}/rating/"
    body = login_client(bank.cm_a1).get(url).json()
    assert body["level"] == "low" and body["current"]["trigger"] == "new" and len(body["history"]) == 1
    assert login_client(bank.cm_b1).get(url).status_code == 404
    risk = login_client(bank.branch_risk)
    r = risk.post(url, {"level": "extreme", "rationale": "x"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "validation_failed"
    r = risk.post(url, {"level": "high"}, content_type="application/json")
    assert r.status_code == 400 and "rationale" in r.json()["error"]["fields"]
    assert RiskRating.objects.filter(customer=c).count() == 1
    r = risk.post(url, {"level": "high", "rationale": "可疑"}, content_type="application/json")
    assert r.status_code == 201 and r.json()["level"] == "high"
    r = risk.post(url, {"level": "low", "rationale": "已核实"}, content_type="application/json")
    assert r.status_code == 202 and r.json()["status"] == "pending" and r.json()["pending_action"]
    r = risk.post(url, {"level": "low", "rationale": "again"}, content_type="application/json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "rating_pending"
    assert login_client(bank.cm_a1).post(url, {"level": "high", "rationale": "x"},
                                         content_type="application/json").status_code == 403
    RiskProfile.objects.filter(pk=c.pk).update(aml_review_due_on=timezone.localdate())
    rows = risk.get("/api/v1/risk/ratings/due/").json()["results"]
    assert [row["customer"] for row in rows] == [c.pk] and rows[0]["first_rating"] is False
