"""Training's start-up modules, imported by ``PeopleConfig.ready``: the certificate gates, the rule parameters and
daily job (assignment synchronisation, then reminders; each chunk its own transaction, a re-run changes nothing),
navigation with the inbox provider and the home section, and the demo seeder."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import gates, training_demo, training_nav, training_services  # noqa: F401

daily("people.training_nightly", time(2, 40), lambda: run_as_task(training_services.nightly))
