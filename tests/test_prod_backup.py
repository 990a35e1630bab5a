"""scripts/backup.sh and scripts/restore.sh (docs/operations.md "Backup and restore"): a round trip into a new
database that verifies the audit chain with the backed-up keys and heads; and each way the drill must refuse:
an existing target, a damaged backup, the wrong keys, keys stored beside the dump. The same scripts run under load
in the R16 test (tests/test_r16_backup_restore.py)."""

from __future__ import annotations

import json
import stat
import subprocess
import uuid

import pytest
from django.conf import settings
from django.db import connection

from bankcrm.core import audit, crypto
from bankcrm.core.identifiers import ric_check_char
from bankcrm.core.models import AuditEvent
from bankcrm.customers import services as customers
from bankcrm.customers.models import Customer
from tests import backup_tools

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pg(tmp_path, settings):
    if connection.vendor != "postgresql":
        pytest.skip("backup and restore are pg_dump / pg_restore: PostgreSQL only (SQLite is for the demo)")
    missing = backup_tools.missing_tools()
    if missing:
        pytest.skip(f"client tools not on PATH: {', '.join(missing)}")
    settings.BANKCRM_AUDIT_HEAD_DIR = tmp_path / "audit-heads"
    created: list[str] = []
    url = backup_tools.pg_url(connection.settings_dict)

    def target() -> tuple[str, str]:
        name = f"{connection.settings_dict['NAME']}_r{uuid.uuid4().hex[:8]}"[:63]
        created.append(name)
        return name, backup_tools.pg_url(connection.settings_dict, name)

    yield url, target
    for name in created:
        backup_tools.drop(url, name)


@pytest.fixture
def data(bank):
    body = "110105" + "19900101" + "234"
    customers.customer_register(actor=bank.cm_a1, kind="person", name="上官飞燕", id_type="resident_id",
                                id_number=body + ric_check_char(body), mobile="13611112222")
    return audit.export_head()


def _psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-XAtc", sql], capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def test_round_trip_restores_and_verifies(pg, data, tmp_path):
    url, target = pg
    done, folder = backup_tools.backup(url, settings.BANKCRM_KEYS_FILE, settings.BANKCRM_AUDIT_HEAD_DIR,
                                       tmp_path / "backups", tmp_path / "keys")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["MANIFEST.sha256", "audit-heads", "bankcrm.dump"]
    assert [json.loads(p.read_text())["seq"] for p in (folder / "audit-heads").glob("*.json")] == [data["seq"]]
    keys = tmp_path / "keys" / "drill" / "keys.json"
    assert keys.read_bytes() == settings.BANKCRM_KEYS_FILE.read_bytes()
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert not list(folder.rglob("keys*")), "the keys must not travel with the dump"

    _name, target_url = target()
    done = backup_tools.restore(folder, keys, target_url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "audit chain intact" in done.stdout and "restore: ok" in done.stderr
    for table in ("customers_customer", "core_auditevent", "org_staff", "core_accessevent"):
        assert _psql(target_url, f"SELECT count(*) FROM {table}") == _psql(url, f"SELECT count(*) FROM {table}"), table
    assert int(_psql(target_url, "SELECT max(seq) FROM core_auditevent")) == AuditEvent.objects.order_by("-seq").first().seq
    encrypted = _psql(target_url, "SELECT id_number FROM customers_customer LIMIT 1")
    assert encrypted != Customer.objects.first().id_number and crypto.decrypt(encrypted, "customers.Customer.id_number")


def test_restore_refuses_an_existing_database(pg, data, tmp_path):
    url, _target = pg
    done, folder = backup_tools.backup(url, settings.BANKCRM_KEYS_FILE, settings.BANKCRM_AUDIT_HEAD_DIR,
                                       tmp_path / "b", tmp_path / "k")
    assert done.returncode == 0, done.stderr
    done = backup_tools.restore(folder, tmp_path / "k" / "drill" / "keys.json", url)  # the live test database
    assert done.returncode != 0 and "already exists" in done.stderr


def test_restore_refuses_a_damaged_backup(pg, data, tmp_path):
    url, target = pg
    done, folder = backup_tools.backup(url, settings.BANKCRM_KEYS_FILE, settings.BANKCRM_AUDIT_HEAD_DIR,
                                       tmp_path / "b", tmp_path / "k")
    assert done.returncode == 0, done.stderr
    with (folder / "bankcrm.dump").open("r+b") as fh:
        fh.seek(2000)
        fh.write(b"\x00\xff\x00\xff")
    name, target_url = target()
    done = backup_tools.restore(folder, tmp_path / "k" / "drill" / "keys.json", target_url)
    assert done.returncode != 0 and "MANIFEST" in done.stderr
    assert _psql(url, f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "0"


def test_restore_with_the_wrong_keys_fails_verification(pg, data, tmp_path):
    url, target = pg
    done, folder = backup_tools.backup(url, settings.BANKCRM_KEYS_FILE, settings.BANKCRM_AUDIT_HEAD_DIR,
                                       tmp_path / "b", tmp_path / "k")
    assert done.returncode == 0, done.stderr
    other = tmp_path / "other" / "keys.json"
    other.parent.mkdir()
    crypto.write_keys_file(other, crypto.new_key_material())
    _name, target_url = target()
    done = backup_tools.restore(folder, other, target_url)
    assert done.returncode != 0 and "FAILED" in done.stderr


def test_backup_refuses_keys_beside_the_dump(pg, data, tmp_path):
    url, _target = pg
    done, _folder = backup_tools.backup(url, settings.BANKCRM_KEYS_FILE, settings.BANKCRM_AUDIT_HEAD_DIR,
                                        tmp_path / "b", tmp_path / "b" / "keys")
    assert done.returncode != 0 and "must not be inside" in done.stderr
