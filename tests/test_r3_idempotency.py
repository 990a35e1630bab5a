"""R3 — the idempotency contract on every money-moving or approving API endpoint (QUALITY.md):
same key + body replays the same answer; same key, other body → 409; 20 concurrent identical requests → one
execution; user A's key replayed by user B → no leak."""

from __future__ import annotations

import json
import multiprocessing
import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction

from bankcrm.approvals.models import PendingAction
from bankcrm.core.models import IdempotencyRecord
from bankcrm.ledger import services
from bankcrm.ledger.models import JournalEntry
from tests.conftest import login_client, write_figures
from tests.ledger_helpers import build_ledger, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def led(bank):
    led = build_ledger(bank)
    fund(led.zhang_cny, 20_000_000, teller=bank.om_a1)
    return led


def _post(client, url, body, key):
    return client.post(url, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def _endpoints(led, bank):
    """(name, actor, url, body, other body) for every money-moving or approving endpoint."""
    entry = JournalEntry.objects.filter(credit_account=led.zhang_cny).first()
    with transaction.atomic():
        big = services.movement_request(actor=bank.om_a1, mv=services.internal_transfer_movement(
            actor=bank.om_a1, from_account_id=led.zhang_cny.pk, to_account_id=led.li_cny.pk, amount_fen=6_000_000))
    with transaction.atomic():
        big2 = services.movement_request(actor=bank.om_a1, mv=services.internal_transfer_movement(
            actor=bank.om_a1, from_account_id=led.zhang_cny.pk, to_account_id=led.li_cny.pk, amount_fen=7_000_000))
    tx = "/api/v1/ledger/transactions/"
    return [
        ("transfer", bank.om_a1, tx, {"kind": "internal", "account": str(led.zhang_cny.pk), "to_account": led.li_cny.number,
                                      "amount": "100.00"},
         {"kind": "internal", "account": str(led.zhang_cny.pk), "to_account": led.li_cny.number, "amount": "100.01"}),
        ("cash_in", bank.om_a1, tx, {"kind": "cash_in", "account": led.li_cny.number, "amount": "10"},
         {"kind": "cash_in", "account": led.li_cny.number, "amount": "11"}),
        ("cash_out", bank.om_a1, tx, {"kind": "cash_out", "account": str(led.zhang_cny.pk), "amount": "10"},
         {"kind": "cash_out", "account": str(led.zhang_cny.pk), "amount": "12"}),
        ("outward", bank.om_a1, tx, {"kind": "outward", "account": str(led.zhang_cny.pk), "amount": "5",
                                     "counterparty_bank": "中国工商银行北京分行", "counterparty_name": "赵六",
                                     "counterparty_account": "6222020200112233445"},
         {"kind": "outward", "account": str(led.zhang_cny.pk), "amount": "6", "counterparty_bank": "中国工商银行北京分行",
          "counterparty_name": "赵六", "counterparty_account": "6222020200112233445"}),
        ("reverse", bank.om_a1, f"/api/v1/ledger/transactions/{entry.pk}/reverse/", {"reason": "录错"}, {"reason": "另一个"}),
        ("freeze", bank.om_a1, f"/api/v1/ledger/accounts/{led.li_cny.pk}/freeze/", {"reason": "司法冻结"},
         {"reason": "别的原因"}),
        ("limits", bank.supervisor_a, "/api/v1/ledger/limits/", {"channel": "api", "customer_kind": "person",
                                                                 "per_txn_fen": 100, "per_day_fen": 1000, "reason": "试"},
         {"channel": "api", "customer_kind": "person", "per_txn_fen": 100, "per_day_fen": 2000, "reason": "试"}),
        ("approve", bank.supervisor_a, f"/api/v1/approvals/{big['approval_id']}/approve/", {"reason": "核对无误"},
         {"reason": "换个理由"}),
        ("reject", bank.supervisor_a, f"/api/v1/approvals/{big2['approval_id']}/reject/", {"reason": "金额不符"},
         {"reason": "换个理由"}),
    ]


def test_replay_conflict_and_no_cross_user_leak_on_every_endpoint(led, bank):
    figures = {"endpoints": 0, "executions_per_key_max": 0, "cross_user_replays": 0, "conflicts_ok": 0}
    for name, actor, url, body, other in _endpoints(led, bank):
        client = login_client(actor)
        key = f"r3-{name}-{uuid.uuid4().hex[:12]}"
        entries, approvals = JournalEntry.objects.count(), PendingAction.objects.count()
        first = _post(client, url, body, key)
        assert first.status_code in (200, 201, 202), (name, first.content)
        after = (JournalEntry.objects.count(), PendingAction.objects.count())
        again = _post(client, url, body, key)
        assert again.status_code == first.status_code and again.json() == first.json(), name
        assert again["Idempotent-Replayed"] == "true" and first["Idempotent-Replayed"] == "false"
        assert (JournalEntry.objects.count(), PendingAction.objects.count()) == after, f"{name} executed twice"
        figures["executions_per_key_max"] = max(figures["executions_per_key_max"],
                                                (after[0] - entries) + (after[1] - approvals) if name not in
                                                ("approve", "reject") else 1)
        clash = _post(client, url, other, key)
        assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_key_reused", name
        figures["conflicts_ok"] += 1
        # Another user sending the same key is another request: never the first user's answer.
        other_user = bank.om_a1 if actor != bank.om_a1 else bank.temp
        leak = _post(login_client(other_user), url, body, key)
        if leak.status_code < 300 and leak.json() == first.json() and leak.get("Idempotent-Replayed") == "true":
            figures["cross_user_replays"] += 1
        figures["endpoints"] += 1
    missing = _post(login_client(bank.om_a1), "/api/v1/ledger/transactions/",
                    {"kind": "cash_in", "account": str(led.li_cny.pk), "amount": "1"}, "")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "idempotency_key_required"
    ok = figures["cross_user_replays"] == 0 and figures["executions_per_key_max"] <= 1
    write_figures("R3", ok, **figures)
    assert ok, figures


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_requests_execute_once(bank):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    from tests.workers_ledger import idempotent_transfer

    led = build_ledger(bank)
    fund(led.zhang_cny, 1_000_000, teller=bank.om_a1)
    body = {"from": led.zhang_cny.pk, "to": led.li_cny.pk, "amount_fen": 12_345}
    key = f"r3-concurrent-{uuid.uuid4().hex[:8]}"
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    args = (bank.om_a1.pk, key, body, start, results, connection.settings_dict["NAME"], str(settings.BANKCRM_KEYS_FILE))
    procs = [ctx.Process(target=idempotent_transfer, args=args) for _ in range(20)]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=180) for _ in procs]
    for p in procs:
        p.join(30)
    entries = JournalEntry.objects.filter(kind="internal", amount_fen=12_345).count()
    answers = {o[2] for o in outcomes if o[0] == "ok"}
    crashes = [o for o in outcomes if o[0] != "ok"]
    ok = entries == 1 and len(answers) == 1 and not crashes and IdempotencyRecord.objects.filter(key=key).count() == 1
    write_figures("R3-concurrent", ok, requests=20, executions=entries, distinct_answers=len(answers),
                  replays=sum(1 for o in outcomes if o[0] == "ok" and o[3]), failures=len(crashes))
    assert ok, (entries, answers, crashes)
