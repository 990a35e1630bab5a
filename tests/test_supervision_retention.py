"""Retention (issue #10): purges or anonymises exactly what is past its period, respects legal holds, a dry run
changes nothing, a second run changes nothing, the audit trace holds counts only; pages and API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from bankcrm.core import audit, logs
from bankcrm.core.models import AccessEvent, AuditEvent, SecurityEvent
from bankcrm.customers.models import ContactPoint, Customer, NameBigram
from bankcrm.supervision import retention_services as rs
from bankcrm.supervision.models import LegalHold, RetentionDisposal, RetentionRun
from tests.conftest import login_client
from tests.helpers import audit_seq, verbs_since
from tests.ledger_helpers import build_ledger, ric

pytestmark = pytest.mark.django_db
YEAR = timedelta(days=366)


def customer(bank, name, seq, *, status="closed", age_years=12, mobile="13911112222"):
    from bankcrm.customers import services as cs

    c = cs.customer_register(actor=bank.cm_a1, kind="person", name=name, id_type="resident_id",
                             id_number=ric("19700101", seq), mobile=mobile, email=f"{seq}@example.cn",
                             branch_id=bank.a1.pk, employer="某公司")
    Customer.objects.filter(pk=c.pk).update(status=status, created_at=timezone.now() - age_years * YEAR)
    ContactPoint.objects.create(customer=c, kind="mobile", value="13700001111", created_by=bank.cm_a1)
    return Customer.objects.get(pk=c.pk)


def response(bank, c, age_years):
    from bankcrm.surveys.models import Campaign, Invitation, Response, SurveyTemplate

    t = SurveyTemplate.objects.first() or SurveyTemplate.objects.create(version=1, name="t", questions=[])
    camp = Campaign.objects.first() or Campaign.objects.create(name="c", trigger="periodic", template=t,
                                                               branch=bank.head, branch_path=bank.head.path,
                                                               created_by=bank.admin)
    inv = Invitation.objects.create(campaign=camp, template=t, customer=c, branch=bank.a1, branch_path=bank.a1.path,
                                    trigger="periodic", channel="sms", source_ref=f"x{c.pk}-{age_years}")
    r = Response.objects.create(invitation=inv, customer=c, answers={"q1": "柜员态度很好"}, csat=5, nps=9,
                                comment="张先生说很满意", keywords=["满意"])
    Response.objects.filter(pk=r.pk).update(created_at=timezone.now() - age_years * YEAR)
    return r


def old_logs(bank, c_ids, years):
    with freeze_time(timezone.now() - years * YEAR):
        a = logs.access(actor=bank.cm_a1, view="customers.detail", subject_type="customers.Customer",
                        subject_ids=c_ids)
        s = logs.security(SecurityEvent.Kind.LOGIN_OK, actor=bank.cm_b1, username="CM002")
    return a, s


@pytest.fixture
def seeded(bank):
    old = customer(bank, "钱老客", "011")                       # closed 12 years ago: identity anonymised
    recent = customer(bank, "孙近客", "012", age_years=5)        # closed 5 years ago: only contact data erased
    held = customer(bank, "李保全", "013")                       # closed 12 years ago, under a legal hold
    active = customer(bank, "周在户", "014", status="active")     # still a customer
    r_old, r_new, r_held = response(bank, active, 4), response(bank, active, 1), response(bank, held, 4)
    a_old, s_old = old_logs(bank, [active.pk], 4)
    a_held, _s = old_logs(bank, [held.pk], 4)
    a_new, s_new = old_logs(bank, [active.pk], 1)
    rs.hold_place(actor=bank.compliance, customer_id=held.pk, reason="诉讼保全（2024）民初123号")
    return dict(old=old, recent=recent, held=held, active=active, r_old=r_old, r_new=r_new, r_held=r_held,
                a_old=a_old, s_old=s_old, a_held=a_held, a_new=a_new, s_new=s_new)


def snapshot():
    from bankcrm.surveys.models import Response

    return (list(Customer.objects.order_by("pk").values()), list(Response.objects.order_by("pk").values()),
            AccessEvent.objects.count(), SecurityEvent.objects.count(), ContactPoint.objects.count(),
            NameBigram.objects.count())


def test_dry_run_counts_and_changes_nothing(bank, seeded):
    before = snapshot()
    run = rs.retention_run(actor=bank.compliance, dry_run=True)
    assert snapshot() == before and not RetentionDisposal.objects.exists()
    c = run.counts
    assert c["customer_identity"] == {"eligible": 2, "held": 1, "done": 0, "would": 1}
    assert c["closed_customer_contact"] == {"eligible": 3, "held": 1, "done": 0, "would": 2}
    assert c["survey_responses"]["eligible"] == 2 and c["survey_responses"]["held"] == 1
    assert c["access_log"]["eligible"] == 2 and c["access_log"]["held"] == 1
    assert c["security_log"] == {"eligible": 2, "held": 0, "done": 0, "would": 2}
    assert run.dry_run and run.status == "done"


def test_real_run_purges_exactly_what_is_past_retention(bank, seeded):
    from bankcrm.surveys.models import Response

    s = seeded
    seq = audit_seq()
    run = rs.retention_run(actor=bank.compliance, dry_run=False)
    c = run.counts
    assert c["customer_identity"]["done"] == 1 and c["closed_customer_contact"]["done"] == 1
    assert c["survey_responses"]["done"] == 1 and c["access_log"]["done"] == 1 and c["security_log"]["done"] == 2
    old = Customer.objects.get(pk=s["old"].pk)
    assert old.name == "（已匿名）" and old.id_number == f"ANON-{old.customer_no}" and old.mobile == "" \
        and old.email == "" and old.birth_date is None and old.employer == ""
    assert not ContactPoint.objects.filter(customer=old).exists() and not NameBigram.objects.filter(customer=old).exists()
    recent = Customer.objects.get(pk=s["recent"].pk)
    assert recent.name == "孙近客" and recent.mobile.endswith("13911112222") and recent.email == "" and recent.employer == ""
    assert not ContactPoint.objects.filter(customer=recent).exists()
    held = Customer.objects.get(pk=s["held"].pk)
    assert held.name == "李保全" and held.email and ContactPoint.objects.filter(customer=held).exists()
    active = Customer.objects.get(pk=s["active"].pk)
    assert active.name == "周在户" and active.email
    assert Response.objects.get(pk=s["r_old"].pk).comment == "" and Response.objects.get(pk=s["r_old"].pk).csat == 5
    assert Response.objects.get(pk=s["r_new"].pk).comment and Response.objects.get(pk=s["r_held"].pk).comment
    assert not AccessEvent.objects.filter(pk=s["a_old"].pk).exists()
    assert AccessEvent.objects.filter(pk__in=[s["a_held"].pk, s["a_new"].pk]).count() == 2
    assert not SecurityEvent.objects.filter(pk=s["s_old"].pk).exists()
    assert SecurityEvent.objects.filter(pk=s["s_new"].pk).exists()
    # the audit trace: one event, counts only, no personal data; the chain is untouched and still verifies
    assert verbs_since(seq) == ["supervision.retention_run"]
    ev = AuditEvent.objects.get(verb="supervision.retention_run")
    text = str(ev.after) + ev.target_repr
    for sentinel in ("钱老客", "孙近客", "李保全", "13911112222"):
        assert sentinel not in text
    assert audit.verify_chain().ok
    # a second run changes nothing
    before = snapshot()
    again = rs.retention_run(actor=bank.compliance, dry_run=False)
    assert snapshot() == before
    assert all(v["done"] == 0 for v in again.counts.values()), again.counts


def test_releasing_a_hold_lets_the_next_run_dispose(bank, seeded):
    hold = LegalHold.objects.get()
    rs.retention_run(actor=None, dry_run=False)
    assert Customer.objects.get(pk=seeded["held"].pk).name == "李保全"
    rs.hold_release(actor=bank.compliance, hold_id=hold.pk, reason="案件审结")
    run = rs.retention_run(actor=None, dry_run=False)
    assert run.counts["customer_identity"]["done"] == 1
    assert Customer.objects.get(pk=seeded["held"].pk).name == "（已匿名）"


def test_holds_on_staff_and_records(bank):
    a_old, s_old = old_logs(bank, [], 4)
    rs.hold_place(actor=bank.compliance, target_type="org.Staff", target_id=str(bank.cm_b1.pk), reason="内部调查")
    rs.hold_place(actor=bank.compliance, target_type="core.AccessEvent", target_id=str(a_old.pk), reason="内部调查")
    run = rs.retention_run(actor=None, dry_run=False, categories=["access_log", "security_log"])
    assert run.counts["access_log"]["held"] == 1 and run.counts["security_log"]["held"] == 1
    assert AccessEvent.objects.filter(pk=a_old.pk).exists() and SecurityEvent.objects.filter(pk=s_old.pk).exists()


def test_relationship_end_uses_account_closure(bank):
    from bankcrm.ledger.models import Account

    led = build_ledger(bank)
    Customer.objects.filter(pk=led.wang.pk).update(status="closed", created_at=timezone.now() - 20 * YEAR)
    # an account that is still open keeps the relationship alive
    assert not rs.ended_customers().filter(pk=led.wang.pk).exists()
    Account.objects.filter(customer=led.wang).update(status="closed", closed_at=timezone.now() - 2 * YEAR)
    ended = rs.ended_customers().get(pk=led.wang.pk)
    assert abs((ended.ended_at - (timezone.now() - 2 * YEAR)).total_seconds()) < 5
    run = rs.retention_run(actor=None, dry_run=True, categories=["customer_identity"])
    assert run.counts["customer_identity"]["eligible"] == 0  # closed 2 years ago < 10


def test_hold_validation_and_permissions(bank):
    from bankcrm.core.errors import PermissionDenied, ValidationFailed

    with pytest.raises(ValidationFailed):
        rs.hold_place(actor=bank.compliance, reason="x")
    with pytest.raises(ValidationFailed):
        rs.hold_place(actor=bank.compliance, reason="", target_type="org.Staff", target_id="1")
    with pytest.raises(ValidationFailed):
        rs.hold_place(actor=bank.compliance, reason="x", target_type="core.AuditEvent", target_id="1")
    with pytest.raises(PermissionDenied):
        rs.hold_place(actor=bank.admin, reason="x", target_type="org.Staff", target_id="1")
    with pytest.raises(PermissionDenied):
        rs.retention_run(actor=bank.supervisor_a, dry_run=True)


def test_pages(bank, seeded):
    co = login_client(bank.compliance)
    r = co.get(reverse("supervision:retention"))
    html = r.content.decode()
    assert r.status_code == 200 and "诉讼保全" in html and 'data-testid="hold-table"' in html
    seq = audit_seq()
    r = co.post(reverse("supervision:retention_run"), {"dry_run": "on"})
    assert r.status_code == 302 and RetentionRun.objects.get().dry_run
    assert verbs_since(seq) == ["supervision.retention_run"]
    # placing a hold by customer number; errors shown next to the field
    r = co.post(reverse("supervision:hold_place"), {"customer_no": "", "reason": "x"})
    assert r.status_code == 400 and 'data-testid="field-error-customer_no"' in r.content.decode()
    r = co.post(reverse("supervision:hold_place"), {"customer_no": seeded["old"].customer_no, "reason": "监管调查"})
    assert r.status_code == 302 and LegalHold.objects.filter(customer=seeded["old"]).exists()
    h = LegalHold.objects.get(customer=seeded["old"])
    r = co.post(reverse("supervision:hold_release", args=[h.pk]), {"release_reason": "调查结束"})
    assert r.status_code == 302 and LegalHold.objects.get(pk=h.pk).released_at
    # denials: no state change, no audit event
    seq = audit_seq()
    for who in (bank.supervisor_a, bank.cm_a1):
        c = login_client(who)
        assert c.get(reverse("supervision:retention")).status_code == 403
        assert c.post(reverse("supervision:retention_run"), {"dry_run": "on"}).status_code == 403
    adm = login_client(bank.admin)
    assert adm.get(reverse("supervision:retention")).status_code == 200
    assert adm.post(reverse("supervision:hold_place"), {"customer_no": "x", "reason": "x"}).status_code == 403
    assert verbs_since(seq) == [] and RetentionRun.objects.count() == 1


def test_api(bank, seeded):
    co = login_client(bank.compliance)
    r = co.get("/api/v1/supervision/legal-holds/")
    assert r.status_code == 200 and r.json()["count"] == 1
    r = co.post("/api/v1/supervision/retention-runs/", {"dry_run": True}, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["counts"]["customer_identity"]["would"] == 1
    assert co.get("/api/v1/supervision/retention-runs/").json()["count"] == 1
    r = co.post("/api/v1/supervision/legal-holds/", {"target_type": "org.Staff", "target_id": str(bank.om_a1.pk),
                                                     "reason": "调查"}, content_type="application/json")
    assert r.status_code == 201, r.content
    hid = r.json()["id"]
    r = co.post(f"/api/v1/supervision/legal-holds/{hid}/release/", {"reason": "结束"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["released_at"]
    assert co.post(f"/api/v1/supervision/legal-holds/{hid}/release/", {"reason": "again"},
                   content_type="application/json").status_code == 409
    assert login_client(bank.cm_a1).get("/api/v1/supervision/legal-holds/").status_code == 403
    assert login_client(bank.admin).post("/api/v1/supervision/retention-runs/", {"dry_run": True},
                                         content_type="application/json").status_code == 403


def test_audit_trail_is_never_a_category():
    assert not any("audit" in code for code in rs.CATEGORY_CODES)
