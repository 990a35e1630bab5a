"""Inspection reports as files: Excel (openpyxl) and PDF (WeasyPrint with the Noto CJK fonts), each carrying who
exported it and when. Sampled records appear only by their masked labels (customer number + surname*), so the
report holds no full name or identity number; each export is audited."""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from . import inspection_selectors as sel
from . import inspection_services as services
from .models import Inspection, SampleItem, SampleKind

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
ANSWER_LABELS = {"yes": "✓", "no": "✗", "na": "—"}


def report_context(actor: Any, insp: Inspection) -> dict[str, Any]:
    """Everything the report shows: header, counts by kind and by member of staff, each item, the findings."""
    items = list(sel.items_of(insp))
    counts = {"total": len(items), "pass": 0, "fail": 0, "na": 0, "pending": 0}
    by_kind: dict[str, dict[str, Any]] = {}
    by_staff: dict[Any, dict[str, Any]] = {}
    for it in items:
        counts[it.result] += 1
        k = by_kind.setdefault(it.kind, {"label": dict(SampleKind.choices)[it.kind], "total": 0, "pass": 0, "fail": 0,
                                         "na": 0, "pending": 0})
        s = by_staff.setdefault(it.staff_id, {"staff": it.staff, "total": 0, "pass": 0, "fail": 0, "na": 0,
                                              "pending": 0})
        for bucket in (k, s):
            bucket["total"] += 1
            bucket[it.result] += 1
    checks = {kind: insp.template.checks(kind) for kind in SampleKind.values}
    rows = []
    for it in items:
        failed = [c for c in checks[it.kind] if (it.answers or {}).get(c["code"]) == "no"]
        rows.append({"item": it, "failed": failed})
    findings = list(sel.findings_of(actor, insp).order_by("number")) if insp.pk else []
    return {"insp": insp, "items": items, "rows": rows, "counts": counts, "by_kind": list(by_kind.values()),
            "by_staff": sorted(by_staff.values(), key=lambda s: getattr(s["staff"], "staff_no", "~")),
            "checks": checks, "findings": findings, "actor": actor, "printed_at": timezone.localtime()}


def _header(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    insp = ctx["insp"]
    c = ctx["counts"]
    return [
        (_("检查编号"), insp.number), (_("被检查机构"), insp.branch.name),
        (_("检查期间"), f"{insp.period_start:%Y-%m-%d} ~ {insp.period_end:%Y-%m-%d}"),
        (_("检查清单"), str(insp.template)), (_("检查人"), insp.inspector.name if insp.inspector else "—"),
        (_("状态"), insp.get_status_display()), (_("抽样种子"), str(insp.seed)),
        (_("抽样方式"), _("按风险加权") if insp.risk_weighted else _("简单随机")),
        (_("样本数"), str(c["total"])), (_("不合规"), str(c["fail"])), (_("检查发现"), str(len(ctx["findings"]))),
        (_("导出人"), f"{ctx['actor'].staff_no} {ctx['actor'].name}"),
        (_("导出时间"), ctx["printed_at"].strftime("%Y-%m-%d %H:%M:%S")),
    ]


def build_xlsx(actor: Any, insp: Inspection) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    ctx = report_context(actor, insp)
    wb = Workbook()
    ws = wb.active
    ws.title = str(_("检查报告"))
    ws.append([str(_("现场检查报告"))])
    ws["A1"].font = Font(bold=True, size=14)
    for k, v in _header(ctx):
        ws.append([str(k), str(v)])
    if insp.conclusion:
        ws.append([str(_("检查结论")), insp.conclusion])
    ws.append([])
    ws.append([str(_("按员工统计"))])
    ws[ws.max_row][0].font = Font(bold=True)
    ws.append([str(_("员工")), str(_("样本")), str(_("合规")), str(_("不合规")), str(_("不适用")), str(_("待检查"))])
    for s in ctx["by_staff"]:
        who = f"{s['staff'].staff_no} {s['staff'].name}" if s["staff"] else str(_("（无经办人）"))
        ws.append([who, s["total"], s["pass"], s["fail"], s["na"], s["pending"]])

    items = wb.create_sheet(str(_("样本明细")))
    items.append([str(_("类别")), str(_("样本")), str(_("相关员工")), str(_("权重")), str(_("结论")),
                  str(_("不合规项")), str(_("检查证据")), str(_("检查人")), str(_("检查时间"))])
    for cell in items[1]:
        cell.font = Font(bold=True)
    red = PatternFill("solid", fgColor="FDE2E1")
    for row in ctx["rows"]:
        it: SampleItem = row["item"]
        items.append([it.get_kind_display(), it.label, f"{it.staff.staff_no} {it.staff.name}" if it.staff else "",
                      it.weight, it.get_result_display(), "；".join(f"{c['code']} {c['text']}" for c in row["failed"]),
                      it.evidence, it.checked_by.name if it.checked_by else "",
                      timezone.localtime(it.checked_at).strftime("%Y-%m-%d %H:%M") if it.checked_at else ""])
        if it.result == SampleItem.Result.FAIL:
            for cell in items[items.max_row]:
                cell.fill = red
        for cell in items[items.max_row]:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    for col, width in zip("ABCDEFGHI", (8, 34, 16, 6, 8, 40, 40, 10, 16), strict=True):
        items.column_dimensions[col].width = width

    answers = wb.create_sheet(str(_("检查项")))
    for kind in SampleKind.values:
        checks = ctx["checks"][kind]
        if not checks:
            continue
        answers.append([str(dict(SampleKind.choices)[kind])] + [c["code"] for c in checks])
        answers[answers.max_row][0].font = Font(bold=True)
        for row in ctx["rows"]:
            it = row["item"]
            if it.kind == kind:
                answers.append([it.label] + [ANSWER_LABELS.get((it.answers or {}).get(c["code"], ""), "")
                                             for c in checks])
        answers.append([])
    answers.column_dimensions["A"].width = 34

    if ctx["findings"]:
        fs = wb.create_sheet(str(_("检查发现")))
        fs.append([str(_("编号")), str(_("严重程度")), str(_("问题")), str(_("对象")), str(_("状态")), str(_("整改期限"))])
        for f in ctx["findings"]:
            fs.append([f.number, f.get_severity_display(), f.title, f.target_repr, f.get_status_display(),
                       f.due_on.strftime("%Y-%m-%d") if f.due_on else ""])
        fs.column_dimensions["C"].width = 50
        fs.column_dimensions["D"].width = 34
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 40
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def build_pdf(actor: Any, insp: Inspection) -> bytes:
    from weasyprint import HTML

    ctx = report_context(actor, insp)
    head = _header(ctx)
    ctx["header_pairs"] = [head[i:i + 2] for i in range(0, len(head), 2)]
    html = render_to_string("supervision/inspections/report_pdf.html", ctx)
    return HTML(string=html).write_pdf()


def export(*, actor: Any, inspection_id: Any, fmt: str) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of the report; the export is audited."""
    insp = sel.inspection_get(actor, inspection_id)
    services.inspection_exported(actor=actor, inspection=insp, fmt=fmt)
    if fmt == "pdf":
        return f"inspection-{insp.number}.pdf", PDF, build_pdf(actor, insp)
    return f"inspection-{insp.number}.xlsx", XLSX, build_xlsx(actor, insp)
