"""The one state change of an ad-hoc report export: the audit event that says who took which report, for which
period and branch scope, in which format (every export is audited, ARCHITECTURE.md §4). The file holds aggregates
only, so nothing else is logged."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from bankcrm.core import access, audit
from bankcrm.core.errors import ValidationFailed

from . import report_exports as exports
from . import report_rules as rules


def report_export(*, actor: Any, code: str, fmt: str, period: rules.Period, branch_path: str | None = None
                  ) -> tuple[str, str, bytes]:
    """Build the report file for the actor's scope and record the export. Returns (file name, content type, bytes)."""
    access.require(actor, "reports.export")
    if fmt not in exports.FORMATS:
        raise ValidationFailed("format_invalid", _("不支持的文件格式"), fields={"file_type": [_("请选择 xlsx 或 pdf")]})
    name, content_type, content, view = exports.render_file(actor, code, fmt=fmt, period=period,
                                                            branch_path=branch_path)
    with transaction.atomic():
        audit.record(actor=actor, verb="reports.exported", target_type="reports.Report", target_id=code,
                     target_repr=f"{view['title']} {view['period_label']}",
                     after={"report": code, "format": fmt, "period": period.key, "branch": branch_path or "",
                            "scope": view["scope"], "bytes": len(content)})
    return name, content_type, content
