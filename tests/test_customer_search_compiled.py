"""The search page's compiled searches (selectors.search_results, ADR 0010) answer exactly what the scoped queryset
answers, for every actor and every kind of key, follow scope changes at once, and load a page in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bankcrm.customers import selectors, services
from bankcrm.customers.models import Customer, ManagerAssignment
from tests.conftest import login_client
from tests.test_customers import ric

pytestmark = pytest.mark.django_db


@pytest.fixture
def customers(bank):
    """Customers in branches A1 and B1, two sharing a mobile's last four digits, one restricted after erasure."""
    a = [services.customer_register(actor=bank.cm_a1, kind="person", name=name, id_type="resident_id",
                                    id_number=ric(seq=f"{300 + i}"), mobile=mobile)
         for i, (name, mobile) in enumerate([("张三丰", "13812345678"), ("张三", "13900005678"), ("李四", "13700001111")])]
    b = services.customer_register(actor=bank.cm_b1, kind="person", name="张三强", id_type="resident_id",
                                   id_number=ric(region="310115", seq="401"), mobile="13600005678")
    Customer.objects.filter(pk=a[2].pk).update(status=Customer.Status.RESTRICTED)
    return [Customer.objects.get(pk=c.pk) for c in (*a, b)]


def queries_for(customers: list[Customer]) -> list[str]:
    zhang = customers[0]
    out = ["张", "张三", "三丰", "张三丰", "zs", "zhangsan", "ZSF", "5678", "1111", zhang.mobile, zhang.mobile[3:],
           "+86 138-1234-5678", zhang.id_number, zhang.id_number.lower(), zhang.customer_no[:5]]
    return out + [c.customer_no for c in customers]


def rows(found) -> list[tuple]:
    return [(c.pk, c.customer_no, c.name, c.id_number, c.mobile, c.status, c.branch.label, c.primary_manager_name)
            for c in found]


def test_compiled_searches_answer_what_the_scoped_queryset_answers_for_every_actor(bank, customers):
    selectors.clear_search_plans()
    compiled = 0
    for actor in bank.all().values():
        for q in queries_for(customers):
            expected = selectors._with_page_columns(selectors.search(actor, q))
            for attempt in range(2):  # the first search compiles, the second reuses what was compiled
                found = selectors.search_results(actor, q)
                compiled += isinstance(found, selectors.CompiledResults)
                assert found.count() == expected.count(), (actor.staff_no, q)
                assert rows(found[0:20]) == rows(expected[0:20]), (actor.staff_no, q, attempt)
                assert rows(found) == rows(expected), (actor.staff_no, q)
    assert compiled > 100
    # scope really is applied: branch B's manager finds only B's customer, nobody but compliance the restricted one
    assert [c.pk for c in selectors.search_results(bank.cm_b1, "5678")] == [customers[3].pk]
    restricted = customers[2].customer_no
    assert [a.staff_no for a in bank.all().values() if len(selectors.search_results(a, restricted))] == [
        bank.compliance.staff_no]


def test_slices_and_counts_past_what_count_peeks_at(bank, customers, monkeypatch):
    monkeypatch.setattr(selectors, "PEEK", 2)
    q = "5678"
    expected = list(selectors._with_page_columns(selectors.search(bank.compliance, q)))
    assert len(expected) == 3
    found = selectors.search_results(bank.compliance, q)
    with CaptureQueriesContext(connection) as ctx:
        assert found.count() == 3
    assert len(ctx.captured_queries) == 2 and "COUNT(*)" in ctx.captured_queries[1]["sql"]
    assert rows(found[0:2]) == rows(expected[0:2]) and rows(found[1:3]) == rows(expected[1:3])
    assert rows(found[2:]) == rows(expected[2:]) and rows([found[2]]) == rows([expected[2]])
    assert rows([found[-1]]) == rows([expected[-1]]) and found[5:9] == [] and bool(found)
    with pytest.raises(IndexError):
        found[3]


def test_scope_changes_apply_to_the_next_search(bank, customers, monkeypatch):
    from bankcrm.org.models import Branch, Staff

    zhang = customers[0]
    assert len(selectors.search_results(bank.cm_a1, zhang.customer_no)) == 1
    # a manager who no longer manages the customer (data, read by the SQL)
    ManagerAssignment.objects.filter(customer=zhang, staff=bank.cm_a1).update(ended_at=zhang.created_at)
    assert len(selectors.search_results(bank.cm_a1, zhang.customer_no)) == 0
    # a supervisor whose branch moves elsewhere in the tree (the path is part of what was compiled)
    sup = Staff.objects.get(pk=bank.supervisor_a.pk)
    assert len(selectors.search_results(sup, zhang.customer_no)) == 1
    Branch.objects.filter(pk=sup.branch_id).update(path="/001/999/")
    assert len(selectors.search_results(Staff.objects.get(pk=sup.pk), zhang.customer_no)) == 0
    # a role taken away
    om = Staff.objects.get(pk=bank.om_a1.pk)
    assert len(selectors.search_results(om, zhang.customer_no)) == 1
    om.role_assignments.all().delete()
    assert len(selectors.search_results(Staff.objects.get(pk=om.pk), zhang.customer_no)) == 0
    # a deactivated member of staff
    cm_b1 = Staff.objects.get(pk=bank.cm_b1.pk)
    assert len(selectors.search_results(cm_b1, customers[3].customer_no)) == 1
    cm_b1.is_active = False
    assert len(selectors.search_results(cm_b1, customers[3].customer_no)) == 0


def test_a_broken_scope_is_not_hidden_by_what_was_compiled_before(bank, customers, monkeypatch):
    """Broken variant: customers visible to everyone. What was compiled with the real scope must not mask it."""
    from bankcrm.customers.models import CustomerQuerySet

    b_customer = customers[3].customer_no
    assert len(selectors.search_results(bank.cm_a1, b_customer)) == 0
    monkeypatch.setattr(CustomerQuerySet, "visible_to", lambda self, actor: self)
    assert len(selectors.search_results(bank.cm_a1, b_customer)) == 1


def test_anonymous_finds_nothing(bank, customers):
    from django.contrib.auth.models import AnonymousUser

    assert list(selectors.search_results(AnonymousUser(), customers[0].customer_no)) == []


def test_search_page_is_one_query_per_page_and_logs_what_it_shows(bank, customers):
    from bankcrm.core.models import AccessEvent

    client = login_client(bank.supervisor_a)
    url = reverse("customers:list")
    client.get(url + "?q=1111")  # session, middleware and the compiled search warmed up
    counts = {}
    for q in ("5678", customers[0].customer_no, "张三"):
        with CaptureQueriesContext(connection) as ctx:
            body = client.get(url, {"q": q}).content.decode()
        scoped = 'FROM "customers_customer" INNER JOIN "org_branch" ON ("customers_customer"."branch_id"'
        search = [x["sql"] for x in ctx.captured_queries if scoped in x["sql"]]  # not the inbox's counts
        counts[q] = len(search)
        assert not any("COUNT(" in s for s in search), q  # a page of a few matches needs no COUNT
        assert customers[0].customer_no in body and customers[0].id_number not in body and "13812345678" not in body
    assert set(counts.values()) == {1}, counts  # two matches or one: no query per row
    ev = AccessEvent.objects.filter(actor=bank.supervisor_a, view="customers.list").order_by("-pk").first()
    assert set(map(str, ev.subject_ids)) == {str(customers[0].pk), str(customers[1].pk)}
