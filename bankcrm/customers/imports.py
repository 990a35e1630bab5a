"""Customer imports: services (upload, map columns, start), scoped reads, and the bodies of the background tasks
that validate and import (tasks.py enqueues them). The per-row work is bulk.py's; file reading is import_files.py's.

States: uploaded → (map columns) validating → validated → (choose mode) queued → running → done | rejected | failed.
A "good rows" import commits every batch with its progress and its audit event, so a crash resumes after the last
committed batch; an all-or-nothing import validates the whole file first and writes in one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit
from bankcrm.core.access import Role
from bankcrm.core.errors import DomainError, NotFound, RuleViolation, ValidationFailed

from . import bulk, import_files
from .models import CustomerImport

S = CustomerImport.Status
SAMPLE_ERRORS = 50
REPORT_HEADER = ["行号", "字段", "错误代码", "原因"]


# ---- Reads ------------------------------------------------------------------------------------------------------------
def imports_visible(actor: Any):
    return CustomerImport.objects.visible_to(actor).select_related("uploaded_by", "branch", "default_manager")


def import_get(actor: Any, import_id: Any, *, for_update: bool = False) -> CustomerImport:
    qs = imports_visible(actor)
    if for_update:
        qs = CustomerImport.objects.visible_to(actor).select_for_update(**_of_self())
    try:
        return qs.get(pk=int(import_id))
    except (CustomerImport.DoesNotExist, ValueError, TypeError):
        raise NotFound("import_not_found", _("导入记录不存在或不在您的管辖范围内")) from None


def _of_self() -> dict[str, Any]:
    from django.db import connection

    return {"of": ("self",)} if connection.features.has_select_for_update_of else {}


def manager_choices(actor: Any):
    """Customer managers an actor may name as the default primary manager of imported customers."""
    from bankcrm.org.models import Staff

    root = access.scope_root(actor)
    qs = Staff.objects.filter(is_active=True, role_assignments__role=Role.CUSTOMER_MANAGER).select_related("branch")
    if root is not None:
        qs = qs.filter(branch__path__startswith=root)
    return qs.distinct().order_by("staff_no")


def preview(imp: CustomerImport, rows: int = 5) -> list[list[str]]:
    """The first rows of the file for the column-mapping page, digits masked (ID and phone numbers stay hidden)."""
    if not imp.file:
        return []
    with imp.file.open("rb") as fh:
        _headers, first, _has = import_files.read_head(fh, _info(imp), rows)
    return [[_mask_cell(c) for c in r] for r in first]


def _mask_cell(value: str) -> str:
    value = (value or "").strip()
    digits = sum(ch.isdigit() for ch in value)
    if digits >= 7 and len(value) >= 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return value[:40]


def _info(imp: CustomerImport) -> import_files.FileInfo:
    return import_files.FileInfo(imp.file_format, imp.encoding, imp.delimiter or ",")


# ---- Services ---------------------------------------------------------------------------------------------------------
def import_upload(*, actor: Any, file: Any, branch_id: int | None = None, default_manager_id: int | None = None,
                  mapping: dict[str, Any] | None = None) -> CustomerImport:
    """Accept a file: size checked before anything is read, format and encoding detected from its first bytes,
    headers read and auto-mapped. Nothing is validated or imported yet."""
    access.require(actor, "customers.import")
    if file is None:
        raise ValidationFailed("file_required", _("请选择要导入的文件"), fields={"file": [_("必填")]})
    size = getattr(file, "size", None)
    import_files.check_size(size)
    name = (getattr(file, "name", "") or "import.csv").rsplit("/", 1)[-1][:200]
    info = import_files.inspect(file, name, size)
    headers, _first, has_data = import_files.read_head(file, info)
    file.seek(0)
    if not has_data:
        raise ValidationFailed("import_empty", _("文件只有表头，没有客户数据"), fields={"file": [_("没有数据行")]})
    with transaction.atomic():
        from bankcrm.org.selectors import branch_get

        branch = branch_get(actor, branch_id) if branch_id else actor.branch
        manager = _manager(actor, default_manager_id)
        digest = hashlib.sha256()
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
        file.seek(0)
        imp = CustomerImport(original_name=name, size=size or 0, sha256=digest.hexdigest(), file_format=info.file_format,
                             encoding=info.encoding, delimiter=info.delimiter, headers=headers, branch=branch,
                             default_manager=manager, uploaded_by=actor,
                             mapping=import_files.check_mapping(mapping, headers) if mapping else import_files.auto_map(headers))
        imp.file.save(f"{timezone.now():%Y%m%d%H%M%S}.{info.file_format}", file, save=False)
        imp.save(force_insert=True)
        audit.record(actor=actor, verb="customers.import_uploaded", target=imp,
                     after={"file": name, "size": imp.size, "sha256": imp.sha256, "format": imp.file_format,
                            "encoding": imp.encoding, "branch": branch.pk})
    return imp


def _manager(actor: Any, manager_id: Any):
    if not manager_id:
        return None
    manager = manager_choices(actor).filter(pk=manager_id).first()
    if manager is None or not manager.may_work_now():
        raise ValidationFailed("manager_invalid", _("主管客户经理必须是您管辖范围内在岗的客户经理"),
                               fields={"default_manager": [_("必须是在岗的客户经理")]})
    return manager


def import_configure(*, actor: Any, import_id: int, mapping: dict[str, Any], default_manager_id: Any = "keep") -> CustomerImport:
    """Set the column mapping and queue the validation of every row."""
    access.require(actor, "customers.import")
    with transaction.atomic():
        imp = import_get(actor, import_id, for_update=True)
        if imp.status not in (S.UPLOADED, S.VALIDATED):
            raise RuleViolation("import_not_editable", _("该导入已开始或已结束，不能修改列对应"))
        imp.mapping = import_files.check_mapping(mapping, imp.headers)
        if default_manager_id != "keep":
            imp.default_manager = _manager(actor, default_manager_id)
        _reset_counts(imp)
        imp.status = S.VALIDATING
        imp.save()
        transaction.on_commit(lambda: _enqueue("validate_import", imp.pk))
    return imp


def import_start(*, actor: Any, import_id: int, mode: str) -> CustomerImport:
    """Start importing a validated file. All-or-nothing is refused at once if validation found a bad row."""
    access.require(actor, "customers.import")
    if mode not in CustomerImport.Mode.values:
        raise ValidationFailed("mode_invalid", _("无效的导入方式"), fields={"mode": [_("无效的导入方式")]})
    with transaction.atomic():
        imp = import_get(actor, import_id, for_update=True)
        if imp.status != S.VALIDATED:
            raise RuleViolation("import_not_validated", _("请先完成校验再开始导入"))
        if mode == CustomerImport.Mode.ALL_OR_NOTHING and imp.error_rows:
            raise RuleViolation("import_has_errors", _("文件中有%(n)d行错误，“全部正确才导入”方式不能开始；请修正后重新上传，"
                                                       "或选择只导入正确的行") % {"n": imp.error_rows})
        if not imp.valid_rows:
            raise RuleViolation("import_nothing_valid", _("没有可以导入的正确行"))
        imp.mode, imp.status = mode, S.QUEUED
        imp.save(update_fields=["mode", "status"])
        audit.record(actor=actor, verb="customers.import_started", target=imp,
                     after={"mode": mode, "valid_rows": imp.valid_rows, "error_rows": imp.error_rows})
        transaction.on_commit(lambda: _enqueue("run_import", imp.pk))
    return imp


def import_submit(*, actor: Any, file: Any, mode: str = CustomerImport.Mode.GOOD_ROWS, mapping: dict[str, Any] | None = None,
                  branch_id: int | None = None, default_manager_id: int | None = None, validate_only: bool = False) -> CustomerImport:
    """The API's one call: upload, map (given or automatic), and queue the import (which validates every row
    itself), or only the validation."""
    if mode not in CustomerImport.Mode.values:
        raise ValidationFailed("mode_invalid", _("无效的导入方式"), fields={"mode": [_("无效的导入方式")]})
    imp = import_upload(actor=actor, file=file, branch_id=branch_id, default_manager_id=default_manager_id, mapping=mapping)
    imp.mapping = import_files.check_mapping(imp.mapping, imp.headers)
    imp.mode = mode
    if validate_only:
        imp.status = S.VALIDATING
        imp.save(update_fields=["mapping", "mode", "status"])
        transaction.on_commit(lambda: _enqueue("validate_import", imp.pk))
        return imp
    imp.status = S.QUEUED
    imp.save(update_fields=["mapping", "mode", "status"])
    audit.record(actor=actor, verb="customers.import_started", target=imp, after={"mode": mode})
    transaction.on_commit(lambda: _enqueue("run_import", imp.pk))
    return imp


def _enqueue(name: str, import_id: int) -> None:
    from . import tasks

    getattr(tasks, name).enqueue(import_id=import_id)


def _reset_counts(imp: CustomerImport) -> None:
    imp.total_rows = imp.processed_rows = imp.last_row = imp.valid_rows = imp.error_rows = imp.duplicate_rows = 0
    imp.imported_rows = 0
    imp.error_sample = []
    imp.failure_code = imp.failure_message = ""
    if imp.error_report:
        imp.error_report.delete(save=False)


# ---- Task bodies ------------------------------------------------------------------------------------------------------
class _Report:
    """The error report: a CSV (UTF-8 with BOM, so Excel shows the Chinese) of row, field, code and reason, written
    after each committed batch; plus a sample of the first errors for the page and the API."""

    def __init__(self, imp: CustomerImport, append: bool) -> None:
        self.imp = imp
        self.rows_with_errors: set[int] = set()
        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf)
        if not append or not imp.error_report:
            self.buf.write("\ufeff")
            self.writer.writerow(REPORT_HEADER)

    def add(self, errors: list[bulk.RowError]) -> None:
        for e in errors:
            self.writer.writerow([e.row, e.field_label, e.code, e.message])
            self.rows_with_errors.add(e.row)
            if len(self.imp.error_sample) < SAMPLE_ERRORS:
                self.imp.error_sample.append({"row": e.row, "field": e.field, "field_label": e.field_label,
                                              "code": e.code, "message": e.message})

    def flush(self) -> None:
        data = self.buf.getvalue().encode("utf-8")
        if not data:
            return
        storage = self.imp.error_report.storage if self.imp.error_report else None
        if self.imp.error_report and storage is not None:
            with storage.open(self.imp.error_report.name, "ab") as fh:
                fh.write(data)
        else:
            self.imp.error_report.save(f"import-{self.imp.pk}-errors.csv", ContentFile(data), save=False)
        self.buf.seek(0)
        self.buf.truncate()


def _bad_rows(bad: list[tuple[int, str, str]]) -> list[bulk.RowError]:
    out = [bulk.RowError(n, "row", code, str(msg)) for n, code, msg in bad]
    bad.clear()
    return out


def _pass(imp: CustomerImport, *, write: bool, commit_each_batch: bool, start_after: int = 0) -> int:
    """One pass over the file: validate every row and (if ``write``) register the good ones."""
    registrar = bulk.BulkRegistrar(actor=imp.uploaded_by, branch=imp.branch, default_manager=imp.default_manager,
                                   source=f"import:{imp.pk}", audit_target=imp,
                                   reason=_("客户导入 #%(n)d") % {"n": imp.pk})
    report = _Report(imp, append=start_after > 0)
    bad: list[tuple[int, str, str]] = []
    pending_flush: list[bool] = []

    def on_batch(last_row: int, ids: list[int], errors: list[bulk.RowError]) -> None:
        errors = sorted(errors + _bad_rows(bad), key=lambda e: e.row)
        report.add(errors)
        rows_in_batch = {e.row for e in errors}
        imp.error_rows += len(rows_in_batch)
        imp.duplicate_rows += len({e.row for e in errors if e.is_duplicate})
        imp.imported_rows += len(ids)
        imp.last_row = max(imp.last_row, last_row)
        imp.processed_rows = max(imp.processed_rows, last_row - 1)
        if commit_each_batch:
            report.flush()
            imp.save(update_fields=["error_rows", "duplicate_rows", "imported_rows", "last_row", "processed_rows",
                                    "error_sample", "error_report"])
        pending_flush.append(True)

    with imp.file.open("rb") as fh:
        rows = import_files.mapped_rows(fh, _info(imp), imp.mapping, start_after=start_after, bad=bad)
        registered, _all_errors = bulk.register_rows(
            rows, registrar=registrar, write=write, on_batch=on_batch, commit_each_batch=commit_each_batch,
            workers=bulk.default_workers(imp.total_rows), batch_size=bulk.BATCH_SIZE)
    if bad:  # refused rows after the last good one
        with transaction.atomic():
            on_batch(imp.last_row, [], [])
    report.flush()
    return registered


def _begin(import_id: int, expected: tuple[str, ...], now_status: str) -> tuple[CustomerImport | None, bool]:
    """Claim the import for this task: (import, whether an earlier run of the task was interrupted)."""
    with transaction.atomic():
        imp = CustomerImport.objects.select_for_update(**_of_self()).select_related("uploaded_by", "branch", "default_manager").filter(
            pk=import_id).first()
        if imp is None or imp.status not in expected:
            return None, False  # already done: running a task twice changes nothing
        resuming = imp.status == now_status
        if not resuming:
            imp.status = now_status
            imp.started_at = imp.started_at or timezone.now()
            imp.save(update_fields=["status", "started_at"])
    if not imp.total_rows and imp.file:
        with imp.file.open("rb") as fh:
            imp.total_rows = import_files.count_records(fh, _info(imp))
        imp.save(update_fields=["total_rows"])
    return imp, resuming


def _fail(imp: CustomerImport, exc: Exception) -> None:
    code = exc.code if isinstance(exc, DomainError) else "import_failed"
    message = str(exc.message) if isinstance(exc, DomainError) else _("导入过程中发生系统错误，已导入的批次保留，请联系管理员")
    CustomerImport.objects.filter(pk=imp.pk).update(status=S.FAILED, failure_code=code, failure_message=message[:300],
                                                    finished_at=timezone.now())


def validate_body(*, import_id: int) -> None:
    """Validate every row against the rules and the existing customers; write nothing but counts and the report."""
    imp, _resuming = _begin(import_id, (S.VALIDATING,), S.VALIDATING)
    if imp is None:
        return
    _reset_counts(imp)
    imp.save()
    try:
        valid = _pass(imp, write=False, commit_each_batch=True)
    except DomainError as exc:
        _fail(imp, exc)
        return
    imp.valid_rows = valid
    imp.processed_rows = imp.total_rows = max(imp.total_rows, imp.valid_rows + imp.error_rows)
    imp.status, imp.validated_at = S.VALIDATED, timezone.now()
    imp.save()


def run_body(*, import_id: int) -> None:
    """Import: good rows batch by batch (resuming after the last committed batch), or all or nothing."""
    imp, resuming = _begin(import_id, (S.QUEUED, S.RUNNING), S.RUNNING)
    if imp is None:
        return
    try:
        if imp.mode == CustomerImport.Mode.ALL_OR_NOTHING:
            _all_or_nothing(imp)
        else:
            resume = imp.last_row if resuming else 0
            if not resume:
                _reset_counts(imp)
                imp.save()
            _pass(imp, write=True, commit_each_batch=True, start_after=resume)
            _finish(imp, S.DONE)
    except DomainError as exc:
        _fail(imp, exc)
    except Exception as exc:
        _fail(imp, exc)
        raise


class _Rejected(Exception):
    pass


def _all_or_nothing(imp: CustomerImport) -> None:
    _reset_counts(imp)
    imp.save()
    _pass(imp, write=False, commit_each_batch=True)  # every row checked (and progress shown) before any write
    if imp.error_rows:
        _finish(imp, S.REJECTED)
        return
    imp.processed_rows = imp.last_row = 0
    try:
        with transaction.atomic(durable=True):
            _pass(imp, write=True, commit_each_batch=False)
            if imp.error_rows:  # a customer registered meanwhile: nothing of this file is kept
                raise _Rejected
            _finish(imp, S.DONE)
    except _Rejected:
        imp.imported_rows = 0
        _finish(imp, S.REJECTED)


def _finish(imp: CustomerImport, status: str) -> None:
    imp.status, imp.finished_at = status, timezone.now()
    imp.processed_rows = imp.total_rows = max(imp.total_rows, imp.imported_rows + imp.error_rows)
    if imp.file and getattr(settings, "BANKCRM_IMPORT_DELETE_FILES", True):
        imp.file.delete(save=False)  # personal data in plain text: not kept once imported
    imp.save()
