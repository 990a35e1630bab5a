"""Wealth capabilities (DOMAIN_RULES.md §4), declared in the one policy table (core.access).

- Customer managers and operations managers propose and complete sales to customers they can see, cancel them in
  cooling-off, redeem holdings and record qualified-investor tests. Selling R4/R5 or private products also needs
  ``wealth.sell_high_risk`` (an employee's privilege: interns, temporary workers and consultants are capped) and,
  once training exists, the seller's certification (gate ``risk.sell_certified``).
- Return visits are made by staff other than the seller (operations managers, supervisors, other managers).
- Administrators maintain the shelf (products, documents); a branch supervisor or compliance manager approves putting
  a product on or off the shelf; operations managers maintain net asset values and run income distributions.
"""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.access import ADMIN, APPROVE, EXPORT, HIGH_RISK_SALE, MONEY, WRITE, capability
from bankcrm.core.access import Role as R

FRONT = {R.CUSTOMER_MANAGER, R.OPERATIONS_MANAGER}
VIEWERS = FRONT | {R.BRANCH_SUPERVISOR, R.RISK_MANAGER, R.COMPLIANCE_MANAGER, R.ADMIN}

capability("wealth.view", VIEWERS, label=_("查看理财产品、销售与持仓"))
capability("wealth.sell", FRONT, {WRITE, MONEY}, _("销售理财产品（推介、确认、冷静期撤销）"))
capability("wealth.sell_high_risk", FRONT, {WRITE, HIGH_RISK_SALE}, _("销售 R4/R5 及私募产品"))
capability("wealth.redeem", FRONT, {WRITE, MONEY}, _("办理赎回"))
capability("wealth.qualify", FRONT, {WRITE}, _("认定合格投资者"))
capability("wealth.return_visit", FRONT | {R.BRANCH_SUPERVISOR}, {WRITE}, _("理财销售回访"))
capability("wealth.manage_products", {R.ADMIN}, {ADMIN, WRITE}, _("维护理财产品货架"))
capability("wealth.approve_shelf", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {APPROVE}, _("复核产品上架/下架"))
capability("wealth.nav", {R.OPERATIONS_MANAGER, R.ADMIN}, {WRITE}, _("维护产品净值与收益分配"))
capability("wealth.aum", {R.CUSTOMER_MANAGER, R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN},
           label=_("查看客户资产（AUM）统计"))
# Computing a snapshot now recomputes every customer of the bank in one transaction: not for customer managers.
capability("wealth.aum_refresh", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER, R.ADMIN}, {WRITE},
           _("立即计算客户资产快照"))
capability("wealth.export", {R.BRANCH_SUPERVISOR, R.COMPLIANCE_MANAGER}, {EXPORT}, _("导出销售与持仓"))
