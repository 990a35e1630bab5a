"""Gates other features ask before acting on a customer (core.access.require_gate), so they never import customers'
rules: marketing contact and satisfaction surveys need the customer's consent (PIPL; DOMAIN_RULES.md §6)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core.access import register_gate
from bankcrm.core.errors import RuleViolation

from .models import Consent, Customer
from .selectors import has_consent


def _consent_gate(purpose: str, code: str, message: Any):
    def check(actor: Any, *, customer: Customer, **_context: Any) -> None:
        if customer.status != Customer.Status.ACTIVE:
            raise RuleViolation("customer_restricted", _("该客户已限制处理，不能联系"))
        if not has_consent(customer, purpose):
            raise RuleViolation(code, str(message))

    return check


register_gate("customers.marketing_contact",
              _consent_gate(Consent.Purpose.MARKETING, "marketing_consent_missing", gettext_lazy("客户未授权营销联系，不能主动推荐产品或发送营销信息")))
register_gate("customers.survey_contact",
              _consent_gate(Consent.Purpose.SURVEY, "survey_consent_missing", gettext_lazy("客户未授权满意度调查联系")))
