"""Ledger through the REST API, the bulk history path, the outbox and the nightly jobs."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.core import outbox
from bankcrm.core.models import AccessEvent, OutboxDelivery
from bankcrm.ledger import bulk, selectors, services
from bankcrm.ledger.models import Account, JournalEntry, Product
from tests.conftest import login_client
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def led(bank):
    return build_ledger(bank)


def _post(client, url, body, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key or uuid.uuid4().hex}
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def test_open_account_deposit_and_statement_through_the_api(led, bank):
    om = login_client(bank.om_a1)
    t1y = Product.objects.get(code="T-1Y")
    r = om.post("/api/v1/ledger/accounts/", data={"customer": led.li.pk, "product": t1y.pk}, content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "maturity_instruction_required"
    r = om.post("/api/v1/ledger/accounts/", data={"customer": led.li.pk, "product": t1y.pk,
                                                  "maturity_instruction": "payout", "payout_account": led.li_cny.pk},
                content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["maturity_date"] and "*" in body["number"] and body["status"] == "active"
    r = _post(om, "/api/v1/ledger/transactions/", {"kind": "cash_in", "account": led.li_cny.number, "amount": "1,234.50"})
    assert r.status_code == 201 and r.json()["status"] == "posted", r.content
    r = om.get(f"/api/v1/ledger/accounts/{led.li_cny.pk}/statement/")
    assert r.status_code == 200
    st = r.json()
    assert st["closing_fen"] == 123_450 and st["credits_fen"] == 123_450 and len(st["rows"]) == 1
    ev = AccessEvent.objects.filter(view="api.ledger_statement").latest("id")
    assert ev.subject_ids == [str(led.li.pk)] and ev.actor_id == bank.om_a1.pk


def test_bad_input_gets_a_chinese_error_with_a_stable_code(led, bank):
    om = login_client(bank.om_a1)
    wrong = led.li_cny.number[:-1] + str((int(led.li_cny.number[-1]) + 1) % 10)
    cases = [
        ({"kind": "cash_in", "account": wrong, "amount": "10"}, 400, "invalid_account_number"),
        ({"kind": "cash_in", "account": str(led.li_cny.pk), "amount": "-1"}, 400, "amount_not_positive"),
        ({"kind": "cash_in", "account": str(led.li_cny.pk), "amount": "1.234"}, 400, "invalid_amount_precision"),
        ({"kind": "cash_out", "account": str(led.li_cny.pk), "amount": "1"}, 409, "insufficient_funds"),
        ({"kind": "outward", "account": str(led.li_cny.pk), "amount": "1"}, 400, "invalid_counterparty"),
        ({"kind": "cash_in", "account": str(led.wang_cny.pk), "amount": "1"}, 404, "account_not_found"),
    ]
    for body, status, code in cases:
        r = _post(om, "/api/v1/ledger/transactions/", body)
        assert r.status_code == status and r.json()["error"]["code"] == code, (body, r.content)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["error"]["message"]), r.json()
    assert not JournalEntry.objects.exists()


def test_large_transfer_via_api_is_202_and_approved_via_api(led, bank):
    fund(led.zhang_cny, 10_000_000, teller=bank.om_a1)
    om = login_client(bank.om_a1)
    r = _post(om, "/api/v1/ledger/transactions/", {"kind": "internal", "account": str(led.zhang_cny.pk),
                                                   "to_account": led.li_cny.number, "amount": "50000"})
    assert r.status_code == 202 and r.json()["status"] == "pending_approval"
    approval = r.json()["approval_id"]
    detail = login_client(bank.supervisor_a).get(f"/api/v1/approvals/{approval}/").json()
    assert "人民币伍万元整" in json.dumps(detail, ensure_ascii=False)
    r = _post(login_client(bank.supervisor_a), f"/api/v1/approvals/{approval}/approve/", {"reason": "已核对"})
    assert r.status_code == 200 and r.json()["status"] == "executed", r.content
    assert Account.objects.get(pk=led.li_cny.pk).balance_fen == 5_000_000


def test_customer_manager_reads_but_cannot_move_money(led, bank):
    cm = login_client(bank.cm_a1)
    assert cm.get(f"/api/v1/ledger/accounts/?customer={led.zhang.pk}").status_code == 200
    r = _post(cm, "/api/v1/ledger/transactions/", {"kind": "cash_in", "account": str(led.zhang_cny.pk), "amount": "1"})
    assert r.status_code == 403
    assert cm.get(f"/api/v1/ledger/accounts/{led.wang_cny.pk}/").status_code == 404


def test_bulk_history_writes_what_the_services_would(led, bank):
    rng = random.Random(7)
    fund(led.zhang_cny, 1_000_000, teller=bank.om_a1)
    box_b = services.internal_account_id("cash", "CNY", teller_id=bank.om_b1.pk)
    result = bulk.generate(customer_accounts=[led.zhang_cny.pk, led.li_cny.pk, led.wang_cny.pk],
                           cash_boxes={bank.a1.path: [led.box.pk], bank.b1.path: [box_b]},
                           clearing_id=services.internal_account_id("clearing", "CNY"), n=600,
                           start=timezone.localdate() - timedelta(days=30), end=timezone.localdate(), rng=rng,
                           makers={bank.a1.path: [bank.om_a1.pk], bank.b1.path: [bank.om_b1.pk]}, labels={}, batch=100)
    assert result["posted"] > 300
    assert selectors.invariant_report() == {"total_drift": 0, "balance_mismatches": 0, "negative_balances": 0,
                                            "unbalanced_entries": 0, "entries_without_postings": 0}
    from bankcrm.core.audit import verify_chain
    from bankcrm.core.models import AuditEvent

    outbox.consume("audit_sealer")
    assert AuditEvent.objects.filter(verb="ledger.entry_posted").count() == JournalEntry.objects.count()
    assert verify_chain().ok


def test_outbox_delivers_each_event_once_per_consumer_in_order(led, bank):
    seen: list[int] = []
    outbox.register_consumer("tests.kpi", ("ledger.entry_posted",), lambda events: seen.extend(e.id for e in events))
    try:
        fund(led.zhang_cny, 9_000_000, teller=bank.om_a1)  # three entries
        assert outbox.consume("tests.kpi", batch=2) == 2
        assert outbox.consume("tests.kpi") == 1
        assert outbox.consume("tests.kpi") == 0
        assert seen == sorted(seen) and len(set(seen)) == 3
        assert OutboxDelivery.objects.filter(consumer="tests.kpi").count() == 3
        assert outbox.lag_seconds("tests.kpi") == 0.0
    finally:
        outbox.CONSUMERS.pop("tests.kpi", None)


def test_time_deposit_matures_and_pays_out_with_interest(led, bank):
    t3m = Product.objects.get(code="T-3M")
    td = services.account_open(actor=bank.om_a1, customer_id=led.li.pk, product_id=t3m.pk,
                               maturity_instruction="payout", payout_account_id=led.li_cny.pk)
    fund(td, 1_000_000, teller=bank.om_a1)
    start = timezone.localdate()
    for d in range(3):
        services.interest_accrue(on=start + timedelta(days=d))
    Account.objects.filter(pk=td.pk).update(maturity_date=start + timedelta(days=3))
    assert services.deposits_mature(today=start + timedelta(days=3)) == 1
    assert services.deposits_mature(today=start + timedelta(days=3)) == 0  # idempotent
    td.refresh_from_db()
    li = Account.objects.get(pk=led.li_cny.pk)
    daily = services.rules.daily_interest_micro(1_000_000, 80)
    interest = services.rules.postable_interest(3 * daily)[0]
    assert td.status == "closed" and td.balance_fen == 0 and li.balance_fen == 1_000_000 + interest
    assert selectors.invariant_report()["total_drift"] == 0


def test_a_transfer_takes_at_most_twelve_statements(led, bank):
    """QUALITY.md P1: ≤ 12 SQL statements per transfer on the API's path — scoped reads of both accounts, the lock
    (with the limit rule and the approval threshold), the day's debit total, entry, postings, balances, outbox row,
    idempotency record — BEGIN and COMMIT included."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bankcrm.core import idempotency
    from bankcrm.ledger.api.views import movement_from

    fund(led.zhang_cny, 1_000_000, teller=bank.om_a1)
    body = {"kind": "internal", "account": str(led.zhang_cny.pk), "to_account": led.li_cny.number, "amount": "1.00",
            "memo": "", "counterparty_bank": "", "counterparty_name": "", "counterparty_account": "",
            "cross_border": False, "counterparty_country": "", "reason": ""}
    with CaptureQueriesContext(connection) as ctx:
        _status, answer, _replayed = idempotency.run(
            actor=bank.om_a1, key=uuid.uuid4().hex, scope="ledger.transaction", body=body,
            execute=lambda: (201, services.movement_request(actor=bank.om_a1, mv=movement_from(bank.om_a1, body))))
    assert answer["status"] == "posted"
    # The test runs inside a transaction, so BEGIN/COMMIT show as SAVEPOINT/RELEASE: count them as the two they are.
    statements = [q["sql"].split()[0].upper() for q in ctx.captured_queries]
    work = [s for s in statements if s not in ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")]
    assert len(work) + 2 <= 12, [q["sql"][:90] for q in ctx.captured_queries]
