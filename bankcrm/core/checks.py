"""System checks: every encrypted field is classified in the PII registry; every capability used exists."""

from django.apps import apps
from django.core import checks

from . import pii
from .fields import EncryptedTextField


@checks.register()
def encrypted_fields_classified(app_configs, **kwargs):
    errors = []
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if isinstance(f, EncryptedTextField) and pii.field_info(f.label) is None:
                errors.append(checks.Error(f"encrypted field {f.label} is not declared in bankcrm.core.pii",
                                           id="bankcrm.E001", obj=model))
    return errors
