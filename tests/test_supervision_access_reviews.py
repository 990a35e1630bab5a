"""Quarterly access reviews (issue #10): who reviews whom, idempotent opening, confirm / revoke (the role really goes
and the person's sessions end), no one reviews their own roles, unconfirmed roles past the due date are flagged,
and the authorization sweep (R10) over the access-review and inspection routes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.org.models import LiveSession, RoleAssignment, Staff
from bankcrm.supervision import access_review_selectors as sel
from bankcrm.supervision import access_review_services as svc
from bankcrm.supervision import inspection_rules as rules
from bankcrm.supervision.models import AccessReview, AccessReviewItem
from tests.conftest import login_client, write_figures
from tests.helpers import audit_seq, db_state, security_count, state_diff, verbs_since

pytestmark = pytest.mark.django_db


def review_of(branch):
    return AccessReview.objects.get(branch=branch, period=rules.quarter_of(timezone.localdate())[0])


def item(review, staff, role):
    return AccessReviewItem.objects.get(review=review, staff=staff, role=role)


def test_who_reviews_whom(bank):
    seq = audit_seq()
    opened = svc.access_reviews_open()
    assert verbs_since(seq) == ["supervision.access_reviews_opened"]
    by_branch = {r.branch.code: r for r in opened}
    assert set(by_branch) == {"001", "101", "102"}
    a, b, root = by_branch["101"], by_branch["102"], by_branch["001"]
    assert a.reviewer_id == bank.supervisor_a.pk and b.reviewer_id == bank.supervisor_b.pk and root.reviewer_id is None
    staff_a = set(a.items.values_list("staff__staff_no", flat=True))
    # branch A's supervisor answers for A and its sub-branch A1 (no supervisor of its own), never for themself
    assert staff_a == {"RK101", "CS001", "CM001", "OM001", "IN001", "TW001"}
    assert set(b.items.values_list("staff__staff_no", flat=True)) == {"CM002", "OM002"}
    # the supervisors' own roles go up: to the root, decided by head-office compliance
    root_staff = set(root.items.values_list("staff__staff_no", flat=True))
    assert {"SV101", "SV102", "AD001", "AD002", "CO001", "RK001"} == root_staff
    assert a.due_on == timezone.localdate() + timedelta(days=30)
    # every role of every active member of staff is in exactly one review
    assert AccessReviewItem.objects.count() == RoleAssignment.objects.filter(staff__is_active=True).count()
    # idempotent: the daily job running again adds nothing and records nothing
    seq = audit_seq()
    assert svc.access_reviews_open() == []
    assert verbs_since(seq) == []
    # a role granted mid-quarter joins the branch's open review on the next run
    from bankcrm.org.services import staff_set_roles

    staff_set_roles(actor=bank.admin, staff_id=bank.om_a1.pk, roles=["operations_manager", "customer_manager"])
    assert [r.pk for r in svc.access_reviews_open()] == [a.pk]
    assert item(a, bank.om_a1, "customer_manager").decision == "pending"


def test_review_plan_pure():
    sup = {"/1/2/": 20, "/1/2/3/": 30}
    plan = svc.review_plan([(30, "S30", "/1/2/3/", [("branch_supervisor", None)]),
                            (31, "S31", "/1/2/3/4/", [("customer_manager", None)]),
                            (20, "S20", "/1/2/", [("branch_supervisor", None)]),
                            (10, "S10", "/1/", [("admin", None)])], sup)
    assert plan == {("/1/2/", 20): [(30, "branch_supervisor", None)], ("/1/2/3/", 30): [(31, "customer_manager", None)],
                    ("/1/", None): [(20, "branch_supervisor", None), (10, "admin", None)]}


def test_confirm_and_revoke(bank):
    svc.access_reviews_open()
    a = review_of(bank.a)
    cm = item(a, bank.cm_a1, "customer_manager")
    seq = audit_seq()
    svc.access_review_decide(actor=bank.supervisor_a, item_id=cm.pk, decision="confirmed")
    assert verbs_since(seq) == ["supervision.access_review_decided"]
    # revoke: reason required; then the role is gone, the auth version moves and every session ends
    temp = item(a, bank.temp, "operations_manager")
    with pytest.raises(ValidationFailed) as e:
        svc.access_review_decide(actor=bank.supervisor_a, item_id=temp.pk, decision="revoked")
    assert "reason" in e.value.fields
    client = login_client(Staff.objects.get(pk=bank.temp.pk))
    assert LiveSession.objects.filter(staff=bank.temp, ended_at__isnull=True).exists()
    version = Staff.objects.get(pk=bank.temp.pk).auth_version
    seq = audit_seq()
    svc.access_review_decide(actor=bank.supervisor_a, item_id=temp.pk, decision="revoked", reason="临时工合同项目已结束")
    assert verbs_since(seq) == ["org.staff_roles_changed", "supervision.access_review_decided"]
    assert not RoleAssignment.objects.filter(staff=bank.temp, role="operations_manager").exists()
    assert Staff.objects.get(pk=bank.temp.pk).auth_version == version + 1
    assert not LiveSession.objects.filter(staff=bank.temp, ended_at__isnull=True).exists()
    assert client.get(reverse("core:home")).status_code == 302  # signed out
    # a revocation is final; a confirmation can still become a revocation
    with pytest.raises(RuleViolation):
        svc.access_review_decide(actor=bank.supervisor_a, item_id=temp.pk, decision="confirmed")
    svc.access_review_decide(actor=bank.supervisor_a, item_id=cm.pk, decision="revoked", reason="调岗")
    assert not RoleAssignment.objects.filter(staff=bank.cm_a1, role="customer_manager").exists()
    # completion: only when every role is decided
    with pytest.raises(RuleViolation) as e:
        svc.access_review_complete(actor=bank.supervisor_a, review_id=a.pk)
    assert e.value.code == "review_items_pending"
    for it in a.items.filter(decision="pending"):
        svc.access_review_decide(actor=bank.supervisor_a, item_id=it.pk, decision="confirmed")
    seq = audit_seq()
    svc.access_review_complete(actor=bank.supervisor_a, review_id=a.pk)
    assert verbs_since(seq) == ["supervision.access_review_completed"]
    a.refresh_from_db()
    assert a.status == "completed" and a.completed_by_id == bank.supervisor_a.pk
    with pytest.raises(RuleViolation):
        svc.access_review_decide(actor=bank.supervisor_a, item_id=cm.pk, decision="confirmed")


def test_no_one_reviews_their_own_roles(bank):
    svc.access_reviews_open()
    root = review_of(bank.head)
    own = item(root, bank.compliance, "compliance_manager")
    with pytest.raises(RuleViolation) as e:
        svc.access_review_decide(actor=bank.compliance, item_id=own.pk, decision="confirmed")
    assert e.value.code == "own_roles"
    # head-office compliance decides the root review's other items (the supervisors' roles)
    sv = item(root, bank.supervisor_a, "branch_supervisor")
    svc.access_review_decide(actor=bank.compliance, item_id=sv.pk, decision="confirmed")
    # a supervisor cannot reach their own role's item at all (it is in the root review, outside their subtree)
    with pytest.raises(NotFound):
        svc.access_review_decide(actor=bank.supervisor_a, item_id=sv.pk, decision="confirmed")
    # compliance sees branch A's review but is not its reviewer
    a_item = item(review_of(bank.a), bank.cm_a1, "customer_manager")
    with pytest.raises(PermissionDenied):
        svc.access_review_decide(actor=bank.compliance, item_id=a_item.pk, decision="confirmed")
    # another branch's supervisor: not found; staff without the capability: denied
    with pytest.raises(NotFound):
        svc.access_review_decide(actor=bank.supervisor_b, item_id=a_item.pk, decision="confirmed")
    with pytest.raises(PermissionDenied):
        svc.access_review_decide(actor=bank.cm_a1, item_id=a_item.pk, decision="confirmed")
    assert AccessReviewItem.objects.get(pk=a_item.pk).decision == "pending"


def test_unconfirmed_roles_past_due_are_flagged(bank):
    today = timezone.localdate()
    svc.access_reviews_open(today=today)
    a = review_of(bank.a)
    assert not sel.access_review_overdue_items(today=today).exists()
    after_due = a.due_on + timedelta(days=1)
    overdue = sel.access_review_overdue_items(today=after_due)
    assert overdue.count() == AccessReviewItem.objects.count()
    decided = item(a, bank.cm_a1, "customer_manager")
    svc.access_review_decide(actor=bank.supervisor_a, item_id=decided.pk, decision="confirmed")
    overdue = sel.access_review_overdue_items(today=after_due)
    assert decided.pk not in set(overdue.values_list("pk", flat=True))
    # scoped: supervisor B sees only branch B's overdue roles; the registry (no actor) sees all
    assert set(sel.access_review_overdue_items(today=after_due, actor=bank.supervisor_b)
               .values_list("review__branch__code", flat=True)) == {"102"}
    # the inbox of the reviewer lists the review once it is overdue (and before, as due)
    from bankcrm.core.inbox import items_for

    titles = [i.title for i in items_for(bank.supervisor_a) if i.kind == "access_review"]
    assert len(titles) == 1
    write_figures("SV-access-review", True, overdue_items=overdue.count())


def test_opening_needs_the_capability(bank):
    with pytest.raises(PermissionDenied):
        svc.access_reviews_open(actor=bank.supervisor_a)
    assert not AccessReview.objects.exists()
    assert len(svc.access_reviews_open(actor=bank.compliance)) == 3


# ---- R10 sweep over this part's routes ----------------------------------------------------------------------------
def _routes(bank, insp, plan, review, ri, si):
    """(name, method, url, body, capability) of every page and API route of inspections and access reviews."""
    return [
        ("plans", "get", reverse("supervision:inspection_plans"), None),
        ("plan_new", "post", reverse("supervision:inspection_plan_new"), {"name": "x"}),
        ("plan_edit", "post", reverse("supervision:inspection_plan_edit", args=[plan.pk]), {"name": "x"}),
        ("inspections", "get", reverse("supervision:inspections"), None),
        ("inspection_new", "post", reverse("supervision:inspection_new"), {"branch": bank.a.pk}),
        ("inspection", "get", reverse("supervision:inspection", args=[insp.pk]), None),
        ("sample", "post", reverse("supervision:inspection_sample", args=[insp.pk]), {}),
        ("item", "post", reverse("supervision:inspection_item", args=[si.pk]), {"evidence": "x"}),
        ("complete", "post", reverse("supervision:inspection_complete", args=[insp.pk]), {}),
        ("cancel", "post", reverse("supervision:inspection_cancel", args=[insp.pk]), {"reason": "x"}),
        ("report", "get", reverse("supervision:inspection_report", args=[insp.pk, "xlsx"]), None),
        ("reviews", "get", reverse("supervision:access_reviews"), None),
        ("review", "get", reverse("supervision:access_review", args=[review.pk]), None),
        ("decide", "post", reverse("supervision:access_review_decide", args=[ri.pk]), {"decision": "confirmed"}),
        ("review_complete", "post", reverse("supervision:access_review_complete", args=[review.pk]), {}),
        ("reviews_open", "post", reverse("supervision:access_reviews_open"), {}),
        ("api_plans", "get", reverse("api-sv-plans"), None),
        ("api_plans_post", "post", reverse("api-sv-plans"), {"name": "x"}),
        ("api_inspections", "get", reverse("api-sv-inspections"), None),
        ("api_inspection", "get", reverse("api-sv-inspection", args=[insp.pk]), None),
        ("api_sample", "post", reverse("api-sv-inspection-sample", args=[insp.pk]), {}),
        ("api_item", "post", reverse("api-sv-inspection-item-record", args=[si.pk]), {"answers": {}}),
        ("api_complete", "post", reverse("api-sv-inspection-complete", args=[insp.pk]), {}),
        ("api_cancel", "post", reverse("api-sv-inspection-cancel", args=[insp.pk]), {"reason": "x"}),
        ("api_report", "get", reverse("api-sv-inspection-report", args=[insp.pk]) + "?file_type=xlsx", None),
        ("api_reviews", "get", reverse("api-sv-access-reviews"), None),
        ("api_review", "get", reverse("api-sv-access-review", args=[review.pk]), None),
        ("api_decide", "post", reverse("api-sv-access-review-decide", args=[ri.pk]), {"decision": "confirmed"}),
    ]


@pytest.fixture
def sweep_world(bank):
    from bankcrm.supervision import inspection_services as isvc
    from bankcrm.supervision.models import ChecklistTemplate

    isvc.templates_install_default()
    tpl = ChecklistTemplate.objects.get(code="branch-crm")
    plan = isvc.plan_save(actor=bank.compliance, name="甲分行季度检查", branch_id=bank.a.pk, frequency="quarterly",
                          template_id=tpl.pk, sample_customers=1, sample_transactions=1, sample_complaints=1)
    today = timezone.localdate()
    insp = isvc.inspection_create(actor=bank.compliance, branch_id=bank.a.pk, template_id=tpl.pk,
                                  period_start=today - timedelta(days=30), period_end=today, sample_customers=1,
                                  sample_transactions=1, sample_complaints=1)
    from bankcrm.supervision.models import SampleItem

    si = SampleItem.objects.create(inspection=insp, kind="customer", object_id=1, label="C0001 张*",
                                   staff=bank.cm_a1)
    svc.access_reviews_open()
    review = review_of(bank.a)
    ri = item(review, bank.cm_a1, "customer_manager")
    return insp, plan, review, ri, si


def _call(client, method, url, body):
    api = url.startswith("/api/")
    if method == "get":
        return client.get(url)
    if api:
        return client.post(url, data=json.dumps(body or {}), content_type="application/json")
    return client.post(url, data=body or {})


def test_r10_sweep_inspections_and_access_reviews(bank, sweep_world):
    """Anonymous → login / 401; no capability → 403 + security log; out of scope (supervisor B) → 404; nothing
    changes and nothing is audited on any denial."""
    from django.test import Client

    routes = _routes(bank, *sweep_world)
    problems, checked = [], 0
    seq, state = audit_seq(), db_state()
    snapshot = _sv_state()
    anon = Client()
    for name, method, url, body in routes:
        r = _call(anon, method, url, body)
        checked += 1
        api = url.startswith("/api/")
        ok = r.status_code in (401, 403) if api else (r.status_code == 302 and "/login" in r["Location"])
        if not ok:
            problems.append(f"anonymous {name} -> {r.status_code}")
    outsider = login_client(bank.cm_b1)  # no supervision capability at all
    for name, method, url, body in routes:
        denied = security_count("denied")
        r = _call(outsider, method, url, body)
        checked += 1
        if r.status_code != 403 or security_count("denied") != denied + 1:
            problems.append(f"no-capability {name} -> {r.status_code}")
    foreign = login_client(bank.supervisor_b)  # holds supervision.view / access_review, but branch A is not theirs
    for name, method, url, body in routes:
        if not any(str(x) in url for x in (sweep_world[0].pk, sweep_world[2].pk, sweep_world[3].pk,
                                            sweep_world[4].pk)) or name in {"plans", "inspections", "reviews",
                                                                            "api_plans", "api_inspections",
                                                                            "api_reviews"}:
            continue
        r = _call(foreign, method, url, body)
        checked += 1
        if r.status_code not in (403, 404):
            problems.append(f"foreign {name} -> {r.status_code}")
        if r.status_code == 200:
            problems.append(f"foreign object access {name}")
    # lists never show another branch's rows
    for url in (reverse("api-sv-inspections"), reverse("api-sv-access-reviews"), reverse("api-sv-plans")):
        data = foreign.get(url).json()
        rows = data.get("results", data) if isinstance(data, dict) else data
        if any(row.get("branch", {}).get("code") == "101" if isinstance(row.get("branch"), dict) else False
               for row in rows):
            problems.append(f"foreign row listed at {url}")
    problems += [f"state changed: {t}" for t in set(state_diff(state, db_state())) - {"org.LiveSession"}]
    problems += [f"supervision state changed: {k}" for k in _diff(snapshot, _sv_state())]
    problems += [f"audit event: {v}" for v in verbs_since(seq)]
    write_figures("R10", not problems, supervision_sb_checks=checked, supervision_sb_problems=len(problems))
    assert problems == []


def _sv_state():
    from bankcrm.supervision.models import Inspection, InspectionPlan, SampleItem

    return {m.__name__: list(m.objects.order_by("pk").values()) for m in
            (InspectionPlan, Inspection, SampleItem, AccessReview, AccessReviewItem)}


def _diff(a, b):
    return [k for k in a if a[k] != b[k]]
