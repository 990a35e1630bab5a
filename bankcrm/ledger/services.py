"""Ledger services: open accounts, post money movements (with limits and maker-checker), reverse, freeze, close,
count cash boxes, change limits, accrue and post interest, mark dormant accounts.

Money commands come in two halves:
- ``<command>_request`` (what a view or API calls): checks the actor and the input, then either posts at once or,
  at or above the approval threshold (and always for reversals, freezes, limit changes and closing an account with
  a balance), submits the exact payload to the approvals inbox;
- ``execute_*`` (what the approval calls, and the request itself below the threshold): re-checks every rule against
  the current state and posts.

Posting is one short transaction of a fixed number of statements (QUALITY.md P1: ≤ 12): lock both accounts in id
order (one SELECT … FOR UPDATE), check status, balance, overdraft and limits, insert the entry and its postings, set
both balances (one UPDATE), publish to the outbox. The audit event is chained after commit by the sealer
(`consumers.py`) from the outbox, in order, so that the chain's head lock never serialises postings (ADR 0009).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from bankcrm.approvals import services as approvals
from bankcrm.core import access, audit, bulkwrite, context, crypto, outbox, params
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.core.money import format_amount
from bankcrm.core.sequences import reserve

from . import rules
from .models import (
    Account,
    AccountHold,
    CashCount,
    DailyDebit,
    FxRate,
    InterestAccrual,
    JournalEntry,
    LimitRule,
    Product,
    ProductRate,
)

A, K = Account, JournalEntry.Kind
TOPIC_POSTED = "ledger.entry_posted"
LOCK_FIELDS = ("id", "kind", "status", "currency", "normal_side", "allow_negative", "balance_fen",
               "overdraft_limit_fen", "customer_id", "branch_path", "internal_code", "teller_id", "held_fen")
PAYLOAD_LABEL = "ledger.approval.counterparty_account"
THRESHOLD = "approvals.money_threshold.cny"
DEBIT_KINDS = (JournalEntry.Kind.CASH_WITHDRAWAL, JournalEntry.Kind.INTERNAL, JournalEntry.Kind.OUTWARD)
CUSTOMER_INITIATED = {K.CASH_DEPOSIT, K.CASH_WITHDRAWAL, K.INTERNAL, K.OUTWARD, K.OPENING, K.CLOSING, K.WEALTH_BUY,
                      K.WEALTH_REDEEM}


def business_date() -> date:
    return timezone.localdate()


# ---- Reference data ------------------------------------------------------------------------------------------------
def fx_rate_micro(currency: str, on: date | None = None) -> int:
    if currency == "CNY":
        return 1_000_000
    row = (FxRate.objects.filter(currency=currency, effective_date__lte=on or business_date())
           .order_by("-effective_date").values_list("rate_micro", flat=True).first())
    if row is None:
        raise RuleViolation("fx_rate_missing", _("尚未维护 %(c)s 汇率，不能办理该币种业务") % {"c": currency})
    return row


def to_cny(amount_fen: int, currency: str) -> int:
    return rules.to_cny_fen(amount_fen, currency, fx_rate_micro(currency))


def fx_rate_set(*, actor: Any, currency: str, rate_micro: int, effective_date: date) -> FxRate:
    access.require(actor, "ledger.manage_products")
    if currency not in ("USD",) or rate_micro <= 0:
        raise ValidationFailed("invalid_fx_rate", _("汇率必须为正数，币种须为外币"), fields={"rate": [_("请输入正确的汇率")]})
    with transaction.atomic():
        row, _created = FxRate.objects.update_or_create(currency=currency, effective_date=effective_date,
                                                        defaults={"rate_micro": rate_micro, "set_by": actor})
        audit.record(actor=actor, verb="ledger.fx_rate_set", target=row,
                     after={"currency": currency, "rate_micro": rate_micro, "effective_date": effective_date})
    return row


def product_rate_set(*, actor: Any, product: Product, rate_bp: int, effective_from: date) -> ProductRate:
    access.require(actor, "ledger.manage_products")
    if not 0 <= rate_bp <= 10_000:
        raise ValidationFailed("invalid_rate", _("年利率须在 0–100% 之间"), fields={"rate_bp": [_("请输入正确的利率")]})
    with transaction.atomic():
        row, _c = ProductRate.objects.update_or_create(product=product, effective_from=effective_from,
                                                       defaults={"rate_bp": rate_bp, "set_by": actor})
        audit.record(actor=actor, verb="ledger.rate_set", target=product,
                     after={"rate_bp": rate_bp, "effective_from": effective_from})
    return row


def rate_in_force(product_id: int, on: date) -> int:
    return (ProductRate.objects.filter(product_id=product_id, effective_from__lte=on)
            .order_by("-effective_from").values_list("rate_bp", flat=True).first()) or 0


_INTERNAL_IDS: dict[tuple[str, str, int | None], int] = {}


def internal_account_id(code: str, currency: str, *, teller_id: int | None = None) -> int:
    """Id of the bank's internal account (clearing, suspense, interest) or a teller's cash box. Ids never change, so
    they are cached per process."""
    key = (code, currency, teller_id)
    if key not in _INTERNAL_IDS:
        qs = Account.objects.filter(kind=A.Kind.INTERNAL, internal_code=code, currency=currency,
                                    status=A.Status.ACTIVE)
        qs = qs.filter(teller_id=teller_id) if teller_id else qs.filter(teller__isnull=True)
        found = qs.order_by("id").values_list("id", flat=True).first()
        if found is None:
            if code == A.Internal.CASH:
                raise RuleViolation("no_cash_box", _("您还没有 %(c)s 现金尾箱，请先领用尾箱") % {"c": currency})
            raise RuleViolation("internal_account_missing", _("内部账户未开立：%(c)s %(cur)s") % {"c": code, "cur": currency})
        _INTERNAL_IDS[key] = found
    return _INTERNAL_IDS[key]


# ---- Opening accounts ----------------------------------------------------------------------------------------------
def time_deposit_for_sale(*, actor: Any, customer: Any, product: Product, payout: Account) -> Account:
    """A time-deposit account opened for a wealth sale (the sale has checked the seller, the customer and the funds):
    at maturity principal and interest go to ``payout``, the account the money came from."""
    if product.kind != Product.Kind.TIME or not product.active:
        raise RuleViolation("product_not_account", _("该产品不能开立定期存款账户"))
    return _create_customer_account(actor=actor, customer=customer, product=product,
                                    maturity_instruction=A.Maturity.PAYOUT, payout=payout)


def _new_numbers(n: int, *, internal: bool = False) -> list[str]:
    return [rules.account_number(v, internal=internal) for v in reserve("ledger.account", n)]


def _open_internal(*, actor: Any, code: str, currency: str, branch: Any, title: str,
                          teller: Any = None) -> Account:
    """The bank's own accounts: cash boxes are assets (debit-normal, never negative); clearing and suspense may run
    either way; interest expense is debit-normal. Callers check the actor's capability."""
    product = Product.objects.get_or_create(code="INTERNAL", defaults={"name": "内部账户", "name_en": "Internal account",
                                                                         "kind": Product.Kind.INTERNAL})[0]
    debit_normal = code in (A.Internal.CASH, A.Internal.INTEREST)
    with transaction.atomic():
        acc = Account(number=_new_numbers(1, internal=True)[0], kind=A.Kind.INTERNAL, internal_code=code,
                      product=product, branch=branch, branch_path=branch.path, teller=teller, currency=currency,
                      normal_side=A.Side.DEBIT if debit_normal else A.Side.CREDIT,
                      allow_negative=code in (A.Internal.CLEARING, A.Internal.SUSPENSE, A.Internal.FX, A.Internal.WEALTH),
                      title=title, opened_at=timezone.now(), opened_by=actor)
        acc.save(force_insert=True)
        audit.record(actor=actor, verb="ledger.account_opened", target=acc,
                     after={"kind": acc.kind, "internal_code": code, "currency": currency, "branch": branch.code})
    return acc


