"""Ledger capabilities, declared in the one policy table (core.access)."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, ALL_ROLES, APPROVE, MONEY, WRITE, capability
from bankcrm.core.access import Role as R

LEDGER_READERS = {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR}

capability("ledger.view", LEDGER_READERS, label=_("查看账户与交易"))
capability("ledger.view_setup", ALL_ROLES, label=_("查看产品、利率与限额"))
capability("ledger.view_internal", {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR, R.RISK_MANAGER, R.COMPLIANCE_MANAGER},
           label=_("查看内部账户与尾箱"))
capability("ledger.open_account", {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {WRITE}, _("开立账户"))
capability("ledger.post", {R.OPERATIONS_MANAGER}, {MONEY, WRITE}, _("办理存取款与转账"))
capability("ledger.reverse", {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {MONEY, WRITE}, _("发起冲正"))
capability("ledger.freeze", {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR, R.RISK_MANAGER, R.COMPLIANCE_MANAGER},
           {WRITE}, _("发起冻结/解冻"))
capability("ledger.close_account", {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {MONEY, WRITE}, _("销户"))
capability("ledger.cash_count", {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {MONEY, WRITE}, _("尾箱轧账"))
capability("ledger.manage_limits", {R.BRANCH_SUPERVISOR, R.ADMIN}, {WRITE}, _("发起限额调整"))
capability("ledger.manage_products", {R.ADMIN}, {ADMIN, WRITE}, _("维护产品、利率与汇率"))
capability("ledger.approve", {R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {APPROVE, MONEY}, _("复核资金交易"))
capability("ledger.statement", LEDGER_READERS, label=_("打印/导出对账单"))
