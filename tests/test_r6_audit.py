"""R6 — audit completeness and tamper evidence (QUALITY.md).

1. Every service (core, org, approvals) run allowed writes exactly its documented audit events; run denied or with
   invalid input it changes nothing and writes no audit event.
2. Every state-changing HTTP route (HTML and API) likewise; a denial also writes one 'denied' security-log entry.
3. Five ways of tampering with the chain directly in the database (edit, delete, reorder, forge, truncate) are each
   detected by `audit.verify_chain()` and `manage.py verify_audit` at the first bad link.
4. PostgreSQL: 3 processes × 100 appends leave one unforked chain.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from bankcrm.approvals import services as approvals_services
from bankcrm.approvals.models import PendingAction
from bankcrm.core import audit
from bankcrm.core import services as core_services
from bankcrm.core.errors import DomainError, NotFound, PermissionDenied
from bankcrm.core.models import AuditEvent, AuditHead, CalendarDay
from bankcrm.org import services as org_services
from bankcrm.org.models import Staff
from tests.conftest import COUNTING_ACTION, PASSWORD, login_client, write_figures
from tests.helpers import all_routes, audit_seq, db_state, security_count, state_diff, totp_now, verbs_since

pytestmark = pytest.mark.django_db

HOLIDAY = date(2026, 10, 8)      # a Thursday
SATURDAY = date(2026, 10, 10)


def fresh(staff):
    return Staff.objects.select_related("branch").get(pk=staff.pk)


def each_isolated(cases, run, key) -> dict[str, Any]:
    """Run each case inside a savepoint rolled back afterwards, so every case starts from the same bank."""
    out = {}
    for case in cases:
        sid = transaction.savepoint()
        try:
            out[key(case)] = run(case)
        finally:
            transaction.savepoint_rollback(sid)
    return out


# ---- 1. Services -------------------------------------------------------------------------------------------------
@dataclass
class ServiceCase:
    """``setup(bank)`` runs before the snapshot and returns a context; the three calls take (bank, ctx)."""

    service: str
    allowed: Callable[[Any, Any], Any]
    verbs: list[str]
    denied: Callable[[Any, Any], Any] | None = None
    invalid: Callable[[Any, Any], Any] | None = None
    setup: Callable[[Any], Any] = field(default=lambda bank: None)
    note: str = ""


def _grant_pending(bank):
    org_services.staff_set_roles(actor=bank.admin, staff_id=bank.om_a1.pk, roles=["operations_manager", "compliance_manager"])
    return PendingAction.objects.get(status="pending", target_id=str(bank.om_a1.pk))


def _counting(bank, maker=None, n=1):
    return approvals_services.approval_submit(actor=maker or bank.cm_a1, action_code=COUNTING_ACTION, payload={"n": n},
                                              summary="测试")


def _deactivated(bank):
    org_services.staff_deactivate(actor=bank.admin, staff_id=bank.cm_b1.pk, reason="离职")
    return fresh(bank.cm_b1)


def _totp_device(bank):
    return org_services.totp_begin_enrolment(actor=bank.admin)


SERVICE_CASES: list[ServiceCase] = [
    # core
    ServiceCase("core.parameter_set",
                lambda b, c: core_services.parameter_set(actor=b.admin, code="approvals.expiry", value=48, effective_from=None, reason="调整"),
                ["core.parameter_set"],
                denied=lambda b, c: core_services.parameter_set(actor=b.supervisor_a, code="approvals.expiry", value=48,
                                                                effective_from=None, reason="调整"),
                invalid=lambda b, c: core_services.parameter_set(actor=b.admin, code="approvals.expiry", value="四十八",
                                                                 effective_from=None, reason="调整")),
    ServiceCase("core.calendar_day_set",
                lambda b, c: core_services.calendar_day_set(actor=b.admin, day=HOLIDAY, kind="holiday", name="测试假日"),
                ["core.calendar_day_set"],
                denied=lambda b, c: core_services.calendar_day_set(actor=b.cm_a1, day=HOLIDAY, kind="holiday", name="测试"),
                invalid=lambda b, c: core_services.calendar_day_set(actor=b.admin, day=HOLIDAY, kind="workday", name="周四调休")),
    ServiceCase("core.calendar_day_delete",
                lambda b, c: core_services.calendar_day_delete(actor=b.admin, day=HOLIDAY),
                ["core.calendar_day_deleted"],
                setup=lambda b: core_services.calendar_day_set(actor=b.admin, day=HOLIDAY, kind="holiday", name="测试"),
                denied=lambda b, c: core_services.calendar_day_delete(actor=b.cm_a1, day=HOLIDAY),
                invalid=lambda b, c: core_services.calendar_day_delete(actor=b.admin, day=HOLIDAY + timedelta(days=1))),
    ServiceCase("core.calendar_import_csv",
                lambda b, c: core_services.calendar_import_csv(actor=b.admin, data="日期,类型,名称\n2026-10-08,节假日,测试\n2026-10-10,调休,补班\n".encode("gbk")),
                ["core.calendar_imported"],
                denied=lambda b, c: core_services.calendar_import_csv(actor=b.cm_a1, data=b"2026-10-08,holiday,x\n"),
                invalid=lambda b, c: core_services.calendar_import_csv(actor=b.admin, data=b"2026-10-08,holiday,x\n2026-10-09,workday,y\n")),
    # org
    ServiceCase("org.bank_bootstrap",
                lambda b, c: org_services.bank_bootstrap(head_office_code="009", head_office_name="另一总行", admin_staff_no="X1",
                                                         admin_name="某", admin_password=PASSWORD),
                [], note="refused once a bank exists (allowed run: test_bootstrap_events)"),
    ServiceCase("org.branch_create",
                lambda b, c: org_services.branch_create(actor=b.admin, code="10102", name="甲二支行", kind="sub_branch", parent_id=b.a.pk),
                ["org.branch_created"],
                denied=lambda b, c: org_services.branch_create(actor=b.supervisor_a, code="10102", name="甲二支行", kind="sub_branch",
                                                               parent_id=b.a.pk),
                invalid=lambda b, c: org_services.branch_create(actor=b.admin, code="10-102", name="甲二支行", kind="sub_branch",
                                                                parent_id=b.a.pk)),
    ServiceCase("org.branch_update",
                lambda b, c: org_services.branch_update(actor=b.admin, branch_id=b.a1.pk, name="甲一支行（新）"),
                ["org.branch_updated"],
                denied=lambda b, c: org_services.branch_update(actor=b.supervisor_a, branch_id=b.a1.pk, name="改名"),
                invalid=lambda b, c: org_services.branch_update(actor=b.admin, branch_id=b.a1.pk, name="甲一", is_active=False)),
    ServiceCase("org.staff_create",
                lambda b, c: org_services.staff_create(actor=b.admin, staff_no="CM009", name="新客户经理", branch_id=b.a1.pk,
                                                       employment_type="employee", roles=["customer_manager", "compliance_manager"],
                                                       password=PASSWORD, mobile="13900139000"),
                ["org.staff_created", "approvals.submitted"], note="a privileged role waits for a second administrator",
                denied=lambda b, c: org_services.staff_create(actor=b.supervisor_a, staff_no="CM009", name="新", branch_id=b.a1.pk,
                                                              employment_type="employee", roles=["customer_manager"], password=PASSWORD),
                invalid=lambda b, c: org_services.staff_create(actor=b.admin, staff_no="CM009", name="新", branch_id=b.a1.pk,
                                                               employment_type="employee", roles=["customer_manager"],
                                                               password=PASSWORD, mobile="12345")),
    ServiceCase("org.staff_update",
                lambda b, c: org_services.staff_update(actor=b.admin, staff_id=b.cm_a1.pk, name=b.cm_a1.name, branch_id=b.a1.pk,
                                                       employment_type="employee", title="高级客户经理", mobile="13800138000",
                                                       email=b.cm_a1.email),
                ["org.staff_updated"],
                denied=lambda b, c: org_services.staff_update(actor=b.supervisor_a, staff_id=b.cm_a1.pk, name="改", branch_id=b.a1.pk,
                                                              employment_type="employee"),
                invalid=lambda b, c: org_services.staff_update(actor=b.admin, staff_id=b.cm_a1.pk, name=b.cm_a1.name,
                                                               branch_id=b.a1.pk, employment_type="intern")),
    ServiceCase("org.staff_set_roles",
                lambda b, c: org_services.staff_set_roles(actor=b.admin, staff_id=b.cm_a1.pk, roles=["customer_manager", "operations_manager"]),
                ["org.staff_roles_changed"],
                denied=lambda b, c: org_services.staff_set_roles(actor=b.supervisor_a, staff_id=b.cm_a1.pk, roles=["admin"]),
                invalid=lambda b, c: org_services.staff_set_roles(actor=b.admin, staff_id=b.cm_a1.pk, roles=["boss"])),
    ServiceCase("org.role_revoke",
                lambda b, c: org_services.role_revoke(actor=b.supervisor_a, staff_id=b.cm_a1.pk, role="customer_manager",
                                                      reason="权限复核：已调离客户经理岗位"),
                ["org.staff_roles_changed"],
                denied=lambda b, c: org_services.role_revoke(actor=b.cm_a1, staff_id=b.om_a1.pk, role="operations_manager",
                                                             reason="x"),
                invalid=lambda b, c: org_services.role_revoke(actor=b.supervisor_a, staff_id=b.cm_a1.pk,
                                                              role="customer_manager", reason="  ")),
    ServiceCase("org.execute_privileged_grant",
                lambda b, c: approvals_services.approval_approve(actor=b.admin2, pending_id=c.pk),
                ["org.staff_roles_changed", "approvals.approved"], setup=_grant_pending,
                note="runs only as an approved action",
                denied=lambda b, c: approvals_services.approval_approve(actor=b.compliance, pending_id=c.pk)),
    ServiceCase("org.staff_deactivate",
                lambda b, c: org_services.staff_deactivate(actor=b.admin, staff_id=b.cm_a1.pk, reason="离职"),
                ["org.staff_deactivated"],
                denied=lambda b, c: org_services.staff_deactivate(actor=b.supervisor_a, staff_id=b.cm_a1.pk, reason="离职"),
                invalid=lambda b, c: org_services.staff_deactivate(actor=b.admin, staff_id=b.cm_a1.pk, reason=" ")),
    ServiceCase("org.staff_reactivate",
                lambda b, c: org_services.staff_reactivate(actor=b.admin, staff_id=b.cm_b1.pk, reason="返岗"),
                ["org.staff_reactivated"], setup=_deactivated,
                denied=lambda b, c: org_services.staff_reactivate(actor=b.supervisor_b, staff_id=b.cm_b1.pk, reason="返岗"),
                invalid=lambda b, c: org_services.staff_reactivate(actor=b.admin, staff_id=b.cm_a1.pk, reason="本来就在岗")),
    ServiceCase("org.staff_set_password",
                lambda b, c: org_services.staff_set_password(actor=b.admin, staff_id=b.cm_a1.pk, password="An0ther-Passw0rd"),
                ["org.staff_password_reset"],
                denied=lambda b, c: org_services.staff_set_password(actor=b.supervisor_a, staff_id=b.cm_a1.pk, password="An0ther-Passw0rd"),
                invalid=lambda b, c: org_services.staff_set_password(actor=b.admin, staff_id=b.cm_a1.pk, password="12345")),
    ServiceCase("org.password_change_own",
                lambda b, c: org_services.password_change_own(actor=b.cm_a1, old_password=PASSWORD, new_password="An0ther-Passw0rd"),
                ["org.password_changed"], note="acts only on the actor's own account: no one else to deny",
                invalid=lambda b, c: org_services.password_change_own(actor=b.cm_a1, old_password="wrong", new_password="An0ther-Passw0rd")),
    ServiceCase("org.contracts_expire_due",
                lambda b, c: org_services.contracts_expire_due(today=b.intern.contract_end + timedelta(days=1)),
                ["org.staff_contract_expired"] * 3, note="system job (no actor): intern, temporary worker and consultant",
                invalid=lambda b, c: org_services.contracts_expire_due(today=b.intern.contract_end)),
    ServiceCase("org.staff_end_sessions",
                lambda b, c: org_services.staff_end_sessions(actor=b.admin, staff_id=b.cm_a1.pk),
                ["org.session_ended"], setup=lambda b: login_client(b.cm_a1),
                denied=lambda b, c: org_services.staff_end_sessions(actor=b.supervisor_a, staff_id=b.cm_a1.pk)),
    ServiceCase("org.session_end",
                lambda b, c: org_services.session_end(actor=b.cm_a1, session_id=c.pk),
                ["org.session_ended"],
                setup=lambda b: org_services.session_register(staff=b.cm_a1, ip="10.0.0.1", user_agent="t"),
                denied=lambda b, c: org_services.session_end(actor=b.cm_b1, session_id=c.pk),
                invalid=lambda b, c: org_services.session_end(actor=b.cm_a1, session_id=10**9)),
    ServiceCase("org.session_register",
                lambda b, c: org_services.session_register(staff=b.cm_a1, ip="10.0.0.1", user_agent="t"),
                [], note="part of login, which the security log records (login_ok)"),
    ServiceCase("org.totp_begin_enrolment",
                lambda b, c: org_services.totp_begin_enrolment(actor=b.admin),
                [], note="an unconfirmed device is a draft: the audit event is written when it is confirmed"),
    ServiceCase("org.totp_confirm",
                lambda b, c: org_services.totp_confirm(actor=b.admin, token=totp_now(c)),
                ["org.totp_enrolled"], setup=_totp_device,
                invalid=lambda b, c: org_services.totp_confirm(actor=b.admin, token="000000" if totp_now(c) != "000000" else "111111")),
    ServiceCase("org.totp_reset",
                lambda b, c: org_services.totp_reset(actor=b.admin, staff_id=b.cm_a1.pk, reason="手机丢失"),
                ["org.totp_reset"],
                denied=lambda b, c: org_services.totp_reset(actor=b.supervisor_a, staff_id=b.cm_a1.pk, reason="手机丢失"),
                invalid=lambda b, c: org_services.totp_reset(actor=b.admin, staff_id=b.cm_a1.pk, reason="")),
    ServiceCase("org.staff_set_language",
                lambda b, c: org_services.staff_set_language(actor=b.cm_a1, language="en"),
                ["org.language_set"], note="one's own preference: no capability to deny",
                invalid=lambda b, c: org_services.staff_set_language(actor=b.cm_a1, language="xx")),
    ServiceCase("org.token_create",
                lambda b, c: org_services.token_create(actor=b.cm_a1, name="脚本"),
                ["org.api_token_created"], setup=_deactivated,
                denied=lambda b, c: org_services.token_create(actor=c, name="离职后"),
                invalid=lambda b, c: org_services.token_create(actor=b.cm_a1, name="脚本", days=0)),
    ServiceCase("org.token_revoke",
                lambda b, c: org_services.token_revoke(actor=b.cm_a1, token_id=c.pk),
                ["org.api_token_revoked"], setup=lambda b: org_services.token_create(actor=b.cm_a1, name="脚本")[0],
                denied=lambda b, c: org_services.token_revoke(actor=b.cm_b1, token_id=c.pk),
                invalid=lambda b, c: org_services.token_revoke(actor=b.cm_a1, token_id=10**9)),
    # approvals
    ServiceCase("approvals.approval_submit",
                lambda b, c: _counting(b),
                ["approvals.submitted"], setup=_deactivated,
                denied=lambda b, c: _counting(b, maker=c),
                invalid=lambda b, c: approvals_services.approval_submit(actor=b.cm_a1, action_code="no.such", payload={}, summary="x")),
    ServiceCase("approvals.approval_approve",
                lambda b, c: approvals_services.approval_approve(actor=b.supervisor_a, pending_id=c.pk),
                ["approvals.approved"], setup=_counting,
                denied=lambda b, c: approvals_services.approval_approve(actor=b.intern, pending_id=c.pk),
                invalid=lambda b, c: approvals_services.approval_approve(actor=b.supervisor_a, pending_id="abc")),
    ServiceCase("approvals.approval_reject",
                lambda b, c: approvals_services.approval_reject(actor=b.supervisor_a, pending_id=c.pk, reason="不同意"),
                ["approvals.rejected"], setup=_counting,
                denied=lambda b, c: approvals_services.approval_reject(actor=b.supervisor_b, pending_id=c.pk, reason="不同意"),
                invalid=lambda b, c: approvals_services.approval_reject(actor=b.supervisor_a, pending_id=c.pk, reason="")),
    ServiceCase("approvals.approval_cancel",
                lambda b, c: approvals_services.approval_cancel(actor=b.cm_a1, pending_id=c.pk),
                ["approvals.cancelled"], setup=_counting,
                denied=lambda b, c: approvals_services.approval_cancel(actor=b.supervisor_a, pending_id=c.pk)),
    ServiceCase("approvals.approvals_expire_due",
                lambda b, c: approvals_services.approvals_expire_due(now=timezone.now() + timedelta(days=2)),
                ["approvals.expired"], setup=_counting, note="system job; a run with nothing due is the 'nothing' case",
                invalid=lambda b, c: approvals_services.approvals_expire_due()),
]

# Functions of the services modules that are not services (no actor, no state of their own).
NOT_SERVICES = {"org.token_digest", "org.sessions_end_for", "approvals.payload_digest"}


def service_functions() -> set[str]:
    out = set()
    for prefix, module in (("core", core_services), ("org", org_services), ("approvals", approvals_services)):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                out.add(f"{prefix}.{name}")
    return out - NOT_SERVICES


def test_every_service_has_a_case():
    assert service_functions() - {c.service for c in SERVICE_CASES} == set()


def run_case(bank, case: ServiceCase) -> dict[str, int]:
    """Returns the number of problems per mode (allowed / denied / invalid)."""
    problems = {"allowed": 0, "denied": 0, "invalid": 0}
    ctx = case.setup(bank)
    for mode, call in (("denied", case.denied), ("invalid", case.invalid)):
        if call is None:
            continue
        seq, state = audit_seq(), db_state()
        try:
            with transaction.atomic():
                result = call(bank, ctx)
        except DomainError as exc:
            if mode == "denied" and not isinstance(exc, (PermissionDenied, NotFound)) and exc.code not in (
                    "maker_cannot_check",):
                problems[mode] += 1
        else:
            # a job with nothing to do may return 0; anything else that returns is a failure to refuse
            problems[mode] += int(result not in (0, None) or mode == "denied")
        problems[mode] += len(verbs_since(seq)) + len(state_diff(state, db_state()))
    seq = audit_seq()
    try:
        with transaction.atomic():
            case.allowed(bank, ctx)
    except DomainError:
        if case.verbs:
            raise
    got = verbs_since(seq)
    problems["allowed"] += int(got != case.verbs)
    return problems


def test_service_audit_allowed_denied_invalid(bank, counting_action):
    """Each case runs on the same small bank, rolled back to a savepoint after it (one bank build, not 29)."""
    found = each_isolated(SERVICE_CASES, lambda case: run_case(bank, case), key=lambda c: c.service)
    failing = {k: v for k, v in found.items() if any(v.values())}
    write_figures("R6", not failing, services_checked=len(found), service_problems=sum(sum(v.values()) for v in found.values()))
    assert failing == {}


def test_bootstrap_events(db):
    seq = audit_seq()
    org_services.bank_bootstrap(head_office_code="001", head_office_name="总行", admin_staff_no="AD001", admin_name="王",
                                admin_password=PASSWORD)
    assert verbs_since(seq) == ["org.branch_created", "org.staff_created"]
    state, seq = db_state(), audit_seq()
    with pytest.raises(DomainError):
        org_services.bank_bootstrap(head_office_code="002", head_office_name="二", admin_staff_no="AD002", admin_name="李",
                                    admin_password=PASSWORD)
    assert verbs_since(seq) == [] and state_diff(state, db_state()) == []


def test_service_detector_catches_a_missing_audit_record_and_a_missing_check(bank, counting_action, monkeypatch):
    """Broken variants: a service whose audit call was removed, and one whose capability check was removed."""
    case = next(c for c in SERVICE_CASES if c.service == "org.branch_update")
    monkeypatch.setattr(org_services.audit, "record", lambda **kw: None)
    assert run_case(bank, case)["allowed"] == 1
    monkeypatch.undo()
    monkeypatch.setattr(org_services.access, "require", lambda actor, code: None)
    case = next(c for c in SERVICE_CASES if c.service == "core.calendar_day_set")
    assert run_case(bank, case)["denied"] > 0


# ---- 2. HTTP routes ----------------------------------------------------------------------------------------------
@dataclass
class RouteCase:
    key: str                      # unique id
    route: str                    # URL name, as in tests.helpers.all_routes()
    method: str
    url: Callable[[Any, Any], str]
    data: Callable[[Any, Any], Any]
    verbs: list[str]
    actor: str = "admin"
    denied_actor: str | None = "supervisor_b"
    invalid: Callable[[Any, Any], Any] | None = None
    setup: Callable[[Any], Any] = field(default=lambda bank: None)


def _api(data) -> str:
    return json.dumps(data, ensure_ascii=False)


def _csv(content: str):
    return {"op": "import", "file": SimpleUploadedFile("cal.csv", content.encode("utf-8"), content_type="text/csv")}


ROUTE_CASES: list[RouteCase] = [
    # HTML
    RouteCase("html.parameter", "core:parameter", "post", lambda b, c: reverse("core:parameter", args=["approvals.expiry"]),
              lambda b, c: {"value": "48", "reason": "调整"}, ["core.parameter_set"],
              invalid=lambda b, c: {"value": "0", "reason": "低于下限"}),
    RouteCase("html.calendar_set", "core:calendar", "post", lambda b, c: reverse("core:calendar"),
              lambda b, c: {"op": "set", "date": HOLIDAY.isoformat(), "kind": "holiday", "name": "测试"}, ["core.calendar_day_set"],
              invalid=lambda b, c: {"op": "set", "date": HOLIDAY.isoformat(), "kind": "workday", "name": "周四补班"}),
    RouteCase("html.calendar_delete", "core:calendar", "post", lambda b, c: reverse("core:calendar"),
              lambda b, c: {"op": "delete", "date": HOLIDAY.isoformat()}, ["core.calendar_day_deleted"],
              setup=lambda b: CalendarDay.objects.create(date=HOLIDAY, kind="holiday", name="测试"),
              invalid=lambda b, c: {"op": "delete", "date": "2026-13-45"}),
    RouteCase("html.calendar_import", "core:calendar", "post", lambda b, c: reverse("core:calendar"),
              lambda b, c: _csv("date,kind,name\n2026-10-08,holiday,测试\n"), ["core.calendar_imported"],
              invalid=lambda b, c: _csv("2026-10-08,holiday,测试\n2026-10-09,workday,周五补班\n")),
    RouteCase("html.audit_verify", "core:audit_verify", "post", lambda b, c: reverse("core:audit_verify"), lambda b, c: {},
              ["core.audit_verified"]),
    RouteCase("html.branch_create", "org:branch_create", "post", lambda b, c: reverse("org:branch_create"),
              lambda b, c: {"code": "10102", "name": "甲二支行", "kind": "sub_branch", "parent": b.a.pk}, ["org.branch_created"],
              invalid=lambda b, c: {"code": "10-2", "name": "甲二支行", "kind": "sub_branch", "parent": b.a.pk}),
    RouteCase("html.branch_edit", "org:branch_edit", "post", lambda b, c: reverse("org:branch_edit", args=[b.a1.pk]),
              lambda b, c: {"name": "甲一支行（新）", "is_active": "on"}, ["org.branch_updated"],
              invalid=lambda b, c: {"name": "", "is_active": "on"}),
    RouteCase("html.staff_create", "org:staff_create", "post", lambda b, c: reverse("org:staff_create"),
              lambda b, c: {"staff_no": "CM009", "name": "新员工", "branch": b.a1.pk, "employment_type": "employee",
                            "roles": ["customer_manager"], "password": PASSWORD, "mobile": "13900139000"}, ["org.staff_created"],
              invalid=lambda b, c: {"staff_no": "CM009", "name": "新员工", "branch": b.a1.pk, "employment_type": "intern",
                                    "roles": ["customer_manager"], "password": PASSWORD}),
    RouteCase("html.staff_edit", "org:staff_edit", "post", lambda b, c: reverse("org:staff_edit", args=[b.cm_a1.pk]),
              lambda b, c: {"name": b.cm_a1.name, "branch": b.a1.pk, "employment_type": "employee", "title": "高级客户经理",
                            "mobile": "13800138000", "email": b.cm_a1.email}, ["org.staff_updated"],
              invalid=lambda b, c: {"name": b.cm_a1.name, "branch": b.a1.pk, "employment_type": "employee", "mobile": "123"}),
    *[RouteCase(f"html.staff_{action}", "org:staff_action", "post",
                (lambda a: lambda b, c: reverse("org:staff_action", args=[b.cm_a1.pk, a]))(action),
                (lambda d: lambda b, c: d)(data), verbs, invalid=(lambda d: (lambda b, c: d) if d is not None else None)(bad),
                setup=setup)
      for action, data, verbs, bad, setup in [
          ("roles", {"roles": ["customer_manager", "operations_manager"]}, ["org.staff_roles_changed"], {"roles": ["boss"]},
           lambda b: None),
          ("deactivate", {"reason": "离职"}, ["org.staff_deactivated"], {"reason": ""}, lambda b: None),
          ("reactivate", {"reason": "返岗"}, ["org.staff_reactivated"], None,
           lambda b: org_services.staff_deactivate(actor=b.admin, staff_id=b.cm_a1.pk, reason="停")),
          ("password", {"password": "An0ther-Passw0rd"}, ["org.staff_password_reset"], {"password": "123"}, lambda b: None),
          ("totp_reset", {"reason": "手机丢失"}, ["org.totp_reset"], {"reason": ""}, lambda b: None),
          ("end_sessions", {}, ["org.session_ended"], None, lambda b: None),
      ]],
    RouteCase("html.approve", "approvals:decide", "post", lambda b, c: reverse("approvals:decide", args=[c.pk, "approve"]),
              lambda b, c: {}, ["org.staff_roles_changed", "approvals.approved"], actor="admin2", denied_actor="compliance",
              setup=_grant_pending),
    RouteCase("html.reject", "approvals:decide", "post", lambda b, c: reverse("approvals:decide", args=[c.pk, "reject"]),
              lambda b, c: {"reason": "不同意"}, ["approvals.rejected"], actor="admin2", denied_actor="compliance",
              setup=_grant_pending, invalid=lambda b, c: {"reason": ""}),
    RouteCase("html.cancel", "approvals:decide", "post", lambda b, c: reverse("approvals:decide", args=[c.pk, "cancel"]),
              lambda b, c: {}, ["approvals.cancelled"], actor="cm_a1", denied_actor=None, setup=_counting),
    RouteCase("html.profile_password", "org:profile", "post", lambda b, c: reverse("org:profile"),
              lambda b, c: {"op": "password", "old_password": PASSWORD, "new_password": "An0ther-Passw0rd",
                            "new_password2": "An0ther-Passw0rd"}, ["org.password_changed"], actor="cm_a1", denied_actor=None,
              invalid=lambda b, c: {"op": "password", "old_password": "wrong-password", "new_password": "An0ther-Passw0rd",
                                    "new_password2": "An0ther-Passw0rd"}),
    RouteCase("html.profile_token", "org:profile", "post", lambda b, c: reverse("org:profile"),
              lambda b, c: {"op": "token", "name": "脚本", "days": "30"}, ["org.api_token_created"], actor="cm_a1",
              denied_actor=None, invalid=lambda b, c: {"op": "token", "name": "脚本", "days": "999"}),
    RouteCase("html.profile_revoke", "org:profile", "post", lambda b, c: reverse("org:profile"),
              lambda b, c: {"op": "revoke_token", "token_id": c.pk}, ["org.api_token_revoked"], actor="cm_a1", denied_actor=None,
              setup=lambda b: org_services.token_create(actor=b.cm_a1, name="脚本")[0],
              invalid=lambda b, c: {"op": "revoke_token", "token_id": "abc"}),
    RouteCase("html.profile_end_session", "org:profile", "post", lambda b, c: reverse("org:profile"),
              lambda b, c: {"op": "end_session", "session_id": c.pk}, ["org.session_ended"], actor="cm_a1", denied_actor=None,
              setup=lambda b: org_services.session_register(staff=b.cm_a1, ip="10.0.0.2", user_agent="t"),
              invalid=lambda b, c: {"op": "end_session", "session_id": "0"}),
    RouteCase("html.profile_language", "org:profile", "post", lambda b, c: reverse("org:profile"),
              lambda b, c: {"op": "language", "language": "en"}, ["org.language_set"], actor="cm_a1", denied_actor=None,
              invalid=lambda b, c: {"op": "language", "language": "xx"}),
    RouteCase("html.totp_confirm", "org:totp", "post", lambda b, c: reverse("org:totp"),
              lambda b, c: {"token": totp_now(c)}, ["org.totp_enrolled"], denied_actor=None, setup=_totp_device,
              invalid=lambda b, c: {"token": "12345"}),
    # API
    RouteCase("api.parameter_versions", "api-parameter-versions", "post",
              lambda b, c: reverse("api-parameter-versions", args=["approvals.expiry"]),
              lambda b, c: _api({"value": 48, "reason": "调整"}), ["core.parameter_set"],
              invalid=lambda b, c: _api({"value": "abc", "reason": "调整"})),
    RouteCase("api.calendar_put", "api-calendar-day", "put", lambda b, c: reverse("api-calendar-day", args=[HOLIDAY.isoformat()]),
              lambda b, c: _api({"kind": "holiday", "name": "测试"}), ["core.calendar_day_set"],
              invalid=lambda b, c: _api({"kind": "workday", "name": "周四"})),
    RouteCase("api.calendar_delete", "api-calendar-day", "delete",
              lambda b, c: reverse("api-calendar-day", args=[HOLIDAY.isoformat()]), lambda b, c: "", ["core.calendar_day_deleted"],
              setup=lambda b: CalendarDay.objects.create(date=HOLIDAY, kind="holiday", name="测试")),
    RouteCase("api.audit_verify", "api-audit-verify", "post", lambda b, c: reverse("api-audit-verify"), lambda b, c: "{}",
              ["core.audit_verified"]),
    RouteCase("api.branch_create", "api-branches", "post", lambda b, c: reverse("api-branches"),
              lambda b, c: _api({"code": "10102", "name": "甲二支行", "kind": "sub_branch", "parent": b.a.pk}), ["org.branch_created"],
              invalid=lambda b, c: _api({"code": "10102", "name": "甲二支行", "kind": "planet", "parent": b.a.pk})),
    RouteCase("api.branch_patch", "api-branch", "patch", lambda b, c: reverse("api-branch", args=[b.a1.pk]),
              lambda b, c: _api({"name": "甲一支行（新）"}), ["org.branch_updated"], invalid=lambda b, c: _api({"name": ""})),
    RouteCase("api.staff_create", "api-staff", "post", lambda b, c: reverse("api-staff"),
              lambda b, c: _api({"staff_no": "CM009", "name": "新员工", "branch": b.a1.pk, "employment_type": "employee",
                                 "roles": ["customer_manager"], "password": PASSWORD}), ["org.staff_created"],
              invalid=lambda b, c: _api({"staff_no": "CM009", "name": "新员工", "branch": b.a1.pk, "employment_type": "employee",
                                         "roles": [], "password": PASSWORD})),
    RouteCase("api.staff_patch", "api-staff-detail", "patch", lambda b, c: reverse("api-staff-detail", args=[b.cm_a1.pk]),
              lambda b, c: _api({"title": "高级客户经理"}), ["org.staff_updated"],
              invalid=lambda b, c: _api({"mobile": "123"})),
    RouteCase("api.staff_roles", "api-staff-roles", "post", lambda b, c: reverse("api-staff-roles", args=[b.cm_a1.pk]),
              lambda b, c: _api({"roles": ["customer_manager", "operations_manager"]}), ["org.staff_roles_changed"],
              invalid=lambda b, c: _api({"roles": ["boss"]})),
    RouteCase("api.staff_deactivate", "api-staff-deactivate", "post", lambda b, c: reverse("api-staff-deactivate", args=[b.cm_a1.pk]),
              lambda b, c: _api({"reason": "离职"}), ["org.staff_deactivated"], invalid=lambda b, c: _api({"reason": ""})),
    RouteCase("api.staff_reactivate", "api-staff-reactivate", "post", lambda b, c: reverse("api-staff-reactivate", args=[b.cm_a1.pk]),
              lambda b, c: _api({"reason": "返岗"}), ["org.staff_reactivated"],
              setup=lambda b: org_services.staff_deactivate(actor=b.admin, staff_id=b.cm_a1.pk, reason="停"),
              invalid=lambda b, c: _api({"reason": ["不是字符串"]})),
    RouteCase("api.approve", "api-approval-approve", "post", lambda b, c: reverse("api-approval-approve", args=[c.pk]),
              lambda b, c: "{}", ["org.staff_roles_changed", "approvals.approved"], actor="admin2", denied_actor="compliance",
              setup=_grant_pending, invalid=lambda b, c: _api({"reason": "x" * 600})),
    RouteCase("api.reject", "api-approval-reject", "post", lambda b, c: reverse("api-approval-reject", args=[c.pk]),
              lambda b, c: _api({"reason": "不同意"}), ["approvals.rejected"], actor="admin2", denied_actor="compliance",
              setup=_grant_pending, invalid=lambda b, c: _api({"reason": ""})),
    RouteCase("api.cancel", "api-approval-cancel", "post", lambda b, c: reverse("api-approval-cancel", args=[c.pk]),
              lambda b, c: "{}", ["approvals.cancelled"], actor="cm_a1", denied_actor=None, setup=_counting,
              invalid=lambda b, c: "{not json"),
]

# Routes that accept unsafe methods but change no audited state (documented).
UNAUDITED_UNSAFE_ROUTES = {
    "org:login": "security log: login_ok / login_failed / locked_out",
    "org:login_totp": "security log: login_ok / totp_failed",
    "org:logout": "security log: logout",
    "set_language": "a language cookie only",
}
# Routes with GET (and HEAD/OPTIONS) only.
READ_ONLY_ROUTES = {
    "core:home", "core:inbox", "core:audit", "core:audit_detail", "core:security_log", "core:access_log", "core:parameters",
    "core:healthz", "core:readyz", "core:metrics",
    "org:branches", "org:staff", "org:staff_detail", "approvals:list", "approvals:detail", "api-me", "api-inbox",
    "api-audit", "api-security-events", "api-parameters", "api-calendar", "api-approvals", "api-approval", "api-schema",
    "api-docs",
}


FOUNDATION_VIEWS = ("bankcrm.core.", "bankcrm.org.", "bankcrm.approvals.", "django.", "drf_spectacular.")


def test_every_route_is_classified_and_every_unsafe_route_has_a_case():
    """Every route of the foundation (core, org, approvals and the framework's own) is either read-only, documented
    as unaudited, or has a case above. Feature apps keep their own R6 cases."""
    names = {r.name for r in all_routes() if r.callback.__module__.startswith(FOUNDATION_VIEWS)}
    covered = {c.route for c in ROUTE_CASES}
    assert names - covered - set(UNAUDITED_UNSAFE_ROUTES) - READ_ONLY_ROUTES == set()
    assert covered - names == set()


def _request(client, case: RouteCase, url: str, data: Any):
    if case.route.startswith("api"):
        return getattr(client, case.method)(url, data=data, content_type="application/json")
    return getattr(client, case.method)(url, data=data)


def run_route(bank, case: RouteCase) -> dict[str, int]:
    problems = {"allowed": 0, "denied": 0, "denied_unlogged": 0, "invalid": 0}
    ctx = case.setup(bank)
    url = case.url(bank, ctx)
    if case.denied_actor:
        client = login_client(getattr(bank, case.denied_actor))
        seq, state, denials = audit_seq(), db_state(), security_count("denied")
        r = _request(client, case, url, case.data(bank, ctx))
        problems["denied"] += int(r.status_code != 403) + len(verbs_since(seq)) + len(state_diff(state, db_state()))
        problems["denied_unlogged"] += int(security_count("denied") != denials + 1)
    client = login_client(getattr(bank, case.actor))
    if case.invalid:
        seq, state = audit_seq(), db_state()
        r = _request(client, case, url, case.invalid(bank, ctx))
        problems["invalid"] += int(r.status_code >= 500) + len(verbs_since(seq)) + len(state_diff(state, db_state()))
    seq = audit_seq()
    r = _request(client, case, url, case.data(bank, ctx))
    problems["allowed"] += int(r.status_code not in (200, 201, 204, 302)) + int(verbs_since(seq) != case.verbs)
    return problems


def test_route_audit_allowed_denied_invalid(bank, counting_action):
    found = each_isolated(ROUTE_CASES, lambda case: run_route(bank, case), key=lambda c: c.key)
    failing = {k: v for k, v in found.items() if any(v.values())}
    write_figures("R6", not failing, routes_checked=len(found),
                  denials_without_security_log=sum(v["denied_unlogged"] for v in found.values()),
                  events_mismatch_allowed=sum(v["allowed"] for v in found.values()),
                  changes_on_denied=sum(v["denied"] for v in found.values()),
                  changes_on_invalid=sum(v["invalid"] for v in found.values()))
    assert failing == {}


def test_route_detector_catches_an_unlogged_denial(bank, counting_action, monkeypatch):
    """Broken variant: the denial page without its security-log entry."""
    from bankcrm.core import web

    monkeypatch.setattr(web.logs, "security", lambda *a, **k: None)
    case = next(c for c in ROUTE_CASES if c.key == "html.branch_create")
    assert run_route(bank, case)["denied_unlogged"] == 1


# ---- 3. Tamper evidence ------------------------------------------------------------------------------------------
def disable_guard():
    """What a DBA with table rights could do: take the append-only triggers away (rolled back with the test)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE core_auditevent DISABLE TRIGGER USER")
        else:
            cur.execute("DROP TRIGGER IF EXISTS core_auditevent_no_update")
            cur.execute("DROP TRIGGER IF EXISTS core_auditevent_no_delete")


def sql(statement: str, params: list | None = None) -> None:
    with connection.cursor() as cur:
        cur.execute(statement, params or [])


def _last_seq() -> int:
    return AuditHead.objects.get(id=1).seq


def tamper_edit() -> int:
    sql("UPDATE core_auditevent SET reason = %s WHERE seq = %s", ["改过的理由", 5])
    return 5


def tamper_delete() -> int:
    sql("DELETE FROM core_auditevent WHERE seq = %s", [6])
    return 6


def tamper_reorder() -> int:
    sql("UPDATE core_auditevent SET seq = -1 WHERE seq = 7")
    sql("UPDATE core_auditevent SET seq = 7 WHERE seq = 8")
    sql("UPDATE core_auditevent SET seq = 8 WHERE seq = -1")
    return 7


def tamper_forge() -> int:
    """Append a plausible event: right seq, right prev_hash, hash = SHA-256 of the canonical form (no key)."""
    head = AuditHead.objects.get(id=1)
    last = AuditEvent.objects.get(seq=head.seq)
    ev = AuditEvent(seq=head.seq + 1, occurred_at=timezone.now(), actor_label=last.actor_label, verb="org.staff_roles_changed",
                    target_type="org.Staff", target_id=last.target_id, target_repr=last.target_repr, before={"roles": []},
                    after={"roles": ["admin"]}, reason="", request_id="", ip="", channel="web", prev_hash=head.hash)
    ev.hash = hashlib.sha256(audit._canonical(ev)).hexdigest()
    ev.save(force_insert=True)
    AuditHead.objects.filter(id=1).update(seq=ev.seq, hash=ev.hash)
    return ev.seq


def tamper_truncate() -> int:
    """Delete the last three events and make the head row agree; only the exported signed head remembers."""
    last = _last_seq()
    sql("DELETE FROM core_auditevent WHERE seq > %s", [last - 3])
    keep = AuditEvent.objects.get(seq=last - 3)
    AuditHead.objects.filter(id=1).update(seq=keep.seq, hash=keep.hash)
    return last - 2


TAMPERS = {"edit": tamper_edit, "delete": tamper_delete, "reorder": tamper_reorder, "forge": tamper_forge,
           "truncate": tamper_truncate}


def run_verify_audit() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def test_append_only_triggers_refuse_update_and_delete(bank):
    assert AuditEvent.objects.count() > 10
    for statement in ("UPDATE core_auditevent SET reason = 'x' WHERE seq = 3", "DELETE FROM core_auditevent WHERE seq = 3"):
        with pytest.raises(DatabaseError), transaction.atomic():
            sql(statement)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=3).update(reason="x")
    assert audit.verify_chain().ok


