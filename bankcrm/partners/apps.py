from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "bankcrm.partners"
    label = "partners"
    verbose_name = "合作机构 Partners"

    def ready(self) -> None:
        # policy, audit verbs, rule parameters; then the outbox consumers, the delivery job, navigation, demo and the
        # OpenAPI description of the partner key scheme
        from . import access_policy, audit_verbs, partner_rules  # noqa: F401

        # isort: split
        from . import consumers, demo, jobs, nav  # noqa: F401
        from .api import schema  # noqa: F401
