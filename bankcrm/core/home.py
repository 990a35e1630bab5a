"""Sections of the home page (工作台): each feature may register a section — the customer manager's workbench, later
other roles' workbenches — that the home page renders above the inbox, in ``order``, for staff holding its capability.

Like the customer 360 panels (``core.panels``), a lower app owns the extension point and never imports the features:
a feature registers at start-up (``AppConfig.ready``). ``context(request)`` reads through the feature's scoped
selectors and returns the template's context, or ``None`` when the section has nothing to say to this user (then it is
not rendered at all).

The home page's 常用功能 (shortcuts) shows a role's most used pages, not the whole menu (which stays in the sidebar):
a feature registers each role's list with ``register_shortcuts``; without one the first menu entries are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string


@dataclass(frozen=True)
class HomeSection:
    code: str
    order: int
    template: str
    context: Callable[[Any], dict | None]  # (request) -> context, or None to leave the section out
    capability: str = "core.home"


SECTIONS: dict[str, HomeSection] = {}


def register(section: HomeSection) -> None:
    SECTIONS[section.code] = section


def render_for(request: Any) -> list[dict[str, Any]]:
    """The registered sections this user may see, rendered: ``[{"code", "html"}]``."""
    from . import access

    out = []
    for s in sorted(SECTIONS.values(), key=lambda s: (s.order, s.code)):
        if not access.can(request.user, s.capability):
            continue
        ctx = s.context(request)
        if ctx is None:
            continue
        out.append({"code": s.code, "html": render_to_string(s.template, ctx, request=request)})
    return out


# ---- Shortcuts (常用功能) ----------------------------------------------------------------------------------------------
SHORTCUT_LIMIT = 12
SHORTCUTS: dict[str, tuple[str, ...]] = {}


def register_shortcuts(role: str, url_names: Iterable[str]) -> None:
    """A role's most used pages (navigation url names), most used first."""
    SHORTCUTS[str(role)] = tuple(url_names)


def shortcuts_for(user: Any, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The navigation items (``navigation.entries_for``, already filtered by capability) to show as shortcuts: the
    user's roles' lists interleaved (each role's first entries first), at most ``SHORTCUT_LIMIT``; without any list,
    the menu's first entries."""
    items = {i["url_name"]: i for g in groups for i in g["items"] if i["url_name"] != "core:home"}
    lists = [SHORTCUTS[r] for r in sorted(getattr(user, "roles", ())) if r in SHORTCUTS]
    if not lists:
        return list(items.values())[:SHORTCUT_LIMIT]
    chosen: list[str] = []
    for rank in range(max(len(names) for names in lists)):
        for names in lists:
            if rank < len(names) and names[rank] in items and names[rank] not in chosen:
                chosen.append(names[rank])
    return [items[n] for n in chosen[:SHORTCUT_LIMIT]]
