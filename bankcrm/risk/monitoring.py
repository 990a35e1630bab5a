"""Transaction monitoring: each rule kind compiles to ONE set-based SQL statement over the customers' transactions,
run for one business date — for a few customers in real time (the ledger outbox) or for ranges of customers in the
nightly batch. Both paths run the very same statements, so they raise the same alerts (the dedupe key makes the
second sighting a no-op).

Monitored transactions are the legs of journal entries on customer accounts (so a transfer between two customers
counts for both): money in when the leg credits the account, out when it debits it. The category comes from the
other leg: the teller's cash box → cash; another customer account or the clearing account → transfer; interest,
suspense and FX legs are not customer transactions. A counterparty is another customer of the bank (whichever of
their accounts) or, for transfers to other banks, the bank and name of the payee. Reversals are not counted (the reversed entry still is: a
reversal corrects the books, not what the customer did). Days are natural days in Asia/Shanghai (the ledger's
business date). Portable SQL (SQLite and PostgreSQL); figures are integer minor units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from bankcrm.core import params
from bankcrm.core.workdays import working_days_after

from . import rules
from .alerting import Hit
from .models import MonitoringRule

CUSTOMER_KINDS_OF_ENTRY = ("cash_in", "cash_out", "internal", "outward", "opening", "closing")

BASE = """
SELECT e.id AS entry_id, a.customer_id AS cid, c.kind AS ckind, c.income_band AS band,
       CASE WHEN p.side = 'C' THEN 'in' ELSE 'out' END AS dir, p.amount_fen AS amount, e.currency AS cur,
       e.cross_border AS xb, e.business_date AS d, p.account_id AS acc, a.opened_at AS opened,
       CASE WHEN o.internal_code = 'cash' THEN 'cash' ELSE 'transfer' END AS cat,
       CASE WHEN o.kind = 'customer' THEN 'C' || CAST(o.customer_id AS TEXT)
            ELSE 'N' || e.counterparty_bank || '/' || e.counterparty_name END AS cp
FROM ledger_journalentry e
JOIN ledger_posting p ON p.entry_id = e.id
JOIN ledger_account a ON a.id = p.account_id
JOIN ledger_account o ON o.id = CASE WHEN p.side = 'D' THEN e.credit_account_id ELSE e.debit_account_id END
JOIN customers_customer c ON c.id = a.customer_id
WHERE {dates} AND a.kind = 'customer' AND e.kind <> 'reversal'
  AND (o.internal_code IN ('cash', 'clearing') OR o.kind = 'customer'){scope}
