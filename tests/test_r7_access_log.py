"""R7: every read path that can reveal customer personal data writes an access event; no unmasking without a reason."""

from __future__ import annotations

import pytest
from django.urls import reverse

from bankcrm.approvals.models import PendingAction
from bankcrm.approvals.services import approval_approve
from bankcrm.core.models import AccessEvent
from bankcrm.customers import dsr, exports, services
from tests.conftest import login_client, write_figures
from tests.test_customers import ric

pytestmark = pytest.mark.django_db


def test_every_read_path_is_logged(bank):
    c = services.customer_register(actor=bank.cm_a1, kind="person", name="钱多多", id_type="resident_id",
                                   id_number=ric(seq="701"), mobile="13700001111", email="q@example.cn")
    cm, sup = login_client(bank.cm_a1), login_client(bank.supervisor_a)
    req = dsr.dsr_open(actor=bank.cm_a1, customer_id=c.pk, kind="access", channel="branch")
    exp = exports.export_request_unmasked(actor=bank.supervisor_a, query="", reason="抽查")
    from bankcrm.ledger import services as ledger
    from bankcrm.ledger.models import Product

    ledger.ledger_bootstrap(actor=bank.admin)
    acc = ledger.account_open(actor=bank.om_a1, customer_id=c.pk, product_id=Product.objects.get(code="D-CNY").pk)
    om = login_client(bank.om_a1)
    approval_approve(actor=bank.compliance, pending_id=PendingAction.objects.get(action_code=exports.ACTION).pk)
    paths = {
        "html.list": lambda: cm.get(reverse("customers:list") + "?q=qdd"),
        "html.detail": lambda: cm.get(reverse("customers:detail", args=[c.pk])),
        "html.edit": lambda: cm.get(reverse("customers:edit", args=[c.pk])),
        "html.reveal": lambda: cm.post(reverse("customers:reveal", args=[c.pk]), {"field": "mobile", "reason": "核实"}),
        "api.list": lambda: cm.get("/api/v1/customers/?q=qdd"),
        "api.detail": lambda: cm.get(f"/api/v1/customers/{c.pk}/"),
        "api.update": lambda: cm.patch(f"/api/v1/customers/{c.pk}/", {"occupation": "教师"}, content_type="application/json"),
        "api.reveal": lambda: cm.post(f"/api/v1/customers/{c.pk}/reveal/", {"field": "email", "reason": "核实"},
                                      content_type="application/json"),
        "export.masked": lambda: sup.post(reverse("customers:export"), {"q": ""}),
        "export.unmasked": lambda: sup.post(reverse("customers:export_download", args=[exp.pk])),
        "dsr.copy": lambda: cm.post(reverse("customers:dsr_download", args=[c.pk, req.pk])),
        "print.detail": lambda: cm.get(reverse("customers:print", args=[c.pk])),
        "ledger.account": lambda: om.get(reverse("ledger:account", args=[acc.pk])),
        "ledger.statement": lambda: om.get(reverse("ledger:statement", args=[acc.pk])),
        "ledger.statement_xlsx": lambda: om.post(reverse("ledger:statement_export", args=[acc.pk, "xlsx"])),
        "ledger.statement_pdf": lambda: om.post(reverse("ledger:statement_export", args=[acc.pk, "pdf"])),
        "api.ledger_accounts": lambda: om.get(f"/api/v1/ledger/accounts/?customer={c.pk}"),
        "api.ledger_account": lambda: om.get(f"/api/v1/ledger/accounts/{acc.pk}/"),
        "api.ledger_statement": lambda: om.get(f"/api/v1/ledger/accounts/{acc.pk}/statement/"),
    }
    missing = []
    for name, call in paths.items():
        before = AccessEvent.objects.count()
        response = call()
        assert response.status_code in (200, 302), (name, response.status_code)
        new = AccessEvent.objects.filter(pk__gt=0).order_by("-pk")[: AccessEvent.objects.count() - before]
        if not any(str(c.pk) in e.subject_ids for e in new):
            missing.append(name)
    unmasked_without_reason = AccessEvent.objects.filter(unmasked=True, reason="").count()
    covered = (len(paths) - len(missing)) / len(paths)
    write_figures("R7", not missing and unmasked_without_reason == 0, read_paths=len(paths),
                  read_paths_covered_pct=round(covered * 100, 1), unmask_without_reason=unmasked_without_reason)
    assert missing == [] and unmasked_without_reason == 0
