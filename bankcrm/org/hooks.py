"""Extension point: features that must act when a person's access ends (deactivation, contract expiry) register
here at start-up; org calls them inside the same transaction, without importing the features."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ACCESS_ENDED: list[Callable[..., None]] = []


def on_access_ended(fn: Callable[..., None]) -> Callable[..., None]:
    ACCESS_ENDED.append(fn)
    return fn


def access_ended(staff: Any, reason: str) -> None:
    for fn in ACCESS_ENDED:
        fn(staff=staff, reason=reason)
