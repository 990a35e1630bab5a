"""R10 — authorization sweep, object-, function- and property-level (QUALITY.md).

1. Every URL pattern of the project declares a policy: HTML views through `capability_required` (``.capability``),
   API views through ``capability`` / ``capabilities`` checked by HasCapability; a short allow-list otherwise.
2. Every route × actors: anonymous, deactivated and expired temporary staff are sent to the login page (HTML) or get
   401 (API); staff lacking the capability get 403 with a 'denied' security-log entry and nothing changes.
3. Object scope: objects of another branch are 404 (never 403), lists never include them.
4. Mass assignment: protected fields (roles, status, branch path, password, …) never change through the API.

Pass bar: foreign object access = 0, protected fields changed = 0, routes without declared policy = 0.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bankcrm.core import access
from bankcrm.org import services
from bankcrm.org.models import Branch, RoleAssignment, Staff
from tests.conftest import PASSWORD, login_client, write_figures
from tests.helpers import Route, all_routes, audit_seq, db_state, sample_url, security_count, state_diff, verbs_since

pytestmark = pytest.mark.django_db

# Routes that need no capability, with the reason. Everything else must declare one.
PUBLIC = {
    "org:login": "the login form",
    "org:login_totp": "second login step (needs the first step's session state)",
    "core:healthz": "liveness probe: database and key file status only",
    "core:readyz": "readiness probe: check names and ok/error only (bankcrm.core.probes)",
    "core:metrics": "Prometheus scrape: bearer token or IP allow-list, 404 otherwise (bankcrm.core.metrics)",
    "set_language": "language cookie",
    "api-schema": "the OpenAPI description (signed-in staff only: SPECTACULAR_SETTINGS SERVE_PERMISSIONS)",
    "api-docs": "Swagger UI (signed-in staff only)",
}
SIGNED_IN_SELF = {  # login_required: the signed-in person's own page, no one else's data
    "org:logout": "ends one's own session",
    "org:totp": "enrol one's own authenticator",
    "org:profile": "one's own password, tokens and sessions",
    "core:home": "one's own workbench (cards filtered by capability)",
    "core:inbox": "one's own inbox (providers filter by capability and scope)",
}
ALLOW_LIST = {**PUBLIC, **SIGNED_IN_SELF}
SURVEY_PUBLIC = {  # the customer's survey pages: no login, the one-time token is the authority (test_surveys_tokens)
    "surveys:answer": "customer answers a survey through a single-use, expiring, unguessable token",
    "surveys:submit": "the survey form's POST (token in the body, CSRF-protected)",
    "surveys:thanks": "static thank-you page after a survey",
}
PUBLIC.update(SURVEY_PUBLIC)
ALLOW_LIST.update(SURVEY_PUBLIC)
UNSAFE = ("post", "put", "patch", "delete")


def api_class(route: Route):
    return getattr(route.callback, "cls", None)


def route_methods(route: Route) -> list[str]:
    cls = api_class(route)
    if cls is not None:
        return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
    return ["get"]


def declared_capability(route: Route, method: str) -> str | None:
    cls = api_class(route)
    if cls is not None:
        from bankcrm.core.api.base import HasCapability

        if HasCapability not in getattr(cls, "permission_classes", []):
            return None
        return getattr(cls, "capabilities", {}).get(method.upper()) or getattr(cls, "capability", None)
    return getattr(route.callback, "capability", None)


def undeclared_routes(routes: list[Route]) -> list[str]:
    out = []
    for r in routes:
        if r.name in ALLOW_LIST:
            continue
        for m in route_methods(r):
            code = declared_capability(r, m)
            if code is None or code not in access.POLICY:
                out.append(f"{r.name} {m.upper()} {code or '(none)'}")
    return out


def test_every_route_declares_a_policy():
    routes = all_routes()
    assert len(routes) > 40
    missing = undeclared_routes(routes)
    unnamed = [r.pattern for r in routes if not r.name]
    write_figures("R10", not missing and not unnamed, routes_total=len(routes), routes_without_declared_policy=len(missing))
    assert missing == [] and unnamed == []
    assert set(ALLOW_LIST) <= {r.name for r in routes}, "allow-list entries that no longer exist"


def test_policy_detector_catches_an_undeclared_view():
    """Broken variant: a plain view (and an API view without HasCapability) slipped into the URL conf."""
    from rest_framework.views import APIView

    class Naked(APIView):
        def get(self, request):
            return None

    def plain_view(request):
        return None

    fake = [Route("x:plain", "x/", plain_view, {}), Route("api-naked", "api/v1/naked/", Naked.as_view(), {})]
    assert len(undeclared_routes(fake)) == 2


# ---- Route × actor sweep -----------------------------------------------------------------------------------------
def request(client: Client, method: str, url: str, api: bool):
    if api:
        return getattr(client, method)(url, data="{}" if method != "get" else None, content_type="application/json")
    return getattr(client, method)(url, data={} if method != "get" else None)


def html_method(client: Client, url: str) -> str:
    """GET unless the view only takes POST."""
    return "post" if client.get(url).status_code == 405 else "get"


def shut_out(response, api: bool) -> bool:
    if api:
        return response.status_code in (401, 403)
    return response.status_code == 302 and response["Location"].startswith(reverse("org:login"))


def protected_routes() -> list[Route]:
    return [r for r in all_routes() if r.name not in PUBLIC and not r.pattern.startswith("static")]


def test_anonymous_deactivated_and_expired_staff_are_shut_out(bank):
    services.staff_deactivate(actor=bank.admin, staff_id=bank.cm_b1.pk, reason="离职")
    Staff.objects.filter(pk=bank.temp.pk).update(contract_end=timezone.localdate() - timedelta(days=1))
    # Signed in before their access ended; the backend no longer returns them, so each request is anonymous.
    actors = {
        "anonymous": Client(),
        "deactivated": login_client(Staff.objects.get(pk=bank.cm_b1.pk)),
        "expired_temporary": login_client(Staff.objects.get(pk=bank.temp.pk)),
    }
    leaks = []
    checked = 0
    seq, state = audit_seq(), db_state()
    for route in protected_routes():
        url = sample_url(route, bank)
        api = route.pattern.startswith("api/")
        methods = route_methods(route) if api else [html_method(Client(), url)]
        for method in methods:
            for who, client in actors.items():
                r = request(client, method, url, api)
                checked += 1
                if not shut_out(r, api):
                    leaks.append(f"{who} {method.upper()} {url} -> {r.status_code}")
    # nothing was written by any of them (logins of the test itself and dead sessions ended are the registry's)
    leaks += [f"state changed: {t}" for t in set(state_diff(state, db_state())) - {"org.LiveSession"}]
    leaks += [f"audit event: {v}" for v in verbs_since(seq)]
    write_figures("R10", not leaks, shut_out_checks=checked, shut_out_leaks=len(leaks))
    assert leaks == []


def lacking(bank, code: str):
    """A member of staff (active, in contract) who does not hold ``code``."""
    return next((s for s in bank.all().values() if s.is_active and not access.can(s, code)), None)


def capability_denials(bank, routes: list[Route]) -> tuple[int, list[str]]:
    problems, checked = [], 0
    clients: dict[int, Client] = {}
    seq, state = audit_seq(), db_state()
    for route in routes:
        if route.name in ALLOW_LIST:
            continue
        url = sample_url(route, bank)
        api = route.pattern.startswith("api/")
        for method in route_methods(route) if api else ["get", "post"]:
            code = declared_capability(route, method)
            actor = lacking(bank, code) if code else None
            if actor is None:
                continue  # every role holds it (e.g. core.view_parameters)
            client = clients.get(actor.pk) or clients.setdefault(actor.pk, login_client(actor))
            if not api and client.get(url).status_code == 405 and method == "get":
                continue
            denied = security_count("denied")
            r = request(client, method, url, api)
            if r.status_code == 405:
                continue
            checked += 1
            if r.status_code != 403 or security_count("denied") != denied + 1:
                problems.append(f"{actor.staff_no} {method.upper()} {url} ({code}) -> {r.status_code}")
    problems += [f"state changed: {t}" for t in set(state_diff(state, db_state())) - {"org.LiveSession"}]
    problems += [f"audit event: {v}" for v in verbs_since(seq)]
    return checked, problems


def test_staff_without_the_capability_get_403_and_a_security_log_entry(bank):
    checked, problems = capability_denials(bank, all_routes())
    write_figures("R10", not problems, capability_denial_checks=checked, capability_denial_problems=len(problems))
    assert checked > 20
    assert problems == []


def test_capability_sweep_detector_catches_a_declaration_that_is_not_enforced(bank, monkeypatch):
    """Broken variant: the staff list *declares* org.manage_staff but its decorator enforces only org.view_staff, so
    compliance (who holds view_staff, not manage_staff) gets in: the sweep reports it."""
    route = next(r for r in all_routes() if r.name == "org:staff")
    assert capability_denials(bank, [route])[1] == []
    monkeypatch.setattr(route.callback, "capability", "org.manage_staff")
    _checked, problems = capability_denials(bank, [route])
    assert problems


def test_allowed_actors_reach_every_foundation_page(bank):
    """The other side of the sweep: those who hold the capability are not refused."""
    failures = []
    for route in all_routes():
        if route.pattern.startswith("api/") or route.name in PUBLIC or not route.callback.__module__.startswith(
                ("bankcrm.core", "bankcrm.org", "bankcrm.approvals")):
            continue
        code = declared_capability(route, "get")
        holder = next(s for s in bank.all().values() if code is None or access.can(s, code))
        url = sample_url(route, bank)
        r = login_client(holder).get(url)
        if r.status_code not in (200, 302, 404, 405):
            failures.append(f"{url} -> {r.status_code}")
    assert failures == []


# ---- Object scope ------------------------------------------------------------------------------------------------
def foreign_access(bank) -> list[str]:
    """Everything another branch's staff or a same-branch non-owner must not see. Returns what they saw."""
    from bankcrm.approvals.services import approval_submit

    leaks = []
    pa = approval_submit(actor=bank.cm_a1, action_code="org.grant_privileged_role",
                         payload={"staff_id": bank.om_a1.pk, "role": "compliance_manager"}, summary="测试授予")

    def expect(actor, url, status):
        r = login_client(actor).get(url)
        if r.status_code != status:
            leaks.append(f"{actor.staff_no} GET {url} -> {r.status_code} (expected {status})")

    # another branch's supervisor: 404 for single objects of branch A
    expect(bank.supervisor_b, reverse("org:staff_detail", args=[bank.cm_a1.pk]), 404)
    expect(bank.supervisor_b, f"/api/v1/staff/{bank.cm_a1.pk}/", 404)
    expect(bank.supervisor_b, reverse("approvals:detail", args=[pa.pk]), 404)
    expect(bank.supervisor_b, f"/api/v1/approvals/{pa.pk}/", 404)
    expect(bank.cm_b1, f"/api/v1/branches/{bank.a1.pk}/", 404)
    # a same-branch colleague who is not the owner
    expect(bank.intern, reverse("approvals:detail", args=[pa.pk]), 404)
    expect(bank.om_a1, f"/api/v1/staff/{bank.cm_a1.pk}/", 403)  # lacks org.view_staff altogether
    # a customer of A1: its 360 page and the printable page are 404 to another branch and to a colleague who does not
    # manage it, 200 to its manager and to A's supervisor
    from bankcrm.customers.services import customer_register
    from tests.test_customers import ric

    customer = customer_register(actor=bank.cm_a1, kind="person", name="范围测", id_type="resident_id", id_number=ric(seq="919"))
    for name in ("customers:detail", "customers:print"):
        url = reverse(name, args=[customer.pk])
        for outsider in (bank.supervisor_b, bank.cm_b1, bank.intern):
            expect(outsider, url, 404)
        expect(bank.cm_a1, url, 200)
        expect(bank.supervisor_a, url, 200)
    # within scope: the supervisor of A sees A1's people, head-office compliance sees everyone
    expect(bank.supervisor_a, reverse("org:staff_detail", args=[bank.cm_a1.pk]), 200)
    expect(bank.supervisor_a, reverse("org:staff_detail", args=[bank.cm_b1.pk]), 404)
    expect(bank.compliance, f"/api/v1/staff/{bank.cm_b1.pk}/", 200)
    # lists never include another branch's rows
    a_path = bank.a.path
    rows = login_client(bank.supervisor_b).get("/api/v1/staff/?page_size=200").json()["results"]
    leaks += [f"SV102 list sees {r['staff_no']}" for r in rows
              if Staff.objects.get(pk=r["id"]).branch.path.startswith(a_path)]
    html = login_client(bank.supervisor_b).get(reverse("org:staff")).content.decode()
    leaks += [f"SV102 HTML list shows {s.staff_no}" for s in Staff.objects.filter(branch__path__startswith=a_path)
              if s.staff_no in html]
    rows = login_client(bank.cm_b1).get("/api/v1/branches/").json()["results"]
    leaks += [f"CM002 sees branch {r['code']}" for r in rows if r["path"].startswith(a_path)]
    for actor in (bank.supervisor_b, bank.cm_b1, bank.intern):
        rows = login_client(actor).get("/api/v1/approvals/").json()["results"]
        leaks += [f"{actor.staff_no} sees approval {r['id']}" for r in rows if r["id"] == pa.pk]
    return leaks