def cash_box_open(*, actor: Any, currency: str = "CNY") -> Account:
    """A teller's cash box (尾箱), one per currency."""
    access.require(actor, "ledger.post")
    existing = Account.objects.filter(kind=A.Kind.INTERNAL, internal_code=A.Internal.CASH, teller=actor,
                                      currency=currency).first()
    if existing:
        return existing
    return _open_internal(actor=actor, code=A.Internal.CASH, currency=currency, branch=actor.branch,
                                 title=_("%(name)s 现金尾箱") % {"name": actor.name}, teller=actor)


def account_open(*, actor: Any, customer_id: int, product_id: int, maturity_instruction: str = "",
                 payout_account_id: int | None = None) -> Account:
    """Open a customer account on a product. Time deposits get their start and maturity dates; the first deposit is a
    separate posting (cash or transfer) so that money only moves through the posting path."""
    from bankcrm.customers import selectors as customer_selectors

    access.require(actor, "ledger.open_account")
    customer = customer_selectors.customer_get(actor, customer_id)
    if customer.status != "active":
        raise RuleViolation("customer_not_active", _("客户状态不正常，不能开户"))
    try:
        product = Product.objects.get(pk=product_id, active=True)
    except (Product.DoesNotExist, ValueError, TypeError):
        raise ValidationFailed("product_not_found", _("产品不存在或已停售"), fields={"product": [_("请选择在售产品")]}) from None
    if product.kind in (Product.Kind.INTERNAL, Product.Kind.WEALTH):
        raise ValidationFailed("product_not_account", _("该产品不能开立存款账户"), fields={"product": [_("请选择存款产品")]})
    payout = None
    if product.kind == Product.Kind.TIME:
        if maturity_instruction not in A.Maturity.values:
            raise ValidationFailed("maturity_instruction_required", _("定期存款须选择到期处理方式"),
                                   fields={"maturity_instruction": [_("请选择到期处理方式")]})
        if payout_account_id:
            payout = Account.objects.filter(pk=payout_account_id, customer=customer, kind=A.Kind.CUSTOMER,
                                            product__kind=Product.Kind.DEMAND, currency=product.currency).first()
            if payout is None:
                raise ValidationFailed("payout_account_invalid", _("到期转入账户须为该客户同币种的活期账户"),
                                       fields={"payout_account": [_("请选择该客户的活期账户")]})
        elif maturity_instruction != A.Maturity.ROLLOVER:
            raise ValidationFailed("payout_account_required", _("到期转出须指定该客户的活期账户"),
                                   fields={"payout_account": [_("请选择到期转入账户")]})
    return _create_customer_account(actor=actor, customer=customer, product=product,
                                    maturity_instruction=maturity_instruction, payout=payout)


def _create_customer_account(*, actor: Any, customer: Any, product: Product, maturity_instruction: str = "",
                             payout: Account | None = None) -> Account:
    """The account row and its audit event, every check done by the caller (`account_open`, or the wealth sale that
    places a time deposit)."""
    today = business_date()
    with transaction.atomic():
        acc = Account(number=_new_numbers(1)[0], kind=A.Kind.CUSTOMER, customer=customer, product=product,
                      branch=customer.branch, branch_path=customer.branch.path, currency=product.currency,
                      normal_side=A.Side.CREDIT, overdraft_limit_fen=product.overdraft_limit_fen,
                      title=customer.name, opened_at=timezone.now(), opened_by=actor,
                      accrued_through=today - timedelta(days=1))
        if product.kind == Product.Kind.TIME:
            acc.start_date = today
            acc.maturity_date = rules.add_months(today, product.term_months)
            acc.maturity_instruction = maturity_instruction
            acc.payout_account = payout
        acc.save(force_insert=True)
        audit.record(actor=actor, verb="ledger.account_opened", target=acc, after={
            "customer": customer.customer_no, "product": product.code, "currency": acc.currency,
            "maturity_date": acc.maturity_date, "maturity_instruction": maturity_instruction})
    return acc


# ---- Posting -------------------------------------------------------------------------------------------------------
@dataclass
class Movement:
    """What a money command asks for, in plain data (it is also the approval payload)."""

    kind: str
    amount_fen: int
    currency: str
    debit_id: int
    credit_id: int
    channel: str = "counter"
    memo: str = ""
    customer_id: int | None = None
    counterparty_bank: str = ""
    counterparty_name: str = ""
    counterparty_account: str = ""
    cross_border: bool = False
    counterparty_country: str = ""
    reversal_of_id: int | None = None

    def payload(self) -> dict[str, Any]:
        """The approval payload: a counterparty's account number is stored encrypted (it is personal data)."""
        data = dict(self.__dict__)
        if data["counterparty_account"]:
            data["counterparty_account"] = crypto.encrypt(data["counterparty_account"], PAYLOAD_LABEL)
        return data

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Movement:
        data = dict(payload)
        if data.get("counterparty_account"):
            data["counterparty_account"] = crypto.decrypt(data["counterparty_account"], PAYLOAD_LABEL)
        return cls(**data)


def _lock(ids: list[int]) -> dict[int, Account]:
    qs = Account.objects.only(*LOCK_FIELDS).filter(id__in=sorted(set(ids))).order_by("id")
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    return {a.id: a for a in qs}


def lock_for_post_sql(n: int, vendor: str) -> str:
    """The posting lock statement for ``n`` account ids (params: channel, channel, threshold code, now, *ids)."""
    pg = vendor == "postgresql"
    as_int = "CAST(v.value #>> '{}' AS BIGINT)" if pg else "CAST(v.value AS INTEGER)"
    rule = ("(SELECT r.{col} FROM ledger_limitrule r WHERE r.channel = %s "
            "AND r.customer_kind = COALESCE(c.kind, 'person'))")
    return (
        "SELECT a.id, a.kind, a.status, a.currency, a.normal_side, a.allow_negative, a.balance_fen, "
        "a.overdraft_limit_fen, a.customer_id, a.branch_path, a.internal_code, a.teller_id, a.held_fen, "
        f"{rule.format(col='per_txn_fen')} AS limit_txn, {rule.format(col='per_day_fen')} AS limit_day, "
        f"(SELECT {as_int} FROM core_parameterversion v WHERE v.code = %s AND v.effective_from <= %s "
        "ORDER BY v.effective_from DESC, v.id DESC LIMIT 1) AS threshold "
        "FROM ledger_account a LEFT JOIN customers_customer c ON c.id = a.customer_id "
        f"WHERE a.id IN ({', '.join('%s' for _ in range(n))}) ORDER BY a.id" + (" FOR UPDATE OF a" if pg else "")
    )


def _lock_for_post(ids: list[int], channel: str) -> dict[int, Account]:
    """Lock the accounts in id order and read, in the same statement, the limit rule for the holder's customer type
    and the approval threshold in force (one statement instead of three on the hot path; QUALITY.md P1)."""
    unique = sorted(set(ids))
    sql = lock_for_post_sql(len(unique), connection.vendor)
    with connection.cursor() as cur:
        cur.execute(sql, [channel, channel, THRESHOLD, bulkwrite.db_value(timezone.now()), *unique])
        return {row[0]: LockedAccount(*row) for row in cur.fetchall()}


class LockedAccount:
    """The locked row as `post` reads it (plain attributes, no model instance on the hot path)."""

    COLUMNS = ("id", "kind", "status", "currency", "normal_side", "allow_negative", "balance_fen",
               "overdraft_limit_fen", "customer_id", "branch_path", "internal_code", "teller_id", "held_fen",
               "limit_txn", "limit_day", "threshold")  # the order of lock_for_post_sql's select list
    __slots__ = ("allow_negative", "balance_fen", "branch_path", "currency", "customer_id", "held_fen", "id",
                 "internal_code", "kind",
                 "limit_day", "limit_txn", "normal_side", "overdraft_limit_fen", "status", "teller_id", "threshold")

    def __init__(self, *values: Any) -> None:
        for name, value in zip(self.COLUMNS, values, strict=True):
            setattr(self, name, value)
        self.allow_negative = bool(self.allow_negative)  # SQLite returns 0/1

    @property
    def pk(self) -> int:
        return self.id


