"""Jobs of inspections and access reviews: the daily opening of inspections for due plans, and the daily opening of
the quarter's access reviews (both idempotent: a re-run for the same day finds the work done, R14)."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import access_review_services, inspection_services

daily("supervision.inspection_plans", time(1, 20), lambda: run_as_task(inspection_services.plans_due))
daily("supervision.access_reviews", time(1, 25), lambda: run_as_task(access_review_services.access_reviews_open))
