"""The read-replica router (bankcrm.core.dbrouter): reads go to the replica only inside an explicit block, never
inside a transaction and never after a write in the block; writes always go to default; with no replica configured
everything stays on default.

The replica here is a second connection alias to the same test database (what TEST MIRROR does), so each statement
can be attributed to the connection that ran it. The tests commit their data (transactional_db): a second connection
cannot see another connection's uncommitted rows — which is exactly why reads inside a transaction stay on default.
"""

from __future__ import annotations

import pytest
from django.db import connections, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from bankcrm.core import dbrouter
from bankcrm.core.dbrouter import reading_from_replica, replica_reads
from bankcrm.org.models import Branch, Staff

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica"])


class Recorder:
    def __init__(self) -> None:
        self.sql: dict[str, list[str]] = {"default": [], "replica": []}

    def wrapper(self, alias: str):
        def record(execute, sql, params, many, context):
            self.sql[alias].append(sql)
            return execute(sql, params, many, context)

        return record


@pytest.fixture(scope="module", autouse=True)
def replica_alias(django_db_setup):
    """A `replica` alias on the test database (as `DATABASE_REPLICA_URL` + TEST MIRROR configure it), declared before
    the tests' database access is set up, so that they may use it."""
    default = connections["default"].settings_dict
    connections.settings["replica"] = {**default, "TEST": {**default.get("TEST", {}), "MIRROR": "default"}}
    yield
    connections["replica"].close()
    del connections["replica"]
    connections.settings.pop("replica", None)


@pytest.fixture
def replica():
    """Every statement recorded with the connection that ran it."""
    rec = Recorder()
    with connections["default"].execute_wrapper(rec.wrapper("default")), \
            connections["replica"].execute_wrapper(rec.wrapper("replica")):
        yield rec


def _touches(sqls: list[str], table: str) -> int:
    return sum(1 for s in sqls if table in s)


def test_reads_go_to_the_replica_only_inside_the_block(bank, replica):
    list(Branch.objects.all())
    assert _touches(replica.sql["replica"], "org_branch") == 0
    with reading_from_replica():
        names = sorted(Branch.objects.values_list("name", flat=True))
    assert "甲分行" in names  # committed rows, read through the other connection
    assert _touches(replica.sql["replica"], "org_branch") >= 1
    before = len(replica.sql["replica"])
    list(Branch.objects.all())  # after the block: default again
    assert len(replica.sql["replica"]) == before


def test_writes_always_go_to_default_and_pin_later_reads_to_default(bank, replica):
    with reading_from_replica():
        list(Branch.objects.filter(code="101"))
        Branch.objects.filter(code="101").update(name="甲分行（改）")
        assert dbrouter.read_alias() == "default"
        fresh = Branch.objects.get(code="101").name  # read-your-writes: from default
    assert fresh == "甲分行（改）"
    assert not any(s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")) for s in replica.sql["replica"])
    assert any(s.lstrip().upper().startswith("UPDATE") and "org_branch" in s for s in replica.sql["default"])
    reads_on_replica = [s for s in replica.sql["replica"] if "org_branch" in s]
    assert len(reads_on_replica) == 1  # only the read before the write


def test_reads_inside_a_transaction_stay_on_default(bank, replica):
    with reading_from_replica(), transaction.atomic():
        Branch.objects.filter(code="102").update(name="乙分行（事务内）")
        seen = Branch.objects.get(code="102").name
        list(Staff.objects.all()[:3])
    assert seen == "乙分行（事务内）"  # the replica's connection could not have seen the uncommitted write
    assert replica.sql["replica"] == []
    with transaction.atomic(), reading_from_replica():  # a transaction opened before the block: same rule
        list(Branch.objects.all())
    assert replica.sql["replica"] == []


def test_decorator_and_raw_sql_alias(bank, replica):
    @replica_reads
    def report():
        with connections[dbrouter.read_alias()].cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM org_branch")
            return cur.fetchone()[0], dbrouter.read_alias()

    count, alias = report()
    assert alias == "replica" and count == Branch.objects.count()
    assert _touches(replica.sql["replica"], "COUNT(*) FROM org_branch") == 1
    assert dbrouter.read_alias() == "default"


def test_without_a_replica_everything_reads_from_default(bank):
    assert dbrouter.replica_configured()
    saved = connections.settings.pop("replica")  # as when DATABASE_REPLICA_URL is unset
    try:
        assert not dbrouter.replica_configured()
        with reading_from_replica():
            assert dbrouter.read_alias() == "default"
            assert Branch.objects.all().db == "default"
    finally:
        connections.settings["replica"] = saved


def test_router_never_migrates_the_replica():
    router = dbrouter.ReplicaRouter()
    assert router.allow_migrate("default", "org") is True
    assert router.allow_migrate("replica", "org") is False
    assert router.db_for_write(Branch) == "default"


@replica_reads
def branch_count_view(request):
    return HttpResponse(str(Branch.objects.count()))


urlpatterns = [path("report/", branch_count_view, name="replica_report")]


def test_a_decorated_view_reads_from_the_replica_in_a_real_request(bank, replica, settings):
    """Session, user and live-session reads of the middleware stay on default; the view's own reads use the replica;
    the view is served through the whole middleware stack."""
    from tests.conftest import login_client

    settings.ROOT_URLCONF = __name__
    client: Client = login_client(bank.supervisor_a)
    replica.sql["replica"].clear()
    r = client.get("/report/")
    assert r.status_code == 200 and int(r.content) == Branch.objects.count()
    assert [s for s in replica.sql["replica"] if "org_branch" in s]
    assert not [s for s in replica.sql["replica"] if "django_session" in s or "org_livesession" in s]
