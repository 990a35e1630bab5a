from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "bankcrm.org"
    label = "org"
    verbose_name = "机构与员工 Organisation"

    def ready(self) -> None:
        from . import approvals, audit_verbs, demo, inbox, jobs  # noqa: F401
