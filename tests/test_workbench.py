"""Role workbenches on the home page (issue #11, reports/workbench.py): for each of the six roles, the section shows the
right figures on a seeded small bank, every figure's link opens (200 for that user) a list that shows the records
counted, the scope holds (supervisor B never sees branch A's figures, customer manager B never sees A's), tiles follow
the employment-type ceilings, each section stays within its query budget, and the home page's shortcuts are cut to
the role's most used pages. Both databases."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import transaction
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bankcrm.core import home, logs, outbox
from bankcrm.core.context_processors import navigation_context
from bankcrm.core.models import (
    AccessEvent,
    ConductSignal,
    OutboxCursor,
    OutboxDelivery,
    OutboxEvent,
    ParameterVersion,
)
from bankcrm.reports import workbench as wb
from tests.conftest import login_client, write_figures
from tests.test_engagement_workbench import build_seeded  # the customer manager's seeded book

pytestmark = pytest.mark.django_db
QUERY_BUDGET = 25
ROLE_USERS = {"customer_manager": "cm_a1", "operations_manager": "om_a1", "risk_manager": "risk",
              "compliance_manager": "compliance", "branch_supervisor": "supervisor_a", "admin": "admin"}


@dataclass
class World:
    s: object          # tests.test_engagement_workbench.Seeded
    bank: object
    pending: object    # a large deposit for li submitted by the temporary worker (A1), waiting for a checker
    large_entry: object
    alert_a: object    # 0501 on zhang (A1)
    alert_b: object    # 0501 on wang (B1), in an escalated case
    case_b: object
    finding_a: object
    finding_a_late: object
    finding_b: object
    signal: object


def _post(actor, mv):
    from bankcrm.ledger import services as ledger

    with transaction.atomic():
        return ledger.post(mv, maker=actor)


@pytest.fixture(scope="module")
def _world_once(django_db_setup, django_db_blocker):
    """The world is built once per module (and per xdist worker) inside a transaction that is rolled back at the end
    of the module; each test runs in its own savepoint inside it (pytest-django's ``db``), so what a test writes is
    undone before the next one, as with a function-scoped fixture. Building it takes about 15 s."""
    from tests.conftest import _build_bank

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            bank = _build_bank()
            yield _build_world(build_seeded(bank))
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def world(_world_once, db) -> World:
    return _world_once


def _build_world(seeded) -> World:
    from bankcrm.ledger import services as ledger
    from bankcrm.risk import services as risk
    from bankcrm.risk.demo import risk_bootstrap
    from bankcrm.risk.models import Alert
    from bankcrm.service.models import Complaint
    from bankcrm.supervision import access_review_services, controls
    from bankcrm.supervision import conduct_services as conduct
    from bankcrm.supervision import finding_services as findings
    from bankcrm.supervision.coverage_services import clauses_install_default
    from bankcrm.supervision.models import Finding
    from bankcrm.wealth import aum
    from tests.wealth_helpers import held_sale, qualify

    s, bank = seeded, seeded.bank
    led = s.w.ledger
    today, now = timezone.localdate(), timezone.now()
    risk_bootstrap(actor=bank.admin)
    clauses_install_default()
    # complaints: li's today is due tomorrow (near), the old one is past its deadline (set-up of the clocks)
    Complaint.objects.filter(pk=s.rows["complaint_li"].pk).update(decision_due_on=today + timedelta(days=1))
    Complaint.objects.filter(pk=s.rows["complaint_old"].pk).update(decision_due_on=today - timedelta(days=1))
    # ledger: a large cash deposit for zhang today (A1) and one for wang (B1); both raise a large-value alert
    large = _post(bank.om_a1, ledger.cash_deposit_movement(actor=bank.om_a1, account_id=led.zhang_cny.pk,
                                                           amount_fen=6_000_000))
    _post(bank.om_b1, ledger.cash_deposit_movement(actor=bank.om_b1, account_id=led.wang_cny.pk, amount_fen=7_000_000))
    while outbox.consume("risk_monitor"):
        pass
    alert_a = Alert.objects.get(rule_code="0501", customer=led.zhang)
    alert_b = Alert.objects.get(rule_code="0501", customer=led.wang)
    with transaction.atomic():
        case_b = risk.case_open(actor=bank.risk, alert_ids=[alert_b.pk], title="王五大额现金")
    with transaction.atomic():
        risk.case_escalate(actor=bank.risk, case_id=case_b.pk, reason="资金来源无法说明，确认可疑并上报")
    # maker-checker: the temporary worker's large deposit for li waits for another operations manager of A1
    answer = ledger.movement_request(actor=bank.temp, mv=ledger.cash_deposit_movement(
        actor=bank.temp, account_id=led.li_cny.pk, amount_fen=8_000_000))
    from bankcrm.approvals.models import PendingAction

    pending = PendingAction.objects.get(pk=answer["approval_id"])
    # supervision: last night's control run, findings in A1 (one past its deadline) and B1
    controls.controls_run(actor=bank.compliance)
    f_a = findings.finding_raise(actor=bank.compliance, source="manual", title="甲一支行风险揭示书缺签", severity="high",
                                 branch_id=bank.a1.pk)
    f_late = findings.finding_raise(actor=bank.compliance, source="manual", title="甲一支行双录缺失",
                                    severity="medium", branch_id=bank.a1.pk)
    Finding.objects.filter(pk=f_late.pk).update(due_on=today - timedelta(days=2))  # set-up: deadline passed
    f_b = findings.finding_raise(actor=bank.compliance, source="manual", title="乙一支行档案不全", severity="low",
                                 branch_id=bank.b1.pk)
    # conduct: cm_a1 unmasked personal data twice today, over a threshold of 2
    ParameterVersion.objects.create(code="conduct.unmask_day", value=2, effective_from=now - timedelta(days=400),
                                    reason="test", created_by=bank.admin)
    for _i in range(2):
        logs.access(actor=bank.cm_a1, view="customers.detail", subject_type="customers.Customer",
                    subject_ids=[led.li.pk], unmasked=True, reason="核实身份")
    conduct.detect_bulk_unmask(today)
    signal = ConductSignal.objects.get(staff=bank.cm_a1)
    # access reviews opened 45 days ago and never done: overdue
    access_review_services.access_reviews_open(today=today - timedelta(days=45))
    # a private product sold to zhang, cooling off
    qualify(bank, led.zhang)
    held_sale(s.w, led.zhang, led.zhang_cny, 1_000_000 * 100)
    # AUM snapshot of today
    aum.snapshot_run(day=today)
    return World(s, bank, pending, large, alert_a, alert_b, case_b, f_a, f_late, f_b, signal)


def board(role, user):
    b = wb.board_for(role, user)
    assert b is not None
    return {t.key: t for t in b.tiles}, b


def page(client, url) -> str:
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return r.content.decode()


# ---- Each role's figures and the records behind them ----------------------------------------------------------------------
def test_customer_manager(world):
    from bankcrm.customers.models import ManagerAssignment
    from bankcrm.wealth.models import Sale

    s, bank = world.s, world.bank
    cm = bank.cm_a1
    tiles, b = board("customer_manager", cm)
    managed = ManagerAssignment.objects.filter(staff=cm, ended_at__isnull=True).values("customer").distinct().count()
    assert tiles["customers"].value == managed >= 2
    assert tiles["tasks"].value == 3 and tiles["tasks"].hint == "其中逾期 1" and tiles["tasks"].tone == "danger"
    assert tiles["followups"].value == 3 and "逾期 1" in tiles["followups"].hint
    assert tiles["complaints"].value == 2 and tiles["complaints"].links[0]["text"] == "超期 1"
    assert tiles["recommendations"].value == 7  # six open, one past its expiry but still open; not wang's or qian's
    held = list(Sale.objects.filter(seller=cm, status="held").values_list("number", flat=True))
    assert tiles["cooling_off"].value == len(held) == 1 and tiles["cooling_off"].hint == "冷静期中 1"
    assert tiles["scorecard"].value is None and tiles["scorecard"].hint == "尚无记分卡"
    assert tiles["aum"].value not in (None, "0.00")
    assert {c["id"] for c in b.charts} == {"cm-aum", "cm-pipeline"}
    client = login_client(cm)
    tasks = page(client, tiles["tasks"].url)
    assert "给李先生回电" in tasks and "张老先生资料补齐" in tasks and "王先生回访" not in tasks
    contacts = page(client, tiles["followups"].url)
    assert "约谈养老规划" in contacts and "上门送生日贺卡" in contacts and "王先生电话" not in contacts
    complaints = page(client, tiles["complaints"].url)
    assert s.rows["complaint_li"].number in complaints and s.rows["complaint_old"].number in complaints
    assert s.rows["complaint_wang"].number not in complaints
    recs = page(client, tiles["recommendations"].url)
    assert all(r.title in recs for r in s.rows["recs"]) and s.rows["rec_wang"].title not in recs
    sales = page(client, tiles["cooling_off"].url)
    assert all(n in sales for n in held)
    customers = page(client, tiles["customers"].url)
    assert s.zhang.customer_no in customers and s.wang.customer_no not in customers


def test_operations_manager(world):
    bank = world.bank
    om = bank.om_a1
    before = AccessEvent.objects.filter(view="reports.workbench").count()
    tiles, b = board("operations_manager", om)
    assert tiles["approvals"].value == 1
    large = tiles["large_today"]
    assert large.value >= 1 and large.url == "" and large.drill["rows"]  # opened in place: no journal list page
    assert any("60,000.00 CNY" in r["cells"] for r in large.drill["rows"])
    assert AccessEvent.objects.filter(view="reports.workbench").count() == before + 1  # the rows shown are logged
    assert tiles["cash_box"].value == "0.00" or tiles["cash_box"].value  # the box exists (build_ledger opened it)
    assert tiles["cash_box"].hint == "今日未轧账" and tiles["cash_box"].tone == "warning"
    week = b.charts[0]
    assert week["id"] == "om-week" and week["has_data"] and sum(week["series"][1]["data"]) >= 1
    client = login_client(om)
    approvals = page(client, tiles["approvals"].url)
    assert f'/approvals/{world.pending.pk}/' in approvals
    for row in large.drill["rows"]:
        if row["url"]:
            page(client, row["url"])
    page(client, tiles["cash_box"].url)
    # the other branch's operations manager sees neither the approval nor A1's large deposit
    other, _b = board("operations_manager", bank.om_b1)
    assert other["approvals"].value == 0
    assert not any("60,000.00 CNY" in r["cells"] for r in other["large_today"].drill["rows"])


def test_risk_manager(world):
    from collections import Counter

    from bankcrm.risk.models import Alert

    bank = world.bank
    tiles, b = board("risk_manager", bank.risk)
    open_alerts = Alert.objects.filter(status__in=Alert.OPEN_STATUSES)  # head office sees every branch
    assert tiles["alerts"].value == open_alerts.count() >= 2
    large = open_alerts.filter(report_kind="large", report__isnull=True)
    assert tiles["large_due"].value == large.count() >= 2  # zhang's and li's deposits of the day, wang's (in a case)
    assert tiles["suspicious_due"].value == 1 and tiles["cases_open"].value == 0
    assert tiles["aml_reviews"].value == 3 and "已逾期 3" in tiles["aml_reviews"].hint  # zhang, wang, qian: 4 days late
    rules = next(c for c in b.charts if c["id"] == "rk-rules")
    by_rule = Counter(open_alerts.values_list("rule_code", flat=True))
    assert dict(zip([label.split()[0] for label in rules["labels"]], rules["series"][0]["data"], strict=True)) == by_rule
    assert rules["labels"][0].startswith("0501")
    daily = next(c for c in b.charts if c["id"] == "rk-daily")
    assert sum(daily["series"][0]["data"]) == large.filter(business_date=timezone.localdate()).count() >= 2
    client = login_client(bank.risk)
    alerts = page(client, tiles["alerts"].url)
    assert f"/risk/alerts/{world.alert_a.pk}/" in alerts and f"/risk/alerts/{world.alert_b.pk}/" in alerts
    assert f"/risk/alerts/{world.alert_a.pk}/" in page(client, rules["urls"][0])  # the 0501 bar
    assert world.case_b.number in page(client, tiles["suspicious_due"].url)
    due = page(client, tiles["aml_reviews"].url)
    assert world.s.zhang.customer_no in due and world.s.wang.customer_no in due
    assert tiles["large_due"].url == reverse("risk:dashboard")  # a risk manager cannot open the reports page
    assert f"A{world.alert_a.pk}" in page(client, tiles["large_due"].url)


def test_compliance_manager(world):
    from collections import Counter

    from bankcrm.supervision.models import AccessReview, Finding

    bank = world.bank
    tiles, b = board("compliance_manager", bank.compliance)
    live = Finding.objects.exclude(status="closed")  # last night's control run raised some too
    assert tiles["findings"].value == live.count() > 3 and tiles["findings_overdue"].value == 1
    labels = dict(Finding._meta.get_field("severity").choices)
    assert {link["text"] for link in tiles["findings"].links} == {
        f"{labels[k]} {n}" for k, n in Counter(live.values_list("severity", flat=True)).items()}
    assert tiles["complaints"].links[0]["text"] == "超期 1"
    assert tiles["conduct"].value == 1
    overdue_reviews = AccessReview.objects.filter(status="open").count()
    assert tiles["access_reviews"].value == overdue_reviews >= 1
    assert tiles["reports_due"].value == 2  # one day of large-value alerts to report, one escalated case
    exc = next(c for c in b.charts if c["id"] == "co-exceptions")
    runs = wb.latest_control_runs()
    assert tiles["controls"].value == sum(1 for r in runs.values() if r.exceptions) == len(exc["labels"])
    client = login_client(bank.compliance)
    found = page(client, tiles["findings"].url)
    assert all(f.number in found for f in (world.finding_a, world.finding_a_late, world.finding_b))
    late = page(client, tiles["findings_overdue"].url)
    assert world.finding_a_late.number in late and world.finding_a.number not in late
    high = page(client, next(link["url"] for link in tiles["findings"].links if link["text"].startswith("高 ")))
    assert world.finding_a.number in high and world.finding_b.number not in high
    assert f"/supervision/conduct/signals/{world.signal.pk}/" in page(client, tiles["conduct"].url)
    page(client, tiles["access_reviews"].url)
    assert world.case_b.number in page(client, tiles["reports_due"].url)
    for url in exc["urls"]:
        page(client, url)


def test_branch_supervisor_and_scope(world):
    s, bank = world.s, world.bank
    a, _ba = board("branch_supervisor", bank.supervisor_a)
    bb, _bb = board("branch_supervisor", bank.supervisor_b)
    assert a["approvals"].value == 1 and bb["approvals"].value == 0
    assert a["complaints"].value == 2 and a["complaints"].hint == "未办结 3"  # li's two and qian's
    assert bb["complaints"].value == 0 and bb["complaints"].hint == "未办结 1"  # wang's only
    from bankcrm.supervision.models import Finding

    live = Finding.objects.exclude(status="closed")
    assert a["findings"].value == live.filter(branch_path__startswith=bank.a.path).count() >= 2
    assert bb["findings"].value == live.filter(branch_path__startswith=bank.b.path).count() >= 1
    assert a["findings_overdue"].value == 1 and bb["findings_overdue"].value == 0
    assert a["csat"].value == "33.3%"  # zhang 1, li 5, qian 1 this quarter (4–5 counts as satisfied)
    assert bb["csat"].value is None
    client = login_client(bank.supervisor_a)
    complaints = page(client, a["complaints"].url)
    assert s.rows["complaint_old"].number in complaints and s.rows["complaint_wang"].number not in complaints
    found = page(client, a["findings"].url)
    assert world.finding_a.number in found and world.finding_b.number not in found
    assert f"/approvals/{world.pending.pk}/" in page(client, a["approvals"].url)
    page(client, a["csat"].url)
    b_client = login_client(bank.supervisor_b)
    assert world.finding_a.number not in page(client=b_client, url=bb["findings"].url)
    # customer manager B sees none of A's book
    cm_b, _b = board("customer_manager", bank.cm_b1)
    assert cm_b["tasks"].value == 1 and cm_b["recommendations"].value == 1 and cm_b["complaints"].hint == "未办结 1"


def test_administrator(world, settings):
    from django_tasks_db.models import DBTaskResult

    from bankcrm.org.models import LoginThrottle, Staff

    bank = world.bank
    now = timezone.now()
    LoginThrottle.objects.create(scope="user", key="cm002", failures=5, locked_until=now + timedelta(minutes=10))
    Staff.objects.filter(pk=bank.cm_b1.pk).update(last_login=None, date_joined=now - timedelta(days=120))  # set-up
    Staff.objects.filter(pk=bank.intern.pk).update(contract_end=timezone.localdate() + timedelta(days=5))  # set-up
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    DBTaskResult.objects.create(status="FAILED", args_kwargs={"args": [], "kwargs": {}}, task_path="bankcrm.core.tasks.run_periodic",
                                backend_name="default", run_after=now, finished_at=now, priority=0, queue_name="default",
                                exception_class_path="builtins.ValueError", traceback="Traceback …")
    outbox.publish("ledger.entry_posted", {"entry_id": 0})
    tiles, b = board("admin", bank.admin)
    assert tiles["locked"].value == 1
    assert tiles["dormant"].value == 1
    assert tiles["contracts"].value == 1 and bank.intern.staff_no in tiles["contracts"].drill["rows"][0]["cells"][0]
    assert tiles["failed_jobs"].value == 1 and tiles["failed_jobs"].drill["rows"][0]["cells"][0] == "run_periodic"
    assert tiles["outbox"].value >= 1
    backlog = {r["consumer"]: r["pending"] for r in wb.outbox_backlog(now)}
    assert backlog["risk_monitor"] == 1  # drained in the set-up: only the event just published
    for name, (topics, _h) in outbox.CONSUMERS.items():  # the set-based count agrees with a naive one per consumer
        below = OutboxCursor.objects.filter(consumer=name).values_list("below", flat=True).first() or 0
        done = set(OutboxDelivery.objects.filter(consumer=name).values_list("event_id", flat=True))
        naive = [e for e in OutboxEvent.objects.filter(id__gt=below, topic__in=topics).values_list("id", flat=True)
                 if e not in done]
        assert backlog[name] == len(naive), name
    assert tiles["outbox"].value == sum(backlog.values())
    assert tiles["audit"].value == "从未校验"
    client = login_client(bank.admin)
    page(client, tiles["locked"].url)
    dormant = page(client, tiles["dormant"].url)
    assert bank.cm_b1.staff_no in dormant
    page(client, tiles["contracts"].drill["rows"][0]["url"])
    client.post("/audit/verify/")
    tiles, b = board("admin", bank.admin)
    assert tiles["audit"].value == "完整" and tiles["audit"].tone == "success"
    assert "core.audit_verified" in tiles["audit"].url and "校验审计链" in page(client, tiles["audit"].url)
    logins = b.charts[0]
    assert logins["id"] == "ad-logins"
    page(client, logins["series"][0]["url"])


# ---- Every link, every role; query budget; ceilings; the page itself --------------------------------------------------------
def test_every_link_opens_for_its_user_and_each_section_fits_its_query_budget(world):
    rf = RequestFactory()
    figures = {}
    for role, attr in ROLE_USERS.items():
        user = getattr(world.bank, attr)
        request = rf.get("/")
        request.user = user
        navigation_context(request)  # the page's own menu and inbox count, computed once per request
        section = home.SECTIONS[f"reports.workbench.{role}"]
        with CaptureQueriesContext(transaction.get_connection()) as ctx:
            context = section.context(request)
            html = render_to_string(section.template, context, request=request)
        figures[role] = len(ctx.captured_queries)
        assert len(ctx.captured_queries) <= QUERY_BUDGET, (role, len(ctx.captured_queries))
        client = login_client(user)
        urls = set(re.findall(r'href="(/[^"#]*)"', html))
        for c in context["wb"].charts:
            urls |= {u for u in [c["url"], *c["urls"], *(s.get("url", "") for s in c["series"])] if u}
        assert urls
        for url in sorted(urls):
            r = client.get(url.replace("&amp;", "&"))
            assert r.status_code == 200, (role, url, r.status_code)
        for tile in context["wb"].tiles:
            assert tile.url or tile.drill is not None or tile.value is None, (role, tile.key)  # every number goes somewhere
    write_figures("workbench-queries", True, **figures)


def test_tiles_follow_capabilities_and_roles(world):
    bank = world.bank
    temp, _t = board("operations_manager", bank.temp)  # a temporary worker never approves
    assert "approvals" not in temp and "large_today" in temp
    assert wb.board_for("risk_manager", bank.cm_a1) is None and wb.board_for("admin", bank.compliance) is None
    rf = RequestFactory()
    request = rf.get("/")
    request.user = bank.cm_a1
    assert [s["code"] for s in home.render_for(request) if s["code"].startswith("reports.")] == \
        ["reports.workbench.customer_manager"]


def test_home_page_sections_shortcuts_and_languages(world, client):
    from bankcrm.core.navigation import entries_for

    assert client.get("/").status_code == 302  # anonymous: to the login page
    bank = world.bank
    for role, attr in ROLE_USERS.items():
        user = getattr(bank, attr)
        c = login_client(user)
        html = page(c, "/")
        assert f'data-role="{role}"' in html and html.index(f'data-role="{role}"') < html.index('data-testid="shortcuts"')
        shortcuts = html[html.index('data-testid="shortcuts"'):]
        n = shortcuts.count('class="quick-card"')
        menu = sum(len(g["items"]) for g in entries_for(user)) - 1
        assert 8 <= n <= 12 or n == menu, (role, n, menu)
        assert n <= menu
    c = login_client(bank.compliance)
    c.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = page(c, "/")
    assert 'lang="en"' in html and 'data-role="compliance_manager"' in html


def test_shortcuts_interleave_roles_and_fall_back_to_the_menu():
    class U:
        roles = frozenset({"x_role", "y_role"})

    groups = [{"items": [{"url_name": n, "label": n} for n in ("core:home", "a", "b", "c", "d", "e")]}]
    home.register_shortcuts("x_role", ["c", "a", "zz"])
    home.register_shortcuts("y_role", ["e", "c"])
    try:
        assert [i["url_name"] for i in home.shortcuts_for(U(), groups)] == ["c", "e", "a"]
        U.roles = frozenset({"nobody"})
        assert [i["url_name"] for i in home.shortcuts_for(U(), groups)] == ["a", "b", "c", "d", "e"]
    finally:
        home.SHORTCUTS.pop("x_role")
        home.SHORTCUTS.pop("y_role")


def test_tile_rows_are_even():
    tiles = [wb.Tile(str(i), "x", i) for i in range(11)]
    assert [len(r) for r in wb.tile_rows(tiles[:9])] == [5, 4]
    assert [len(r) for r in wb.tile_rows(tiles[:6])] == [3, 3]
    assert [len(r) for r in wb.tile_rows(tiles[:5])] == [5]
    assert [len(r) for r in wb.tile_rows(tiles)] == [4, 4, 3]
    assert [t.key for r in wb.tile_rows(tiles) for t in r] == [t.key for t in tiles]
    assert wb.tile_rows([]) == []


def test_every_shortcut_is_a_menu_entry():
    from bankcrm.core.navigation import ENTRIES
    from bankcrm.reports.workbench_nav import SHORTCUTS

    names = {e.url_name for e in ENTRIES}
    assert set(SHORTCUTS) == set(wb.BUILDERS)
    for role, urls in SHORTCUTS.items():
        assert 8 <= len(urls) <= home.SHORTCUT_LIMIT and len(set(urls)) == len(urls), role
        assert set(urls) <= names, (role, set(urls) - names)
