"""Writers for the access log (reads of personal data) and the security log. Neither takes the audit chain lock."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import context
from .models import AccessEvent, SecurityEvent


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) and getattr(actor, "is_authenticated", False) else None


def security(kind: str, *, actor: Any = None, username: str = "", path: str = "", **detail: Any) -> SecurityEvent:
    ctx = context.current()
    return SecurityEvent.objects.create(kind=kind, actor=_actor(actor), username=username[:64], ip=ctx.ip or "",
                                        path=(path or ctx.path)[:200], detail=detail, request_id=ctx.request_id)


def access(*, actor: Any, view: str, subject_type: str, subject_ids: Iterable[Any], fields: Iterable[str] = (),
           channel: str | None = None, unmasked: bool = False, reason: str = "") -> AccessEvent:
    """Record that ``actor`` was shown personal data of these subjects (masked unless ``unmasked``)."""
    ctx = context.current()
    ids = [str(i) for i in subject_ids]
    return AccessEvent.objects.create(
        actor=_actor(actor), channel=channel or ("api" if ctx.channel == "api" else "html"), view=view[:100],
        subject_type=subject_type, subject_ids=ids[:1000], subject_count=len(ids), fields=sorted(set(fields)),
        unmasked=unmasked, reason=reason, request_id=ctx.request_id, ip=ctx.ip or "",
    )
