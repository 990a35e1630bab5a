"""The audit explorer for auditors (compliance): search the audit trail, verify the chain, and export a signed,
verifiable extract.

**Search** reads ``core.AuditEvent`` with filters that each hit an index (verb; actor + time; target type + id;
time; ``seq`` for keyset pagination: "the next 50 events older than seq N" — no OFFSET, so page 1,000 costs what
page 1 costs). Request-id search is combined with the other filters (it has no index of its own: it is rare).

**Extract** (``bankcrm.audit-extract/1``): a JSON Lines file — a header line, then one line per event with every
field the chain hash covers, its ``prev_hash`` and ``hash``, and an extract link
``link_i = HMAC(audit_key, "bankcrm.audit-extract/1|" + link_{i-1} + "|" + hash_i)`` with ``link_0 = SHA-256(header
line)``. A detached signature (``.sig``, JSON: HMAC-SHA256 of the whole file with the audit key, the same key kept
outside the database that signs the chain head) covers the file as a whole. Verification (``verify_extract``, the
``verify_audit_extract`` command) recomputes each event's chain HMAC (an edited row), each link (a deleted, inserted
or reordered row), the ``prev_hash`` between consecutive sequence numbers, the count (a truncated tail) and the
signature, and names the first bad row. Event content was masked when it was recorded (``audit.snapshot``); as a
second line of defence a row whose text still looks like an unmasked identity number or mobile number is exported
with that content redacted (``redacted: true``) — its link and hash are kept, so the chain still verifies around it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, crypto
from bankcrm.core.errors import ValidationFailed
from bankcrm.core.identifiers import ric_check_char
from bankcrm.core.models import AuditEvent

from .models import AuditExtract

FORMAT = "bankcrm.audit-extract/1"
PAGE_SIZE = 50
MAX_EXTRACT = 20_000  # rows per extract: an auditor narrows the filters for more
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
CONTENT_FIELDS = ("target_repr", "before", "after", "reason")
EVENT_FIELDS = ("seq", "occurred_at", "actor_id", "actor_label", "verb", "target_type", "target_id", "target_repr",
                "before", "after", "reason", "request_id", "ip", "channel", "prev_hash", "hash")


@dataclass(frozen=True)
class Filters:
    actor_no: str = ""
    verb: str = ""
    target_type: str = ""
    target_id: str = ""
    since: date | None = None
    until: date | None = None
    request_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items() if v}


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, timezone.get_current_timezone())


def search(actor: Any, f: Filters) -> QuerySet[AuditEvent]:
    """Events matching the filters, newest first. The audit trail is bank-wide: only auditors may search it."""
    if not access.can(actor, "supervision.audit"):
        return AuditEvent.objects.none()
    qs = AuditEvent.objects.all()
    if f.actor_no:
        from bankcrm.org.models import Staff

        staff_id = Staff.objects.filter(staff_no__iexact=f.actor_no.strip()).values_list("pk", flat=True).first()
        qs = qs.filter(actor_id=staff_id) if staff_id else qs.none()
    if f.verb:
        qs = qs.filter(verb=f.verb)
    if f.target_type:
        qs = qs.filter(target_type=f.target_type.strip())
        if f.target_id:
            qs = qs.filter(target_id=f.target_id.strip())
    elif f.target_id:
        qs = qs.filter(target_id=f.target_id.strip())
    if f.since:
        qs = qs.filter(occurred_at__gte=_day_start(f.since))
    if f.until:
        qs = qs.filter(occurred_at__lt=_day_start(f.until) + timedelta(days=1))
    if f.request_id:
        qs = qs.filter(request_id=f.request_id.strip())
    return qs.order_by("-seq")


def page(actor: Any, f: Filters, *, before: int | None = None, size: int = PAGE_SIZE) -> tuple[list[AuditEvent], int | None]:
    """One keyset page: events older than ``before`` (a seq), and the cursor of the next page (None at the end)."""
    qs = search(actor, f)
    if before:
        qs = qs.filter(seq__lt=before)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    for ev in rows:
        ev.verb_label = audit.verb_label(ev.verb)
    return rows, (rows[-1].seq if more and rows else None)


def event_get(actor: Any, seq: int) -> AuditEvent:
    from bankcrm.core.errors import NotFound

    ev = search(actor, Filters()).filter(seq=seq).first()
    if ev is None:
        raise NotFound("audit_event_not_found", _("审计事件不存在或无权查看"))
    ev.verb_label = audit.verb_label(ev.verb)
    ev.hash_ok = audit.compute_hash(ev) == ev.hash
    return ev


def verify(*, actor: Any) -> dict[str, Any]:
    """Verify the whole chain (core.audit.verify_chain) and record that the auditor did."""
    access.require(actor, "supervision.audit")
    result = audit.verify_chain()
    with transaction.atomic():
        audit.record(actor=actor, verb="supervision.audit_verified", target_type="core.AuditEvent",
                     after=result.as_dict())
    return {**result.as_dict(), "at": timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")}


# ---- Unmasked personal data, as a second line of defence --------------------------------------------------------------
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9])(?:\+?86)?(1[3-9]\d{9})(?![0-9])")


def looks_unmasked(text: str) -> bool:
    """An identity number with a valid check character, or a complete mainland mobile number."""
    for m in _ID_RE.finditer(text):
        v = m.group(1).upper()
        if ric_check_char(v[:17]) == v[17] and 1900 <= int(v[6:10]) <= 2100:
            return True
    return bool(_MOBILE_RE.search(text))


def _row_text(ev: Any) -> str:
    return json.dumps([getattr(ev, f) for f in CONTENT_FIELDS], ensure_ascii=False)


# ---- The extract --------------------------------------------------------------------------------------------------------
def _link(prev: str, event_hash: str) -> str:
    return crypto.audit_mac(f"{FORMAT}|{prev}|{event_hash}".encode())


def _sign(body: bytes) -> str:
    return crypto.audit_mac(FORMAT.encode() + b"\x00" + body)


def _event_line(ev: AuditEvent, row: int, link: str) -> dict[str, Any]:
    out = {"row": row}
    for name in EVENT_FIELDS:
        value = getattr(ev, name)
        if name == "occurred_at":
            value = value.astimezone(UTC).strftime(TS_FORMAT)
        out[name] = value
    if looks_unmasked(_row_text(ev)):
        for name in CONTENT_FIELDS:
            out[name] = {} if name in ("before", "after") else ""
        out["redacted"] = True
    out["link"] = link
    return out


def build_extract(*, actor: Any, filters: Filters) -> tuple[str, bytes, AuditExtract]:
    """The signed extract of the events matching ``filters`` (oldest first) as a ZIP holding
    ``audit-extract.jsonl`` and ``audit-extract.jsonl.sig``. Audited as an export (figures only)."""
    access.require(actor, "supervision.audit_export")
    qs = search(actor, filters).order_by("seq")
    count = qs.count()
    if count == 0:
        raise ValidationFailed("extract_empty", _("没有符合条件的审计事件"))
    if count > MAX_EXTRACT:
        raise ValidationFailed("extract_too_large", _("符合条件的事件超过 %(n)d 条，请缩小查询范围") % {"n": MAX_EXTRACT})
    now = timezone.now()
    header = {"format": FORMAT, "generated_at": now.astimezone(UTC).strftime(TS_FORMAT),
              "generated_by": getattr(actor, "staff_no", ""), "filters": filters.as_dict(), "count": count}
    header_line = json.dumps(header, ensure_ascii=False, sort_keys=True)
    lines = [header_line]
    link = hashlib.sha256(header_line.encode()).hexdigest()
    first = last = None
    redacted = 0
    for i, ev in enumerate(qs.iterator(chunk_size=2000), start=1):
        link = _link(link, ev.hash)
        line = _event_line(ev, i, link)
        redacted += bool(line.get("redacted"))
        lines.append(json.dumps(line, ensure_ascii=False, sort_keys=True))
        first = first if first is not None else ev.seq
        last = ev.seq
    body = ("\n".join(lines) + "\n").encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    signature = _sign(body)
    sig = json.dumps({"format": FORMAT, "algorithm": "HMAC-SHA256", "key": "audit", "sha256": digest,
                      "signature": signature}, indent=2).encode()
    name = f"audit-extract-{timezone.localtime(now):%Y%m%d-%H%M%S}"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("audit-extract.jsonl", body)
        zf.writestr("audit-extract.jsonl.sig", sig)
    with transaction.atomic():
        rec = AuditExtract.objects.create(created_by=actor, created_at=now, filters=filters.as_dict(), count=count,
                                          first_seq=first, last_seq=last, sha256=digest, signature=signature)
        audit.record(actor=actor, verb="supervision.audit_extracted", target=rec,
                     after={"count": count, "first_seq": first, "last_seq": last, "sha256": digest,
                            "redacted_rows": redacted, "filters": filters.as_dict()})
    return f"{name}.zip", buf.getvalue(), rec


# ---- Verification -------------------------------------------------------------------------------------------------------
@dataclass
class ExtractCheck:
    ok: bool
    rows: int = 0
    first_bad_row: int | None = None
    first_bad_seq: int | None = None
    problem: str = ""
    redacted_rows: list[int] = field(default_factory=list)
    signature_ok: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_extract(path_or_bytes: Any) -> tuple[bytes, dict[str, Any] | None]:
    """The extract body and its signature, from the ZIP, or from a .jsonl file with its .sig beside it."""
    from pathlib import Path

    if isinstance(path_or_bytes, (bytes, bytearray)):
        data, path = bytes(path_or_bytes), None
    else:
        path = Path(path_or_bytes)
        data = path.read_bytes()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            body = zf.read("audit-extract.jsonl")
            sig = json.loads(zf.read("audit-extract.jsonl.sig")) if "audit-extract.jsonl.sig" in names else None
        return body, sig
    sig_path = path.with_name(path.name + ".sig") if path else None
    sig = json.loads(sig_path.read_text()) if sig_path and sig_path.exists() else None
    return data, sig


def _as_event(row: dict[str, Any]) -> Any:
    values = {name: row.get(name) for name in EVENT_FIELDS}
    values["occurred_at"] = datetime.strptime(row["occurred_at"], TS_FORMAT).replace(tzinfo=UTC)
    return SimpleNamespace(**values)


def verify_extract(body: bytes, sig: dict[str, Any] | None) -> ExtractCheck:
    """Check an extract and name the first bad row (1-based event rows; row 0 is the header)."""
    res = ExtractCheck(ok=False)
    expected_sig = _sign(body)
    res.signature_ok = bool(sig) and hmac.compare_digest(str(sig.get("signature", "")), expected_sig)
    lines = body.decode("utf-8").splitlines()
    try:
        header = json.loads(lines[0])
    except (IndexError, ValueError):
        res.first_bad_row, res.problem = 0, "header missing or not JSON"
        return res
    if header.get("format") != FORMAT:
        res.first_bad_row, res.problem = 0, "unknown extract format"
        return res
    link = hashlib.sha256(lines[0].encode()).hexdigest()
    prev: dict[str, Any] | None = None
    for i, line in enumerate(lines[1:], start=1):
        res.rows = i
        try:
            row = json.loads(line)
        except ValueError:
            res.first_bad_row, res.problem = i, "row is not JSON"
            return res
        seq = row.get("seq")
        link = _link(link, str(row.get("hash", "")))
        if row.get("row") != i or not hmac.compare_digest(str(row.get("link", "")), link):
            res.first_bad_row, res.first_bad_seq = i, seq
            res.problem = "extract link broken (a row was deleted, inserted or reordered before this one)"
            return res
        if row.get("redacted"):
            res.redacted_rows.append(i)
        else:
            try:
                recomputed = audit.compute_hash(_as_event(row))
            except (KeyError, ValueError, TypeError):
                recomputed = ""
            if not hmac.compare_digest(recomputed, str(row.get("hash", ""))):
                res.first_bad_row, res.first_bad_seq = i, seq
                res.problem = "event content does not match its chain hash (edited)"
                return res
        if prev is not None:
            if not isinstance(seq, int) or seq <= prev["seq"]:
                res.first_bad_row, res.first_bad_seq, res.problem = i, seq, "sequence numbers out of order"
                return res
            if seq == prev["seq"] + 1 and row.get("prev_hash") != prev.get("hash"):
                res.first_bad_row, res.first_bad_seq, res.problem = i, seq, "prev_hash does not match the previous event"
                return res
        prev = row
    if res.rows != header.get("count"):
        res.first_bad_row = res.rows + 1
        res.problem = f"extract declares {header.get('count')} events but holds {res.rows} (truncated)"
        return res
    if not res.signature_ok:
        res.problem = "signature missing or does not match the file"
        return res
    res.ok = True
    return res
