"""R11 — API fuzzing with schemathesis against the OpenAPI schema, two users (QUALITY.md).

Every operation of `/api/schema/` is called in-process (schemathesis' WSGI transport into Django's own WSGI handler,
inside the test's transaction) with generated requests — valid ones and deliberately invalid ones — as two users of
the small bank, each with a bearer token:

* the **holder**: a member of staff whose role has the operation's capability (so generated requests reach the view,
  its serializer and its service, not only the permission check), preferring the head office, which sees every
  branch;
* the **other**: a customer manager of sub-branch B1 (most operations are refused or scoped for them: the refusals
  and the 404s must be clean too).

Checks on every response: no 5xx (`not_a_server_error`), the status code is one the operation declares, the content
type is the declared one, and the body conforms to the declared schema. Pass bar: 5xx = 0, schema violations = 0.
The number of examples per operation is bounded so the sweep fits the CI budget: ``BANKCRM_R11_EXAMPLES`` valid requests
for the holder (default 3), a third as many invalid ones and a quarter as many for the other user (at least 1 each);
``BANKCRM_R11_EXAMPLES=16`` fuzzes deeper (about ten minutes), ``BANKCRM_R11_ONLY=/api/v1/wealth/`` one part of the API.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass, field

import pytest
from django.core import signals
from django.db import close_old_connections

from bankcrm.core import access
from tests.conftest import write_figures

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("BANKCRM_R11_EXAMPLES", "3"))
NEGATIVE = max(1, EXAMPLES // 3)
OTHER = max(1, EXAMPLES // 4)
ONLY = os.environ.get("BANKCRM_R11_ONLY", "/")  # a path prefix, to fuzz one part of the API while fixing it


@dataclass
class Sweep:
    operations: int = 0
    examples: int = 0
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def view_capabilities() -> dict[tuple[str, str], str | None]:
    """(schema path, METHOD) → the capability the view declares (None: no capability, e.g. /me/)."""
    from drf_spectacular.generators import EndpointEnumerator

    out = {}
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        cls = callback.cls
        code = getattr(cls, "capabilities", {}).get(method) or getattr(cls, "capability", None)
        out[(path, method)] = code
    return out


def holder_for(code: str | None, users: list) -> object:
    """The first user (head office first) who holds the capability; the administrator when nobody does."""
    if code is None:
        return users[0]
    for u in users:
        if access.can(u, code):
            return u
    return users[0]


@pytest.fixture
def wsgi_app():
    """Django's own WSGI handler, called in the test's thread and transaction. The handler closes 'old' database
    connections at the start and end of each request; inside a test's transaction that would drop it, so the two
    signal receivers are off while the sweep runs (exactly what Django's test client does)."""
    from django.core.handlers.wsgi import WSGIHandler

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def server_exceptions():
    """Tracebacks of unhandled exceptions inside views (a 500's cause), newest last."""
    caught: list[str] = []

    def on_exception(sender, request=None, **kwargs):
        lines = traceback.format_exc().splitlines()
        ours = [line for i, line in enumerate(lines) if "/bankcrm/" in line or "/bankcrm/" in lines[i - 1]]
        caught.append("\n".join([*ours[-8:], lines[-1]]))

    signals.got_request_exception.connect(on_exception)
    yield caught
    signals.got_request_exception.disconnect(on_exception)


def fuzz(schema, tokens: dict, users: list, sweep: Sweep, exceptions: list[str], only: str = ONLY) -> None:
    """Every operation whose path starts with ``only``: valid and invalid requests as the holder of its capability,
    valid ones as the other user (who is mostly refused or scoped before the view does any work)."""
    from schemathesis import GenerationMode

    caps = view_capabilities()
    for result in schema.get_all_operations():
        op = result.ok()
        if not op.path.startswith(only):
            continue
        sweep.operations += 1
        holder = holder_for(caps.get((op.path, op.method.upper())), users)
        for user, mode, n in ((holder, GenerationMode.POSITIVE, EXAMPLES), (holder, GenerationMode.NEGATIVE, NEGATIVE),
                              (tokens["other_user"], GenerationMode.POSITIVE, OTHER)):
            t0 = time.monotonic()
            fuzz_operation(op, user, tokens[user.staff_no], mode, n, sweep, exceptions)
            key = f"{op.method.upper()} {op.path}"
            sweep.seconds[key] = sweep.seconds.get(key, 0) + time.monotonic() - t0


def fuzz_operation(op, user, token: str, mode, n: int, sweep: Sweep, exceptions: list[str]) -> None:
    import hypothesis
    from hypothesis import HealthCheck, Phase, given
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    # Negative cases are invalid on purpose: only their status code (a declared one, never a 5xx) is checked.
    checks = ([status_code_conformance, content_type_conformance, response_schema_conformance] if mode.is_positive
              else [status_code_conformance])
    headers = {"Authorization": f"Bearer {token}"}
    label = f"{op.method.upper()} {op.path} as {user.staff_no} ({mode.value})"

    @hypothesis.settings(max_examples=n, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case):
        sweep.examples += 1
        before = len(exceptions)
        response = case.call(headers=headers)
        sweep.statuses[response.status_code] = sweep.statuses.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            cause = exceptions[before] if len(exceptions) > before else response.content[:300]
            sweep.server_errors.append(f"{label}: {case.as_curl_command(headers=headers)}\n{cause}")
            return
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                sweep.violations.append(f"{label} → {response.status_code}: {failure.title}: {str(failure)[:500]}")

    run()
    del not_a_server_error  # 5xx are caught above with their traceback (the check would only say "500")


def sweep_setup(bank, wsgi_app):
    """Bearer tokens for the holders (head office first) and the other user, and the schema as the API serves it."""
    import schemathesis

    from bankcrm.org import services

    users = [bank.admin, bank.compliance, bank.risk, bank.supervisor_a, bank.om_a1, bank.cm_a1]
    tokens: dict = {"other_user": bank.cm_b1}
    for u in {*users, bank.cm_b1}:
        tokens[u.staff_no] = services.token_create(actor=u, name="R11", days=1)[1]
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_app,
                                            headers={"Authorization": f"Bearer {tokens[bank.admin.staff_no]}"})
    return users, tokens, schema


