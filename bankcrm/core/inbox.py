"""The cross-feature inbox: each feature registers a provider of items waiting for a user (approvals, alerts,
tasks…). The inbox page and the API list them together; the navigation badge sums the counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class InboxItem:
    kind: str
    kind_label: Any
    title: str
    url: str
    due_at: datetime | None = None
    subtitle: str = ""


@dataclass(frozen=True)
class Provider:
    name: str
    items: Callable[[Any], Iterable[InboxItem]]
    count: Callable[[Any], int]


PROVIDERS: dict[str, Provider] = {}


def register_provider(name: str, items: Callable[[Any], Iterable[InboxItem]], count: Callable[[Any], int]) -> None:
    PROVIDERS[name] = Provider(name, items, count)


def items_for(actor: Any) -> list[InboxItem]:
    out: list[InboxItem] = []
    for p in PROVIDERS.values():
        out.extend(p.items(actor))
    far = datetime.max.replace(tzinfo=None)
    return sorted(out, key=lambda i: (i.due_at.replace(tzinfo=None) if i.due_at else far))


def count_for(actor: Any) -> int:
    return sum(p.count(actor) for p in PROVIDERS.values())


def _badge_key(actor: Any) -> str:
    return f"inbox-badge:{actor.pk}"


def badge_count(actor: Any) -> int:
    """The navigation badge: ``count_for`` asks every provider (some twenty queries, most of a list page's time), so
    the figure is kept in the cache for ``BANKCRM_INBOX_BADGE_SECONDS`` (30 s; 0 turns it off). The inbox page itself
    always counts afresh, and whatever the person does (any POST) forgets their figure (``badge_forget``), so their
    own work shows at once; what others assign to them shows within the half minute."""
    from django.conf import settings
    from django.core.cache import cache

    seconds = getattr(settings, "BANKCRM_INBOX_BADGE_SECONDS", 0)
    if not seconds:
        return count_for(actor)
    value = cache.get(_badge_key(actor))
    if value is None:
        value = count_for(actor)
        cache.set(_badge_key(actor), value, seconds)
    return value


def badge_forget(actor: Any) -> None:
    from django.core.cache import cache

    cache.delete(_badge_key(actor))
