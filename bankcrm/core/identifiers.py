"""Chinese identifiers as pure functions (DOMAIN_RULES.md §2). No database access, property-tested."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RIC_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


class IdentifierError(ValueError):
    def __init__(self, code: str, message) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ResidentId:
    number: str
    birth_date: date
    gender: str  # "M" or "F"
    region: str


def ric_check_char(first17: str) -> str:
    return RIC_CHECK[sum(int(c) * w for c, w in zip(first17, RIC_WEIGHTS, strict=True)) % 11]


def parse_resident_id(value: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID (GB 11643-1999), including HK/Macau/Taiwan residence permits and the
    2023 permanent-residence card, which use the same check. Returns birth date and gender derived from it."""
    number = (value or "").strip().upper()
    if len(number) != 18:
        raise IdentifierError("id_length", _("身份证号码应为18位"))
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise IdentifierError("id_format", _("身份证号码前17位应为数字，最后一位为数字或X"))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentifierError("id_birth_date", _("身份证号码中的出生日期不存在")) from None
    if born > (today or date.today()) or born.year < 1880:
        raise IdentifierError("id_birth_date", _("身份证号码中的出生日期不合理"))
    if ric_check_char(number[:17]) != number[17]:
        raise IdentifierError("id_checksum", _("身份证号码校验位错误，请核对"))
    return ResidentId(number, born, "M" if int(number[16]) % 2 else "F", number[:6])


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: str) -> str:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise IdentifierError("uscc_length", _("统一社会信用代码应为18位"))
    if any(c not in USCC_ALPHABET for c in code):
        raise IdentifierError("uscc_format", _("统一社会信用代码含有无效字符（不使用 I、O、Z、S、V）"))
    if uscc_check_char(code[:17]) != code[17]:
        raise IdentifierError("uscc_checksum", _("统一社会信用代码校验位错误，请核对"))
    return code


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def validate_card(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value or "")
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        raise IdentifierError("card_format", _("银行卡号应为13至19位数字"))
    if not luhn_ok(digits):
        raise IdentifierError("card_checksum", _("银行卡号校验失败，请核对"))
    return digits


def normalise_mobile(value: str) -> str:
    """Mainland mobile → E.164 (+8613800138000)."""
    compact = re.sub(r"[\s-]", "", value or "")
    m = MOBILE_RE.match(compact)
    if not m:
        raise IdentifierError("mobile_format", _("手机号码格式不正确（应为1开头的11位号码）"))
    return "+86" + m.group(1)
