"""Customer capabilities, declared in the one policy table (core.access)."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, EXPORT, UNMASK, WRITE, capability
from bankcrm.core.access import Role as R

CUSTOMER_READERS = {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.BRANCH_SUPERVISOR}

capability("customers.view", CUSTOMER_READERS, label=_("查看客户"))
capability("customers.register", {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {WRITE}, _("登记客户"))
capability("customers.edit", {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {WRITE}, _("修改客户信息"))
capability("customers.assign_manager", {R.BRANCH_SUPERVISOR, R.ADMIN}, {WRITE}, _("分配客户经理"))
capability("customers.manage_consent", {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR}, {WRITE},
           _("登记客户授权"))
capability("customers.export", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {EXPORT}, _("导出客户信息"))
capability("customers.unmask", CUSTOMER_READERS, {UNMASK}, _("查看客户完整信息（需填写事由）"))
capability("customers.merge", {R.ADMIN}, {ADMIN}, _("合并重复客户"))
capability("customers.import", {R.BRANCH_SUPERVISOR, R.OPERATIONS_MANAGER}, {WRITE}, _("批量导入客户"))
