"""Jobs of coverage and findings: the nightly run of every automated control check, and the daily deadline sweep
that marks overdue findings and notes reminders (both idempotent: a second run the same day raises nothing twice)."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import controls, finding_services

daily("supervision.controls_nightly", time(3, 20), lambda: run_as_task(controls.nightly))
daily("supervision.findings_overdue", time(6, 30), lambda: run_as_task(finding_services.findings_mark_overdue))
