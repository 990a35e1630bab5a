"""Reads the ledger's HTML pages need beyond selectors.py: the teller's confirmation details, recent postings, the
statement's counterparties, a teller's cash box and its day. Everything is scoped (the account was fetched through a
scoped selector first) and writes nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from bankcrm.core import masking
from bankcrm.core.errors import NotFound
from bankcrm.core.models import IdempotencyRecord
from bankcrm.core.money import format_amount, to_chinese_capital

from . import selectors
from .models import Account, CashCount, JournalEntry, Posting

CURRENCY_WORD = {"CNY": "人民币", "USD": "美元"}


def capital(amount_fen: int, currency: str) -> str:
    """人民币伍万元整: the amount as written on a voucher."""
    return CURRENCY_WORD.get(currency, currency) + to_chinese_capital(amount_fen)


def holder_label(acc: Account | None) -> str:
    """Who an account belongs to, as a confirmation or statement shows it: surname + * for customers (the teller
    reads it back to the customer), the account's title for the bank's own accounts."""
    if acc is None:
        return "—"
    if acc.customer_id:
        return masking.mask_name(acc.customer.name)
    return acc.title


@dataclass
class Side:
    label: str
    number: str = ""
    holder: str = ""
    product: str = ""
    extra: list[tuple[str, str]] = field(default_factory=list)


def movement_details(mv: Any) -> dict[str, Any]:
    """What the confirmation page shows for a movement: both sides masked, the amount in figures and in words."""
    accounts = {a.pk: a for a in Account.objects.select_related("customer", "product").filter(pk__in=[mv.debit_id, mv.credit_id])}
    debit, credit = accounts.get(mv.debit_id), accounts.get(mv.credit_id)

    def side(label: str, acc: Account | None) -> Side:
        if acc is None:
            return Side(label, "—")
        if acc.kind == Account.Kind.INTERNAL:
            return Side(label, acc.get_internal_code_display(), acc.title)
        return Side(label, acc.masked_number, holder_label(acc), acc.product.display_name)

    rows: list[Side] = []
    if mv.kind == JournalEntry.Kind.CASH_DEPOSIT:
        rows.append(side(_("存入账户"), credit))
    elif mv.kind == JournalEntry.Kind.CASH_WITHDRAWAL:
        rows.append(side(_("支取账户"), debit))
    elif mv.kind == JournalEntry.Kind.INTERNAL:
        rows += [side(_("转出账户"), debit), side(_("转入账户"), credit)]
    else:
        rows.append(side(_("汇出账户"), debit))
        payee = Side(_("收款人"), masking.mask_card(mv.counterparty_account), masking.mask_name(mv.counterparty_name),
                     mv.counterparty_bank)
        if mv.cross_border:
            payee.extra.append((_("国家/地区"), mv.counterparty_country))
        rows.append(payee)
    return {
        "kind_label": dict(JournalEntry.Kind.choices).get(mv.kind, mv.kind),
        "sides": rows, "currency": mv.currency, "amount": format_amount(mv.amount_fen, mv.currency),
        "capital": capital(mv.amount_fen, mv.currency), "memo": mv.memo, "cross_border": mv.cross_border,
        "customer_account": debit if mv.kind != JournalEntry.Kind.CASH_DEPOSIT else credit,
    }


def teller_answer(actor: Any, key: str) -> IdempotencyRecord:
    """The stored first answer of one of the actor's teller requests (another actor's key is not found)."""
    record = IdempotencyRecord.objects.filter(actor_id=actor.pk, key=key, scope__startswith="ledger.web.").first()
    if record is None:
        raise NotFound("teller_result_not_found", _("没有找到该笔交易的受理结果"))
    return record


def entry_voucher(actor: Any, entry_id: int) -> dict[str, Any]:
    """A posted entry as its voucher shows it (both accounts masked, the customer's balance after the posting)."""
    entry = selectors.entry_get(actor, entry_id)
    legs = list(Posting.objects.filter(entry=entry).select_related("account", "account__customer", "account__product"))
    # The balance after the posting is shown for the customer served at the counter only (the payer, or the
    # depositor), never for the beneficiary of a transfer.
    served = entry.credit_account_id if entry.kind in (JournalEntry.Kind.CASH_DEPOSIT, JournalEntry.Kind.OPENING) \
        else entry.debit_account_id
    customer_legs = [p for p in legs if p.account.kind == Account.Kind.CUSTOMER and p.account_id == served]
    accounts = {p.account_id: p.account for p in legs}
    debit, credit = accounts.get(entry.debit_account_id), accounts.get(entry.credit_account_id)

    def party(label: str, acc: Account | None) -> tuple[str, str, bool, str, str]:
        """(label, account, is an account number, "户名", holder) for one line of the voucher."""
        if acc is not None and acc.kind == Account.Kind.CUSTOMER:
            return label, acc.masked_number, True, _("户名"), holder_label(acc)
        name = _("现金") if acc is not None and acc.internal_code == Account.Internal.CASH else (
            acc.get_internal_code_display() if acc else "—")
        return label, name, False, "", ""

    K = JournalEntry.Kind
    if entry.kind == K.CASH_DEPOSIT:
        lines = [party(_("存入账户"), credit), (_("交易方式"), _("现金存入"), False, "", "")]
    elif entry.kind == K.CASH_WITHDRAWAL:
        lines = [party(_("支取账户"), debit), (_("交易方式"), _("现金支取"), False, "", "")]
    elif entry.kind == K.OUTWARD:
        payee = f"{masking.mask_name(entry.counterparty_name)} {masking.mask_card(entry.counterparty_account)}"
        bank = entry.counterparty_bank + (f"（{entry.counterparty_country}）" if entry.cross_border else "")
        lines = [party(_("付款账户"), debit), (_("收款银行"), bank, False, _("收款人"), payee)]
    else:
        lines = [party(_("付款账户"), debit), party(_("收款账户"), credit)]
    return {"entry": entry, "legs": legs, "customer_legs": customer_legs, "lines": lines,
            "capital": capital(entry.amount_fen, entry.currency)}


def recent_postings(account: Account, n: int = 20) -> list[Posting]:
    rows = list(Posting.objects.filter(account=account).select_related("entry").order_by("-id")[:n])
    annotate_rows(account, rows)
    return rows


def annotate_rows(account: Account, rows: list[Posting]) -> None:
    """Give each posting of ``account``: ``money_in`` / ``money_out`` (from the holder's point of view), the other
    side of the entry (masked), and whether the entry has been reversed."""
    entries = [p.entry for p in rows]
    others = {e.credit_account_id if e.debit_account_id == account.pk else e.debit_account_id for e in entries}
    other_accounts = {a.pk: a for a in Account.objects.select_related("customer").filter(pk__in=others)}
    reversed_ids = set(JournalEntry.objects.filter(reversal_of_id__in=[e.pk for e in entries])
                       .values_list("reversal_of_id", flat=True))
    for p in rows:
        e = p.entry
        into = p.side == account.normal_side
        p.money_in = p.amount_fen if into else None
        p.money_out = None if into else p.amount_fen
        other = other_accounts.get(e.credit_account_id if p.side == Account.Side.DEBIT else e.debit_account_id)
        if e.kind == JournalEntry.Kind.OUTWARD:
            p.counterparty = f"{e.counterparty_bank} {masking.mask_name(e.counterparty_name)} {masking.mask_card(e.counterparty_account)}"
        elif other is None:
            p.counterparty = ""
        elif other.kind == Account.Kind.CUSTOMER:
            p.counterparty = f"{other.masked_number} {holder_label(other)}"
        elif other.internal_code == Account.Internal.CASH:
            p.counterparty = _("现金")
        else:
            p.counterparty = other.get_internal_code_display()
        p.is_reversed = e.pk in reversed_ids
        p.reversible = e.kind not in (JournalEntry.Kind.REVERSAL,) and not p.is_reversed


def statement_rows(st: dict[str, Any]) -> dict[str, Any]:
    """The statement with its rows annotated and its totals seen from the holder's side."""
    acc = st["account"]
    annotate_rows(acc, st["rows"])
    credit_normal = acc.normal_side == Account.Side.CREDIT
    return {**st, "in_fen": st["credits_fen"] if credit_normal else st["debits_fen"],
            "out_fen": st["debits_fen"] if credit_normal else st["credits_fen"]}


# ---- Cash boxes ----------------------------------------------------------------------------------------------------
def own_cash_box(actor: Any, currency: str = "CNY") -> Account | None:
    return (Account.objects.filter(kind=Account.Kind.INTERNAL, internal_code=Account.Internal.CASH, teller_id=actor.pk,
                                   currency=currency).select_related("branch").first())


def cash_box_get(actor: Any, box_id: Any) -> Account:
    box = selectors.account_get(actor, box_id)
    if box.kind != Account.Kind.INTERNAL or box.internal_code != Account.Internal.CASH:
        raise NotFound("account_not_found", _("尾箱不存在"))
    return box


def cash_box_day(box: Account, day: date) -> dict[str, Any]:
    """Cash taken in and paid out on one business date (a cash box is debit-normal: debits are cash in)."""
    sums = Posting.objects.filter(account=box, business_date=day).aggregate(
        cash_in=Sum("amount_fen", filter=Q(side=Account.Side.DEBIT)), n_in=Count("id", filter=Q(side=Account.Side.DEBIT)),
        cash_out=Sum("amount_fen", filter=Q(side=Account.Side.CREDIT)), n_out=Count("id", filter=Q(side=Account.Side.CREDIT)))
    return {"cash_in": sums["cash_in"] or 0, "cash_out": sums["cash_out"] or 0, "n_in": sums["n_in"], "n_out": sums["n_out"],
            "count": CashCount.objects.filter(cash_box=box, business_date=day).select_related("counted_by").first()}


def recent_counts(box: Account, n: int = 10) -> list[CashCount]:
    return list(CashCount.objects.filter(cash_box=box).select_related("counted_by").order_by("-business_date")[:n])


def cash_boxes_in_scope(actor: Any) -> list[Account]:
    """The cash boxes of the actor's branch subtree (for a supervisor's overview), each with today's count."""
    from .services import business_date

    boxes = list(selectors.accounts_visible(actor).filter(kind=Account.Kind.INTERNAL, internal_code=Account.Internal.CASH)
                 .select_related("teller", "branch").order_by("branch_path", "id")[:200])
    today = business_date()
    counts = {c.cash_box_id: c for c in CashCount.objects.filter(cash_box__in=boxes, business_date=today)}
    for b in boxes:
        b.today_count = counts.get(b.pk)
    return boxes


def cash_differences(actor: Any, *, days: int = 7):
    """Cash counts with a difference in the actor's branch subtree over the last ``days`` business days."""
    from bankcrm.core import access
    from bankcrm.core.access import Role

    from .services import business_date

    if Role.BRANCH_SUPERVISOR not in getattr(actor, "roles", ()) or not access.can(actor, "ledger.view_internal"):
        return CashCount.objects.none()
    since = business_date() - timedelta(days=days)
    return (CashCount.objects.filter(status=CashCount.Status.DIFFERENCE, business_date__gte=since)
            .filter(access.branch_scope_q(actor, "cash_box__branch_path"))
            .select_related("cash_box", "cash_box__branch", "counted_by").order_by("-business_date", "-id"))
