from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "bankcrm.core"
    label = "core"
    verbose_name = "核心 Core"

    def ready(self) -> None:
        from . import audit_verbs, checks, conduct, jobs, nav  # noqa: F401  (verbs, checks, signals, jobs, navigation)
        from .api import schema  # noqa: F401  (OpenAPI descriptions of the authentication classes)
