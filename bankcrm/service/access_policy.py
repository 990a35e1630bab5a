"""Service and complaint capabilities (DOMAIN_RULES.md §5), declared in the one policy table (core.access).

- Customer managers and operations managers register requests and complaints for customers they can see (interns
  too: receiving a complaint is everyone's duty) and handle requests.
- Complaints are handled by employees only: interns and temporary workers may register but not handle them (a gate,
  `may_handle_complaints`, checked by every handling service).
- Branch supervisors assign complaints and grant the first extension (to 30 days); a head-office compliance manager
  grants the second (to 60 days) — the "senior manager" of the 2020 rules — and sees every complaint.
- Administrators maintain the root-cause taxonomy.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.access import ADMIN, APPROVE, COMPLIANCE, EXPORT, WRITE, capability
from bankcrm.core.access import EmploymentType as E
from bankcrm.core.access import Role as R

FRONT = {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER}
SERVICE_STAFF = FRONT | {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}

capability("service.view", SERVICE_STAFF, label=_("查看服务请求与投诉"))
capability("service.register", SERVICE_STAFF, {WRITE}, _("登记服务请求与投诉"))
capability("service.handle", SERVICE_STAFF, {WRITE}, _("处理服务请求与投诉"))
capability("service.assign", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {WRITE}, _("分派投诉与服务请求"))
capability("service.extend", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {APPROVE}, _("批准投诉第一次延期（至30日）"))
capability("service.extend_final", {R.COMPLIANCE_MANAGER}, {APPROVE, COMPLIANCE},
           _("批准投诉再次延期（至60日，总行高级管理人员）"))
capability("service.letter", SERVICE_STAFF, {EXPORT}, _("打印投诉处理决定书"))
capability("service.stats", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN}, label=_("投诉与服务统计"))
capability("service.stats_export", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {EXPORT}, _("导出投诉统计"))
capability("service.report", {R.COMPLIANCE_MANAGER}, {COMPLIANCE, EXPORT}, _("生成投诉监管统计报表"))
capability("service.manage_causes", {R.ADMIN}, {ADMIN, WRITE}, _("维护投诉原因分类"))

COMPLAINT_HANDLER_TYPES = frozenset({E.EMPLOYEE})


def may_handle_complaints(actor: Any) -> bool:
    """Holds service.handle and is an employee (not an intern, temporary worker or consultant)."""
    return access.can(actor, "service.handle") and getattr(actor, "employment_type", "") in COMPLAINT_HANDLER_TYPES


def senior_at_head_office(actor: Any) -> bool:
    """The second extension needs a head-office senior manager: compliance at a root branch."""
    return access.can(actor, "service.extend_final") and access.sees_all_branches(actor)
