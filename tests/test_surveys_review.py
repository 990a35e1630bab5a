"""Review additions (issue #7): a campaign run records each customer's latest product (batched), a second click on
"run" answers with a message, and another branch's campaign answers 404 to run and send."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from bankcrm.surveys.models import Invitation
from tests.conftest import login_client
from tests.ledger_helpers import build_ledger
from tests.test_surveys_tokens import consent, periodic_campaign

pytestmark = pytest.mark.django_db


def test_run_twice_products_and_other_branch_on_the_pages(bank):
    from bankcrm.ledger.models import Account

    led = build_ledger(bank)
    consent(bank, led.zhang)
    c = periodic_campaign(bank.supervisor_a, per_manager=5, min_interval_days=0)
    sup = login_client(bank.supervisor_a)
    # another branch's supervisor: 404 for run and send, nothing sampled
    other = login_client(bank.supervisor_b)
    for name in ("surveys:campaign_run", "surveys:campaign_dispatch"):
        assert other.post(reverse(name, args=[c.pk])).status_code == 404
    assert not Invitation.objects.filter(campaign=c).exists()
    assert sup.post(reverse("surveys:campaign_run", args=[c.pk])).status_code == 302
    inv = Invitation.objects.get(campaign=c, customer=led.zhang)
    latest = (Account.objects.filter(customer=led.zhang, kind="customer").select_related("product")
              .order_by("-opened_at", "-id").first())
    assert latest is not None and inv.product == latest.product.name != ""
    again = sup.post(reverse("surveys:campaign_run", args=[c.pk]))  # the second click
    assert again.status_code == 302
    assert any("campaign_period_done" in str(m) for m in get_messages(again.wsgi_request))
    assert Invitation.objects.filter(campaign=c).count() == 1
