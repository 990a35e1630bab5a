"""The classification of every personal field (ARCHITECTURE.md §4, DOMAIN_RULES.md §6).

Each app declares its personal fields here at import time of its models module. `ENCRYPTED` fields are stored with
AES-256-GCM (and usually a blind index); `SCOPED` fields stay in plain form (the ledger computes on amounts, lists
sort by name) and are only shown within the actor's scope, every read logged; `NEVER_STORED` names fields the
product refuses to keep (passwords of customers, card verification values, PINs). A system check fails if an
encrypted model field is not classified here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PiiClass(StrEnum):
    ENCRYPTED = "encrypted"
    SCOPED = "scoped"
    NEVER_STORED = "never_stored"


class Sensitivity(StrEnum):
    C1 = "C1"
    C2 = "C2"
    C3 = "C3"


@dataclass(frozen=True)
class PersonalField:
    label: str  # "<app_label>.<Model>.<field>"
    pii_class: PiiClass
    sensitivity: Sensitivity
    mask_kind: str
    description: str


REGISTRY: dict[str, PersonalField] = {}


def declare(label: str, pii_class: PiiClass, sensitivity: Sensitivity, mask_kind: str, description: str) -> None:
    REGISTRY[label] = PersonalField(label, pii_class, sensitivity, mask_kind, description)


def field_info(label: str) -> PersonalField | None:
    return REGISTRY.get(label)


# Data the product never stores, whatever a form or import offers.
declare("*.cvv", PiiClass.NEVER_STORED, Sensitivity.C3, "generic", "银行卡安全码 CVV/CVN")
declare("*.pin", PiiClass.NEVER_STORED, Sensitivity.C3, "generic", "交易密码 / PIN")
declare("*.customer_password", PiiClass.NEVER_STORED, Sensitivity.C3, "generic", "客户登录密码")
declare("*.biometric_template", PiiClass.NEVER_STORED, Sensitivity.C3, "generic", "生物特征模板")
