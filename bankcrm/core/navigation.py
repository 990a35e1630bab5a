"""Navigation entries that features register; each shows only to staff holding its capability."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from . import access


@dataclass(frozen=True)
class NavEntry:
    group: Any
    label: Any
    url_name: str
    capability: str
    icon: str
    order: int = 100


ENTRIES: list[NavEntry] = []


def register(entry: NavEntry) -> None:
    ENTRIES.append(entry)


def entries_for(actor: Any) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for e in sorted(ENTRIES, key=lambda e: e.order):
        if not access.can(actor, e.capability):
            continue
        g = groups.setdefault(str(e.group), {"label": e.group, "items": []})
        g["items"].append({"label": e.label, "url": reverse(e.url_name), "icon": e.icon, "url_name": e.url_name})
    return list(groups.values())
