"""Complaint files: the statistics workbook (Excel), the periodic statistics file for the regulator (CSV, layout in
docs/adr/0012-complaint-statistics-file.md) and the decision letter as PDF. Building a file is an audited export;
the files carry no customer names (statistics) or the name as exports show it (letter)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, logs
from bankcrm.core.errors import ValidationFailed

from . import selectors, services
from .models import Channel, Complaint, ProductLine

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
PDF = "application/pdf"

# The regulator file's columns (ADR 0012). Codes, not labels, in the key columns; one row per
# branch × product line × top-level cause × channel with at least one complaint received in the period.
REGULATOR_COLUMNS = ["report_period", "bank_code", "branch_code", "branch_name", "product_line", "cause_code",
                     "cause_name", "channel", "received", "decided", "decided_on_time", "extended",
                     "upheld", "partly_upheld", "not_upheld", "open_at_end", "avg_days_to_decision"]


def _check_period(start: date, end: date) -> None:
    if end < start or (end - start).days > 366:
        raise ValidationFailed("period_invalid", _("统计期间无效（结束日不早于开始日，最长一年）"),
                               fields={"end": [_("统计期间无效")]})


def stats_xlsx(*, actor: Any, start: date, end: date) -> tuple[str, str, bytes]:
    """The statistics on screen, as a workbook: one sheet of counts per dimension, one of cycle times per branch."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    access.require(actor, "service.stats_export")
    _check_period(start, end)
    with transaction.atomic():
        st = selectors.complaint_stats(actor, start=start, end=end, kind="")
        req = selectors.request_cycle_times(actor, start=start, end=end)
        wb = Workbook()
        ws = wb.active
        ws.title = _("概览")
        ws.append([_("投诉与服务统计"), f"{start:%Y-%m-%d} ~ {end:%Y-%m-%d}"])
        ws["A1"].font = Font(bold=True, size=14)
        for k, v in ((_("受理件数"), st["total"]), (_("未办结"), st["open"]), (_("已决定"), st["decided"]),
                     (_("按期决定"), st["on_time"]), (_("延期件数"), st["extended"]),
                     (_("平均决定天数"), st["avg_days_to_decision"]),
                     (_("导出人"), f"{actor.staff_no} {actor.name}"),
                     (_("导出时间"), timezone.localtime().strftime("%Y-%m-%d %H:%M:%S"))):
            ws.append([k, v])
        for title, key in ((_("按原因"), "by_cause"), (_("按业务"), "by_product"), (_("按渠道"), "by_channel"),
                           (_("按机构"), "by_branch"), (_("按结论"), "by_decision")):
            sh = wb.create_sheet(title)
            sh.append([title, _("件数")])
            for label, n in st[key]:
                sh.append([label, n])
        sh = wb.create_sheet(_("决定用时"))
        sh.append([_("天数"), _("件数")])
        for k, n in st["decision_buckets"].items():
            sh.append([k, n])
        sh = wb.create_sheet(_("投诉周期"))
        sh.append([_("机构代码"), _("机构"), _("受理"), _("已决定"), _("按期决定"), _("延期"), _("受理用时(小时)"),
                   _("决定用时(小时)"), _("办结用时(小时)")])
        for b in st["branches"]:
            sh.append([b["code"], b["name"], b["received"], b["decided"], b["on_time"], b["extended"], b["avg_ack_h"],
                       b["avg_decide_h"], b["avg_close_h"]])
        sh = wb.create_sheet(_("服务请求周期"))
        sh.append([_("机构"), _("受理"), _("按时响应"), _("按时解决"), _("响应用时(小时)"), _("解决用时(小时)"),
                   _("关闭用时(小时)")])
        for b in req:
            sh.append([b["name"], b["received"], b["responded_on_time"], b["resolved_on_time"], b["avg_respond_h"],
                       b["avg_resolve_h"], b["avg_close_h"]])
        for sheet in wb.worksheets:
            for cell in sheet[1]:
                cell.font = Font(bold=True)
            sheet.column_dimensions["A"].width = 22
            sheet.column_dimensions["B"].width = 18
        buf = io.BytesIO()
        wb.save(buf)
        audit.record(actor=actor, verb="service.stats_exported", target_type="service.Statistics",
                     target_id=f"{start:%Y%m%d}-{end:%Y%m%d}", after={"complaints": st["total"], "format": "xlsx"})
    return f"complaint-stats-{start:%Y%m%d}-{end:%Y%m%d}.xlsx", XLSX, buf.getvalue()


