"""Task reminders: a daily job marks the reminders that have come due (the inbox shows them; no e-mail is sent)."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import services

daily("engagement.task_reminders", time(7, 0), lambda: run_as_task(services.task_reminders_mark))
