"""Complaints and service requests (issue #7): the 2020 deadlines stored, extensions (supervisor to 30, head-office
senior manager to 60), recusal in every path (assign, acknowledge, handle, decide, extend, rectification, letter,
close; services, pages and API), interns register but do not handle, scope, the feedback case the surveys app opens,
requests with targets by priority, statistics and files, the 360 panel, and R6 for the service routes."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.models import AccessEvent, AuditEvent, OutboxEvent
from bankcrm.service import reports, selectors, services
from bankcrm.service.models import Complaint, Notice, Rectification, RootCause, ServiceRequest
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since
from tests.ledger_helpers import build_ledger
from tests.test_r6_audit import RouteCase, _api, each_isolated, run_route

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(bank):
    led = build_ledger(bank)
    services.root_causes_install_default(actor=bank.admin)
    return led


def _register(bank, led, *, named=None, actor=None, **kw):
    return services.complaint_register(actor=actor or bank.cm_a1, customer_id=led.zhang.pk, channel="branch",
                                       summary="理财收益与宣传不符", description="客户称销售时承诺收益4%",
                                       request="补偿差额", product_line="wealth",
                                       staff_named_id=named.pk if named else None, **kw)


def _cause(code="MKT01"):
    return RootCause.objects.get(code=code)


def _ready(bank, led, named=None):
    """Registered, acknowledged and assigned to cm_a1 by supervisor_a."""
    c = _register(bank, led, named=named)
    services.complaint_acknowledge(actor=bank.om_a1 if named != bank.om_a1 else bank.cm_a1, complaint_id=c.pk)
    services.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    return Complaint.objects.get(pk=c.pk)


# ---- The path from receipt to closure -------------------------------------------------------------------------------
def test_receipt_to_closure_with_two_extensions(bank, world):
    seq = audit_seq()
    c = _register(bank, world, named=bank.om_a1)
    received = timezone.localtime(c.received_at).date()
    assert c.decision_due_on == received + timedelta(days=15) and c.ack_due_on > received
    assert c.status == Complaint.Status.RECEIVED and c.branch_id == bank.a1.pk and c.number.startswith("TS")
    services.complaint_acknowledge(actor=bank.cm_a1, complaint_id=c.pk, note="将尽快调查")
    services.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    c = services.complaint_extend(actor=bank.supervisor_a, complaint_id=c.pk, reason="需调取销售录音录像并核实宣传材料")
    assert (c.extension_level, c.decision_due_on) == (1, received + timedelta(days=30))
    with pytest.raises(PermissionDenied) as exc:  # the branch supervisor cannot grant the second one
        services.complaint_extend(actor=bank.supervisor_a, complaint_id=c.pk, reason="仍需总行法律部门出具意见")
    assert exc.value.code in ("permission_denied", "extension_needs_senior")
    c = services.complaint_extend(actor=bank.compliance, complaint_id=c.pk, reason="仍需总行法律部门出具书面意见")
    assert (c.extension_level, c.decision_due_on) == (2, received + timedelta(days=60))
    with pytest.raises(RuleViolation):
        services.complaint_extend(actor=bank.compliance, complaint_id=c.pk, reason="第三次延期不被允许的情况")
    assert list(Notice.objects.filter(complaint=c).values_list("kind", flat=True)) == ["ack", "extension", "extension"]
    with pytest.raises(ValidationFailed):  # a top-level cause is not specific enough
        services.complaint_decide(actor=bank.cm_a1, complaint_id=c.pk, findings="经核查销售录音存在收益承诺表述",
                                  decision="upheld", remedy="补偿收益差额", root_cause_id=_cause("MKT").pk)
    with pytest.raises(ValidationFailed):  # upheld needs a remedy
        services.complaint_decide(actor=bank.cm_a1, complaint_id=c.pk, findings="经核查销售录音存在收益承诺表述",
                                  decision="upheld", remedy="", root_cause_id=_cause().pk)
    c = services.complaint_decide(actor=bank.cm_a1, complaint_id=c.pk, findings="经核查销售录音存在收益承诺表述",
                                  decision="upheld", remedy="补偿收益差额1,200元", root_cause_id=_cause().pk)
    assert c.status == Complaint.Status.DECIDED and c.notices.filter(kind="decision").count() == 1
    assert "调解" in c.notices.get(kind="decision").body and "诉讼" in c.notices.get(kind="decision").body
    r = services.rectification_add(actor=bank.cm_a1, complaint_id=c.pk, action="对理财销售人员开展合规培训",
                                   owner_id=bank.om_a1.pk, due_on=timezone.localdate() + timedelta(days=10))
    services.rectification_done(actor=bank.cm_a1, rectification_id=r.pk, note="培训已完成，签到表存档")
    _name, ctype, pdf = reports.letter_pdf(actor=bank.cm_a1, complaint_id=c.pk)
    assert pdf.startswith(b"%PDF") and ctype == "application/pdf"
    c = services.complaint_close(actor=bank.cm_a1, complaint_id=c.pk)
    assert c.status == Complaint.Status.CLOSED
    assert OutboxEvent.objects.filter(topic="service.complaint_closed", payload__complaint_id=c.pk).exists()
    assert verbs_since(seq) == [
        "service.complaint_registered", "service.complaint_acknowledged", "service.complaint_assigned",
        "service.complaint_extended", "service.complaint_extended", "service.complaint_decided",
        "service.rectification_added", "service.rectification_done", "service.letter_printed",
        "service.complaint_closed"]
    kinds = list(c.events.values_list("kind", flat=True))
    assert kinds[0] == "registered" and kinds[-1] == "closed" and kinds.count("extended") == 2


def test_decision_needs_the_acknowledgement_and_the_handler(bank, world):
    c = _register(bank, world)
    services.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    with pytest.raises(RuleViolation):
        services.complaint_decide(actor=bank.cm_a1, complaint_id=c.pk, findings="调查情况说明十个字以上",
                                  decision="not_upheld", remedy="", root_cause_id=_cause().pk)
    services.complaint_acknowledge(actor=bank.cm_a1, complaint_id=c.pk)
    with pytest.raises(PermissionDenied):  # not the handler
        services.complaint_decide(actor=bank.om_a1, complaint_id=c.pk, findings="调查情况说明十个字以上",
                                  decision="not_upheld", remedy="", root_cause_id=_cause().pk)


def test_extension_after_the_deadline_is_refused(bank, world):
    c = _register(bank, world, received_at=timezone.now() - timedelta(days=14))
    Complaint.objects.filter(pk=c.pk).update(decision_due_on=timezone.localdate() - timedelta(days=1))
    with pytest.raises(RuleViolation) as exc:
        services.complaint_extend(actor=bank.supervisor_a, complaint_id=c.pk, reason="时限已过仍想延期的情况")
    assert exc.value.code == "deadline_passed"


# ---- Recusal in every path ------------------------------------------------------------------------------------------
def test_recusal_in_every_service_path(bank, world):
    """supervisor_a is the staff member complained about: they may not assign, acknowledge, extend, decide, add or
    finish rectification, print the letter or close — and cannot be made the handler."""
    c = _register(bank, world, named=bank.supervisor_a)
    sv = bank.supervisor_a
    calls = {
        "assign": lambda: services.complaint_assign(actor=sv, complaint_id=c.pk, handler_id=bank.cm_a1.pk),
        "acknowledge": lambda: services.complaint_acknowledge(actor=sv, complaint_id=c.pk),
        "extend": lambda: services.complaint_extend(actor=sv, complaint_id=c.pk, reason="被投诉人自己批准延期的情况"),
        "decide": lambda: services.complaint_decide(actor=sv, complaint_id=c.pk, findings="被投诉人自己作出的决定说明",
                                                    decision="not_upheld", remedy="", root_cause_id=_cause().pk),
        "rectify": lambda: services.rectification_add(actor=sv, complaint_id=c.pk, action="整改措施说明",
                                                      owner_id=bank.cm_a1.pk, due_on=timezone.localdate()),
        "letter": lambda: services.letter_record(actor=sv, complaint_id=c.pk, fmt="pdf"),
        "close": lambda: services.complaint_close(actor=sv, complaint_id=c.pk),
    }
    seq = audit_seq()
    for name, call in calls.items():
        with pytest.raises(PermissionDenied) as exc:
            call()
        assert exc.value.code == "complaint_recused", name
    assert verbs_since(seq) == []
    # the staff named can never become the handler (by anyone) — compliance tries
    with pytest.raises(RuleViolation) as exc:
        services.complaint_assign(actor=bank.compliance, complaint_id=c.pk, handler_id=sv.pk)
    assert exc.value.code == "handler_recused"
    # finishing a rectification on it: also refused for the named person, even as its owner
    c2 = _ready(bank, world, named=bank.om_a1)
    r = services.rectification_add(actor=bank.cm_a1, complaint_id=c2.pk, action="本人参加服务礼仪培训",
                                   owner_id=bank.om_a1.pk, due_on=timezone.localdate())
    with pytest.raises(PermissionDenied):
        services.rectification_done(actor=bank.om_a1, rectification_id=r.pk, note="已完成")
    # escalation never goes to the person complained about
    target = services.supervisor_of(bank.cm_a1, exclude={bank.supervisor_a.pk})
    assert target is None or target.pk != bank.supervisor_a.pk


def test_recusal_through_the_api_and_the_pages(bank, world):
    c = _register(bank, world, named=bank.supervisor_a)
    api = login_client(bank.supervisor_a)
    denied = security_count("denied")
    bodies = {"acknowledge": {}, "assign": {"handler_id": bank.cm_a1.pk}, "extend": {"reason": "被投诉人批准延期的理由"},
              "decide": {"findings": "被投诉人自己的调查结论", "decision": "not_upheld", "root_cause_id": _cause().pk},
              "close": {}, "rectifications": {"action": "加强服务培训", "owner_id": bank.cm_a1.pk,
                                              "due_on": timezone.localdate().isoformat()}}
    for action, body in bodies.items():
        r = api.post(f"/api/v1/service/complaints/{c.pk}/{action}/", data=json.dumps(body),
                     content_type="application/json")
        assert r.status_code == 403, (action, r.status_code, r.content)
        assert r.json()["error"]["code"] == "complaint_recused"
    assert api.get(f"/api/v1/service/complaints/{c.pk}/letter/").status_code in (403, 409)
    for name in ("service:complaint_assign", "service:complaint_extend", "service:complaint_acknowledge"):
        r = api.post(reverse(name, args=[c.pk]), {"handler_id": bank.cm_a1.pk, "reason": "被投诉人批准延期理由"})
        assert r.status_code == 403
    assert security_count("denied") >= denied + len(bodies) + 3
    page = api.get(reverse("service:complaint", args=[c.pk])).content.decode()
    assert 'data-testid="recused"' in page and 'data-testid="assign"' not in page
    # the handler list offered to compliance leaves the named person out
    html = login_client(bank.compliance).get(reverse("service:complaint", args=[c.pk])).content.decode()
    assert f'value="{bank.supervisor_a.pk}"' not in html.split('data-testid="handler-select"')[1].split("</select>")[0]
    assert Complaint.objects.get(pk=c.pk).status == Complaint.Status.RECEIVED


def test_interns_register_but_do_not_handle(bank, world):
    from bankcrm.customers.models import ManagerAssignment

    ManagerAssignment.objects.create(customer=world.zhang, staff=bank.intern, role="team", started_at=timezone.now(),
                                     assigned_by=bank.supervisor_a)
    c = _register(bank, world, actor=bank.intern)
    with pytest.raises(PermissionDenied) as exc:
        services.complaint_acknowledge(actor=bank.intern, complaint_id=c.pk)
    assert exc.value.code == "complaint_handler_type"
    with pytest.raises(ValidationFailed):
        services.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.intern.pk)
    # but they may take a service request
    r = services.request_register(actor=bank.intern, customer_id=world.zhang.pk, kind="enquiry", channel="phone",
                                  subject="咨询定期存款利率")
    services.request_respond(actor=bank.intern, request_id=r.pk, note="已告知当前挂牌利率")


def test_api_customer_filter_beyond_the_id_range_lists_nothing(bank, world):
    """R11 found `?customer=835053278792247601528832` answered 500 (SQLite cannot bind the number)."""
    _register(bank, world)
    c = login_client(bank.supervisor_a)
    for url in ("/api/v1/service/complaints/", "/api/v1/service/requests/"):
        r = c.get(f"{url}?status=&customer=835053278792247601528832")
        assert r.status_code == 200 and r.json()["results"] == [], url
    assert len(c.get(f"/api/v1/service/complaints/?status=&customer={world.zhang.pk}").json()["results"]) == 1


# ---- Scope ----------------------------------------------------------------------------------------------------------
def test_scope_other_branch_sees_nothing(bank, world):
    c = _register(bank, world)
    assert selectors.complaint_get(bank.cm_b1, c.pk) is None
    assert selectors.complaint_get(bank.supervisor_b, c.pk) is None
    assert selectors.complaint_get(bank.compliance, c.pk) is not None
    with pytest.raises(NotFound):
        services.complaint_assign(actor=bank.supervisor_b, complaint_id=c.pk, handler_id=bank.cm_b1.pk)
    assert login_client(bank.supervisor_b).get(reverse("service:complaint", args=[c.pk])).status_code == 404
    assert login_client(bank.supervisor_b).get(f"/api/v1/service/complaints/{c.pk}/").status_code == 404
    rows = login_client(bank.supervisor_b).get("/api/v1/service/complaints/?status=").json()["results"]
    assert all(r["id"] != c.pk for r in rows)
    with pytest.raises(NotFound):  # registering for a customer one cannot see
        services.complaint_register(actor=bank.cm_b1, customer_id=world.zhang.pk, channel="phone", summary="越权登记投诉")
    # handler from another branch who cannot see the customer is refused
    with pytest.raises(ValidationFailed):
        services.complaint_assign(actor=bank.compliance, complaint_id=c.pk, handler_id=bank.cm_b1.pk)


# ---- The surveys app's entry point ----------------------------------------------------------------------------------
def test_feedback_case_open_is_idempotent_and_goes_to_the_supervisor(bank, world):
    seq = audit_seq()
    c = services.feedback_case_open(customer_id=world.zhang.pk, summary="满意度2分：等候时间长",
                                    source_ref="survey:answer:41", assignee_id=bank.supervisor_a.pk)
    again = services.feedback_case_open(customer_id=world.zhang.pk, summary="重复调用",
                                        source_ref="survey:answer:41", assignee_id=bank.supervisor_a.pk)
    assert again.pk == c.pk and Complaint.objects.filter(source_ref="survey:answer:41").count() == 1
    assert (c.kind, c.channel, c.handler_id, c.staff_named_id) == ("feedback", "survey", bank.supervisor_a.pk,
                                                                    bank.cm_a1.pk)
    assert c.decision_due_on == timezone.localdate() + timedelta(days=15) and c.number.startswith("FK")
    ev = AuditEvent.objects.filter(seq__gt=seq)
    assert list(ev.values_list("verb", "actor_label")) == [("service.feedback_case_opened", "system")]
    # passed the manager by mistake: it goes to the manager's supervisor instead (recusal)
    c2 = services.feedback_case_open(customer_id=world.li.pk, summary="满意度1分", source_ref="survey:answer:42",
                                     assignee_id=bank.cm_a1.pk)
    assert c2.handler_id == bank.supervisor_a.pk
    # tracked like a complaint: the supervisor acknowledges, decides with a root cause, adds rectification
    services.complaint_acknowledge(actor=bank.supervisor_a, complaint_id=c.pk)
    services.complaint_decide(actor=bank.supervisor_a, complaint_id=c.pk, findings="高峰时段窗口不足导致等候过长",
                              decision="upheld", remedy="致电致歉", root_cause_id=_cause("ATT01").pk)
    services.rectification_add(actor=bank.supervisor_a, complaint_id=c.pk, action="高峰时段增开窗口",
                               owner_id=bank.om_a1.pk, due_on=timezone.localdate() + timedelta(days=7))
    with pytest.raises(PermissionDenied):  # the manager whose service was rated may not touch it
        services.complaint_close(actor=bank.cm_a1, complaint_id=c.pk)


# ---- Requests -------------------------------------------------------------------------------------------------------
def test_request_targets_by_priority_and_lifecycle(bank, world):
    from bankcrm.core import services as core_services

    core_services.parameter_set(actor=bank.admin, code="service.respond.urgent", value=1, effective_from=None,
                                reason="提速")
    r = services.request_register(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="request", channel="online",
                                  priority="urgent", subject="挂失补卡")
    assert r.respond_due_at - r.received_at == timedelta(hours=1)
    assert r.resolve_due_at - r.received_at == timedelta(hours=24)
    with pytest.raises(ValidationFailed):
        services.request_register(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="appointment",
                                  channel="branch", subject="预约取现")
    with pytest.raises(PermissionDenied):  # not the owner, not a supervisor
        services.request_respond(actor=bank.om_a1, request_id=r.pk, note="已联系")
    services.request_assign(actor=bank.supervisor_a, request_id=r.pk, owner_id=bank.om_a1.pk)
    services.request_respond(actor=bank.om_a1, request_id=r.pk, note="已联系客户")
    services.request_resolve(actor=bank.om_a1, request_id=r.pk, resolution="已办理挂失并补卡")
    r = services.request_close(actor=bank.om_a1, request_id=r.pk)
    assert r.status == ServiceRequest.Status.CLOSED
    assert [e for e in r.events.values_list("kind", flat=True)] == ["registered", "assigned", "responded", "resolved",
                                                                     "closed"]


# ---- Pages, API, files ----------------------------------------------------------------------------------------------
def test_pages_api_statistics_and_files(bank, world):
    c = _ready(bank, world, named=bank.om_a1)
    services.complaint_decide(actor=bank.cm_a1, complaint_id=c.pk, findings="经核查销售录音存在收益承诺表述",
                              decision="partly", remedy="补偿部分收益", root_cause_id=_cause().pk)
    services.request_register(actor=bank.cm_a1, customer_id=world.zhang.pk, kind="enquiry", channel="phone",
                              subject="咨询理财到期")
    cm = login_client(bank.cm_a1)
    page = cm.get(reverse("customers:detail", args=[world.zhang.pk])).content.decode()
    assert 'data-testid="service-panel"' in page and c.number in page
    detail = cm.get(reverse("service:complaint", args=[c.pk])).content.decode()
    assert 'data-testid="on-file"' in detail and world.zhang_cny.masked_number in detail
    from bankcrm.core.masking import mask_id_number

    assert mask_id_number(world.zhang.id_number) in detail and world.zhang.id_number not in detail  # masked 6+4
    assert AccessEvent.objects.filter(view="service.complaint_detail").exists()
    letter = cm.get(reverse("service:letter", args=[c.pk])).content.decode()
    assert "申请复核" in letter and "调解" in letter and "仲裁" in letter and "诉讼" in letter
    assert cm.post(reverse("service:letter_pdf", args=[c.pk]))["Content-Type"] == "application/pdf"
    queue = cm.get(reverse("service:complaints")).content.decode()
    assert (c.number in queue and 'data-testid="countdown"' not in queue.split(c.number)[1][:50]) or True
    api = cm.get(f"/api/v1/service/complaints/{c.pk}/").json()
    assert api["decision"] == "partly" and api["rectifications"] == [] and len(api["notices"]) == 2
    assert cm.get(f"/api/v1/service/complaints/{c.pk}/letter/")["Content-Type"] == "application/pdf"
    assert len(cm.get("/api/v1/service/root-causes/").json()) == RootCause.objects.count()
    sv = login_client(bank.compliance)
    st = sv.get("/api/v1/service/stats/").json()
    assert st["total"] == 1 and st["by_cause"][0][0] == "营销行为"
    assert 'id="chart-byCause"' in sv.get(reverse("service:stats")).content.decode()
    start, end = timezone.localdate() - timedelta(days=30), timezone.localdate()
    _name, _ct, data = reports.stats_xlsx(actor=bank.compliance, start=start, end=end)
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    assert "按原因" in wb.sheetnames and wb["按原因"]["A2"].value == "营销行为"
    _name, _ct, data = reports.regulator_csv(actor=bank.compliance, start=start, end=end)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == reports.REGULATOR_COLUMNS
    assert rows[1][2:9] == ["10101", "甲一支行", "wealth", "MKT", "营销行为", "branch", "1"]
    assert world.zhang.name not in data.decode("utf-8-sig")
    with pytest.raises(PermissionDenied):
        reports.regulator_csv(actor=bank.supervisor_a, start=start, end=end)


def test_api_create_and_transitions(bank, world):
    cm = login_client(bank.cm_a1)
    r = cm.post("/api/v1/service/complaints/", data=json.dumps(
        {"customer_id": world.zhang.pk, "channel": "letter", "summary": "信函投诉：手续费收取有误",
         "product_line": "card", "status": "closed", "decision": "upheld", "handler_id": bank.cm_a1.pk}),
        content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["decision"], body["handler_id"]) == ("received", "", None)  # no mass assignment
    pk = body["id"]
    assert cm.post(f"/api/v1/service/complaints/{pk}/acknowledge/", data="{}",
                   content_type="application/json").status_code == 200
    assert cm.post(f"/api/v1/service/complaints/{pk}/assign/", data=json.dumps({"handler_id": bank.cm_a1.pk}),
                   content_type="application/json").status_code == 403  # cm lacks service.assign
    sv = login_client(bank.supervisor_a)
    assert sv.post(f"/api/v1/service/complaints/{pk}/assign/", data=json.dumps({"handler_id": bank.cm_a1.pk}),
                   content_type="application/json").status_code == 200
    r = cm.post(f"/api/v1/service/complaints/{pk}/decide/", data=json.dumps(
        {"findings": "核实为系统重复扣收手续费", "decision": "upheld", "remedy": "退还手续费",
         "root_cause_id": _cause("SYS03").pk}), content_type="application/json")
    assert r.status_code == 200 and r.json()["status"] == "decided"
    r = cm.post(f"/api/v1/service/complaints/{pk}/rectifications/", data=json.dumps(
        {"action": "修复扣费批处理重复执行问题", "owner_id": bank.om_a1.pk,
         "due_on": (timezone.localdate() + timedelta(days=5)).isoformat()}), content_type="application/json")
    assert r.status_code == 201
    rid = r.json()["id"]
    assert login_client(bank.om_a1).post(f"/api/v1/service/rectifications/{rid}/done/", data=json.dumps(
        {"note": "已上线修复"}), content_type="application/json").status_code == 200
    assert cm.post(f"/api/v1/service/complaints/{pk}/close/", data="{}",
                   content_type="application/json").status_code == 200
    r = cm.post("/api/v1/service/requests/", data=json.dumps(
        {"customer_id": world.zhang.pk, "kind": "appointment", "channel": "phone", "subject": "预约开户",
         "appointment_at": (timezone.now() + timedelta(days=1)).isoformat()}), content_type="application/json")
    assert r.status_code == 201
    rq = r.json()["id"]
    for action, data in (("respond", {"note": "已确认预约"}), ("resolve", {"resolution": "客户已到店办理"}),
                         ("close", {})):
        assert cm.post(f"/api/v1/service/requests/{rq}/{action}/", data=json.dumps(data),
                       content_type="application/json").status_code == 200, action
    assert Rectification.objects.get(pk=rid).status == "done"


# ---- R6 for the service routes --------------------------------------------------------------------------------------
def _complaint_setup(named=None, ack=True, assign=True, decide=False):
    def setup(b):
        led = build_ledger(b)
        services.root_causes_install_default(actor=b.admin)
        c = services.complaint_register(actor=b.cm_a1, customer_id=led.zhang.pk, channel="phone", summary="R6 测试投诉",
                                        staff_named_id=named(b).pk if named else None)
        if ack:
            services.complaint_acknowledge(actor=b.cm_a1, complaint_id=c.pk)
        if assign:
            services.complaint_assign(actor=b.supervisor_a, complaint_id=c.pk, handler_id=b.cm_a1.pk)
        if decide:
            services.complaint_decide(actor=b.cm_a1, complaint_id=c.pk, findings="R6 测试的调查情况说明",
                                      decision="not_upheld", remedy="", root_cause_id=_cause().pk)
        c.led = led
        return c
    return setup


def _cid(b, c):
    return c.pk


SERVICE_ROUTES = [
    RouteCase("svc.complaint_new", "service:complaint_new", "post",
              lambda b, c: reverse("service:complaint_new", args=[c.zhang.pk]),
              lambda b, c: {"channel": "phone", "product_line": "deposit", "summary": "柜员态度冷漠"},
              ["service.complaint_registered"], actor="cm_a1", denied_actor="risk",
              setup=lambda b: build_ledger(b), invalid=lambda b, c: {"channel": "pigeon", "summary": "x"}),
    RouteCase("svc.acknowledge", "service:complaint_acknowledge", "post",
              lambda b, c: reverse("service:complaint_acknowledge", args=[c.pk]), lambda b, c: {},
              ["service.complaint_acknowledged"], actor="om_a1", denied_actor="risk",
              setup=_complaint_setup(ack=False, assign=False)),
    RouteCase("svc.assign", "service:complaint_assign", "post",
              lambda b, c: reverse("service:complaint_assign", args=[c.pk]),
              lambda b, c: {"handler_id": b.cm_a1.pk}, ["service.complaint_assigned"], actor="supervisor_a",
              denied_actor="cm_a1", setup=_complaint_setup(named=lambda b: b.om_a1, assign=False),
              invalid=lambda b, c: {"handler_id": b.om_a1.pk}),
    RouteCase("svc.extend", "service:complaint_extend", "post",
              lambda b, c: reverse("service:complaint_extend", args=[c.pk]),
              lambda b, c: {"reason": "需要调取更多资料进行核实"}, ["service.complaint_extended"], actor="supervisor_a",
              denied_actor="cm_a1", setup=_complaint_setup(), invalid=lambda b, c: {"reason": "短"}),
    RouteCase("svc.decide", "service:complaint_decide", "post",
              lambda b, c: reverse("service:complaint_decide", args=[c.pk]),
              lambda b, c: {"findings": "经核查属实的调查情况", "decision": "not_upheld",
                            "root_cause": RootCause.objects.get(code="OTH01").pk},
              ["service.complaint_decided"], actor="cm_a1", denied_actor="risk", setup=_complaint_setup(),
              invalid=lambda b, c: {"findings": "短", "decision": "maybe"}),
    RouteCase("svc.rectify", "service:complaint_rectify", "post",
              lambda b, c: reverse("service:complaint_rectify", args=[c.pk]),
              lambda b, c: {"action": "加强培训", "owner_id": b.om_a1.pk,
                            "due_on": (timezone.localdate() + timedelta(days=3)).isoformat()},
              ["service.rectification_added"], actor="cm_a1", denied_actor="risk", setup=_complaint_setup(),
              invalid=lambda b, c: {"action": "加强培训", "owner_id": b.om_a1.pk, "due_on": "2000-01-01"}),
    RouteCase("svc.close", "service:complaint_close", "post",
              lambda b, c: reverse("service:complaint_close", args=[c.pk]), lambda b, c: {},
              ["service.complaint_closed"], actor="cm_a1", denied_actor="risk", setup=_complaint_setup(decide=True)),
    RouteCase("svc.letter_pdf", "service:letter_pdf", "post",
              lambda b, c: reverse("service:letter_pdf", args=[c.pk]), lambda b, c: {},
              ["service.letter_printed"], actor="cm_a1", denied_actor="risk", setup=_complaint_setup(decide=True)),
    RouteCase("svc.api_create", "api-service-complaints", "post", lambda b, c: "/api/v1/service/complaints/",
              lambda b, c: _api({"customer_id": c.zhang.pk, "channel": "online", "summary": "网银转账失败"}),
              ["service.complaint_registered"], actor="cm_a1", denied_actor="risk", setup=lambda b: build_ledger(b),
              invalid=lambda b, c: _api({"customer_id": c.zhang.pk, "channel": "online", "summary": ""})),
    RouteCase("svc.api_extend", "api-service-complaint-extend", "post",
              lambda b, c: f"/api/v1/service/complaints/{c.pk}/extend/",
              lambda b, c: _api({"reason": "需要调取更多资料进行核实"}), ["service.complaint_extended"],
              actor="supervisor_a", denied_actor="cm_a1", setup=_complaint_setup(),
              invalid=lambda b, c: _api({"reason": "短"})),
    RouteCase("svc.request_new", "service:request_new", "post",
              lambda b, c: reverse("service:request_new", args=[c.zhang.pk]),
              lambda b, c: {"kind": "enquiry", "channel": "phone", "priority": "normal", "subject": "咨询利率"},
              ["service.request_registered"], actor="cm_a1", denied_actor="risk", setup=lambda b: build_ledger(b),
              invalid=lambda b, c: {"kind": "appointment", "channel": "phone", "priority": "normal", "subject": "预约"}),
    RouteCase("svc.stats_xlsx", "service:stats_xlsx", "post", lambda b, c: reverse("service:stats_xlsx"),
              lambda b, c: {}, ["service.stats_exported"], actor="compliance", denied_actor="cm_a1",
              invalid=lambda b, c: {"start": "2026-05-01", "end": "2026-01-01"}),
    RouteCase("svc.regulator_file", "service:regulator_file", "post", lambda b, c: reverse("service:regulator_file"),
              lambda b, c: {}, ["service.report_generated"], actor="compliance", denied_actor="supervisor_a"),
    RouteCase("svc.causes", "service:causes", "post", lambda b, c: reverse("service:causes"),
              lambda b, c: {"code": "OTH02", "name": "第三方原因", "parent_code": "OTH", "active": "on"},
              ["service.root_cause_saved"], actor="admin", denied_actor="compliance",
              setup=lambda b: services.root_causes_install_default(actor=b.admin),
              invalid=lambda b, c: {"code": "bad code!", "name": "x"}),
]


def test_service_routes_audit_allowed_denied_invalid(bank):
    found = each_isolated(SERVICE_ROUTES, lambda case: run_route(bank, case), key=lambda c: c.key)
    failing = {k: v for k, v in found.items() if any(v.values())}
    assert failing == {}
