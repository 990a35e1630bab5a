"""Nightly jobs of segmentation and next best action, after the assets-under-management snapshot (02:10): segments and
the cluster model (02:30), the propensity model (02:45; it only replaces the active model if it beats the baseline),
every customer's recommendations (03:00). Each is idempotent: run twice for the same day, the second run changes
nothing but the stored models' versions; recommendations commit per chunk of customers (crash-safe)."""

from datetime import time

from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task

from . import nba, propensity, segments

daily("engagement.segments", time(2, 30), lambda: run_as_task(segments.segments_compute))
daily("engagement.propensity", time(2, 45), lambda: run_as_task(propensity.propensity_train))
daily("engagement.recommendations", time(3, 0), lambda: run_as_task(nba.recommendations_refresh))
