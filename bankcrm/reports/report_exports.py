"""Management reports as files: Excel (openpyxl) and PDF (WeasyPrint with the Noto CJK fonts, embedded as subsets,
as the inspection report and the complaint letter do). A file holds aggregates only — no customer, account or
identity data — plus who produced it, when, for which period and branch scope, and the definitions of its figures.
Building a file is a read; the export service (`report_services.report_export`) and the scheduled runs audit it."""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from . import report_catalog as catalog
from . import report_rules as rules
from . import report_selectors as sel
from .report_present import present

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
CONTENT_TYPES = {"xlsx": XLSX, "pdf": PDF}
FORMATS = tuple(CONTENT_TYPES)
NUMBER_FORMATS = {catalog.INT: "#,##0", catalog.MONEY: "#,##0.00", catalog.PCT: '0.0"%"', catalog.SCORE: "0.0",
                  catalog.DAYS: "0.0"}


def _cell_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == catalog.MONEY:
        return rules.wan(value)
    return value


def _who(actor: Any) -> str:
    return f"{getattr(actor, 'staff_no', '')} {getattr(actor, 'name', '')}".strip()


def header_pairs(view: dict[str, Any], actor: Any) -> list[tuple[str, str]]:
    pairs = [(_("报表"), view["title"]), (_("统计期间"), f"{view['period_label']}（{view['start']:%Y-%m-%d} ~ {view['end']:%Y-%m-%d}）"),
             (_("统计范围"), view["scope"]), (_("数据截至"), view["as_of"].strftime("%Y-%m-%d"))]
    if view["uses_snapshot"]:
        pairs.append((_("客户资产快照日"), view["snapshot_day"].strftime("%Y-%m-%d") if view["snapshot_day"]
                      else _("期内无快照")))
    pairs += [(_("金额单位"), _("万元")), (_("生成人"), _who(actor)),
              (_("生成时间"), view["generated_at"].strftime("%Y-%m-%d %H:%M:%S"))]
    return pairs


def build_xlsx(view: dict[str, Any], actor: Any) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = str(_("说明"))
    ws.append([view["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in header_pairs(view, actor):
        ws.append([str(k), str(v)])
    if view["headline"]:
        ws.append([])
        ws.append([str(_("主要指标"))])
        ws[ws.max_row][0].font = Font(bold=True)
        for h in view["headline"]:
            ws.append([h["label"], _cell_value(h["value"], h["kind"])])
            ws[ws.max_row][1].number_format = NUMBER_FORMATS[h["kind"]]
    ws.append([])
    ws.append([str(_("统计口径"))])
    ws[ws.max_row][0].font = Font(bold=True)
    for n in view["notes"]:
        ws.append([n])
        ws[ws.max_row][0].alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 60
    head_fill = PatternFill("solid", fgColor="EEF2F6")
    for t in view["tables"]:
        sheet = wb.create_sheet(t["title"][:31])
        sheet.append([t["dimension_label"]] + [c["label"] for c in t["columns"]])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.fill = head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        rows = t["rows"] + ([t["total"]] if t["total"] else [])
        for row in rows:
            sheet.append([row["label"]] + [_cell_value(c["value"], c["kind"]) for c in row["cells"]])
            for cell, c in zip(sheet[sheet.max_row][1:], row["cells"], strict=True):
                cell.number_format = NUMBER_FORMATS[c["kind"]]
        if t["total"]:
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        sheet.column_dimensions["A"].width = 22
        for i in range(len(t["columns"])):
            sheet.column_dimensions[get_column_letter(i + 2)].width = 14
        sheet.freeze_panes = "B2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_pdf(view: dict[str, Any], actor: Any) -> bytes:
    from weasyprint import HTML

    head = header_pairs(view, actor)
    html = render_to_string("reports/report_pdf.html", {
        "v": view, "header_pairs": [head[i:i + 2] for i in range(0, len(head), 2)], "actor": actor})
    return HTML(string=html).write_pdf()


def file_name(code: str, period: rules.Period, fmt: str) -> str:
    return f"{code}-{period.key.replace('~', '_')}.{fmt}"


def render_file(actor: Any, code: str, *, fmt: str, period: rules.Period, branch_path: str | None = None
                ) -> tuple[str, str, bytes, dict[str, Any]]:
    """(file name, content type, bytes, the presented report) of a report for the actor's scope. A read only."""
    data = sel.report_data(actor, code, period=period, branch_path=branch_path)
    view = present(data)
    content = build_pdf(view, actor) if fmt == "pdf" else build_xlsx(view, actor)
    return file_name(code, period, fmt), CONTENT_TYPES[fmt], content, view