def _delta(acc: Account, side: str, amount: int) -> int:
    return amount if side == acc.normal_side else -amount


def _check_can_move(acc: Account, side: str, kind: str) -> None:
    debit_of_holder = _delta(acc, side, 1) < 0  # money leaves the holder (or the cash box)
    if acc.status == A.Status.CLOSED:
        raise RuleViolation("account_closed", _("账户已销户"))
    if kind in CUSTOMER_INITIATED and acc.kind == A.Kind.CUSTOMER and acc.status == A.Status.DORMANT:
        raise RuleViolation("account_dormant", _("账户已转入休眠，请客户持有效证件到柜面激活后再办理"))
    if acc.status == A.Status.FROZEN and debit_of_holder and kind != K.REVERSAL:
        raise RuleViolation("account_frozen", _("账户已冻结，只能存入不能支取"))


def balance_floor(acc: Any, delta: int, current: int | None = None) -> int | None:
    """The lowest balance this leg may leave (None: internal accounts that may run either way). Money held on the
    account (`AccountHold`) cannot be paid out, so a leg that lowers the balance must leave the held amount."""
    if acc.allow_negative:
        return None
    return -acc.overdraft_limit_fen + (acc.held_fen if delta < 0 else 0)


def insufficient(acc: Any, current: int) -> RuleViolation:
    if acc.kind == A.Kind.INTERNAL and acc.internal_code == A.Internal.CASH:
        return RuleViolation("cash_box_insufficient", _("尾箱现金不足"))
    available = current + acc.overdraft_limit_fen - acc.held_fen
    if acc.held_fen:
        return RuleViolation("insufficient_funds", _("可用余额不足（可用 %(a)s 元，另有 %(h)s 元已冻结）") % {
            "a": format_amount(available, acc.currency), "h": format_amount(acc.held_fen, acc.currency)},
            available_fen=available, held_fen=acc.held_fen)
    return RuleViolation("insufficient_funds", _("可用余额不足（可用 %(a)s 元）") % {
        "a": format_amount(available, acc.currency)}, available_fen=available)


def _balance_after(acc: Account, side: str, amount: int) -> int:
    """The balance after this leg; refuses to go below the overdraft limit or into held money (internal clearing
    may run either way)."""
    delta = _delta(acc, side, amount)
    bal = acc.balance_fen + delta
    floor = balance_floor(acc, delta)
    if floor is not None and bal < floor:
        raise insufficient(acc, acc.balance_fen)
    return bal


def _daily_limit(*, debit: Any, mv: Movement, today: date, cny: int) -> None:
    """The per-day limit on customer debits, by channel and customer type (CNY equivalent): the day's running total
    is one UPSERT. The rule was read with the lock (`_lock_for_post`); the per-transaction limit is checked before."""
    per_day = debit.limit_day
    table = DailyDebit._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (account_id, business_date, channel, total_fen) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (account_id, business_date, channel) DO UPDATE SET total_fen = "
            f"{table}.total_fen + excluded.total_fen RETURNING total_fen",
            [debit.id, today, mv.channel, cny])
        total = cur.fetchone()[0]
    if total > per_day:
        raise RuleViolation("limit_per_day", _("超过日累计限额（%(l)s 元），今日已用 %(u)s 元") % {
            "l": format_amount(per_day), "u": format_amount(total - cny)}, limit_fen=per_day)


_CUSTOMER_KIND: dict[int, str] = {}


def _customer_kind(customer_id: int | None) -> str:
    if customer_id is None:
        return "person"
    if customer_id not in _CUSTOMER_KIND:  # a customer's kind never changes
        from bankcrm.customers.models import Customer

        kind = Customer.objects.filter(pk=customer_id).values_list("kind", flat=True).first() or "person"
        _CUSTOMER_KIND[customer_id] = "company" if kind == "company" else "person"
    return _CUSTOMER_KIND[customer_id]


def post(mv: Movement, *, maker: Any, checker: Any = None, approval_id: int | None = None,
         today: date | None = None) -> JournalEntry:
    """Post one movement: the fixed statement path described in the module docstring. Runs in the caller's
    transaction; raises RuleViolation (and writes nothing) if any rule fails against the current state."""
    entry = _post(mv, maker=maker, checker=checker, approval_id=approval_id, today=today)
    assert entry is not None
    return entry


def _post(mv: Movement, *, maker: Any, checker: Any = None, approval_id: int | None = None,
          today: date | None = None, stop_at_threshold: bool = False) -> JournalEntry | None:
    """`post`, or — with ``stop_at_threshold`` — None (nothing written) when every rule holds but the amount needs a
    second person: the caller then submits it for approval in the same transaction."""
    today = today or business_date()
    if mv.amount_fen <= 0:
        raise ValidationFailed("amount_not_positive", _("金额必须大于零"))
    if mv.debit_id == mv.credit_id:
        raise ValidationFailed("same_account", _("转出和转入账户不能相同"))
    # No savepoint (two statements fewer per posting): a failure here must roll back the caller's transaction, and
    # every caller lets it (an approval runs the action inside its own savepoint and records the failure).
    with transaction.atomic(savepoint=False):
        accounts = _lock_for_post([mv.debit_id, mv.credit_id], mv.channel)
        debit, credit = accounts.get(mv.debit_id), accounts.get(mv.credit_id)
        if debit is None or credit is None:
            raise NotFound("account_not_found", _("账户不存在"))
        for acc in (debit, credit):
            if acc.currency != mv.currency:
                raise RuleViolation("currency_mismatch", _("账户币种与交易币种不一致"))
        _check_can_move(debit, A.Side.DEBIT, mv.kind)
        _check_can_move(credit, A.Side.CREDIT, mv.kind)
        new = {acc.id: _balance_after(acc, side, mv.amount_fen)
               for acc, side in ((debit, A.Side.DEBIT), (credit, A.Side.CREDIT))}
        cny = mv.amount_fen if mv.currency == "CNY" else to_cny(mv.amount_fen, mv.currency)
        limited = debit.kind == A.Kind.CUSTOMER and mv.kind in DEBIT_KINDS and debit.limit_txn is not None
        if limited and cny > debit.limit_txn:
            raise RuleViolation("limit_per_transaction", _("超过单笔限额（%(l)s 元）") % {
                "l": format_amount(debit.limit_txn)}, limit_fen=debit.limit_txn)
        if stop_at_threshold:
            threshold = debit.threshold if debit.threshold is not None else params.definition(THRESHOLD).default
            if cny >= threshold:
                return None
        if limited:
            _daily_limit(debit=debit, mv=mv, today=today, cny=cny)
        now = timezone.now()
        customer_id = mv.customer_id or debit.customer_id or credit.customer_id
        branch_path = (debit if debit.kind == A.Kind.CUSTOMER else credit).branch_path
        entry = JournalEntry(
            kind=mv.kind, channel=mv.channel, currency=mv.currency, amount_fen=mv.amount_fen, debit_account_id=debit.id,
            credit_account_id=credit.id, customer_id=customer_id, branch_path=branch_path,
            reversal_of_id=mv.reversal_of_id, maker=maker if getattr(maker, "pk", None) else None,
            checker=checker, approval_id=approval_id, counterparty_bank=mv.counterparty_bank,
            counterparty_name=mv.counterparty_name, counterparty_account=mv.counterparty_account,
            cross_border=mv.cross_border, counterparty_country=mv.counterparty_country, memo=mv.memo[:100],
            business_date=today, posted_at=now)
        _insert_entry(entry, reversal=bool(mv.reversal_of_id))
        v = bulkwrite.db_value
        with connection.cursor() as cur:  # both legs in one plain INSERT (hot path)
            cur.execute(
                "INSERT INTO ledger_posting (entry_id, account_id, side, amount_fen, balance_after_fen, business_date, "
                "posted_at) VALUES (%s, %s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s, %s)",
                [entry.pk, debit.id, A.Side.DEBIT.value, mv.amount_fen, new[debit.id], v(today), v(now),
                 entry.pk, credit.id, A.Side.CREDIT.value, mv.amount_fen, new[credit.id], v(today), v(now)])
        _set_balances(new, touch=[a.id for a in (debit, credit) if a.kind == A.Kind.CUSTOMER]
                      if mv.kind in CUSTOMER_INITIATED else [], now=now)
        ctx = context.current()
        outbox.publish(TOPIC_POSTED, {
            "entry_id": entry.pk, "kind": mv.kind, "amount_fen": mv.amount_fen, "currency": mv.currency,
            "cny_fen": cny, "debit_id": debit.id, "credit_id": credit.id, "customer_id": customer_id,
            "maker_id": entry.maker_id, "checker_id": getattr(checker, "pk", None), "approval_id": approval_id,
            "channel": mv.channel, "cross_border": mv.cross_border, "reversal_of_id": mv.reversal_of_id,
            "business_date": today.isoformat(), "branch_path": branch_path,
            "request_id": ctx.request_id, "ip": ctx.ip or "", "origin": ctx.channel,
        }, at=now)
    return entry


