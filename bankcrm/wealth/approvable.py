"""The shelf's approvable actions (putting a product on or off the shelf), registered with approvals."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.approvals.registry import ApprovableAction, register

from . import services
from .models import WealthProduct


def describe(payload: dict[str, Any]) -> list[tuple[str, str]]:
    p = WealthProduct.objects.filter(pk=payload.get("product_id")).first()
    if p is None:
        return [(_("产品"), "—")]
    rows = [(_("产品"), str(p)), (_("产品类型"), p.get_kind_display()), (_("发行机构"), p.issuer),
            (_("风险等级"), p.level_label), (_("私募"), _("是") if p.private else _("否")),
            (_("销售期"), f"{p.sales_start} — {p.sales_end or _('长期')}"), (_("文件版本"), str(p.documents_version))]
    if payload.get("reason"):
        rows.append((_("原因"), payload["reason"]))
    return rows


def _put_back(payload: dict[str, Any]) -> None:
    services.shelf_request_rejected(payload["product_id"], payload["previous"])


register(ApprovableAction("wealth.shelf_on", gettext_lazy("理财产品上架复核"),
                          partial(services.execute_shelf, action="on"), checker_capability="wealth.approve_shelf",
                          describe=describe, on_not_executed=_put_back))
register(ApprovableAction("wealth.shelf_off", gettext_lazy("理财产品下架复核"),
                          partial(services.execute_shelf, action="off"), checker_capability="wealth.approve_shelf",
                          describe=describe, on_not_executed=_put_back))
