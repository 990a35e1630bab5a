from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from .services import contracts_expire_due

# Just after midnight (Asia/Shanghai): contracts that ended yesterday are deactivated. Sessions already end at
# midnight through the session guard; this job makes the state visible and audited.
daily("org.expire_contracts", time(0, 1), lambda: run_as_task(contracts_expire_due))
