"""Pure rules of the partner interface: key format and digest, webhook signatures, the retry schedule, endpoint URLs,
IP allow-lists and what each kind of organisation may receive and do."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bankcrm.partners import partner_rules as rules


def test_new_key_parses_back_and_only_its_id_is_public():
    k = rules.new_key()
    assert k.token.startswith(f"{k.key_id}_") and k.secret not in k.key_id
    assert rules.parse_token(k.token) == (k.key_id, k.secret)
    assert rules.key_id_of(k.token) == k.key_id
    assert rules.new_key().key_id != k.key_id
    for bad in ("", "bkp_", "bcrm_abcd_xyz", f"{k.key_id}_short", f"{k.key_id}_{k.secret} extra", k.key_id):
        assert rules.parse_token(bad) is None, bad


def test_digest_is_keyed_and_bound_to_the_key_id():
    k = rules.new_key()
    d = rules.secret_digest(b"server-key-1", k.key_id, k.secret)
    assert d != rules.secret_digest(b"server-key-2", k.key_id, k.secret)  # a table alone does not verify guesses
    assert d != rules.secret_digest(b"server-key-1", "bkp_000000000000", k.secret)  # not movable to another row
    assert d != hashlib.sha256(k.secret.encode()).hexdigest() and k.secret not in d


def test_signature_round_trip_and_refusals():
    body = b'{"id":"evt_1","type":"sale.settled"}'
    header = rules.signature_header(["whsec_new"], 1_800_000_000, body)
    expected = hmac.new(b"whsec_new", b"1800000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1800000000,v1={expected}"
    assert rules.verify_signature("whsec_new", header, body, now=1_800_000_010)
    assert not rules.verify_signature("whsec_other", header, body, now=1_800_000_010)  # wrong secret
    assert not rules.verify_signature("whsec_new", header, body + b" ", now=1_800_000_010)  # altered body
    assert not rules.verify_signature("whsec_new", header, body, now=1_800_000_000 + 301)  # replayed late
    assert not rules.verify_signature("whsec_new", "v1=" + expected, body, now=1_800_000_000)  # no timestamp
    # during a secret rotation both secrets sign; either verifies
    both = rules.signature_header(["whsec_new", "whsec_old"], 1_800_000_000, body)
    assert both.count("v1=") == 2
    assert rules.verify_signature("whsec_old", both, body, now=1_800_000_000)
    assert rules.verify_signature("whsec_new", both, body, now=1_800_000_000)


def test_retry_schedule_doubles_and_is_capped():
    delays = [rules.retry_delay_seconds(n, first_minutes=1, cap_minutes=30) for n in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1800, 1800, 1800]
    assert rules.retry_delay_seconds(0, first_minutes=1, cap_minutes=30) == 0
    assert rules.gives_up(8, max_attempts=8) and not rules.gives_up(7, max_attempts=8)
    assert rules.delivered(200) and rules.delivered(204) and not rules.delivered(302) and not rules.delivered(None)


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=1, max_value=60),
       st.integers(min_value=1, max_value=10_000))
def test_retry_delay_never_exceeds_the_cap_and_never_shrinks(n, first, cap):
    d, d_next = (rules.retry_delay_seconds(x, first_minutes=first, cap_minutes=cap) for x in (n, n + 1))
    assert 0 < d <= max(cap, 1) * 60 and d <= d_next


@pytest.mark.parametrize("url,loopback,ok", [
    ("https://api.partner.example/hooks", False, True),
    ("http://api.partner.example/hooks", True, False),
    ("http://127.0.0.1:8080/hooks", True, True),
    ("http://127.0.0.1:8080/hooks", False, False),
    ("http://localhost/hooks", True, True),
    ("https://user:pw@api.partner.example/hooks", False, False),
    ("https://api.partner.example/hooks#frag", False, False),
    ("ftp://api.partner.example/hooks", False, False),
    ("https://", False, False),
    ("https://[::1", False, False),
    ("https://x.example/" + "a" * 500, False, False),
])
def test_endpoint_urls(url, loopback, ok):
    assert (rules.url_problem(url, allow_loopback_http=loopback) is None) is ok


def test_ip_allowlist():
    good, bad = rules.parse_allowlist("203.0.113.0/24\n10.1.2.3, 2001:db8::/32; nonsense 300.1.1.1")
    assert good == ["10.1.2.3/32", "2001:db8::/32", "203.0.113.0/24"] and bad == ["nonsense", "300.1.1.1"]
    assert rules.ip_allowed("203.0.113.77", good) and rules.ip_allowed("2001:db8::1", good)
    assert not rules.ip_allowed("203.0.114.1", good) and not rules.ip_allowed("", good)
    assert rules.ip_allowed("198.51.100.1", [])  # no list: not restricted


def test_what_each_kind_may_receive_and_do():
    assert rules.invalid_events(rules.CLEARING_HOUSE, [rules.SETTLEMENT_OUTWARD]) == []
    assert rules.invalid_events(rules.FUND_COMPANY, [rules.SETTLEMENT_OUTWARD]) == [rules.SETTLEMENT_OUTWARD]
    assert rules.invalid_events(rules.REGULATOR, [rules.COMPLAINT_CLOSED, rules.SALE_SETTLED]) == [rules.SALE_SETTLED]
    assert rules.invalid_scopes(rules.INSURER, [rules.SCOPE_NAV]) == [rules.SCOPE_NAV]  # insurance has no NAV
    assert rules.invalid_scopes(rules.FUND_COMPANY, [rules.SCOPE_NAV, rules.SCOPE_EVENTS]) == []


def test_customer_pseudonym_is_stable_per_partner_and_unlinkable_across_partners():
    a = rules.customer_ref(b"k", "RFFUND", 42)
    assert a == rules.customer_ref(b"k", "RFFUND", 42) and a.startswith("cus_")
    assert a != rules.customer_ref(b"k", "KNLIFE", 42) and a != rules.customer_ref(b"k", "RFFUND", 43)
