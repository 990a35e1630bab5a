"""Structured logs (production's `json` formatter with the request-context filter): requests that touch a customer
leave JSON lines that carry the request's id and no personal data — not the name, the ID number or the phone number,
not even when they were typed into the search box. (The gunicorn access log is checked in test_prod_gunicorn.py.)"""

from __future__ import annotations

import json
import logging

import pytest
from django.urls import reverse

from bankcrm.core.identifiers import ric_check_char
from bankcrm.core.logging import JsonFormatter, RequestContextFilter
from bankcrm.customers import services as customers
from tests.conftest import login_client

pytestmark = pytest.mark.django_db
NAME, MOBILE = "司马青衫", "13987654321"
ID_NUMBER = "110105" + "19791231" + "457"
ID_NUMBER += ric_check_char(ID_NUMBER)


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines():
    """Every log record of every logger, formatted as production formats it (root at DEBUG while the test runs)."""
    handler, root = Lines(), logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("django.db.backends").setLevel(logging.WARNING)  # as config/settings/base.py LOGGING sets it
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture
def person(bank):
    return customers.customer_register(actor=bank.cm_a1, kind="person", name=NAME, id_type="resident_id",
                                       id_number=ID_NUMBER, mobile=MOBILE, address="上海市浦东新区世纪大道100号")


def _leaks(lines: list[str]) -> list[str]:
    sentinels = (NAME, NAME[:2], MOBILE, MOBILE[-8:], ID_NUMBER, ID_NUMBER[-8:], "世纪大道")
    return [line for line in lines if any(s in line for s in sentinels)]


def test_customer_requests_log_json_with_the_request_id_and_no_personal_data(bank, person, json_lines):
    cm, other = login_client(bank.cm_a1), login_client(bank.cm_b1)
    requests = [
        (cm, "get", reverse("customers:detail", args=[person.pk]), {}),
        (cm, "get", reverse("customers:list"), {"q": NAME}),
        (cm, "get", reverse("customers:list"), {"q": MOBILE}),
        (cm, "get", reverse("customers:list"), {"q": ID_NUMBER}),
        (cm, "post", reverse("customers:reveal", args=[person.pk]), {"field": "mobile", "reason": "客户来电核实身份"}),
        (other, "get", reverse("customers:detail", args=[person.pk]), {}),  # not visible: 404, logged by Django
        (other, "get", reverse("customers:list"), {"q": NAME}),
        (cm, "post", reverse("customers:edit", args=[person.pk]), {"mobile": "139-not-a-number", "name": NAME}),
    ]
    per_request: list[tuple[str, int, int]] = []
    for client, method, url, data in requests:
        before = len(json_lines)
        r = getattr(client, method)(url, data)
        per_request.append((r["X-Request-ID"], before, len(json_lines)))
    assert json_lines, "no log line at all: the test would prove nothing"
    parsed = [json.loads(line) for line in json_lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg", "request_id", "channel"} <= set(p) for p in parsed)
    for rid, start, end in per_request:
        for p in parsed[start:end]:
            assert p["request_id"] == rid, (p, rid)
    assert any(p["logger"] == "django.request" and p["msg"].startswith("Not Found") for p in parsed)
    assert _leaks(json_lines) == []


def test_the_leak_detector_catches_a_name_in_a_log_line(bank, person, json_lines):
    """Broken variant: a view that logs what it was given."""
    logging.getLogger("bankcrm.customers").info("search for %s", NAME)
    assert len(_leaks(json_lines)) == 1


def test_django_request_lines_carry_the_request_id_not_a_stale_one(bank, json_lines):
    """Django logs 4xx/5xx after the middleware chain returned; the filter takes the id from the request."""
    c = login_client(bank.cm_a1)
    ids = []
    for _ in range(3):
        ids.append(c.get("/customers/999999/")["X-Request-ID"])
    logged = [json.loads(line)["request_id"] for line in json_lines if "Not Found" in line]
    assert logged == ids and len(set(ids)) == 3
