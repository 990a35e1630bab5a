from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "bankcrm.risk"
    label = "risk"
    verbose_name = "风险 Risk"

    def ready(self) -> None:
        # policy, audit verbs, outbox consumer (real-time monitoring), periodic jobs, navigation, 360 panel, demo
        from . import access_policy, audit_verbs, jobs, nav  # noqa: F401
