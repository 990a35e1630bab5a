"""Pure monitoring rules (no I/O): the kinds of rule, their parameters and validation, the built-in rules of
DOMAIN_RULES.md §3, currency conversion for the large-value thresholds and the windows a rule looks at.

A rule is data (``MonitoringRule``: kind + params + customer kinds + effective dates); ``monitoring.py`` turns each
kind into one set-based SQL statement. ``tests/test_risk_monitoring_rules.py`` checks every kind against a plain
Python reference over generated transaction streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _

from bankcrm.ledger.rules import add_months

W = 100  # minor units per yuan / dollar


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str  # money (minor units), int, percent, days, months, choice, bool3 (true/false/none), caps (dict)
    label: Any
    minimum: int = 0
    maximum: int | None = None
    choices: tuple[str, ...] = ()


RULE_KINDS: dict[str, tuple[ParamSpec, ...]] = {
    "large_value": (
        ParamSpec("category", "choice", _("交易类别"), choices=("cash", "transfer")),
        ParamSpec("cross_border", "bool3", _("跨境（空=不限）")),
        ParamSpec("threshold_cny", "money", _("人民币阈值（分，含）"), minimum=1),
        ParamSpec("threshold_usd", "money", _("外币折美元阈值（美分，含）"), minimum=1),
    ),
    "structuring": (
        ParamSpec("category", "choice", _("交易类别"), choices=("cash", "transfer")),
        ParamSpec("base_threshold", "money", _("参照阈值（分）"), minimum=1),
        ParamSpec("band_pct", "percent", _("识别区间下限（阈值的%）"), minimum=1, maximum=99),
        ParamSpec("window_days", "days", _("窗口（自然日，含当日）"), minimum=1, maximum=31),
        ParamSpec("min_count", "int", _("最少笔数"), minimum=2),
    ),
    "rapid_in_out": (
        ParamSpec("window_days", "days", _("窗口（自然日，含当日）"), minimum=1, maximum=7),
        ParamSpec("min_in", "money", _("最低转入金额（分）"), minimum=1),
        ParamSpec("out_pct", "percent", _("转出占转入比例下限（%）"), minimum=1, maximum=100),
    ),
    "dormant": (
        ParamSpec("dormant_months", "months", _("无交易期（月）"), minimum=1, maximum=60),
        ParamSpec("min_amount", "money", _("启用当日交易金额下限（分）"), minimum=1),
    ),
    "counterparties": (
        ParamSpec("window_days", "days", _("窗口（自然日，含当日）"), minimum=1, maximum=31),
        ParamSpec("min_counterparties", "int", _("最少交易对手数"), minimum=2),
    ),
    "profile": (
        ParamSpec("window_days", "days", _("窗口（自然日，含当日）"), minimum=1, maximum=92),
        ParamSpec("income_caps", "caps", _("各收入档年收入上限（分）")),
        ParamSpec("pct", "percent", _("转入超过年收入上限的%"), minimum=1, maximum=1000),
        ParamSpec("min_amount", "money", _("最低转入金额（分）"), minimum=1),
    ),
}

CUSTOMER_KINDS = ("person", "company")
INCOME_BANDS = ("<10w", "10-30w", "30-100w", "100w+")


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors (Chinese) for a rule's parameters; empty when they are valid."""
    errors: dict[str, list[str]] = {}
    specs = RULE_KINDS.get(kind)
    if specs is None:
        return {"kind": [str(_("未知的规则类型"))]}
    unknown = set(params) - {s.name for s in specs}
    if unknown:
        errors["params"] = [str(_("不认识的参数：%(p)s")) % {"p": ", ".join(sorted(unknown))}]
    for s in specs:
        v = params.get(s.name)
        if s.kind == "choice":
            if v not in s.choices:
                errors[s.name] = [str(_("取值须为 %(c)s 之一")) % {"c": " / ".join(s.choices)}]
        elif s.kind == "bool3":
            if v not in (True, False, None):
                errors[s.name] = [str(_("取值须为 是 / 否 / 不限"))]
        elif s.kind == "caps":
            if not isinstance(v, dict) or not v or any(k not in INCOME_BANDS or not isinstance(n, int) or
                                                       isinstance(n, bool) or n <= 0 for k, n in v.items()):
                errors[s.name] = [str(_("须为收入档到正整数金额（分）的对应表"))]
        else:
            if not isinstance(v, int) or isinstance(v, bool):
                errors[s.name] = [str(_("须为整数"))]
            elif v < s.minimum or (s.maximum is not None and v > s.maximum):
                errors[s.name] = [str(_("须在 %(lo)s 至 %(hi)s 之间")) % {"lo": s.minimum, "hi": s.maximum or "∞"}]
    return errors


