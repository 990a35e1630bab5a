"""QUALITY.md R14 for the survey dispatch (services.dispatch): killed 20 times mid-chunk and resumed, every planned
invitation is delivered exactly once — none twice, none missed — and a further run sends nothing.

Deliveries are counted at a stand-in gateway (one outbox event per committed delivery, a table without any unique
key, so a duplicate would show). A kill is an exception raised inside a chunk after some of its messages were
delivered. The detector runs against two deliberately broken dispatchers and must catch both: one that marks a chunk
sent before delivering it (a kill loses messages) and one that re-reads from the start without looking at the
status (a kill resends)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.db import transaction

from bankcrm.core import outbox
from bankcrm.core.models import OutboxEvent
from bankcrm.customers import services as customer_services
from bankcrm.surveys import services, transports
from bankcrm.surveys.models import Invitation, OutboxMessage
from tests.conftest import write_figures
from tests.ledger_helpers import ric
from tests.test_surveys_tokens import consent, periodic_campaign

pytestmark = pytest.mark.django_db
KILLS, CUSTOMERS, CHUNK, SEED = 20, 120, 4, 14
GATEWAY = "surveys.test_gateway"


class Killed(Exception):
    pass


@pytest.fixture
def planned(bank):
    for i in range(CUSTOMERS):
        with transaction.atomic():
            c = customer_services.customer_register(
                actor=bank.cm_a1, kind="person", name=f"测客{i:03d}", id_type="resident_id",
                id_number=ric("19800101", f"{100 + i:03d}"), mobile=f"139{i:08d}", branch_id=bank.a1.pk,
                primary_manager_id=bank.cm_a1.pk)
        consent(bank, c)
    campaign = periodic_campaign(bank.admin, per_manager=CUSTOMERS)
    with transaction.atomic():
        run = services.campaign_run(actor=bank.admin, campaign_id=campaign.pk)
    assert run.sampled == CUSTOMERS
    return campaign


def gateway(real=None):
    """A delivery function that records each delivery at the stand-in gateway (in the caller's transaction)."""
    def deliver(inv, **kw):
        ok = real(inv, **kw) if real else True
        outbox.publish(GATEWAY, {"invitation_id": inv.pk})
        return ok
    return deliver


def deliveries() -> Counter:
    return Counter(e["invitation_id"] for e in OutboxEvent.objects.filter(topic=GATEWAY).values_list("payload", flat=True))


def killing(deliver, kill_at: int):
    calls = {"n": 0}

    def wrapped(inv, **kw):
        out = deliver(inv, **kw)
        calls["n"] += 1
        if calls["n"] == kill_at:
            raise Killed
        return out
    return wrapped


# ---- Broken dispatchers (the detector must catch them) ------------------------------------------------------------
def broken_mark_first(*, chunk: int, deliver) -> None:
    while True:
        ids = list(Invitation.objects.filter(status="planned").order_by("id").values_list("id", flat=True)[:chunk])
        if not ids:
            return
        with transaction.atomic():
            Invitation.objects.filter(pk__in=ids).update(status="sent")
        for inv in Invitation.objects.filter(pk__in=ids).order_by("id"):
            with transaction.atomic():
                deliver(inv, link="/s/x/", days=14)


def broken_rescan(*, chunk: int, deliver) -> None:
    ids = list(Invitation.objects.order_by("id").values_list("id", flat=True))
    for i in range(0, len(ids), chunk):
        with transaction.atomic():
            for inv in Invitation.objects.filter(pk__in=ids[i:i + chunk]).order_by("id"):
                deliver(inv, link="/s/x/", days=14)
                Invitation.objects.filter(pk=inv.pk).update(status="sent")


def exercise(monkeypatch, variant: str = "product") -> dict[str, int]:
    rng = random.Random(SEED)
    real = transports.deliver
    kills = 0
    while kills < KILLS:
        if variant == "product":
            monkeypatch.setattr(transports, "deliver", killing(gateway(real), rng.choice([1, 2, 3, 5, 6])))
            run = lambda: services.dispatch(chunk=CHUNK)  # noqa: E731
        else:
            broken = broken_mark_first if variant == "mark_first" else broken_rescan
            d = killing(gateway(), rng.choice([1, 2, 3, 5, 6]))
            run = lambda: broken(chunk=CHUNK, deliver=d)  # noqa: E731
        try:
            run()
        except Killed:
            kills += 1
        else:
            break
        finally:
            monkeypatch.setattr(transports, "deliver", real)
    monkeypatch.setattr(transports, "deliver", gateway(real))
    if variant == "product":
        first = services.dispatch(chunk=CHUNK)
        second = services.dispatch(chunk=CHUNK)
    else:
        (broken_mark_first if variant == "mark_first" else broken_rescan)(chunk=CHUNK, deliver=gateway())
        first = second = {"sent": 0}
    got = deliveries()
    ids = set(Invitation.objects.values_list("id", flat=True))
    return {
        "kills": kills, "invitations": len(ids), "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "missed": len(ids - set(got)) + Invitation.objects.filter(status="planned").count(),
        "second_run_sent": second["sent"], "resumed_sent": first["sent"],
        "messages": OutboxMessage.objects.count(),
    }


def test_r14_dispatch_killed_20_times_sends_each_invitation_once(planned, monkeypatch):
    f = exercise(monkeypatch)
    sent = Invitation.objects.filter(status="sent").count()
    passed = (f["kills"] == KILLS and f["duplicates"] == 0 and f["missed"] == 0 and f["second_run_sent"] == 0
              and f["messages"] == CUSTOMERS == sent)
    write_figures("R14", passed, survey_kills=f["kills"], survey_invitations=f["invitations"],
                  survey_duplicates=f["duplicates"], survey_missed=f["missed"],
                  survey_second_run_sent=f["second_run_sent"], survey_messages=f["messages"])
    assert passed, f
    # every token works once: all distinct
    assert Invitation.objects.values("token_hash").distinct().count() == CUSTOMERS


@pytest.mark.parametrize("variant", ["mark_first", "rescan"])
def test_r14_detector_catches_broken_dispatchers(planned, monkeypatch, variant):
    f = exercise(monkeypatch, variant)
    if variant == "mark_first":
        assert f["missed"] > 0, f
    else:
        assert f["duplicates"] > 0, f
