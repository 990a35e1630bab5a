"""Engagement API, slice 1 (issue #9): interactions, tasks, plans and plan templates, referrals, opportunities and the
pipeline, needs profiles and the calendar — happy paths, the one error format with stable codes, scope (another
branch's objects are 404), capabilities (403), masking of names in lists, and mass assignment."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from bankcrm.core.models import AccessEvent
from bankcrm.engagement import services
from bankcrm.engagement.models import Interaction, NeedsProfile, Opportunity, PlanTemplate, Referral, Task
from tests.conftest import login_client
from tests.helpers import audit_seq, verbs_since
from tests.ledger_helpers import build_ledger
from tests.test_api import format_problems

pytestmark = pytest.mark.django_db
J = {"content_type": "application/json"}
BASE = "/api/v1/engagement"


@pytest.fixture
def world(bank):
    return build_ledger(bank)


def post(client, url, data=None):
    return client.post(url, data=json.dumps(data or {}), **J)


def err(r, status, code):
    assert r.status_code == status, (r.status_code, r.content[:400])
    assert format_problems(r) == []
    assert r.json()["error"]["code"] == code, r.json()
    return r.json()["error"]


# ---- Interactions ----------------------------------------------------------------------------------------------------
def test_interactions_log_plan_complete_cancel(bank, world):
    cm = login_client(bank.cm_a1)
    r = post(cm, f"{BASE}/interactions/", {"customer_id": world.zhang.pk, "kind": "call", "subject": "电话沟通",
                                          "notes": "客户想为孩子留学做准备", "participants": ["张三丰"],
                                          "follow_up_on": str(timezone.localdate() + timedelta(days=2))})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["notes"], body["customer_name"]) == ("done", "客户想为孩子留学做准备", world.zhang.name)
    assert Task.objects.filter(source="interaction", source_ref=f"interaction:{body['id']}").exists()
    at = (timezone.now() + timedelta(days=1)).isoformat()
    r = post(cm, f"{BASE}/interactions/", {"customer_id": world.zhang.pk, "mode": "planned", "kind": "visit",
                                          "subject": "上门拜访", "planned_at": at})
    planned = r.json()
    assert r.status_code == 201 and planned["status"] == "planned"
    rows = cm.get(f"{BASE}/interactions/?status=planned").json()["results"]
    assert [x["id"] for x in rows] == [planned["id"]]
    assert "notes" not in rows[0] and rows[0]["customer_name"] == "张**"  # lists mask the name, carry no notes
    assert AccessEvent.objects.filter(view="engagement.api_interactions", channel="api").exists()
    d = cm.get(f"{BASE}/interactions/{body['id']}/").json()
    assert d["notes"] and d["customer_name"] == world.zhang.name
    r = post(cm, f"{BASE}/interactions/{planned['id']}/complete/", {"notes": "面谈顺利"})
    assert r.status_code == 200 and r.json()["status"] == "done" and "面谈顺利" in r.json()["notes"]
    err(post(cm, f"{BASE}/interactions/{planned['id']}/cancel/", {"reason": "客户出差"}), 409, "interaction_not_planned")


def test_interaction_errors(bank, world):
    cm = login_client(bank.cm_a1)
    seq = audit_seq()
    e = err(post(cm, f"{BASE}/interactions/", {"customer_id": world.zhang.pk, "kind": "call", "subject": "x"}),
            400, "subject_required")
    assert "subject" in e["fields"]
    err(post(cm, f"{BASE}/interactions/", {"customer_id": world.zhang.pk, "kind": "fax", "subject": "电话"}),
        400, "validation_failed")
    err(post(cm, f"{BASE}/interactions/", {"customer_id": world.zhang.pk, "mode": "planned", "kind": "call",
                                          "subject": "电话"}), 400, "planned_at_required")
    err(post(cm, f"{BASE}/interactions/", {"customer_id": world.wang.pk, "kind": "call", "subject": "电话"}),
        404, "customer_not_found")
    err(post(login_client(bank.supervisor_a), f"{BASE}/interactions/",
             {"customer_id": world.zhang.pk, "kind": "call", "subject": "电话"}), 403, "permission_denied")
    assert verbs_since(seq) == [] and Interaction.objects.count() == 0
    i = services.interaction_log(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="call", subject="电话")
    err(login_client(bank.cm_b1).get(f"{BASE}/interactions/{i.pk}/"), 404, "interaction_not_found")
    assert login_client(bank.cm_b1).get(f"{BASE}/interactions/").json()["results"] == []
    err(post(cm, f"{BASE}/interactions/{i.pk}/complete/", {}), 409, "interaction_not_planned")


def test_interaction_mass_assignment_is_ignored(bank, world):
    cm = login_client(bank.cm_a1)
    r = post(cm, f"{BASE}/interactions/", {"customer_id": world.zhang.pk, "kind": "call", "subject": "电话沟通",
                                          "status": "cancelled", "staff_id": bank.cm_b1.pk, "staff": bank.cm_b1.pk,
                                          "branch_path": "/hack/", "id": 999})
    assert r.status_code == 201
    i = Interaction.objects.get()
    assert (i.status, i.staff_id, i.branch_path) == ("done", bank.cm_a1.pk, world.zhang.branch.path)


# ---- Tasks and plans -------------------------------------------------------------------------------------------------
def test_tasks_api(bank, world):
    cm = login_client(bank.cm_a1)
    today = timezone.localdate()
    r = post(cm, f"{BASE}/tasks/", {"title": "准备年度回顾资料", "due_on": str(today), "customer_id": world.zhang.pk,
                                   "status": "done", "owner": bank.cm_b1.pk})
    assert r.status_code == 201 and r.json()["bucket"] == "today" and r.json()["status"] == "open"
    tid = r.json()["id"]
    assert [t["id"] for t in cm.get(f"{BASE}/tasks/?bucket=today").json()["results"]] == [tid]
    assert cm.get(f"{BASE}/tasks/?bucket=overdue").json()["results"] == []
    err(post(cm, f"{BASE}/tasks/", {"title": "过期", "due_on": str(today - timedelta(days=1))}), 400, "due_on_past")
    err(post(cm, f"{BASE}/tasks/", {"title": "别人的", "due_on": str(today), "customer_id": world.wang.pk}), 404,
        "customer_not_found")
    err(post(login_client(bank.om_a1), f"{BASE}/tasks/{tid}/complete/", {}), 403, "not_task_owner")
    err(login_client(bank.cm_b1).get(f"{BASE}/tasks/{tid}/"), 404, "task_not_found")
    r = post(cm, f"{BASE}/tasks/{tid}/complete/", {"result": "已准备"})
    assert r.status_code == 200 and r.json()["status"] == "done"
    err(post(cm, f"{BASE}/tasks/{tid}/cancel/", {"reason": "无需"}), 409, "task_not_open")


def test_plan_templates_and_plans_api(bank, world):
    admin, cm = login_client(bank.admin), login_client(bank.cm_a1)
    assert cm.get(f"{BASE}/plan-templates/").json() == []
    err(post(cm, f"{BASE}/admin/plan-templates/install-defaults/"), 403, "permission_denied")
    assert post(admin, f"{BASE}/admin/plan-templates/install-defaults/").json() == {"installed": 4}
    assert post(admin, f"{BASE}/admin/plan-templates/install-defaults/").json() == {"installed": 0}
    templates = cm.get(f"{BASE}/plan-templates/").json()
    assert {t["code"] for t in templates} == {"onboarding", "annual_review", "maturity", "high_value"}
    tpl = next(t for t in templates if t["code"] == "maturity")
    assert [s["offset_days"] for s in tpl["steps"]] == [-14, -3, 3]
    e = err(admin.put(f"{BASE}/admin/plan-templates/{tpl['id']}/", data=json.dumps(
        {"name": "到期跟进", "steps": [{"title": "好", "offset_days": 1}, {"title": "好的步骤", "offset_days": "x"}]}),
        **J), 400, "steps_invalid")
    assert len(e["fields"]["steps"]) == 2
    r = admin.put(f"{BASE}/admin/plan-templates/{tpl['id']}/", data=json.dumps(
        {"code": "hacked", "name": "到期跟进（新）", "steps": [{"title": "到期前一周致电", "offset_days": -7}]}), **J)
    assert r.status_code == 200 and (r.json()["code"], r.json()["name"]) == ("maturity", "到期跟进（新）")
    r = post(admin, f"{BASE}/admin/plan-templates/", {"code": "birthday", "name": "生日关怀",
                                                      "steps": [{"title": "生日当天致电问候", "offset_days": 0}]})
    assert r.status_code == 201 and PlanTemplate.objects.filter(code="birthday").exists()
    err(post(admin, f"{BASE}/admin/plan-templates/", {"code": "birthday", "name": "生日关怀",
                                                      "steps": [{"title": "生日当天致电问候", "offset_days": 0}]}),
        400, "code_taken")
    start = timezone.localdate() + timedelta(days=30)
    r = post(cm, f"{BASE}/plans/", {"customer_id": world.zhang.pk, "template_id": tpl["id"], "start_on": str(start)})
    assert r.status_code == 201, r.content
    plan = r.json()
    assert plan["template_code"] == "maturity" and len(plan["tasks"]) == 1
    assert plan["tasks"][0]["due_on"] >= str(start - timedelta(days=7))
    err(post(login_client(bank.cm_b1), f"{BASE}/plans/", {"customer_id": world.zhang.pk, "template_id": tpl["id"]}),
        404, "customer_not_found")
    err(post(cm, f"{BASE}/plans/", {"customer_id": world.zhang.pk, "template_id": 99999}), 400, "template_invalid")
    assert [p["id"] for p in cm.get(f"{BASE}/plans/?customer_id={world.zhang.pk}").json()["results"]] == [plan["id"]]
    err(login_client(bank.supervisor_b).get(f"{BASE}/plans/{plan['id']}/"), 404, "plan_not_found")
    r = post(cm, f"{BASE}/plans/{plan['id']}/cancel/", {"reason": "客户已续作"})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"


# ---- Referrals, opportunities and the pipeline -----------------------------------------------------------------------
def test_referrals_api(bank, world):
    cm, sv = login_client(bank.cm_a1), login_client(bank.supervisor_a)
    r = post(cm, f"{BASE}/referrals/", {"customer_id": world.zhang.pk, "to_staff_id": bank.supervisor_a.pk,
                                       "reason": "大额资金需要面谈", "status": "completed"})
    assert r.status_code == 201 and r.json()["status"] == "sent"
    rid = r.json()["id"]
    err(post(cm, f"{BASE}/referrals/", {"customer_id": world.zhang.pk, "to_staff_id": bank.cm_b1.pk,
                                       "reason": "理财"}), 400, "receiver_other_branch")
    assert [x["id"] for x in sv.get(f"{BASE}/referrals/?box=received").json()["results"]] == [rid]
    err(post(cm, f"{BASE}/referrals/{rid}/accept/"), 403, "not_referral_receiver")
    err(post(login_client(bank.supervisor_b), f"{BASE}/referrals/{rid}/accept/"), 404, "referral_not_found")
    err(post(sv, f"{BASE}/referrals/{rid}/decline/", {"reason": ""}), 400, "reason_required")
    assert post(sv, f"{BASE}/referrals/{rid}/accept/").json()["status"] == "accepted"
    r = post(sv, f"{BASE}/opportunities/", {"referral_id": rid, "goal": "growth", "amount_fen": 100_000_00})
    assert r.status_code == 201 and r.json()["customer_id"] == world.zhang.pk
    assert Referral.objects.get(pk=rid).opportunity_id == r.json()["id"]
    r = post(sv, f"{BASE}/referrals/{rid}/complete/", {"outcome": "客户已购买"})
    assert r.status_code == 200 and r.json()["outcome"] == "客户已购买"
    err(login_client(bank.om_a1).get(f"{BASE}/referrals/"), 403, "permission_denied")


def test_opportunities_and_pipeline_api(bank, world):
    cm = login_client(bank.cm_a1)
    r = post(cm, f"{BASE}/opportunities/", {"customer_id": world.zhang.pk, "goal": "retirement",
                                           "amount_fen": 50_000_000, "stage": "won", "sale_id": 1,
                                           "owner": bank.cm_b1.pk})
    assert r.status_code == 201, r.content
    o = r.json()
    assert (o["stage"], o["sale_id"], o["owner_id"], o["title"]) == ("need", None, bank.cm_a1.pk, "养老")
    err(post(cm, f"{BASE}/opportunities/", {"goal": "retirement"}), 400, "customer_required")
    err(post(cm, f"{BASE}/opportunities/", {"customer_id": world.zhang.pk, "goal": "lottery"}), 400,
        "validation_failed")
    err(post(cm, f"{BASE}/opportunities/", {"customer_id": world.wang.pk, "goal": "growth"}), 404,
        "customer_not_found")
    oid = o["id"]
    assert post(cm, f"{BASE}/opportunities/{oid}/move/", {"stage": "proposal"}).json()["stage"] == "proposal"
    err(post(cm, f"{BASE}/opportunities/{oid}/move/", {"stage": "contacted"}), 409, "stage_backwards")
    err(post(cm, f"{BASE}/opportunities/{oid}/move/", {"stage": "won"}), 409, "won_needs_sale")
    e = err(post(cm, f"{BASE}/opportunities/{oid}/move/", {"stage": "lost"}), 400, "lost_reason_required")
    assert "lost_reason" in e["fields"]
    err(post(cm, f"{BASE}/opportunities/{oid}/link-sale/", {"sale_id": 999999}), 400, "sale_invalid")
    r = cm.patch(f"{BASE}/opportunities/{oid}/", data=json.dumps({"amount_fen": 60_000_000, "stage": "won"}), **J)
    assert r.status_code == 200 and (r.json()["amount_fen"], r.json()["stage"]) == (60_000_000, "proposal")
    err(login_client(bank.cm_b1).get(f"{BASE}/opportunities/{oid}/"), 404, "opportunity_not_found")
    p = cm.get(f"{BASE}/pipeline/?mine=1").json()
    cols = {c["stage"]: c for c in p["columns"]}
    assert (cols["proposal"]["count"], cols["proposal"]["amount_fen"], p["open_amount_fen"]) == (1, 60_000_000,
                                                                                               60_000_000)
    assert cols["proposal"]["items"][0]["customer_name"] == "张**"
    assert login_client(bank.supervisor_b).get(f"{BASE}/pipeline/").json()["open_count"] == 0
    assert login_client(bank.supervisor_a).get(f"{BASE}/pipeline/").json()["open_count"] == 1
    r = post(cm, f"{BASE}/opportunities/{oid}/move/", {"stage": "lost", "lost_reason": "客户选择他行"})
    assert r.status_code == 200 and Opportunity.objects.get(pk=oid).stage == "lost"


# ---- Needs and calendar ----------------------------------------------------------------------------------------------
def test_needs_api(bank, world):
    cm = login_client(bank.cm_a1)
    url = f"{BASE}/customers/{world.zhang.pk}/needs/"
    assert cm.get(url).json()["version"] == 0
    body = {"goals": ["retirement", "protection"], "horizon": "long", "liquidity": "low", "constraints": "保本",
            "version": 99, "recorded_by_id": bank.cm_b1.pk}
    r = cm.put(url, data=json.dumps(body), **J)
    assert r.status_code == 200 and (r.json()["version"], r.json()["recorded_by_id"]) == (1, bank.cm_a1.pk)
    r = cm.put(url, data=json.dumps({**body, "goals": ["retirement"]}), **J)
    assert r.json()["version"] == 2
    hist = cm.get(f"{url}history/").json()
    assert [h["version"] for h in hist] == [2, 1]
    assert hist[0]["changes"][0]["removed"] == ["protection"]
    e = err(cm.put(url, data=json.dumps({**body, "goals": ["yacht"]}), **J), 400, "goal_invalid")
    assert "goals" in e["fields"]
    err(cm.put(url, data=json.dumps({**body, "goals": []}), **J), 400, "goals_required")
    err(login_client(bank.cm_b1).get(url), 404, "customer_not_found")
    err(login_client(bank.om_a1).put(url, data=json.dumps(body), **J), 403, "permission_denied")
    assert login_client(bank.supervisor_a).get(url).json()["goals"] == ["retirement"]
    assert NeedsProfile.objects.get().version == 2


def test_calendar_api(bank, world):
    cm = login_client(bank.cm_a1)
    p = services.interaction_plan(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="visit", subject="上门拜访",
                                  planned_at=timezone.now() + timedelta(days=1))
    t = services.task_create(actor=bank.cm_a1, title="准备资料", due_on=timezone.localdate() + timedelta(days=2))
    start = timezone.localdate()
    rows = cm.get(f"{BASE}/calendar/?start={start}&end={start + timedelta(days=6)}").json()
    assert {(x["kind"], x["id"]) for x in rows} >= {("contact", p.pk), ("task", t.pk)}
    assert login_client(bank.cm_b1).get(f"{BASE}/calendar/?start={start}&end={start + timedelta(days=6)}").json() == []
    err(cm.get(f"{BASE}/calendar/?start={start}&end={start + timedelta(days=100)}"), 400, "calendar_range_invalid")
    err(cm.get(f"{BASE}/calendar/?start=2026-13-01"), 400, "validation_failed")


def test_capabilities_anonymous_and_schema_paths(bank, world):
    from django.test import Client

    assert Client().get(f"{BASE}/tasks/").status_code == 401
    err(login_client(bank.admin).get(f"{BASE}/tasks/"), 403, "permission_denied")  # administrators do not engage
    err(login_client(bank.intern).get(f"{BASE}/interactions/{10**6}/"), 404, "interaction_not_found")
    r = login_client(bank.cm_a1).get("/api/schema/")
    assert b"/api/v1/engagement/interactions/" in r.content and b"EgInteractionModeEnum" in r.content


# ---- R6 for the slice-1 routes: allowed → its audit verb(s); denied → 403, logged, nothing written; invalid → no
# 5xx and nothing written. A completeness check keeps every unsafe route of these modules covered. ----------------
from types import SimpleNamespace  # noqa: E402

from django.urls import reverse  # noqa: E402

from tests.helpers import all_routes  # noqa: E402
from tests.test_r6_audit import RouteCase, _api, each_isolated, run_route  # noqa: E402

SLICE1_MODULES = ("bankcrm.engagement.views", "bankcrm.engagement.views_tasks", "bankcrm.engagement.views_pipeline",
                  "bankcrm.engagement.views_needs", "bankcrm.engagement.api.views")
READ_ONLY_POST = {"engagement:log_pick"}  # a search box posted so that what was typed stays out of URLs


def _later():
    return (timezone.now() + timedelta(days=1)).isoformat()


def _ns(b, **extra):
    return SimpleNamespace(led=build_ledger(b), **extra)


def _planned(b):
    c = _ns(b)
    c.pk = services.interaction_plan(actor=b.cm_a1, customer_id=c.led.zhang.pk, kind="visit", subject="上门拜访",
                                     planned_at=timezone.now() + timedelta(days=1)).pk
    return c


def _task(b):
    c = _ns(b)
    c.pk = services.task_create(actor=b.cm_a1, title="准备资料", due_on=timezone.localdate(),
                                customer_id=c.led.zhang.pk).pk
    return c


def _templates(b):
    c = _ns(b)
    services.templates_install_default()
    c.tpl = PlanTemplate.objects.get(code="onboarding")
    return c


def _plan(b):
    c = _templates(b)
    c.pk = services.plan_start(actor=b.cm_a1, customer_id=c.led.zhang.pk, template_id=c.tpl.pk).pk
    return c


def _opportunity(b):
    c = _ns(b)
    c.pk = services.opportunity_create(actor=b.cm_a1, customer_id=c.led.zhang.pk, goal="retirement").pk
    return c


def _sold(b):
    from tests.test_engagement_pipeline import _sell
    from tests.wealth_helpers import build_wealth

    w = build_wealth(b)
    c = SimpleNamespace(led=w.ledger, w=w)
    c.pk = services.opportunity_create(actor=b.cm_a1, customer_id=w.li.pk, goal="growth").pk
    c.sale = _sell(w)
    Opportunity.objects.filter(sale=c.sale).update(sale=None, stage="need")  # nothing won yet (no consumer ran)
    return c


def _referral(accepted=False):
    def setup(b):
        c = _ns(b)
        c.pk = services.referral_send(actor=b.cm_a1, customer_id=c.led.zhang.pk, to_staff_id=b.supervisor_a.pk,
                                      reason="大额资金需要面谈").pk
        if accepted:
            services.referral_accept(actor=b.supervisor_a, referral_id=c.pk)
        return c
    return setup


def _steps():
    return json.dumps([{"title": "生日前一天致电", "offset_days": -1}])


LOGGED, CHANGED, TASK, DONE = ("engagement.interaction_logged", "engagement.interaction_changed",
                               "engagement.task_created", "engagement.task_done")
OPP, REF, PLAN, TPL = "engagement.opportunity", "engagement.referral", "engagement.plan_started", "engagement.template_saved"
E = "engagement:"
SLICE1_ROUTES = [
    # HTML
    RouteCase("h.log", E + "interaction_new", "post", lambda b, c: reverse(E + "interaction_new", args=[c.led.zhang.pk]),
              lambda b, c: {"mode": "done", "kind": "call", "subject": "电话问候"}, [LOGGED], actor="cm_a1",
              denied_actor="supervisor_a", setup=_ns, invalid=lambda b, c: {"mode": "done", "kind": "call",
                                                                            "subject": "x"}),
    RouteCase("h.complete", E + "interaction_complete", "post", lambda b, c: reverse(E + "interaction_complete",
                                                                                      args=[c.pk]),
              lambda b, c: {"notes": "完成"}, [CHANGED], actor="cm_a1", denied_actor="supervisor_a", setup=_planned),
    RouteCase("h.cancel", E + "interaction_cancel", "post", lambda b, c: reverse(E + "interaction_cancel", args=[c.pk]),
              lambda b, c: {"reason": "客户出差"}, [CHANGED], actor="cm_a1", denied_actor="supervisor_a",
              setup=_planned, invalid=lambda b, c: {"reason": ""}),
    RouteCase("h.task_new", E + "task_new", "post", lambda b, c: reverse(E + "task_new"),
              lambda b, c: {"title": "准备资料", "due_on": str(timezone.localdate())}, [TASK], actor="cm_a1",
              denied_actor="supervisor_a", setup=_ns, invalid=lambda b, c: {"title": "准备资料", "due_on": "2000-01-01"}),
    RouteCase("h.task_complete", E + "task_complete", "post", lambda b, c: reverse(E + "task_complete", args=[c.pk]),
              lambda b, c: {"result": "已完成"}, [DONE], actor="cm_a1", denied_actor="supervisor_a", setup=_task),
    RouteCase("h.task_cancel", E + "task_cancel", "post", lambda b, c: reverse(E + "task_cancel", args=[c.pk]),
              lambda b, c: {"reason": "不再需要"}, [DONE], actor="cm_a1", denied_actor="supervisor_a", setup=_task,
              invalid=lambda b, c: {"reason": ""}),
    RouteCase("h.plan_new", E + "plan_new", "post", lambda b, c: reverse(E + "plan_new", args=[c.led.zhang.pk]),
              lambda b, c: {"template": c.tpl.pk}, [PLAN], actor="cm_a1", denied_actor="supervisor_a",
              setup=_templates, invalid=lambda b, c: {"template": "99999"}),
    RouteCase("h.plan_cancel", E + "plan_cancel", "post", lambda b, c: reverse(E + "plan_cancel", args=[c.pk]),
              lambda b, c: {"reason": "客户不需要"}, [PLAN], actor="cm_a1", denied_actor="supervisor_a", setup=_plan,
              invalid=lambda b, c: {"reason": ""}),
    RouteCase("h.templates_install", E + "templates_install", "post", lambda b, c: reverse(E + "templates_install"),
              lambda b, c: {}, [TPL], actor="admin", denied_actor="cm_a1"),
    RouteCase("h.template_new", E + "template_new", "post", lambda b, c: reverse(E + "template_new"),
              lambda b, c: {"code": "birthday", "name": "生日关怀", "steps": _steps(), "active": "on"}, [TPL],
              actor="admin", denied_actor="cm_a1", invalid=lambda b, c: {"code": "birthday", "name": "生日关怀",
                                                                          "steps": "[]"}),
    RouteCase("h.template", E + "template", "post", lambda b, c: reverse(E + "template", args=[c.tpl.pk]),
              lambda b, c: {"name": "新客户首月", "steps": _steps(), "active": "on"}, [TPL], actor="admin",
              denied_actor="cm_a1", setup=_templates, invalid=lambda b, c: {"name": "新客户首月", "steps": "x"}),
    RouteCase("h.opportunity_new", E + "opportunity_new", "post",
              lambda b, c: reverse(E + "opportunity_new", args=[c.led.zhang.pk]),
              lambda b, c: {"goal": "retirement", "amount": "100000"}, [OPP], actor="cm_a1", denied_actor="om_a1",
              setup=_ns, invalid=lambda b, c: {"goal": "lottery"}),
    RouteCase("h.opportunity_edit", E + "opportunity_edit", "post",
              lambda b, c: reverse(E + "opportunity_edit", args=[c.pk]),
              lambda b, c: {"title": "养老规划", "amount": "2000"}, [OPP], actor="cm_a1", denied_actor="om_a1",
              setup=_opportunity, invalid=lambda b, c: {"title": "", "amount": "-1"}),
    RouteCase("h.opportunity_move", E + "opportunity_move", "post",
              lambda b, c: reverse(E + "opportunity_move", args=[c.pk]), lambda b, c: {"stage": "contacted"}, [OPP],
              actor="cm_a1", denied_actor="om_a1", setup=_opportunity, invalid=lambda b, c: {"stage": "won"}),
    RouteCase("h.opportunity_link_sale", E + "opportunity_link_sale", "post",
              lambda b, c: reverse(E + "opportunity_link_sale", args=[c.pk]), lambda b, c: {"sale": c.sale.pk}, [OPP],
              actor="cm_a1", denied_actor="om_a1", setup=_sold, invalid=lambda b, c: {"sale": "999999"}),
    RouteCase("h.referral_new", E + "referral_new", "post", lambda b, c: reverse(E + "referral_new",
                                                                                args=[c.led.zhang.pk]),
              lambda b, c: {"to_staff": b.supervisor_a.pk, "reason": "大额资金需要面谈"}, [REF], actor="cm_a1",
              denied_actor="om_a1", setup=_ns, invalid=lambda b, c: {"to_staff": b.supervisor_a.pk, "reason": ""}),
    RouteCase("h.referral_accept", E + "referral_accept", "post",
              lambda b, c: reverse(E + "referral_accept", args=[c.pk]), lambda b, c: {}, [REF], actor="supervisor_a",
              denied_actor="om_a1", setup=_referral()),
    RouteCase("h.referral_decline", E + "referral_decline", "post",
              lambda b, c: reverse(E + "referral_decline", args=[c.pk]), lambda b, c: {"reason": "请先做风险测评"},
              [REF], actor="supervisor_a", denied_actor="om_a1", setup=_referral(), invalid=lambda b, c: {"reason": ""}),
    RouteCase("h.referral_complete", E + "referral_complete", "post",
              lambda b, c: reverse(E + "referral_complete", args=[c.pk]), lambda b, c: {"outcome": "已面谈"}, [REF],
              actor="supervisor_a", denied_actor="om_a1", setup=_referral(accepted=True),
              invalid=lambda b, c: {"outcome": ""}),
    RouteCase("h.needs", E + "needs", "post", lambda b, c: reverse(E + "needs", args=[c.led.zhang.pk]),
              lambda b, c: {"goals": ["growth"], "horizon": "short", "liquidity": "high"},
              ["engagement.needs_saved"], actor="cm_a1", denied_actor="om_a1", setup=_ns,
              invalid=lambda b, c: {"goals": ["growth"], "horizon": "forever", "liquidity": "high"}),
    # API
    RouteCase("a.interactions", "api-engagement-interactions", "post", lambda b, c: f"{BASE}/interactions/",
              lambda b, c: _api({"customer_id": c.led.zhang.pk, "kind": "wechat", "subject": "微信沟通"}), [LOGGED],
              actor="cm_a1", denied_actor="supervisor_a", setup=_ns,
              invalid=lambda b, c: _api({"customer_id": c.led.zhang.pk, "kind": "wechat", "subject": ""})),
    RouteCase("a.complete", "api-engagement-interaction-complete", "post",
              lambda b, c: f"{BASE}/interactions/{c.pk}/complete/", lambda b, c: _api({}), [CHANGED], actor="cm_a1",
              denied_actor="supervisor_a", setup=_planned,
              invalid=lambda b, c: _api({"occurred_at": "2000-01-01T00:00:00+08:00"})),
    RouteCase("a.cancel", "api-engagement-interaction-cancel", "post",
              lambda b, c: f"{BASE}/interactions/{c.pk}/cancel/", lambda b, c: _api({"reason": "客户出差"}), [CHANGED],
              actor="cm_a1", denied_actor="supervisor_a", setup=_planned, invalid=lambda b, c: _api({"reason": ""})),
    RouteCase("a.tasks", "api-engagement-tasks", "post", lambda b, c: f"{BASE}/tasks/",
              lambda b, c: _api({"title": "准备资料", "due_on": str(timezone.localdate())}), [TASK], actor="cm_a1",
              denied_actor="supervisor_a", setup=_ns, invalid=lambda b, c: _api({"title": "准备资料",
                                                                                  "due_on": "2000-01-01"})),
    RouteCase("a.task_complete", "api-engagement-task-complete", "post", lambda b, c: f"{BASE}/tasks/{c.pk}/complete/",
              lambda b, c: _api({"result": "好"}), [DONE], actor="cm_a1", denied_actor="supervisor_a", setup=_task,
              invalid=lambda b, c: _api({"result": "长" * 201})),
    RouteCase("a.task_cancel", "api-engagement-task-cancel", "post", lambda b, c: f"{BASE}/tasks/{c.pk}/cancel/",
              lambda b, c: _api({"reason": "不再需要"}), [DONE], actor="cm_a1", denied_actor="supervisor_a",
              setup=_task, invalid=lambda b, c: _api({"reason": ""})),
    RouteCase("a.templates", "api-engagement-admin-plan-templates", "post", lambda b, c: f"{BASE}/admin/plan-templates/",
              lambda b, c: _api({"code": "birthday", "name": "生日关怀", "steps": json.loads(_steps())}), [TPL],
              actor="admin", denied_actor="cm_a1",
              invalid=lambda b, c: _api({"code": "birthday", "name": "生日关怀", "steps": []})),
    RouteCase("a.template", "api-engagement-admin-plan-template", "put",
              lambda b, c: f"{BASE}/admin/plan-templates/{c.tpl.pk}/",
              lambda b, c: _api({"name": "新客户首月", "steps": json.loads(_steps())}), [TPL], actor="admin",
              denied_actor="cm_a1", setup=_templates, invalid=lambda b, c: _api({"name": "新客户首月", "steps": "x"})),
    RouteCase("a.templates_install", "api-engagement-admin-plan-templates-install", "post",
              lambda b, c: f"{BASE}/admin/plan-templates/install-defaults/", lambda b, c: _api({}), [TPL],
              actor="admin", denied_actor="cm_a1"),
    RouteCase("a.plans", "api-engagement-plans", "post", lambda b, c: f"{BASE}/plans/",
              lambda b, c: _api({"customer_id": c.led.zhang.pk, "template_id": c.tpl.pk}), [PLAN], actor="cm_a1",
              denied_actor="supervisor_a", setup=_templates,
              invalid=lambda b, c: _api({"customer_id": c.led.zhang.pk, "template_id": 99999})),
    RouteCase("a.plan_cancel", "api-engagement-plan-cancel", "post", lambda b, c: f"{BASE}/plans/{c.pk}/cancel/",
              lambda b, c: _api({"reason": "客户不需要"}), [PLAN], actor="cm_a1", denied_actor="supervisor_a",
              setup=_plan, invalid=lambda b, c: _api({"reason": ""})),
    RouteCase("a.referrals", "api-engagement-referrals", "post", lambda b, c: f"{BASE}/referrals/",
              lambda b, c: _api({"customer_id": c.led.zhang.pk, "to_staff_id": b.supervisor_a.pk,
                                 "reason": "大额资金需要面谈"}), [REF], actor="cm_a1", denied_actor="om_a1", setup=_ns,
              invalid=lambda b, c: _api({"customer_id": c.led.zhang.pk, "to_staff_id": b.cm_b1.pk, "reason": "x"})),
    RouteCase("a.referral_accept", "api-engagement-referral-accept", "post",
              lambda b, c: f"{BASE}/referrals/{c.pk}/accept/", lambda b, c: _api({}), [REF], actor="supervisor_a",
              denied_actor="om_a1", setup=_referral()),
    RouteCase("a.referral_decline", "api-engagement-referral-decline", "post",
              lambda b, c: f"{BASE}/referrals/{c.pk}/decline/", lambda b, c: _api({"reason": "请先做风险测评"}), [REF],
              actor="supervisor_a", denied_actor="om_a1", setup=_referral(), invalid=lambda b, c: _api({"reason": ""})),
    RouteCase("a.referral_complete", "api-engagement-referral-complete", "post",
              lambda b, c: f"{BASE}/referrals/{c.pk}/complete/", lambda b, c: _api({"outcome": "已面谈"}), [REF],
              actor="supervisor_a", denied_actor="om_a1", setup=_referral(accepted=True),
              invalid=lambda b, c: _api({"outcome": ""})),
    RouteCase("a.opportunities", "api-engagement-opportunities", "post", lambda b, c: f"{BASE}/opportunities/",
              lambda b, c: _api({"customer_id": c.led.zhang.pk, "goal": "housing"}), [OPP], actor="cm_a1",
              denied_actor="om_a1", setup=_ns,
              invalid=lambda b, c: _api({"customer_id": c.led.zhang.pk, "goal": "housing", "amount_fen": -5})),
    RouteCase("a.opportunity", "api-engagement-opportunity", "patch", lambda b, c: f"{BASE}/opportunities/{c.pk}/",
              lambda b, c: _api({"amount_fen": 100}), [OPP], actor="cm_a1", denied_actor="om_a1", setup=_opportunity,
              invalid=lambda b, c: _api({"title": "x"})),
    RouteCase("a.opportunity_move", "api-engagement-opportunity-move", "post",
              lambda b, c: f"{BASE}/opportunities/{c.pk}/move/", lambda b, c: _api({"stage": "proposal"}), [OPP],
              actor="cm_a1", denied_actor="om_a1", setup=_opportunity, invalid=lambda b, c: _api({"stage": "lost"})),
    RouteCase("a.opportunity_link_sale", "api-engagement-opportunity-link-sale", "post",
              lambda b, c: f"{BASE}/opportunities/{c.pk}/link-sale/", lambda b, c: _api({"sale_id": c.sale.pk}), [OPP],
              actor="cm_a1", denied_actor="om_a1", setup=_sold, invalid=lambda b, c: _api({"sale_id": 999999})),
    RouteCase("a.needs", "api-engagement-needs", "put", lambda b, c: f"{BASE}/customers/{c.led.zhang.pk}/needs/",
              lambda b, c: _api({"goals": ["growth"], "horizon": "short", "liquidity": "high"}),
              ["engagement.needs_saved"], actor="cm_a1", denied_actor="om_a1", setup=_ns,
              invalid=lambda b, c: _api({"goals": ["yacht"], "horizon": "short", "liquidity": "high"})),
]


def test_every_unsafe_slice1_route_has_an_r6_case():
    from tests.test_r10_authz import api_class

    unsafe = set()
    for r in all_routes():
        if r.callback.__module__ not in SLICE1_MODULES or r.name in READ_ONLY_POST:
            continue
        cls = api_class(r)
        if cls is not None:
            unsafe |= {(r.name, m) for m in ("post", "put", "patch", "delete") if hasattr(cls, m)}
        elif r.name.split(":")[-1] not in {"log", "interactions", "interaction", "calendar", "tasks", "plan",
                                           "templates", "pipeline", "opportunity", "referrals", "referral",
                                           "needs_history"}:
            unsafe.add((r.name, "post"))
    covered = {(c.route, c.method) for c in SLICE1_ROUTES}
    assert unsafe - covered == set() and covered - unsafe == set()


def test_slice1_routes_audit_allowed_denied_invalid(bank):
    found = each_isolated(SLICE1_ROUTES, lambda case: run_route(bank, case), key=lambda c: c.key)
    failing = {k: v for k, v in found.items() if any(v.values())}
    assert failing == {}
