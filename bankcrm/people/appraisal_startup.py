"""Appraisal start-up (imported by PeopleConfig.ready): the metrics registry, rule parameters, navigation, the home
section and the demo seeder."""

from . import appraisal_demo, appraisal_nav, appraisal_services, metrics  # noqa: F401  (registry, parameters, nav, home, demo)
