"""The demo bank at its small size, seeded once by every seeder in order (what `make demo` does, with fewer customers
and transactions), then each app's demo checks on it. Seeding is the expensive part (about a minute on PostgreSQL),
so the apps share one seed instead of seeding their own: engagement (the planted patterns give a model that beats
the baseline), staff conduct (every kind of signal, nothing new on a rerun), supervision (the matrix has live
figures, findings in every state the walk needs) and, last because it sells to the scenario customer, wealth (the
ledger and sales invariants)."""

from __future__ import annotations

import random

import pytest

from bankcrm.core import context, demo
from tests.test_engagement_models import check_engagement_demo
from tests.test_supervision_conduct import check_conduct_demo
from tests.test_wealth_demo import check_wealth_demo

pytestmark = pytest.mark.django_db

SMALL = {"seed": 20261128, "customers": 0, "transactions": 600, "customers_per_manager": 5}


def check_supervision_demo(ctx, lines) -> None:
    from bankcrm.supervision import controls
    from bankcrm.supervision.models import Clause, ControlRun, Finding, Inspection

    assert Clause.objects.count() == 25
    runs = ControlRun.objects.filter(status="done")
    assert set(runs.values_list("control", flat=True)) == {c.code for c in controls.automated()}
    assert runs.filter(exceptions__gt=0).exists()
    # key posts took their leave before the checks ran: only the one planted exception each
    assert runs.get(control="mandatory_leave_overdue").exceptions == 1
    assert runs.get(control="rotation_overdue").exceptions == 1
    assert set(Finding.objects.values_list("status", flat=True)) >= {"open", "closed"}
    assert Inspection.objects.filter(status="completed").exists()


def check_risk_history(ctx, lines) -> None:
    """Nothing of the seeded history is left for the relay to replay when the demo starts (it would raise months-old
    alerts as new), and the bank reported its past large-value transactions in time: none is overdue."""
    from django.utils import timezone

    from bankcrm.reports import workbench as wb
    from bankcrm.risk.models import Alert, DueDiligence, RegulatoryReport

    today = timezone.localdate()
    assert [r for r in wb.outbox_backlog(timezone.now()) if r["pending"]] == []
    assert not Alert.objects.filter(report_kind="large", report__isnull=True, due_on__lt=today).exists()
    assert RegulatoryReport.objects.filter(kind="large", status="submitted").exists()
    assert Alert.objects.filter(status="new").exists()  # the last days' alerts wait for the risk managers
    assert DueDiligence.objects.filter(status="done").exists()
    assert any("历史交易监测" in line for line in lines)


def test_the_small_demo_bank(settings, tmp_path):
    from bankcrm.ledger import services as ledger

    settings.VAR_DIR = tmp_path  # the TOTP seeder writes its secrets file there
    ledger._INTERNAL_IDS.clear()  # ids cached by earlier tests (a fresh process has none)
    ledger._CUSTOMER_KIND.clear()
    lines: list[str] = []
    ctx = demo.SeedContext(rng=random.Random(SMALL["seed"]), options=dict(SMALL), out=lines.append)
    with context.channel("command"):
        for seeder in sorted(demo.SEEDERS.values(), key=lambda s: s.order):
            seeder.run(ctx)
    check_engagement_demo(ctx, lines)
    check_conduct_demo(ctx, lines)
    check_supervision_demo(ctx, lines)
    check_risk_history(ctx, lines)
    check_wealth_demo(ctx, lines)
