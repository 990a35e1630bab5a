from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "bankcrm.engagement"
    label = "engagement"
    verbose_name = "客户经营 Engagement"

    def ready(self) -> None:
        # policy and audit verbs; slice 1: navigation + inbox + 360 panel, task reminders, the wealth.sold consumer;
        # slice 2: insights (interaction hook, feedback consumer), life-event and feedback sweeps, navigation + panel;
        # slice 3: segments and next best action (jobs, conversion consumer, navigation, demo); the workbench (core.home)
        from . import (  # noqa: F401
            access_policy,
            audit_verbs,
            consumers,
            demo,
            insight_consumers,
            insight_jobs,
            insight_nav,
            jobs,
            nav,
            nba_consumers,
            nba_jobs,
            nba_nav,
            workbench,
        )
