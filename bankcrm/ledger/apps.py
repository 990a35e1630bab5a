from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "bankcrm.ledger"
    label = "ledger"
    verbose_name = "账务 Ledger"

    def ready(self) -> None:
        from . import access_policy, approvable, audit_verbs, consumers, demo  # noqa: F401  (policy, verbs, actions, outbox, seeders)
