"""The risk app's nightly monitoring: yesterday's transactions against every rule in force (real-time monitoring
has already seen them; this run is the safety net and gives the same alerts)."""

from datetime import time, timedelta

from django.utils import timezone

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import services


def _nightly() -> None:
    services.monitoring_run(day=timezone.localdate() - timedelta(days=1))


daily("risk.monitoring", time(1, 0), lambda: run_as_task(_nightly))
