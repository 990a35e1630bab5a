"""Survey pages and REST API: templates (versions, editors), campaigns (create, run, send), answers (scoped to the
customers one may see), analytics (by branch, manager, product, channel, period), the message outbox, the customer
360 panel."""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client

from bankcrm.surveys import services
from bankcrm.surveys.models import SurveyTemplate
from tests.conftest import login_client
from tests.test_surveys_tokens import make_surveyed, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def surveyed(bank):
    return make_surveyed(bank)


def api(client, method, url, data=None):
    r = getattr(client, method)(url, data=json.dumps(data or {}), content_type="application/json") \
        if method != "get" else client.get(url)
    return r.status_code, (r.json() if r.get("Content-Type", "").startswith("application/json") else None)


def test_template_versions_through_the_api(bank):
    services.template_install_default()
    sup = login_client(bank.supervisor_a)
    status, body = api(sup, "post", "/api/v1/surveys/templates/", {
        "code": "standard", "name": "标准满意度调查", "questions": [
            {"code": "csat", "kind": "csat", "text": "满意吗？", "required": True},
            {"code": "q2", "kind": "choice", "text": "您通过哪个渠道办理？", "options": ["网点", "手机银行"]},
            {"code": "comment", "kind": "text", "text": "建议"}]})
    assert status == 201 and body["version"] == 2 and body["is_current"], body
    assert SurveyTemplate.objects.filter(code="standard", is_current=True).count() == 1
    status, body = api(sup, "post", "/api/v1/surveys/templates/", {
        "code": "bad", "name": "x", "questions": [{"code": "a", "kind": "csat", "text": "1"},
                                                  {"code": "b", "kind": "csat", "text": "2"}]})
    assert status == 400 and body["error"]["code"] == "template_invalid"
    # a customer manager reads, cannot edit
    cm = login_client(bank.cm_a1)
    assert api(cm, "get", "/api/v1/surveys/templates/?all=1")[1]["count"] == 2
    assert api(cm, "post", "/api/v1/surveys/templates/", {"code": "x", "name": "x", "questions": []})[0] == 403


def test_campaign_run_dispatch_responses_and_analytics_api(surveyed):
    led, c, _run, tokens = surveyed
    bank = led.bank
    sup_b = login_client(bank.supervisor_b)
    status, body = api(sup_b, "post", "/api/v1/surveys/campaigns/", {
        "name": "乙分行季度回访", "trigger": "periodic", "frequency": "quarterly", "per_manager": 3,
        "template_id": c.template_id, "channel": "email", "nps_low": 5, "branch_id": bank.a.pk})
    assert status == 400 and body["error"]["code"] == "campaign_branch_invalid"  # not their branch
    status, body = api(sup_b, "post", "/api/v1/surveys/campaigns/", {
        "name": "乙分行季度回访", "trigger": "periodic", "frequency": "quarterly", "per_manager": 3,
        "template_id": c.template_id, "channel": "sms", "nps_low": 5, "min_interval_days": 0})
    assert status == 201 and body["branch_path"] == bank.b.path
    cid = body["id"]
    assert api(sup_b, "post", f"/api/v1/surveys/campaigns/{cid}/run/")[1]["sampled"] == 0  # wang has no consent
    assert api(login_client(bank.supervisor_a), "get", f"/api/v1/surveys/campaigns/{cid}/")[0] == 404
    assert api(sup_b, "post", f"/api/v1/surveys/campaigns/{cid}/dispatch/") == (200, {"sent": 0, "cancelled": 0})
    assert api(sup_b, "patch", f"/api/v1/surveys/campaigns/{cid}/", {"active": False})[1]["active"] is False
    submit(Client(), tokens[led.zhang.pk], csat="2", nps="4", comment="排队太久，手续费也高")
    submit(Client(), tokens[led.li.pk], csat="5", nps="10", comment="客户经理非常专业，解答耐心")
    cm = login_client(bank.cm_a1)
    status, body = api(cm, "get", "/api/v1/surveys/responses/")
    assert status == 200 and body["count"] == 2
    low = api(cm, "get", "/api/v1/surveys/responses/?low=1")[1]["results"]
    assert [r["customer_id"] for r in low] == [led.zhang.pk] and low[0]["sentiment"] == "negative"
    assert api(login_client(bank.cm_b1), "get", "/api/v1/surveys/responses/")[1]["count"] == 0
    assert api(login_client(bank.cm_b1), "get", f"/api/v1/surveys/responses/{low[0]['id']}/")[0] == 404
    status, a = api(login_client(bank.supervisor_a), "get", "/api/v1/surveys/analytics/")
    assert status == 200 and a["total"]["answers"] == 2 and a["total"]["csat"] == 50.0 and a["total"]["nps"] == 0.0
    assert {r["key"] for r in a["by"]["manager"]} == {bank.cm_a1.name}
    assert a["by"]["branch"][0]["key"] == bank.a1.name and len(a["trend"]) == 1 and a["sentiments"]["negative"] == 1
    assert dict(a["keywords"])["排队"] == 1
    assert api(login_client(bank.supervisor_b), "get", "/api/v1/surveys/analytics/")[1]["total"]["answers"] == 0
    outbox = api(login_client(bank.admin), "get", "/api/v1/surveys/outbox/")[1]
    assert outbox["count"] == 2 and {m["invitation_status"] for m in outbox["results"]} == {"answered"}
    assert api(cm, "get", "/api/v1/surveys/outbox/")[0] == 403


