"""Survey links and answers: the public page reached by a single-use, expiring, unguessable token (only its hash is
stored); guessing, reuse, expiry and another customer's token; the token never reaches a log; the answer's scores,
sentiment and keywords; a low score or a negative comment opens a feedback case for the manager's supervisor."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from bankcrm.core import outbox
from bankcrm.customers import services as customer_services
from bankcrm.surveys import rules, services
from bankcrm.surveys.models import Invitation, OutboxMessage, Response
from tests.ledger_helpers import build_ledger

pytestmark = pytest.mark.django_db


# ---- Shared set-up (imported by the other survey tests) --------------------------------------------------------------
def consent(bank, customer, actor=None) -> None:
    with transaction.atomic():
        customer_services.consent_grant(actor=actor or bank.cm_a1, customer_id=customer.pk, purpose="survey",
                                        channel="branch", evidence="MY-TEST")


def periodic_campaign(actor, template=None, **kw):
    template = template or services.template_install_default(actor=actor)
    data = dict(name="季度满意度", trigger="periodic", frequency="quarterly", per_manager=10, template_id=template.pk,
                channel="sms", active=True)
    data.update(kw)
    with transaction.atomic():
        return services.campaign_save(actor=actor, **data)


def sent_tokens(campaign_id: int | None = None) -> dict[int, str]:
    """customer id → token, read from the outbox transport's messages (the only place a token exists)."""
    qs = OutboxMessage.objects.select_related("invitation")
    if campaign_id:
        qs = qs.filter(invitation__campaign_id=campaign_id)
    return {m.invitation.customer_id: re.search(r"/s/([A-Za-z0-9_-]{43})/", m.body).group(1) for m in qs}


def make_surveyed(bank):
    """zhang and li (A1, cm_a1) consented; wang (B1) did not. A head-office quarterly campaign sampled and sent."""
    led = build_ledger(bank)
    consent(bank, led.zhang)
    consent(bank, led.li)
    c = periodic_campaign(bank.admin)
    with transaction.atomic():
        run = services.campaign_run(actor=bank.admin, campaign_id=c.pk)
    services.dispatch()
    return led, c, run, sent_tokens(c.pk)


@pytest.fixture
def surveyed(bank):
    return make_surveyed(bank)


def submit(client: Client, token: str, **answers):
    data = {"token": token, "csat": "5", "nps": "9", "comment": "", **answers}
    return client.post("/s/submit/", data)


# ---- Tests ------------------------------------------------------------------------------------------------------------
def test_only_the_hash_is_stored_and_tokens_are_256_bit_random(surveyed):
    led, _c, run, tokens = surveyed
    assert run.sampled == 2 and run.skipped_consent == 1  # wang has not consented
    assert set(tokens) == {led.zhang.pk, led.li.pk}
    for cid, token in tokens.items():
        assert rules.well_formed(token) and len(token) == 43  # 32 random bytes
        inv = Invitation.objects.get(customer_id=cid)
        assert inv.token_hash == rules.token_hash(token) and token not in inv.token_hash
        assert inv.status == "sent" and inv.expires_at > timezone.now()
    # no column of any survey table holds a token in clear (the outbox body is encrypted at rest)
    from django.db import connection

    with connection.cursor() as cur:
        for table in ("surveys_invitation", "surveys_response", "surveys_outboxmessage", "core_auditevent",
                      "core_outboxevent"):
            cur.execute(f"SELECT * FROM {table}")
            dump = repr(cur.fetchall())
            assert not any(t in dump for t in tokens.values()), table
    # the SMS names no customer and carries no personal data in its URL
    m = OutboxMessage.objects.get(invitation__customer=led.zhang)
    assert led.zhang.name not in m.body and "1381234" not in m.body and m.recipient_masked.count("*") >= 4
    assert re.fullmatch(r"/s/[A-Za-z0-9_-]{43}/", m.link())


