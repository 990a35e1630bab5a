from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from . import access, inbox, navigation


def navigation_context(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Once per request: the home page renders each of its sections with the request (core.home.render_for), and the
    # inbox count alone asks every provider (some twenty queries) each time.
    cached = getattr(request, "_bankcrm_navigation", None)
    if cached is not None and cached[0] is user:
        return cached[1]
    context = {
        "nav_groups": navigation.entries_for(user),
        "inbox_count": SimpleLazyObject(lambda: inbox.badge_count(user)),  # counted when a template shows it (not on error pages)
        "can": _CanProxy(user),
    }
    request._bankcrm_navigation = (user, context)  # type: ignore[attr-defined]
    return context


class _CanProxy:
    """Lets templates write {% if can.org__manage_staff %} (dots are not allowed in template lookups)."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def __getitem__(self, key: str) -> bool:
        return access.can(self.user, key.replace("__", "."))

    def __getattr__(self, key: str) -> bool:
        if key.startswith("_"):
            raise AttributeError(key)
        return access.can(self.user, key.replace("__", "."))


