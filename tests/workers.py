"""Entry points for test worker processes started with 'spawn': a fresh interpreter with its own database
connection (forked children would share the parent's connection state)."""

from __future__ import annotations

import os


def _setup(db_name: str, keys_file: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = db_name  # the test database the parent is using
    settings.BANKCRM_KEYS_FILE = keys_file  # the parent's keys: the chain HMAC must match


def append_audit_events(n: int, start, results, db_name: str, keys_file: str, unlocked: bool = False) -> None:
    _setup(db_name, keys_file)
    import time

    from django.db import DatabaseError, connection, transaction

    from bankcrm.core import audit
    from bankcrm.core.models import AuditHead

    audit.register_verbs({"tests.append": "test append"})
    if unlocked:  # the broken variant: read the head without its row lock

        def unlocked_head():
            head, _ = AuditHead.objects.get_or_create(id=1)
            time.sleep(0.002)
            return head

        audit._lock_head = unlocked_head
    ok = errors = 0
    start.wait(60)
    for i in range(n):
        try:
            with transaction.atomic():
                audit.record(actor=None, verb="tests.append", target_type="tests", target_id=i)
            ok += 1
        except DatabaseError:
            errors += 1
    connection.close()
    results.put((ok, errors))