_ENTRY_FIELDS: list[Any] = []


def _insert_entry(entry: JournalEntry, *, reversal: bool) -> None:
    """INSERT … RETURNING id of the entry, each value prepared by its own field (the counterparty's account number
    is encrypted by its field), without the ORM's per-save machinery (hot path)."""
    if not _ENTRY_FIELDS:
        _ENTRY_FIELDS.extend(f for f in JournalEntry._meta.concrete_fields if not f.primary_key)
    cols = ", ".join(f.column for f in _ENTRY_FIELDS)
    values = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in _ENTRY_FIELDS]
    try:
        with connection.cursor() as cur:
            cur.execute(f"INSERT INTO ledger_journalentry ({cols}) VALUES ({', '.join('%s' for _ in values)}) "
                        "RETURNING id", values)
            entry.pk = cur.fetchone()[0]
    except IntegrityError:
        if reversal:  # reversal_of is unique: someone reversed it first
            raise RuleViolation("already_reversed", _("该交易已冲正，不能重复冲正")) from None
        raise
    entry._state.adding = False


def _set_balances(new: dict[int, int], *, touch: list[int], now) -> None:
    """Both balances in one UPDATE (rows are already locked); customer-initiated movements also mark activity."""
    ids = list(new)
    case = " ".join("WHEN %s THEN %s" for _ in ids)
    params: list[Any] = [v for i in ids for v in (i, new[i])]
    sql = f"UPDATE ledger_account SET balance_fen = CASE id {case} END"
    if touch:
        sql += f", last_activity_at = CASE WHEN id IN ({','.join('%s' for _ in touch)}) THEN %s ELSE last_activity_at END"
        params += [*touch, now]
    sql += f" WHERE id IN ({','.join('%s' for _ in ids)})"
    with connection.cursor() as cur:
        cur.execute(sql, params + ids)


# ---- Holds ---------------------------------------------------------------------------------------------------------
# Money reserved on a customer account for a pending purpose (a wealth subscription in its cooling-off period). Like
# `post`, these run in the caller's transaction and do not check the actor's capability: the calling service does.
def hold_place(*, actor: Any, account_id: int, amount_fen: int, currency: str, purpose: str, ref: str) -> AccountHold:
    """Hold ``amount_fen`` on a customer account: the account must be able to pay it now (active, not frozen, same
    currency, available balance ≥ amount). Idempotent per ``ref``: a retried request returns the same hold."""
    if amount_fen <= 0:
        raise ValidationFailed("amount_not_positive", _("金额必须大于零"))
    existing = AccountHold.objects.filter(ref=ref).first()
    if existing is not None:
        return existing
    acc = Account.objects.select_for_update().filter(pk=account_id).first()
    if acc is None or acc.kind != A.Kind.CUSTOMER:
        raise NotFound("account_not_found", _("账户不存在"))
    if acc.currency != currency:
        raise RuleViolation("currency_mismatch", _("账户币种与交易币种不一致"))
    _check_can_move(acc, A.Side.DEBIT, K.WEALTH_BUY)
    floor = balance_floor(acc, -amount_fen)
    if floor is not None and acc.balance_fen - amount_fen < floor:
        raise insufficient(acc, acc.balance_fen)
    now = timezone.now()
    hold = AccountHold.objects.create(account=acc, amount_fen=amount_fen, currency=currency, purpose=purpose[:60],
                                      ref=ref, placed_by=actor if getattr(actor, "pk", None) else None, placed_at=now)
    Account.objects.filter(pk=acc.pk).update(held_fen=F("held_fen") + amount_fen)
    audit.record(actor=actor, verb="ledger.hold_placed", target=acc,
                 after={"hold": hold.pk, "ref": ref, "amount_fen": amount_fen, "purpose": purpose})
    return hold


def _locked_hold(ref: str) -> AccountHold:
    hold = AccountHold.objects.select_for_update().filter(ref=ref).first()
    if hold is None:
        raise NotFound("hold_not_found", _("资金冻结记录不存在"))
    return hold


def hold_release(*, actor: Any, ref: str, reason: str) -> AccountHold:
    """End an active hold: the money is free again. Refused (``hold_not_active``) when it already ended."""
    hold = _locked_hold(ref)
    if hold.status != AccountHold.Status.ACTIVE:
        raise RuleViolation("hold_not_active", _("该资金冻结已解除或已扣划"))
    _lock([hold.account_id])
    Account.objects.filter(pk=hold.account_id).update(held_fen=F("held_fen") - hold.amount_fen)
    hold.status, hold.ended_at, hold.end_reason = AccountHold.Status.RELEASED, timezone.now(), reason[:200]
    hold.save(update_fields=["status", "ended_at", "end_reason"])
    audit.record(actor=actor, verb="ledger.hold_released", target=hold.account,
                 after={"hold": hold.pk, "ref": ref, "amount_fen": hold.amount_fen}, reason=reason)
    return hold


def hold_capture(*, actor: Any, ref: str, credit_id: int, kind: str, memo: str = "",
                 today: date | None = None) -> JournalEntry:
    """Release an active hold and pay exactly its amount from the account to ``credit_id`` by one posting, in the
    caller's transaction (both accounts locked in id order first, the order every posting takes)."""
    hold = _locked_hold(ref)
    if hold.status != AccountHold.Status.ACTIVE:
        raise RuleViolation("hold_not_active", _("该资金冻结已解除或已扣划"))
    _lock([hold.account_id, credit_id])
    Account.objects.filter(pk=hold.account_id).update(held_fen=F("held_fen") - hold.amount_fen)
    entry = post(Movement(kind=kind, amount_fen=hold.amount_fen, currency=hold.currency, debit_id=hold.account_id,
                          credit_id=credit_id, memo=memo), maker=actor, today=today)
    hold.status, hold.ended_at, hold.entry = AccountHold.Status.CAPTURED, timezone.now(), entry
    hold.end_reason = memo[:200]
    hold.save(update_fields=["status", "ended_at", "entry", "end_reason"])
    audit.record(actor=actor, verb="ledger.hold_captured", target=hold.account,
                 after={"hold": hold.pk, "ref": ref, "amount_fen": hold.amount_fen, "entry": entry.txn_no})
    return entry


