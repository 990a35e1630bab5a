"""The partner demo seeder on a small bank (the full demo runs it too, in test_demo_bank): three partners with keys,
the fund company's sales queued to an endpoint that refuses connections, the first tried and due again in a minute, the other waiting for the next run, the clearing
house's settlements made from the ledger's outward transfers, and real calls in the call log, answered and refused."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.core import context, demo
from bankcrm.partners.demo import FUND_ISSUER, INSURER_NAME, seed_partners
from bankcrm.partners.models import ApiCall, ApiKey, Partner, PartnerEvent, PartnerProduct, WebhookDelivery

pytestmark = pytest.mark.django_db


def test_partner_demo_on_a_small_bank(bank):
    from bankcrm.ledger import services as ledger
    from bankcrm.wealth import services as wealth
    from tests.wealth_helpers import build_wealth, product

    w = build_wealth(bank)
    bond = product(bank, "RF-BOND-A", kind="fund", issuer=FUND_ISSUER)
    product(bank, "CM-VALUE-A", kind="fund", issuer="澄明基金管理有限公司")
    annuity = product(bank, "KN-ANN-10", kind="insurance", issuer=INSURER_NAME)
    for amount in (20_000, 30_000):
        s = wealth.sale_propose(actor=bank.cm_a1, customer_id=w.li.pk, product_id=bond.pk,
                                account_id=w.ledger.li_cny.pk, amount_fen=amount * 100)
        wealth.sale_confirm(actor=bank.cm_a1, sale_id=s.pk, disclosure_confirmed=True)
    mv = ledger.outward_transfer_movement(actor=bank.om_a1, from_account_id=w.ledger.li_cny.pk, amount_fen=88_000,
                                          bank="招商银行上海分行", name="周晓梅", account_no="6225880211223344")
    ledger.post(mv, maker=bank.om_a1)
    lines: list[str] = []
    ctx = demo.SeedContext(rng=random.Random(1), options={}, out=lines.append, state={"admin": bank.admin})
    with context.channel("command"):
        seed_partners(ctx)
    assert set(Partner.objects.values_list("kind", flat=True)) == {"insurer", "fund_company", "clearing_house"}
    fund, house = Partner.objects.get(code="RFFUND"), Partner.objects.get(code="CSCLEAR")
    assert list(PartnerProduct.objects.filter(partner=fund).values_list("product__code", flat=True)) == ["RF-BOND-A"]
    assert PartnerProduct.objects.filter(partner__code="KNLIFE", product=annuity).exists()
    # the fund's key was rotated this morning: the old one is in its grace
    states = sorted(k.state(timezone.now()) for k in ApiKey.objects.filter(partner=fund))
    assert states == ["active", "grace"]
    # two sales → two events, each queued to the refusing endpoint and retried with backoff
    deliveries = list(WebhookDelivery.objects.filter(endpoint__partner=fund))
    assert PartnerEvent.objects.filter(partner=fund, type="sale.settled").count() == len(deliveries) == 2
    failed = [d for d in deliveries if d.status == "failed"]
    assert len(failed) == 1 and failed[0].attempts == 1 and failed[0].last_status_code is None and failed[0].last_error
    assert timezone.now() < failed[0].next_attempt_at <= timezone.now() + timedelta(minutes=1)
    # the endpoint being down, the other waits for the next run without spending an attempt
    assert [(d.status, d.attempts) for d in deliveries if d not in failed] == [("pending", 0)]
    assert PartnerEvent.objects.filter(partner=house, type="settlement.outward").count() == 1
    calls = dict(ApiCall.objects.values_list("path", "status").order_by("id"))
    assert calls["/api/v1/partner/me/"] == 200 and calls["/api/v1/partner/products/CM-VALUE-A/navs/"] == 404
    assert calls["/api/v1/partner/products/KN-ANN-10/navs/"] == 403
    assert any("合作机构 3 家" in line for line in lines)
