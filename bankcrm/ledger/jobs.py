"""The ledger's periodic jobs. Each is idempotent per business date and resumable (see services)."""

from datetime import time, timedelta

from django.utils import timezone

from bankcrm.core import outbox
from bankcrm.core.scheduling import daily, every
from bankcrm.core.transactions import run_as_task

from . import services


def _end_of_day() -> None:
    """After midnight: yesterday's accrual, then today's quarterly settlement and maturities, then dormancy."""
    today = timezone.localdate()
    services.interest_accrue(on=today - timedelta(days=1))
    services.interest_post(today=today)
    services.deposits_mature(today=today)
    services.accounts_mark_dormant(today=today)


def _drain_outbox() -> None:
    """Backstop for the relay process (`manage.py outbox_relay`): nothing is left unsealed if it is not running."""
    outbox.drain(batch=500)


daily("ledger.end_of_day", time(0, 30), lambda: run_as_task(_end_of_day))
every("core.outbox_drain", timedelta(minutes=1), lambda: run_as_task(_drain_outbox))