# ---- Money commands (request half) ---------------------------------------------------------------------------------
def _customer_account(actor: Any, account_id: Any, *, for_what: str, source: Account | None = None) -> Account:
    """The customer account a command starts from, read lean and scoped (or ``source``, already read so by the
    caller for the same request)."""
    from . import selectors

    acc = source if source is not None and source.pk == _as_id(account_id) else selectors.account_brief(actor, account_id)
    if acc.kind != A.Kind.CUSTOMER:
        raise ValidationFailed("not_customer_account", _("请选择客户账户"), fields={for_what: [_("请选择客户账户")]})
    if getattr(acc, "product_kind", None) == Product.Kind.TIME and for_what == "debit_account":
        raise RuleViolation("time_deposit_no_withdrawal", _("定期存款未到期，不能直接支取；请办理提前支取或到期处理"))
    return acc


def _as_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def needs_approval(amount_fen: int, currency: str) -> bool:
    return to_cny(amount_fen, currency) >= params.value("approvals.money_threshold.cny")


def movement_request(*, actor: Any, mv: Movement, reason: str = "") -> dict[str, Any]:
    """Post now, or submit for a second person at/above the threshold. Returns the answer the caller shows (and the
    idempotency record stores)."""
    access.require(actor, "ledger.post")
    entry = _post(mv, maker=actor, stop_at_threshold=True)  # every rule checked under lock, then post or stop
    if entry is None:
        pa = approvals.approval_submit(actor=actor, action_code="ledger.post", payload=mv.payload(),
                                       summary=describe_movement(mv), reason=reason, dedupe=False)
        return {"status": "pending_approval", "approval_id": pa.pk, "expires_at": pa.expires_at.isoformat(),
                "amount_fen": mv.amount_fen, "currency": mv.currency}
    return entry_answer(entry)


class _DryRun(Exception):
    pass


def precheck(mv: Movement) -> None:
    """A dry run of the rules `post` applies (status, balance, overdraft, limits), rolled back whatever happens, so a
    page can warn before the teller confirms. Raises the RuleViolation the posting would raise."""
    try:
        with transaction.atomic():
            _post(mv, maker=None, stop_at_threshold=True)
            raise _DryRun
    except _DryRun:
        pass


def entry_answer(entry: JournalEntry) -> dict[str, Any]:
    return {"status": "posted", "entry_id": entry.pk, "txn_no": entry.txn_no, "kind": entry.kind,
            "amount_fen": entry.amount_fen, "currency": entry.currency,
            "business_date": entry.business_date.isoformat()}


def describe_movement(mv: Movement) -> str:
    label = dict(K.choices).get(mv.kind, mv.kind)
    return f"{label} {mv.currency} {format_amount(mv.amount_fen, mv.currency)}"


def cash_deposit_movement(*, actor: Any, account_id: Any, amount_fen: int, memo: str = "",
                          channel: str = "counter", source: Account | None = None) -> Movement:
    acc = _customer_account(actor, account_id, for_what="credit_account", source=source)
    box = internal_account_id(A.Internal.CASH, acc.currency, teller_id=actor.pk)
    return Movement(kind=K.CASH_DEPOSIT, amount_fen=amount_fen, currency=acc.currency, debit_id=box, credit_id=acc.pk,
                    channel=channel, memo=memo, customer_id=acc.customer_id)


def cash_withdrawal_movement(*, actor: Any, account_id: Any, amount_fen: int, memo: str = "",
                             channel: str = "counter", source: Account | None = None) -> Movement:
    acc = _customer_account(actor, account_id, for_what="debit_account", source=source)
    box = internal_account_id(A.Internal.CASH, acc.currency, teller_id=actor.pk)
    return Movement(kind=K.CASH_WITHDRAWAL, amount_fen=amount_fen, currency=acc.currency, debit_id=acc.pk,
                    credit_id=box, channel=channel, memo=memo, customer_id=acc.customer_id)


def internal_transfer_movement(*, actor: Any, from_account_id: Any, to_account_id: Any, amount_fen: int,
                               memo: str = "", channel: str = "counter", source: Account | None = None) -> Movement:
    src = _customer_account(actor, from_account_id, for_what="debit_account", source=source)
    from . import selectors

    dst = selectors.account_for_transfer_target(to_account_id)
    if dst.currency != src.currency:
        raise ValidationFailed("currency_mismatch", _("转出和转入账户币种不一致"),
                               fields={"credit_account": [_("请选择同币种账户")]})
    return Movement(kind=K.INTERNAL, amount_fen=amount_fen, currency=src.currency, debit_id=src.pk,
                    credit_id=dst.pk, channel=channel, memo=memo, customer_id=src.customer_id)


def outward_transfer_movement(*, actor: Any, from_account_id: Any, amount_fen: int, bank: str, name: str,
                              account_no: str, cross_border: bool = False, country: str = "", memo: str = "",
                              channel: str = "counter", source: Account | None = None) -> Movement:
    src = _customer_account(actor, from_account_id, for_what="debit_account", source=source)
    errors: dict[str, list[str]] = {}
    if not bank.strip():
        errors["counterparty_bank"] = [_("请填写收款银行")]
    if not name.strip():
        errors["counterparty_name"] = [_("请填写收款人户名")]
    acct = "".join(account_no.split())
    if not (6 <= len(acct) <= 34 and acct.isalnum()):
        errors["counterparty_account"] = [_("收款账号应为 6–34 位字母或数字")]
    if cross_border and not (len(country) == 2 and country.isalpha() and country.upper() != "CN"):
        errors["counterparty_country"] = [_("跨境汇款须填写收款国家/地区代码（两位字母，非 CN）")]
    if errors:
        raise ValidationFailed("invalid_counterparty", _("收款信息不完整"), fields=errors)
    clearing = internal_account_id(A.Internal.CLEARING, src.currency)
    return Movement(kind=K.OUTWARD, amount_fen=amount_fen, currency=src.currency, debit_id=src.pk, credit_id=clearing,
                    channel=channel, memo=memo, customer_id=src.customer_id, counterparty_bank=bank.strip()[:100],
                    counterparty_name=name.strip()[:100], counterparty_account=acct, cross_border=cross_border,
                    counterparty_country=country.upper() if cross_border else "")


def reversal_request(*, actor: Any, entry_id: Any, reason: str) -> dict[str, Any]:
    """A correction is a reversal of the whole entry, always approved by a second person."""
    from . import selectors

    access.require(actor, "ledger.reverse")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("冲正须填写原因"), fields={"reason": [_("请填写冲正原因")]})
    entry = selectors.entry_get(actor, entry_id)
    if entry.kind == K.REVERSAL:
        raise RuleViolation("cannot_reverse_reversal", _("冲正交易不能再冲正"))
    if JournalEntry.objects.filter(reversal_of=entry).exists():
        raise RuleViolation("already_reversed", _("该交易已冲正，不能重复冲正"))
    mv = Movement(kind=K.REVERSAL, amount_fen=entry.amount_fen, currency=entry.currency,
                  debit_id=entry.credit_account_id, credit_id=entry.debit_account_id, memo=f"冲正 {entry.txn_no}",
                  customer_id=entry.customer_id, reversal_of_id=entry.pk)
    pa = approvals.approval_submit(actor=actor, action_code="ledger.post", payload=mv.payload(),
                                   summary=f"{describe_movement(mv)} ← {entry.txn_no}", reason=reason, target=entry)
    return {"status": "pending_approval", "approval_id": pa.pk, "expires_at": pa.expires_at.isoformat(),
            "amount_fen": mv.amount_fen, "currency": mv.currency}


def execute_movement(*, payload: dict[str, Any], maker: Any, checker: Any, pending_id: int | None = None) -> dict[str, Any]:
    """The approval's half: the reviewed payload, every rule checked again now; the maker must still hold the
    capability (a maker who lost the role since submitting cannot have money moved in their name)."""
    access.require(maker, "ledger.reverse" if payload.get("kind") == K.REVERSAL else "ledger.post")
    access.require(checker, "ledger.approve")
    mv = Movement.from_payload(payload)
    entry = post(mv, maker=maker, checker=checker, approval_id=pending_id)
    return entry_answer(entry)


