"""Scoped reads of customers, and the one search box."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from bankcrm.core import crypto
from bankcrm.core.errors import NotFound
from bankcrm.core.identifiers import IdentifierError, normalise_mobile

from . import rules
from .models import Customer, ManagerAssignment, NameBigram

CJK_RE = re.compile(r"^[\u3400-\u9fff·]+$")


def customers_visible(actor: Any) -> QuerySet[Customer]:
    return Customer.objects.visible_to(actor)


def customer_get(actor: Any, customer_id: Any, *, for_update: bool = False) -> Customer:
    qs = customers_visible(actor).select_related("branch")
    if for_update:
        qs = qs.select_for_update(of=("self",)) if _supports_of() else qs.select_for_update()
    try:
        return qs.get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound("customer_not_found", _("客户不存在或不在您的管户范围内")) from None


def _supports_of() -> bool:
    from django.db import connection

    return connection.features.has_select_for_update_of


def with_current_team(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    return qs.prefetch_related(Prefetch("team", queryset=ManagerAssignment.objects.filter(ended_at__isnull=True)
                                        .select_related("staff"), to_attr="current_team"))


def search(actor: Any, q: str) -> QuerySet[Customer]:
    """One box: customer number, Chinese name or part of it (2 characters are enough), pinyin or initials,
    mobile number or its last four digits, identity number (exact, through the blind index)."""
    qs = customers_visible(actor)
    q = (q or "").strip()
    if not q:
        return qs.order_by("-created_at")
    compact = re.sub(r"[\s-]", "", q)
    if compact.isdigit() and rules.customer_no_valid(compact):
        return qs.filter(customer_no=compact)
    if re.fullmatch(r"\d{17}[\dXx]", compact) or re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", compact.upper()):
        return qs.filter(id_number_bidx=crypto.blind_index(compact.upper(), "customer.id_number"))
    if compact.isdigit() and len(compact) == 4:
        return qs.filter(mobile_last4=compact)
    if compact.lstrip("+").isdigit() and len(compact) >= 11:
        try:
            return qs.filter(mobile_bidx=crypto.blind_index(normalise_mobile(compact), "customer.mobile"))
        except IdentifierError:
            return qs.none()
    if compact.isdigit():
        return qs.filter(customer_no__startswith=compact)
    if compact.isascii() and compact.isalpha():
        key = compact.lower()
        return qs.filter(Q(name_initials__startswith=key) | Q(name_pinyin__startswith=key))
    if CJK_RE.match(compact):
        if len(compact) == 1:
            return qs.filter(name__startswith=compact)
        grams = sorted(rules.bigrams(compact))
        for g in grams:
            qs = qs.filter(pk__in=NameBigram.objects.filter(bigram=g).values("customer_id"))
        return qs.filter(name__contains=compact)
    return qs.filter(name__icontains=q)


def primary_manager(customer: Customer):
    team = getattr(customer, "current_team", None)
    if team is None:
        team = list(customer.team.filter(ended_at__isnull=True).select_related("staff"))
    return next((a.staff for a in team if a.role == ManagerAssignment.Role.PRIMARY), None)
