"""Registry of approvable actions. Each feature registers its handlers at start-up; approvals never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApprovableAction:
    code: str
    label: Any
    execute: Callable[..., dict]  # execute(payload=..., maker=..., checker=...) -> result dict; re-checks rules
    checker_capability: str = "approvals.approve"
    describe: Callable[[dict], list[tuple[str, str]]] | None = None  # human-readable rows of the payload
    conflicts_with_checker: Callable[..., bool] | None = None  # extra segregation rule (e.g. own customer)
    wants_pending_id: bool = False  # execute() also receives pending_id= (to link what it creates to the approval)
    # Called in the same transaction when the request ends without executing (rejected, cancelled or expired), to
    # put back what the request had reserved (e.g. a product waiting to go on the shelf).
    on_not_executed: Callable[[dict], None] | None = None


ACTIONS: dict[str, ApprovableAction] = {}


def register(action: ApprovableAction) -> None:
    ACTIONS[action.code] = action


def get(code: str) -> ApprovableAction:
    return ACTIONS[code]