# ---- Account state changes (always maker-checker except reactivation) ---------------------------------------------
def account_status_request(*, actor: Any, account_id: Any, action: str, reason: str) -> dict[str, Any]:
    """Freeze or unfreeze: submitted for approval with the reason."""
    from . import selectors

    access.require(actor, "ledger.freeze")
    if action not in ("freeze", "unfreeze"):
        raise ValidationFailed("invalid_action", _("不支持的操作"))
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("请填写原因"), fields={"reason": [_("请填写原因")]})
    acc = selectors.account_get(actor, account_id)
    expected = A.Status.ACTIVE if action == "freeze" else A.Status.FROZEN
    if acc.status != expected:
        raise RuleViolation("account_state", _("账户当前状态为“%(s)s”，不能%(a)s") % {
            "s": acc.get_status_display(), "a": pgettext("动作", "冻结") if action == "freeze" else pgettext("动作", "解冻")})
    pa = approvals.approval_submit(actor=actor, action_code=f"ledger.{action}", target=acc,
                                   payload={"account_id": acc.pk, "reason": reason.strip()[:200]},
                                   summary=f"{pgettext('动作', '冻结') if action == 'freeze' else pgettext('动作', '解冻')} {acc.masked_number}",
                                   reason=reason)
    return {"status": "pending_approval", "approval_id": pa.pk}


def _locked_account(account_id: int) -> Account:
    qs = Account.objects.filter(pk=account_id)
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    acc = qs.first()
    if acc is None:
        raise NotFound("account_not_found", _("账户不存在"))
    return acc


def execute_status(*, payload: dict[str, Any], maker: Any, checker: Any, action: str) -> dict[str, Any]:
    access.require(maker, "ledger.freeze")
    access.require(checker, "ledger.approve")
    acc = _locked_account(payload["account_id"])
    expected, target = ((A.Status.ACTIVE, A.Status.FROZEN) if action == "freeze" else (A.Status.FROZEN, A.Status.ACTIVE))
    if acc.status != expected:
        raise RuleViolation("account_state", _("账户状态已变化（当前：%(s)s）") % {"s": acc.get_status_display()})
    Account.objects.filter(pk=acc.pk).update(status=target, status_reason=payload["reason"] if action == "freeze" else "")
    audit.record(actor=checker, verb="ledger.account_frozen" if action == "freeze" else "ledger.account_unfrozen",
                 target=acc, before={"status": expected}, after={"status": target, "maker": maker.staff_no},
                 reason=payload["reason"])
    return {"status": target, "account_id": acc.pk}


def account_reactivate(*, actor: Any, account_id: Any, reason: str) -> Account:
    """A dormant account becomes active again when the customer comes to the counter with valid ID."""
    from . import selectors

    access.require(actor, "ledger.post")
    if not (reason or "").strip():
        raise ValidationFailed("reason_required", _("请填写激活依据（如核验证件）"), fields={"reason": [_("请填写原因")]})
    acc = selectors.account_get(actor, account_id)
    with transaction.atomic():
        acc = _locked_account(acc.pk)
        if acc.status != A.Status.DORMANT:
            raise RuleViolation("account_state", _("账户不是休眠状态"))
        now = timezone.now()
        Account.objects.filter(pk=acc.pk).update(status=A.Status.ACTIVE, last_activity_at=now, status_reason="")
        audit.record(actor=actor, verb="ledger.account_unfrozen", target=acc, before={"status": A.Status.DORMANT},
                     after={"status": A.Status.ACTIVE}, reason=reason)
    acc.status = A.Status.ACTIVE
    return acc


def account_close_request(*, actor: Any, account_id: Any, payout: str, to_account_id: Any = None,
                          reason: str = "") -> dict[str, Any]:
    """Close an account: with a zero balance at once; with a balance (paid out in cash or to another account of the
    customer) only after a second person approves."""
    from . import selectors

    access.require(actor, "ledger.close_account")
    acc = selectors.account_get(actor, account_id)
    if acc.kind != A.Kind.CUSTOMER or acc.status == A.Status.CLOSED:
        raise RuleViolation("account_state", _("该账户不能销户"))
    if acc.status == A.Status.FROZEN:
        raise RuleViolation("account_frozen", _("账户已冻结，须先解冻才能销户"))
    if acc.balance_fen < 0:
        raise RuleViolation("account_overdrawn", _("账户透支未还清，不能销户"))
    if acc.held_fen:
        raise RuleViolation("account_has_holds", _("账户有 %(h)s 元冻结（预留）资金（如冷静期内的理财认购），须先解除后才能销户") % {
            "h": format_amount(acc.held_fen, acc.currency)})
    payload: dict[str, Any] = {"account_id": acc.pk, "payout": payout, "to_account_id": None,
                               "cash_box_id": None, "balance_fen": acc.balance_fen, "reason": (reason or "")[:200]}
    if acc.balance_fen > 0:
        if payout == "cash":
            payload["cash_box_id"] = internal_account_id(A.Internal.CASH, acc.currency, teller_id=actor.pk)
        elif payout == "transfer":
            dst = selectors.account_get(actor, to_account_id)
            if dst.customer_id != acc.customer_id or dst.currency != acc.currency or dst.pk == acc.pk:
                raise ValidationFailed("payout_account_invalid", _("余额须转入该客户本人的同币种账户"),
                                       fields={"to_account": [_("请选择该客户的其他同币种账户")]})
            payload["to_account_id"] = dst.pk
        else:
            raise ValidationFailed("payout_required", _("请选择余额支付方式"), fields={"payout": [_("现金或转账")]})
        pa = approvals.approval_submit(actor=actor, action_code="ledger.close", payload=payload, target=acc,
                                       summary=f"{_('销户')} {acc.masked_number} {format_amount(acc.balance_fen)}",
                                       reason=reason)
        return {"status": "pending_approval", "approval_id": pa.pk}
    return execute_close(payload=payload, maker=actor, checker=None)


def execute_close(*, payload: dict[str, Any], maker: Any, checker: Any) -> dict[str, Any]:
    access.require(maker, "ledger.close_account")  # a maker who lost the role since submitting closes nothing
    if checker is not None:
        access.require(checker, "ledger.approve")
    elif payload["balance_fen"]:  # only a zero balance closes without a second person
        raise RuleViolation("approval_required", _("账户有余额，销户须经复核"))
    acc = _locked_account(payload["account_id"])
    if acc.status == A.Status.CLOSED:
        raise RuleViolation("account_state", _("账户已销户"))
    if acc.status == A.Status.FROZEN:  # a frozen account (e.g. a judicial freeze) is unfrozen first, by its own approval
        raise RuleViolation("account_frozen", _("账户已冻结，须先解冻才能销户"))
    if acc.balance_fen != payload["balance_fen"]:
        raise RuleViolation("balance_changed", _("提交后账户余额已变化，请重新发起销户"))
    if acc.balance_fen > 0:
        dest = payload["cash_box_id"] or payload["to_account_id"]
        post(Movement(kind=K.CLOSING, amount_fen=acc.balance_fen, currency=acc.currency, debit_id=acc.pk,
                      credit_id=dest, memo="销户结清", customer_id=acc.customer_id), maker=maker, checker=checker)
    Account.objects.filter(pk=acc.pk).update(status=A.Status.CLOSED, closed_at=timezone.now(),
                                             status_reason=payload.get("reason", ""))
    audit.record(actor=checker or maker, verb="ledger.account_closed", target=acc,
                 before={"status": acc.status, "balance_fen": payload["balance_fen"]}, after={"status": A.Status.CLOSED},
                 reason=payload.get("reason", ""))
    return {"status": "closed", "account_id": acc.pk}


