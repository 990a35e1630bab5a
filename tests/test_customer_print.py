"""The printable customer 360 page: masked exactly like the page, logged as a print, scoped like the page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from bankcrm.core.models import AccessEvent
from bankcrm.customers import services
from tests.conftest import login_client
from tests.test_customers import ric, zhang  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def masked_values(body: str) -> list[str]:
    return re.findall(r'data-testid="masked-[\w-]+">([^<]*)<', body)


def test_print_writes_an_access_event_and_masks_like_the_360_page(bank, zhang):  # noqa: F811
    client = login_client(bank.cm_a1)
    page = client.get(reverse("customers:detail", args=[zhang.pk])).content.decode()
    assert reverse("customers:print", args=[zhang.pk]) in page and 'data-testid="print-360"' in page
    before = AccessEvent.objects.count()
    r = client.get(reverse("customers:print", args=[zhang.pk]))
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    body = r.content.decode()
    ev = AccessEvent.objects.get(pk__gt=0, view="customers.print")
    assert AccessEvent.objects.count() == before + 1
    assert (ev.actor_id, ev.channel, ev.subject_ids, ev.unmasked) == (bank.cm_a1.pk, "print", [str(zhang.pk)], False)
    assert {"id_number", "mobile", "name"} <= set(ev.fields)
    # masked the same way: ID 6+4, mobile 3+4, e-mail and address, as on the page
    assert zhang.id_number not in body and "13812345678" not in body and zhang.email not in body
    assert "110105" in body and "138****5678" in body and zhang.address not in body
    assert masked_values(body) == masked_values(page) and len(masked_values(body)) >= 4
    assert "张三丰" in body and zhang.customer_no in body  # a customer manager sees the name in full, as on the page
    # a print, not a workplace: nothing that reveals or changes data, the print layout, who printed it
    assert "<form" not in body and 'name="reason"' not in body and reverse("customers:reveal", args=[zhang.pk]) not in body
    assert "print.css" in body and 'data-print' in body and bank.cm_a1.staff_no in body
    assert "relationship-data" not in body


def test_print_masks_the_name_for_interns_and_is_404_outside_scope(bank, zhang):  # noqa: F811
    services.manager_assign(actor=bank.supervisor_a, customer_id=zhang.pk, staff_id=bank.intern.pk, role="team", reason="带教")
    body = login_client(bank.intern).get(reverse("customers:print", args=[zhang.pk])).content.decode()
    assert "张三丰" not in body and "张**" in body and zhang.id_number not in body
    for outsider in (bank.cm_b1, bank.supervisor_b, bank.om_b1):
        before = AccessEvent.objects.filter(actor=outsider).count()
        assert login_client(outsider).get(reverse("customers:print", args=[zhang.pk])).status_code == 404
        assert AccessEvent.objects.filter(actor=outsider).count() == before  # nothing shown, nothing logged
    r = login_client(bank.supervisor_a).get(reverse("customers:print", args=[zhang.pk]))
    assert r.status_code == 200 and "张三丰" in r.content.decode()


def test_print_is_shut_to_the_signed_out(bank, zhang):  # noqa: F811
    from django.test import Client

    r = Client().get(reverse("customers:print", args=[zhang.pk]))
    assert r.status_code == 302 and r["Location"].startswith(reverse("org:login"))
    assert not AccessEvent.objects.filter(view="customers.print").exists()
