from importlib.util import find_spec

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "bankcrm.reports"
    label = "reports"
    verbose_name = "管理报表 Reports"

    def ready(self) -> None:
        from . import access_policy, audit_verbs  # noqa: F401, I001
        from . import report_demo, report_jobs, report_nav  # noqa: F401  (management reports, schedules)
        # Role workbenches live in this app too (workbench*.py, another part of issue #11): their start-up module is
        # imported when it exists. find_spec rather than try/except ImportError, so that a real import error inside
        # the workbench module is not swallowed.
        if find_spec(f"{self.name}.workbench_nav") is not None:
            from . import workbench_nav  # noqa: F401
