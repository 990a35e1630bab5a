from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "ledger.account_opened": _("开立账户"),
    "ledger.account_frozen": _("冻结账户"),
    "ledger.account_unfrozen": _("解冻账户"),
    "ledger.account_closed": _("销户"),
    "ledger.account_dormant": _("账户转入休眠"),
    "ledger.entry_posted": _("记账"),
    "ledger.entry_submitted": _("大额交易提交复核"),
    "ledger.limit_changed": _("调整交易限额"),
    "ledger.overdraft_changed": _("调整透支额度"),
    "ledger.cash_counted": _("尾箱轧账"),
    "ledger.product_saved": _("维护产品"),
    "ledger.rate_set": _("设定利率"),
    "ledger.fx_rate_set": _("设定汇率"),
    "ledger.statement_exported": _("导出对账单"),
    "ledger.interest_accrued": _("计提利息"),
    "ledger.hold_placed": _("资金冻结（预留）"),
    "ledger.hold_released": _("解除资金冻结"),
    "ledger.hold_captured": _("冻结资金扣划"),
})
