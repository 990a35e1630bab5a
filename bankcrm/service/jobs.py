"""The escalation sweep, every 15 minutes: targets about to be missed go to the supervisor (crash-safe, R14)."""

from datetime import timedelta

from bankcrm.core.scheduling import every
from bankcrm.core.transactions import run_as_task

from . import services

every("service.sweep", timedelta(minutes=15), lambda: run_as_task(services.sweep))
