"""Audit explorer (issue #10): search and its scoping, keyset pages, chain verification, signed extract round trip,
tampered extracts naming the first bad row, and no unmasked personal data in an extract."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bankcrm.core import audit, context
from bankcrm.core.models import AuditEvent
from bankcrm.supervision import audit_explorer as ax
from bankcrm.supervision.models import AuditExtract
from tests.conftest import login_client
from tests.helpers import audit_seq, verbs_since

pytestmark = pytest.mark.django_db


def record(actor, verb="supervision.leave_recorded", target_id=1, request_id=""):
    with context.use(context.RequestContext(request_id=request_id or "r" * 8, channel="html")), transaction.atomic():
        return audit.record(actor=actor, verb=verb, target_type="test.Thing", target_id=target_id,
                            after={"n": target_id})


def unzip(data: bytes) -> tuple[bytes, dict]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("audit-extract.jsonl"), json.loads(zf.read("audit-extract.jsonl.sig"))


def test_search_filters_and_keyset_pages(bank):
    for i in range(7):
        record(bank.compliance, target_id=i + 1, request_id=f"req{i:05d}")
    record(bank.supervisor_a, verb="supervision.rotation_recorded", target_id=99)
    f = ax.Filters
    assert ax.search(bank.compliance, f(actor_no="co001")).count() == 7
    assert ax.search(bank.compliance, f(verb="supervision.rotation_recorded")).get().target_id == "99"
    assert ax.search(bank.compliance, f(target_type="test.Thing", target_id="3")).count() == 1
    assert ax.search(bank.compliance, f(request_id="req00004")).get().target_id == "5"
    today = timezone.localdate()
    assert ax.search(bank.compliance, f(since=today, until=today, actor_no="SV101")).count() == 1
    assert ax.search(bank.compliance, f(until=today - timedelta(days=1), actor_no="CO001")).count() == 0
    assert ax.search(bank.compliance, f(actor_no="NOBODY")).count() == 0
    # scoping: the audit trail is for auditors only
    assert ax.search(bank.supervisor_a, f()).count() == 0 and ax.search(bank.admin, f()).count() == 0
    # keyset pages: 3 + 3 + 1, no overlap, newest first
    rows, cursor = ax.page(bank.compliance, f(actor_no="CO001"), size=3)
    seen = [r.seq for r in rows]
    while cursor:
        rows, cursor = ax.page(bank.compliance, f(actor_no="CO001"), before=cursor, size=3)
        seen += [r.seq for r in rows]
    assert len(seen) == 7 == len(set(seen)) and seen == sorted(seen, reverse=True)


def test_pages_verify_and_denials(bank):
    ev = record(bank.compliance)
    co = login_client(bank.compliance)
    r = co.get(reverse("supervision:audit"), {"actor": "CO001"})
    assert r.status_code == 200 and f'href="{reverse("supervision:audit_event", args=[ev.seq])}"' in r.content.decode()
    r = co.get(reverse("supervision:audit"), {"since": "2025-02-01", "until": "2025-01-01"})
    assert 'data-testid="field-error-until"' in r.content.decode()
    d = co.get(reverse("supervision:audit_event", args=[ev.seq]))
    assert d.status_code == 200 and "本条记录的签名与内容一致" in d.content.decode()
    assert co.get(reverse("supervision:audit_event", args=[10**9])).status_code == 404
    seq = audit_seq()
    r = co.post(reverse("supervision:audit_verify"), follow=True)
    assert 'data-testid="verify-result"' in r.content.decode() and "审计链完整" in r.content.decode()
    assert verbs_since(seq) == ["supervision.audit_verified"]
    seq = audit_seq()
    for who in (bank.supervisor_a, bank.cm_a1, bank.admin):
        c = login_client(who)
        assert c.get(reverse("supervision:audit")).status_code == 403
        assert c.post(reverse("supervision:audit_extract"), {}).status_code == 403
        assert c.post(reverse("supervision:audit_verify")).status_code == 403
    assert verbs_since(seq) == [] and not AuditExtract.objects.exists()


def test_verify_shows_the_first_broken_link(bank, monkeypatch):
    record(bank.compliance)
    monkeypatch.setattr(audit, "verify_chain", lambda: audit.VerifyResult(False, 4, 5, "hash does not match content", 9))
    r = login_client(bank.compliance).post(reverse("supervision:audit_verify"), follow=True)
    html = r.content.decode()
    assert "审计链被破坏" in html and "第一个异常记录序号 5" in html


def test_extract_round_trip_and_tampering(bank, tmp_path):
    for i in range(5):
        record(bank.compliance, target_id=i + 1)
    co = login_client(bank.compliance)
    seq = audit_seq()
    r = co.post(reverse("supervision:audit_extract"), {"actor": "CO001", "verb": "supervision.leave_recorded"})
    assert r.status_code == 200 and r["Content-Type"] == "application/zip" and r["Cache-Control"] == "no-store"
    assert verbs_since(seq) == ["supervision.audit_extracted"]
    x = AuditExtract.objects.get()
    assert x.count == 5 and x.created_by_id == bank.compliance.pk
    body, sig = unzip(r.content)
    ok = ax.verify_extract(body, sig)
    assert ok.ok and ok.rows == 5 and ok.signature_ok, ok
    # the command on the ZIP and on the .jsonl with its .sig beside it
    zpath = tmp_path / "x.zip"
    zpath.write_bytes(r.content)
    call_command("verify_audit_extract", str(zpath))
    (tmp_path / "audit-extract.jsonl").write_bytes(body)
    (tmp_path / "audit-extract.jsonl.sig").write_text(json.dumps(sig))
    call_command("verify_audit_extract", str(tmp_path / "audit-extract.jsonl"))

    lines = body.decode().splitlines()

    def check(new_lines, sig=sig):
        return ax.verify_extract(("\n".join(new_lines) + "\n").encode(), sig)

    # edited content of row 3
    row = json.loads(lines[3])
    row["after"] = {"n": 1000}
    edited = lines[:3] + [json.dumps(row, ensure_ascii=False, sort_keys=True)] + lines[4:]
    res = check(edited)
    assert not res.ok and res.first_bad_row == 3 and "edited" in res.problem
    # a deleted row 2: the row that follows is named
    res = check(lines[:2] + lines[3:])
    assert not res.ok and res.first_bad_row == 2 and "link" in res.problem
    # reordered rows 4 and 5
    res = check(lines[:4] + [lines[5], lines[4]])
    assert not res.ok and res.first_bad_row == 4
    # a forged hash with matching content cannot be produced without the key; a recomputed sha256 link neither
    row = json.loads(lines[2])
    row["hash"] = "0" * 64
    res = check(lines[:2] + [json.dumps(row, sort_keys=True)] + lines[3:])
    assert not res.ok and res.first_bad_row == 2
    # truncated tail
    res = check(lines[:-1])
    assert not res.ok and res.first_bad_row == 5 and "truncated" in res.problem
    # a changed header (filters) breaks row 1's link
    head = json.loads(lines[0])
    head["filters"] = {}
    res = check([json.dumps(head, sort_keys=True)] + lines[1:])
    assert not res.ok and res.first_bad_row == 1
    # rows intact but the signature is missing or wrong
    assert not check(lines, sig=None).ok
    assert not check(lines, sig={**sig, "signature": "f" * 64}).ok
    # the command exits 1 naming the row
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(edited) + "\n")
    (tmp_path / "bad.jsonl.sig").write_text(json.dumps(sig))
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_audit_extract", str(bad), stderr=err)
    assert exc.value.code == 1 and "row 3" in err.getvalue()


def test_extract_has_no_unmasked_personal_data(bank):
    from tests.ledger_helpers import build_ledger, ric

    led = build_ledger(bank)
    from bankcrm.customers import services as cs

    cs.customer_update(actor=bank.cm_a1, customer_id=led.zhang.pk, reason="更新", mobile="13912345678",
                       name="张三丰")
    # a badly behaved writer: an event whose reason holds a full identity number and mobile
    leaked_id = ric("19480315", "031")
    with transaction.atomic():
        audit.record(actor=bank.cm_a1, verb="supervision.leave_recorded", target_type="x", target_id=1,
                     reason=f"客户身份证 {leaked_id} 手机 13812345678")
    _name, data, _rec = ax.build_extract(actor=bank.compliance, filters=ax.Filters())
    body, sig = unzip(data)
    text = body.decode()
    for sentinel in ("张三丰", "李小龙", leaked_id, "13812345678", "13912345678"):
        assert sentinel not in text, sentinel
    res = ax.verify_extract(body, sig)
    assert res.ok and len(res.redacted_rows) == 1
    assert AuditEvent.objects.filter(verb="supervision.audit_extracted").exists()


def test_extract_refuses_empty_and_needs_export_capability(bank):
    from bankcrm.core.errors import PermissionDenied, ValidationFailed

    with pytest.raises(ValidationFailed):
        ax.build_extract(actor=bank.compliance, filters=ax.Filters(actor_no="NOBODY"))
    with pytest.raises(PermissionDenied):
        ax.build_extract(actor=bank.risk, filters=ax.Filters())


@pytest.mark.parametrize("text,hit", [
    ("11010519491231002X", True), ("110105********002X", False), ("138****5678", False), ("13812345678", True),
    ("+8613812345678", True), ("202501010000000042", False), ("abc", False)])
def test_unmasked_detector(text, hit):
    assert ax.looks_unmasked(text) is hit


def test_audit_api(bank):
    for i in range(3):
        record(bank.compliance, target_id=i + 1)
    co = login_client(bank.compliance)
    r = co.get("/api/v1/supervision/audit/events/", {"actor": "CO001", "size": 2})
    assert r.status_code == 200 and len(r.json()["results"]) == 2 and r.json()["next_before"]
    r2 = co.get("/api/v1/supervision/audit/events/", {"actor": "CO001", "size": 2, "before": r.json()["next_before"]})
    assert len(r2.json()["results"]) == 1 and r2.json()["next_before"] is None
    assert co.get("/api/v1/supervision/audit/events/", {"verb": "nope"}).status_code == 400
    seq = r.json()["results"][0]["seq"]
    assert co.get(f"/api/v1/supervision/audit/events/{seq}/").json()["seq"] == seq
    assert co.post("/api/v1/supervision/audit/verify/").json()["ok"] is True
    r = co.post("/api/v1/supervision/audit/extract/", {"actor": "CO001"}, content_type="application/json")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    body, sig = unzip(r.content)
    assert ax.verify_extract(body, sig).ok
    assert login_client(bank.supervisor_a).get("/api/v1/supervision/audit/events/").status_code == 403
