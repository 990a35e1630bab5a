"""Issue 11's role workbenches in the browser: each of the six roles signs in, finds its workbench at the top of the
home page with its figures and ECharts charts drawn, follows a number to the records behind it, and looks at the page
in Chinese and in English. Screenshots in var/screenshots (workbench-<role>-zh.png, workbench-<role>-en.png)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.test_ledger_flow import login_with_totp
from tests.e2e.test_login_flows import login, shot
from tests.test_engagement_workbench import build_seeded
from tests.test_workbench import _build_world

pytestmark = [pytest.mark.e2e]

# role → (bank attribute, staff number, a tile to follow, text the list behind it shows)
ROLES = {
    "customer_manager": ("cm_a1", "CM001", "tasks", "给李先生回电"),
    "operations_manager": ("om_a1", "OM001", "approvals", "CNY"),
    "risk_manager": ("risk", "RK001", "alerts", "0501"),
    "compliance_manager": ("compliance", "CO001", "findings_overdue", "甲一支行双录缺失"),
    "branch_supervisor": ("supervisor_a", "SV101", "complaints", "上月的旧投诉事由"),
    "admin": ("admin", "AD001", "dormant", "CM002"),
}
PRIVILEGED = {"operations_manager", "risk_manager", "compliance_manager", "branch_supervisor", "admin"}


def _charts_drawn(page) -> None:
    """Every chart with data has its canvas; a chart without data says why instead."""
    for chart in page.locator("[data-testid=wb-chart]").all():
        chart.locator("canvas").first.wait_for()


@pytest.fixture
def world(bank):
    """The workbench tests' world, built in this (transactional) test: the live server's threads must see it."""
    return _build_world(build_seeded(bank))


def test_each_role_sees_its_workbench_and_follows_a_number(live_server, transactional_db, world, browser_context):
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from bankcrm.org.models import Staff

    bank = world.bank
    Staff.objects.filter(pk=bank.cm_b1.pk).update(last_login=None, date_joined=timezone.now() - timezone.timedelta(days=120))
    base = live_server.url
    for role, (attr, staff_no, tile, expect) in ROLES.items():
        user = getattr(bank, attr)
        page = browser_context()
        if role in PRIVILEGED:
            device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
            login_with_totp(page, base, staff_no, device)
        else:
            login(page, base, staff_no, PASSWORD)
            page.wait_for_selector("[data-testid=welcome]")
        section = page.locator(f"[data-testid=role-workbench][data-role={role}]")
        section.wait_for()
        # the workbench comes first, before the other sections and the shortcuts
        assert page.locator("[data-home-section]").first.get_attribute("data-home-section") == f"reports.workbench.{role}"
        assert section.locator("[data-testid=wb-tile]").count() >= 5
        assert page.locator("[data-testid=shortcuts] .quick-card").count() <= 12
        _charts_drawn(page)
        shot(page, f"workbench-{role}-zh")
        if role == "operations_manager":  # today's large transactions open in place
            section.locator("[data-tile=large_today] [data-testid=wb-value]").click()
            page.locator("[data-testid=wb-drill][data-tile=large_today]").wait_for(state="visible")
            assert page.locator("[data-testid=wb-drill][data-tile=large_today] [data-testid=wb-drill-row]").count() >= 1
        page.click("[data-testid=lang-en]")
        page.wait_for_selector("html[lang=en]")
        section.wait_for()
        _charts_drawn(page)
        shot(page, f"workbench-{role}-en")
        page.click("[data-testid=lang-zh]")
        page.wait_for_selector("html[lang=zh-CN]")
        section.locator(f"[data-tile={tile}] [data-testid=wb-value]").click()
        page.wait_for_load_state()
        assert page.url.startswith(base) and page.url.rstrip("/") != base
        assert expect in page.content(), (role, page.url)
