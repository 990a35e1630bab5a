"""Money in integer minor units (fen). Never floats; Decimal only at the edges (parsing and display)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _

from .errors import ValidationFailed

CURRENCY_EXPONENT = {"CNY": 2, "USD": 2, "EUR": 2, "HKD": 2, "JPY": 0}

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS_SMALL = ["", "拾", "佰", "仟"]
_UNITS_BIG = ["", "万", "亿", "万亿"]


def parse_amount(text: str | int | Decimal, currency: str = "CNY") -> int:
    """'50,000.00' → 5_000_000 fen. Rejects more decimals than the currency has and non-positive values."""
    exp = CURRENCY_EXPONENT.get(currency)
    if exp is None:
        raise ValidationFailed("unknown_currency", _("不支持的币种：%(c)s") % {"c": currency})
    try:
        value = Decimal(str(text).replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        raise ValidationFailed("invalid_amount", _("金额格式不正确")) from None
    if not value.is_finite():
        raise ValidationFailed("invalid_amount", _("金额格式不正确"))
    if value <= 0:
        raise ValidationFailed("amount_not_positive", _("金额必须大于零"))
    scaled = value * (10**exp)
    if scaled != scaled.to_integral_value():
        raise ValidationFailed("invalid_amount_precision", _("金额最多保留 %(n)s 位小数") % {"n": exp})
    return int(scaled)


def format_amount(minor: int, currency: str = "CNY") -> str:
    exp = CURRENCY_EXPONENT.get(currency, 2)
    value = Decimal(minor) / (10**exp)
    return f"{value:,.{exp}f}"


def to_chinese_capital(fen: int) -> str:
    """Amount in Chinese capital numerals as written on bank vouchers: 5_000_000 → '伍万元整'.

    Follows 《正确填写票据和结算凭证的基本规定》 (PBOC, 支付结算办法 annex): "整" only after "元" (it may be left out
    after "角" and is never written after "分"), so 1,409.50 → 壹仟肆佰零玖元伍角; "零" after "元" when the 角 digit is
    0 and the 分 digit is not (16,409.02 → 壹万陆仟肆佰零玖元零贰分).
    """
    if fen < 0:
        return "负" + to_chinese_capital(-fen)
    yuan, rest = divmod(fen, 100)
    jiao, fen_part = divmod(rest, 10)
    out = ""
    if yuan:
        out = _integer_capital(yuan) + "元"
    if not jiao and not fen_part:
        return (out or "零元") + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif yuan:
        out += "零"
    if fen_part:
        out += _DIGITS[fen_part] + "分"
    return out


def _integer_capital(n: int) -> str:
    groups: list[int] = []
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out = ""
    zero_pending = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            zero_pending = bool(out)
            continue
        if out and (zero_pending or g < 1000):
            out += "零"
        out += _group_capital(g) + _UNITS_BIG[idx]
        zero_pending = False
    return out


def _group_capital(g: int) -> str:
    digits = [int(c) for c in f"{g:04d}"]
    out = ""
    zero = False
    started = False
    for pos, d in enumerate(digits):
        unit = _UNITS_SMALL[3 - pos]
        if d == 0:
            zero = started
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[d] + unit
        started = True
    return out


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
