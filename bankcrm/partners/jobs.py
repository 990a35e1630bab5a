"""The webhook sender: every minute, send the deliveries that are due (each claimed by one worker; idempotent — a
delivered or abandoned delivery is never sent again by the job). The outbox consumers that make the deliveries run
with the other consumers (core.outbox_drain, manage.py outbox_relay)."""

from datetime import timedelta

from bankcrm.core.scheduling import every
from bankcrm.core.transactions import run_as_task

from . import webhook_services

every("partners.webhook_dispatch", timedelta(minutes=1), lambda: run_as_task(webhook_services.dispatch_due))
