"""Request context: who is acting, from where, under which request id.

Set by RequestContextMiddleware for web requests and by `actor_context` for tasks and commands, read by the audit
trail and the logs. Stored in a ContextVar so that threads and async tasks never see each other's values.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class RequestContext:
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ip: str | None = None
    channel: str = "system"  # web, api, task, command, system
    path: str = ""
    user_agent: str = ""


_current: ContextVar[RequestContext | None] = ContextVar("bankcrm_request_context", default=None)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        ctx = RequestContext()
        _current.set(ctx)
    return ctx


@contextlib.contextmanager
def use(ctx: RequestContext) -> Iterator[RequestContext]:
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextlib.contextmanager
def channel(name: str, **changes: str) -> Iterator[RequestContext]:
    """Run a command or task under its own request id and channel."""
    base = _current.get() or RequestContext()
    with use(replace(base, request_id=uuid.uuid4().hex, channel=name, **changes)) as ctx:
        yield ctx
