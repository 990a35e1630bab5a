"""Read replica routing: reports and dashboards may read from a PostgreSQL streaming replica.

Nothing goes to the replica unless the code asks for it explicitly, around a read that tolerates a little
replication lag (a dashboard, a report, a statistics page):

    from bankcrm.core.dbrouter import reading_from_replica, replica_reads

    @capability_required("reports.view")
    @replica_reads                          # the whole view reads from the replica
    def dashboard(request): ...

    with reading_from_replica():            # or just one block
        rows = list(selectors.kpi_rows(actor))

Rules (each one tested in tests/test_prod_router.py):
- writes always go to ``default`` (the access log a report writes, audit events, anything);
- inside a transaction on ``default`` reads stay on ``default`` (a transaction that wrote must read its own writes,
  and a transaction that will write must read the primary's current state);
- once something was written inside the block, the rest of the block reads from ``default`` (read-your-writes);
- with no replica configured (``DATABASE_REPLICA_URL`` unset) everything reads from ``default``.

Raw SQL does not go through the router: use ``connections[read_alias()]`` instead of ``connection``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connections

REPLICA = "replica"
DEFAULT = "default"


@dataclass
class _Scope:
    wrote: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("bankcrm_replica_scope", default=None)
F = TypeVar("F", bound=Callable[..., Any])


def replica_configured() -> bool:
    return REPLICA in connections.settings


@contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads inside the block go to the replica when one is configured and it is safe (see the module's rules)."""
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


def replica_reads(view: F) -> F:
    """Decorator for a view (or any function) whose reads may come from the replica."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reading_from_replica():
            return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def read_alias() -> str:
    """The alias reads should use right now (for raw SQL: ``connections[read_alias()].cursor()``)."""
    scope = _scope.get()
    if scope is None or scope.wrote or not replica_configured():
        return DEFAULT
    if connections[DEFAULT].in_atomic_block:
        return DEFAULT
    return REPLICA


class ReplicaRouter:
    """DATABASE_ROUTERS entry: reads to the replica only inside ``reading_from_replica``; writes to default."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: Any, **hints: Any) -> str:
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        return DEFAULT

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica is a copy of the primary: an object read there relates to one read here

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        return db == DEFAULT  # the replica follows the primary's WAL; nothing is ever migrated on it