def test_objects_out_of_scope_are_404_and_lists_exclude_them(bank):
    leaks = foreign_access(bank)
    write_figures("R10", not leaks, foreign_object_access=len(leaks))
    assert leaks == []


def test_scope_detector_catches_a_missing_scope_filter(bank, monkeypatch):
    """Broken variant: staff visible to anyone holding org.view_staff, whatever their branch."""
    from bankcrm.org.models import StaffQuerySet

    monkeypatch.setattr(StaffQuerySet, "visible_to",
                        lambda self, actor: self if access.can(actor, "org.view_staff") else self.filter(pk=actor.pk))
    assert len(foreign_access(bank)) >= 3


def test_write_routes_on_foreign_objects_are_404(bank):
    """Scope holds for writes too: services re-check scope for objects given by id."""
    from bankcrm.core.errors import NotFound

    with pytest.raises(NotFound):
        services.session_end(actor=bank.cm_b1, session_id=services.session_register(staff=bank.cm_a1, ip="", user_agent="").pk)
    r = login_client(bank.supervisor_b).post(f"/api/v1/approvals/{_pending(bank).pk}/approve/", data="{}",
                                             content_type="application/json")
    assert r.status_code == 404


def _pending(bank):
    from bankcrm.approvals.services import approval_submit

    return approval_submit(actor=bank.cm_a1, action_code="org.grant_privileged_role",
                           payload={"staff_id": bank.om_a1.pk, "role": "admin"}, summary="授予")


