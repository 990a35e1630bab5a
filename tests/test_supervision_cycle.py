"""Process cycle times (issue #10): medians and nearest-rank p90 per period and branch, against hand-computed values;
scope; the page and the API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from bankcrm.supervision import cycle_selectors as cy
from tests.conftest import login_client

TZ = timezone.get_default_timezone()


def test_summary_hand_computed():
    assert cy.summarise([4, 1, 10, 3, 2]) == {"n": 5, "median_h": 3, "p90_h": 10}
    assert cy.summarise([1, 2, 3, 4]) == {"n": 4, "median_h": 2.5, "p90_h": 4}
    assert cy.summarise(list(range(1, 21))) == {"n": 20, "median_h": 10.5, "p90_h": 18}
    assert cy.summarise([]) == {"n": 0, "median_h": None, "p90_h": None}


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1, max_size=200))
def test_p90_is_a_member_and_bounds_the_median(values):
    s = cy.summarise(values)
    v = sorted(values)
    assert round(cy.p90(v), 2) == s["p90_h"] and cy.p90(v) in v
    assert sum(1 for x in v if x <= cy.p90(v)) >= 0.9 * len(v)
    assert s["median_h"] <= s["p90_h"] + 0.01


def test_periods():
    assert cy.period_of(date(2025, 5, 3), "month") == "2025-05"
    assert cy.period_of(date(2025, 5, 3), "quarter") == "2025-Q2"
    assert cy.periods_between(date(2024, 11, 5), date(2025, 2, 1), "month") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert cy.periods_between(date(2024, 11, 5), date(2025, 4, 1), "quarter") == ["2024-Q4", "2025-Q1", "2025-Q2"]
    assert cy._group_path("/001/101/10101/", None) == "/001/101/"
    assert cy._group_path("/001/", None) == "/001/"
    assert cy._group_path("/001/101/10101/", "/001/101/") == "/001/101/10101/"


def _pending(bank, maker, start: datetime, hours: float, status="executed"):
    from bankcrm.approvals.models import PendingAction

    pa = PendingAction.objects.create(action_code="test", payload={}, payload_hash="x", summary="t", maker=maker,
                                      branch_path=maker.branch.path, expires_at=start + timedelta(days=1),
                                      status=status, decided_at=start + timedelta(hours=hours))
    PendingAction.objects.filter(pk=pa.pk).update(created_at=start)
    return pa


@pytest.mark.django_db
def test_approval_cycle_times_per_month_and_branch(bank):
    jan, feb = datetime(2025, 1, 10, 9, tzinfo=TZ), datetime(2025, 2, 3, 9, tzinfo=TZ)
    for h in (1, 2, 3, 4, 10):
        _pending(bank, bank.om_a1, jan, h)        # branch A: January
    for h in (5, 7):
        _pending(bank, bank.om_b1, jan, h)        # branch B: January
    for h in (2, 6):
        _pending(bank, bank.om_a1, feb, h)        # branch A: February
    _pending(bank, bank.om_a1, feb, 100, status="expired")  # not a decision
    out = cy.cycle_times(bank.compliance, start=date(2025, 1, 1), end=date(2025, 3, 31), processes=["approval"])
    jan_row, feb_row, mar_row = out["series"]["approval"]
    # January: 1,2,3,4,5,7,10 → median 4, p90 = 7th of 7 → 10
    assert jan_row == {"period": "2025-01", "n": 7, "median_h": 4, "p90_h": 10}
    assert feb_row == {"period": "2025-02", "n": 2, "median_h": 4, "p90_h": 6}
    assert mar_row["n"] == 0 and mar_row["median_h"] is None
    by_branch = {r["branch"]: r for r in out["branches"]}
    # 甲分行 (A and its sub-branch A1): 1,2,3,4,10,2,6 → sorted 1,2,2,3,4,6,10: median 3, p90 10
    assert by_branch["甲分行"]["n"] == 7 and by_branch["甲分行"]["median_h"] == 3 and by_branch["甲分行"]["p90_h"] == 10
    assert by_branch["乙分行"] == {**by_branch["乙分行"], "n": 2, "median_h": 6, "p90_h": 7}
    # quarter granularity
    q = cy.cycle_times(bank.compliance, start=date(2025, 1, 1), end=date(2025, 3, 31), granularity="quarter",
                       processes=["approval"])
    assert q["series"]["approval"] == [{"period": "2025-Q1", "n": 9, "median_h": 4, "p90_h": 10}]
    # scope: supervisor of A sees A's cases only; a chosen branch outside their scope is ignored
    sa = cy.cycle_times(bank.supervisor_a, start=date(2025, 1, 1), end=date(2025, 1, 31), processes=["approval"],
                        branch_path=bank.b.path)
    assert sa["series"]["approval"][0]["n"] == 5 and sa["root"] == bank.a.path
    # compliance narrowing to branch B
    sb = cy.cycle_times(bank.compliance, start=date(2025, 1, 1), end=date(2025, 1, 31), processes=["approval"],
                        branch_path=bank.b.path)
    assert sb["series"]["approval"][0] == {"period": "2025-01", "n": 2, "median_h": 6, "p90_h": 7}
    # no capability: nothing
    assert cy.cycle_times(bank.cm_a1, start=date(2025, 1, 1), end=date(2025, 1, 31))["series"] == {}


@pytest.mark.django_db
def test_account_opening_cycle(bank):
    from bankcrm.customers.models import Customer
    from bankcrm.ledger.models import Account
    from tests.ledger_helpers import build_ledger

    led = build_ledger(bank)
    start = datetime(2025, 3, 1, 10, tzinfo=TZ)
    for cust, hours in ((led.zhang, 1), (led.li, 3), (led.wang, 48)):
        Customer.objects.filter(pk=cust.pk).update(created_at=start)
        Account.objects.filter(customer=cust).update(opened_at=start + timedelta(hours=hours))
    out = cy.cycle_times(bank.compliance, start=date(2025, 3, 1), end=date(2025, 3, 31), processes=["account_opening"])
    assert out["series"]["account_opening"] == [{"period": "2025-03", "n": 3, "median_h": 3, "p90_h": 48}]


@pytest.mark.django_db
def test_cycle_page_and_api(bank):
    _pending(bank, bank.om_a1, datetime.combine(timezone.localdate().replace(day=1), time(9), TZ), 2)
    co = login_client(bank.compliance)
    r = co.get(reverse("supervision:cycle"))
    assert r.status_code == 200 and 'id="sv-cycle-data"' in r.content.decode() and "复核审批" in r.content.decode()
    r = co.get(reverse("supervision:cycle"), {"granularity": "quarter", "branch": bank.a.path})
    assert r.status_code == 200
    r = co.get(reverse("supervision:cycle"), {"start": "2025-05", "end": "2025-01"})
    assert 'data-testid="field-error-end"' in r.content.decode()
    assert login_client(bank.cm_a1).get(reverse("supervision:cycle")).status_code == 403
    api = co.get("/api/v1/supervision/cycle-times/", {"process": "approval"})
    assert api.status_code == 200, api.content
    body = api.json()
    assert body["series"][0]["process"] == "approval" and body["method"]
    assert any(p["n"] == 1 and p["median_h"] == 2 for p in body["series"][0]["points"])
    assert co.get("/api/v1/supervision/cycle-times/", {"process": "nope"}).status_code == 400
    assert login_client(bank.cm_a1).get("/api/v1/supervision/cycle-times/").status_code == 403
