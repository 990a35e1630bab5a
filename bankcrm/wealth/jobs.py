"""Wealth jobs: settlement of sales whose cooling-off has ended (every 5 minutes), maturity payouts and the daily
assets-under-management snapshot (nightly: yesterday's final figures and today's so far). Each is crash-safe: a unit
of work is its own transaction and re-runs find it done (R14)."""

from datetime import time, timedelta

from bankcrm.core.scheduling import daily, every
from bankcrm.core.transactions import run_as_task

from . import aum, services

every("wealth.settle", timedelta(minutes=5), lambda: run_as_task(services.settle_due))
daily("wealth.maturity", time(0, 40), lambda: run_as_task(services.maturity_run))
daily("wealth.aum_snapshot", time(2, 10), lambda: run_as_task(aum.nightly))
