"""Pure rules of the partner interface (no database): which events and API scopes each kind of partner organisation
may be given, the key format and its digest, webhook signatures, the retry schedule, endpoint URLs and IP allow-lists.

Figures (key validity, rotation grace, retry schedule) are rule parameters, defined here and read through
``bankcrm.core.params`` by the services; the functions below take them as arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext_lazy as _

from bankcrm.core.params import define

# ---- Parameters -------------------------------------------------------------------------------------------------------
define("partners.key_valid_days", "days", 365, _("合作机构 API 密钥默认有效期"), "ADR 0016", minimum=1, maximum=730)
define("partners.key_grace_hours", "hours", 72, _("密钥轮换后旧密钥宽限期"), "ADR 0016", maximum=720)
define("partners.webhook_retry_first", "minutes", 1, _("推送失败后首次重试间隔"), "ADR 0016", minimum=1)
define("partners.webhook_retry_cap", "minutes", 60, _("推送重试最长间隔"), "ADR 0016", minimum=1)
define("partners.webhook_max_attempts", "int", 12, _("推送最多尝试次数（此后标记为放弃）"), "ADR 0016", minimum=1, maximum=30)
define("partners.secret_grace_hours", "hours", 24, _("签名密钥轮换后旧密钥并行签名时长"), "ADR 0016", maximum=168)

# ---- Kinds, events, scopes --------------------------------------------------------------------------------------------
INSURER, FUND_COMPANY, CLEARING_HOUSE, REGULATOR, OTHER = "insurer", "fund_company", "clearing_house", "regulator", "other"

SALE_SETTLED = "sale.settled"
SETTLEMENT_OUTWARD = "settlement.outward"
COMPLAINT_CLOSED = "complaint.closed"
TEST_PING = "test.ping"

EVENTS: dict[str, Any] = {
    SALE_SETTLED: _("代销产品成交（理财、基金、保险）"),
    SETTLEMENT_OUTWARD: _("跨行汇出清算（含冲正）"),
    COMPLAINT_CLOSED: _("监管转办投诉办结"),
}
EVENT_LABELS: dict[str, Any] = {**EVENTS, TEST_PING: _("测试事件")}

SCOPE_EVENTS = "events:read"
SCOPE_PRODUCTS = "products:read"
SCOPE_NAV = "nav:write"
SCOPES: dict[str, Any] = {
    SCOPE_EVENTS: _("拉取本机构事件（推送的补偿通道）"),
    SCOPE_PRODUCTS: _("查询本机构关联产品"),
    SCOPE_NAV: _("报送本机构产品净值"),
}

# What each kind of organisation can be given at all; an administrator picks a subset per partner.
KIND_EVENTS: dict[str, tuple[str, ...]] = {
    INSURER: (SALE_SETTLED,),
    FUND_COMPANY: (SALE_SETTLED,),
    CLEARING_HOUSE: (SETTLEMENT_OUTWARD,),
    REGULATOR: (COMPLAINT_CLOSED,),
    OTHER: (),
}
KIND_SCOPES: dict[str, tuple[str, ...]] = {
    INSURER: (SCOPE_EVENTS, SCOPE_PRODUCTS),
    FUND_COMPANY: (SCOPE_EVENTS, SCOPE_PRODUCTS, SCOPE_NAV),
    CLEARING_HOUSE: (SCOPE_EVENTS,),
    REGULATOR: (SCOPE_EVENTS,),
    OTHER: (SCOPE_EVENTS,),
}
KINDS_WITH_PRODUCTS = (INSURER, FUND_COMPANY)


def invalid_events(kind: str, events: list[str]) -> list[str]:
    """Events not available to this kind of organisation."""
    allowed = set(KIND_EVENTS.get(kind, ()))
    return sorted(e for e in events if e not in allowed)


def invalid_scopes(kind: str, scopes: list[str]) -> list[str]:
    allowed = set(KIND_SCOPES.get(kind, ()))
    return sorted(s for s in scopes if s not in allowed)


# ---- Partner codes ----------------------------------------------------------------------------------------------------
CODE_RE = re.compile(r"^[A-Z][A-Z0-9-]{1,19}$")


def valid_code(code: str) -> bool:
    return bool(CODE_RE.match(code or ""))


# ---- API keys ---------------------------------------------------------------------------------------------------------
KEY_PREFIX = "bkp_"
_KEY_RE = re.compile(r"^bkp_([0-9a-f]{12})_([A-Za-z0-9_-]{32,64})$")


@dataclass(frozen=True)
class NewKey:
    key_id: str      # public: shown to people, logged, printed in lists ("bkp_" + 12 hex)
    secret: str      # the part only the partner holds
    token: str       # what the partner sends: bkp_<id>_<secret>


def new_key() -> NewKey:
    kid = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewKey(key_id=f"{KEY_PREFIX}{kid}", secret=secret, token=f"{KEY_PREFIX}{kid}_{secret}")


def parse_token(token: str) -> tuple[str, str] | None:
    """``bkp_<12 hex>_<secret>`` → (key id, secret); anything else None."""
    m = _KEY_RE.match((token or "").strip())
    return (f"{KEY_PREFIX}{m.group(1)}", m.group(2)) if m else None


def key_id_of(token: str) -> str:
    """The public key id a presented token claims, for the call log ("" when it does not look like a key)."""
    m = re.match(r"^bkp_([0-9a-f]{12})(?:_|$)", (token or "").strip())
    return f"{KEY_PREFIX}{m.group(1)}" if m else ""


def secret_digest(server_key: bytes, key_id: str, secret: str) -> str:
    """HMAC-SHA256 under a server key kept outside the database, bound to the key id: a stolen table alone cannot be
    used to test guesses, and a digest cannot be moved to another key row."""
    return hmac.new(server_key, f"partners.api_key\x00{key_id}\x00{secret}".encode(), hashlib.sha256).hexdigest()


def customer_ref(server_key: bytes, partner_code: str, customer_id: int) -> str:
    """A per-partner pseudonym of a customer: the same customer gives the same reference to one partner (so it can
    match a second purchase to the first) and unlinkable references to two partners; no identity is disclosed."""
    digest = hmac.new(server_key, f"partners.customer\x00{partner_code}\x00{customer_id}".encode(), hashlib.sha256)
    return "cus_" + digest.hexdigest()[:20]


# ---- Webhook signatures -----------------------------------------------------------------------------------------------
SIGNATURE_HEADER = "X-Bankcrm-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under the endpoint's signing secret."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secrets_in_force: list[str], timestamp: int, body: bytes) -> str:
    """``t=<unix>,v1=<hex>[,v1=<hex>]``: one v1 per secret in force (the new one first during a rotation)."""
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets_in_force)])


def verify_signature(secret: str, header: str, body: bytes, *, now: int, tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a partner runs on its side (documented in docs/operations.md): the timestamp is recent and one of the v1
    values matches, compared in constant time."""
    parts = [p.split("=", 1) for p in (header or "").split(",") if "=" in p]
    ts = next((v for k, v in parts if k.strip() == "t"), "")
    if not ts.isdigit() or abs(now - int(ts)) > tolerance:
        return False
    expected = sign(secret, int(ts), body)
    return any(k.strip() == "v1" and hmac.compare_digest(v.strip(), expected) for k, v in parts)


