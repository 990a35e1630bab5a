"""Pages and API of inspections and access reviews: the compliance manager's flow through the pages (plan, create,
sample, record with errors next to the fields, complete, export), the supervisor's read-only view, the access
review page (revoke needs a reason), the same flows through the API, home sections and the inbox."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from bankcrm.org.models import RoleAssignment
from bankcrm.supervision import access_review_services as arsvc
from bankcrm.supervision.models import AccessReview, AccessReviewItem, ChecklistTemplate, Inspection, SampleItem
from tests.conftest import login_client
from tests.test_supervision_inspections import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _answers_post(item, fail: str | None = None, evidence: str = "") -> dict[str, str]:
    data = {f"i{item.pk}-check_{c['code']}": ("no" if c["code"] == fail else "yes")
            for c in item.inspection.template.checks(item.kind)}
    data[f"i{item.pk}-evidence"] = evidence
    return data


def test_compliance_pages_flow(bank, world):  # noqa: F811
    c = login_client(bank.compliance)
    tpl = ChecklistTemplate.objects.get(code="branch-crm", active=True)
    assert c.get(reverse("supervision:inspection_plans")).status_code == 200
    r = c.post(reverse("supervision:inspection_plan_new"), {
        "name": "", "branch": bank.a.pk, "frequency": "quarterly", "template": tpl.pk, "sample_customers": 2,
        "sample_transactions": 2, "sample_complaints": 1, "risk_weighted": "on", "active": "on"})
    assert r.status_code == 200 and 'data-testid="field-error-name"' in r.content.decode()
    r = c.post(reverse("supervision:inspection_plan_new"), {
        "name": "甲分行季度检查", "branch": bank.a.pk, "frequency": "quarterly", "template": tpl.pk,
        "sample_customers": 2, "sample_transactions": 2, "sample_complaints": 1, "risk_weighted": "on", "active": "on"})
    assert r.status_code == 302
    assert "甲分行季度检查" in c.get(reverse("supervision:inspection_plans")).content.decode()

    today = timezone.localdate()
    r = c.post(reverse("supervision:inspection_new"), {
        "branch": bank.a.pk, "template": tpl.pk, "period_start": today - timedelta(days=30), "period_end": today,
        "sample_customers": 2, "sample_transactions": 2, "sample_complaints": 1, "risk_weighted": "on"})
    assert r.status_code == 302
    insp = Inspection.objects.get()
    assert c.post(reverse("supervision:inspection_sample", args=[insp.pk])).status_code == 302
    page = c.get(reverse("supervision:inspection", args=[insp.pk])).content.decode()
    assert 'data-testid="item-form"' in page and str(insp.seed) in page
    txn = insp.items.filter(kind="transaction").first()
    # a "no" without evidence: 400, the message next to the evidence field, the item's panel open
    r = c.post(reverse("supervision:inspection_item", args=[txn.pk]), _answers_post(txn, fail="T02"))
    assert r.status_code == 400 and 'data-testid="field-error-evidence"' in r.content.decode()
    r = c.post(reverse("supervision:inspection_item", args=[txn.pk]), {f"i{txn.pk}-evidence": ""})
    assert r.status_code == 400 and "field-error-check_T01" in r.content.decode()
    r = c.post(reverse("supervision:inspection_item", args=[txn.pk]), _answers_post(txn, fail="T02", evidence="无复核"))
    assert r.status_code == 302 and r["Location"].endswith(f"#item-{txn.pk}")
    assert SampleItem.objects.get(pk=txn.pk).result == "fail"
    page = c.get(reverse("supervision:inspection", args=[insp.pk])).content.decode()
    assert 'data-testid="finding-row"' in page
    r = c.post(reverse("supervision:inspection_complete", args=[insp.pk]), {"conclusion": "x"})
    assert r.status_code == 400 and "未检查" in r.content.decode()
    for it in insp.items.filter(result="pending"):
        assert c.post(reverse("supervision:inspection_item", args=[it.pk]), _answers_post(it)).status_code == 302
    assert c.post(reverse("supervision:inspection_complete", args=[insp.pk]), {"conclusion": "总体合规"}).status_code == 302
    assert Inspection.objects.get(pk=insp.pk).status == "completed"
    # a second, planned inspection is cancelled from its page: the reason is required, shown next to the field
    r = c.post(reverse("supervision:inspection_new"), {
        "branch": bank.a.pk, "template": tpl.pk, "period_start": today - timedelta(days=30), "period_end": today,
        "sample_customers": 1, "sample_transactions": 1, "sample_complaints": 1})
    other = Inspection.objects.exclude(pk=insp.pk).get()
    assert 'data-testid="cancel-form"' in c.get(reverse("supervision:inspection", args=[other.pk])).content.decode()
    assert 'data-testid="cancel-form"' not in c.get(reverse("supervision:inspection", args=[insp.pk])).content.decode()
    r = c.post(reverse("supervision:inspection_cancel", args=[other.pk]), {"reason": ""})
    assert r.status_code == 400 and 'data-testid="field-error-reason"' in r.content.decode()
    assert c.post(reverse("supervision:inspection_cancel", args=[other.pk]), {"reason": "与季度检查重复"}).status_code == 302
    page = c.get(reverse("supervision:inspection", args=[other.pk])).content.decode()
    assert "与季度检查重复" in page and 'data-testid="cancel-form"' not in page
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        r = c.get(reverse("supervision:inspection_report", args=[insp.pk, fmt]))
        assert r.status_code == 200 and r.content.startswith(magic) and r["Cache-Control"] == "no-store"
    # the supervisor of branch A reads it, without forms; the list shows it; the home page section for compliance
    s = login_client(bank.supervisor_a)
    page = s.get(reverse("supervision:inspection", args=[insp.pk])).content.decode()
    assert 'data-testid="item-form"' not in page and 'data-testid="export-pdf"' in page
    assert insp.number in s.get(reverse("supervision:inspections")).content.decode()
    assert s.post(reverse("supervision:inspection_sample", args=[insp.pk])).status_code == 403


def test_home_and_inbox(bank, world):  # noqa: F811
    from bankcrm.supervision import inspection_services as svc

    today = timezone.localdate()
    insp = svc.inspection_create(actor=bank.compliance, branch_id=bank.a.pk,
                                 template_id=ChecklistTemplate.objects.get(code="branch-crm").pk,
                                 period_start=today - timedelta(days=30), period_end=today, sample_customers=1,
                                 sample_transactions=1, sample_complaints=0)
    svc.inspection_sample(actor=bank.compliance, inspection_id=insp.pk)
    arsvc.access_reviews_open()
    home = login_client(bank.compliance).get(reverse("core:home")).content.decode()
    assert 'data-testid="home-inspections"' in home and insp.number in home
    home = login_client(bank.supervisor_a).get(reverse("core:home")).content.decode()
    assert 'data-testid="home-access-reviews"' in home
    assert 'data-testid="home-inspections"' not in home
    inbox = login_client(bank.supervisor_a).get(reverse("core:inbox")).content.decode()
    assert "个角色待确认" in inbox


def test_access_review_page(bank):
    arsvc.access_reviews_open()
    review = AccessReview.objects.get(branch=bank.a)
    s = login_client(bank.supervisor_a)
    page = s.get(reverse("supervision:access_review", args=[review.pk])).content.decode()
    assert page.count('data-testid="decide-form"') == review.items.count()
    temp = AccessReviewItem.objects.get(review=review, staff=bank.temp)
    r = s.post(reverse("supervision:access_review_decide", args=[temp.pk]), {"decision": "revoked", "reason": ""})
    assert r.status_code == 400 and 'data-testid="field-error-reason"' in r.content.decode()
    r = s.post(reverse("supervision:access_review_decide", args=[temp.pk]), {"decision": "revoked", "reason": "合同到期"})
    assert r.status_code == 302
    assert not RoleAssignment.objects.filter(staff=bank.temp).exists()
    for it in review.items.filter(decision="pending"):
        s.post(reverse("supervision:access_review_decide", args=[it.pk]), {"decision": "confirmed"})
    assert s.post(reverse("supervision:access_review_complete", args=[review.pk])).status_code == 302
    assert AccessReview.objects.get(pk=review.pk).status == "completed"
    listing = s.get(reverse("supervision:access_reviews")).content.decode()
    assert "2" in listing and 'data-testid="review-row"' in listing
    # the root review shows the supervisor's own role, which they cannot decide (it is outside their subtree: 404)
    root = AccessReview.objects.get(branch=bank.head)
    assert s.get(reverse("supervision:access_review", args=[root.pk])).status_code == 404
    co = login_client(bank.compliance)
    page = co.get(reverse("supervision:access_review", args=[root.pk])).content.decode()
    assert "本人角色，由上级复核" in page
    assert co.post(reverse("supervision:access_reviews_open")).status_code == 302


def _api(client, method, url, body=None):
    if method == "get":
        return client.get(url)
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_api_flows(bank, world):  # noqa: F811
    c = login_client(bank.compliance)
    tpl = ChecklistTemplate.objects.get(code="branch-crm", active=True)
    r = _api(c, "post", reverse("api-sv-plans"), {"name": "乙分行月度检查", "branch_id": bank.b.pk, "frequency": "monthly",
                                                 "template_id": tpl.pk, "sample_customers": 1, "sample_transactions": 1,
                                                 "sample_complaints": 1, "status": "x", "branch_path": "/x/"})
    assert r.status_code == 201 and r.json()["branch"]["code"] == "102"
    today = timezone.localdate()
    r = _api(c, "post", reverse("api-sv-inspections"), {
        "branch_id": bank.a.pk, "template_id": tpl.pk, "period_start": str(today - timedelta(days=30)),
        "period_end": str(today), "sample_customers": 2, "sample_transactions": 2, "sample_complaints": 1,
        "seed": 12345, "status": "completed", "inspector": bank.compliance.pk})
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "planned" and body["seed"] == 12345 and body["inspector"] is None
    pk = body["id"]
    body = _api(c, "post", reverse("api-sv-inspection-sample", args=[pk])).json()
    assert body["status"] == "in_progress" and body["items"]
    assert all("*" in i["label"] for i in body["items"] if i["kind"] == "customer")
    first = body["items"][0]
    codes = [ch["code"] for ch in body["checklist"]["items"][first["kind"]]]
    r = _api(c, "post", reverse("api-sv-inspection-item-record", args=[first["id"]]), {"answers": {codes[0]: "no"}})
    assert r.status_code == 400
    r = _api(c, "post", reverse("api-sv-inspection-item-record", args=[first["id"]]),
             {"answers": {k: "no" if k == codes[0] else "yes" for k in codes}, "evidence": "档案缺页"})
    assert r.status_code == 200 and r.json()["result"] == "fail"
    r = _api(c, "post", reverse("api-sv-inspection-complete", args=[pk]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "inspection_items_pending"
    r = _api(c, "post", reverse("api-sv-inspection-cancel", args=[pk]), {"reason": "误建"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "inspection_has_findings"
    r = c.get(reverse("api-sv-inspection-report", args=[pk]) + "?file_type=pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert c.get(reverse("api-sv-inspection-report", args=[pk]) + "?file_type=doc").status_code == 400
    listing = c.get(reverse("api-sv-inspections")).json()
    assert listing["results"][0]["items_total"] == len(body["items"])
    # supervisor B: another branch's inspection is 404, their list is empty
    b = login_client(bank.supervisor_b)
    assert b.get(reverse("api-sv-inspection", args=[pk])).status_code == 404
    assert b.get(reverse("api-sv-inspections")).json()["results"] == []

    # access reviews through the API
    r = _api(c, "post", reverse("api-sv-access-reviews"))
    assert r.status_code == 200 and len(r.json()) == 3
    s = login_client(bank.supervisor_a)
    reviews = s.get(reverse("api-sv-access-reviews") + "?mine=true").json()["results"]
    assert [x["branch"]["code"] for x in reviews] == ["101"]
    detail = s.get(reverse("api-sv-access-review", args=[reviews[0]["id"]])).json()
    item = next(i for i in detail["items"] if i["staff"]["staff_no"] == "IN001")
    r = _api(s, "post", reverse("api-sv-access-review-decide", args=[item["id"]]), {"decision": "revoked"})
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = _api(s, "post", reverse("api-sv-access-review-decide", args=[item["id"]]),
             {"decision": "revoked", "reason": "实习结束", "decided_by": bank.admin.pk})
    assert r.status_code == 200 and r.json()["decision"] == "revoked"
    assert r.json()["decided_by"]["staff_no"] == "SV101"
    r = _api(s, "post", reverse("api-sv-access-review-complete", args=[reviews[0]["id"]]))
    assert r.status_code == 409
