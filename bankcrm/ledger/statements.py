"""Account statements as files: Excel (openpyxl) and PDF (WeasyPrint, Chinese fonts). Both carry who printed them
and when; the holder's name is surname + * and the account number 6+4, as every export (ARCHITECTURE.md §4)."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core.money import CURRENCY_EXPONENT

from .web_support import holder_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"


def _yuan(fen: int | None, currency: str) -> Decimal | None:
    """Exact decimal amount for a spreadsheet cell (never a float computed from fen)."""
    if fen is None:
        return None
    return Decimal(fen).scaleb(-CURRENCY_EXPONENT.get(currency, 2))


def header(actor: Any, st: dict[str, Any]) -> list[tuple[str, str]]:
    acc = st["account"]
    from bankcrm.core.money import format_amount

    return [
        (_("账号"), acc.masked_number), (_("户名"), holder_label(acc)), (_("产品"), acc.product.display_name),
        (_("币种"), acc.get_currency_display()), (_("开户机构"), acc.branch.name),
        (_("期间"), f"{st['start']:%Y-%m-%d} ~ {st['end']:%Y-%m-%d}"),
        (_("期初余额"), format_amount(st["opening_fen"], acc.currency)),
        (_("期末余额"), format_amount(st["closing_fen"], acc.currency)),
        (_("收入合计"), format_amount(st["in_fen"], acc.currency)), (_("支出合计"), format_amount(st["out_fen"], acc.currency)),
        (_("打印人"), f"{actor.staff_no} {actor.name}"), (_("打印时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")),
    ]


COLUMNS = ("会计日期", "记账时间", "交易流水号", "交易类型", "摘要", "对方", "收入", "支出", "余额")


def build_xlsx(actor: Any, st: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    acc = st["account"]
    cur = acc.currency
    wb = Workbook()
    ws = wb.active
    ws.title = str(_("对账单"))
    ws.append([str(_("账户对账单"))])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in header(actor, st):
        ws.append([str(k), str(v)])
    ws.append([str(_("本对账单含客户信息，仅限本行工作及向客户本人提供，不得外传。"))])
    ws.append([])
    ws.append([str(_(c)) for c in COLUMNS])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    money_format = "#,##0.00" if CURRENCY_EXPONENT.get(cur, 2) == 2 else "#,##0"
    for p in st["rows"]:
        e = p.entry
        ws.append([p.business_date.strftime("%Y-%m-%d"), timezone.localtime(p.posted_at).strftime("%H:%M:%S"), e.txn_no,
                   e.get_kind_display(), e.memo, p.counterparty, _yuan(p.money_in, cur), _yuan(p.money_out, cur),
                   _yuan(p.balance_after_fen, cur)])
        for cell in ws[ws.max_row][6:9]:
            cell.number_format = money_format
            cell.alignment = Alignment(horizontal="right")
    for col, width in zip("ABCDEFGHI", (12, 10, 21, 10, 18, 34, 14, 14, 16), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_pdf(actor: Any, st: dict[str, Any]) -> bytes:
    from weasyprint import HTML

    head = header(actor, st)
    pairs = [head[i:i + 2] for i in range(0, len(head), 2)]
    html = render_to_string("ledger/statement_pdf.html", {"st": st, "acc": st["account"], "header_pairs": pairs,
                                                          "actor": actor, "printed_at": timezone.localtime()})
    return HTML(string=html).write_pdf()