# ---- Limits --------------------------------------------------------------------------------------------------------
def limit_change_request(*, actor: Any, channel: str, customer_kind: str, per_txn_fen: int, per_day_fen: int,
                         reason: str) -> dict[str, Any]:
    access.require(actor, "ledger.manage_limits")
    errors = {}
    if channel not in LimitRule.Channel.values:
        errors["channel"] = [_("请选择渠道")]
    if customer_kind not in ("person", "company"):
        errors["customer_kind"] = [_("请选择客户类型")]
    if per_txn_fen <= 0 or per_day_fen <= 0:
        errors["per_txn"] = [_("限额必须大于零")]
    elif per_txn_fen > per_day_fen:
        errors["per_txn"] = [_("单笔限额不能高于日累计限额")]
    if not (reason or "").strip():
        errors["reason"] = [_("请填写调整原因")]
    if errors:
        raise ValidationFailed("invalid_limit", _("限额设置有误"), fields=errors)
    payload = {"channel": channel, "customer_kind": customer_kind, "per_txn_fen": per_txn_fen,
               "per_day_fen": per_day_fen, "reason": reason.strip()[:200]}
    pa = approvals.approval_submit(actor=actor, action_code="ledger.limit", payload=payload, reason=reason,
                                   summary=f"{_('调整限额')} {channel}/{customer_kind} "
                                           f"{format_amount(per_txn_fen)}/{format_amount(per_day_fen)}")
    return {"status": "pending_approval", "approval_id": pa.pk}


def execute_limit(*, payload: dict[str, Any], maker: Any, checker: Any) -> dict[str, Any]:
    access.require(maker, "ledger.manage_limits")
    access.require(checker, "ledger.approve")
    before = LimitRule.objects.filter(channel=payload["channel"], customer_kind=payload["customer_kind"]).first()
    rule, _c = LimitRule.objects.update_or_create(
        channel=payload["channel"], customer_kind=payload["customer_kind"],
        defaults={"per_txn_fen": payload["per_txn_fen"], "per_day_fen": payload["per_day_fen"]})
    audit.record(actor=checker, verb="ledger.limit_changed", target=rule,
                 before={"per_txn_fen": before.per_txn_fen, "per_day_fen": before.per_day_fen} if before else {},
                 after={"per_txn_fen": rule.per_txn_fen, "per_day_fen": rule.per_day_fen, "maker": maker.staff_no},
                 reason=payload["reason"])
    return {"status": "changed", "limit_id": rule.pk}


# ---- Cash box count ------------------------------------------------------------------------------------------------
def cash_count(*, actor: Any, denominations: dict[str, Any], note: str = "", currency: str = "CNY",
               cash_box_id: int | None = None) -> CashCount:
    """End of day: the teller's cash counted by denomination against the ledger. A difference is recorded and
    escalated to the branch supervisor's inbox; it is never silently adjusted."""
    access.require(actor, "ledger.cash_count")
    box_id = cash_box_id or internal_account_id(A.Internal.CASH, currency, teller_id=actor.pk)
    allowed = rules.DENOMINATIONS_CNY if currency == "CNY" else rules.DENOMINATIONS_USD
    try:
        clean = {str(int(k)): int(v or 0) for k, v in denominations.items() if int(v or 0)}
        counted = rules.count_total(clean, allowed)
    except (TypeError, ValueError):
        raise ValidationFailed("invalid_denominations", _("券别张数须为非负整数"),
                               fields={"denominations": [_("请逐项填写张数")]}) from None
    today = business_date()
    with transaction.atomic():
        from . import selectors

        box = _locked_account(selectors.account_get(actor, box_id).pk)
        if box.internal_code != A.Internal.CASH:
            raise NotFound("account_not_found", _("尾箱不存在"))
        diff = counted - box.balance_fen
        if diff and not (note or "").strip():
            raise ValidationFailed("note_required", _("账实不符时须填写说明"), fields={"note": [_("请说明差异原因")]})
        row = CashCount(cash_box=box, business_date=today, denominations=clean, counted_fen=counted,
                        expected_fen=box.balance_fen, difference_fen=diff,
                        status=CashCount.Status.DIFFERENCE if diff else CashCount.Status.BALANCED,
                        counted_by=actor, note=(note or "")[:200], counted_at=timezone.now())
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            raise RuleViolation("already_counted", _("今日该尾箱已轧账")) from None
        audit.record(actor=actor, verb="ledger.cash_counted", target=box,
                     after={"counted_fen": counted, "expected_fen": box.balance_fen, "difference_fen": diff},
                     reason=note)
    return row


# ---- Nightly jobs --------------------------------------------------------------------------------------------------
def accounts_mark_dormant(*, today: date | None = None, batch: int = 1000) -> int:
    """Customer accounts with no customer-initiated activity for the dormancy period become dormant. Idempotent."""
    today = today or business_date()
    months = params.value("aml.dormant_period")
    cutoff_date = rules.add_months(today, -months)
    cutoff = timezone.make_aware(datetime(cutoff_date.year, cutoff_date.month, cutoff_date.day))
    done = 0
    while True:
        with transaction.atomic():
            ids = list(Account.objects.filter(kind=A.Kind.CUSTOMER, status=A.Status.ACTIVE,
                                              product__kind=Product.Kind.DEMAND)
                       .filter(last_activity_at__lt=cutoff).values_list("id", flat=True)[:batch])
            ids += list(Account.objects.filter(kind=A.Kind.CUSTOMER, status=A.Status.ACTIVE, last_activity_at__isnull=True,
                                               product__kind=Product.Kind.DEMAND, opened_at__lt=cutoff)
                        .values_list("id", flat=True)[: batch - len(ids)]) if len(ids) < batch else []
            if not ids:
                return done
            Account.objects.filter(id__in=ids, status=A.Status.ACTIVE).update(status=A.Status.DORMANT,
                                                                                status_reason="dormant")
            audit.record(actor=None, verb="ledger.account_dormant", target_type="ledger.Account",
                         target_id=f"{len(ids)} accounts", after={"account_ids": ids, "cutoff": cutoff_date})
        done += len(ids)


def interest_accrue(*, on: date | None = None, batch: int = 2000) -> int:
    """Accrue one day's interest on every interest-bearing account for business date ``on`` (default yesterday).
    The unique (account, date) row makes a rerun do nothing; a killed run resumes where it stopped."""
    on = on or business_date() - timedelta(days=1)
    done, last_id = 0, 0
    rates: dict[int, int] = {}
    while True:
        with transaction.atomic():
            accounts = list(Account.objects.filter(kind=A.Kind.CUSTOMER, id__gt=last_id, balance_fen__gt=0,
                                                   product__kind__in=[Product.Kind.DEMAND, Product.Kind.TIME])
                            .exclude(status=A.Status.CLOSED).exclude(accrued_through__gte=on)
                            .order_by("id").only("id", "product_id", "balance_fen")[:batch])
            if not accounts:
                return done
            last_id = accounts[-1].id
            rows = []
            for acc in accounts:
                if acc.product_id not in rates:
                    rates[acc.product_id] = rate_in_force(acc.product_id, on)
                micro = rules.daily_interest_micro(acc.balance_fen, rates[acc.product_id])
                rows.append(InterestAccrual(account_id=acc.id, business_date=on, rate_bp=rates[acc.product_id],
                                            balance_fen=acc.balance_fen, amount_micro=micro))
            # The accounts were selected with accrued_through < on and are updated in this same transaction, so a
            # unique-key conflict here would mean two runs at once: let it fail and roll back the batch.
            InterestAccrual.objects.bulk_create(rows)
            # The batch's accounts take their accrual in one statement (not one UPDATE per account).
            Account.objects.filter(pk__in=[r.account_id for r in rows]).update(
                accrued_interest_micro=F("accrued_interest_micro") + Subquery(
                    InterestAccrual.objects.filter(account_id=OuterRef("pk"), business_date=on).values("amount_micro")[:1]),
                accrued_through=on)
            done += len(rows)


