"""Management-report capabilities (issue #11), in the one policy table.

- Reading reports (aggregates only, within one's branch scope): branch supervisors, operations managers, risk and
  compliance managers, administrators. Customer managers have their own workbench instead.
- Exporting a report to Excel or PDF, and downloading scheduled report files, is an export (interns, temporary
  workers and consultants are capped by their employment type).
- Scheduling reports delivered as files: supervisors, risk and compliance managers, administrators.
"""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import EXPORT, WRITE, capability
from bankcrm.core.access import Role as R

READERS = {R.BRANCH_SUPERVISOR, R.OPERATIONS_MANAGER, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.ADMIN}

capability("reports.view", READERS, label=_("查看管理报表"))
capability("reports.export", READERS, {EXPORT}, _("导出管理报表（Excel、PDF）"))
capability("reports.schedule", {R.BRANCH_SUPERVISOR, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.ADMIN}, {EXPORT, WRITE},
           _("订阅定时报表"))
