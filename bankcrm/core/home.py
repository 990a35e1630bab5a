"""Sections of the home page (工作台): each feature may register a section — the customer manager's workbench, later
other roles' workbenches — that the home page renders above the inbox, in ``order``, for staff holding its capability.

Like the customer 360 panels (``core.panels``), a lower app owns the extension point and never imports the features:
a feature registers at start-up (``AppConfig.ready``). ``context(request)`` reads through the feature's scoped
selectors and returns the template's context, or ``None`` when the section has nothing to say to this user (then it is
not rendered at all).
"""

from __future__ import annotations

from collections.abc import Callable
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