@pytest.mark.parametrize("kind", list(TAMPERS))
def test_tamper_detected_at_first_bad_link(bank, audit_heads_dir, kind):
    assert AuditEvent.objects.count() >= 12
    audit.export_head()
    assert audit.verify_chain().ok and run_verify_audit()[0] == 0
    disable_guard()
    first_bad = TAMPERS[kind]()
    result = audit.verify_chain()
    code, output = run_verify_audit()
    detected = (not result.ok) and result.first_bad_seq == first_bad and code == 1 and f"seq {first_bad}" in output
    write_figures("R6", detected, **{f"tamper_{kind}_detected": int(detected), f"tamper_{kind}_first_bad_seq": result.first_bad_seq})
    assert not result.ok, kind
    assert result.first_bad_seq == first_bad, (kind, result)
    assert code == 1 and f"seq {first_bad}" in output, output


def test_tamper_detector_catches_a_weakened_verifier(bank, audit_heads_dir, monkeypatch):
    """Broken variants of the verifier: without the keyed hash an edit and a forgery pass; without the exported heads a
    truncation passes. The tamper test above would then fail."""
    audit.export_head()
    disable_guard()
    monkeypatch.setattr(audit, "compute_hash", lambda ev: ev.hash)
    monkeypatch.setattr(audit, "exported_heads", lambda: [])
    tamper_edit()
    assert audit.verify_chain().ok
    tamper_truncate()
    assert audit.verify_chain().ok
    monkeypatch.undo()
    assert not audit.verify_chain().ok


