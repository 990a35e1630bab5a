"""Watch lists (sanctions, politically exposed persons, internal) and screening of customers against them.

Import: a UTF-8 CSV (with or without BOM) with the header ``name,birth_date,country,note`` (only ``name`` required).
Policy: **good rows only** — every bad row is reported with its row number (the header is row 1) and reason and left
out; every good row is imported exactly once (a row repeating an earlier one of the file is reported as a duplicate).
A file that cannot be read (not UTF-8, not CSV, empty, no ``name`` column, no good row) is refused whole with one
error. Importing under an existing list name makes version N+1 and retires the older versions; an entry that was in
the previous version keeps its identity (``origin_id``), so a re-import raises no second alert for the same person.

Screening goes customer by customer in chunks, never customers × entries: for each chunk the customers' normalised
names, pinyin spellings and one-edit piece keys (rules_screening) are looked up in indexed columns of the entries
(name_key, name_pinyin, ed_a/ed_b/ed_c); only the entries found are scored. Every hit goes to
``alerting.raise_alerts`` with dedupe key ``WL:<entry identity>:<customer id>``, so re-runs raise nothing new.
After an import the new list is screened against every customer, after the commit: synchronously for small banks,
as a background task beyond ``SYNC_SCREEN_LIMIT`` customers. The nightly run (01:30) screens everyone against every
active list, resumably (batchrun, R14).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, time
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from bankcrm.core import access, audit
from bankcrm.core.errors import ValidationFailed
from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task
from bankcrm.customers.models import Customer

from . import alerting, batchrun
from . import rules_screening as rs
from .models import BatchRun, WatchList, WatchListEntry

SOURCE = "screening"
RULE_CODES = {WatchList.Kind.SANCTIONS: "WL-SAN", WatchList.Kind.PEP: "WL-PEP", WatchList.Kind.INTERNAL: "WL-INT"}
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ERRORS_KEPT = 500
SYNC_SCREEN_LIMIT = 20_000   # customers: above this an import's screening runs as a background task
CHUNK = 500                  # customers per screening chunk (one transaction and checkpoint each)
IN_SLICE = 500               # values per indexed IN look-up
COLUMNS = ("name", "birth_date", "country", "note")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
logger = logging.getLogger(__name__)


# ---- Import ---------------------------------------------------------------------------------------------------------
def _row_error(row: int, code: str, message: str) -> dict[str, Any]:
    return {"row": row, "code": code, "message": message}


def check_size(size: int) -> None:
    """Refuse an oversized upload before reading it."""
    if size > MAX_FILE_BYTES:
        msg = _("文件过大，不能超过%(mb)d MB") % {"mb": MAX_FILE_BYTES >> 20}
        raise ValidationFailed("watchlist_file_too_large", msg, fields={"file": [msg]})


def parse_csv(file_bytes: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """(good rows, row errors, data rows read). Raises ValidationFailed for a file that cannot be read at all."""
    if not file_bytes or not file_bytes.strip():
        raise ValidationFailed("watchlist_empty_file", _("文件为空"), fields={"file": [_("文件为空")]})
    check_size(len(file_bytes))
    try:
        text = file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = _("文件不是UTF-8编码（第%(pos)d字节起无法识别），请另存为“CSV UTF-8”后重新导入") % {"pos": exc.start + 1}
        raise ValidationFailed("watchlist_encoding", msg, fields={"file": [msg]}) from None
    try:
        if "\x00" in text:
            raise csv.Error(_("含有NUL字符"))
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        msg = _("文件不是有效的CSV：%(e)s") % {"e": exc}
        raise ValidationFailed("watchlist_bad_csv", msg, fields={"file": [msg]}) from None
    header = [h.strip().lower() for h in records[0]] if records else []
    if "name" not in header:
        msg = _("第1行应为表头，且须包含 name 列（可选列：birth_date、country、note）")
        raise ValidationFailed("watchlist_header", msg, fields={"file": [msg]})
    col = {c: header.index(c) for c in COLUMNS if c in header}
    good: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    seen: dict[tuple, int] = {}
    read = 0
    for row_no, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank line
        read += 1

        cells = {c: " ".join(record[i].split()) if i < len(record) else "" for c, i in col.items()}
        name, born, country, note = (cells.get("name", ""), cells.get("birth_date", ""),
                                     cells.get("country", "").upper(), cells.get("note", ""))
        if not name:
            errors.append(_row_error(row_no, "empty_name", _("姓名/名称为空")))
            continue
        if len(name) > 200:
            errors.append(_row_error(row_no, "name_too_long", _("姓名/名称超过200个字符")))
            continue
        key = rs.name_key(name)
        if not key:
            errors.append(_row_error(row_no, "name_unreadable", _("姓名/名称不含文字")))
            continue
        birth = None
        if born:
            try:
                birth = date.fromisoformat(born) if _DATE.match(born) else None
            except ValueError:
                birth = None
            if birth is None:
                errors.append(_row_error(row_no, "bad_date", _("出生日期“%(v)s”无效，格式应为YYYY-MM-DD") % {"v": born[:20]}))
                continue
        if len(country) > 3:
            errors.append(_row_error(row_no, "bad_country", _("国家/地区应为不超过3位的代码，如CHN")))
            continue
        if len(note) > 300:
            errors.append(_row_error(row_no, "note_too_long", _("备注超过300个字符")))
            continue
        ident = (key, birth, country)
        if ident in seen:
            errors.append(_row_error(row_no, "duplicate_row", _("与第%(n)d行重复") % {"n": seen[ident]}))
            continue
        seen[ident] = row_no
        good.append({"row_no": row_no, "name": name, "name_key": key, "birth_date": birth, "country": country,
                     "note": note})
    if read == 0:
        raise ValidationFailed("watchlist_no_rows", _("文件只有表头，没有数据行"), fields={"file": [_("没有数据行")]})
    if not good:
        msg = _("文件中没有可导入的行（%(n)d行全部有误），第一处：第%(row)d行 %(m)s") % {
            "n": len(errors), "row": errors[0]["row"], "m": errors[0]["message"]}
        raise ValidationFailed("watchlist_no_valid_rows", msg, fields={"file": [msg]}, errors=errors[:50])
    return good, errors, read


def watchlist_import(*, actor: Any, name: str, kind: str, source: str = "", file_bytes: bytes) -> WatchList:
    """Import a list file as a new list (or a new version of the list with this name); screening of every customer
    against it is started after the commit."""
    access.require(actor, "risk.watchlist")
    name, source = " ".join((name or "").split()), (source or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed("watchlist_name", _("请填写名单名称（不超过100个字符）"), fields={"name": [_("必填")]})
    if kind not in WatchList.Kind.values:
        raise ValidationFailed("watchlist_kind", _("无效的名单类型"), fields={"kind": [_("无效的名单类型")]})
    if len(source) > 200:
        raise ValidationFailed("watchlist_source", _("来源不超过200个字符"), fields={"source": [_("过长")]})
    good, errors, read = parse_csv(file_bytes)
    with transaction.atomic():
        prev = WatchList.objects.select_for_update().filter(name=name).order_by("-version").first()
        wl = WatchList.objects.create(
            name=name, kind=kind, source=source, entries_count=len(good), imported_by=actor, imported_at=timezone.now(),
            version=(prev.version + 1) if prev else 1, file_sha256=hashlib.sha256(file_bytes).hexdigest(),
            rows_total=read, rejected_rows=len(errors), errors=errors[:MAX_ERRORS_KEPT])
        origins: dict[tuple, int] = {}
        if prev is not None:
            for e in prev.entries.only("id", "origin_id", "name_key", "birth_date", "country"):
                origins.setdefault((e.name_key, e.birth_date, e.country), e.identity)
        rows = []
        for g in good:
            ea, eb, ec = rs.edit_keys(g["name_key"])
            rows.append(WatchListEntry(
                watch_list=wl, name=g["name"], name_key=g["name_key"], name_pinyin=rs.pinyin_key(g["name"]),
                birth_date=g["birth_date"], country=g["country"], note=g["note"], row_no=g["row_no"],
                origin_id=origins.get((g["name_key"], g["birth_date"], g["country"])), ed_a=ea, ed_b=eb, ed_c=ec))
        WatchListEntry.objects.bulk_create(rows, batch_size=1000)
        retired = list(WatchList.objects.filter(name=name, active=True).exclude(pk=wl.pk).values_list("pk", flat=True))
        WatchList.objects.filter(pk__in=retired).update(active=False)
        audit.record(actor=actor, verb="risk.watchlist_imported", target=wl,
                     after={"kind": kind, "version": wl.version, "entries": len(good), "rejected_rows": len(errors),
                            "sha256": wl.file_sha256, "retired_versions": retired})
        list_id, actor_id = wl.pk, getattr(actor, "pk", None)
        if Customer.objects.count() <= SYNC_SCREEN_LIMIT:
            transaction.on_commit(lambda: _screen_after_import(list_id, actor))
        else:
            transaction.on_commit(lambda: screen_list_task.enqueue(list_id=list_id, actor_id=actor_id))
    return wl


def _screen_after_import(list_id: int, actor: Any) -> None:
    """The import is committed already: a failure here is logged, and the resumable run is finished by the nightly
    screening (which covers every active list) or by calling ``screen_list`` again."""
    try:
        screen_list(list_id, actor=actor)
    except Exception:
        logger.exception("screening after the import of watch list %s failed", list_id)


# ---- Screening ------------------------------------------------------------------------------------------------------
_ENTRY_FIELDS = ("id", "origin_id", "watch_list_id", "name", "name_key", "name_pinyin", "birth_date",
                 "ed_a", "ed_b", "ed_c")


def _lookup(base, field: str, values: Iterable[str], found: dict[int, dict]) -> dict[str, list[int]]:
    """Indexed IN look-ups in slices; fills ``found`` (entry id → row) and returns value → entry ids."""
    by_value: dict[str, list[int]] = defaultdict(list)
    values = sorted(v for v in set(values) if v)
    for i in range(0, len(values), IN_SLICE):
        for row in base.filter(**{f"{field}__in": values[i:i + IN_SLICE]}).values(*_ENTRY_FIELDS):
            found.setdefault(row["id"], row)
            by_value[row[field]].append(row["id"])
    return by_value


def screen_chunk(customer_ids: Iterable[int], *, list_ids: Iterable[int] | None = None, actor: Any = None,
                 day: date | None = None) -> int:
    """Screen these customers against the active lists (or the given lists); returns the number of new alerts."""
    customers = list(Customer.objects.filter(pk__in=list(customer_ids)).exclude(status=Customer.Status.CLOSED)
                     .values("id", "name", "birth_date", "branch__path"))
    if not customers:
        return 0
    lists_qs = WatchList.objects.filter(pk__in=list(list_ids)) if list_ids is not None else \
        WatchList.objects.filter(active=True)
    lists = {w.pk: w for w in lists_qs.only("id", "name", "kind", "version")}
    if not lists:
        return 0
    base = WatchListEntry.objects.filter(watch_list_id__in=list(lists))
    parties = {c["id"]: rs.prepare(c["name"], c["birth_date"]) for c in customers}
    probes = {cid: rs.probe_edit_keys(p.key) for cid, p in parties.items()}
    found: dict[int, dict] = {}
    by_key = _lookup(base, "name_key", (p.key for p in parties.values()), found)
    by_pinyin = _lookup(base, "name_pinyin", (s for p in parties.values() for s in p.spellings), found)
    by_ed = [_lookup(base, f, (k for pr in probes.values() for k in pr[i]), found)
             for i, f in enumerate(("ed_a", "ed_b", "ed_c"))]
    prepared: dict[int, rs.Party] = {}
    today = day or timezone.localdate()
    hits = []
    for c in customers:
        party, (pa, pb, pc) = parties[c["id"]], probes[c["id"]]
        candidates = set(by_key.get(party.key, ()))
        for s in party.spellings:
            candidates.update(by_pinyin.get(s, ()))
        for index, keys in zip(by_ed, (pa, pb, pc), strict=True):
            for k in keys:
                candidates.update(index.get(k, ()))
        for eid in sorted(candidates):
            e = found[eid]
            if eid not in prepared:
                prepared[eid] = rs.prepare(e["name"], e["birth_date"])
            m = rs.score(party, prepared[eid])
            if m is None:
                continue
            wl = lists[e["watch_list_id"]]
            hits.append(alerting.Hit(
                dedupe_key=f"WL:{e['origin_id'] or eid}:{c['id']}", rule_code=RULE_CODES[wl.kind], kind="watchlist",
                report_kind="suspicious", customer_id=c["id"], branch_path=c["branch__path"], business_date=today,
                figures={"list_kind": wl.kind, "list": wl.name, "list_id": wl.pk, "list_version": wl.version,
                         "entry_id": eid, "entry_name": e["name"],
                         "entry_birth_date": e["birth_date"].isoformat() if e["birth_date"] else None,
                         "match": m.how, "score": m.score, "birth_date_match": m.birth_date_match},
                due_on=None))
    with transaction.atomic():
        return len(alerting.raise_alerts(hits, source=SOURCE, actor=actor))


def screen_customers(customer_ids: Iterable[int], *, actor: Any = None) -> int:
    """Screen some customers (onboarding, profile change) against every active list, in chunks; new alerts."""
    ids = sorted(set(customer_ids))
    return sum(screen_chunk(ids[i:i + CHUNK], actor=actor) for i in range(0, len(ids), CHUNK))


def on_customers_registered(customer_ids: Iterable[int]) -> int:
    return screen_customers(customer_ids)


def on_customers_changed(customer_ids: Iterable[int]) -> int:
    return screen_customers(customer_ids)


def _customer_ids(after: int, limit: int) -> list[int]:
    return list(Customer.objects.filter(pk__gt=after).exclude(status=Customer.Status.CLOSED).order_by("pk")
                .values_list("pk", flat=True)[:limit])


def _record_run(actor: Any, run: BatchRun, started: Any, **extra: Any) -> None:
    """One audit event for a run that finished in this call (a run already done earlier is not recorded again)."""
    if run.finished_at is None or run.finished_at < started:
        return
    with transaction.atomic():
        audit.record(actor=actor, verb="risk.screening_run", target_type="risk.BatchRun", target_id=run.pk,
                     target_repr=f"{run.job} {run.business_date}",
                     after={"customers": run.items, "alerts": run.changes, **extra})


def screen_list(list_id: int, *, actor: Any = None, day: date | None = None) -> BatchRun:
    """Screen every customer against one list (after its import); resumable, commits per chunk."""
    day = day or timezone.localdate()
    started = timezone.now()
    run = batchrun.run(f"screening.list.{list_id}", day, next_ids=_customer_ids, chunk=CHUNK,
                       process=lambda ids: screen_chunk(ids, list_ids=[list_id], actor=actor, day=day))
    WatchList.objects.filter(pk=list_id, screened_at__isnull=True).update(screened_at=timezone.now())
    _record_run(actor, run, started, list_id=list_id)
    return run


def _nightly_chunk(ids: list[int], day: date) -> int:
    return screen_chunk(ids, day=day)


def screen_all(day: date, *, force: bool = False) -> BatchRun:
    """The nightly screening of every customer against every active list for ``day``: a killed run resumes after
    its last committed chunk; a finished one is not redone (``force`` re-runs it, raising nothing new)."""
    started = timezone.now()
    run = batchrun.run("screening", day, next_ids=_customer_ids, chunk=CHUNK, force=force,
                       process=lambda ids: _nightly_chunk(ids, day))
    _record_run(None, run, started, day=day.isoformat())
    return run


@task()
def screen_list_task(list_id: int, actor_id: int | None = None) -> int:
    """Background screening of one list (large banks)."""
    from bankcrm.org.models import Staff

    actor = Staff.objects.filter(pk=actor_id).first() if actor_id else None
    run_as_task(screen_list, list_id=list_id, actor=actor)
    return list_id


def _nightly() -> None:
    screen_all(timezone.localdate())


daily("risk.screening", time(1, 30), lambda: run_as_task(_nightly))


# ---- Reads ----------------------------------------------------------------------------------------------------------
def watchlists(actor: Any):
    access.require(actor, "risk.watchlist")
    return WatchList.objects.select_related("imported_by")


def watchlist_get(actor: Any, pk: int) -> WatchList:
    from bankcrm.core.errors import NotFound

    wl = watchlists(actor).filter(pk=pk).first()
    if wl is None:
        raise NotFound("watchlist_not_found", _("名单不存在"))
    return wl


def list_hits(actor: Any, wl: WatchList):
    """Alerts raised by this list version for customers the actor may see."""
    from .models import Alert

    return (Alert.objects.filter(kind="watchlist", figures__list_id=wl.pk,
                                 customer__in=Customer.objects.visible_to(actor))
            .select_related("customer").order_by("-id"))
