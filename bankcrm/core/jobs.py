from datetime import time

from .scheduling import daily
from .transactions import run_as_task


def _export_audit_head() -> None:
    from . import audit

    audit.export_head()


daily("core.export_audit_head", time(0, 5), lambda: run_as_task(_export_audit_head))
