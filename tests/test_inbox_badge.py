"""The to-do badge (core.inbox.badge_count): counted once per person and kept for BANKCRM_INBOX_BADGE_SECONDS; the
person's own changes (any POST) and opening the inbox count afresh; error pages ask no provider at all."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bankcrm.core import inbox
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting(monkeypatch):
    """One extra provider whose count the test sets, and how many times it was asked."""
    state = {"n": 1, "asked": 0}

    def count(actor):
        state["asked"] += 1
        return state["n"]

    monkeypatch.setitem(inbox.PROVIDERS, "tests.badge", inbox.Provider("tests.badge", lambda actor: [], count))
    return state


def badge(html: str) -> str:
    marker = 'data-testid="inbox-count">'
    return html[html.index(marker) + len(marker):].split("<", 1)[0].strip()


def test_the_badge_is_cached_and_forgotten_by_the_persons_own_change(bank, counting, settings):
    settings.BANKCRM_INBOX_BADGE_SECONDS = 30
    client = login_client(bank.cm_a1)
    first = int(badge(client.get("/").content.decode()))
    assert counting["asked"] == 1
    counting["n"] = 5  # someone else assigned four more: shown within the half minute, not at once
    assert int(badge(client.get("/").content.decode())) == first and counting["asked"] == 1
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})  # any change of the person's own
    assert int(badge(client.get("/").content.decode())) == first + 4 and counting["asked"] == 2
    counting["n"] = 6
    client.get("/inbox/")  # the inbox page counts afresh
    assert int(badge(client.get("/").content.decode())) == first + 5


def test_without_caching_every_page_counts(bank, counting, settings):
    settings.BANKCRM_INBOX_BADGE_SECONDS = 0
    client = login_client(bank.cm_a1)
    client.get("/")
    client.get("/")
    assert counting["asked"] == 2


def test_error_pages_ask_no_provider(bank, counting, settings):
    settings.BANKCRM_INBOX_BADGE_SECONDS = 0
    client = login_client(bank.cm_a1)
    with CaptureQueriesContext(connection) as refused:
        r = client.get("/org/staff/")  # a customer manager may not manage staff
    assert r.status_code == 403 and counting["asked"] == 0
    assert client.get("/customers/999999999/").status_code == 404 and counting["asked"] == 0
    with CaptureQueriesContext(connection) as home:
        client.get("/")
    assert counting["asked"] == 1 and len(refused.captured_queries) < len(home.captured_queries)