# ---- Mass assignment ---------------------------------------------------------------------------------------------
HOSTILE_STAFF = {
    "title": "高级客户经理",  # the one allowed change
    "is_active": False, "roles": ["admin"], "role": "admin", "auth_version": 999, "password": "Hacked-Passw0rd!",
    "staff_no": "HACK01", "deactivated_at": "2020-01-01T00:00:00Z", "last_login": "2020-01-01T00:00:00Z",
    "date_joined": "2000-01-01T00:00:00Z", "id": 1, "status": "approved", "maker": 1, "balance": 10**9,
}
PROTECTED_STAFF = ("is_active", "auth_version", "password", "staff_no", "deactivated_at", "last_login", "date_joined")


def staff_fingerprint(pk: int) -> dict[str, Any]:
    s = Staff.objects.get(pk=pk)
    out = {f: str(getattr(s, f)) for f in PROTECTED_STAFF}
    out["roles"] = sorted(RoleAssignment.objects.filter(staff_id=pk).values_list("role", flat=True))
    out["pk"] = s.pk
    return out


def protected_changes(apply_patch, bank) -> tuple[list[str], str]:
    before = staff_fingerprint(bank.cm_a1.pk)
    apply_patch(bank.cm_a1.pk, dict(HOSTILE_STAFF))
    after = staff_fingerprint(bank.cm_a1.pk)
    return [k for k in before if before[k] != after[k]], Staff.objects.get(pk=bank.cm_a1.pk).title


