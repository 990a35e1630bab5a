"""A report's figures as everything that shows them reads them: headline figures, tables with display strings and
drill-through links, chart series and the definitions. The page, the Excel and PDF files and the API all present
the same `report_selectors.report_data`, so a number reads the same everywhere.

``link(metric, dimension, key)`` returns the URL of the records behind a figure (None where none is wanted, as in a
file); ``branch_link(path)`` the report again for one branch (the next level down).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from . import report_catalog as catalog
from . import report_rules as rules

Link = Callable[[str, str, str], str | None]


def scope_label(ctx: Any) -> str:
    if ctx.branch is None:
        return _("全行")
    if ctx.root is None:
        return _("全行（%(b)s）") % {"b": ctx.branch.label}
    return _("%(b)s及下辖机构") % {"b": ctx.branch.label}


def chart_value(value: Any, kind: str) -> float | int | None:
    """A figure for a chart axis (display only, never arithmetic on money): money in 万元."""
    if value is None:
        return None
    if kind == catalog.MONEY:
        return float(rules.wan(value))
    return value


def present(data: dict[str, Any], *, link: Link | None = None, branch_link: Callable[[str], str] | None = None
            ) -> dict[str, Any]:
    report: catalog.Report = data["report"]
    ctx = data["ctx"]
    tables = []
    totals: dict[str, dict[str, Any]] = {}
    for t in report.tables:
        got = data["tables"][t.key]
        rows = []

        def cells(row: dict[str, Any], t: catalog.Table = t) -> list[dict[str, Any]]:
            out = []
            for c in t.columns:
                v = row["values"].get(c.key)
                url = None
                if link and c.metric and v is not None and (c.kind not in (catalog.INT, catalog.MONEY) or v != 0):
                    url = link(c.metric, "" if not row["key"] else t.dimension, row["key"])
                out.append({"key": c.key, "value": v, "display": rules.display(v, c.kind), "kind": c.kind, "url": url})
            return out

        for row in got["rows"]:
            rows.append({"key": row["key"], "label": row["label"], "cells": cells(row),
                         "url": branch_link(row["branch"]) if branch_link and row.get("branch") else None})
        total = None
        if got.get("total") is not None:
            total = {"key": "", "label": got["total"]["label"], "cells": cells(got["total"])}
            totals[t.key] = {c["key"]: c for c in total["cells"]}
        tables.append({"key": t.key, "title": str(t.title), "dimension": t.dimension,
                       "dimension_label": DIMENSION_LABELS[t.dimension](),
                       "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in t.columns],
                       "rows": rows, "total": total})
    headline = []
    for table_key, col_key in report.headline:
        cell = totals.get(table_key, {}).get(col_key)
        if cell is not None:
            label = report.headline_labels.get(f"{table_key}.{col_key}") or report.column(table_key, col_key).label
            headline.append({**cell, "label": str(label)})
    charts = []
    by_key = {t["key"]: t for t in tables}
    for ch in report.charts:
        t = by_key[ch.table]
        cols = {c["key"]: c for c in t["columns"]}
        series = []
        for col in ch.columns:
            idx = [c["key"] for c in t["columns"]].index(col)
            series.append({"key": col, "name": cols[col]["label"], "kind": cols[col]["kind"],
                           "line": col in ch.line_columns,
                           "data": [chart_value(r["cells"][idx]["value"], cols[col]["kind"]) for r in t["rows"]],
                           "links": [r["cells"][idx]["url"] for r in t["rows"]]})
        charts.append({"key": ch.key, "title": str(ch.title), "kind": ch.kind, "colors": list(ch.colors),
                       "categories": [r["label"] for r in t["rows"]], "series": series})
    p = ctx.period
    return {
        "code": report.code, "title": str(report.title), "description": str(report.description), "icon": report.icon,
        "period": p, "period_key": p.key, "period_label": p.label, "start": p.start, "end": p.end,
        "as_of": ctx.as_of, "snapshot_day": ctx.snapshot_day if _uses_snapshot(report) else None,
        "uses_snapshot": _uses_snapshot(report), "scope": scope_label(ctx),
        "branch_path": ctx.root or "", "headline": headline, "tables": tables, "charts": charts,
        "notes": [str(n) for n in report.notes], "generated_at": timezone.localtime(),
        "has_money": any(c.kind == catalog.MONEY for t in report.tables for c in t.columns),
    }


def _uses_snapshot(report: catalog.Report) -> bool:
    return any(c.metric == "aum" for t in report.tables for c in t.columns)


DIMENSION_LABELS: dict[str, Callable[[], str]] = {
    catalog.BRANCH: lambda: _("机构"), catalog.MONTH: lambda: _("月份"), catalog.TIER: lambda: _("客户层级"),
    catalog.CATEGORY: lambda: _("业务类别"), catalog.CAUSE: lambda: _("根本原因"), catalog.AML: lambda: _("风险等级"),
    catalog.SUIT: lambda: _("风险承受能力"), catalog.COURSE: lambda: _("课程"),
}
