"""Where insight extraction is triggered (after commit, never inside the business transaction):

- interactions: ``services.ON_INTERACTION_SAVED`` (the interaction services' hook list) — every saved contact;
- complaints and feedback cases: the outbox topic ``service.complaint_closed`` ({"complaint_id", "customer_id"});
  a complaint is registered without an event, so ``insight_jobs`` sweeps new complaints as well;
- survey answers: ``surveys.followup`` ({"response_id"}: a low score or a negative comment); the sweep reads the
  other answers with a comment.

Each source is extracted idempotently (``insight_services.insights_extract``), so the same source reached twice — by
an event and by the sweep — changes nothing the second time. A failure is logged and never blocks the relay.
"""

from __future__ import annotations

import logging

from django.db import transaction

from bankcrm.core import outbox
from bankcrm.core.models import OutboxEvent

from . import services

log = logging.getLogger(__name__)

TOPICS = ("service.complaint_closed", "surveys.followup")


def interaction_saved(interaction_id: int) -> None:
    from . import insight_services

    with transaction.atomic():
        insight_services.insights_for_interaction(interaction_id)


def feedback_events(events: list[OutboxEvent]) -> None:
    from . import insight_services

    for e in events:
        p = e.payload or {}
        try:
            with transaction.atomic():  # a savepoint: one bad event never blocks the others
                if e.topic == "service.complaint_closed" and p.get("complaint_id"):
                    insight_services.insights_for_complaint(int(p["complaint_id"]))
                elif e.topic == "surveys.followup" and p.get("response_id"):
                    insight_services.insights_for_response(int(p["response_id"]))
        except Exception:
            log.warning("insight extraction deferred for event %s", e.pk, exc_info=True)


if interaction_saved not in services.ON_INTERACTION_SAVED:
    services.ON_INTERACTION_SAVED.append(interaction_saved)
outbox.register_consumer("engagement_insights", TOPICS, feedback_events)
