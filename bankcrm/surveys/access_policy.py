"""Survey capabilities, declared in the one policy table (core.access)."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, WRITE, capability
from bankcrm.core.access import Role as R

READERS = {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER, R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN}

# Answers and analytics (scoped: managers see their customers, supervisors their branch subtree).
capability("surveys.view", READERS, label=_("查看满意度调查结果"))
# Questionnaires: administrators and branch supervisors edit (a new version each time).
capability("surveys.manage_templates", {R.ADMIN, R.BRANCH_SUPERVISOR}, {WRITE}, _("维护调查模板"))
# Campaigns, sampling runs and dispatch.
capability("surveys.manage_campaigns", {R.ADMIN, R.BRANCH_SUPERVISOR}, {WRITE}, _("管理调查活动与发送"))
# The outbox transport's messages (demo/test delivery): they hold live one-time links.
capability("surveys.view_outbox", {R.ADMIN, R.BRANCH_SUPERVISOR}, {ADMIN}, _("查看消息发件箱"))
