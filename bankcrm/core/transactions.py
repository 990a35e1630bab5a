"""Entry points own the durable transaction (ARCHITECTURE.md §2); services nest inside with plain atomic()."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction

from . import context

F = TypeVar("F", bound=Callable[..., Any])


def entrypoint(func: F) -> F:
    """Run a view, API action or command body in one durable transaction: all of it commits, or none of it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with transaction.atomic(durable=True):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def run_as_task(func: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a job body under its own request id on the task channel. Batch jobs commit per chunk themselves."""
    with context.channel("task"):
        return func(**kwargs)
