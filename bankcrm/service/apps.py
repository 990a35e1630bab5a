from django.apps import AppConfig


class ServiceConfig(AppConfig):
    name = "bankcrm.service"
    label = "service"
    verbose_name = "服务 Service"

    def ready(self) -> None:
        # policy, audit verbs, the escalation sweep, navigation + inbox + 360 panel, demo data
        from . import access_policy, audit_verbs, demo, jobs, nav  # noqa: F401
