from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "bankcrm.surveys"
    label = "surveys"
    verbose_name = "满意度调查 Surveys"

    def ready(self) -> None:
        pass
