"""Supervision capabilities (DOMAIN_RULES.md §1 "Supervision", "Compliance manager"), in the one policy table.

- Compliance managers read the coverage matrix, run control checks, raise and close findings, plan and run
  inspections, read conduct signals and the audit explorer; risk managers read the matrix and findings.
- Branch supervisors see their subtree's findings and rectify them (owners of actions), confirm or revoke their
  staff's roles in access reviews.
- Administrators maintain clauses, checklist templates and retention settings with compliance.
"""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, COMPLIANCE, EXPORT, WRITE, capability
from bankcrm.core.access import Role as R

READERS = {R.COMPLIANCE_MANAGER, R.RISK_MANAGER, R.BRANCH_SUPERVISOR, R.ADMIN}

capability("supervision.view", READERS, label=_("查看制度覆盖矩阵与检查发现"))
capability("supervision.run_controls", {R.COMPLIANCE_MANAGER, R.ADMIN}, {WRITE, COMPLIANCE}, _("运行自动控制检查"))
capability("supervision.findings", {R.COMPLIANCE_MANAGER}, {WRITE, COMPLIANCE}, _("登记、复查与关闭检查发现"))
capability("supervision.rectify", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {WRITE}, _("落实整改"))
capability("supervision.clauses", {R.COMPLIANCE_MANAGER, R.ADMIN}, {WRITE, COMPLIANCE}, _("维护制度条款"))
capability("supervision.export", {R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR}, {EXPORT}, _("导出检查报告"))
capability("supervision.admin", {R.ADMIN}, {ADMIN, WRITE}, _("维护检查模板与保留期限设置"))

# ---- inspections and access reviews (section B) ----
# Compliance plans and runs inspections; branch supervisors read their subtree's inspections (supervision.view).
capability("supervision.inspect", {R.COMPLIANCE_MANAGER}, {WRITE, COMPLIANCE}, _("制定检查计划、实施现场检查"))
# Supervisors confirm or revoke their staff's roles; head-office compliance decides at the root (no supervisor above).
capability("supervision.access_review", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {WRITE}, _("权限复核（确认或撤销角色）"))
capability("supervision.access_reviews_open", {R.COMPLIANCE_MANAGER, R.ADMIN}, {WRITE, COMPLIANCE}, _("发起季度权限复核"))

# ---- Conduct, audit explorer, cycle times, retention (section C) ----
# Conduct signals: compliance sees every branch, branch supervisors their subtree; only compliance reviews them.
capability("supervision.conduct", {R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR}, {COMPLIANCE}, _("查看员工行为预警"))
capability("supervision.conduct_review", {R.COMPLIANCE_MANAGER}, {WRITE, COMPLIANCE}, _("核查员工行为预警"))
capability("supervision.conduct_records", {R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR}, {WRITE},
           _("登记强制休假与岗位轮换"))
# The audit explorer is for auditors (compliance): search, verify, signed extracts (an export).
capability("supervision.audit", {R.COMPLIANCE_MANAGER}, {COMPLIANCE}, _("审计查询与完整性校验"))
capability("supervision.audit_export", {R.COMPLIANCE_MANAGER}, {EXPORT, COMPLIANCE}, _("导出签名审计摘录"))
capability("supervision.cycle", {R.COMPLIANCE_MANAGER, R.RISK_MANAGER, R.BRANCH_SUPERVISOR, R.ADMIN},
           label=_("查看流程时效"))
capability("supervision.retention", {R.COMPLIANCE_MANAGER, R.ADMIN}, {COMPLIANCE}, _("查看数据保留与法律保全"))
capability("supervision.legal_hold", {R.COMPLIANCE_MANAGER}, {WRITE, COMPLIANCE}, _("设置与解除法律保全"))
capability("supervision.retention_run", {R.COMPLIANCE_MANAGER}, {WRITE, COMPLIANCE}, _("执行数据保留清理"))
