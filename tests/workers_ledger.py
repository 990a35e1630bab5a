"""Spawned worker entry points for the ledger's R3 test (a fresh interpreter and connection each)."""

from __future__ import annotations


def idempotent_transfer(staff_id: int, key: str, body: dict, start, results, db_name: str, keys_file: str) -> None:
    from tests.workers import _setup

    _setup(db_name, keys_file)
    from django.db import connection

    from bankcrm.core import idempotency
    from bankcrm.core.errors import DomainError
    from bankcrm.ledger import services
    from bankcrm.org.models import Staff

    actor = Staff.objects.get(pk=staff_id)

    def execute():
        mv = services.internal_transfer_movement(actor=actor, from_account_id=body["from"], to_account_id=body["to"],
                                                 amount_fen=body["amount_fen"], channel="api")
        answer = services.movement_request(actor=actor, mv=mv)
        return 201, answer

    start.wait(60)
    try:
        status, answer, replayed = idempotency.run(actor=actor, key=key, scope="ledger.transaction", body=body,
                                                   execute=execute)
        results.put(("ok", status, answer.get("entry_id"), replayed))
    except DomainError as exc:
        results.put(("error", exc.code, None, False))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put(("crash", repr(exc)[:200], None, False))
    finally:
        connection.close()
