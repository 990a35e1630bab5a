"""Scoped look-ups compiled once, executed many times (ADR 0010 did this for customer search).

Building and compiling a scoped queryset costs a few milliseconds of Python, several times the indexed look-up it
produces. For a look-up by one key whose SQL differs only in that key, the SQL is compiled once per (database
connection, the actor's scope signature, name) from the very queryset the ORM path would run, with a stand-in for the
key; later look-ups execute it with the key in the stand-in's place. The scope is still the queryset's own SQL.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet

STAND_IN = -7_654_321_987  # an integer key no table uses
_LIMIT = 512
_plans: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, tuple[str, tuple, int] | None]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def actor_signature(actor: Any, *scope_functions: Any) -> tuple | None:
    """Everything a scope reads from the actor (identity, roles, employment type, active flag, branch path) and the
    scope functions themselves, so a changed role, a moved branch or a patched scope never reuses another's SQL."""
    if not getattr(actor, "is_authenticated", False) or getattr(actor, "pk", None) is None:
        return None
    return (*scope_functions, type(actor), actor.pk, getattr(actor, "is_active", True), frozenset(actor.roles),
            getattr(actor, "employment_type", None), getattr(actor, "branch_path", None))


def values_by_key(name: str, signature: tuple | None, model: Any, build: Callable[[int], QuerySet],
                  key: int) -> tuple | None:
    """The first row of ``build(key)`` (a ``values_list`` queryset filtered on one integer key), or None.

    ``build`` is called with the stand-in once per signature; its SQL is then executed with ``key``. Values come back
    as the database returns them (use it for integer and text columns)."""
    if signature is None:
        rows = list(build(key)[:1])
        return rows[0] if rows else None
    alias = router.db_for_read(model)
    connection = connections[alias]
    cache_key = (name, alias, signature)
    with _lock:
        plans = _plans.setdefault(connection, OrderedDict())
        plan = plans.get(cache_key, False)
        if plan is not False:
            plans.move_to_end(cache_key)
    if plan is False:
        plan = _compile(build, alias)
        with _lock:
            plans[cache_key] = plan
            while len(plans) > _LIMIT:
                plans.popitem(last=False)
    if plan is None:  # could not place the key (or an empty scope): the queryset path answers
        rows = list(build(key)[:1])
        return rows[0] if rows else None
    sql, params, slot = plan
    values = list(params)
    values[slot] = key
    with connection.cursor() as cur:
        cur.execute(sql, values)
        return cur.fetchone()


def _compile(build: Callable[[int], QuerySet], alias: str) -> tuple[str, tuple, int] | None:
    from django.core.exceptions import EmptyResultSet

    try:
        sql, params = build(STAND_IN)[:1].query.get_compiler(using=alias).as_sql()
    except EmptyResultSet:
        return None
    slots = [i for i, p in enumerate(params) if p == STAND_IN]
    return (sql, tuple(params), slots[0]) if len(slots) == 1 else None


def clear() -> None:
    with _lock:
        _plans.clear()
