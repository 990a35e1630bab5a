"""Training gates privileges (issue #8): every gated action is refused without a valid certificate — missing,
expired, revoked, earned on an older course version — and allowed with one; the refusal names the course (and when
it expired), changes nothing and writes no audit event; with no active rule the gate passes. Checked at the gate
(every point × every state) and through the real services: approving a large transaction (and its page and API),
selling R4 at the point of sale, acknowledging and deciding a complaint, deciding an AML case."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from bankcrm.approvals import services as approvals
from bankcrm.approvals.models import PendingAction
from bankcrm.core import access
from bankcrm.core.errors import PermissionDenied
from bankcrm.core.models import SecurityEvent
from bankcrm.people import gates
from bankcrm.people import training_services as ts
from bankcrm.people.models import Certificate, Course, GateRule
from tests.conftest import login_client
from tests.helpers import audit_seq, security_count, verbs_since

pytestmark = pytest.mark.django_db
STATES = ("missing", "expired", "revoked", "outdated")
POINTS = {  # gate → (course, context that the rule applies to, context it does not apply to)
    "risk.sell_certified": ("suitability-sales", {"product_level": 4}, {"product_level": 3}),
    "approvals.approve": ("aml-kyc", {"action_code": "ledger.post"}, {"action_code": "wealth.shelf_on"}),
    "service.handle_complaint": ("complaints", {}, None),
    "risk.case_decide": ("aml-kyc", {}, None),
}


@pytest.fixture
def cur(bank):
    ts.curriculum_install_default(actor=None)
    return {c.code: c for c in Course.objects.all()}


def certify(staff, course: Course) -> Certificate:
    c = Course.objects.get(pk=course.pk)
    return ts.quiz_submit(actor=staff, course_id=c.pk, answers=[q["answer"] for q in c.quiz]).certificate


def put_in_state(staff, course: Course, state: str) -> None:
    """Leave ``staff`` with no valid certificate of ``course``, for the given reason."""
    if state == "missing":
        return
    cert = certify(staff, course)
    if state == "expired":
        Certificate.objects.filter(pk=cert.pk).update(expires_on=timezone.localdate() - timedelta(days=3))
    elif state == "revoked":
        Certificate.objects.filter(pk=cert.pk).update(revoked_at=timezone.now(), revoke_reason="测试")
    elif state == "outdated":
        Course.objects.filter(pk=course.pk).update(version=F("version") + 1)


def test_every_gate_point_is_registered():
    for gate in gates.GATE_POINTS:
        assert any(getattr(fn, "people_gate", None) == gate for fn in access.GATES.get(gate, [])), gate


@pytest.mark.parametrize("gate", list(POINTS))
@pytest.mark.parametrize("state", STATES)
def test_gate_refused_in_every_state_and_allowed_with_a_certificate(bank, cur, gate, state):
    code, applies, other = POINTS[gate]
    course = cur[code]
    who = bank.supervisor_a
    put_in_state(who, course, state)
    seq = audit_seq()
    with pytest.raises(PermissionDenied) as e:
        access.require_gate(gate, who, **applies)
    assert verbs_since(seq) == []
    exc = e.value
    assert exc.code == ("certificate_expired" if state == "expired" else "certificate_required")
    msg = str(exc.message)
    assert f"需要有效的《{course.title}》培训证书" in msg and exc.params["course"] == code
    if state == "expired":
        assert f"（已于 {(timezone.localdate() - timedelta(days=3)).isoformat()} 过期）" in msg
    if state == "outdated":
        assert "课程已更新为第 2 版" in msg
    if state == "revoked":
        assert "撤销" in msg
    if other is not None:
        access.require_gate(gate, who, **other)  # the rule does not apply there
    certify(who, course)  # a valid certificate on the current version
    access.require_gate(gate, who, **applies)


def test_no_active_rule_means_the_gate_passes(bank, cur):
    GateRule.objects.update(active=False)
    for gate, (_code, applies, _other) in POINTS.items():
        access.require_gate(gate, bank.intern, **applies)
    GateRule.objects.all().delete()
    for gate, (_code, applies, _other) in POINTS.items():
        access.require_gate(gate, bank.intern, **applies)
    access.require_gate("approvals.approve", None, action_code="ledger.post")  # system actions are not gated


def test_rule_scope_null_level_and_blank_prefix_apply_everywhere(bank, cur):
    GateRule.objects.filter(gate="risk.sell_certified").update(min_product_level=None)
    GateRule.objects.filter(gate="approvals.approve").update(action_prefix="")
    with pytest.raises(PermissionDenied):
        access.require_gate("risk.sell_certified", bank.cm_a1, product_level=1)
    with pytest.raises(PermissionDenied):
        access.require_gate("approvals.approve", bank.supervisor_a, action_code="wealth.shelf_on")


# ---- Through the services ---------------------------------------------------------------------------------------------
def test_approving_a_large_transaction_needs_the_aml_certificate(bank, cur):
    from tests.ledger_helpers import fund
    from tests.test_r5_ledger_makerchecker import effects, make_world, submit_post

    w = make_world(bank)
    fund(w.led.zhang_cny, 10_000_000, teller=bank.om_a1)
    pid = submit_post(w, "培训准入")
    checker = w.om_a  # an operations manager of branch A: may check A1's items
    before, seq = effects(), audit_seq()
    with pytest.raises(PermissionDenied) as e, transaction.atomic():
        approvals.approval_approve(actor=checker, pending_id=pid, reason="核对无误")
    assert e.value.code == "certificate_required" and "反洗钱与客户身份识别" in str(e.value.message)
    pa = PendingAction.objects.get(pk=pid)
    assert pa.status == "pending" and pa.checker_id is None and effects() == before and verbs_since(seq) == []

    # the page: the item stays pending, the message is shown on its page, the denial is in the security log
    client = login_client(checker)
    denied = security_count(SecurityEvent.Kind.DENIED)
    r = client.post(reverse("approvals:decide", args=[pid, "approve"]), {"reason": "核对无误"}, follow=True)
    assert r.status_code == 200 and "需要有效的《反洗钱与客户身份识别》培训证书" in r.content.decode()
    assert security_count(SecurityEvent.Kind.DENIED) == denied + 1
    # the API: 403 with the stable code
    r = client.post(f"/api/v1/approvals/{pid}/approve/", {"reason": "核对无误"}, content_type="application/json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "certificate_required"
    assert PendingAction.objects.get(pk=pid).status == "pending" and effects() == before

    certify(checker, cur["aml-kyc"])
    with transaction.atomic():
        pa = approvals.approval_approve(actor=checker, pending_id=pid, reason="核对无误")
    assert pa.status == "executed"
    # other approvable actions are not gated by the ledger. rule
    assert not gates.rule_applies(GateRule.objects.get(gate="approvals.approve"), {"action_code": "org.grant_role"})


def test_selling_r4_needs_the_suitability_certificate(bank, cur):
    from bankcrm.wealth import services as wealth
    from tests.wealth_helpers import CNY, build_wealth

    w = build_wealth(bank)
    r4 = w.products["R4"]
    d = wealth.pos_check(actor=bank.cm_a1, customer_id=w.zhang.pk, product_id=r4.pk, amount_fen=10_000 * CNY)
    assert "seller_not_certified" in d.codes
    d3 = wealth.pos_check(actor=bank.cm_a1, customer_id=w.zhang.pk, product_id=w.products["R3"].pk,
                          amount_fen=10_000 * CNY)
    assert "seller_not_certified" not in d3.codes
    put_in_state(bank.cm_a1, cur["suitability-sales"], "expired")
    d = wealth.pos_check(actor=bank.cm_a1, customer_id=w.zhang.pk, product_id=r4.pk, amount_fen=10_000 * CNY)
    assert "seller_not_certified" in d.codes
    certify(bank.cm_a1, cur["suitability-sales"])
    d = wealth.pos_check(actor=bank.cm_a1, customer_id=w.zhang.pk, product_id=r4.pk, amount_fen=10_000 * CNY)
    assert d.codes == ["suitability_recording_required"]  # certified: only the 双录 for the 78-year-old is left


def test_handling_a_complaint_needs_the_complaints_certificate(bank, cur):
    from bankcrm.service import services as service
    from bankcrm.service.models import Complaint, RootCause
    from tests.ledger_helpers import build_ledger

    led = build_ledger(bank)
    service.root_causes_install_default(actor=bank.admin)
    c = service.complaint_register(actor=bank.cm_a1, customer_id=led.zhang.pk, channel="branch",
                                   summary="理财收益与宣传不符", description="客户称销售时承诺收益4%", request="补偿差额",
                                   product_line="wealth")
    seq = audit_seq()
    with pytest.raises(PermissionDenied) as e, transaction.atomic():
        service.complaint_acknowledge(actor=bank.om_a1, complaint_id=c.pk)
    assert e.value.code == "certificate_required" and "投诉处理规范" in str(e.value.message)
    assert Complaint.objects.get(pk=c.pk).acknowledged_at is None and verbs_since(seq) == []
    certify(bank.om_a1, cur["complaints"])
    service.complaint_acknowledge(actor=bank.om_a1, complaint_id=c.pk)
    service.complaint_assign(actor=bank.supervisor_a, complaint_id=c.pk, handler_id=bank.cm_a1.pk)
    put_in_state(bank.cm_a1, cur["complaints"], "expired")
    cause = RootCause.objects.get(code="MKT01")
    decide = dict(actor=bank.cm_a1, complaint_id=c.pk, findings="经查阅录音，销售时确有不当表述", decision="upheld",
                  remedy="补偿收益差额", root_cause_id=cause.pk)
    with pytest.raises(PermissionDenied) as e, transaction.atomic():
        service.complaint_decide(**decide)
    assert e.value.code == "certificate_expired"
    assert Complaint.objects.get(pk=c.pk).decided_at is None
    # the page: 403 with the message naming the course
    r = login_client(bank.cm_a1).post(reverse("service:complaint_decide", args=[c.pk]),
                                      {"findings": decide["findings"], "decision": "upheld", "remedy": "补偿收益差额",
                                       "root_cause": cause.pk})
    assert r.status_code == 403 and "投诉处理规范" in r.content.decode()
    certify(bank.cm_a1, cur["complaints"])
    service.complaint_decide(**decide)
    assert Complaint.objects.get(pk=c.pk).status == "decided"


def test_deciding_an_aml_case_needs_the_aml_certificate(bank, cur):
    from bankcrm.risk import services as risk
    from bankcrm.risk.demo import risk_bootstrap
    from bankcrm.risk.models import Case
    from tests.ledger_helpers import build_ledger
    from tests.test_risk_cases import _large_alert

    led = build_ledger(bank)
    risk_bootstrap(actor=bank.admin)
    alert, _entry = _large_alert(bank, led)
    case = risk.case_open(actor=bank.risk, alert_ids=[alert.pk], title="核查")
    for state in ("missing", "revoked"):
        Certificate.objects.filter(staff=bank.risk).delete()
        put_in_state(bank.risk, cur["aml-kyc"], state)
        for fn in (risk.case_close, risk.case_escalate):
            seq = audit_seq()
            with pytest.raises(PermissionDenied) as e, transaction.atomic():
                fn(actor=bank.risk, case_id=case.pk, reason="资金来源清楚，有合同佐证，排除可疑")
            assert e.value.code == "certificate_required" and verbs_since(seq) == []
            assert Case.objects.get(pk=case.pk).status == "open"
    certify(bank.risk, cur["aml-kyc"])
    risk.case_close(actor=bank.risk, case_id=case.pk, reason="资金来源清楚，有合同佐证，排除可疑")
    assert Case.objects.get(pk=case.pk).status == "closed"
