"""Shared set-up for wealth tests: the ledger, the default questionnaire, assessed and funded customers, and a shelf
of products put on sale through maker-checker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from bankcrm.approvals.services import approval_approve
from bankcrm.customers import services as customer_services
from bankcrm.ledger.models import Product
from bankcrm.risk import suitability as suit
from bankcrm.wealth import services
from bankcrm.wealth.models import WealthProduct
from tests.ledger_helpers import build_ledger, fund
from tests.test_risk_suitability import answers_for

CNY = 100  # fen per yuan


def assess(bank, customer, level: int, actor=None):
    return suit.suitability_assess(actor=actor or bank.cm_a1, customer_id=customer.pk, answers=answers_for(level),
                                   face_to_face=True)


def product(bank, code: str, *, level: int = 2, kind: str = "wealth", private: bool = False, shelve: bool = True,
            **extra) -> WealthProduct:
    today = timezone.localdate()
    fields = dict(code=code, name=f"测试产品{code}", kind=kind, issuer="测试理财有限公司", risk_level=level,
                  min_amount_fen=10_000 * CNY, step_fen=1_000 * CNY, sales_start=today - timedelta(days=10),
                  private=private, description="产品说明书正文", risk_disclosure="风险揭示书正文")
    if kind == "deposit":
        fields.update(risk_level=0, ledger_product_id=Product.objects.get(code="T-1Y").pk, min_amount_fen=50 * CNY,
                      step_fen=CNY)
    if kind == "insurance":
        fields.update(open_ended=False, maturity_date=today + timedelta(days=3650))
    fields.update(extra)
    p = services.product_save(actor=bank.admin, **fields)
    if shelve:
        r = services.product_shelf_request(actor=bank.admin, product_id=p.pk, action="on")
        approval_approve(actor=bank.compliance, pending_id=r["approval_id"])
        p.refresh_from_db()
    return p


@dataclass
class Wealth:
    bank: object
    ledger: object
    zhang: object      # 78 years old (born 1948), C4, A1, managed by cm_a1
    li: object         # born 1985, C3, A1
    products: dict = field(default_factory=dict)


def build_wealth(bank, *, balance_fen: int = 1_500_000 * CNY) -> Wealth:
    led = build_ledger(bank)
    suit.questionnaire_install_default(actor=bank.admin)
    assess(bank, led.zhang, 4)
    assess(bank, led.li, 3)
    fund(led.zhang_cny, balance_fen, teller=bank.om_a1)
    fund(led.li_cny, balance_fen, teller=bank.om_a1)
    for c in (led.zhang, led.li):
        customer_services.consent_grant(actor=bank.cm_a1, customer_id=c.pk, purpose="marketing", channel="branch",
                                        evidence="营销同意书")
    w = Wealth(bank=bank, ledger=led, zhang=led.zhang, li=led.li)
    w.products = {"R2": product(bank, "WM-R2", level=2), "R3": product(bank, "WM-R3", level=3),
                  "R4": product(bank, "WM-R4", level=4),
                  "PRIV": product(bank, "PE-R3", level=3, private=True, min_amount_fen=1_000_000 * CNY),
                  "DEP": product(bank, "TD-1Y", kind="deposit")}
    return w


# ---- Added by the tests helper (test_wealth_pos/holds/settlement/visits/payouts/shelf) -------------------------------
def approve(bank, result: dict, checker=None):
    """Approve a pending request returned by a ``*_request`` service (the compliance manager by default)."""
    from bankcrm.approvals.services import approval_approve

    return approval_approve(actor=checker or bank.compliance, pending_id=result["approval_id"])


def freeze(bank, account, *, unfreeze: bool = False) -> None:
    """Freeze (or unfreeze) an account the way the bank does: an operations manager asks, a supervisor approves."""
    from bankcrm.ledger import services as ledger

    r = ledger.account_status_request(actor=bank.om_a1, account_id=account.pk,
                                      action="unfreeze" if unfreeze else "freeze", reason="司法冻结（测试）")
    pa = approve(bank, r, bank.supervisor_a)
    assert pa.status == "executed", pa.result


def qualify(bank, customer, actor=None):
    return services.qualified_investor_certify(actor=actor or bank.cm_a1, customer_id=customer.pk, basis="income",
                                               experience_years=3, evidence="纳税记录 2022-2024")


def held_sale(w, customer, account, amount_fen: int, product=None, *, seller=None):
    """A private sale proposed and confirmed: its amount held on ``account``, cooling off (not settled)."""
    seller = seller or w.bank.cm_a1
    s = services.sale_propose(actor=seller, customer_id=customer.pk, product_id=(product or w.products["PRIV"]).pk,
                              account_id=account.pk, amount_fen=amount_fen, customer_initiated=True)
    rec = {}
    if s.recording_required:  # an elderly customer: the sale was recorded in a 双录 booth
        rec = dict(recording_id=f"SL-{s.pk}", recording_booth="甲一支行双录区1",
                   recorded_at=timezone.now() - timedelta(minutes=1))
    s = services.sale_confirm(actor=seller, sale_id=s.pk, disclosure_confirmed=True, **rec)
    assert s.status == "held" and s.cooling_off_ends_at, s.status
    return s


def holds_consistent() -> list[tuple[int, int, int]]:
    """Accounts whose ``held_fen`` differs from the sum of their active holds: (account, held_fen, sum)."""
    from django.db.models import Q, Sum

    from bankcrm.ledger.models import Account

    rows = Account.objects.annotate(active=Sum("holds__amount_fen", filter=Q(holds__status="active")))
    return [(a.pk, a.held_fen, a.active or 0) for a in rows if a.held_fen != (a.active or 0)]
