"""Nightly conduct detectors (00:50 local: the whole of yesterday). Idempotent: signal keys make reruns no-ops."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import conduct_services

daily("supervision.conduct", time(0, 50), lambda: run_as_task(conduct_services.run_detectors))
