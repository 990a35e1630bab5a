"""Webhooks end to end with a real HTTP receiver on 127.0.0.1: events made from the outbox exactly once (a sale
published once is delivered once however often the relay and the sender run), the signature verified by the
receiver, retries with exponential backoff after a 500 then success, abandonment after the last attempt and
"retry now", redirects never followed, both secrets signing during a secret rotation, the pull fallback, and
payloads that carry no personal data beyond masked names."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.core import outbox, params
from bankcrm.core.errors import RuleViolation
from bankcrm.partners import partner_rules as rules
from bankcrm.partners import partner_services as svc
from bankcrm.partners import webhook_services as webhooks
from bankcrm.partners.models import PartnerEvent, WebhookDelivery
from tests.helpers import audit_seq, verbs_since
from tests.partners_helpers import call, fund_company, key_for, start_receiver

pytestmark = pytest.mark.django_db
D = WebhookDelivery.Status


@pytest.fixture
def receiver(settings):
    settings.BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    settings.BANKCRM_WEBHOOK_TIMEOUT = 3
    r = start_receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _drain() -> None:
    for name in ("partners_sales", "partners_settlements", "partners_complaints"):
        while outbox.consume(name):
            pass


def _verify(received, secret: str) -> dict:
    """What the partner runs: check the signature over "t.body" with its secret, then parse the body."""
    header = received.headers["X-Bankcrm-Signature"]
    ts = int(header.split(",")[0][2:])
    assert rules.verify_signature(secret, header, received.body, now=ts)
    return json.loads(received.body)


@pytest.fixture
def sold(bank):
    """A fund company with its bond fund on the shelf, an endpoint, and one sale of the fund settled (published once
    on the outbox as wealth.sold)."""
    from bankcrm.wealth import services as wealth
    from tests.wealth_helpers import build_wealth, product

    w = build_wealth(bank)
    bond = product(bank, "RF-BOND-A", kind="fund", issuer="瑞丰基金管理有限公司")
    p = fund_company(bank)
    svc.partner_products_set(actor=bank.admin, partner_id=p.pk, product_ids=[bond.pk])

    def sell(amount_yuan: int = 20_000):
        s = wealth.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=bond.pk,
                                account_id=w.ledger.li_cny.pk, amount_fen=amount_yuan * 100)
        s = wealth.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
        s.refresh_from_db()
        assert s.status == "settled"
        return s

    return {"w": w, "partner": p, "bond": bond, "sell": sell}


def test_a_sale_published_once_is_delivered_exactly_once_signed(bank, sold, receiver):
    from bankcrm.core.models import AccessEvent

    p = sold["partner"]
    ep, secret = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    sale = sold["sell"]()
    for _i in range(3):  # the relay and the sender run again and again
        _drain()
        webhooks.dispatch_due(now=timezone.now() + timedelta(hours=1))
    assert PartnerEvent.objects.filter(partner=p).count() == 1
    d = WebhookDelivery.objects.get()
    assert (d.status, d.attempts, d.last_status_code, d.endpoint_id) == (D.DELIVERED, 1, 200, ep.pk)
    assert len(receiver.received) == 1
    got = receiver.received[0]
    body = _verify(got, secret)
    assert got.headers["X-Bankcrm-Event"] == "sale.settled" and got.headers["X-Bankcrm-Delivery"] == d.delivery_id
    assert got.headers["Content-Type"].startswith("application/json")
    assert rules.body_digest(got.body) == d.payload_digest == d.event.digest
    data = body["data"]
    assert body["type"] == "sale.settled" and body["id"] == d.event.event_id
    assert (data["sale_no"], data["product_code"], data["amount_fen"]) == (sale.number, "RF-BOND-A", 2_000_000)
    # no personal data beyond a masked name and a per-partner pseudonym
    li = sold["w"].li
    assert data["customer_name"] == "李**" and li.name not in got.body.decode()
    assert data["customer_ref"] == rules.customer_ref(svc.server_key(), "RFFUND", li.pk) != rules.customer_ref(
        svc.server_key(), "KNLIFE", li.pk)
    for secret_field in ("13812345678", li.customer_no, "110105"):
        assert secret_field not in got.body.decode()
    # the masked name handed to the partner is in the personal-data access log
    assert AccessEvent.objects.filter(view="partners.sale.settled:RFFUND", subject_ids=[str(li.pk)]).exists()
    # a wrong secret does not verify what was received
    assert not rules.verify_signature("whsec_wrong", got.headers["X-Bankcrm-Signature"], got.body,
                                      now=int(got.headers["X-Bankcrm-Signature"].split(",")[0][2:]))


def test_exactly_once_detector_without_the_source_key_a_replayed_fact_duplicates(bank, sold, receiver, monkeypatch):
    """A broken relay replays the same facts: the (partner, source) key keeps one event and one delivery. Broken
    variant: each replay given a fresh source — the same check then sees the duplicate."""
    from dataclasses import replace

    from bankcrm.core.models import OutboxEvent
    from bankcrm.partners import consumers

    svc.endpoint_create(actor=bank.admin, partner_id=sold["partner"].pk, url=receiver.url, events=[rules.SALE_SETTLED])
    sold["sell"]()
    events = list(OutboxEvent.objects.filter(topic="wealth.sold"))
    consumers.sales(events)
    consumers.sales(events)
    assert PartnerEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    original, n = consumers.events_record, iter(range(100))
    monkeypatch.setattr(consumers, "events_record",
                        lambda facts, **kw: original([replace(f, source=f"{f.source}:{next(n)}") for f in facts], **kw))
    consumers.sales(events)
    assert PartnerEvent.objects.count() == 2 and WebhookDelivery.objects.count() == 2


def test_retry_after_500_then_success_with_backoff(bank, sold, receiver):
    p = sold["partner"]
    svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    receiver.script[:] = [500]
    sold["sell"]()
    _drain()
    t0 = timezone.now()
    assert webhooks.dispatch_due(now=t0) == {D.FAILED: 1}
    d = WebhookDelivery.objects.get()
    first = params.value("partners.webhook_retry_first", t0)
    assert (d.status, d.attempts, d.last_status_code) == (D.FAILED, 1, 500)
    assert d.next_attempt_at == t0 + timedelta(minutes=first) and d.last_error == "HTTP 500"
    assert webhooks.dispatch_due(now=t0 + timedelta(seconds=30)) == {}  # not due yet
    assert webhooks.dispatch_due(now=t0 + timedelta(minutes=first)) == {D.DELIVERED: 1}
    d.refresh_from_db()
    assert (d.status, d.attempts, d.last_status_code, d.last_error) == (D.DELIVERED, 2, 200, "")
    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body  # the same body on every attempt
    assert receiver.received[0].headers["X-Bankcrm-Delivery"] == receiver.received[1].headers["X-Bankcrm-Delivery"]


def test_backoff_doubles_is_capped_then_dead_and_retry_now(bank, sold, receiver):
    from bankcrm.core.services import parameter_set

    for code, value in (("partners.webhook_retry_first", 2), ("partners.webhook_retry_cap", 10),
                        ("partners.webhook_max_attempts", 6)):  # a schedule that reaches its cap within the test
        parameter_set(actor=bank.admin, code=code, value=value, effective_from=None, reason="测试重试计划")
    p = sold["partner"]
    _ep, _s = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    now = timezone.now() + timedelta(seconds=1)
    first, cap = params.value("partners.webhook_retry_first", now), params.value("partners.webhook_retry_cap", now)
    most = params.value("partners.webhook_max_attempts", now)
    assert (first, cap, most) == (2, 10, 6)
    receiver.script[:] = [500] * (most + 5)
    sold["sell"]()
    _drain()
    at, gaps = timezone.now(), []
    d = WebhookDelivery.objects.get()
    while d.status != D.DEAD:
        assert webhooks.dispatch_due(now=at)
        d.refresh_from_db()
        if d.next_attempt_at:
            gaps.append(int((d.next_attempt_at - at).total_seconds()))
            at = d.next_attempt_at
    assert d.attempts == most and len(receiver.received) == most
    assert gaps == [min(first * 60 * 2 ** i, cap * 60) for i in range(most - 1)]
    assert gaps == [120, 240, 480, 600, 600]  # doubling, then the cap
    assert webhooks.dispatch_due(now=at + timedelta(days=30)) == {}  # dead is left alone
    # retry now: one more attempt, delivered
    receiver.script[:] = []
    seq = audit_seq()
    d = webhooks.delivery_retry(actor=bank.admin, delivery_id=d.pk)
    assert webhooks.attempt(d.pk) == D.DELIVERED
    d.refresh_from_db()
    assert (d.status, d.attempts) == (D.DELIVERED, most + 1)
    assert verbs_since(seq) == ["partners.delivery_retried"]
    with pytest.raises(RuleViolation) as e:
        webhooks.delivery_retry(actor=bank.admin, delivery_id=d.pk)
    assert e.value.code == "delivery_already_delivered"


def test_redirects_are_not_followed_and_count_as_failures(bank, receiver):
    p = fund_company(bank)
    ep, _s = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    receiver.script[:] = [302]
    d = webhooks.endpoint_test(actor=bank.admin, endpoint_id=ep.pk)
    assert webhooks.attempt(d.pk) == D.FAILED
    d.refresh_from_db()
    assert d.last_status_code == 302
    assert [r.path for r in receiver.received] == ["/bankcrm/webhooks"]  # nothing sent to /elsewhere


def test_unreachable_endpoint_fails_fast_and_is_retried(bank, settings):
    settings.BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    p = fund_company(bank)
    ep, _s = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url="http://127.0.0.1:9/hooks",
                                 events=[rules.SALE_SETTLED])
    d = webhooks.endpoint_test(actor=bank.admin, endpoint_id=ep.pk)
    assert webhooks.attempt(d.pk) == D.FAILED
    d.refresh_from_db()
    assert d.last_status_code is None and "URLError" in d.last_error and d.next_attempt_at > timezone.now()
    settings.BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP = False  # production: plain HTTP is refused before any connection
    webhooks.delivery_retry(actor=bank.admin, delivery_id=d.pk)
    webhooks.attempt(d.pk)
    d.refresh_from_db()
    assert "HTTPS" in d.last_error


def test_an_endpoint_that_is_down_costs_one_attempt_per_run_and_does_not_hold_up_others(bank, receiver, settings):
    p = fund_company(bank)
    down, _s = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url="http://127.0.0.1:9/hooks",
                                   events=[rules.SALE_SETTLED])
    up, _s2 = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    for _i in range(3):
        webhooks.endpoint_test(actor=bank.admin, endpoint_id=down.pk)
    webhooks.endpoint_test(actor=bank.admin, endpoint_id=up.pk)
    assert webhooks.dispatch_due() == {D.FAILED: 1, "skipped": 2, D.DELIVERED: 1}
    assert sorted(WebhookDelivery.objects.filter(endpoint=down).values_list("attempts", flat=True)) == [0, 0, 1]
    assert len(receiver.received) == 1


def test_secret_rotation_signs_with_both_secrets_during_the_grace(bank, receiver):
    p = fund_company(bank)
    ep, old = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    ep, new = svc.endpoint_rotate_secret(actor=bank.admin, endpoint_id=ep.pk)
    assert new != old and ep.previous_valid_until > timezone.now()
    d = webhooks.endpoint_test(actor=bank.admin, endpoint_id=ep.pk)
    assert webhooks.attempt(d.pk) == D.DELIVERED
    got = receiver.received[-1]
    assert got.headers["X-Bankcrm-Signature"].count("v1=") == 2
    _verify(got, new)
    _verify(got, old)
    # the secrets are encrypted at rest
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT secret, previous_secret FROM partners_webhookendpoint WHERE id = %s", [ep.pk])
        stored = cur.fetchone()
    assert all(v.startswith("v1:") for v in stored) and new not in stored and old not in stored


def test_test_event_and_pull_fallback(bank, receiver):
    p = fund_company(bank)
    ep, secret = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    d = webhooks.endpoint_test(actor=bank.admin, endpoint_id=ep.pk)
    assert webhooks.attempt(d.pk) == D.DELIVERED
    body = _verify(receiver.received[-1], secret)
    assert body["type"] == "test.ping" and body["data"]["partner"] == "RFFUND"
    _k, token = key_for(bank, p, scopes=[rules.SCOPE_EVENTS])
    r = call(token, "get", "/api/v1/partner/events/")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [x["id"] for x in rows] == [body["id"]] and rows[0]["deliveries"][0]["status"] == "delivered"
    assert rows[0]["data"] == body["data"] and rows[0]["digest"] == d.payload_digest
    seq = rows[0]["seq"]
    assert call(token, "get", f"/api/v1/partner/events/?after={seq}").json()["results"] == []
    # another partner never sees these events
    other = fund_company(bank, code="OTHERFUND")
    _k2, t2 = key_for(bank, other, scopes=[rules.SCOPE_EVENTS])
    assert call(t2, "get", "/api/v1/partner/events/").json()["results"] == []


def test_inactive_endpoints_and_suspended_partners_get_nothing(bank, sold, receiver):
    p = sold["partner"]
    ep, _s = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url=receiver.url, events=[rules.SALE_SETTLED])
    svc.endpoint_update(actor=bank.admin, endpoint_id=ep.pk, active=False)
    sold["sell"]()
    _drain()
    assert PartnerEvent.objects.count() == 1 and WebhookDelivery.objects.count() == 0  # pull only
    svc.endpoint_update(actor=bank.admin, endpoint_id=ep.pk, active=True)
    svc.partner_set_status(actor=bank.admin, partner_id=p.pk, status="suspended", reason="合作协议到期")
    sold["sell"](30_000)
    _drain()
    assert PartnerEvent.objects.count() == 1  # no new events for a suspended partner
    with pytest.raises(RuleViolation):
        webhooks.endpoint_test(actor=bank.admin, endpoint_id=ep.pk)
    assert receiver.received == []


def test_settlements_reach_the_clearing_house_masked(bank, receiver):
    from bankcrm.ledger import services as ledger
    from tests.ledger_helpers import build_ledger, fund

    led = build_ledger(bank)
    fund(led.li_cny, 500_000, teller=bank.om_a1)
    house = svc.partner_create(actor=bank.admin, code="CSCLEAR", name="城银支付清算中心", kind=rules.CLEARING_HOUSE,
                               allowed_events=[rules.SETTLEMENT_OUTWARD], allowed_scopes=[rules.SCOPE_EVENTS])
    _ep, secret = svc.endpoint_create(actor=bank.admin, partner_id=house.pk, url=receiver.url,
                                     events=[rules.SETTLEMENT_OUTWARD])
    mv = ledger.outward_transfer_movement(actor=bank.om_a1, from_account_id=led.li_cny.pk, amount_fen=120_000,
                                          bank="中国工商银行北京分行", name="欧阳娜娜", account_no="6222020200112233445")
    entry = ledger.post(mv, maker=bank.om_a1)
    ledger.post(ledger.cash_deposit_movement(actor=bank.om_a1, account_id=led.li_cny.pk, amount_fen=5_000),
                maker=bank.om_a1)  # not a settlement
    _drain()
    webhooks.dispatch_due()
    assert len(receiver.received) == 1
    data = _verify(receiver.received[0], secret)["data"]
    assert (data["txn_no"], data["amount_fen"], data["reversal"]) == (entry.txn_no, 120_000, False)
    assert data["payee_name"] == "欧阳**" and data["payee_account"] == "622202*********3445"
    assert data["payer_name"] == "李**" and "6222020200112233445" not in receiver.received[0].body.decode()
    assert led.li_cny.number not in receiver.received[0].body.decode()


def test_complaints_transferred_by_the_regulator_reach_the_regulator_when_closed(bank, receiver):
    from bankcrm.service.models import Complaint

    reg = svc.partner_create(actor=bank.admin, code="NFRA-BJ", name="国家金融监督管理总局北京监管局",
                             kind=rules.REGULATOR, allowed_events=[rules.COMPLAINT_CLOSED],
                             allowed_scopes=[rules.SCOPE_EVENTS])
    _ep, secret = svc.endpoint_create(actor=bank.admin, partner_id=reg.pk, url=receiver.url,
                                     events=[rules.COMPLAINT_CLOSED])
    transferred, direct = _closed_complaint(bank, "regulator"), _closed_complaint(bank, "phone")
    _drain()
    webhooks.dispatch_due()
    assert len(receiver.received) == 1
    data = _verify(receiver.received[0], secret)["data"]
    assert data["complaint_no"] == transferred.number and data["channel"] == "regulator"
    assert data["customer_name"].endswith("*") and data["decision"] == "upheld"
    assert Complaint.objects.get(pk=transferred.pk).summary not in receiver.received[0].body.decode()
    assert direct.number not in receiver.received[0].body.decode()


def _closed_complaint(bank, channel: str):
    from bankcrm.service import services as service
    from bankcrm.service.models import RootCause
    from tests.ledger_helpers import build_ledger

    if not hasattr(bank, "_led"):
        bank._led = build_ledger(bank)
        service.root_causes_install_default(actor=bank.admin)
    led = bank._led
    c = service.complaint_register(actor=bank.cm_a1, customer_id=led.li.pk, channel=channel,
                                   summary="理财产品收益与宣传不符（客户李小龙）", product_line="wealth")
    service.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    service.complaint_acknowledge(actor=bank.cm_a1, complaint_id=c.pk)
    cause = RootCause.objects.filter(parent__isnull=False, active=True).first()
    service.complaint_decide(actor=bank.cm_a1, complaint_id=c.pk, findings="经调查，宣传材料存在夸大收益表述。",
                             decision="upheld", remedy="退还认购费并致歉", root_cause_id=cause.pk)
    return service.complaint_close(actor=bank.cm_a1, complaint_id=c.pk)
