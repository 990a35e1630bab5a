from django.utils.translation import gettext_lazy as _

from bankcrm.core.navigation import NavEntry, register

CUSTOMERS = _("客户")
register(NavEntry(CUSTOMERS, _("客户查询"), "customers:list", "customers.view", "search", 10))
register(NavEntry(CUSTOMERS, _("登记客户"), "customers:register", "customers.register", "person-plus", 11))
register(NavEntry(CUSTOMERS, _("客户移交"), "customers:handovers", "customers.assign_manager", "arrow-left-right", 12))
register(NavEntry(CUSTOMERS, _("我的导出"), "customers:exports", "customers.export", "file-earmark-arrow-down", 13))
register(NavEntry(CUSTOMERS, _("批量导入"), "customers:import_list", "customers.import", "file-earmark-arrow-up", 14))
