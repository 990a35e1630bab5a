"""Scoped reads of customers, and the one search box."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import Q, QuerySet
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


def _prefix(field: str, key: str) -> Q:
    """A prefix match the b-tree index serves on both databases: LIKE 'key%' on PostgreSQL (Django adds a
    pattern-ops index), a range on SQLite (its LIKE … ESCAPE cannot use an index)."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": key, f"{field}__lt": key + "\U0010ffff"})
    return Q(**{f"{field}__startswith": key})


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
        return qs.filter(_prefix("customer_no", compact))
    if compact.isascii() and compact.isalpha():
        key = compact.lower()
        return qs.filter(_prefix("name_initials", key) | _prefix("name_pinyin", key))
    if CJK_RE.match(compact):
        if len(compact) == 1:
            return qs.filter(name__startswith=compact)
        grams = sorted(rules.bigrams(compact))
        for g in grams:
            qs = qs.filter(pk__in=NameBigram.objects.filter(bigram=g).values("customer_id"))
        return qs.filter(name__contains=compact)
    return qs.filter(name__icontains=q)


def search_results(actor: Any, q: str) -> QuerySet[Customer]:
    """What the search page shows: masked identity number and mobile, branch, manager. E-mail and address are not
    loaded (each encrypted value costs a decryption)."""
    from django.db.models import OuterRef, Subquery

    manager = ManagerAssignment.objects.filter(customer=OuterRef("pk"), role=ManagerAssignment.Role.PRIMARY,
                                               ended_at__isnull=True).values("staff__name")[:1]
    # One query: the primary manager's name comes as a subquery instead of a second round trip.
    return search(actor, q).select_related("branch").defer("email", "address").annotate(primary_manager_name=Subquery(manager))


def relationship_graph(actor: Any, customer: Customer) -> dict:
    """Nodes and links around one customer for the 360 page's graph. Related customers the actor may not see are
    shown only as a masked placeholder (the link exists; their data is not revealed)."""
    from bankcrm.core import masking

    from .models import Relationship

    rels = list(Relationship.objects.filter(Q(from_customer=customer) | Q(to_customer=customer), ended_at__isnull=True)
                .select_related("from_customer", "to_customer"))
    visible = set(customers_visible(actor).filter(pk__in={r.from_customer_id for r in rels} | {r.to_customer_id for r in rels})
                  .values_list("pk", flat=True))
    masked = getattr(actor, "sees_masked_names", True)

    def label(c: Customer) -> str:
        if c.pk not in visible:
            return _("（无权查看）")
        return masking.mask_name(c.name) if masked else c.name

    nodes = {customer.pk: {"id": str(customer.pk), "name": label(customer), "center": True, "kind": customer.kind}}
    links, rows = [], []
    for r in rels:
        other = r.to_customer if r.from_customer_id == customer.pk else r.from_customer
        word = r.get_kind_display() if r.from_customer_id == customer.pk else \
            Relationship.INVERSE_LABELS.get(r.kind, r.get_kind_display())
        nodes.setdefault(other.pk, {"id": str(other.pk), "name": label(other), "center": False, "kind": other.kind,
                                    "visible": other.pk in visible})
        links.append({"source": str(customer.pk), "target": str(other.pk), "label": str(word)})
        rows.append({"rel": r, "other": other if other.pk in visible else None, "word": str(word),
                     "other_visible": other.pk in visible, "name": label(other)})
    return {"nodes": list(nodes.values()), "links": links, "rows": rows}


def has_consent(customer: Customer, purpose: str) -> bool:
    """Whether an unwithdrawn consent for this purpose exists (marketing contact, surveys, data sharing…)."""
    return customer.consents.filter(purpose=purpose, withdrawn_at__isnull=True).exists()
