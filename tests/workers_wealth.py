"""Worker processes for the wealth tests (started with 'spawn': a fresh interpreter with its own connection)."""

from __future__ import annotations


def settle_due(db_name: str, keys_file: str, now_iso: str, pause: float) -> None:
    """Run the settlement job (`wealth.services.settle_due`) for ``now_iso``, pausing ``pause`` seconds per sale so
    that the parent can SIGKILL it part-way (R14)."""
    from tests.workers import _setup

    _setup(db_name, keys_file)
    import time
    from datetime import datetime

    from django.db import connection

    from bankcrm.wealth import services

    real = services.sale_settle

    def slow(**kw):
        time.sleep(pause)
        return real(**kw)

    services.sale_settle = slow
    services.settle_due(now=datetime.fromisoformat(now_iso))
    connection.close()
