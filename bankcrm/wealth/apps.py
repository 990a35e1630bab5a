from django.apps import AppConfig


class WealthConfig(AppConfig):
    name = "bankcrm.wealth"
    label = "wealth"
    verbose_name = "理财 Wealth"

    def ready(self) -> None:
        # policy, audit verbs, approvable shelf actions, jobs, navigation + inbox + 360 panel, demo data
        from . import access_policy, approvable, audit_verbs, demo, jobs, nav, nav_shelf  # noqa: F401
