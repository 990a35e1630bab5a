"""R9 — encryption at rest and key rotation, for the encrypted fields that exist (org.Staff.mobile, org.Staff.email).

Pass bar: plaintext hits = 0, rows on the old key after rotation = 0, decrypt failures = 0. Rotation runs against a
copy of the test key file (never var/keys.json, never the session's own file).
"""

from __future__ import annotations

import io
import itertools
import json
import shutil
import subprocess

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection

from bankcrm.core import crypto, rotation
from bankcrm.org import services
from bankcrm.org.models import Staff
from tests.conftest import PASSWORD, write_figures

pytestmark = pytest.mark.django_db

SENTINEL_MOBILE = "13912345678"
SENTINEL_EMAIL = "sentinel.zhang@example.cn"
PLAINTEXTS = [SENTINEL_MOBILE, SENTINEL_EMAIL, SENTINEL_EMAIL.upper(), "sentinel.zhang"]


@pytest.fixture
def keys_copy(settings, tmp_path):
    """Point the key file at a copy for the test (rotation writes to it); restore and reload afterwards."""
    original = settings.BANKCRM_KEYS_FILE
    crypto.keyring()  # make sure the session's file exists
    copy = tmp_path / "keys.json"
    shutil.copy(original, copy)
    settings.BANKCRM_KEYS_FILE = copy
    crypto.reload_keys()
    yield copy
    settings.BANKCRM_KEYS_FILE = original
    crypto.reload_keys()
    assert json.loads(original.read_text())["active"] == "k1", "the session's key file was not touched"


@pytest.fixture
def sentinel(bank):
    return services.staff_create(actor=bank.admin, staff_no="PD001", name="张哨兵", branch_id=bank.a1.pk, employment_type="employee",
                                 roles=["customer_manager"], password=PASSWORD, mobile=SENTINEL_MOBILE, email=SENTINEL_EMAIL)


def plaintext_hits(needles: list[str]) -> list[tuple[str, str]]:
    """Every text cell of every table (raw SQL, not the ORM) that contains one of the needles."""
    hits = []
    tables = connection.introspection.table_names()
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cur.fetchall():
                for cell in row:
                    text = cell if isinstance(cell, str) else json.dumps(cell, ensure_ascii=False) if isinstance(cell, (dict, list)) else ""
                    for needle in needles:
                        if needle in text:
                            hits.append((table, needle))
    return hits


def test_no_plaintext_in_any_table(sentinel):
    with connection.cursor() as cur:
        cur.execute("SELECT mobile, email, mobile_bidx FROM org_staff WHERE staff_no = %s", ["PD001"])
        mobile, email, bidx = cur.fetchone()
    assert mobile.startswith("v1:k1:") and email.startswith("v1:k1:")
    assert len(bidx) == 64 and SENTINEL_MOBILE not in bidx
    hits = plaintext_hits(PLAINTEXTS)
    write_figures("R9", not hits, plaintext_hits=len(hits), tables_scanned=len(connection.introspection.table_names()))
    assert hits == []
    s = Staff.objects.get(staff_no="PD001")
    assert (s.mobile, s.email) == ("+86" + SENTINEL_MOBILE, SENTINEL_EMAIL)


def test_plaintext_detector_catches_an_unencrypted_field(bank, monkeypatch):
    """Broken variant: a field that 'encrypts' by prefixing the plaintext."""
    monkeypatch.setattr(crypto, "encrypt", lambda plaintext, label: f"v1:k1:{plaintext}")
    services.staff_create(actor=bank.admin, staff_no="PD002", name="张泄露", branch_id=bank.a1.pk, employment_type="employee",
                          roles=["customer_manager"], password=PASSWORD, mobile=SENTINEL_MOBILE, email=SENTINEL_EMAIL)
    assert ("org_staff", SENTINEL_MOBILE) in plaintext_hits(PLAINTEXTS)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_no_plaintext_in_pg_dump(bank):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL")
    services.staff_create(actor=bank.admin, staff_no="PD001", name="张哨兵", branch_id=bank.a1.pk, employment_type="employee",
                          roles=["customer_manager"], password=PASSWORD, mobile=SENTINEL_MOBILE, email=SENTINEL_EMAIL)
    s = connection.settings_dict
    cmd = ["pg_dump", "--data-only", "-h", s.get("HOST") or "127.0.0.1", "-p", str(s.get("PORT") or 5432),
           "-U", s.get("USER") or "postgres", s["NAME"]]
    try:
        dump = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"pg_dump not usable here: {exc}")
    assert "PD001" in dump  # the dump does hold the row
    hits = [n for n in PLAINTEXTS if n in dump]
    write_figures("R9", not hits, pg_dump_plaintext_hits=len(hits))
    assert hits == []