"""
# Everyone (nightly): the day's entries by their date index. A few customers (real time): their accounts' postings by
# the (account, date) index — never the whole day's entries for a handful of customers.
DATES_ALL = "e.business_date >= %s AND e.business_date <= %s"
DATES_FEW = ("p.business_date >= %s AND p.business_date <= %s AND p.account_id IN "
             "(SELECT id FROM ledger_account WHERE customer_id IN ({ids}))")


@dataclass(frozen=True)
class Scope:
    """Which customers: an id range (nightly chunks) or a set of ids (real time); neither = everyone."""

    lo: int | None = None
    hi: int | None = None
    ids: tuple[int, ...] = ()

    def base(self, start: date, end: date) -> tuple[str, list[Any]]:
        """The base statement for these customers between two business dates, and its parameters."""
        if self.ids:
            marks = ", ".join(["%s"] * len(self.ids))
            return (BASE.format(dates=DATES_FEW.format(ids=marks), scope=f" AND a.customer_id IN ({marks})"),
                    [start, end, *self.ids, *self.ids])
        if self.lo is not None:
            return (BASE.format(dates=DATES_ALL, scope=" AND a.customer_id >= %s AND a.customer_id <= %s"),
                    [start, end, self.lo, self.hi])
        return BASE.format(dates=DATES_ALL, scope=""), [start, end]


def _ids_agg(expr: str) -> str:
    if connection.vendor == "postgresql":
        return f"STRING_AGG(CAST({expr} AS TEXT), ',')"
    return f"GROUP_CONCAT({expr})"


def _ids(raw: str | None) -> tuple[int, ...]:
    return tuple(sorted({int(x) for x in (raw or "").split(",") if x}))


def rules_in_force(day: date) -> list[MonitoringRule]:
    return list(MonitoringRule.objects.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day), active=True,
                                              effective_from__lte=day).order_by("code", "-version"))


def day_rates(day: date) -> dict[str, int]:
    """CNY per unit × 10⁶ in force on ``day`` for each foreign currency (the latest rate set on or before it)."""
    from bankcrm.ledger.models import FxRate

    out: dict[str, int] = {}
    for cur, rate in (FxRate.objects.filter(effective_date__lte=day).order_by("currency", "effective_date")
                      .values_list("currency", "rate_micro")):
        out[cur] = rate
    return out


def _usd_expr(rates: dict[str, int]) -> str:
    """SQL for a foreign amount in US cents, as rules.usd_minor computes it (integer literals from the rate table)."""
    usd = rates.get("USD")
    whens = " ".join(f"WHEN '{cur}' THEN amount * {int(r)} / {int(usd)}" for cur, r in sorted(rates.items())
                     if cur not in ("USD", "CNY") and usd)
    return f"CASE cur WHEN 'USD' THEN amount {whens} ELSE 0 END"


def _kinds_sql(rule: MonitoringRule) -> tuple[str, list[Any]]:
    kinds = [k for k in (rule.customer_kinds or []) if k in rules.CUSTOMER_KINDS]
    if not kinds or set(kinds) == set(rules.CUSTOMER_KINDS):
        return "", []
    return f" AND ckind IN ({', '.join(['%s'] * len(kinds))})", kinds


def compile_rule(rule: MonitoringRule, day: date, scope: Scope, rates: dict[str, int]) -> tuple[str, list[Any]]:
    """The rule's one statement for ``day``: rows (cid, group keys..., figures..., ids)."""
    p = rule.params
    start = rules.window_start(day, int(p.get("window_days", 1))) if rule.kind != "large_value" else day
    base, args = scope.base(start, day)
    kinds_sql, kinds_args = _kinds_sql(rule)
    ids = _ids_agg("entry_id")
    today = "SUM(CASE WHEN d = %s THEN 1 ELSE 0 END) > 0"
    if rule.kind == "large_value":
        xb_sql, xb_args = ("", []) if p.get("cross_border") is None else (" AND xb = %s", [bool(p["cross_border"])])
        sql = (f"SELECT cid, dir, grp, SUM(v) AS total, COUNT(*) AS n, {_ids_agg('entry_id')} FROM ("
               f"SELECT cid, dir, entry_id, CASE WHEN cur = 'CNY' THEN 'CNY' ELSE 'USD' END AS grp, "
               f"CASE WHEN cur = 'CNY' THEN amount ELSE {_usd_expr(rates)} END AS v FROM ({base}) t "
               f"WHERE cat = %s{xb_sql}{kinds_sql}) g GROUP BY cid, dir, grp "
               "HAVING SUM(v) >= CASE WHEN grp = 'CNY' THEN %s ELSE %s END")
        return sql, [*args, p["category"], *xb_args, *kinds_args, p["threshold_cny"], p["threshold_usd"]]
    if rule.kind == "structuring":
        floor = rules.structuring_floor(p["base_threshold"], p["band_pct"])
        sql = (f"SELECT cid, SUM(amount), COUNT(*), {ids} FROM ({base}) t WHERE cat = %s AND cur = 'CNY' "
               f"AND amount >= %s AND amount < %s{kinds_sql} GROUP BY cid HAVING COUNT(*) >= %s AND {today}")
        return sql, [*args, p["category"], floor, p["base_threshold"], *kinds_args, p["min_count"], day]
    if rule.kind == "rapid_in_out":
        sin = "SUM(CASE WHEN dir = 'in' THEN amount ELSE 0 END)"
        sout = "SUM(CASE WHEN dir = 'out' THEN amount ELSE 0 END)"
        sql = (f"SELECT cid, {sin}, {sout}, {ids} FROM ({base}) t WHERE cur = 'CNY'{kinds_sql} GROUP BY cid "
               f"HAVING {sin} >= %s AND {sout} * 100 >= %s * {sin} "
               "AND SUM(CASE WHEN dir = 'out' AND d = %s THEN 1 ELSE 0 END) > 0")
        return sql, [*args, *kinds_args, p["min_in"], p["out_pct"], day]
    if rule.kind == "dormant":
        cutoff = rules.dormant_cutoff(day, p["dormant_months"])
        opened_before = timezone.make_aware(datetime.combine(cutoff, time.min))
        kinds_in = ", ".join(f"'{k}'" for k in CUSTOMER_KINDS_OF_ENTRY)
        sql = (f"SELECT cid, SUM(amount), COUNT(DISTINCT acc), {ids} FROM ({base}) t WHERE cur = 'CNY' "
               f"AND opened < %s{kinds_sql} AND NOT EXISTS (SELECT 1 FROM ledger_posting q JOIN ledger_journalentry qe "
               f"ON qe.id = q.entry_id WHERE q.account_id = t.acc AND q.business_date >= %s AND q.business_date < %s "
               f"AND qe.kind IN ({kinds_in})) GROUP BY cid HAVING SUM(amount) >= %s")
        return sql, [*args, opened_before, *kinds_args, cutoff, day, p["min_amount"]]
    if rule.kind == "counterparties":
        sql = (f"SELECT cid, COUNT(DISTINCT cp), COUNT(*), {ids} FROM ({base}) t WHERE cat = 'transfer'{kinds_sql} "
               f"GROUP BY cid HAVING COUNT(DISTINCT cp) >= %s AND {today}")
        return sql, [*args, *kinds_args, p["min_counterparties"], day]
    if rule.kind == "profile":
        caps = {b: rules.income_limit(c, p["pct"], p["min_amount"]) for b, c in sorted(p["income_caps"].items())}
        case = " ".join(f"WHEN '{b}' THEN {int(v)}" for b, v in caps.items() if b in rules.INCOME_BANDS)
        bands = ", ".join(f"'{b}'" for b in caps if b in rules.INCOME_BANDS)
        sql = (f"SELECT cid, band, SUM(amount), {ids} FROM ({base}) t WHERE dir = 'in' AND cur = 'CNY' "
               f"AND band IN ({bands}){kinds_sql} GROUP BY cid, band "
               f"HAVING SUM(amount) >= CASE band {case} ELSE 0 END AND {today}")
        return sql, [*args, *kinds_args, day]
    raise ValueError(f"unknown rule kind {rule.kind}")


