"""The one masking module. Every screen, API response, export and print masks through these functions.

Defaults follow JR/T 0171-2020 practice (DOMAIN_RULES.md §6): ID 6+4, card 6+4, mobile 3+4; names in full to staff
who may see the person, surname + '*' in exports and to interns and temporary workers.
"""

from __future__ import annotations

import re

# Two-character compound surnames, so that 欧阳娜娜 masks as 欧阳** rather than 欧***.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 令狐 夏侯 轩辕 端木 独孤 南宫 西门 百里 呼延 万俟 闻人 澹台 公羊 赫连".split()
)


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:] if tail else value[:head] + "*" * (len(value) - head)


def mask_id_number(value: str | None) -> str:
    return _keep(value or "", 6, 4) if value else ""


def mask_card(value: str | None) -> str:
    return _keep(re.sub(r"\s", "", value or ""), 6, 4) if value else ""


def mask_mobile(value: str | None) -> str:
    if not value:
        return ""
    digits = value[-11:] if value.startswith("+86") else value
    return _keep(digits, 3, 4)


def mask_email(value: str | None) -> str:
    if not value or "@" not in value:
        return _keep(value or "", 1, 0) if value else ""
    local, _, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def surname_of(name: str) -> str:
    if not name:
        return ""
    if name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    if name.isascii():  # Latin-script names: keep the first word
        return name.split()[0] if " " in name else name[:1]
    return name[:1]


def mask_name(value: str | None) -> str:
    if not value:
        return ""
    surname = surname_of(value)
    return surname + "*" * max(1, len(value) - len(surname)) if not value.isascii() else surname + " *"


def mask_address(value: str | None) -> str:
    if not value:
        return ""
    return value[:6] + "****" if len(value) > 6 else "****"


def mask_generic(value: str | None) -> str:
    return _keep(value or "", 1, 1) if value else ""


MASKERS = {
    "id_number": mask_id_number,
    "card": mask_card,
    "account": mask_card,
    "mobile": mask_mobile,
    "email": mask_email,
    "name": mask_name,
    "address": mask_address,
    "generic": mask_generic,
}


def mask(kind: str, value: str | None) -> str:
    return MASKERS[kind](value)
