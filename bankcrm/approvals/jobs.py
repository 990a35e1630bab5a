from datetime import timedelta

from bankcrm.core.scheduling import every
from bankcrm.core.transactions import run_as_task

from .services import approvals_expire_due

every("approvals.expire", timedelta(minutes=5), lambda: run_as_task(approvals_expire_due))