def _hits_of(rule: MonitoringRule, day: date, rows: list[tuple], due_large: date) -> list[Hit]:
    p, out = rule.params, []
    common = {"rule_code": rule.code, "kind": rule.kind, "report_kind": rule.report_kind, "rule_id": rule.pk,
              "business_date": day, "branch_path": ""}
    for row in rows:
        cid = row[0]
        if rule.kind == "large_value":
            _cid, direction, grp, total, n, raw = row
            threshold = p["threshold_cny"] if grp == "CNY" else p["threshold_usd"]
            out.append(Hit(dedupe_key=f"{rule.code}:{cid}:{day}:{direction}:{grp}", customer_id=cid,
                           figures={"total": int(total), "count": int(n), "threshold": threshold,
                                    "currency_group": grp, "direction": direction, "rule_version": rule.version},
                           entry_ids=_ids(raw), total_minor=int(total), threshold_minor=threshold,
                           currency_group=grp, direction=direction, due_on=due_large, **common))
            continue
        if rule.kind == "structuring":
            _c, total, n, raw = row
            fig = {"count": int(n), "total": int(total), "band_from": rules.structuring_floor(p["base_threshold"],
                                                                                          p["band_pct"]),
                   "threshold": p["base_threshold"], "window_days": p["window_days"]}
        elif rule.kind == "rapid_in_out":
            _c, sin, sout, raw = row
            total = int(sin)
            fig = {"in": int(sin), "out": int(sout), "out_pct": round(int(sout) * 100 / int(sin), 1),
                   "window_days": p["window_days"]}
        elif rule.kind == "dormant":
            _c, total, accounts, raw = row
            fig = {"total": int(total), "accounts": int(accounts), "dormant_months": p["dormant_months"]}
        elif rule.kind == "counterparties":
            _c, cps, n, raw = row
            total = 0
            fig = {"counterparties": int(cps), "count": int(n), "window_days": p["window_days"]}
        else:  # profile
            _c, band, total, raw = row
            fig = {"inflow": int(total), "income_band": band, "limit": rules.income_limit(
                p["income_caps"][band], p["pct"], p["min_amount"]), "window_days": p["window_days"]}
        fig["rule_version"] = rule.version
        out.append(Hit(dedupe_key=f"{rule.code}:{cid}:{day}", customer_id=cid, figures=fig, entry_ids=_ids(raw),
                       total_minor=int(total or 0), currency_group="CNY", **common))
    return out


def evaluate(day: date, scope: Scope = Scope(), rules_: Iterable[MonitoringRule] | None = None) -> list[Hit]:
    """Every rule in force on ``day`` over the scoped customers; hits carry the customers' branch paths."""
    rates = day_rates(day)
    due_large = working_days_after(day, params.value("aml.large_report_deadline"))
    hits: list[Hit] = []
    with connection.cursor() as cur:
        for rule in (rules_in_force(day) if rules_ is None else rules_):
            sql, args = compile_rule(rule, day, scope, rates)
            cur.execute(sql, [_db(a) for a in args])
            hits += _hits_of(rule, day, cur.fetchall(), due_large)
    if hits:
        from bankcrm.customers.models import Customer

        paths = dict(Customer.objects.filter(pk__in={h.customer_id for h in hits}).values_list("pk", "branch__path"))
        hits = [Hit(**{**h.__dict__, "branch_path": paths.get(h.customer_id, "")}) for h in hits]
    return hits


def _db(value: Any) -> Any:
    """Raw-SQL parameter in the backend's storage form (SQLite keeps dates and UTC datetimes as text)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def customers_active_on(day: date, after: int, limit: int) -> list[int]:
    """Customer ids (ascending, > ``after``) with a monitored transaction on ``day``: every rule needs one."""
    sql = ("SELECT DISTINCT a.customer_id FROM ledger_journalentry e JOIN ledger_posting p ON p.entry_id = e.id "
           "JOIN ledger_account a ON a.id = p.account_id WHERE e.business_date = %s AND a.kind = 'customer' "
           "AND a.customer_id > %s ORDER BY a.customer_id LIMIT %s")
    with connection.cursor() as cur:
        cur.execute(sql, [_db(day), after, limit])
        return [r[0] for r in cur.fetchall()]
