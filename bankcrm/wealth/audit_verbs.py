from django.utils.translation import gettext_lazy as _

from bankcrm.core.audit import register_verbs

register_verbs({
    "wealth.product_saved": _("维护理财产品"),
    "wealth.product_shelved": _("理财产品上架"),
    "wealth.product_unshelved": _("理财产品下架"),
    "wealth.shelf_requested": _("提交产品上架/下架复核"),
    "wealth.nav_set": _("维护产品净值"),
    "wealth.qualified_investor": _("认定合格投资者"),
    "wealth.pos_checked": _("售前适当性校验"),
    "wealth.sale_proposed": _("理财推介"),
    "wealth.sale_confirmed": _("客户确认购买（风险揭示、资金冻结）"),
    "wealth.sale_settled": _("理财成交"),
    "wealth.sale_cancelled": _("冷静期内撤销购买"),
    "wealth.sale_withdrawn": _("撤回理财推介"),
    "wealth.redeemed": _("理财赎回"),
    "wealth.paid_out": _("理财到期兑付/收益分配"),
    "wealth.return_visit": _("理财销售回访"),
})
