from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "bankcrm.approvals"
    label = "approvals"
    verbose_name = "复核 Approvals"

    def ready(self) -> None:
        from . import audit_verbs, inbox, jobs  # noqa: F401
