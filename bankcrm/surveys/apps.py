from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "bankcrm.surveys"
    label = "surveys"
    verbose_name = "满意度调查 Surveys"

    def ready(self) -> None:
        # policy, audit verbs, outbox consumers (event triggers, follow-ups), periodic jobs, navigation, 360 panel, demo
        from . import access_policy, audit_verbs, consumers, demo, jobs, nav, panels  # noqa: F401