# ---- Blind index -------------------------------------------------------------------------------------------------
MOBILES = ["13800138000", "13912345678", "13700001111", "13912345678", "15000000000", "13800138000", "18612340000"]


def index_mismatches(query_values: list[str]) -> int:
    """Compare the blind-index lookup with a plaintext oracle (decrypt everything, compare in Python)."""
    from bankcrm.core.identifiers import normalise_mobile

    everyone = list(Staff.objects.all())
    bad = 0
    for raw in query_values:
        wanted = normalise_mobile(raw)
        by_index = set(Staff.objects.filter(mobile_bidx=crypto.blind_index(wanted, "staff.mobile")).values_list("pk", flat=True))
        oracle = {s.pk for s in everyone if s.mobile == wanted}
        bad += int(by_index != oracle)
    return bad


def test_blind_index_lookup_equals_plaintext_oracle(bank):
    for i, m in enumerate(MOBILES):
        services.staff_create(actor=bank.admin, staff_no=f"BI{i:03d}", name="李索引", branch_id=bank.a1.pk,
                              employment_type="employee", roles=["customer_manager"], password=PASSWORD, mobile=m)
    queries = [*MOBILES, "+86 139 1234 5678", "138-0013-8000", "13000000000"]
    bad = index_mismatches(queries)
    write_figures("R9", bad == 0, blind_index_mismatches=bad, blind_index_queries=len(queries))
    assert bad == 0
    # the index is keyed: the same number under another purpose gives another digest
    assert crypto.blind_index("+8613800138000", "staff.mobile") != crypto.blind_index("+8613800138000", "customer.mobile")
    # and updates keep it in step
    s = Staff.objects.get(staff_no="BI000")
    services.staff_update(actor=bank.admin, staff_id=s.pk, name=s.name, branch_id=s.branch_id, employment_type="employee",
                          mobile="13311112222")
    assert index_mismatches(["13800138000", "13311112222"]) == 0


def test_blind_index_detector_catches_a_stale_index(bank):
    """Broken variant: an update that skips the index (a queryset update of the ciphertext only)."""
    s = services.staff_create(actor=bank.admin, staff_no="BI900", name="李过期", branch_id=bank.a1.pk, employment_type="employee",
                              roles=["customer_manager"], password=PASSWORD, mobile="13800001234")
    Staff.objects.filter(pk=s.pk).update(mobile="+8613311113333")  # the field encrypts; the index is not recomputed
    assert index_mismatches(["13311113333"]) == 1


# ---- Decryption failures -----------------------------------------------------------------------------------------
def test_decrypt_with_wrong_key_or_label_or_tampered_ciphertext_raises(sentinel, settings, tmp_path):
    token = crypto.encrypt("+8613912345678", "org.Staff.mobile")
    assert crypto.decrypt(token, "org.Staff.mobile") == "+8613912345678"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, "org.Staff.email")  # the label is bound as associated data
    prefix, kid, body = token.split(":", 2)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{prefix}:{kid}:{flipped}", "org.Staff.mobile")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(f"{prefix}:k9:{body}", "org.Staff.mobile")  # unknown key id
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("not-a-token", "org.Staff.mobile")
    # a key file whose k1 is another key: reading the row raises, it never returns ciphertext or garbage
    wrong = tmp_path / "wrong-keys.json"
    crypto.write_keys_file(wrong, crypto.new_key_material())
    original = settings.BANKCRM_KEYS_FILE
    settings.BANKCRM_KEYS_FILE = wrong
    crypto.reload_keys()
    try:
        with pytest.raises(crypto.DecryptionError):
            Staff.objects.get(pk=sentinel.pk)
    finally:
        settings.BANKCRM_KEYS_FILE = original
        crypto.reload_keys()
    assert Staff.objects.get(pk=sentinel.pk).mobile == "+86" + SENTINEL_MOBILE


# ---- Rotation ----------------------------------------------------------------------------------------------------
def decrypt_failures_and_values() -> tuple[int, dict[int, tuple[str, str]]]:
    failures, values = 0, {}
    for pk in Staff.objects.values_list("pk", flat=True):
        try:
            s = Staff.objects.get(pk=pk)
            values[pk] = (s.mobile, s.email)
        except crypto.DecryptionError:
            failures += 1
    return failures, values