def api_patch(client: Client):
    def apply(pk, data):
        r = client.patch(f"/api/v1/staff/{pk}/", data=json.dumps(data), content_type="application/json")
        apply.status = r.status_code
    return apply


def test_mass_assignment_through_staff_patch_changes_only_allowed_fields(bank):
    patch = api_patch(login_client(bank.admin))
    changed, title = protected_changes(patch, bank)
    assert patch.status == 200
    assert title == "高级客户经理"
    assert Staff.objects.get(staff_no="CM001").check_password(PASSWORD)
    # a supervisor (no org.manage_staff) changes nothing at all, not even the title or the branch
    patch_b = api_patch(login_client(bank.supervisor_a))
    changed_b, _ = protected_changes(lambda pk, d: patch_b(pk, {**d, "branch": bank.b1.pk, "title": "改"}), bank)
    assert patch_b.status == 403
    s = Staff.objects.get(pk=bank.cm_a1.pk)
    assert (s.branch_id, s.title) == (bank.a1.pk, "高级客户经理")
    total = len(changed) + len(changed_b)
    write_figures("R10", total == 0, protected_fields_changed=total)
    assert changed == [] and changed_b == []


def test_mass_assignment_detector_catches_a_generic_model_update(bank):
    """Broken variant: a generic 'update every field in the body' handler."""
    def naive(pk, data):
        s = Staff.objects.get(pk=pk)
        for k, v in data.items():
            if k in {f.name for f in Staff._meta.concrete_fields} and k != "id":
                setattr(s, k, v)
        if "password" in data:
            s.set_password(data["password"])
        s.save()

    changed, _ = protected_changes(naive, bank)
    assert {"is_active", "auth_version", "password", "staff_no"} <= set(changed)


