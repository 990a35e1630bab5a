"""Shared fixtures: a small bank built through the services, logged-in clients, and figure files (QUALITY.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, models
from django.test import Client
from django.utils import timezone

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's live_server fixtures use the ORM

PASSWORD = "Test-Passw0rd!x"
FIGURES_DIR = Path(settings.BASE_DIR) / "var" / "figures"


def db_name() -> str:
    return "postgresql" if connection.vendor == "postgresql" else "sqlite"


def _run_id() -> str:
    """One id per test run, shared by the xdist workers of that run (a run without xdist: the process)."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or str(os.getpid())


def write_figures(test: str, passed: bool, **figures) -> Path:
    """Write var/figures/<R#>-<database>.json so runs can be compared (QUALITY.md). Several tests (in several xdist
    workers) may add to one file: the update is read-merge-write under an exclusive lock, and a run's file passes
    only if every part of it passed."""
    import fcntl

    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    path = FIGURES_DIR / f"{test}-{db_name()}.json"
    with open(FIGURES_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        existing = json.loads(path.read_text()) if path.exists() else {}
        same_run = existing.get("_run") == _run_id()
        merged = {**existing.get("figures", {}), **figures} if same_run else dict(figures)
        ok = passed and existing.get("passed", True) if same_run else passed
        path.write_text(json.dumps({"test": test, "database": db_name(), "passed": ok, "figures": merged,
                                    "_run": _run_id()}, ensure_ascii=False, indent=2))
    return path


@dataclass
class Bank:
    """A small bank: head office 001; branches A (101) and B (102); sub-branches A1 (10101) and B1 (10201)."""

    head: object
    a: object
    b: object
    a1: object
    b1: object
    admin: object
    admin2: object
    compliance: object       # head office
    risk: object             # head office
    branch_risk: object      # branch A
    supervisor_a: object     # branch A (sees A and A1)
    supervisor_b: object
    cm_a1: object
    cm_b1: object
    om_a1: object
    om_b1: object
    intern: object           # customer manager, intern, A1
    temp: object             # operations manager, temporary, A1
    consultant: object       # risk manager, consultant, A

    def all(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if hasattr(v, "staff_no")}


@pytest.fixture
def bank(request, db) -> Bank:
    """The small bank. Built through the services; the first build of a session is recorded and later tests replay
    that record (same rows, fresh objects), which is many times faster. Transactional tests, and any run with
    BANKCRM_TEST_BANK_REPLAY=0, always build through the services."""
    if os.environ.get("BANKCRM_TEST_BANK_REPLAY", "1") == "1" and not _is_transactional(request):
        recorded = _BANK_RECORD.get(connection.vendor)
        if recorded is not None:
            return _replay_bank(recorded)
        before = _row_counts()
        built = _build_bank()
        _BANK_RECORD[connection.vendor] = _record_bank(built, before)
        return built
    return _build_bank()


def _build_bank() -> Bank:
    from bankcrm.approvals.models import PendingAction
    from bankcrm.approvals.services import approval_approve
    from bankcrm.core.access import EmploymentType as E
    from bankcrm.core.access import Role as R
    from bankcrm.org import services
    from bankcrm.org.models import Staff

    admin = services.bank_bootstrap(head_office_code="001", head_office_name="总行", admin_staff_no="AD001",
                                    admin_name="王管理", admin_password=PASSWORD)
    admin = Staff.objects.get(pk=admin.pk)
    head = admin.branch
    a = services.branch_create(actor=admin, code="101", name="甲分行", kind="branch", parent_id=head.pk)
    b = services.branch_create(actor=admin, code="102", name="乙分行", kind="branch", parent_id=head.pk)
    a1 = services.branch_create(actor=admin, code="10101", name="甲一支行", kind="sub_branch", parent_id=a.pk)
    b1 = services.branch_create(actor=admin, code="10201", name="乙一支行", kind="sub_branch", parent_id=b.pk)
    today = timezone.localdate()

    def mk(no, name, branch, roles, etype=E.EMPLOYEE, end=None):
        s = services.staff_create(actor=admin, staff_no=no, name=name, branch_id=branch.pk, employment_type=etype,
                                  roles=[r.value for r in roles], password=PASSWORD,
                                  contract_start=today - timedelta(days=30) if end else None, contract_end=end,
                                  mobile="13800138000", email=f"{no.lower()}@example.cn")
        return s

    admin2 = mk("AD002", "李管理", head, [R.ADMIN])  # granted directly: single-administrator bootstrap rule
    compliance = mk("CO001", "赵合规", head, [R.COMPLIANCE_MANAGER])
    admin2 = Staff.objects.get(pk=admin2.pk)
    for pa in PendingAction.objects.filter(status="pending"):
        approval_approve(actor=admin2, pending_id=pa.pk)
    soon = today + timedelta(days=60)
    staff = dict(
        risk=mk("RK001", "钱风控", head, [R.RISK_MANAGER]),
        branch_risk=mk("RK101", "孙风控", a, [R.RISK_MANAGER]),
        supervisor_a=mk("SV101", "周行长", a, [R.BRANCH_SUPERVISOR]),
        supervisor_b=mk("SV102", "吴行长", b, [R.BRANCH_SUPERVISOR]),
        cm_a1=mk("CM001", "郑客户", a1, [R.CUSTOMER_MANAGER]),
        cm_b1=mk("CM002", "冯客户", b1, [R.CUSTOMER_MANAGER]),
        om_a1=mk("OM001", "陈运营", a1, [R.OPERATIONS_MANAGER]),
        om_b1=mk("OM002", "褚运营", b1, [R.OPERATIONS_MANAGER]),
        intern=mk("IN001", "卫实习", a1, [R.CUSTOMER_MANAGER], E.INTERN, soon),
        temp=mk("TW001", "蒋临时", a1, [R.OPERATIONS_MANAGER], E.TEMPORARY, soon),
        consultant=mk("CS001", "沈顾问", a, [R.RISK_MANAGER], E.CONSULTANT, soon),
    )
    fresh = {k: Staff.objects.select_related("branch").get(pk=v.pk) for k, v in staff.items()}
    return Bank(head=head, a=a, b=b, a1=a1, b1=b1, admin=Staff.objects.get(pk=admin.pk), admin2=admin2,
                compliance=Staff.objects.get(pk=compliance.pk), **fresh)


_BANK_RECORD: dict[str, object] = {}


def _models() -> list:
    from django.apps import apps

    return [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]


def _rows(model) -> dict:
    names = [f.attname for f in model._meta.concrete_fields]
    return {row["pk_"]: row for row in model._base_manager.annotate(pk_=models.F("pk")).values(*names, "pk_")}


def _row_counts() -> dict:
    """Every row of every table (they are nearly empty at the start of a test), to see what the build wrote."""
    return {m: _rows(m) for m in _models()}


def _record_bank(built: Bank, before: dict):
    """The rows the build inserted or updated, plus which object each Bank attribute is."""
    inserted, updated = {}, {}
    for m, rows_before in before.items():
        rows_after = _rows(m)
        if set(rows_before) - set(rows_after):
            return None  # the build deleted something: do not replay
        new = [pk for pk in rows_after if pk not in rows_before]
        changed = [pk for pk in rows_before if rows_after[pk] != rows_before[pk]]
        if new:
            inserted[m] = [{k: v for k, v in rows_after[pk].items() if k != "pk_"} for pk in new]
        if changed:
            updated[m] = [{k: v for k, v in rows_after[pk].items() if k != "pk_"} | {"pk_": pk} for pk in changed]
    refs = {k: (type(v), v.pk) for k, v in built.__dict__.items()}
    return inserted, updated, refs


def _replay_bank(recorded) -> Bank:
    from django.core.management.color import no_style

    from bankcrm.org.models import Staff

    if recorded is None:
        return _build_bank()
    inserted, updated, refs = recorded
    for model, values in inserted.items():
        model._base_manager.bulk_create([model(**v) for v in values])
    for model, values in updated.items():
        for v in values:
            v = dict(v)
            model._base_manager.filter(pk=v.pop("pk_")).update(**v)
    statements = connection.ops.sequence_reset_sql(no_style(), list(inserted))
    if statements:
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
    objects = {}
    for key, (model, pk) in refs.items():
        if model is Staff:
            objects[key] = Staff.objects.select_related("branch").get(pk=pk)
        else:
            objects[key] = model.objects.get(pk=pk)
    return Bank(**objects)


def login_client(staff, client: Client | None = None) -> Client:
    """A test client logged in the way the login view does it (session guard registry included)."""
    from bankcrm.org.middleware import SESSION_SID
    from bankcrm.org.services import session_register

    client = client or Client()
    client.force_login(staff, backend="bankcrm.org.auth.StaffBackend")
    live = session_register(staff=staff, ip="127.0.0.1", user_agent="pytest")
    session = client.session
    session[SESSION_SID] = live.session_key
    session.save()
    return client


@pytest.fixture
def as_user():
    return login_client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium",
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic"]}


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _append_only_logs_and_flush(request):
    """Transactional tests end with a flush; on SQLite that is DELETE, which the append-only triggers refuse
    (PostgreSQL flushes with TRUNCATE, which row triggers do not see). Drop the SQLite triggers for the flush and
    put them back before the next test, so every test runs with the protection in place."""
    if not _is_transactional(request):
        yield
        return
    from bankcrm.core import dbguards

    if "live_server" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    with connection.schema_editor() as editor:
        dbguards.install(editor, dbguards.existing_tables(editor))
    yield
    if connection.vendor == "sqlite":
        with connection.schema_editor() as editor:
            dbguards.remove(editor, dbguards.existing_tables(editor))


# ---- Fixtures added for the R-tests (tests/test_r*.py) -------------------------------------------------------------
COUNTING_ACTION = "tests.counting"


@pytest.fixture
def counting_action():
    """An approvable action registered for the test: each execution writes one ScheduledRun row named after the
    payload's ``n`` (so executions are counted in the database, across connections); ``fail`` in the payload makes
    the action's re-check fail *after* it wrote its row (which must then be rolled back)."""
    import uuid

    from bankcrm.approvals import registry
    from bankcrm.core.errors import RuleViolation
    from bankcrm.core.models import ScheduledRun

    def execute(*, payload, maker, checker):
        ScheduledRun.objects.create(name=f"exec:{payload['n']}", slot=uuid.uuid4().hex[:32])
        if payload.get("fail"):
            raise RuleViolation("test_rule_failed", "测试规则不再满足")
        return {"n": payload["n"]}

    def executions(n=None) -> int:
        qs = ScheduledRun.objects.filter(name__startswith="exec:")
        return qs.filter(name=f"exec:{n}").count() if n is not None else qs.count()

    registry.register(registry.ApprovableAction(code=COUNTING_ACTION, label="测试事项", execute=execute))
    yield executions
    registry.ACTIONS.pop(COUNTING_ACTION, None)


@pytest.fixture
def audit_heads_dir(settings, tmp_path):
    """A private folder for exported audit heads, so one test's export never makes another's chain look truncated."""
    settings.BANKCRM_AUDIT_HEAD_DIR = tmp_path / "audit-heads"
    return settings.BANKCRM_AUDIT_HEAD_DIR


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only are skipped up front on SQLite (before their fixtures build anything)."""
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (real parallel connections, pg_dump)")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The suite builds each worker's database from the models (``--no-migrations`` in pyproject's addopts): replaying
    the migrations took about a minute per worker and database, almost all of it Django re-rendering the migration
    state. What the models cannot say is then done here: the project's data migrations (their RunPython/RunSQL
    operations: append-only triggers, the audit chain's head row), and every migration recorded as applied, as
    ``migrate`` leaves it (the readiness probe and restore.sh check for unapplied migrations).
    tests/test_migrations.py runs the real migrations into a fresh database of each kind and checks they build the
    same schema; `make test` also runs `makemigrations --check`."""
    if type(settings.MIGRATION_MODULES).__name__ == "DisableMigrations":  # pytest-django's --no-migrations
        with django_db_blocker.unblock():
            _as_if_migrated()
    yield


def _as_if_migrated() -> None:
    from django.apps import apps as global_apps
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations.special import RunPython, RunSQL
    from django.db.migrations.recorder import MigrationRecorder
    from django.test.utils import override_settings

    with override_settings(MIGRATION_MODULES={}):
        loader = MigrationLoader(None, ignore_no_migrations=True)
    plan: list = []
    for leaf in sorted(loader.graph.leaf_nodes()):
        plan += [node for node in loader.graph.forwards_plan(leaf) if node not in plan]
    for node in plan:
        migration = loader.graph.nodes[node]
        if not type(migration).__module__.startswith("bankcrm."):
            continue
        for op in migration.operations:
            with connection.schema_editor() as editor:
                if isinstance(op, RunPython):
                    op.code(global_apps, editor)
                elif isinstance(op, RunSQL):
                    for sql in [op.sql] if isinstance(op.sql, str) else op.sql:
                        editor.execute(sql)
    recorder = MigrationRecorder(connection)
    recorder.ensure_schema()
    recorder.migration_qs.bulk_create([recorder.Migration(app=app, name=name) for app, name in plan])


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache (locmem here) starts empty in each test: ids are reused after a rollback on SQLite, and a figure
    cached for one test's staff member (the to-do badge) must not show up in the next test."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _default_language():
    """A test that switches to English (cookie, activate) must not leave English active for the tests after it."""
    from django.conf import settings
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        yield
