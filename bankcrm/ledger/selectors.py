"""Ledger reads, always scoped to what the actor may see (AccountQuerySet.visible_to)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from bankcrm.core import compiled, crypto
from bankcrm.core.errors import NotFound, ValidationFailed

from . import rules
from .models import Account, JournalEntry, Posting, Product, parse_txn_no


def accounts_visible(actor: Any) -> QuerySet[Account]:
    return Account.objects.visible_to(actor)


def account_get(actor: Any, account_id: Any) -> Account:
    try:
        return accounts_visible(actor).select_related("product", "customer", "branch").get(pk=int(account_id))
    except (Account.DoesNotExist, ValueError, TypeError):
        raise NotFound("account_not_found", _("账户不存在或不在您的权限范围内")) from None


BRIEF_FIELDS = ("id", "kind", "currency", "customer_id", "status", "product__kind")


def account_brief(actor: Any, account_id: Any) -> Account:
    """The few columns a money command needs to build its movement, scoped like every account read (balance and
    status are read again under lock when posting). An unsaved Account carrying ``product_kind``; the scoped SQL is
    compiled once per actor scope (core.compiled)."""
    from bankcrm.customers.models import CustomerQuerySet

    from .models import AccountQuerySet

    try:
        key = int(account_id)
    except (ValueError, TypeError):
        key = None
    row = None if key is None else compiled.values_by_key(
        "ledger.account_brief", compiled.actor_signature(actor, AccountQuerySet.visible_to, CustomerQuerySet.visible_to),
        Account, lambda k: accounts_visible(actor).filter(pk=k).values_list(*BRIEF_FIELDS), key)
    if row is None:
        raise NotFound("account_not_found", _("账户不存在或不在您的权限范围内"))
    acc = Account(id=row[0], kind=row[1], currency=row[2], customer_id=row[3], status=row[4])
    acc.product_kind = row[5]
    return acc


def account_by_number(actor: Any, number: str) -> Account:
    """Exact look-up through the blind index; a mistyped number is caught by its check digit first."""
    digits = "".join((number or "").split())
    if not rules.valid_account_number(digits):
        raise ValidationFailed("invalid_account_number", _("账号格式或校验位不正确"),
                               fields={"account": [_("请核对账号（19 位，含校验位）")]})
    acc = (accounts_visible(actor).select_related("product", "customer")
           .filter(number_bidx=crypto.blind_index(digits, "ledger.account_number")).first())
    if acc is None:
        raise NotFound("account_not_found", _("账户不存在或不在您的权限范围内"))
    return acc


def account_for_transfer_target(value: Any) -> Account:
    """The beneficiary of an internal transfer may be any open customer account of the bank (the teller sees only
    its masked number and holder's surname on the confirmation)."""
    text = "".join(str(value or "").split())
    where, param = None, None
    if len(text) == 19:
        if not rules.valid_account_number(text):
            raise ValidationFailed("invalid_account_number", _("转入账号应为 19 位且校验位正确"),
                                   fields={"credit_account": [_("请核对转入账号")]})
        where, param = "number_bidx = %s", crypto.blind_index(text, "ledger.account_number")
    elif text.isdigit():  # an id from our own code; the web form and the API accept only full numbers
        where, param = "id = %s", int(text)
    acc = None
    if where:  # one plain indexed look-up on the hot path of every transfer (no queryset to build)
        with connection.cursor() as cur:
            cur.execute(f"SELECT id, kind, currency, customer_id, status FROM ledger_account WHERE kind = %s AND {where}",
                        [Account.Kind.CUSTOMER.value, param])
            row = cur.fetchone()
        if row:
            acc = Account(id=row[0], kind=row[1], currency=row[2], customer_id=row[3], status=row[4])
    if acc is None or acc.status == Account.Status.CLOSED:
        raise NotFound("account_not_found", _("转入账户不存在或已销户"), fields={"credit_account": [_("转入账户不存在")]})
    return acc


def customer_accounts(actor: Any, customer_id: int) -> QuerySet[Account]:
    return accounts_visible(actor).filter(customer_id=customer_id).select_related("product").order_by("id")


def entries_visible(actor: Any) -> QuerySet[JournalEntry]:
    visible = accounts_visible(actor)
    return JournalEntry.objects.filter(Q(Exists(visible.filter(pk=OuterRef("debit_account_id"))))
                                       | Q(Exists(visible.filter(pk=OuterRef("credit_account_id")))))


def entry_get(actor: Any, entry_id: Any) -> JournalEntry:
    if isinstance(entry_id, str) and len(entry_id) == 18:
        entry_id = parse_txn_no(entry_id)
    try:
        return (entries_visible(actor).select_related("debit_account", "credit_account", "maker", "checker", "reversal_of")
                .annotate(is_reversed=Exists(JournalEntry.objects.filter(reversal_of=OuterRef("pk"))))
                .get(pk=int(entry_id)))
    except (JournalEntry.DoesNotExist, ValueError, TypeError):
        raise NotFound("entry_not_found", _("交易不存在或不在您的权限范围内")) from None


def statement(actor: Any, account: Account, start: date, end: date) -> dict[str, Any]:
    """Opening balance, the postings of the period in order with their running balance, closing balance, totals."""
    if end < start:
        raise ValidationFailed("invalid_period", _("结束日期不能早于开始日期"), fields={"end": [_("请选择正确的日期")]})
    if (end - start).days > 366 * 2:
        raise ValidationFailed("period_too_long", _("一次最多查询两年"), fields={"start": [_("请缩短查询区间")]})
    before = (Posting.objects.filter(account=account, business_date__lt=start).order_by("-id")
              .values_list("balance_after_fen", flat=True).first())
    rows = list(Posting.objects.filter(account=account, business_date__gte=start, business_date__lte=end)
                .select_related("entry").order_by("id"))
    opening = before if before is not None else 0
    if before is None and rows:
        first = rows[0]
        sign = 1 if first.side == account.normal_side else -1
        opening = first.balance_after_fen - sign * first.amount_fen
    credits = sum(p.amount_fen for p in rows if p.side == Account.Side.CREDIT)
    debits = sum(p.amount_fen for p in rows if p.side == Account.Side.DEBIT)
    closing = rows[-1].balance_after_fen if rows else opening
    return {"account": account, "start": start, "end": end, "opening_fen": opening, "closing_fen": closing,
            "credits_fen": credits, "debits_fen": debits, "rows": rows}


def products_on_shelf() -> QuerySet[Product]:
    return Product.objects.filter(active=True).exclude(kind=Product.Kind.INTERNAL)


def invariant_report() -> dict[str, int]:
    """What the bank invariant checker looks at (R1): debits = credits per currency, every balance equals its
    postings, no balance beyond its overdraft, no entry whose postings do not balance."""
    from django.db import connection

    out: dict[str, int] = {}
    with connection.cursor() as cur:
        cur.execute(
            "SELECT currency, SUM(CASE WHEN normal_side='D' THEN balance_fen ELSE -balance_fen END) "
            "FROM ledger_account GROUP BY currency")
        out["total_drift"] = sum(abs(int(v or 0)) for _c, v in cur.fetchall())
        cur.execute(
            "SELECT COUNT(*) FROM ledger_account a WHERE a.balance_fen <> COALESCE((SELECT SUM(CASE WHEN p.side = "
            "a.normal_side THEN p.amount_fen ELSE -p.amount_fen END) FROM ledger_posting p WHERE p.account_id = a.id), 0)")
        out["balance_mismatches"] = int(cur.fetchone()[0])
        cur.execute("SELECT COUNT(*) FROM ledger_account WHERE allow_negative = %s AND balance_fen < -overdraft_limit_fen",
                    [False])
        out["negative_balances"] = int(cur.fetchone()[0])
        cur.execute(
            "SELECT COUNT(*) FROM (SELECT entry_id FROM ledger_posting GROUP BY entry_id HAVING "
            "SUM(CASE WHEN side='D' THEN amount_fen ELSE -amount_fen END) <> 0 OR COUNT(*) <> 2) x")
        out["unbalanced_entries"] = int(cur.fetchone()[0])
        cur.execute("SELECT COUNT(*) FROM ledger_journalentry e WHERE NOT EXISTS "
                    "(SELECT 1 FROM ledger_posting p WHERE p.entry_id = e.id)")
        out["entries_without_postings"] = int(cur.fetchone()[0])
    return out