def test_exported_head_with_bad_signature_is_refused(bank, audit_heads_dir):
    audit.export_head()
    path = next(audit_heads_dir.glob("*.json"))
    body = json.loads(path.read_text())
    body["seq"] += 5
    path.write_text(json.dumps(body))
    with pytest.raises(ValueError, match="bad signature"):
        audit.verify_chain()


# ---- 4. Concurrent appends (PostgreSQL) --------------------------------------------------------------------------
audit.register_verbs({"tests.append": "测试追加"})


def concurrent_appends(processes: int, per_process: int, *, unlocked: bool = False) -> dict[str, int]:
    from django.conf import settings

    from tests.workers import append_audit_events

    ctx = multiprocessing.get_context("spawn")  # fresh interpreters with their own connections
    start, results = ctx.Event(), ctx.Queue()
    before = AuditEvent.objects.count()
    args = (per_process, start, results, connection.settings_dict["NAME"], str(settings.BANKCRM_KEYS_FILE), unlocked)
    procs = [ctx.Process(target=append_audit_events, args=args) for _ in range(processes)]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM (SELECT prev_hash FROM core_auditevent GROUP BY prev_hash HAVING COUNT(*) > 1) f")
        forks = cur.fetchone()[0]
    appended = AuditEvent.objects.count() - before
    result = audit.verify_chain()
    return {"appended": appended, "lost": processes * per_process - appended, "errors": sum(e for _, e in outcomes),
            "forks": forks, "chain_ok": int(result.ok)}


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain(bank):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    r = concurrent_appends(3, 100)
    ok = r == {"appended": 300, "lost": 0, "errors": 0, "forks": 0, "chain_ok": 1}
    write_figures("R6", ok, concurrent_appends=r["appended"], concurrent_forks=r["forks"], concurrent_lost=r["lost"],
                  concurrent_chain_ok=bool(r["chain_ok"]))
    assert ok, r


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrency_detector_catches_an_unlocked_head(bank):
    """Broken variant: the head read without its row lock (tests/workers.py); parallel appends collide."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: real parallel connections")
    r = concurrent_appends(3, 30, unlocked=True)
    assert r["lost"] + r["forks"] > 0 or not r["chain_ok"], r
