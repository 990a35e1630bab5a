"""The ledger's navigation entries (账务), each shown only to staff holding its capability."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.navigation import NavEntry, register

LEDGER = _("账务")
register(NavEntry(LEDGER, _("柜面交易"), "ledger:teller", "ledger.post", "cash-coin", 15))
register(NavEntry(LEDGER, _("尾箱"), "ledger:cash_box", "ledger.cash_count", "safe", 16))
register(NavEntry(LEDGER, _("账户查询"), "ledger:lookup", "ledger.view", "credit-card-2-front", 17))
