"""R17 data-subject requests: the copy is complete and holds no other customer; erasure leaves only what AML
retention requires, restricted."""

from __future__ import annotations

import json

import pytest

from bankcrm.core import params, workdays
from bankcrm.core.errors import NotFound, RuleViolation
from bankcrm.customers import dsr, selectors, services
from bankcrm.customers.models import Customer
from tests.conftest import write_figures
from tests.test_customers import ric

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(bank):
    a = services.customer_register(actor=bank.cm_a1, kind="person", name="张三", id_type="resident_id", id_number=ric(seq="301"),
                                   mobile="13811112222", email="zhang@example.cn", address="北京市朝阳区建国路1号",
                                   employer="某科技公司", income_band="30-100w")
    b = services.customer_register(actor=bank.cm_a1, kind="person", name="李四", id_type="resident_id", id_number=ric(seq="302"),
                                   mobile="13933334444", email="li@example.cn")
    services.relationship_add(actor=bank.cm_a1, customer_id=a.pk, other_customer_id=b.pk, kind="spouse")
    services.consent_grant(actor=bank.cm_a1, customer_id=a.pk, purpose="marketing", channel="branch")
    services.contact_add(actor=bank.cm_a1, customer_id=a.pk, kind="address", value="北京市海淀区中关村大街1号", label="单位")
    return a, b


def test_access_copy_is_complete_and_contains_no_other_customer(bank, pair):
    a, b = pair
    req = dsr.dsr_open(actor=bank.cm_a1, customer_id=a.pk, kind="access", channel="branch", details="要求复制个人信息")
    h, m = workdays.calendar()
    assert req.due_on == workdays.add_working_days(req.received_at.astimezone().date(), params.value("privacy.subject_request_deadline"), h, m)
    data = json.loads(dsr.dsr_export(actor=bank.cm_a1, request_id=req.pk))
    text = json.dumps(data, ensure_ascii=False)
    expected = [a.name, a.id_number, a.mobile, a.email, a.address, a.customer_no, "marketing", "spouse", b.customer_no,
                "北京市海淀区中关村大街1号"]
    recall = sum(1 for v in expected if v in text) / len(expected)
    leaks = [v for v in (b.name, b.id_number, b.mobile, b.email) if v in text]
    write_figures("R17", recall == 1 and not leaks, export_recall=recall, foreign_leaks=len(leaks))
    assert recall == 1 and leaks == []


def test_erasure_keeps_only_aml_data_and_restricts(bank, pair):
    a, _b = pair
    req = dsr.dsr_open(actor=bank.cm_a1, customer_id=a.pk, kind="deletion", channel="branch")
    with pytest.raises(RuleViolation):
        dsr.dsr_complete(actor=bank.cm_a1, request_id=req.pk, outcome="done")
    dsr.dsr_erase(actor=bank.cm_a1, request_id=req.pk)
    c = Customer.objects.get(pk=a.pk)
    residual = [f for f in dsr.ERASED if getattr(c, f)] + [f"contact {p.pk}" for p in c.contacts.all()]
    assert c.status == "restricted" and residual == []
    assert c.id_number == a.id_number and c.name == a.name  # retained for AML
    assert not c.consents.filter(withdrawn_at__isnull=True).exists()
    # Restricted: gone from the manager's lists and search; compliance still sees it.
    assert not selectors.search(bank.cm_a1, "张三").exists()
    with pytest.raises(NotFound):
        selectors.customer_get(bank.cm_a1, a.pk)
    assert selectors.customer_get(bank.compliance, a.pk).pk == a.pk
    write_figures("R17", not residual, residual_personal_data=len(residual))
