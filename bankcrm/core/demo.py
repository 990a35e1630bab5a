"""The demo-data generator's registry. Each feature registers a seeder; `manage.py seed_demo` runs them in order
with one seeded random generator, so the same seed gives the same bank."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SeedContext:
    rng: random.Random
    options: dict[str, Any]
    out: Callable[[str], None]
    state: dict[str, Any] = field(default_factory=dict)  # seeders share objects (e.g. the admin actor) through this


@dataclass(frozen=True)
class Seeder:
    name: str
    order: int
    run: Callable[[SeedContext], None]


SEEDERS: dict[str, Seeder] = {}


def register(name: str, order: int, run: Callable[[SeedContext], None]) -> None:
    SEEDERS[name] = Seeder(name, order, run)
