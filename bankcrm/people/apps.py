from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "bankcrm.people"
    label = "people"
    verbose_name = "员工发展与考核 People"

    def ready(self) -> None:
        # policy and audit verbs; each part (training, appraisal, incentives) adds its own start-up modules below,
        # one line each (isort: split keeps them apart)
        from . import access_policy, audit_verbs  # noqa: F401

        # isort: split
        from . import incentive_demo, incentive_nav, incentive_startup  # noqa: F401  (incentives: approvable, jobs, nav, demo)

        # isort: split
        from . import training_startup  # noqa: F401  (training: gates, daily job, navigation, inbox, home, demo)

        # isort: split
        from . import appraisal_startup  # noqa: F401  (appraisal: metrics, parameters, navigation, home, demo)
