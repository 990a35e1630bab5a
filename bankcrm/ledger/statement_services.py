"""Exporting a statement is an audited act (verb ``ledger.statement_exported``) and a logged read of the customer's
data; the file is built in the same transaction and never stored."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from bankcrm.core import access, audit, logs

from . import selectors, statements, web_support

FORMATS = {"xlsx": statements.XLSX, "pdf": statements.PDF}
STATEMENT_FIELDS = ["account_number", "name", "balance", "transactions"]


def log_statement_read(*, actor: Any, account: Any, view: str, channel: str | None = None) -> None:
    """An access event for a statement shown or exported: the customer's, or the internal account's."""
    if account.customer_id:
        logs.access(actor=actor, view=view, subject_type="customers.Customer", subject_ids=[account.customer_id],
                    fields=STATEMENT_FIELDS, channel=channel)
    else:
        logs.access(actor=actor, view=view, subject_type="ledger.Account", subject_ids=[account.pk],
                    fields=["balance", "transactions"], channel=channel)


def statement_export(*, actor: Any, account_id: Any, start: date, end: date, fmt: str) -> tuple[str, str, bytes]:
    """Build the statement file for the period. Returns (file name, content type, bytes)."""
    access.require(actor, "ledger.statement")
    if fmt not in FORMATS:
        from django.utils.translation import gettext as _

        from bankcrm.core.errors import ValidationFailed

        raise ValidationFailed("invalid_format", _("不支持的文件格式"))
    with transaction.atomic():
        account = selectors.account_get(actor, account_id)
        st = web_support.statement_rows(selectors.statement(actor, account, start, end))
        data = statements.build_xlsx(actor, st) if fmt == "xlsx" else statements.build_pdf(actor, st)
        audit.record(actor=actor, verb="ledger.statement_exported", target=account,
                     after={"format": fmt, "start": start, "end": end, "rows": len(st["rows"])})
        log_statement_read(actor=actor, account=account, view=f"ledger.statement_{fmt}", channel="export")
    name = f"statement-{account.number[-4:]}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
    return name, FORMATS[fmt], data
