"""One error hierarchy for the whole product.

Every error carries a stable machine `code` (never translated, safe for clients to switch on) and a translatable
message, Chinese by default. The API maps the class to an HTTP status once (api/errors.py); views show `message`.
"""

from __future__ import annotations

from typing import Any


def _plain(value: Any) -> Any:
    """JSON-ready copy with lazy translations rendered."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


class DomainError(Exception):
    """Base of every expected failure of a business operation."""

    status = 409
    default_code = "domain_error"

    def __init__(self, code: str | None = None, message: Any = "", *, fields: dict[str, list[str]] | None = None,
                 **params: Any) -> None:
        self.code = code or self.default_code
        self.message = message
        self.fields = fields or {}
        self.params = params
        super().__init__(f"{self.code}: {message}")

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.fields:
            data["fields"] = {k: [str(m) for m in v] for k, v in self.fields.items()}
        if self.params:
            data["params"] = {k: _plain(v) for k, v in self.params.items()}
        return data


class ValidationFailed(DomainError):
    """Input does not satisfy the rules of its fields (400)."""

    status = 400
    default_code = "validation_failed"


def field_error(code: str, field: str, message: Any) -> ValidationFailed:
    """A ValidationFailed naming one field, its message shown on that field."""
    return ValidationFailed(code, message, fields={field: [str(message)]})


class RuleViolation(DomainError):
    """The input is well-formed but a business rule forbids the operation in the current state (409)."""

    status = 409
    default_code = "rule_violation"


class PermissionDenied(DomainError):
    """The actor lacks the capability, or their employment type caps it (403)."""

    status = 403
    default_code = "permission_denied"


class NotFound(DomainError):
    """The object does not exist or the actor may not see it; the two are never distinguished (404)."""

    status = 404
    default_code = "not_found"


class ApprovalRequired(DomainError):
    """The operation was accepted as a pending action and waits for a second person (202)."""

    status = 202
    default_code = "approval_required"

    def __init__(self, code: str | None = None, message: Any = "", *, pending_action_id: int | None = None,
                 **params: Any) -> None:
        super().__init__(code, message, **params)
        self.pending_action_id = pending_action_id

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["pending_action_id"] = self.pending_action_id
        return data


class Conflict(DomainError):
    """A concurrent change or a reused idempotency key with another body (409)."""

    status = 409
    default_code = "conflict"


class AuthenticationFailed(DomainError):
    status = 401
    default_code = "authentication_failed"


class Throttled(DomainError):
    status = 429
    default_code = "throttled"


def from_django(exc: Any) -> ValidationFailed:
    """A Django ValidationError (from full_clean) as our ValidationFailed, keeping the messages per field."""
    fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {}
    message = "；".join(m for ms in fields.values() for m in ms) if fields else "；".join(exc.messages)
    return ValidationFailed("validation_failed", message, fields=fields)
