"""Bulk registration of customers: the path imports and the large demo bank use (ADR 0008).

Every row goes through the same checks as `services.customer_register` (identity document with its check digit and
derived birth date and gender, credit code, mobile, e-mail, field lengths) and is refused if its identity number is
already registered or appears earlier in the same input. What differs is how the work is done, so that a million
rows take minutes (QUALITY.md P3):

- `prepare_chunk` is pure per-row work (validation, pinyin memoised per character, bigrams, blind indexes, AES-GCM)
  with no database access, so it can run in worker processes. Workers are started clean (``spawn``), set Django up
  and read the key file themselves; no key material crosses a pipe and no database connection is inherited.
- `BulkRegistrar` does what needs the database, in the caller's process: duplicates against existing customers
  (one indexed query per chunk over the blind index), customer managers, primary keys and customer numbers reserved
  in blocks, then writes with PostgreSQL ``COPY`` (SQLite: ``executemany``), bigrams and manager assignments
  included, and ONE audit event per committed batch (an event costs a lock on the chain head: ADR 0002).

The caller (an import task, the demo seeder) owns the transactions: `write_batch` runs inside whatever transaction
is open, so "good rows" imports commit each batch and all-or-nothing imports wrap every batch in one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from bankcrm.core import access, audit, bulkwrite, crypto, sequences
from bankcrm.core.access import Role
from bankcrm.core.errors import ValidationFailed

from . import rules
from .models import Customer, ManagerAssignment, NameBigram
from .validation import clean_email, clean_identity, clean_mobile

# The fields an input row may carry, in this order (imports map file columns onto them).
INPUT_FIELDS = ("kind", "name", "id_type", "id_number", "mobile", "email", "address", "occupation", "industry",
                "employer", "id_expires_on", "legal_representative", "manager")
FIELD_LABELS = {  # lazy: the mapping form shows them in the reader's language; error reports are written in Chinese
    "row": _lazy("文件"), "kind": _lazy("客户类型"), "name": _lazy("姓名/名称"), "id_type": _lazy("证件类型"),
    "id_number": _lazy("证件号码"), "mobile": _lazy("手机号码"), "email": _lazy("电子邮箱"), "address": _lazy("地址"),
    "occupation": _lazy("职业"), "industry": _lazy("行业"), "employer": _lazy("工作单位"),
    "id_expires_on": _lazy("证件有效期"), "legal_representative": _lazy("法定代表人"), "manager": _lazy("客户经理工号"),
}
# Customer columns computed per row by `prepare_chunk`, in the order of the tuple it returns.
ROW_COLUMNS = ("kind", "name", "name_pinyin", "name_initials", "id_type", "id_number", "id_number_bidx", "id_expires_on",
               "gender", "birth_date", "mobile", "mobile_bidx", "mobile_last4", "email", "address", "occupation",
               "industry", "employer", "legal_representative")
MAX_LENGTHS = {"occupation": 40, "industry": 40, "employer": 100, "legal_representative": 40, "name": 100}
KIND_WORDS = {"": "", "person": "person", "个人": "person", "个人客户": "person", "自然人": "person", "对私": "person",
              "company": "company", "企业": "company", "企业客户": "company", "公司": "company", "单位": "company", "对公": "company"}
ID_TYPE_WORDS = {
    **{v: v for v in Customer.IdType.values},
    "居民身份证": "resident_id", "身份证": "resident_id", "二代身份证": "resident_id", "港澳台居民居住证": "hmt_residence",
    "外国人永久居留身份证": "foreign_permanent", "永久居留证": "foreign_permanent", "护照": "passport",
    "港澳居民来往内地通行证": "hk_macau_pass", "回乡证": "hk_macau_pass", "台湾居民来往大陆通行证": "taiwan_pass", "台胞证": "taiwan_pass",
    "统一社会信用代码": "uscc", "营业执照": "uscc", "": "",
}
DATE_RE = re.compile(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?$")
LONG_TERM = {"长期", "永久", "长期有效"}
BATCH_SIZE = 5000
PARALLEL_FROM = 40_000  # rows; below this, starting worker processes costs more than it saves


@dataclass(frozen=True)
class RowError:
    """One reason one input row was refused: row number as the user sees it (the header is row 1)."""

    row: int
    field: str
    code: str
    message: str

    @property
    def field_label(self) -> str:
        return str(FIELD_LABELS.get(self.field, self.field))

    @property
    def is_duplicate(self) -> bool:
        return self.code in ("duplicate_in_file", "duplicate_existing", "duplicate_existing_hidden")


# ---- Pure per-row work (runs in worker processes) -----------------------------------------------------------------
_PURE: dict[str, Any] = {}


def _tools() -> dict[str, Any]:
    """Encryptors and indexers, built once per process from the key file."""
    if not _PURE:
        f = Customer._meta.get_field
        _PURE.update(
            enc_id=crypto.encryptor(f("id_number").label), enc_mobile=crypto.encryptor(f("mobile").label),
            enc_email=crypto.encryptor(f("email").label), enc_address=crypto.encryptor(f("address").label),
            bidx_id=crypto.blind_indexer(f("id_number_bidx").purpose),
            bidx_mobile=crypto.blind_indexer(f("mobile_bidx").purpose),
        )
    return _PURE


def reset_tools() -> None:
    """Forget the cached encryptors (after a key rotation or a key-file change in tests)."""
    _PURE.clear()


def _parse_date(value: str) -> date | None:
    value = value.strip()
    if not value or value in LONG_TERM:
        return None
    m = DATE_RE.match(value)
    if not m:
        raise ValueError(value)
    return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def prepare_row(row_no: int, values: tuple[str, ...], today: date, tools: dict[str, Any],
                errors: list[RowError]) -> tuple | None:
    """Validate one row (values in INPUT_FIELDS order) and compute what is stored. Appends its errors; returns None
    if there were any, else (row_no, id_key, customer values in ROW_COLUMNS order, bigrams, manager staff number)."""
    kind_raw, name, id_type_raw, id_number, mobile, email, address, occupation, industry, employer, expires, legal, manager = [
        v.strip() for v in values]  # readers and as_input() give strings
    n_errors = len(errors)
    if any("\ufffd" in v for v in (kind_raw, name, id_type_raw, id_number, mobile, email, address, occupation, industry,
                                    employer, expires, legal, manager)):
        errors.append(RowError(row_no, "row", "row_encoding", _("该行含有无法识别的字符，请检查文件编码")))
        return None
    name = " ".join(name.split())
    if not name:
        errors.append(RowError(row_no, "name", "name_required", _("请填写客户姓名或名称")))
    kind = KIND_WORDS.get(kind_raw.lower())
    id_type = ID_TYPE_WORDS.get(id_type_raw.lower() if id_type_raw.isascii() else id_type_raw)
    if kind is None:
        errors.append(RowError(row_no, "kind", "kind_invalid", _("无效的客户类型（应为“个人”或“企业”）")))
    if id_type is None:
        errors.append(RowError(row_no, "id_type", "id_type_invalid", _("无效的证件类型")))
    ident = None
    if kind is not None and id_type is not None:
        kind = kind or ("company" if id_type == "uscc" else "person")
        id_type = id_type or ("uscc" if kind == "company" else "resident_id")
        try:
            ident = clean_identity(kind, id_type, id_number, today=today)
        except ValidationFailed as exc:
            errors.append(RowError(row_no, next(iter(exc.fields), "id_number"), exc.code, str(exc.message)))
    try:
        mobile = clean_mobile(mobile)
    except ValidationFailed as exc:
        errors.append(RowError(row_no, "mobile", exc.code, str(exc.message)))
    try:
        email = clean_email(email)
    except ValidationFailed as exc:
        errors.append(RowError(row_no, "email", exc.code, str(exc.message)))
    try:
        expires_on = _parse_date(expires)
    except ValueError:
        errors.append(RowError(row_no, "id_expires_on", "date_invalid", _("日期格式不正确（应为YYYY-MM-DD）")))
    for fname, value in (("name", name), ("occupation", occupation), ("industry", industry), ("employer", employer),
                         ("legal_representative", legal)):
        if len(value) > MAX_LENGTHS[fname]:
            errors.append(RowError(row_no, fname, "too_long", _("内容过长（最多%(n)d个字）") % {"n": MAX_LENGTHS[fname]}))
    if len(errors) > n_errors or ident is None:
        return None
    pinyin, initials = rules.name_keys(name)
    id_key = tools["bidx_id"](ident.id_number)
    customer = (kind, name, pinyin, initials, ident.id_type, tools["enc_id"](ident.id_number), id_key,
                expires_on.isoformat() if expires_on else None, ident.gender,
                ident.birth_date.isoformat() if ident.birth_date else None,
                tools["enc_mobile"](mobile), tools["bidx_mobile"](mobile), mobile[-4:] if mobile else "",
                tools["enc_email"](email), tools["enc_address"](address), occupation, industry, employer, legal)
    return (row_no, id_key, customer, tuple(sorted(rules.bigrams(name))), manager)


def prepare_chunk(rows: list[tuple[int, tuple[str, ...]]], today: date) -> tuple[list[tuple], list[RowError]]:
    """Pure work on a chunk of rows (no database): returns (prepared rows, errors)."""
    tools = _tools()
    errors: list[RowError] = []
    out = []
    for row_no, values in rows:
        p = prepare_row(row_no, values, today, tools, errors)
        if p is not None:
            out.append(p)
    return out, errors


def prepared_chunks(chunks: Iterable[list[tuple[int, tuple[str, ...]]]], *, today: date,
                    workers: int = 1) -> Iterator[tuple[list[tuple], list[RowError]]]:
    """`prepare_chunk` over chunks, in order; with workers > 1 in that many clean processes, keeping at most two
    chunks per worker in flight so that memory stays bounded whatever the size of the input."""
    if workers <= 1:
        for chunk in chunks:
            yield prepare_chunk(chunk, today)
        return
    from collections import deque
    from multiprocessing import get_context

    from . import bulk_worker

    with get_context("spawn").Pool(workers, initializer=bulk_worker.init) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.apply_async(bulk_worker.prepare, (chunk, today)))
            if len(pending) >= workers * 2:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def default_workers(expected_rows: int) -> int:
    if expected_rows < PARALLEL_FROM:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def customer_no(value: int) -> str:
    """`rules.customer_no_from_sequence` computed directly (one Luhn pass instead of up to ten)."""
    body = f"1{value:09d}"
    total = 0
    for i, ch in enumerate(reversed(body)):  # the check digit will sit at position 0: body digits at odd positions double
        d = ord(ch) - 48
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


# ---- Database side ------------------------------------------------------------------------------------------------
@dataclass
class BatchResult:
    customer_ids: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    audit_seq: int | None = None


class BulkRegistrar:
    """Registers prepared rows for one actor: duplicates, managers, keys and numbers, COPY/executemany, audit.

    ``branch`` is where customers without a named manager belong; a row naming a customer manager (by staff number)
    belongs to that manager's branch. ``default_manager`` becomes the primary manager of rows that name none.
    ``check_duplicates_in_input`` keeps the first occurrence of an identity number and refuses the later ones.
    """

    def __init__(self, *, actor: Any, branch: Any = None, default_manager: Any = None, source: str = "",
                 audit_target: Any = None, reason: str = "", check_capability: str = "customers.import") -> None:
        if check_capability:
            access.require(actor, check_capability)
        self.actor = actor
        self.branch = branch or actor.branch
        self.default_manager = default_manager
        self.source = source
        self.audit_target = audit_target
        self.reason = reason or _("批量导入客户")
        self.seen: dict[int, int] = {}  # first 64 bits of the identity blind index → first row number
        self.managers: dict[str, Any] = {}
        self.batch_no = 0
        self.vendor = connection.vendor
        self._columns, self._constants = self._layout()

    # -- layout of the customer table: every concrete column, computed or constant, so a column added later with
    #    a default needs no change here, and one without a default fails loudly instead of silently.
    def _layout(self) -> tuple[list[str], tuple]:
        now = timezone.now()
        given = {"id", "customer_no", "branch", *ROW_COLUMNS}
        columns = ["id", "customer_no", *ROW_COLUMNS, "branch_id"]
        constants = []
        for f in Customer._meta.concrete_fields:
            if f.name in given:
                continue
            if f.name == "created_by":
                value: Any = self.actor.pk
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = f.get_db_prep_save(now, connection)
            elif f.has_default() or f.null or (f.blank and f.empty_strings_allowed):
                value = f.get_db_prep_save(f.get_default(), connection)
            else:
                raise ImproperlyConfigured(f"bulk import does not know how to fill Customer.{f.name}")
            columns.append(f.column)
            constants.append(value)
        return columns, tuple(constants)

    def _manager(self, staff_no: str) -> Any:
        """A customer manager named in a row: active, at work, within the actor's branch scope (cached)."""
        if staff_no not in self.managers:
            from bankcrm.org.models import Staff

            s = (Staff.objects.select_related("branch").prefetch_related("role_assignments")
                 .filter(staff_no__iexact=staff_no).first())
            root = access.scope_root(self.actor)
            ok = (s is not None and Role.CUSTOMER_MANAGER in s.roles and s.may_work_now()
                  and (root is None or s.branch.path.startswith(root)))
            self.managers[staff_no] = s if ok else None
        return self.managers[staff_no]

    def _existing(self, keys: list[str]) -> dict[str, tuple[int, str]]:
        found: dict[str, tuple[int, str]] = {}
        if self.vendor == "postgresql" and keys:  # one array parameter instead of thousands of placeholders
            with connection.cursor() as cur:
                cur.execute(f"SELECT id_number_bidx, id, customer_no FROM {Customer._meta.db_table} "
                            "WHERE id_number_bidx = ANY(%s)", [keys])
                return {bidx: (pk, no) for bidx, pk, no in cur.fetchall()}
        step = 900
        for i in range(0, len(keys), step):
            for bidx, pk, no in Customer.objects.filter(id_number_bidx__in=keys[i:i + step]).values_list(
                    "id_number_bidx", "pk", "customer_no"):
                found[bidx] = (pk, no)
        return found

    def screen(self, prepared: list[tuple], errors: list[RowError]) -> list[tuple]:
        """Refuse duplicates (in the input so far, then in the database) and rows naming an unusable manager.
        Appends errors; returns the rows that may be written, each extended with its (branch_id, manager)."""
        fresh = []
        for p in prepared:
            key = int(p[1][:16], 16)
            first = self.seen.setdefault(key, p[0])
            if first != p[0]:
                errors.append(RowError(p[0], "id_number", "duplicate_in_file",
                                       _("证件号码与本文件第%(n)d行重复") % {"n": first}))
            else:
                fresh.append(p)
        existing = self._existing([p[1] for p in fresh])
        visible = set()
        if existing:
            from .selectors import customers_visible

            visible = set(customers_visible(self.actor).filter(pk__in=[v[0] for v in existing.values()])
                          .values_list("pk", flat=True))
        out = []
        for p in fresh:
            hit = existing.get(p[1])
            if hit is not None:
                if hit[0] in visible:
                    errors.append(RowError(p[0], "id_number", "duplicate_existing",
                                           _("该证件号码已登记为客户 %(no)s，未重复导入") % {"no": hit[1]}))
                else:
                    errors.append(RowError(p[0], "id_number", "duplicate_existing_hidden",
                                           _("该证件号码已在本行登记（不在您的管户范围内），未重复导入")))
                continue
            manager = self._manager(p[4]) if p[4] else self.default_manager
            if p[4] and manager is None:
                errors.append(RowError(p[0], "manager", "manager_invalid",
                                       _("客户经理工号不存在、不在岗或不在您的管辖范围内")))
                continue
            out.append((*p, manager))
        return out

    def _reserve_ids(self, count: int) -> list[int]:
        return bulkwrite.reserve_ids(Customer._meta.db_table, count)

    def _copy(self, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        bulkwrite.copy_rows(table, columns, rows)

    def write_batch(self, rows: list[tuple]) -> BatchResult:
        """Write screened rows (from `screen`) and record one audit event. Runs in the caller's transaction; a
        concurrent registration of the same identity number is caught, screened out and the batch retried."""
        result = BatchResult()
        for attempt in range(3):
            if not rows:
                return result
            try:
                with transaction.atomic():
                    result.customer_ids = self._write(rows)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                again: list[RowError] = []
                rows = self._rescreen(rows, again)
                result.errors.extend(again)
        self.batch_no += 1
        ids = result.customer_ids
        contiguous = ids == list(range(ids[0], ids[0] + len(ids)))
        target = self.audit_target
        event = audit.record(
            actor=self.actor, verb="customers.imported", target=target,
            target_type="" if target is not None else "customers.Customer",
            target_repr="" if target is not None else _("批量登记客户"),
            after={"count": len(ids), "customer_ids": {"from": ids[0], "to": ids[-1]} if contiguous else ids,
                   "batch": self.batch_no, "source": self.source},
            reason=self.reason)
        result.audit_seq = event.seq
        return result

    def _rescreen(self, rows: list[tuple], errors: list[RowError]) -> list[tuple]:
        """After a unique-index conflict: drop rows whose identity number is now registered."""
        existing = self._existing([r[1] for r in rows])
        keep = []
        for r in rows:
            if r[1] in existing:
                errors.append(RowError(r[0], "id_number", "duplicate_existing",
                                       _("该证件号码已登记为客户 %(no)s，未重复导入") % {"no": existing[r[1]][1]}))
            else:
                keep.append(r)
        return keep

    def _write(self, rows: list[tuple]) -> list[int]:
        ids = self._reserve_ids(len(rows))
        numbers = sequences.reserve("customer_no", len(rows))
        now = timezone.now()
        started = ManagerAssignment._meta.get_field("started_at").get_db_prep_save(now, connection)
        default_branch = self.branch.pk
        constants = self._constants
        customers, grams, assignments = [], [], []
        reason = str(_("批量导入"))
        no = customer_no
        for pk, seq, r in zip(ids, numbers, rows, strict=True):
            manager = r[5]
            customers.append((pk, no(seq), *r[2], manager.branch_id if r[4] and manager else default_branch, *constants))
            grams.extend((pk, g) for g in r[3])
            if manager is not None:
                assignments.append((pk, manager.pk, ManagerAssignment.Role.PRIMARY.value, started, None, self.actor.pk, reason))
        self._copy(Customer._meta.db_table, self._columns, customers)
        self._copy(NameBigram._meta.db_table, ["customer_id", "bigram"], grams)
        if assignments:
            self._copy(ManagerAssignment._meta.db_table,
                       ["customer_id", "staff_id", "role", "started_at", "ended_at", "assigned_by_id", "reason"], assignments)
        return ids


def register_rows(rows: Iterable[tuple[int, tuple[str, ...]]], *, registrar: BulkRegistrar, today: date | None = None,
                  workers: int = 1, batch_size: int = BATCH_SIZE, write: bool = True,
                  on_batch: Callable[[int, list[int], list[RowError]], None] | None = None,
                  commit_each_batch: bool = True) -> tuple[int, list[RowError]]:
    """Validate and (if ``write``) register rows of (row number, values in INPUT_FIELDS order).

    With ``commit_each_batch`` every batch commits in its own transaction (the caller must not hold one open);
    otherwise the caller's transaction covers everything. ``on_batch(last_row, ids, errors)`` runs after each batch,
    inside the batch's transaction, so progress commits with the rows it counts. Returns (registered, errors).
    """
    today = today or timezone.localdate()
    total, all_errors = 0, []
    for prepared, errors in prepared_chunks(_chunks(rows, batch_size), today=today, workers=workers):
        last_row = max([p[0] for p in prepared] + [e.row for e in errors] or [0])
        with transaction.atomic(durable=commit_each_batch) if commit_each_batch else _nullcontext():
            screened = registrar.screen(prepared, errors)
            ids: list[int] = []
            if write and screened:
                result = registrar.write_batch(screened)
                ids = result.customer_ids
                errors.extend(result.errors)
            total += len(ids) if write else len(screened)
            errors.sort(key=lambda e: e.row)
            if on_batch is not None:
                on_batch(last_row, ids, errors)
        all_errors.extend(errors)
    return total, all_errors


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _chunks(rows: Iterable[tuple[int, tuple[str, ...]]], size: int) -> Iterator[list[tuple[int, tuple[str, ...]]]]:
    chunk: list = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def as_input(**values: Any) -> tuple[str, ...]:
    """One input row from keyword values (tests, the demo seeder): missing fields are empty."""
    unknown = set(values) - set(INPUT_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)}")
    out = []
    for f in INPUT_FIELDS:
        v = values.get(f, "")
        out.append(v.isoformat() if isinstance(v, (date, datetime)) else ("" if v is None else str(v)))
    return tuple(out)
