"""Periodic survey jobs: sample periodic campaigns (daily), send planned invitations (every 5 minutes, crash-safe),
read newly opened accounts for the account-opened campaigns, expire old links, retry deferred follow-ups."""

from __future__ import annotations

import logging
from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from bankcrm.core.scheduling import daily, every
from bankcrm.core.transactions import run_as_task

log = logging.getLogger(__name__)


def account_opened_scan(*, days: int = 3) -> int:
    """Accounts opened in the last ``days`` days (the account-opened fact) → invitations of account-opened campaigns
    (idempotent: the same source_ref as the outbox path)."""
    from bankcrm.ledger.models import Account

    from . import services
    from .models import Campaign

    first = Campaign.objects.filter(active=True, trigger="account_opened").order_by("created_at").first()
    if first is None:
        return 0
    since = max(first.created_at, timezone.now() - timedelta(days=days))
    made = 0
    for acc in (Account.objects.filter(kind="customer", opened_at__gte=since, customer__isnull=False)
                .select_related("product").order_by("id")):
        made += services.event_invitations(trigger="account_opened", customer_id=acc.customer_id,
                                           ref=f"account:{acc.pk}", product=acc.product.name if acc.product_id else "")
    return made


def followups_retry() -> int:
    from . import services
    from .models import Response

    done = 0
    for rid in Response.objects.filter(needs_followup=True, case_ref="").order_by("id").values_list("id", flat=True)[:200]:
        try:
            with transaction.atomic():
                services.followup(rid)
            done += 1
        except Exception:  # still failing: try again at the next run
            log.warning("survey follow-up still deferred for response %s", rid)
            break
    return done


def _dispatch() -> None:
    from . import services

    account_opened_scan()
    services.dispatch()


def _daily() -> None:
    from . import services

    services.periodic_runs_due()
    services.invitations_expire()
    followups_retry()


every("surveys.dispatch", timedelta(minutes=5), lambda: run_as_task(_dispatch))
daily("surveys.daily", time(7, 30), lambda: run_as_task(_daily))