def test_r11_schemathesis_over_the_whole_api(bank, wsgi_app, server_exceptions):
    started, cpu = time.monotonic(), time.process_time()
    users, tokens, schema = sweep_setup(bank, wsgi_app)
    sweep = Sweep()
    fuzz(schema, tokens, users, sweep, server_exceptions)
    seconds, cpu_seconds = round(time.monotonic() - started, 1), round(time.process_time() - cpu, 1)
    slowest = sorted(sweep.seconds.items(), key=lambda kv: -kv[1])[:5]
    write_figures("R11", not sweep.server_errors and not sweep.violations, operations=sweep.operations,
                  examples=sweep.examples, server_errors=len(sweep.server_errors),
                  schema_violations=len(sweep.violations), seconds=seconds, cpu_seconds=cpu_seconds,
                  statuses={str(k): v for k, v in sorted(sweep.statuses.items())},
                  slowest_operations={k: round(v, 2) for k, v in slowest})
    print(f"R11: {sweep.operations} operations, {sweep.examples} examples, {seconds}s ({cpu_seconds}s CPU), "
          f"statuses {sweep.statuses}")
    assert sweep.operations > 100 or ONLY != "/"
    assert sweep.server_errors == [], "\n\n".join(sweep.server_errors[:10])
    assert sweep.violations == [], "\n\n".join(sweep.violations[:20])


def test_r11_sweep_catches_a_server_error_and_a_schema_violation(bank, wsgi_app, server_exceptions, monkeypatch):
    """Broken variants: a view that fails on some input, and one that answers a shape its schema does not declare."""
    from rest_framework.response import Response

    from bankcrm.core.api import views as core_views
    from bankcrm.org.api import views as org_views

    users, tokens, schema = sweep_setup(bank, wsgi_app)

    def fragile(self, request):
        return Response([{"date": str(1 // len(request.query_params))}])  # ZeroDivisionError without a query

    monkeypatch.setattr(core_views.CalendarList, "get", fragile)
    monkeypatch.setattr(org_views.MeView, "get", lambda self, request: Response({"unexpected": True}))
    sweep = Sweep()
    fuzz(schema, tokens, users, sweep, server_exceptions, only="/api/v1/calendar/")
    fuzz(schema, tokens, users, sweep, server_exceptions, only="/api/v1/me/")
    assert any("GET /api/v1/calendar/" in e and "ZeroDivisionError" in e for e in sweep.server_errors)
    assert any(v.startswith("GET /api/v1/me/") and "Response violates schema" in v for v in sweep.violations)
