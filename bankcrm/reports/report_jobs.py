"""The daily job of scheduled reports: after the night's AUM snapshots (02:10) and monitoring, deliver the file of
each schedule's last complete period that is not there yet (idempotent per schedule and period, R14)."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import schedule_services

daily("reports.scheduled", time(4, 30), lambda: run_as_task(schedule_services.schedules_run_due))
