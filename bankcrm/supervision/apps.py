from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "bankcrm.supervision"
    label = "supervision"
    verbose_name = "内部监督 Supervision"

    def ready(self) -> None:
        # policy and audit verbs; each part (coverage & findings, inspections & access reviews, conduct & audit &
        # retention) adds its own start-up modules below
        from . import access_policy, audit_verbs  # noqa: F401, I001
        from . import access_review_nav, inspection_demo, inspection_jobs, inspection_nav  # noqa: F401  (inspections, access reviews)
        from . import conduct_demo, conduct_jobs, conduct_nav, conduct_rules, retention_jobs  # noqa: F401  (conduct, retention)
        from . import coverage_demo, coverage_jobs, coverage_nav, finding_rules  # noqa: F401  (coverage, findings)
        from . import appraisal_findings  # noqa: F401  (inspection findings count in the appraisal)
