"""合作机构 pages and the staff API: the administrator's flow through the forms (the secret shown once and nowhere
else), errors next to their fields, compliance reading but not changing, the inbox, and the R10 sweep of every
partner route, HTML and API (anonymous → login/401; no capability → 403 + security log; nothing written on any
denial; unknown objects 404)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bankcrm.core.models import AuditEvent, SecurityEvent
from bankcrm.partners import partner_rules as rules
from bankcrm.partners import partner_services as svc
from bankcrm.partners import webhook_services as webhooks
from bankcrm.partners.models import ApiCall, ApiKey, Partner, PartnerEvent, PartnerProduct, WebhookDelivery, WebhookEndpoint
from tests.conftest import login_client
from tests.helpers import all_routes, audit_seq, security_count, verbs_since
from tests.partners_helpers import call, fund_company, key_for, start_receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank, settings):
    settings.BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    p = fund_company(bank)
    key, token = key_for(bank, p)
    ep, _secret = svc.endpoint_create(actor=bank.admin, partner_id=p.pk, url="http://127.0.0.1:9/hooks",
                                      events=[rules.SALE_SETTLED])
    d = webhooks.endpoint_test(actor=bank.admin, endpoint_id=ep.pk)
    webhooks.attempt(d.pk)  # refused connection: a failed delivery
    call(token, "get", "/api/v1/partner/me/")
    return {"partner": p, "key": key, "token": token, "endpoint": ep, "delivery": d}


def _secrets_leaked(secret: str) -> list[str]:
    """Where a secret appears outside the answer that showed it: audit, security log, call log, URLs of the logs."""
    out = []
    for ev in AuditEvent.objects.all():
        if secret in json.dumps([ev.before, ev.after, ev.reason, ev.target_repr], ensure_ascii=False):
            out.append(f"audit {ev.verb}")
    for ev in SecurityEvent.objects.all():
        if secret in json.dumps([ev.path, ev.detail, ev.username], ensure_ascii=False):
            out.append(f"security {ev.kind}")
    out += [f"call {c.path}" for c in ApiCall.objects.all() if secret in c.path]
    return out


def test_administrator_flow_through_the_pages(bank, settings):
    settings.BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    admin = login_client(bank.admin)
    r = admin.post(reverse("partners:new"), {"code": "rffund", "name": "瑞丰基金管理有限公司", "kind": "fund_company",
                                             "contact": "TA 运营中心", "allowed_events": ["sale.settled"],
                                             "allowed_scopes": ["events:read", "nav:write"], "ip_allowlist": ""})
    p = Partner.objects.get(code="RFFUND")
    assert r.status_code == 302 and r["Location"] == reverse("partners:detail", args=[p.pk])
    assert admin.get(reverse("partners:list")).content.decode().count("RFFUND") >= 1
    page = admin.get(reverse("partners:detail", args=[p.pk]))
    assert page.status_code == 200 and "签发新密钥" in page.content.decode()
    # issue a key: the token is on the answer, once
    r = admin.post(reverse("partners:key_issue", args=[p.pk]), {"label": "TA 系统对接", "scopes": ["events:read"],
                                                               "days": "90"})
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    key = ApiKey.objects.get(partner=p)
    token = r.context["secret"]
    assert token.startswith(key.key_id + "_") and token in r.content.decode()
    assert token not in admin.get(reverse("partners:detail", args=[p.pk])).content.decode()
    assert key.key_id in admin.get(reverse("partners:detail", args=[p.pk])).content.decode()
    assert call(token, "get", "/api/v1/partner/me/").status_code == 200
    # an endpoint: its signing secret shown once too
    receiver = start_receiver()
    try:
        r = admin.post(reverse("partners:endpoint_new", args=[p.pk]), {"url": receiver.url, "events": ["sale.settled"],
                                                                        "active": "on", "description": "生产接收端"})
        assert r.status_code == 200
        signing = r.context["secret"]
        assert signing.startswith("whsec_") and WebhookEndpoint.objects.get(partner=p).secret == signing
        ep = WebhookEndpoint.objects.get(partner=p)
        r = admin.post(reverse("partners:endpoint_test", args=[ep.pk]))
        assert r.status_code == 302 and r["Location"] == reverse("partners:deliveries") + f"?partner={p.pk}"
        assert len(receiver.received) == 1
        header = receiver.received[0].headers["X-Bankcrm-Signature"]
        assert rules.verify_signature(signing, header, receiver.received[0].body, now=int(header.split(",")[0][2:]))
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    r = admin.get(r["Location"])
    assert r.status_code == 200 and "已送达" in r.content.decode() and "推送成功" in r.content.decode()
    # rotate the key: a new token shown, the old one still works in its grace
    r = admin.post(reverse("partners:key_rotate", args=[key.pk]), {"grace_hours": "24"})
    assert r.status_code == 200 and r.context["secret"] != token and key.key_id in r.context["note"]
    assert call(token, "get", "/api/v1/partner/me/").status_code == 200
    r = admin.post(reverse("partners:key_revoke", args=[key.pk]), {"reason": "对方报告泄露"})
    assert r.status_code == 302 and call(token, "get", "/api/v1/partner/me/").status_code == 401
    assert _secrets_leaked(token) == [] and _secrets_leaked(signing) == []
    assert {"partners.partner_created", "partners.key_issued", "partners.endpoint_created", "partners.endpoint_tested",
            "partners.key_rotated", "partners.key_revoked"} <= set(AuditEvent.objects.values_list("verb", flat=True))


def test_form_errors_are_shown_next_to_their_fields(bank):
    admin = login_client(bank.admin)
    r = admin.post(reverse("partners:new"), {"code": "1bad", "name": "某", "kind": "insurer"})
    assert r.status_code == 400 and "partner_code_invalid" not in r.content.decode()
    assert "机构代码为2–20位" in r.content.decode() and 'data-testid="field-error-code"' in r.content.decode()
    r = admin.post(reverse("partners:new"), {"code": "KNLIFE", "name": "康宁人寿", "kind": "insurer",
                                             "allowed_scopes": ["nav:write"]})
    assert r.status_code == 400 and 'data-testid="field-error-allowed_scopes"' in r.content.decode()
    p = fund_company(bank)
    r = admin.post(reverse("partners:endpoint_new", args=[p.pk]), {"url": "http://partner.example/hooks",
                                                                   "events": ["sale.settled"]})
    assert r.status_code == 400 and "HTTPS" in r.content.decode() and 'field-error-url' in r.content.decode()
    r = admin.post(reverse("partners:status", args=[p.pk]), {"op": "suspend", "reason": ""})
    assert r.status_code == 400 and "暂停原因" in r.content.decode()
    assert Partner.objects.get(pk=p.pk).status == "active"


def test_compliance_reads_everything_but_changes_nothing(bank, world):
    co = login_client(bank.compliance)
    p = world["partner"]
    for url in (reverse("partners:list"), reverse("partners:detail", args=[p.pk]), reverse("partners:deliveries"),
                reverse("partners:calls") + f"?partner={p.pk}&result=ok", "/api/v1/partners/",
                f"/api/v1/partners/{p.pk}/keys/", "/api/v1/partners/calls/?result=denied"):
        r = co.get(url)
        assert r.status_code == 200, url
    page = co.get(reverse("partners:detail", args=[p.pk])).content.decode()
    assert world["key"].key_id in page and "签发新密钥" not in page and "rotate-key" not in page
    seq, denied = audit_seq(), security_count("denied")
    r = co.post(reverse("partners:key_revoke", args=[world["key"].pk]), {"reason": "合规要求"})
    assert r.status_code == 403 and security_count("denied") == denied + 1 and verbs_since(seq) == []


def test_inbox_lists_dead_deliveries_and_expiring_keys_for_administrators(bank, world):
    from bankcrm.core import inbox

    WebhookDelivery.objects.update(status="dead", next_attempt_at=None)
    ApiKey.objects.filter(pk=world["key"].pk).update(expires_at=timezone.now() + timedelta(days=10))
    kinds = {i.kind for i in inbox.items_for(bank.admin)}
    assert {"partner_delivery_dead", "partner_key_expiring"} <= kinds
    assert inbox.PROVIDERS["partners"].count(bank.admin) == 2
    assert inbox.PROVIDERS["partners"].count(bank.compliance) == 0 and inbox.PROVIDERS["partners"].count(bank.cm_a1) == 0
    assert login_client(bank.admin).get(reverse("core:inbox")).status_code == 200


def test_staff_api_flow_and_mass_assignment(bank, settings):
    settings.BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP = True
    from tests.wealth_helpers import product

    admin = login_client(bank.admin)
    j = {"content_type": "application/json"}
    r = admin.post("/api/v1/partners/", data=json.dumps({
        "code": "RFFUND", "name": "瑞丰基金管理有限公司", "kind": "fund_company", "allowed_events": ["sale.settled"],
        "allowed_scopes": ["events:read", "products:read", "nav:write"], "ip_allowlist": ["10.20.0.0/16"],
        "status": "suspended", "created_by": bank.compliance.pk}), **j)
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert r.json()["status"] == "active" and r.json()["created_by"] == "AD001"
    r = admin.patch(f"/api/v1/partners/{pid}/", data=json.dumps({"name": "瑞丰基金", "code": "HACK", "kind": "regulator",
                                                                   "status": "suspended"}), **j)
    assert r.status_code == 200 and (r.json()["name"], r.json()["code"], r.json()["kind"], r.json()["status"]) == (
        "瑞丰基金", "RFFUND", "fund_company", "active")
    bond = product(bank, "RF-BOND-A", kind="fund", issuer="瑞丰基金管理有限公司")
    r = admin.put(f"/api/v1/partners/{pid}/products/", data=json.dumps({"product_ids": [bond.pk]}), **j)
    assert r.status_code == 200 and [x["code"] for x in r.json()] == ["RF-BOND-A"]
    r = admin.post(f"/api/v1/partners/{pid}/keys/", data=json.dumps({"label": "TA", "scopes": ["events:read"],
                                                                      "key_id": "bkp_000000000000"}), **j)
    assert r.status_code == 201 and r.json()["token"].startswith(r.json()["key"]["key_id"] + "_")
    token, kid = r.json()["token"], r.json()["key"]["id"]
    assert r.json()["key"]["key_id"] != "bkp_000000000000"
    listed = admin.get(f"/api/v1/partners/{pid}/keys/").content.decode()
    assert token not in listed and token.split("_", 2)[2] not in listed
    r = admin.post(f"/api/v1/partners/keys/{kid}/rotate/", data=json.dumps({"grace_hours": 1}), **j)
    assert r.status_code == 201 and r.json()["old_key_until"] and r.json()["key"]["state"] == "active"
    assert admin.get(f"/api/v1/partners/{pid}/keys/").json()["results"][1]["state"] == "grace"
    r = admin.post(f"/api/v1/partners/keys/{kid}/revoke/", data=json.dumps({"reason": "轮换完成"}), **j)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    r = admin.post(f"/api/v1/partners/{pid}/endpoints/", data=json.dumps({
        "url": "http://127.0.0.1:9/hooks", "events": ["sale.settled"], "secret": "whsec_mine"}), **j)
    assert r.status_code == 201 and r.json()["signing_secret"].startswith("whsec_") and "secret" not in r.json()["endpoint"]
    eid = r.json()["endpoint"]["id"]
    assert r.json()["signing_secret"] != "whsec_mine"
    r = admin.patch(f"/api/v1/partners/endpoints/{eid}/", data=json.dumps({"url": "ftp://x.example/"}), **j)
    assert r.status_code == 400 and r.json()["error"]["code"] == "endpoint_url_invalid" and "url" in r.json()["error"]["fields"]
    r = admin.post(f"/api/v1/partners/endpoints/{eid}/test/", **j)
    assert r.status_code == 200 and r.json()["status"] == "failed" and r.json()["type"] == "test.ping"
    did = r.json()["id"]
    r = admin.get(f"/api/v1/partners/deliveries/?partner={pid}&status=failed")
    assert [x["id"] for x in r.json()["results"]] == [did]
    r = admin.post(f"/api/v1/partners/deliveries/{did}/retry/", **j)
    assert r.status_code == 200 and r.json()["attempts"] == 2
    r = admin.post(f"/api/v1/partners/endpoints/{eid}/rotate-secret/", **j)
    assert r.status_code == 200 and r.json()["endpoint"]["previous_valid_until"]
    r = admin.post(f"/api/v1/partners/{pid}/status/", data=json.dumps({"status": "suspended", "reason": "协议到期"}), **j)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    r = admin.get("/api/v1/partners/?status=suspended")
    assert [x["code"] for x in r.json()["results"]] == ["RFFUND"]
    call(token, "get", "/api/v1/partner/me/")
    r = admin.get(f"/api/v1/partners/calls/?partner={pid}&result=denied")
    assert r.json()["results"][0]["outcome"] in ("partner_key_revoked", "partner_suspended")


# ---- R10 sweep of every partner route -----------------------------------------------------------------------------------
def routes(world) -> list[tuple[str, str, str, dict]]:
    """(route name, method, url, body) for every partner route and method; the sweep test checks none is missing."""
    p, k, ep, d = world["partner"].pk, world["key"].pk, world["endpoint"].pk, world["delivery"].pk
    return [
        ("partners:list", "get", reverse("partners:list"), {}),
        ("partners:new", "get", reverse("partners:new"), {}),
        ("partners:new", "post", reverse("partners:new"), {"code": "X1", "name": "某某机构", "kind": "other"}),
        ("partners:detail", "get", reverse("partners:detail", args=[p]), {}),
        ("partners:edit", "post", reverse("partners:edit", args=[p]), {"name": "改名"}),
        ("partners:status", "post", reverse("partners:status", args=[p]), {"op": "suspend", "reason": "测试暂停"}),
        ("partners:products", "post", reverse("partners:products", args=[p]), {}),
        ("partners:key_issue", "post", reverse("partners:key_issue", args=[p]), {"label": "x", "scopes": ["events:read"],
                                                                                  "days": "30"}),
        ("partners:endpoint_new", "post", reverse("partners:endpoint_new", args=[p]), {"url": "https://x.example/h",
                                                                                        "events": ["sale.settled"]}),
        ("partners:key_rotate", "post", reverse("partners:key_rotate", args=[k]), {"grace_hours": "1"}),
        ("partners:key_revoke", "post", reverse("partners:key_revoke", args=[k]), {"reason": "测试"}),
        ("partners:endpoint_edit", "post", reverse("partners:endpoint_edit", args=[ep]), {"url": "https://y.example/h",
                                                                                          "events": ["sale.settled"]}),
        ("partners:endpoint_rotate", "post", reverse("partners:endpoint_rotate", args=[ep]), {}),
        ("partners:endpoint_test", "post", reverse("partners:endpoint_test", args=[ep]), {}),
        ("partners:deliveries", "get", reverse("partners:deliveries"), {}),
        ("partners:delivery_retry", "post", reverse("partners:delivery_retry", args=[d]), {}),
        ("partners:calls", "get", reverse("partners:calls"), {}),
        ("api-partners", "get", "/api/v1/partners/", {}),
        ("api-partners", "post", "/api/v1/partners/", {"code": "X1", "name": "某某机构", "kind": "other"}),
        ("api-partner", "get", f"/api/v1/partners/{p}/", {}),
        ("api-partner", "patch", f"/api/v1/partners/{p}/", {"name": "改名"}),
        ("api-partner-status", "post", f"/api/v1/partners/{p}/status/", {"status": "suspended", "reason": "测试暂停"}),
        ("api-partner-products", "get", f"/api/v1/partners/{p}/products/", {}),
        ("api-partner-products", "put", f"/api/v1/partners/{p}/products/", {"product_ids": []}),
        ("api-partner-keys", "get", f"/api/v1/partners/{p}/keys/", {}),
        ("api-partner-keys", "post", f"/api/v1/partners/{p}/keys/", {"label": "x", "scopes": ["events:read"]}),
        ("api-partner-endpoints", "get", f"/api/v1/partners/{p}/endpoints/", {}),
        ("api-partner-endpoints", "post", f"/api/v1/partners/{p}/endpoints/", {"url": "https://x.example/h",
                                                                                "events": ["sale.settled"]}),
        ("api-partner-key-rotate", "post", f"/api/v1/partners/keys/{k}/rotate/", {}),
        ("api-partner-key-revoke", "post", f"/api/v1/partners/keys/{k}/revoke/", {"reason": "测试"}),
        ("api-partner-endpoint", "get", f"/api/v1/partners/endpoints/{ep}/", {}),
        ("api-partner-endpoint", "patch", f"/api/v1/partners/endpoints/{ep}/", {"active": False}),
        ("api-partner-endpoint-rotate", "post", f"/api/v1/partners/endpoints/{ep}/rotate-secret/", {}),
        ("api-partner-endpoint-test", "post", f"/api/v1/partners/endpoints/{ep}/test/", {}),
        ("api-partner-deliveries", "get", "/api/v1/partners/deliveries/", {}),
        ("api-partner-delivery-retry", "post", f"/api/v1/partners/deliveries/{d}/retry/", {}),
        ("api-partner-calls", "get", "/api/v1/partners/calls/", {}),
        ("api-partner-me", "get", "/api/v1/partner/me/", {}),
        ("api-partner-events", "get", "/api/v1/partner/events/", {}),
        ("api-partner-own-products", "get", "/api/v1/partner/products/", {}),
        ("api-partner-nav-post", "post", "/api/v1/partner/products/RF-BOND-A/navs/", {"nav_date": "2026-01-05",
                                                                                       "nav_x10000": 10100}),
    ]


def _call(client, method, url, data):
    if url.startswith("/api/"):
        if method == "get":
            return client.get(url)
        return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")
    return getattr(client, method)(url, data=data)


def _state():
    return [list(m.objects.order_by("pk").values()) for m in (Partner, PartnerProduct, ApiKey, WebhookEndpoint,
                                                               PartnerEvent, WebhookDelivery)]


def _is_manage(name: str, method: str) -> bool:
    return method != "get" or name in ("partners:new",)


def test_r10_sweep_every_partner_route(bank, world):
    swept = {name for name, *_x in routes(world)}
    declared = {r.name for r in all_routes() if r.name.startswith(("partners:", "api-partner"))}
    assert swept == declared, f"routes missing from the sweep: {declared - swept}"
    seq, state = audit_seq(), _state()
    problems = []
    anon, no_cap, co = Client(), login_client(bank.cm_a1), login_client(bank.compliance)
    for name, method, url, data in routes(world):
        api = url.startswith("/api/")
        partner_api = url.startswith("/api/v1/partner/")
        r = _call(anon, method, url, data)
        if not (r.status_code == 401 if api else
                r.status_code == 302 and r["Location"].startswith(reverse("org:login"))):
            problems.append(f"anonymous {method} {url} -> {r.status_code}")
        # a member of staff without the capability: 403 and one security-log entry
        for who, client in [("cm_a1", no_cap)] + ([("compliance", co)] if partner_api or _is_manage(name, method) else []):
            denied = security_count("denied")
            r = _call(client, method, url, data)
            if r.status_code != 403 or security_count("denied") != denied + 1:
                problems.append(f"{who} {method} {url} -> {r.status_code}")
    problems += [f"audit event: {v}" for v in verbs_since(seq)]
    if _state() != state:
        problems.append("state changed")
    assert problems == []


def test_unknown_objects_are_404_for_those_who_may_see_partners(bank, world):
    co, admin = login_client(bank.compliance), login_client(bank.admin)
    for client, url in [(co, reverse("partners:detail", args=[99999])), (co, "/api/v1/partners/99999/"),
                        (admin, reverse("partners:edit", args=[99999])),
                        (co, "/api/v1/partners/endpoints/99999/"), (co, "/api/v1/partners/99999/keys/")]:
        assert client.get(url).status_code == 404, url
    for url in (reverse("partners:key_rotate", args=[99999]), reverse("partners:delivery_retry", args=[99999]),
                "/api/v1/partners/keys/99999/revoke/"):
        r = _call(admin, "post", url, {"reason": "测试吊销"})
        assert r.status_code == 404, url


def test_sweep_detector_catches_a_manage_route_that_only_checks_view(bank, world, monkeypatch):
    """Broken variant: the key revocation view guarded by partners.view — compliance gets through."""
    from bankcrm.core import access

    original = access.can
    monkeypatch.setattr(access, "can", lambda actor, code: original(actor, "partners.view" if code == "partners.manage"
                                                                     else code))
    co = login_client(bank.compliance)
    r = co.post(reverse("partners:key_revoke", args=[world["key"].pk]), {"reason": "测试"})
    assert r.status_code != 403  # the sweep's check (403 for compliance on a manage route) would report it


def test_a_second_click_on_rotate_or_revoke_changes_nothing_and_says_why(bank, world):
    """The form posted twice (a double click, the back button): the second rotation is refused with its reason, no
    second new key is made, and revoking an already revoked key writes nothing more."""
    admin = login_client(bank.admin)
    key = world["key"]
    r = admin.post(reverse("partners:key_rotate", args=[key.pk]), {"grace_hours": "24"})
    assert r.status_code == 200
    keys = ApiKey.objects.filter(partner=world["partner"]).count()
    seq = audit_seq()
    r = admin.post(reverse("partners:key_rotate", args=[key.pk]), {"grace_hours": "24"}, follow=True)
    body = r.content.decode()
    assert "只能轮换使用中的密钥" in body
    assert ApiKey.objects.filter(partner=world["partner"]).count() == keys and verbs_since(seq) == []
    new = ApiKey.objects.get(partner=world["partner"], replaced_by__isnull=True, revoked_at__isnull=True)
    r = admin.post(reverse("partners:key_revoke", args=[new.pk]), {"reason": "对方报告泄露"})
    assert r.status_code == 302
    seq = audit_seq()
    r = admin.post(reverse("partners:key_revoke", args=[new.pk]), {"reason": "对方报告泄露"}, follow=True)
    assert "该密钥已吊销" in r.content.decode() and verbs_since(seq) == []
    assert call(world["token"], "get", "/api/v1/partner/me/").status_code == 200  # the old key is in its grace