def test_answer_page_then_single_use(surveyed):
    led, _c, _run, tokens = surveyed
    client = Client(enforce_csrf_checks=True)
    r = client.get(f"/s/{tokens[led.zhang.pk]}/")
    assert r.status_code == 200 and "服务满意度调查" in r.content.decode() and r["Referrer-Policy"] == "strict-origin"
    csrf = client.cookies["csrftoken"].value
    # without the CSRF token the form is refused
    assert client.post("/s/submit/", {"token": tokens[led.zhang.pk], "csat": "5", "nps": "9"}).status_code == 403
    r = client.post("/s/submit/", {"token": tokens[led.zhang.pk], "csat": "4", "nps": "9", "comment": "柜员很耐心",
                                   "csrfmiddlewaretoken": csrf})
    assert r.status_code == 302 and r["Location"] == "/s/thanks/"
    resp = Response.objects.get(customer=led.zhang)
    assert (resp.csat, resp.nps, resp.sentiment, resp.low_score, resp.needs_followup) == (4, 9, "positive", False, False)
    assert "态度" in resp.keywords and "柜面" in resp.keywords
    # reuse: the page and the form both say "already submitted", and nothing changes
    r = client.get(f"/s/{tokens[led.zhang.pk]}/")
    assert 'data-reason="used"' in r.content.decode()
    r = client.post("/s/submit/", {"token": tokens[led.zhang.pk], "csat": "1", "nps": "0", "csrfmiddlewaretoken": csrf})
    assert r.status_code == 200 and 'data-reason="used"' in r.content.decode()
    assert Response.objects.filter(customer=led.zhang).count() == 1 and Response.objects.get(customer=led.zhang).csat == 4


def test_missing_required_answers_keep_the_form(surveyed):
    led, *_rest, tokens = surveyed
    r = Client().post("/s/submit/", {"token": tokens[led.li.pk], "csat": "", "nps": "11"})
    body = r.content.decode()
    assert r.status_code == 200 and 'data-testid="survey-error"' in body and "请回答此题" in body
    assert Invitation.objects.get(customer=led.li).status == "sent"


def test_guessing_unknown_and_other_customers_tokens_look_the_same(surveyed):
    led, *_rest, tokens = surveyed
    client = Client()
    guesses = ["x", "0" * 43, "A" * 43, tokens[led.zhang.pk][:-1] + ("A" if tokens[led.zhang.pk][-1] != "A" else "B"),
               tokens[led.zhang.pk].upper(), "../../admin", "%00" * 10]
    pages = set()
    for g in guesses:
        r = client.get(f"/s/{g}/")
        assert r.status_code in (200, 404)
        if r.status_code == 200:
            assert 'data-reason="unknown"' in r.content.decode()
            pages.add(re.sub(r'"X-CSRFToken": "[^"]+"|name="csrfmiddlewaretoken" value="[^"]+"', "", r.content.decode()))
        r = client.post("/s/submit/", {"token": g, "csat": "1", "nps": "0"})
        assert r.status_code == 200 and 'data-reason="unknown"' in r.content.decode()
    assert len(pages) == 1  # one and the same page for every wrong token
    assert Response.objects.count() == 0
    # "another customer's token": there is no customer in the link — the token alone decides which invitation it is,
    # and a wrong token for zhang's survey is just an unknown token (above). Zhang's token answers zhang's survey only.
    submit(client, tokens[led.li.pk], csat="2")
    assert Response.objects.get().customer_id == led.li.pk
    # cancelled invitations' tokens are "unknown" too
    Invitation.objects.filter(customer=led.zhang).update(status="cancelled")
    assert 'data-reason="unknown"' in client.get(f"/s/{tokens[led.zhang.pk]}/").content.decode()


def test_expired_links_are_refused(surveyed):
    led, *_rest, tokens = surveyed
    Invitation.objects.filter(customer=led.zhang).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = Client().get(f"/s/{tokens[led.zhang.pk]}/")
    assert 'data-reason="expired"' in r.content.decode()
    r = submit(Client(), tokens[led.zhang.pk])
    assert 'data-reason="expired"' in r.content.decode() and not Response.objects.exists()
    assert services.invitations_expire() == 1
    assert Invitation.objects.get(customer=led.zhang).status == "expired"


