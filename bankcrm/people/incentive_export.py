"""The payout report of a pool as an Excel workbook: one row per award (branch, staff number, name as exports show
it — surname + *, per core.masking —, final score, award, clawed back, net, payout date) and a total row. Building it
is an audited export (``people.payout_exported``) that needs ``people.export`` and a pool in scope."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit
from bankcrm.core.masking import mask_name

from . import incentive_selectors as sel


def _yuan(fen: int) -> Decimal:
    return Decimal(fen) / 100


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def payout_xlsx(*, actor: Any, pool_id: Any) -> tuple[str, str, bytes]:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    access.require(actor, "people.export")
    with transaction.atomic():
        pool = sel.pool_get(actor, pool_id)
        awards = list(sel.pool_awards_for_export(actor, pool))
        wb = Workbook()
        ws = wb.active
        ws.title = _("奖金发放表")
        ws.append([_("奖金发放表"), f"{pool.branch.code} {pool.branch.name}", str(pool.period)])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append([_("激励方案"), pool.scheme.name, _("状态"), pool.get_status_display()])
        ws.append([_("奖金池金额（元）"), _yuan(pool.amount_fen), _("未分配（元）"), _yuan(pool.undistributed_fen)])
        ws.append([_("导出人"), f"{actor.staff_no} {mask_name(actor.name)}", _("导出时间"),
                   timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")])
        ws.append([])
        header = [_("机构代码"), _("机构"), _("工号"), _("姓名"), _("最终得分"), _("奖金（元）"), _("已追索（元）"),
                  _("实得（元）"), _("发放日期")]
        ws.append(header)
        head_row = ws.max_row
        for cell in ws[head_row]:
            cell.font = Font(bold=True)
        total = clawed = 0
        for a in awards:
            total += a.amount_fen
            clawed += a.clawed_back_fen
            ws.append([a.staff.branch.code, a.staff.branch.name, a.staff.staff_no, mask_name(a.staff.name),
                       Decimal(a.score) / 100, _yuan(a.amount_fen), _yuan(a.clawed_back_fen),
                       _yuan(a.amount_fen - a.clawed_back_fen),
                       timezone.localtime(a.paid_at).strftime("%Y-%m-%d") if a.paid_at else ""])
        ws.append([_("合计"), "", "", f"{len(awards)} {_('人')}", "", _yuan(total), _yuan(clawed), _yuan(total - clawed),
                   ""])
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        for row in ws.iter_rows(min_row=head_row + 1, min_col=5, max_col=8):
            for cell in row:
                cell.number_format = "#,##0.00"
        for col, width in zip("ABCDEFGHI", (10, 16, 10, 10, 10, 14, 14, 14, 12), strict=True):
            ws.column_dimensions[col].width = width
        buf = io.BytesIO()
        wb.save(buf)
        audit.record(actor=actor, verb="people.payout_exported", target=pool,
                     target_repr=f"{pool.branch.code}/{pool.period}",
                     after={"rows": len(awards), "total_fen": total, "format": "xlsx"})
    return f"payout-{pool.branch.code}-{pool.period}.xlsx", XLSX, buf.getvalue()
