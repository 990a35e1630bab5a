"""Shared set-up for ledger tests: the ledger bootstrapped on the small bank, customers with accounts, cash boxes."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from bankcrm.core.identifiers import ric_check_char
from bankcrm.customers import services as customer_services
from bankcrm.ledger import services
from bankcrm.ledger.models import Account, Product


def ric(born: str, seq: str, region: str = "110105") -> str:
    body = f"{region}{born}{seq}"
    return body + ric_check_char(body)


@dataclass
class Ledger:
    bank: object
    zhang: object          # customer of A1, managed by cm_a1
    li: object             # customer of A1
    wang: object           # customer of B1
    zhang_cny: Account
    li_cny: Account
    wang_cny: Account
    box: Account           # om_a1's CNY cash box


def fund(acc: Account, amount_fen: int, *, teller) -> None:
    """Put money on an account the honest way: a cash deposit below the approval threshold, in pieces."""
    left = amount_fen
    while left > 0:
        piece = min(left, 4_000_000)
        mv = services.cash_deposit_movement(actor=teller, account_id=acc.pk, amount_fen=piece)
        with transaction.atomic():
            services.post(mv, maker=teller)
        left -= piece


def build_ledger(bank) -> Ledger:
    services.ledger_bootstrap(actor=bank.admin)
    services._INTERNAL_IDS.clear()
    services._CUSTOMER_KIND.clear()
    demand = Product.objects.get(code="D-CNY")

    def customer(name, born, seq, actor, branch):
        return customer_services.customer_register(actor=actor, kind="person", name=name, id_type="resident_id",
                                                   id_number=ric(born, seq), mobile="13812345678",
                                                   branch_id=branch.pk, primary_manager_id=bank.cm_a1.pk
                                                   if branch == bank.a1 else bank.cm_b1.pk)

    zhang = customer("张三丰", "19480315", "031", bank.cm_a1, bank.a1)
    li = customer("李小龙", "19850101", "012", bank.cm_a1, bank.a1)
    wang = customer("王五", "19900101", "013", bank.cm_b1, bank.b1)
    zc = services.account_open(actor=bank.om_a1, customer_id=zhang.pk, product_id=demand.pk)
    lc = services.account_open(actor=bank.om_a1, customer_id=li.pk, product_id=demand.pk)
    wc = services.account_open(actor=bank.om_b1, customer_id=wang.pk, product_id=demand.pk)
    box = services.cash_box_open(actor=bank.om_a1)
    services.cash_box_open(actor=bank.om_b1)
    services.cash_box_open(actor=bank.temp)
    return Ledger(bank, zhang, li, wang, zc, lc, wc, box)