def test_the_token_never_reaches_a_log(surveyed, caplog):
    from bankcrm.core.models import AccessEvent, AuditEvent, SecurityEvent

    led, *_rest, tokens = surveyed
    caplog.set_level(logging.DEBUG)
    client = Client(enforce_csrf_checks=True)
    token = tokens[led.zhang.pk]
    client.get(f"/s/{token}/")
    client.post("/s/submit/", {"token": token, "csat": "1", "nps": "0"})  # CSRF failure: logged, without token
    csrf = client.cookies["csrftoken"].value
    client.post("/s/submit/", {"token": token, "csat": "", "csrfmiddlewaretoken": csrf})
    client.post("/s/submit/", {"token": token, "csat": "1", "nps": "2", "comment": "排队太久",
                               "csrfmiddlewaretoken": csrf})
    client.get(f"/s/{token}/")
    client.get(f"/s/{token[:-2]}/")
    text = "\n".join(r.getMessage() + repr(r.__dict__.get("args")) for r in caplog.records)
    assert token not in text and token[:20] not in text
    for model in (SecurityEvent, AuditEvent, AccessEvent):
        assert not any(token[:20] in repr(row) for row in model.objects.values()), model
    assert SecurityEvent.objects.filter(kind="csrf_failed").exists()


def test_low_score_opens_a_feedback_case_for_the_supervisor(surveyed, monkeypatch):
    led, _c, _run, tokens = surveyed
    calls = []
    import bankcrm.service.services as service_services

    real = getattr(service_services, "feedback_case_open", None)
    submit(Client(), tokens[led.zhang.pk], csat="2", nps="3", comment="排队一个多小时，窗口只开两个")
    resp = Response.objects.get(customer=led.zhang)
    assert resp.low_score and resp.needs_followup and resp.sentiment == "negative" and "排队" in resp.keywords
    assert services.supervisor_for(led.bank.cm_a1) == led.bank.supervisor_a.pk  # A1 has none: its parent A's
    assert services.supervisor_for(led.bank.supervisor_a) is None  # never the person themself
    # the adapter calls the service app's entry point with the supervisor, not the manager
    monkeypatch.setattr(services, "open_feedback_case",
                        lambda **kw: calls.append(kw) or type("Case", (), {"number": "FB-TEST-1"})())
    while outbox.consume("surveys_followup"):
        pass
    assert calls == [{"customer_id": led.zhang.pk, "summary": calls[0]["summary"], "source_ref":
                      f"survey:{resp.invitation_id}", "assignee_id": led.bank.supervisor_a.pk, "actor": None}]
    assert "满意度 2/5" in calls[0]["summary"] and "排队" in calls[0]["summary"]
    assert Response.objects.get(pk=resp.pk).case_ref == "FB-TEST-1"
    # a high score with a neutral comment opens nothing
    submit(Client(), tokens[led.li.pk], csat="5", nps="10", comment="没什么意见")
    assert not Response.objects.get(customer=led.li).needs_followup
    if real is None:
        pytest.xfail("bankcrm.service.services.feedback_case_open not built yet: the real case is asserted later")


def test_low_score_case_through_the_real_service_app(surveyed):
    led, _c, _run, tokens = surveyed
    import bankcrm.service.services as service_services

    submit(Client(), tokens[led.zhang.pk], csat="1", nps="2")
    while outbox.consume("surveys_followup"):
        pass
    resp = Response.objects.get(customer=led.zhang)
    if not hasattr(service_services, "feedback_case_open"):
        assert resp.needs_followup and resp.case_ref == ""  # deferred, kept for the retry job; relay not blocked
        pytest.xfail("bankcrm.service.services.feedback_case_open not built yet")
    from bankcrm.service.models import Complaint

    case = Complaint.objects.get(source_ref=f"survey:{resp.invitation_id}")
    assert resp.case_ref == case.number and case.customer_id == led.zhang.pk
    assert case.handler_id == led.bank.supervisor_a.pk  # the manager's supervisor, not the manager
    assert case.staff_named_id == led.bank.cm_a1.pk
    # idempotent per source_ref: a retry opens nothing new
    before = resp.case_ref
    Response.objects.filter(pk=resp.pk).update(case_ref="")
    services.followup(resp.pk)
    assert Response.objects.get(pk=resp.pk).case_ref == before
