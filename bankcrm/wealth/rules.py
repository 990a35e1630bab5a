"""Pure wealth rules (no I/O): the point-of-sale decision, fees, units and values.

The point-of-sale decision is the suitability decision of `risk.rules_suitability.decide` (level, assessment, elderly
rule with its 双录 recording, seller certification, cooling-off) plus the rules of the sale itself: the product is on
the shelf and in its sales period, the amount meets the minimum and the step, a private product needs a valid
qualified-investor test, R4/R5 and private products need a seller with the high-risk sales privilege, and a
proposal the customer did not ask for needs their marketing consent. Every rule that refuses is named, in this
order, with a stable code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core.money import format_amount
from bankcrm.risk import rules_suitability as suit

from .models import NAV_ONE

HIGH_RISK_LEVEL = 4  # R4 and R5 are high-risk products (DOMAIN_RULES §4)


@dataclass(frozen=True)
class PosFacts:
    """Everything the point-of-sale decision reads, as plain data."""

    investor_level: int | None
    valid_until: date | None
    birth_date: date | None
    customer_active: bool
    product_level: int
    product_kind: str  # risk.rules_suitability.PRODUCT_KINDS ("private" for private products)
    on_shelf: bool
    sales_start: date
    sales_end: date | None
    min_amount_fen: int
    step_fen: int
    amount_fen: int
    qualified_investor: bool
    customer_initiated: bool
    marketing_consent: bool
    seller_certified: bool
    seller_high_risk: bool
    recording_ok: bool
    at: datetime
    today: date
    elderly_age: int = 65
    elderly_product_level: int = 3
    cooling_off_hours: int = 24
    certified_level: int = 4


@dataclass(frozen=True)
class PosDecision(suit.Decision):
    """The suitability decision's shape (allowed, violations, requirements, levels; ``codes``, ``as_dict``)."""

    def without(self, *codes: str) -> PosDecision:
        """The decision ignoring some rules (at proposal, the 双录 recording is a requirement still to meet)."""
        v = [(c, m) for c, m in self.violations if c not in codes]
        return replace(self, allowed=not v, violations=v)


def decide(f: PosFacts) -> PosDecision:
    v: list[tuple[str, str]] = []
    if not f.customer_active:
        v.append(("customer_not_active", _("客户状态不正常，不能购买")))
    if not f.on_shelf:
        v.append(("product_not_on_shelf", _("产品未上架或已下架，不能销售")))
    elif f.today < f.sales_start or (f.sales_end is not None and f.today > f.sales_end):
        v.append(("product_not_in_sales_period", _("产品不在销售期内（%(s)s 至 %(e)s）")
                  % {"s": f.sales_start, "e": f.sales_end or _("长期")}))
    if f.amount_fen < f.min_amount_fen:
        v.append(("amount_below_minimum", _("购买金额低于起购金额 %(m)s 元") % {"m": format_amount(f.min_amount_fen)}))
    elif (f.amount_fen - f.min_amount_fen) % f.step_fen:
        v.append(("amount_step", _("超过起购金额的部分须为 %(s)s 元的整数倍") % {"s": format_amount(f.step_fen)}))
    s = suit.decide(investor_level=f.investor_level, valid_until=f.valid_until, birth_date=f.birth_date,
                    product_level=f.product_level, product_kind=f.product_kind, recording_ok=f.recording_ok,
                    seller_certified=f.seller_certified, at=f.at, today=f.today, elderly_age=f.elderly_age,
                    cooling_off_hours=f.cooling_off_hours, certified_level=f.certified_level,
                    elderly_product_level=f.elderly_product_level)
    v += s.violations
    if f.product_kind == "private" and not f.qualified_investor:
        v.append(("qualified_investor_required", _("私募产品仅向合格投资者销售：客户没有有效的合格投资者认定")))
    if (f.product_level >= HIGH_RISK_LEVEL or f.product_kind == "private") and not f.seller_high_risk:
        v.append(("seller_high_risk_not_allowed", _("销售权限：实习生、临时人员和顾问不能销售 R4/R5 及私募产品")))
    if not f.customer_initiated and not f.marketing_consent:
        v.append(("marketing_consent_missing", _("营销同意：客户未同意营销联系，不能主动推介；客户主动要求购买的请勾选“客户主动购买”")))
    return PosDecision(allowed=not v, violations=v, requirements=s.requirements, investor_level=s.investor_level,
                       valid_until=s.valid_until)


# ---- Money ----------------------------------------------------------------------------------------------------------
def fee(amount_fen: int, fee_bp: int) -> int:
    """A front-end fee inside the amount (价内法): amount × rate, rounded half up to the fen."""
    return (amount_fen * fee_bp + 5_000) // 10_000


def units_for(net_fen: int, nav_x10000: int) -> int:
    """Units (hundredths) bought with ``net_fen`` at a NAV, rounded down (the remainder stays with the fund)."""
    return net_fen * NAV_ONE // nav_x10000


def value_of(units_x100: int, nav_x10000: int) -> int:
    """What ``units_x100`` are worth at a NAV, in fen, rounded down."""
    return units_x100 * nav_x10000 // NAV_ONE


def cost_share(cost_fen: int, units_x100: int, total_units_x100: int) -> int:
    """The part of a holding's cost that ``units_x100`` of its ``total_units_x100`` carry."""
    if total_units_x100 <= 0:
        return 0
    return cost_fen * units_x100 // total_units_x100


def tier_of(total_fen: int, affluent_fen: int, private_fen: int) -> str:
    if total_fen >= private_fen:
        return "private"
    if total_fen >= affluent_fen:
        return "affluent"
    return "mass"


TIER_LABELS = {"mass": gettext_lazy("大众客户"), "affluent": gettext_lazy("富裕客户"), "private": gettext_lazy("私人银行客户")}
