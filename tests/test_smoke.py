"""Every page a role can reach renders; the policy hides what it may not use."""

import pytest
from django.urls import reverse

from tests.conftest import login_client

pytestmark = pytest.mark.django_db


def test_home_for_every_role(bank):
    for key, staff in bank.all().items():
        r = login_client(staff).get(reverse("core:home"))
        assert r.status_code == 200, key
        assert staff.name in r.content.decode()


def test_customer_manager_sees_no_admin_navigation(bank):
    body = login_client(bank.cm_a1).get(reverse("core:home")).content.decode()
    assert reverse("org:staff") not in body
    assert reverse("core:audit") not in body


def test_admin_pages_render(bank):
    c = login_client(bank.admin)
    for name in ["core:inbox", "org:branches", "org:staff", "org:branch_create", "org:staff_create", "core:audit",
                 "core:security_log", "core:parameters", "core:calendar", "approvals:list", "org:profile"]:
        assert c.get(reverse(name)).status_code == 200, name
    assert c.get(reverse("org:staff_detail", args=[bank.cm_a1.pk])).status_code == 200
    assert c.get(reverse("core:parameter", args=["aml.large_cash.cny"])).status_code == 200
