"""Scorecard computation equals a hand-written SQL reference on seeded data (issue #8; QUALITY.md P7).

The seed (benchmarks/bench_people.seed) writes a small bank with every kind of row the metrics read, including the
edge cases (handovers inside the quarter, customers new in the quarter, answers and complaints just outside it,
decisions on the due date and after it, staff with two roles, departed staff, a missing first AUM snapshot). The
product's ``scorecards_compute`` and ``people.appraisal_reference`` (one SQL statement per scheme, integer arithmetic
in SQL) must agree on every line and every total."""

from __future__ import annotations

import pytest
from django.db import transaction

from bankcrm.ledger import services as ledger
from bankcrm.people import appraisal_reference as ref
from bankcrm.people import appraisal_services as svc
from bankcrm.people.models import Scorecard, ScorecardLine
from benchmarks.bench_people import seed
from tests.conftest import write_figures


@pytest.fixture
def seeded(bank):
    ledger.ledger_bootstrap(actor=bank.admin)
    info = seed(bank.admin, 120, rng_seed=7)
    with transaction.atomic():
        svc.schemes_install_default(actor=bank.admin)
        period = svc.period_open(actor=bank.admin, year=2026, quarter=3)
    return bank, period, info


def test_product_equals_hand_written_sql(seeded):
    bank, period, _info = seeded
    counts = svc.scorecards_compute(actor=bank.admin, period_id=period.pk)
    got, want = ref.product_scores(period), ref.reference_scores(period)
    diffs = ref.differences(got, want)
    write_figures("P7-sql-reference", not diffs, staff=len(want), mismatches=len(diffs))
    assert not diffs, "\n".join(diffs)
    # the seed exercises every metric: some measured lines and some not, on every scheme
    assert counts["created"] == len(want) > 100
    measured = {m for card in want.values() for m, line in card["lines"].items() if line[0] is not None}
    assert measured >= {"csat", "nps", "complaint_rate", "complaint_deadline", "retention", "aum_growth",
                        "new_customers", "needs_met", "return_visits", "visits_on_time", "dd_on_time", "findings",
                        "training"}
    roles = {card["role"] for card in want.values()}
    assert roles == {"branch_supervisor", "customer_manager", "operations_manager", "risk_manager",
                     "compliance_manager"}
    # scores spread (not all zero or all full marks)
    totals = sorted(card["total"] for card in want.values())
    assert totals[0] < totals[-1]


def test_recompute_is_idempotent_and_keeps_reviewed_cards(seeded):
    bank, period, _info = seeded
    svc.scorecards_compute(actor=bank.admin, period_id=period.pk)
    first = ref.product_scores(period)
    card = Scorecard.objects.filter(period=period, role="customer_manager").order_by("pk").first()
    Scorecard.objects.filter(pk=card.pk).update(status="reviewed", review_adjustment=100,
                                                final_score=card.computed_score + 100)
    lines_before = ScorecardLine.objects.count()
    counts = svc.scorecards_compute(actor=bank.admin, period_id=period.pk)
    assert counts["created"] == 0 and counts["kept"] == 1 and counts["updated"] == len(first) - 1
    assert ScorecardLine.objects.count() == lines_before
    assert ref.product_scores(period) == first
    card.refresh_from_db()
    assert card.status == "reviewed" and card.review_adjustment == 100


def test_bank_wide_path_without_in_list_agrees(seeded, monkeypatch):
    """Above metrics.BIG_IN staff the aggregate runs over all rows and picks the staff in Python: same figures."""
    from bankcrm.people import metrics

    bank, period, _info = seeded
    monkeypatch.setattr(metrics, "BIG_IN", 5)
    svc.scorecards_compute(actor=bank.admin, period_id=period.pk)
    diffs = ref.differences(ref.product_scores(period), ref.reference_scores(period))
    assert not diffs, "\n".join(diffs)


def test_inspection_findings_count_in_both_and_control_findings_do_not(seeded):
    """Supervision registers its inspection and manual findings into the ``findings`` metric; the reference SQL
    counts the same rows, and automated control findings are counted by neither."""
    from datetime import datetime

    from django.utils import timezone

    from bankcrm.org.models import Staff
    from bankcrm.supervision import finding_services as fs
    from bankcrm.supervision.models import Finding

    bank, period, _info = seeded
    cm = Staff.objects.filter(role_assignments__role="customer_manager", is_active=True).order_by("pk").first()

    def findings_numerator() -> int:
        Scorecard.objects.filter(period=period).delete()
        svc.scorecards_compute(actor=bank.admin, period_id=period.pk)
        assert not ref.differences(ref.product_scores(period), ref.reference_scores(period))
        return Scorecard.objects.get(period=period, staff=cm).lines.get(metric="findings").numerator

    before = findings_numerator()
    with transaction.atomic():
        for source in ("manual", "inspection", "control"):
            fs.finding_raise(actor=bank.compliance, source=source, title=f"{source} 发现", severity="medium",
                             branch_id=cm.branch_id, staff_id=cm.pk, key="t:1" if source == "control" else "")
    Finding.objects.update(raised_at=timezone.make_aware(datetime(period.starts_on.year, period.starts_on.month, 15, 10)))
    assert findings_numerator() == before + 2