def test_mass_assignment_on_other_write_endpoints(bank):
    admin = login_client(bank.admin)
    # branches: code, path, parent and kind are fixed at creation
    r = admin.patch(f"/api/v1/branches/{bank.a1.pk}/", data=json.dumps(
        {"name": "甲一支行（改）", "code": "HACK", "path": "/hack/", "parent": bank.b.pk, "kind": "head_office"}),
        content_type="application/json")
    assert r.status_code == 200
    b = Branch.objects.get(pk=bank.a1.pk)
    assert (b.name, b.code, b.path, b.parent_id, b.kind) == ("甲一支行（改）", "10101", bank.a1.path, bank.a.pk, "sub_branch")
    # staff creation: status, auth_version and privileged roles cannot be smuggled in
    r = admin.post("/api/v1/staff/", data=json.dumps(
        {"staff_no": "CM010", "name": "新员工", "branch": bank.a1.pk, "employment_type": "employee",
         "roles": ["customer_manager"], "password": PASSWORD, "is_active": False, "auth_version": 50,
         "role": "admin", "is_superuser": True}), content_type="application/json")
    assert r.status_code == 201
    s = Staff.objects.get(staff_no="CM010")
    assert (s.is_active, s.auth_version, sorted(s.roles), s.is_superuser) == (True, 1, ["customer_manager"], False)
    # approvals: the decision body cannot set status, maker, checker or payload
    pa = _pending(bank)
    r = login_client(bank.admin2).post(f"/api/v1/approvals/{pa.pk}/reject/", data=json.dumps(
        {"reason": "不同意", "status": "executed", "maker": bank.admin2.pk, "checker": bank.cm_a1.pk,
         "payload": {"staff_id": bank.cm_a1.pk, "role": "admin"}}), content_type="application/json")
    assert r.status_code == 200
    pa.refresh_from_db()
    assert (pa.status, pa.maker_id, pa.checker_id, pa.payload["staff_id"]) == ("rejected", bank.cm_a1.pk, bank.admin2.pk,
                                                                                bank.om_a1.pk)
    # HTML staff edit: extra form fields are ignored
    r = admin.post(reverse("org:staff_edit", args=[bank.om_a1.pk]), {
        "name": bank.om_a1.name, "branch": bank.a1.pk, "employment_type": "employee", "title": "运营主管",
        "is_active": "", "roles": ["admin"], "auth_version": "77", "staff_no": "HACK02", "password": "Hacked-Passw0rd!"})
    assert r.status_code == 302
    s = Staff.objects.get(pk=bank.om_a1.pk)
    assert (s.title, s.is_active, s.staff_no, sorted(s.roles)) == ("运营主管", True, "OM001", ["operations_manager"])
    assert s.check_password(PASSWORD)


def test_role_and_branch_changes_go_through_their_own_transitions(bank):
    """Role and branch changes are possible for an administrator, but only through the roles endpoint (privileged
    roles wait for a second administrator) and a branch move ends the person's sessions."""
    admin = login_client(bank.admin)
    r = admin.post(f"/api/v1/staff/{bank.cm_a1.pk}/roles/", data=json.dumps({"roles": ["customer_manager", "admin"]}),
                   content_type="application/json")
    assert r.status_code == 200 and r.json()["pending"] == ["admin"]
    assert "admin" not in Staff.objects.get(pk=bank.cm_a1.pk).roles
    victim = login_client(bank.cm_a1)
    r = admin.patch(f"/api/v1/staff/{bank.cm_a1.pk}/", data=json.dumps({"branch": bank.b1.pk}), content_type="application/json")
    assert r.status_code == 200 and Staff.objects.get(pk=bank.cm_a1.pk).branch_id == bank.b1.pk
    assert victim.get(reverse("core:home")).status_code == 302  # the old scope's session is gone
