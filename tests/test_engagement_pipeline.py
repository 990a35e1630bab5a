"""Engagement, slice 1 (issue #9): opportunities (stage transitions as pure rules and through the services, winning
only through a settled wealth sale — the ``wealth.sold`` consumer, idempotent, or linking by hand), the pipeline
(counts and amounts; supervisors see their branch's), and referrals between staff (receivers who can see the customer;
a supervisor's referral adds another customer manager to the team on acceptance), with the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bankcrm.core import outbox
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.models import AuditEvent, OutboxEvent
from bankcrm.customers.models import Customer, ManagerAssignment
from bankcrm.engagement import consumers, rules, selectors, services
from bankcrm.engagement.models import Opportunity, Referral
from tests.conftest import PASSWORD, login_client
from tests.helpers import audit_seq, verbs_since
from tests.ledger_helpers import build_ledger
from tests.wealth_helpers import CNY, build_wealth

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank):
    return build_ledger(bank)


def specialist(bank, no="CM003", branch=None):
    """A wealth specialist: a customer manager of branch A1 who does not serve the test customers."""
    from bankcrm.org import services as org
    from bankcrm.org.models import Staff

    s = org.staff_create(actor=bank.admin, staff_no=no, name="钱理财", branch_id=(branch or bank.a1).pk,
                         employment_type="employee", roles=["customer_manager"], password=PASSWORD,
                         mobile="13800138001", email=f"{no.lower()}@example.cn")
    return Staff.objects.select_related("branch").get(pk=s.pk)


def _opp(bank, customer, **kw):
    data = dict(actor=bank.cm_a1, customer_id=customer.pk, goal="retirement", amount_fen=500_000 * CNY,
                expected_close=timezone.localdate() + timedelta(days=30))
    data.update(kw)
    return services.opportunity_create(**data)


# ---- Stage rules (pure) --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("current, target, reason, code", [
    ("need", "contacted", "", None), ("need", "proposal", "", None), ("contacted", "proposal", "", None),
    ("proposal", "lost", "客户选择他行", None), ("need", "lost", "预算不足", None),
    ("proposal", "contacted", "", "stage_backwards"), ("contacted", "need", "", "stage_backwards"),
    ("need", "need", "", "stage_unchanged"), ("proposal", "won", "", "won_needs_sale"),
    ("need", "lost", "", "lost_reason_required"), ("need", "lost", " 否 ", "lost_reason_required"),
    ("won", "lost", "x" * 3, "opportunity_closed"), ("lost", "need", "", "opportunity_closed"),
    ("need", "signed", "", "stage_invalid"),
])
def test_stage_transitions(current, target, reason, code):
    if code is None:
        rules.stage_move_check(current, target, lost_reason=reason)
        return
    with pytest.raises((RuleViolation, ValidationFailed)) as e:
        rules.stage_move_check(current, target, lost_reason=reason)
    assert e.value.code == code


def test_next_stages():
    assert rules.next_stages("need") == ["contacted", "proposal", "lost"]
    assert rules.next_stages("proposal") == ["lost"]
    assert rules.next_stages("won") == [] and rules.next_stages("lost") == []


# ---- Opportunities through the services ------------------------------------------------------------------------------
def test_create_move_and_lose_an_opportunity(bank, world):
    seq = audit_seq()
    o = _opp(bank, world.zhang, title="")
    assert (o.stage, o.owner_id, o.title, o.goal) == ("need", bank.cm_a1.pk, "养老", "retirement")
    o = services.opportunity_move(actor=bank.cm_a1, opportunity_id=o.pk, stage="contacted")
    o = services.opportunity_move(actor=bank.supervisor_a, opportunity_id=o.pk, stage="proposal")  # branch supervisor
    with pytest.raises(RuleViolation) as e:
        services.opportunity_move(actor=bank.cm_a1, opportunity_id=o.pk, stage="won")
    assert e.value.code == "won_needs_sale"
    with pytest.raises(ValidationFailed) as e:
        services.opportunity_move(actor=bank.cm_a1, opportunity_id=o.pk, stage="lost")
    assert e.value.code == "lost_reason_required"
    o = services.opportunity_move(actor=bank.cm_a1, opportunity_id=o.pk, stage="lost", lost_reason="客户选择他行产品")
    assert o.stage == "lost" and o.closed_at and o.lost_reason == "客户选择他行产品"
    with pytest.raises(RuleViolation):
        services.opportunity_update(actor=bank.cm_a1, opportunity_id=o.pk, amount_fen=1)
    assert verbs_since(seq) == ["engagement.opportunity"] * 4


@pytest.mark.parametrize("change, code", [
    ({"goal": "lottery"}, "goal_invalid"), ({"goal": ""}, "goal_invalid"), ({"amount_fen": -1}, "amount_invalid"),
    ({"expected_close": timezone.localdate() - timedelta(days=1)}, "expected_close_invalid"),
    ({"product_id": 999999}, "product_invalid"), ({"title": "长" * 121}, "title_too_long"),
])
def test_opportunity_validation(bank, world, change, code):
    with pytest.raises(ValidationFailed) as e:
        _opp(bank, world.zhang, **change)
    assert e.value.code == code and Opportunity.objects.count() == 0


def test_opportunity_scope(bank, world):
    with pytest.raises(NotFound):
        _opp(bank, world.zhang, actor=bank.cm_b1)
    with pytest.raises(NotFound):
        _opp(bank, world.zhang, actor=bank.intern)  # same branch, does not manage the customer
    with pytest.raises(PermissionDenied):
        _opp(bank, world.zhang, actor=bank.om_a1)  # operations managers do not work opportunities
    o = _opp(bank, world.zhang)
    for actor in (bank.cm_b1, bank.supervisor_b, bank.intern):
        with pytest.raises(NotFound):
            services.opportunity_move(actor=actor, opportunity_id=o.pk, stage="contacted")
        with pytest.raises(NotFound):
            selectors.opportunity_get(actor, o.pk)
    with pytest.raises(ValidationFailed) as e:  # the owner must see the customer
        _opp(bank, world.zhang, actor=bank.supervisor_a, owner_id=bank.intern.pk)
    assert e.value.code == "owner_invalid"


def test_update_changes_only_what_was_given(bank, world):
    o = _opp(bank, world.zhang)
    o = services.opportunity_update(actor=bank.cm_a1, opportunity_id=o.pk, amount_fen=800_000 * CNY)
    assert o.amount_fen == 800_000 * CNY and o.goal == "retirement"
    with pytest.raises(ValidationFailed) as e:
        services.opportunity_update(actor=bank.cm_a1, opportunity_id=o.pk, stage="won", sale_id=1)
    assert e.value.code == "field_not_editable"


def test_pipeline_columns_with_counts_and_amounts_supervisors_see_their_branch(bank, world):
    a = _opp(bank, world.zhang, amount_fen=100 * CNY)
    b = _opp(bank, world.li, amount_fen=300 * CNY, goal="education")
    services.opportunity_move(actor=bank.cm_a1, opportunity_id=b.pk, stage="proposal")
    c = services.opportunity_create(actor=bank.cm_b1, customer_id=world.wang.pk, goal="housing", amount_fen=700 * CNY)
    p = selectors.pipeline(bank.cm_a1, mine=True)
    cols = {col["stage"]: col for col in p["columns"]}
    assert [col["stage"] for col in p["columns"]] == ["need", "contacted", "proposal", "won", "lost"]
    assert (cols["need"]["count"], cols["need"]["amount_fen"], [o.pk for o in cols["need"]["items"]]) == (
        1, 100 * CNY, [a.pk])
    assert (cols["proposal"]["count"], cols["proposal"]["amount_fen"]) == (1, 300 * CNY)
    assert (p["open_count"], p["open_amount_fen"]) == (2, 400 * CNY)
    seen_a = {o.pk for col in selectors.pipeline(bank.supervisor_a)["columns"] for o in col["items"]}
    seen_b = {o.pk for col in selectors.pipeline(bank.supervisor_b)["columns"] for o in col["items"]}
    assert seen_a == {a.pk, b.pk} and seen_b == {c.pk}
    assert selectors.pipeline(bank.cm_a1, goal="education")["open_count"] == 1


# ---- Winning through a sale ------------------------------------------------------------------------------------------
@pytest.fixture
def w(bank):
    return build_wealth(bank)


def _sell(w, product="R2", amount=20_000 * CNY, customer=None):
    from bankcrm.wealth import services as wealth

    customer = customer or w.li
    account = w.ledger.li_cny if customer == w.li else w.ledger.zhang_cny
    s = wealth.sale_propose(actor=w.bank.cm_a1, customer_id=customer.pk, product_id=w.products[product].pk,
                            account_id=account.pk, amount_fen=amount)
    s = wealth.sale_confirm(actor=w.bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    s.refresh_from_db()
    assert s.status == "settled"
    return s


def _drain() -> int:
    n = 0
    while True:
        moved = outbox.consume("engagement_sales")
        if not moved:
            return n
        n += moved


def test_wealth_sold_wins_the_matching_opportunity_once(bank, w):
    r2 = w.products["R2"]
    other = _opp(bank, w.li, goal="growth", product_id=w.products["R3"].pk)
    match = _opp(bank, w.li, goal="retirement", product_id=r2.pk, amount_fen=50_000 * CNY)
    services.opportunity_move(actor=bank.cm_a1, opportunity_id=match.pk, stage="proposal")
    sale = _sell(w)
    assert OutboxEvent.objects.filter(topic="wealth.sold", payload__sale_id=sale.pk).count() == 1
    seq = audit_seq()
    assert _drain() >= 1
    match.refresh_from_db()
    other.refresh_from_db()
    assert (match.stage, match.sale_id, match.amount_fen) == ("won", sale.pk, sale.amount_fen)
    assert other.stage == "need" and other.sale_id is None
    assert verbs_since(seq) == ["engagement.opportunity"]
    assert AuditEvent.objects.filter(verb="engagement.opportunity").order_by("-seq").first().actor_id is None
    # the same event delivered again (a replay) changes nothing
    ev = OutboxEvent.objects.get(topic="wealth.sold", payload__sale_id=sale.pk)
    consumers.sold([ev])
    consumers.sold([ev])
    assert _drain() == 0
    assert Opportunity.objects.filter(sale=sale).count() == 1 and verbs_since(seq) == ["engagement.opportunity"]


def test_wealth_sold_falls_back_to_a_proposal_without_product_and_leaves_others(bank, w):
    need = _opp(bank, w.li, goal="growth")  # need stage, no product: not won
    proposal = _opp(bank, w.li, goal="retirement")
    services.opportunity_move(actor=bank.cm_a1, opportunity_id=proposal.pk, stage="proposal")
    zhang_opp = _opp(bank, w.zhang, goal="retirement")
    services.opportunity_move(actor=bank.cm_a1, opportunity_id=zhang_opp.pk, stage="proposal")
    sale = _sell(w)
    _drain()
    assert Opportunity.objects.get(pk=proposal.pk).sale_id == sale.pk
    assert Opportunity.objects.get(pk=need.pk).stage == "need"
    assert Opportunity.objects.get(pk=zhang_opp.pk).stage == "proposal"  # another customer's
    second = _sell(w)  # nothing left to win for li: no change
    _drain()
    assert not Opportunity.objects.filter(sale=second).exists()
    assert services.opportunity_win_from_sale(sale_id=10**9, customer_id=w.li.pk, product_id=None) is None


def test_link_a_settled_sale_by_hand(bank, w):
    sale = _sell(w)
    _drain()  # no opportunity yet: the sale wins nothing
    o = _opp(bank, w.li, goal="growth")
    with pytest.raises(ValidationFailed) as e:
        services.opportunity_link_sale(actor=bank.cm_a1, opportunity_id=o.pk, sale_id=10**9)
    assert e.value.code == "sale_invalid"
    zo = _opp(bank, w.zhang, goal="growth")
    with pytest.raises(ValidationFailed) as e:
        services.opportunity_link_sale(actor=bank.cm_a1, opportunity_id=zo.pk, sale_id=sale.pk)
    assert e.value.code == "sale_other_customer"
    o = services.opportunity_link_sale(actor=bank.cm_a1, opportunity_id=o.pk, sale_id=sale.pk)
    assert (o.stage, o.sale_id, o.product_id) == ("won", sale.pk, w.products["R2"].pk)
    o2 = _opp(bank, w.li, goal="retirement")
    with pytest.raises(RuleViolation) as e:
        services.opportunity_link_sale(actor=bank.cm_a1, opportunity_id=o2.pk, sale_id=sale.pk)
    assert e.value.code == "sale_already_linked"
    with pytest.raises(RuleViolation):
        services.opportunity_link_sale(actor=bank.cm_a1, opportunity_id=o.pk, sale_id=sale.pk)


# ---- Referrals -------------------------------------------------------------------------------------------------------
def test_referral_to_a_colleague_who_sees_the_customer(bank, world):
    seq = audit_seq()
    r = services.referral_send(actor=bank.cm_a1, customer_id=world.zhang.pk, to_staff_id=bank.supervisor_a.pk,
                               reason="客户有大额资金，需要行长面谈")
    assert (r.status, r.from_staff_id) == ("sent", bank.cm_a1.pk)
    with pytest.raises(RuleViolation) as e:
        services.referral_send(actor=bank.cm_a1, customer_id=world.zhang.pk, to_staff_id=bank.supervisor_a.pk,
                               reason="重复转介")
    assert e.value.code == "referral_open"
    with pytest.raises(PermissionDenied):  # only the receiver acts on it
        services.referral_accept(actor=bank.cm_a1, referral_id=r.pk)
    with pytest.raises(NotFound):
        services.referral_accept(actor=bank.supervisor_b, referral_id=r.pk)
    r = services.referral_accept(actor=bank.supervisor_a, referral_id=r.pk)
    assert r.status == "accepted" and r.decided_at
    with pytest.raises(RuleViolation):
        services.referral_decline(actor=bank.supervisor_a, referral_id=r.pk, reason="不处理")
    with pytest.raises(ValidationFailed) as e:
        services.referral_complete(actor=bank.supervisor_a, referral_id=r.pk, outcome="")
    assert e.value.code == "outcome_required"
    r = services.referral_complete(actor=bank.supervisor_a, referral_id=r.pk, outcome="已面谈，客户考虑中")
    assert (r.status, r.outcome) == ("completed", "已面谈，客户考虑中")
    assert verbs_since(seq) == ["engagement.referral"] * 3


@pytest.mark.parametrize("who, code", [("cm_b1", "receiver_other_branch"), ("om_a1", "receiver_invalid"),
                                       ("cm_a1", "referral_to_self"), ("specialist", "receiver_cannot_see")])
def test_referral_receivers_are_restricted(bank, world, who, code):
    to = specialist(bank) if who == "specialist" else getattr(bank, who)
    with pytest.raises(ValidationFailed) as e:
        services.referral_send(actor=bank.cm_a1, customer_id=world.zhang.pk, to_staff_id=to.pk, reason="理财需求")
    assert e.value.code == code and Referral.objects.count() == 0


def test_referral_scope_and_validation(bank, world):
    with pytest.raises(NotFound):
        services.referral_send(actor=bank.cm_b1, customer_id=world.zhang.pk, to_staff_id=bank.supervisor_b.pk,
                               reason="理财需求")
    with pytest.raises(ValidationFailed) as e:
        services.referral_send(actor=bank.cm_a1, customer_id=world.zhang.pk, to_staff_id=bank.supervisor_a.pk,
                               reason="")
    assert e.value.code == "reason_required"
    with pytest.raises(ValidationFailed) as e:
        services.referral_send(actor=bank.cm_a1, customer_id=world.zhang.pk, to_staff_id=999999, reason="理财需求")
    assert e.value.code == "staff_not_found"


def test_supervisor_refers_to_a_specialist_who_joins_the_team_on_accepting(bank, world):
    spec = specialist(bank)
    assert not Customer.objects.visible_to(spec).filter(pk=world.zhang.pk).exists()
    receivers = services.referral_receivers(bank.supervisor_a, world.zhang)
    assert spec in receivers and bank.cm_a1 in receivers
    assert spec not in services.referral_receivers(bank.cm_a1, world.zhang)
    r = services.referral_send(actor=bank.supervisor_a, customer_id=world.zhang.pk, to_staff_id=spec.pk,
                               reason="客户有留学理财需求，请理财专员跟进")
    # before accepting, the specialist sees the referral, with the name masked, but not the customer
    seen = selectors.referral_get(spec, r.pk)
    assert seen.can_see_customer is False
    with pytest.raises(NotFound):
        _opp(bank, world.zhang, actor=spec)
    seq = audit_seq()
    r = services.referral_accept(actor=spec, referral_id=r.pk)
    assert r.status == "accepted"
    assert verbs_since(seq) == ["customers.manager_assigned", "engagement.referral"]
    a = ManagerAssignment.objects.get(customer=world.zhang, staff=spec, ended_at__isnull=True)
    assert (a.role, a.assigned_by_id) == ("team", bank.supervisor_a.pk)
    assert Customer.objects.visible_to(spec).filter(pk=world.zhang.pk).exists()
    o = services.opportunity_create(actor=spec, customer_id=None, referral_id=r.pk, goal="education",
                                    amount_fen=300_000 * CNY)
    assert (o.customer_id, o.owner_id) == (world.zhang.pk, spec.pk)
    assert Referral.objects.get(pk=r.pk).opportunity_id == o.pk
    with pytest.raises(RuleViolation) as e:
        services.opportunity_create(actor=spec, customer_id=None, referral_id=r.pk, goal="education")
    assert e.value.code == "referral_has_opportunity"


def test_accepting_fails_cleanly_when_the_sender_can_no_longer_assign(bank, world):
    from bankcrm.org import services as org

    spec = specialist(bank)
    r = services.referral_send(actor=bank.supervisor_a, customer_id=world.zhang.pk, to_staff_id=spec.pk,
                               reason="理财需求跟进")
    org.staff_deactivate(actor=bank.admin, staff_id=bank.supervisor_a.pk, reason="调离")
    seq = audit_seq()
    with pytest.raises(RuleViolation) as e:
        services.referral_accept(actor=spec, referral_id=r.pk)
    assert e.value.code == "referral_grant_unavailable"
    assert Referral.objects.get(pk=r.pk).status == "sent" and verbs_since(seq) == []
    assert not ManagerAssignment.objects.filter(staff=spec).exists()


def test_decline_needs_a_reason(bank, world):
    r = services.referral_send(actor=bank.cm_a1, customer_id=world.zhang.pk, to_staff_id=bank.supervisor_a.pk,
                               reason="大额资金")
    with pytest.raises(ValidationFailed):
        services.referral_decline(actor=bank.supervisor_a, referral_id=r.pk, reason="")
    r = services.referral_decline(actor=bank.supervisor_a, referral_id=r.pk, reason="请先完成风险测评")
    assert (r.status, r.outcome) == ("declined", "请先完成风险测评")


# ---- Pages -----------------------------------------------------------------------------------------------------------
def test_pipeline_opportunity_and_referral_pages(bank, w):
    spec = specialist(bank)
    o = _opp(bank, w.li, goal="retirement", product_id=w.products["R2"].pk)
    sale = _sell(w)
    c = login_client(bank.cm_a1)
    html = c.get(reverse("engagement:pipeline")).content.decode()
    assert 'data-testid="column-need"' in html and o.title in html
    html = c.get(reverse("engagement:opportunity", args=[o.pk])).content.decode()
    assert 'data-testid="move-contacted"' in html and sale.number in html  # the sale to link is offered
    r = c.post(reverse("engagement:opportunity_move", args=[o.pk]), {"stage": "proposal"})
    assert r.status_code == 302 and Opportunity.objects.get(pk=o.pk).stage == "proposal"
    r = c.post(reverse("engagement:opportunity_move", args=[o.pk]), {"stage": "lost", "lost_reason": ""}, follow=True)
    assert "lost_reason_required" in r.content.decode() and Opportunity.objects.get(pk=o.pk).stage == "proposal"
    r = c.post(reverse("engagement:opportunity_edit", args=[o.pk]), {"title": "养老规划", "amount": "12,000.50",
                                                                      "product": w.products["R2"].pk})
    assert Opportunity.objects.get(pk=o.pk).amount_fen == 1_200_050
    r = c.post(reverse("engagement:opportunity_link_sale", args=[o.pk]), {"sale": sale.pk})
    assert Opportunity.objects.get(pk=o.pk).stage == "won"
    r = c.post(reverse("engagement:opportunity_new", args=[w.zhang.pk]), {"goal": "housing", "amount": "abc"})
    assert r.status_code == 200 and "金额格式不正确" in r.content.decode()
    r = c.post(reverse("engagement:opportunity_new", args=[w.zhang.pk]), {"goal": "housing", "amount": "1000"})
    assert r.status_code == 302
    # referral: supervisor sends to the specialist, who accepts and opens an opportunity from it
    sv = login_client(bank.supervisor_a)
    html = sv.get(reverse("engagement:referral_new", args=[w.zhang.pk])).content.decode()
    assert spec.staff_no in html
    r = sv.post(reverse("engagement:referral_new", args=[w.zhang.pk]), {"to_staff": spec.pk, "reason": "理财专员跟进"})
    ref = Referral.objects.get()
    assert r.status_code == 302
    sc = login_client(spec)
    html = sc.get(reverse("engagement:referral", args=[ref.pk])).content.decode()
    assert 'data-testid="referral-accept"' in html and w.zhang.name not in html  # masked before accepting
    assert sc.get(reverse("engagement:referrals")).status_code == 200
    r = sc.post(reverse("engagement:referral_accept", args=[ref.pk]), {"open_opportunity": "1"})
    assert r.status_code == 302 and f"referral={ref.pk}" in r["Location"]
    r = sc.post(r["Location"], {"goal": "education", "amount": "", "referral": ref.pk})
    assert r.status_code == 302 and Referral.objects.get(pk=ref.pk).opportunity_id
    assert w.zhang.name in sc.get(reverse("engagement:referral", args=[ref.pk])).content.decode()
    for url in [reverse("engagement:referral", args=[ref.pk]), reverse("engagement:opportunity", args=[o.pk])]:
        assert login_client(bank.supervisor_b).get(url).status_code == 404, url
    assert login_client(bank.supervisor_a).get(reverse("engagement:pipeline") + "?mine=0").status_code == 200
