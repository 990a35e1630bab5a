"""The nightly retention job (03:20 local). Idempotent: purged rows are gone and anonymised ones are remembered."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import retention_services

daily("supervision.retention", time(3, 20), lambda: run_as_task(retention_services.nightly))
