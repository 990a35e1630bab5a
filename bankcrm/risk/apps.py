from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "bankcrm.risk"
    label = "risk"
    verbose_name = "风险 Risk"

    def ready(self) -> None:
        # policy, audit verbs, outbox consumer (real-time monitoring), periodic jobs, navigation, 360 panel, demo
        from . import (  # noqa: F401  # noqa: F401  (suitability: gate, navigation, inbox)  # noqa: F401  (AML rating: hooks, job, approvals, nav)  # noqa: F401  (watch-list screening: nightly job, navigation)
            access_policy,
            audit_verbs,
            consumers,
            demo,
            due_diligence,
            jobs,
            nav,
            panels,
            rating,
            rating_approvable,
            rating_views,
            suitability,
            suitability_views,
            watchlist,
            watchlist_views,
        )
