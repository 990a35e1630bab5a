"""Risk capabilities, declared in the one policy table (core.access)."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, APPROVE, COMPLIANCE, EXPORT, WRITE, capability
from bankcrm.core.access import Role as R

RISK_READERS = {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR}
AML_STAFF = {R.RISK_MANAGER, R.COMPLIANCE_MANAGER}

# Reading a customer's risk level and suitability (everyone who may see the customer).
capability("risk.view", RISK_READERS, label=_("查看客户风险等级与适当性"))
# Suitability
capability("risk.assess_suitability", {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER}, {WRITE},
           _("为客户做风险承受能力评估"))
capability("risk.manage_questionnaires", {R.ADMIN}, {ADMIN, WRITE}, _("维护风险承受能力问卷"))
# AML rating and due diligence
capability("risk.rate", AML_STAFF, {WRITE}, _("洗钱风险评级"))
capability("risk.approve_rating", {R.RISK_MANAGER}, {APPROVE}, _("审批下调高风险评级"))
capability("risk.manage_rating_model", {R.RISK_MANAGER}, {WRITE}, _("维护洗钱风险评级模型"))
capability("risk.due_diligence", {R.CUSTOMER_MANAGER, R.RISK_MANAGER, R.COMPLIANCE_MANAGER}, {WRITE},
           _("办理尽职调查"))
# Monitoring, alerts, cases, reports
capability("risk.alerts", AML_STAFF | {R.BRANCH_SUPERVISOR}, label=_("查看监测预警与案件"))
capability("risk.investigate", AML_STAFF, {WRITE}, _("处理预警与调查案件"))
capability("risk.manage_rules", {R.RISK_MANAGER}, {WRITE}, _("维护监测规则"))
capability("risk.report", {R.COMPLIANCE_MANAGER}, {COMPLIANCE, EXPORT, WRITE}, _("生成与报送监管报告"))
capability("risk.watchlist", AML_STAFF, {WRITE}, _("导入监控名单"))
capability("risk.dashboard", AML_STAFF | {R.BRANCH_SUPERVISOR, R.ADMIN}, label=_("风险看板"))
