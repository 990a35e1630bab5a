from django.apps import AppConfig


class RiskConfig(AppConfig):
    name = "bankcrm.risk"
    label = "risk"
    verbose_name = "风险 Risk"

    def ready(self) -> None:
        # policy, audit verbs, outbox consumer (real-time monitoring), periodic jobs, navigation, 360 panel, demo
        from . import access_policy, audit_verbs, consumers, demo, jobs, nav, panels  # noqa: F401
        from . import suitability, suitability_views  # noqa: F401  (suitability: gate, navigation, inbox)
        from . import due_diligence, rating, rating_approvable, rating_views  # noqa: F401  (AML rating: hooks, job, approvals, nav)
        from . import watchlist, watchlist_views  # noqa: F401  (watch-list screening: nightly job, navigation)
