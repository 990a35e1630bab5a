"""Field validation for customer data: identity documents, phones, e-mail. Errors carry the field and a Chinese
message, so forms show them on the field and the API returns them in `fields`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from bankcrm.core.errors import ValidationFailed
from bankcrm.core.identifiers import IdentifierError, normalise_mobile, parse_resident_id, validate_uscc

from .models import Customer

T = Customer.IdType
RIC_TYPES = {T.RESIDENT_ID, T.HMT_RESIDENCE, T.FOREIGN_PERMANENT}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DOC_RE = re.compile(r"^[A-Z0-9]{5,20}$")


@dataclass(frozen=True)
class CleanIdentity:
    id_type: str
    id_number: str
    birth_date: date | None
    gender: str


def _fail(field: str, code: str, message) -> ValidationFailed:
    return ValidationFailed(code, str(message), fields={field: [str(message)]})


def clean_identity(kind: str, id_type: str, id_number: str, *, today: date | None = None) -> CleanIdentity:
    """Check the identity document and derive birth date and gender from an ID number (never typed twice)."""
    number = re.sub(r"\s", "", id_number or "").upper()
    if not number:
        raise _fail("id_number", "id_required", _("请填写证件号码"))
    if kind == Customer.Kind.COMPANY:
        if id_type != T.USCC:
            raise _fail("id_type", "company_needs_uscc", _("企业客户的证件类型应为统一社会信用代码"))
        try:
            return CleanIdentity(id_type, validate_uscc(number), None, "")
        except IdentifierError as exc:
            raise _fail("id_number", exc.code, exc.message) from None
    if id_type == T.USCC:
        raise _fail("id_type", "person_no_uscc", _("个人客户不能使用统一社会信用代码"))
    if id_type in RIC_TYPES:
        try:
            ric = parse_resident_id(number, today=today)
        except IdentifierError as exc:
            raise _fail("id_number", exc.code, exc.message) from None
        prefix = ric.number[:2]
        if id_type == T.HMT_RESIDENCE and ric.number[:6] not in ("810000", "820000", "830000"):
            raise _fail("id_number", "hmt_prefix", _("港澳台居民居住证号码应以810000、820000或830000开头"))
        if id_type == T.FOREIGN_PERMANENT and not ric.number.startswith("9"):
            raise _fail("id_number", "foreign_prefix", _("外国人永久居留身份证号码应以9开头"))
        if id_type == T.RESIDENT_ID and (prefix in ("81", "82", "83") or ric.number.startswith("9")):
            raise _fail("id_type", "id_type_mismatch", _("该号码不是居民身份证号码，请选择正确的证件类型"))
        return CleanIdentity(id_type, ric.number, ric.birth_date, ric.gender)
    if id_type not in T.values:
        raise _fail("id_type", "id_type_invalid", _("无效的证件类型"))
    if not DOC_RE.match(number):
        raise _fail("id_number", "doc_format", _("证件号码应为5至20位字母或数字"))
    return CleanIdentity(id_type, number, None, "")


def clean_mobile(value: str, field: str = "mobile") -> str:
    if not (value or "").strip():
        return ""
    try:
        return normalise_mobile(value)
    except IdentifierError as exc:
        raise _fail(field, exc.code, exc.message) from None


def clean_email(value: str) -> str:
    value = (value or "").strip().lower()
    if value and not EMAIL_RE.match(value):
        raise _fail("email", "email_format", _("电子邮箱格式不正确"))
    return value
