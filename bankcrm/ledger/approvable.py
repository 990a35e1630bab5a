"""The ledger's approvable actions, registered with approvals (which never imports the ledger)."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.approvals.registry import ApprovableAction, register
from bankcrm.core.masking import mask_card, mask_name
from bankcrm.core.money import format_amount, to_chinese_capital

from . import services
from .models import Account, JournalEntry


def _acc(account_id: Any) -> str:
    acc = Account.objects.filter(pk=account_id).select_related("customer").first()
    if acc is None:
        return "—"
    holder = mask_name(acc.customer.name) if acc.customer_id else acc.get_internal_code_display()
    return f"{mask_card(acc.number)} {holder}"


def describe_movement(payload: dict[str, Any]) -> list[tuple[str, str]]:
    kind = dict(JournalEntry.Kind.choices).get(payload.get("kind"), payload.get("kind"))
    amount = int(payload.get("amount_fen", 0))
    rows = [
        (_("交易类型"), str(kind)),
        (_("金额"), f"{payload.get('currency')} {format_amount(amount, payload.get('currency', 'CNY'))}"),
        (_("大写"), ("人民币" if payload.get("currency") == "CNY" else "美元") + to_chinese_capital(amount)),
        (_("借方（转出）"), _acc(payload.get("debit_id"))),
        (_("贷方（转入）"), _acc(payload.get("credit_id"))),
    ]
    if payload.get("counterparty_bank"):
        account = services.Movement.from_payload(payload).counterparty_account
        rows += [(_("收款银行"), payload["counterparty_bank"]), (_("收款人"), mask_name(payload.get("counterparty_name"))),
                 (_("收款账号"), mask_card(account))]
        if payload.get("cross_border"):
            rows.append((_("跨境（国家/地区）"), payload.get("counterparty_country", "")))
    if payload.get("reversal_of_id"):
        entry = JournalEntry.objects.filter(pk=payload["reversal_of_id"]).first()
        rows.append((_("冲正原交易"), entry.txn_no if entry else "—"))
    if payload.get("memo"):
        rows.append((_("摘要"), payload["memo"]))
    return rows


def describe_account(payload: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(_("账户"), _acc(payload.get("account_id")))]
    if "balance_fen" in payload:
        rows.append((_("销户余额"), format_amount(payload["balance_fen"])))
        rows.append((_("余额支付方式"), _("现金") if payload.get("payout") == "cash" else _("转入本人账户")))
    if payload.get("reason"):
        rows.append((_("原因"), payload["reason"]))
    return rows


def describe_limit(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(_("渠道"), payload["channel"]), (_("客户类型"), payload["customer_kind"]),
            (_("单笔限额"), format_amount(payload["per_txn_fen"])), (_("日累计限额"), format_amount(payload["per_day_fen"])),
            (_("原因"), payload.get("reason", ""))]


register(ApprovableAction("ledger.post", gettext_lazy("资金交易复核"), services.execute_movement,
                          checker_capability="ledger.approve", describe=describe_movement, wants_pending_id=True))
register(ApprovableAction("ledger.freeze", gettext_lazy("账户冻结复核"),
                          partial(services.execute_status, action="freeze"), checker_capability="ledger.approve",
                          describe=describe_account))
register(ApprovableAction("ledger.unfreeze", gettext_lazy("账户解冻复核"),
                          partial(services.execute_status, action="unfreeze"), checker_capability="ledger.approve",
                          describe=describe_account))
register(ApprovableAction("ledger.close", gettext_lazy("销户复核"), services.execute_close,
                          checker_capability="ledger.approve", describe=describe_account))
register(ApprovableAction("ledger.limit", gettext_lazy("交易限额调整复核"), services.execute_limit,
                          checker_capability="ledger.approve", describe=describe_limit))