@dataclass(frozen=True)
class BuiltIn:
    code: str
    kind: str
    name: str
    name_en: str
    report_kind: str
    customer_kinds: tuple[str, ...]
    params: dict[str, Any]


def builtin_rules(param: Any) -> list[BuiltIn]:
    """The rules that ship with the product; thresholds are read from the rule parameters in force
    (``param(code) -> int``, i.e. core.params.value), so the figures live in one place."""
    large = [
        ("0501", "大额现金交易", "Large cash transaction", (), "cash", None, "aml.large_cash"),
        ("0502", "非自然人大额转账", "Large transfer, non-natural person", ("company",), "transfer", None,
         "aml.large_corp_transfer"),
        ("0503", "自然人境内大额转账", "Large domestic transfer, natural person", ("person",), "transfer", False,
         "aml.large_person_domestic"),
        ("0504", "自然人跨境大额转账", "Large cross-border transfer, natural person", ("person",), "transfer", True,
         "aml.large_person_crossborder"),
    ]
    rules = [BuiltIn(code, "large_value", name, en, "large", kinds,
                     {"category": cat, "cross_border": xb, "threshold_cny": param(f"{p}.cny"),
                      "threshold_usd": param(f"{p}.usd")})
             for code, name, en, kinds, cat, xb, p in large]
    rules += [
        BuiltIn("S01", "structuring", "拆分现金交易规避大额报告", "Cash structuring below the reporting threshold",
                "suspicious", (), {"category": "cash", "base_threshold": param("aml.large_cash.cny"),
                                   "band_pct": param("aml.structuring_band"), "window_days": 3, "min_count": 3}),
        BuiltIn("S02", "rapid_in_out", "资金快进快出", "Rapid movement of funds in and out", "suspicious", (),
                {"window_days": max(1, -(-param("aml.rapid_out_window") // 24)), "min_in": 100_000 * W,
                 "out_pct": 80}),
        BuiltIn("S03", "dormant", "休眠账户突然大额启用", "Dormant account suddenly active", "suspicious", (),
                {"dormant_months": param("aml.dormant_period"), "min_amount": 50_000 * W}),
        BuiltIn("S04", "counterparties", "短期内交易对手众多", "Many counterparties in a short window", "suspicious", (),
                {"window_days": 3, "min_counterparties": 10}),
        BuiltIn("S05", "profile", "资金规模与申报收入不符", "Inflows inconsistent with declared income", "suspicious",
                ("person",), {"window_days": 30, "income_caps": {"<10w": 100_000 * W, "10-30w": 300_000 * W,
                                                                 "30-100w": 1_000_000 * W},
                              "pct": 100, "min_amount": 200_000 * W}),
    ]
    return rules


# ---- Figures ----------------------------------------------------------------------------------------------------
def usd_minor(amount_minor: int, currency: str, rate_micro: int, usd_rate_micro: int) -> int:
    """A foreign-currency amount in US cents at the day's rates (both CNY per unit × 10⁶), rounded down per
    transaction: a threshold is never crossed by rounding alone."""
    if currency == "USD":
        return amount_minor
    return amount_minor * rate_micro // usd_rate_micro


def window_start(day: date, window_days: int) -> date:
    return day - timedelta(days=window_days - 1)


def dormant_cutoff(day: date, months: int) -> date:
    return add_months(day, -months)


def structuring_floor(base_threshold: int, band_pct: int) -> int:
    """Smallest amount inside the band [band% × threshold, threshold): rounded up to a whole fen."""
    return -(-base_threshold * band_pct // 100)


def income_limit(cap: int, pct: int, min_amount: int) -> int:
    return max(min_amount, -(-cap * pct // 100))


def lookback_days(kind: str, params: dict[str, Any]) -> int:
    """How many days before the evaluated day a rule reads (the dormant rule reads its look-back separately)."""
    return int(params.get("window_days", 1)) - 1 if kind in ("structuring", "rapid_in_out", "counterparties",
                                                             "profile") else 0
