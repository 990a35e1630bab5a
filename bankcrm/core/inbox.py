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