def new_signing_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


# ---- Retries ----------------------------------------------------------------------------------------------------------
def retry_delay_seconds(attempts: int, *, first_minutes: int, cap_minutes: int) -> int:
    """Delay before the next attempt after ``attempts`` failed ones: first, 2×, 4×, … capped."""
    if attempts < 1:
        return 0
    return min(first_minutes * 60 * 2 ** min(attempts - 1, 30), cap_minutes * 60)


def gives_up(attempts: int, *, max_attempts: int) -> bool:
    return attempts >= max_attempts


def delivered(status_code: int | None) -> bool:
    return status_code is not None and 200 <= status_code < 300


# ---- Endpoint URLs and IP allow-lists ----------------------------------------------------------------------------------
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def url_problem(url: str, *, allow_loopback_http: bool) -> Any:
    """None when the URL may receive webhooks, else the reason (HTTPS only; plain HTTP to the loopback interface only
    where the settings allow it, for demos and tests; no credentials in the URL)."""
    url = (url or "").strip()
    if len(url) > 500:
        return _("地址过长（最多500个字符）")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _port = parts.port
    except ValueError:
        return _("地址格式不正确")
    if not host:
        return _("地址格式不正确")
    if parts.username or parts.password:
        return _("地址中不能包含用户名或密码")
    if parts.fragment:
        return _("地址中不能包含 # 片段")
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_loopback_http and host in LOOPBACK_HOSTS:
        return None
    return _("推送地址必须使用 HTTPS")


def parse_allowlist(text: str) -> tuple[list[str], list[str]]:
    """One IPv4/IPv6 address or CIDR network per line (or comma-separated) → (normalised networks, bad entries)."""
    good, bad = [], []
    for raw in re.split(r"[\s,;]+", text or ""):
        if not raw:
            continue
        try:
            good.append(str(ipaddress.ip_network(raw, strict=False)))
        except ValueError:
            bad.append(raw)
    return sorted(set(good)), bad


def ip_allowed(ip: str, allowlist: list[str]) -> bool:
    """An empty list allows every address (the partner connects through the bank's gateway)."""
    if not allowlist:
        return True
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(n, strict=False) for n in allowlist)