def regulator_rows(actor: Any, start: date, end: date) -> list[list[Any]]:
    """The regulator file's data rows (every branch the actor may see; compliance sees all)."""
    from bankcrm.org.models import Branch

    tz = timezone.get_default_timezone()
    st = selectors.complaint_stats(actor, start=start, end=end, kind="complaint")
    root = Branch.objects.filter(parent__isnull=True).order_by("path").first()
    period = f"{start:%Y%m%d}-{end:%Y%m%d}"
    groups: dict[tuple, dict[str, Any]] = {}
    for c in st["rows"]:
        cause = c.root_cause.top if c.root_cause_id else None
        key = (c.branch.code, c.product_line, cause.code if cause else "NA", c.channel)
        g = groups.setdefault(key, {"branch_name": c.branch.name, "cause_name": cause.name if cause else "未定",
                                    "received": 0, "decided": 0, "on_time": 0, "extended": 0, "upheld": 0,
                                    "partly": 0, "not_upheld": 0, "open": 0, "days": []})
        g["received"] += 1
        g["extended"] += int(c.extension_level > 0)
        decided = c.decided_at is not None and c.decided_at.astimezone(tz).date() <= end
        if decided:
            g["decided"] += 1
            g["on_time"] += int(c.decided_at.astimezone(tz).date() <= c.decision_due_on)
            g[{"upheld": "upheld", "partly": "partly", "not_upheld": "not_upheld"}[c.decision]] += 1
            g["days"].append((c.decided_at.astimezone(tz).date() - c.received_at.astimezone(tz).date()).days)
        else:
            g["open"] += 1
    out = []
    for (branch_code, product, cause_code, channel), g in sorted(groups.items()):
        avg = round(sum(g["days"]) / len(g["days"]), 1) if g["days"] else ""
        out.append([period, root.code if root else "", branch_code, g["branch_name"], product, cause_code,
                    g["cause_name"], channel, g["received"], g["decided"], g["on_time"], g["extended"], g["upheld"],
                    g["partly"], g["not_upheld"], g["open"], avg])
    return out


def regulator_csv(*, actor: Any, start: date, end: date) -> tuple[str, str, bytes]:
    """The periodic complaint statistics file (UTF-8 with BOM, comma-separated, header row of column codes)."""
    access.require(actor, "service.report")
    _check_period(start, end)
    with transaction.atomic():
        rows = regulator_rows(actor, start, end)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(REGULATOR_COLUMNS)
        w.writerows(rows)
        data = ("\ufeff" + buf.getvalue()).encode("utf-8")
        audit.record(actor=actor, verb="service.report_generated", target_type="service.RegulatorFile",
                     target_id=f"{start:%Y%m%d}-{end:%Y%m%d}", after={"rows": len(rows), "format": "csv"})
    return f"complaint-statistics-{start:%Y%m%d}-{end:%Y%m%d}.csv", CSV, data


def letter_context(actor: Any, c: Complaint, *, for_export: bool) -> dict[str, Any]:
    from bankcrm.core.masking import mask_name

    notice = c.notices.filter(kind="decision").order_by("-created_at").first()
    name = mask_name(c.customer.name) if for_export or getattr(actor, "sees_masked_names", True) else c.customer.name
    return {"c": c, "name": name, "notice": notice, "routes": services.FURTHER_ROUTES, "actor": actor,
            "printed_at": timezone.localtime(), "bank_name": c.branch.name,
            "channels": dict(Channel.choices), "products": dict(ProductLine.choices)}


def letter_pdf(*, actor: Any, complaint_id: Any) -> tuple[str, str, bytes]:
    from weasyprint import HTML

    c = services.letter_record(actor=actor, complaint_id=complaint_id, fmt="pdf")
    c = selectors.complaint_get(actor, c.pk)
    html = render_to_string("service/letter_print.html", {**letter_context(actor, c, for_export=True), "pdf": True})
    data = HTML(string=html).write_pdf()
    logs.access(actor=actor, view="service.letter_pdf", subject_type="customers.Customer", subject_ids=[c.customer_id],
                fields=["name"], channel="export")
    return f"decision-{c.number}.pdf", PDF, data