def test_pages_render_for_the_people_who_use_them(surveyed):
    led, c, _run, tokens = surveyed
    bank = led.bank
    submit(Client(), tokens[led.zhang.pk], csat="1", nps="2", comment="客户经理电话一直打不通")
    sup = login_client(bank.supervisor_a)
    for url in ["/surveys/", f"/surveys/?campaign={c.pk}", "/surveys/responses/", "/surveys/responses/?low=1",
                "/surveys/templates/", f"/surveys/templates/{c.template_id}/", "/surveys/templates/new/",
                f"/surveys/templates/{c.template_id}/edit/", "/surveys/campaigns/", "/surveys/campaigns/new/",
                f"/surveys/campaigns/{c.pk}/", "/surveys/outbox/"]:
        r = sup.get(url)
        assert r.status_code == 200, url
    page = sup.get("/surveys/").content.decode()
    assert 'id="surveys-chart-data"' in page and "surveys-dashboard.js" in page
    outbox = sup.get("/surveys/outbox/").content.decode()
    assert outbox.count('data-testid="outbox-row"') == 2 and "消息发件箱" in outbox
    # the template editor saves a new version
    r = sup.post(f"/surveys/templates/{c.template_id}/edit/", {
        "code": "standard", "name": "标准满意度调查", "intro": "", "note": "加一道渠道题",
        "questions": "*csat: 满意吗？\n*nps: 推荐吗？\nchoice: 办理渠道 | 网点 | 手机银行\ntext: 建议"})
    assert r.status_code == 302 and SurveyTemplate.objects.get(code="standard", is_current=True).version == 2
    # the customer 360 page shows the answers panel to the manager
    html = login_client(bank.cm_a1).get(f"/customers/{led.zhang.pk}/").content.decode()
    assert 'data-testid="surveys-panel"' in html and "满意度 1/5" in html
    # a new campaign from the form, then a sampling run from its page
    r = sup.post("/surveys/campaigns/new/", {"name": "甲分行月度回访", "trigger": "periodic", "frequency": "monthly",
                                             "per_manager": "5", "template": SurveyTemplate.objects.get(
                                                 code="standard", is_current=True).pk, "channel": "sms",
                                             "min_interval_days": "0", "active": "on"})
    assert r.status_code == 302
    new_pk = int(r["Location"].rstrip("/").split("/")[-1])
    assert sup.get(f"/surveys/campaigns/{new_pk}/edit/").status_code == 200
    assert sup.get(f"/surveys/campaigns/{c.pk}/edit/").status_code == 404  # head office's: read, not change
    r = sup.post(f"/surveys/campaigns/{new_pk}/run/", follow=True)
    assert "已抽样 2 位客户" in r.content.decode()
    r = sup.post(f"/surveys/campaigns/{new_pk}/dispatch/", follow=True)
    assert "已发送 2 份邀请" in r.content.decode()
    with transaction.atomic():
        assert services.dispatch() == {"sent": 0, "cancelled": 0}
