from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "bankcrm.customers"
    label = "customers"
    verbose_name = "客户 Customers"

    def ready(self) -> None:
        from . import (  # noqa: F401  (policy, verbs, seeders, approvable actions, gates, inbox, navigation)
            access_policy,
            audit_verbs,
            demo,
            demo_bulk,
            exports,
            gates,
            handover,
            import_verbs,
            inbox,
            nav,
        )