def interest_post(*, account_ids: list[int] | None = None, today: date | None = None) -> int:
    """Post accrued interest (whole fen) from the interest expense account to each account. Demand deposits: on the
    quarterly settlement day; time deposits: at maturity (from `deposits_mature`)."""
    today = today or business_date()
    qs = Account.objects.filter(kind=A.Kind.CUSTOMER, accrued_interest_micro__gte=500_000).exclude(status=A.Status.CLOSED)
    if account_ids is not None:
        qs = qs.filter(id__in=account_ids)
    elif rules.is_quarter_settlement_day(today):
        qs = qs.filter(product__kind=Product.Kind.DEMAND)
    else:
        return 0
    done = 0
    for acc_id, currency in qs.values_list("id", "currency"):
        with transaction.atomic():
            acc = _locked_account(acc_id)
            fen, rest = rules.postable_interest(acc.accrued_interest_micro)
            if fen <= 0:
                continue
            post(Movement(kind=K.INTEREST, amount_fen=fen, currency=currency,
                          debit_id=internal_account_id(A.Internal.INTEREST, currency), credit_id=acc.pk,
                          channel="batch", memo=_("结息"), customer_id=acc.customer_id), maker=None, today=today)
            Account.objects.filter(pk=acc.pk).update(accrued_interest_micro=rest)
            done += 1
    return done


def deposits_mature(*, today: date | None = None) -> int:
    """Time deposits due today or earlier: post interest, then roll over (new term from today) or pay out to the
    customer's demand account according to the instruction. Idempotent: a matured deposit has a later maturity date
    (rollover) or is closed (payout)."""
    today = today or business_date()
    done = 0
    due = list(Account.objects.filter(kind=A.Kind.CUSTOMER, product__kind=Product.Kind.TIME, maturity_date__lte=today)
               .exclude(status__in=[A.Status.CLOSED, A.Status.FROZEN]).values_list("id", flat=True))
    for acc_id in due:
        with transaction.atomic():
            acc = Account.objects.select_related("product").get(pk=_locked_account(acc_id).pk)
            if acc.maturity_date is None or acc.maturity_date > today:
                continue
            interest_fen = rules.postable_interest(acc.accrued_interest_micro)[0]
            interest_post(account_ids=[acc.pk], today=today)
            acc.refresh_from_db()
            term = acc.product.term_months
            if acc.maturity_instruction == A.Maturity.ROLLOVER or not acc.payout_account_id:
                Account.objects.filter(pk=acc.pk).update(start_date=today, maturity_date=rules.add_months(today, term))
            elif acc.maturity_instruction == A.Maturity.PRINCIPAL_ROLLOVER:
                if interest_fen > 0:
                    post(Movement(kind=K.MATURITY, amount_fen=interest_fen, currency=acc.currency, debit_id=acc.pk,
                                  credit_id=acc.payout_account_id, channel="batch", memo=_("定期利息转出"),
                                  customer_id=acc.customer_id), maker=None, today=today)
                Account.objects.filter(pk=acc.pk).update(start_date=today, maturity_date=rules.add_months(today, term))
            else:
                if acc.balance_fen > 0:
                    post(Movement(kind=K.MATURITY, amount_fen=acc.balance_fen, currency=acc.currency, debit_id=acc.pk,
                                  credit_id=acc.payout_account_id, channel="batch", memo=_("定期到期转出"),
                                  customer_id=acc.customer_id), maker=None, today=today)
                Account.objects.filter(pk=acc.pk).update(status=A.Status.CLOSED, closed_at=timezone.now(),
                                                         status_reason="matured")
            done += 1
    return done


# ---- Set-up --------------------------------------------------------------------------------------------------------
DEFAULT_PRODUCTS = [
    # code, name, English name, kind, currency, term months, rate bp, overdraft, risk level
    ("D-CNY", "个人活期存款", "Demand deposit (CNY)", Product.Kind.DEMAND, "CNY", 0, 5, 0, 0),
    ("D-USD", "个人美元活期存款", "Demand deposit (USD)", Product.Kind.DEMAND, "USD", 0, 5, 0, 0),
    ("D-CORP", "单位活期存款", "Corporate current account", Product.Kind.DEMAND, "CNY", 0, 10, 0, 0),
    ("D-OD", "活期透支账户", "Current account with overdraft", Product.Kind.DEMAND, "CNY", 0, 5, 5_000_000, 0),
    ("T-3M", "整存整取三个月", "Time deposit 3 months", Product.Kind.TIME, "CNY", 3, 80, 0, 0),
    ("T-1Y", "整存整取一年", "Time deposit 1 year", Product.Kind.TIME, "CNY", 12, 110, 0, 0),
    ("T-3Y", "整存整取三年", "Time deposit 3 years", Product.Kind.TIME, "CNY", 36, 150, 0, 0),
    ("W-R1", "安心现金管理（R1）", "Cash management (R1)", Product.Kind.WEALTH, "CNY", 0, 0, 0, 1),
    ("W-R2", "稳健固收 90 天（R2）", "Fixed income 90 days (R2)", Product.Kind.WEALTH, "CNY", 3, 0, 0, 2),
    ("W-R3", "平衡配置混合（R3）", "Balanced mixed (R3)", Product.Kind.WEALTH, "CNY", 12, 0, 0, 3),
    ("W-R4", "权益增强（R4）", "Equity enhanced (R4)", Product.Kind.WEALTH, "CNY", 0, 0, 0, 4),
    ("W-R5", "量化多策略（R5）", "Quant multi-strategy (R5)", Product.Kind.WEALTH, "CNY", 0, 0, 0, 5),
]
DEFAULT_LIMITS = [  # channel, customer kind, per transaction, per day (CNY fen)
    ("counter", "person", 50_000_000, 100_000_000), ("counter", "company", 500_000_000, 2_000_000_000),
    ("api", "person", 5_000_000, 20_000_000), ("api", "company", 100_000_000, 500_000_000),
    ("batch", "person", 50_000_000, 100_000_000), ("batch", "company", 500_000_000, 2_000_000_000),
]


def ledger_bootstrap(*, actor: Any, usd_rate_micro: int = 7_120_000) -> dict[str, int]:
    """Idempotent set-up of a new bank's ledger: the product shelf with rates, the head office's internal accounts
    per currency, default limits and a USD rate. Run by `seed_demo` and by an administrator once."""
    from bankcrm.org.models import Branch

    access.require(actor, "ledger.manage_products")
    head = Branch.objects.filter(parent__isnull=True).order_by("id").first()
    today = business_date()
    made = {"products": 0, "accounts": 0}
    with transaction.atomic():
        for code, name, en, kind, cur, term, rate, od, risk in DEFAULT_PRODUCTS:
            p, created = Product.objects.get_or_create(code=code, defaults=dict(
                name=name, name_en=en, kind=kind, currency=cur, term_months=term, overdraft_limit_fen=od,
                risk_level=risk, min_opening_fen=5_000 if kind == Product.Kind.TIME else 0))
            if created:
                made["products"] += 1
                audit.record(actor=actor, verb="ledger.product_saved", target=p, after={"code": code, "kind": kind})
                if rate:
                    product_rate_set(actor=actor, product=p, rate_bp=rate, effective_from=today - timedelta(days=800))
        for cur in ("CNY", "USD"):
            for code, title in ((A.Internal.CLEARING, "清算往来"), (A.Internal.SUSPENSE, "待处理挂账"),
                                (A.Internal.INTEREST, "利息支出"), (A.Internal.WEALTH, "代销理财资金清算")):
                if not Account.objects.filter(kind=A.Kind.INTERNAL, internal_code=code, currency=cur).exists():
                    _open_internal(actor=actor, code=code, currency=cur, branch=head, title=f"{title}（{cur}）")
                    made["accounts"] += 1
        for channel, kind, per_txn, per_day in DEFAULT_LIMITS:
            LimitRule.objects.get_or_create(channel=channel, customer_kind=kind,
                                            defaults={"per_txn_fen": per_txn, "per_day_fen": per_day})
        if not FxRate.objects.filter(currency="USD").exists():
            fx_rate_set(actor=actor, currency="USD", rate_micro=usd_rate_micro, effective_date=today - timedelta(days=800))
    return made
