from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "bankcrm.ledger"
    label = "ledger"
    verbose_name = "账务 Ledger"

    def ready(self) -> None:
        # policy, audit verbs, approvable actions, outbox consumers, demo seeders, periodic jobs; web: inbox provider,
        # navigation entries, customer-360 panel
        from . import access_policy, approvable, audit_verbs, consumers, demo, inbox, jobs, nav, panels, setup_views  # noqa: F401
