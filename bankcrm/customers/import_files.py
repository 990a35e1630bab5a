"""Reading customer files: CSV in UTF-8 or GBK/GB18030 (detected), Excel .xlsx (openpyxl, read-only), with a size
limit checked before anything is read, and header names auto-mapped onto the import fields. No database access.

Every failure is a `ValidationFailed` with a stable code and a Chinese message:
``import_empty``, ``import_too_large``, ``import_format``, ``import_encoding``, ``import_no_header``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from bankcrm.core.errors import ValidationFailed

from .bulk import INPUT_FIELDS

SAMPLE_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
MAX_ROW_ERRORS_IN_A_ROW = 1000
csv.field_size_limit(1024 * 1024)

# Header names seen in bank spreadsheets, normalised (no spaces, no "*", no parenthesised notes, lower case).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "客户姓名", "客户名称", "名称", "户名", "姓名/名称", "企业名称", "name", "customername"),
    "kind": ("客户类型", "客户类别", "类型", "kind", "customertype"),
    "id_type": ("证件类型", "证件种类", "idtype"),
    "id_number": ("证件号码", "证件号", "身份证号码", "身份证号", "身份证", "统一社会信用代码", "idnumber", "idno"),
    "mobile": ("手机号码", "手机号", "手机", "移动电话", "联系电话", "电话", "mobile", "phone"),
    "email": ("电子邮箱", "邮箱", "电子邮件", "email", "e-mail"),
    "address": ("地址", "联系地址", "住址", "通讯地址", "家庭住址", "address"),
    "occupation": ("职业", "occupation"),
    "industry": ("行业", "所属行业", "industry"),
    "employer": ("工作单位", "单位", "employer"),
    "id_expires_on": ("证件有效期", "证件有效期至", "证件到期日", "有效期至", "idexpireson"),
    "legal_representative": ("法定代表人", "法人代表", "法人"),
    "manager": ("客户经理工号", "客户经理", "管户经理工号", "管户经理", "manager"),
}
REQUIRED_FIELDS = ("name", "id_number")


def max_bytes() -> int:
    return int(getattr(settings, "BANKCRM_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


@dataclass(frozen=True)
class FileInfo:
    file_format: str  # "csv" or "xlsx"
    encoding: str     # csv only: "utf-8-sig", "utf-8", "gb18030", "utf-16"
    delimiter: str = ","


def _fail(code: str, message: Any) -> ValidationFailed:
    return ValidationFailed(code, str(message), fields={"file": [str(message)]})


def check_size(size: int | None) -> None:
    """Refuse empty and oversize files from the size alone, before a byte is read."""
    if size is None:
        return
    if size == 0:
        raise _fail("import_empty", _("文件为空，请选择包含客户数据的文件"))
    limit = max_bytes()
    if size > limit:
        raise _fail("import_too_large", _("文件过大（%(size)s），单个文件不能超过%(limit)s") % {
            "size": _human(size), "limit": _human(limit)})


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(sample, final=complete)  # an incomplete sample may end inside a character: not an error
    except UnicodeDecodeError:
        return False
    return True


def detect(sample: bytes, name: str, *, complete: bool) -> FileInfo:
    """Format and encoding from the first bytes (``complete``: the sample is the whole file)."""
    lower = (name or "").lower()
    if sample.startswith(b"PK\x03\x04"):
        if lower.endswith((".xlsx", ".xlsm")) or not lower.endswith(".csv"):
            return FileInfo("xlsx", "")
        raise _fail("import_format", _("文件内容不是CSV文本，请另存为CSV或.xlsx后再上传"))
    if sample.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise _fail("import_format", _("不支持旧版Excel（.xls）文件，请另存为.xlsx或CSV后再上传"))
    if lower and not lower.endswith((".csv", ".txt", ".xlsx", ".xlsm")):
        raise _fail("import_format", _("只支持CSV或Excel（.xlsx）文件"))
    if sample.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif b"\x00" in sample:
        raise _fail("import_encoding", _("文件不是文本文件或编码无法识别，请另存为UTF-8或GBK编码的CSV"))
    elif _decodes(sample, "utf-8", complete):
        encoding = "utf-8"
    elif _decodes(sample, "gb18030", complete):
        encoding = "gb18030"
    else:
        raise _fail("import_encoding", _("文件编码无法识别（支持UTF-8和GBK/GB18030），请另存为UTF-8编码的CSV"))
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";", "，"), key=first.count) if first else ","
    if delimiter == "，" or not first.count(delimiter):
        delimiter = ","
    return FileInfo("csv", encoding, delimiter)


def inspect(fh: IO[bytes], name: str, size: int | None) -> FileInfo:
    check_size(size)
    sample = fh.read(SAMPLE_BYTES)
    fh.seek(0)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _fail("import_empty", _("文件为空，请选择包含客户数据的文件"))
    return detect(sample, name, complete=size is not None and size <= SAMPLE_BYTES)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _csv_records(fh: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list[str] | None]]:
    """(record number, fields) with the header as record 1; fields None for a record the CSV parser refused."""
    text = io.TextIOWrapper(fh, encoding=info.encoding, errors="replace", newline="")
    try:
        lines = (line.replace("\x00", "\ufffd") for line in text)
        reader = csv.reader(lines, delimiter=info.delimiter)
        n, failures = 0, 0
        while True:
            n += 1
            try:
                rec = next(reader)
            except StopIteration:
                return
            except csv.Error:
                failures += 1
                if failures > MAX_ROW_ERRORS_IN_A_ROW:
                    raise _fail("import_malformed", _("文件格式错误过多，已停止读取")) from None
                yield n, None
                continue
            failures = 0
            yield n, rec
    finally:
        if not fh.closed:
            text.detach()  # the caller owns the file: closing the wrapper must not close it


def _xlsx_records(fh: IO[bytes]) -> Iterator[tuple[int, list[str] | None]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(fh, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise _fail("import_format", _("Excel文件已损坏或不是.xlsx格式")) from None
    try:
        ws = wb.worksheets[0]
        for n, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield n, [_cell(v) for v in row]
    finally:
        wb.close()


def records(fh: IO[bytes], info: FileInfo) -> Iterator[tuple[int, list[str] | None]]:
    """Every record of the file, blank lines included (they keep the row numbers the user sees)."""
    if info.file_format == "xlsx":
        return _xlsx_records(fh)
    return _csv_records(fh, info)


def _is_blank(rec: list[str] | None) -> bool:
    return rec is not None and not any((c or "").strip() for c in rec)


def read_head(fh: IO[bytes], info: FileInfo, rows: int = 5) -> tuple[list[str], list[list[str]], bool]:
    """(headers, first data rows, whether any data row exists)."""
    it = records(fh, info)
    headers: list[str] | None = None
    preview: list[list[str]] = []
    has_data = False
    for _n, rec in it:
        if headers is None:
            if rec is None or _is_blank(rec):
                continue
            headers = [(h or "").strip().lstrip("\ufeff") for h in rec]
            continue
        if rec is None or not _is_blank(rec):
            has_data = True
            if rec is not None and len(preview) < rows:
                preview.append(rec)
            if len(preview) >= rows:
                break
    if hasattr(it, "close"):
        it.close()
    if headers is None:
        raise _fail("import_empty", _("文件为空，请选择包含客户数据的文件"))
    return headers, preview, has_data


def _norm(header: str) -> str:
    h = re.sub(r"[（(][^）)]*[）)]", "", header or "")
    return re.sub(r"[\s*＊:：_]", "", h).lower()


def auto_map(headers: list[str]) -> dict[str, int]:
    """Import field → column index, from the header names (first match wins, each column used once)."""
    normalised = [_norm(h) for h in headers]
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for fname in INPUT_FIELDS:
        for alias in HEADER_ALIASES.get(fname, ()):
            idx = next((i for i, h in enumerate(normalised) if h == _norm(alias) and i not in used), None)
            if idx is not None:
                mapping[fname] = idx
                used.add(idx)
                break
    return mapping


def check_mapping(mapping: dict[str, Any], headers: list[str]) -> dict[str, int]:
    clean: dict[str, int] = {}
    for fname, idx in (mapping or {}).items():
        if idx in (None, "", -1):
            continue
        if fname not in INPUT_FIELDS:
            raise ValidationFailed("mapping_invalid", _("未知的导入字段：%(f)s") % {"f": fname}, fields={"mapping": [fname]})
        try:
            idx = int(idx)
        except (TypeError, ValueError):
            raise ValidationFailed("mapping_invalid", _("列对应设置无效"), fields={fname: [_("无效的列")]}) from None
        if not 0 <= idx < len(headers):
            raise ValidationFailed("mapping_invalid", _("列对应设置无效"), fields={fname: [_("文件中没有这一列")]})
        if idx in clean.values():
            raise ValidationFailed("mapping_duplicate_column", _("同一列不能对应两个字段"), fields={fname: [_("该列已对应其他字段")]})
        clean[fname] = idx
    missing = [f for f in REQUIRED_FIELDS if f not in clean]
    if missing:
        from .bulk import FIELD_LABELS

        labels = "、".join(str(FIELD_LABELS[f]) for f in missing)
        raise ValidationFailed("mapping_required", _("必须指定以下字段对应的列：%(f)s") % {"f": labels},
                               fields={f: [_("必填")] for f in missing})
    return clean


def mapped_rows(fh: IO[bytes], info: FileInfo, mapping: dict[str, int], *, start_after: int = 0,
                bad: list[tuple[int, str, str]] | None = None) -> Iterator[tuple[int, tuple[str, ...]]]:
    """Data rows as (row number, values in INPUT_FIELDS order); short rows are padded with empty values. Rows the
    parser refused, or with more non-empty columns than the header, go to ``bad`` as (row, code, message) instead.
    Blank rows are skipped."""
    idxs = [mapping.get(f) for f in INPUT_FIELDS]
    header_width = 0
    for n, rec in records(fh, info):
        if not header_width:
            if rec is None or _is_blank(rec):
                continue
            header_width = len(rec)
            continue
        if n <= start_after or _is_blank(rec):
            continue
        if rec is None:
            if bad is not None:
                bad.append((n, "row_malformed", _("该行格式错误（引号不匹配或内容过长），无法读取")))
            continue
        if len(rec) > header_width and any((c or "").strip() for c in rec[header_width:]):
            if bad is not None:
                bad.append((n, "row_columns", _("该行有%(n)d列，多于表头的%(h)d列（可能含有未加引号的逗号）") % {
                    "n": len(rec), "h": header_width}))
            continue
        yield n, tuple((rec[i] if i is not None and i < len(rec) else "") for i in idxs)


def count_records(fh: IO[bytes], info: FileInfo) -> int:
    """Data rows (an estimate for the progress bar: blank lines count too)."""
    if info.file_format == "xlsx":
        return max(0, sum(1 for _ in records(fh, info)) - 1)
    n, last = 0, b""
    while True:
        block = fh.read(1 << 20)
        if not block:
            break
        n += block.count(b"\n")
        last = block
    if last and not last.endswith(b"\n"):
        n += 1
    return max(0, n - 1)
