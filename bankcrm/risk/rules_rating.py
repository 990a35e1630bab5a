"""AML customer risk rating, pure rules (DOMAIN_RULES.md §3 "Customer ML risk rating"): factor scoring against a
model held as data, score → level, when a change needs a second person, and the next review date.

A model (``RatingModel.factors``) is ``{factor: {"weight": int, "values": {value: points}, "default": points}}``;
its thresholds ``{"high": min_score, "medium": min_score}``. How a factor's input matches its ``values`` depends on
the factor's kind (FACTORS): ``exact`` (the value itself), ``any`` (several values, e.g. the branch and its parents:
the highest match), ``keyword`` (keywords found in a text such as occupation and industry: the highest match) and
``count`` (keys are minimum counts: the highest key not above the count).
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy as _

from bankcrm.core.errors import ValidationFailed
from bankcrm.core.workdays import add_working_days

LOW, MEDIUM, HIGH = "low", "medium", "high"
ORDER = {LOW: 1, MEDIUM: 2, HIGH: 3}


@dataclass(frozen=True)
class FactorSpec:
    label: Any
    kind: str  # exact | any | keyword | count
    group: Any  # the regulatory factor it belongs to (identity, occupation, region, product, channel, behaviour, PEP)


FACTORS: dict[str, FactorSpec] = {
    "kind": FactorSpec(_("客户类型"), "exact", _("身份")),
    "id_type": FactorSpec(_("证件类型"), "exact", _("身份")),
    "nationality": FactorSpec(_("国籍/地区"), "exact", _("地域")),
    "branch": FactorSpec(_("归属机构所在地区"), "any", _("地域")),
    "occupation": FactorSpec(_("职业/行业"), "keyword", _("职业或行业")),
    "foreign_accounts": FactorSpec(_("外币账户数"), "count", _("产品")),
    "accounts": FactorSpec(_("账户总数"), "count", _("产品")),
    "wealth_accounts": FactorSpec(_("理财产品账户数"), "count", _("产品")),
    "channel": FactorSpec(_("开户渠道"), "exact", _("渠道")),
    "alerts": FactorSpec(_("近12个月未排除的监测预警"), "count", _("交易行为")),
    "pep": FactorSpec(_("政治公众人物"), "exact", _("政治公众人物")),
}

HIGH_RISK_KEYWORDS = {
    "珠宝": 25, "贵金属": 25, "黄金": 20, "典当": 30, "房地产中介": 20, "房产中介": 20, "娱乐场所": 25, "夜总会": 30,
    "歌舞厅": 25, "个体": 10, "现金密集": 20, "外汇": 25, "货币兑换": 30, "虚拟货币": 40, "加密货币": 40, "彩票": 20,
    "拍卖": 20, "古玩": 20, "艺术品": 15, "废旧金属": 15, "小额贷款": 20, "融资担保": 15, "投资咨询": 10,
}

DEFAULT_FACTORS: dict[str, dict[str, Any]] = {
    "kind": {"weight": 1, "values": {"person": 0, "company": 10}, "default": 0},
    "id_type": {"weight": 1, "values": {"resident_id": 0, "uscc": 0, "hmt_residence": 5, "hk_macau_pass": 5,
                                        "taiwan_pass": 5, "foreign_permanent": 10, "passport": 15}, "default": 0},
    # FATF "call for action" jurisdictions; other foreign nationalities score the default.
    "nationality": {"weight": 1, "values": {"CHN": 0, "PRK": 60, "IRN": 60, "MMR": 60}, "default": 10},
    "branch": {"weight": 1, "values": {}, "default": 0},
    "occupation": {"weight": 1, "values": HIGH_RISK_KEYWORDS, "default": 0},
    "foreign_accounts": {"weight": 1, "values": {"1": 10, "3": 20}, "default": 0},
    "accounts": {"weight": 1, "values": {"5": 10, "10": 20}, "default": 0},
    "wealth_accounts": {"weight": 1, "values": {}, "default": 0},
    "channel": {"weight": 1, "values": {"face_to_face": 0, "non_face_to_face": 15}, "default": 0},
    "alerts": {"weight": 1, "values": {"1": 15, "2": 30, "4": 60}, "default": 0},
    "pep": {"weight": 1, "values": {"no": 0, "yes": 60}, "default": 0},
}
DEFAULT_THRESHOLDS = {"high": 60, "medium": 25}


def rank(level: str | None) -> int:
    return ORDER.get(level or "", 0)


def higher(a: str | None, b: str | None) -> str:
    return a if rank(a) >= rank(b) else b  # type: ignore[return-value]


def _bad(message: Any) -> ValidationFailed:
    return ValidationFailed("rating_model_invalid", message, fields={"factors": [str(message)]})


def validate_model(factors: Any, thresholds: Any) -> None:
    """Refuse a malformed model with a message naming the problem (factor, key, value)."""
    if not isinstance(factors, dict) or not factors:
        raise _bad(_("因子必须是非空的 JSON 对象"))
    for code, cfg in factors.items():
        if code not in FACTORS:
            raise _bad(_("未知的因子“%(f)s”（可用：%(all)s）") % {"f": code, "all": ", ".join(FACTORS)})
        if not isinstance(cfg, dict):
            raise _bad(_("因子“%(f)s”必须是 JSON 对象") % {"f": code})
        unknown = set(cfg) - {"weight", "values", "default"}
        if unknown:
            raise _bad(_("因子“%(f)s”含未知的键：%(k)s") % {"f": code, "k": ", ".join(sorted(unknown))})
        for key in ("weight", "default"):
            v = cfg.get(key, 1 if key == "weight" else 0)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 1000:
                raise _bad(_("因子“%(f)s”的 %(k)s 必须是 0–1000 的整数") % {"f": code, "k": key})
        values = cfg.get("values", {})
        if not isinstance(values, dict):
            raise _bad(_("因子“%(f)s”的 values 必须是 JSON 对象") % {"f": code})
        for value, points in values.items():
            if not isinstance(points, int) or isinstance(points, bool) or not 0 <= points <= 1000:
                raise _bad(_("因子“%(f)s”取值“%(v)s”的分值必须是 0–1000 的整数") % {"f": code, "v": value})
            if FACTORS[code].kind == "count" and not (value.isdigit() and int(value) >= 1):
                raise _bad(_("因子“%(f)s”的取值必须是不小于 1 的整数（表示“至少多少个”），而不是“%(v)s”") % {"f": code, "v": value})
            if not value.strip():
                raise _bad(_("因子“%(f)s”有空的取值") % {"f": code})
    if not isinstance(thresholds, dict) or set(thresholds) != {"high", "medium"}:
        raise ValidationFailed("rating_thresholds_invalid", _("等级分界必须正好包含 high 和 medium 两个键"),
                               fields={"thresholds": [str(_("必须包含 high 和 medium"))]})
    hi, med = thresholds["high"], thresholds["medium"]
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (hi, med)) or not 0 < med < hi:
        raise ValidationFailed("rating_thresholds_invalid", _("等级分界必须是整数，且 0 < medium < high"),
                               fields={"thresholds": [str(_("必须满足 0 < medium < high"))]})


def _match(kind: str, values: Mapping[str, int], value: Any) -> tuple[str, int] | None:
    """The matched value and its points, or None."""
    if kind == "exact":
        return (str(value), values[str(value)]) if str(value) in values else None
    if kind == "any":
        hits = [(v, values[v]) for v in value if v in values]
        return max(hits, key=lambda h: h[1]) if hits else None
    if kind == "keyword":
        hits = [(k, p) for k, p in values.items() if k and k in (value or "")]
        return max(hits, key=lambda h: (h[1], h[0])) if hits else None
    if kind == "count":
        hits = [(k, p) for k, p in values.items() if int(k) <= int(value)]
        return max(hits, key=lambda h: int(h[0])) if hits else None
    raise ValueError(kind)


def score(factors: Mapping[str, Mapping[str, Any]], inputs: Mapping[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """Total score and one reason per factor of the model: ``{factor, label, value, matched, points, scored}``.
    An input that is unknown (None) is not scored (e.g. the onboarding channel when it was not recorded)."""
    total, reasons = 0, []
    for code, cfg in factors.items():
        spec = FACTORS[code]
        value = inputs.get(code)
        if value is None:
            reasons.append({"factor": code, "label": str(spec.label), "value": "", "matched": "", "points": 0,
                            "scored": False})
            continue
        hit = _match(spec.kind, cfg.get("values", {}), value)
        points = (hit[1] if hit else int(cfg.get("default", 0))) * int(cfg.get("weight", 1))
        total += points
        shown = value if isinstance(value, (int, str)) else "/".join(value)
        reasons.append({"factor": code, "label": str(spec.label), "value": shown, "matched": hit[0] if hit else "",
                        "points": points, "scored": True})
    return total, reasons


def level_for(total: int, thresholds: Mapping[str, int]) -> str:
    if total >= thresholds["high"]:
        return HIGH
    if total >= thresholds["medium"]:
        return MEDIUM
    return LOW


def needs_approval(current: str | None, new: str, computed: str, manual: bool) -> bool:
    """Lowering a current high rating, or a manual level below the model's, needs a risk manager's approval."""
    return (current == HIGH and rank(new) < rank(HIGH)) or (manual and rank(new) < rank(computed))


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def next_review(rated_on: date, level: str, months: Mapping[str, int], holidays: Set[date], makeup: Set[date]) -> date:
    """Rated date + the level's review period, moved forward to a working day."""
    return add_working_days(add_months(rated_on, months[level]), 0, holidays, makeup)
