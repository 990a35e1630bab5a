"""Navigation entries of the shelf and AUM pages (理财). Sales, holdings and return visits register theirs in nav.py."""

from django.utils.translation import gettext_lazy as _

from bankcrm.core.navigation import NavEntry, register

WEALTH = _("理财")
register(NavEntry(WEALTH, _("产品货架"), "wealth:products", "wealth.view", "shop", 60))
register(NavEntry(WEALTH, _("客户资产（AUM）"), "wealth:aum", "wealth.aum", "pie-chart", 68))
