"""Engagement capabilities (needs analysis and personalised service), declared in the one policy table (core.access).

Customer managers log interactions, keep needs profiles, run action plans, refer customers, work opportunities and
act on recommendations for the customers they manage; operations managers log branch interactions; supervisors see
their branch's pipeline and conversion; administrators maintain plan templates, the intent dictionary and the models.
"""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, WRITE, capability
from bankcrm.core.access import Role as R

FRONT = {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER}
VIEWERS = FRONT | {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}

capability("engagement.view", VIEWERS, label=_("查看客户互动、需求与商机"))
capability("engagement.log", FRONT, {WRITE}, _("记录客户互动与任务"))
capability("engagement.needs", {R.CUSTOMER_MANAGER}, {WRITE}, _("维护客户需求档案"))
capability("engagement.pipeline", {R.CUSTOMER_MANAGER, R.BRANCH_SUPERVISOR}, {WRITE}, _("管理商机与转介"))
capability("engagement.recommend", {R.CUSTOMER_MANAGER}, {WRITE}, _("处理下一步最佳行动推荐"))
capability("engagement.stats", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN}, label=_("推荐转化与客户分群统计"))
capability("engagement.manage", {R.ADMIN}, {ADMIN, WRITE}, _("维护行动计划模板、意图词典与模型"))
