"""Model fields for personal data: AES-256-GCM encrypted text with an optional HMAC blind-index sibling."""

from __future__ import annotations

from typing import Any

from django.db import models

from . import crypto


class EncryptedTextField(models.TextField):
    """Stores ``v1:<kid>:<b64>`` ciphertext; Python code sees plain text.

    ``label`` (default ``app.Model.field``) is the AES-GCM associated data and the key to the PII registry.
    Lookups other than isnull are meaningless on ciphertext: search through the blind index instead.
    """

    description = "AES-256-GCM encrypted text"

    def __init__(self, *args: Any, label: str | None = None, **kwargs: Any) -> None:
        self.label = label
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls: type[models.Model], name: str, private_only: bool = False) -> None:
        super().contribute_to_class(cls, name, private_only)
        if not self.label:
            self.label = f"{cls._meta.app_label}.{cls.__name__}.{name}"

    def deconstruct(self) -> tuple:
        name, path, args, kwargs = super().deconstruct()
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return crypto.decrypt(value, self.label or "")

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return crypto.encrypt(str(value), self.label or "")


class BlindIndexField(models.CharField):
    """64 hex characters of HMAC-SHA256 of the normalised value of ``source``, for exact-match search."""

    def __init__(self, *args: Any, source: str = "", purpose: str = "", **kwargs: Any) -> None:
        self.source = source
        self.purpose = purpose
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        kwargs.setdefault("db_index", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = getattr(model_instance, self.source)
        digest = crypto.blind_index(value, self.purpose) if value else ""
        setattr(model_instance, self.attname, digest)
        return digest


def compute_blind_indexes(instance: models.Model) -> None:
    """Fill every blind index of an instance; bulk paths call this before bulk_create."""
    for f in instance._meta.concrete_fields:
        if isinstance(f, BlindIndexField):
            f.pre_save(instance, add=True)
