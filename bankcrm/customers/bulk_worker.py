"""Entry points of bulk-import worker processes. Started clean (``spawn``), they unpickle these functions before
Django is set up, so this module imports nothing of Django at import time."""

from __future__ import annotations

from datetime import date
from typing import Any


def init() -> None:
    import django

    django.setup()
    from django.db import connections

    for conn in connections.all():  # a worker never touches the database
        conn.ensure_connection = _no_database  # type: ignore[method-assign]


def _no_database() -> None:
    raise RuntimeError("bulk import workers must not use the database")


def prepare(rows: list[tuple[int, tuple[str, ...]]], today: date) -> Any:
    from .bulk import prepare_chunk

    return prepare_chunk(rows, today)
