from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "bankcrm.customers"
    label = "customers"
    verbose_name = "客户 Customers"

    def ready(self) -> None:
        from . import access_policy, audit_verbs, demo, demo_bulk, handover, import_verbs, inbox, nav  # noqa: F401