def encrypted_values_count() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM org_staff WHERE mobile <> ''")
        n = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM org_staff WHERE email <> ''")
        return n + cur.fetchone()[0]


def test_encrypted_columns_are_the_declared_ones():
    labels = {label for *_x, label in rotation.encrypted_columns()}
    assert {"org.Staff.mobile", "org.Staff.email"} <= labels
    from bankcrm.core import pii

    assert all(pii.field_info(label) is not None for label in labels)
    assert apps.get_model("org", "Staff")._meta.get_field("mobile").label == "org.Staff.mobile"


def test_rotation_new_key_then_rotate_leaves_nothing_on_the_old_key(bank, sentinel, keys_copy):
    _, before = decrypt_failures_and_values()
    on_k1 = rotation.rows_on_key("k1")
    assert on_k1 == encrypted_values_count() > 0
    call_command("rotate_keys", "--new-key", stdout=io.StringIO())
    assert crypto.keyring().active == "k2"
    call_command("rotate_keys", stdout=io.StringIO())  # a rerun finds nothing left to do
    failures, after = decrypt_failures_and_values()
    left = rotation.rows_on_key("k1")
    write_figures("R9", left == 0 and failures == 0 and after == before, rows_on_old_key=left, decrypt_failures=failures,
                  rotated_values=on_k1)
    assert left == 0 and rotation.rows_on_key("k2") == on_k1
    assert failures == 0 and after == before
    hits = plaintext_hits(PLAINTEXTS)
    assert hits == []
    from bankcrm.core import audit

    assert audit.verify_chain().ok


def test_rotation_is_resumable_after_interruptions(bank, sentinel, keys_copy, monkeypatch):
    _, before = decrypt_failures_and_values()
    total = rotation.rows_on_key("k1")

    real_encrypt = crypto.encrypt
    budget = {"left": 0}

    class Killed(Exception):
        pass

    def dying_encrypt(plaintext, label):
        if budget["left"] <= 0:
            raise Killed
        budget["left"] -= 1
        return real_encrypt(plaintext, label)

    interruptions = 0
    progress = [total]
    for kill in range(5):  # killed five times, a few rows into each run; the first run also adds the key
        budget["left"] = 3
        monkeypatch.setattr(crypto, "encrypt", dying_encrypt)
        with pytest.raises(Killed):
            call_command("rotate_keys", *(["--new-key"] if kill == 0 else []), "--chunk", "1", stdout=io.StringIO())
        monkeypatch.setattr(crypto, "encrypt", real_encrypt)
        interruptions += 1
        assert crypto.keyring().active == "k2"
        progress.append(rotation.rows_on_key("k1"))
        with pytest.raises(CommandError, match="still use k1"):
            call_command("rotate_keys", "--retire", "k1", stdout=io.StringIO())
        failures, now = decrypt_failures_and_values()
        assert failures == 0 and now == before  # half-rotated data reads back whole
    assert all(a > b for a, b in itertools.pairwise(progress)), progress  # each run made progress
    call_command("rotate_keys", "--chunk", "1", stdout=io.StringIO())
    left = rotation.rows_on_key("k1")
    failures, after = decrypt_failures_and_values()
    write_figures("R9", left == 0 and failures == 0, rotation_interruptions_resumed=interruptions,
                  rows_on_old_key_after_resume=left)
    assert left == 0 and failures == 0 and after == before
    call_command("rotate_keys", "--retire", "k1", stdout=io.StringIO())
    assert "k1" not in json.loads(keys_copy.read_text())["field_keys"]
    crypto.reload_keys()
    assert decrypt_failures_and_values() == (0, before)
    with pytest.raises(CommandError, match="active"):
        call_command("rotate_keys", "--retire", "k2", stdout=io.StringIO())


def test_rotation_detector_catches_an_incomplete_rotation(bank, sentinel, keys_copy):
    """Broken variant: a rotation that handles only the first encrypted field leaves rows on the old key."""
    call_command("rotate_keys", "--new-key", stdout=io.StringIO())
    assert rotation.rows_on_key("k1") == 0
    data = json.loads(keys_copy.read_text())
    data["field_keys"]["k3"] = crypto.new_key_material()["field_keys"]["k1"]
    data["active"] = "k3"
    crypto.write_keys_file(keys_copy, data)

    class FirstFieldOnly(Exception):
        pass

    def stop(label, n):
        raise FirstFieldOnly

    with pytest.raises(FirstFieldOnly):
        rotation.rotate_all(progress=stop)
    assert rotation.rows_on_key("k2") > 0  # the detector used above (rows on the old key) sees it
