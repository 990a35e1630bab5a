"""State changes of partner organisations, their products, API keys and webhook endpoints.

Every function takes an explicit ``actor`` (an administrator: ``partners.manage``), runs in a transaction, validates
with stable error codes and records one audit event. Secrets never reach the audit trail, logs or URLs: a new API key
or signing secret is returned to the caller once, to be shown once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, crypto, params
from bankcrm.core.errors import PermissionDenied, RuleViolation, ValidationFailed, field_error

from . import partner_rules as rules
from . import partner_selectors as sel
from .models import ApiKey, Partner, PartnerProduct, WebhookEndpoint

PRODUCT_KINDS: dict[str, tuple[str, ...]] = {rules.INSURER: ("insurance",), rules.FUND_COMPANY: ("fund", "wealth")}
PARTNER_FIELDS = ["name", "contact", "allowed_events", "allowed_scopes", "ip_allowlist", "note"]
ENDPOINT_FIELDS = ["url", "description", "events", "active"]
MAX_KEY_DAYS = 730


def _now():
    return timezone.now()


def allow_loopback_http() -> bool:
    """Plain HTTP to 127.0.0.1 is allowed for demos and tests only (the setting defaults to DEBUG)."""
    return bool(getattr(settings, "BANKCRM_WEBHOOK_ALLOW_LOOPBACK_HTTP", settings.DEBUG))


def server_key() -> bytes:
    """The key of the API-key digests: the blind-index key, kept in the key file outside the database."""
    return crypto.keyring().blind_index_key


def _text(value: Any, field: str, *, minimum: int, maximum: int, message: str) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if len(text) < minimum:
        raise field_error(f"{field}_required", field, message)
    if len(text) > maximum:
        raise field_error(f"{field}_too_long", field, _("最多%(n)d个字") % {"n": maximum})
    return text


def _list(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split() if v]
    if not isinstance(value, (list, tuple, set)) or not all(isinstance(v, str) for v in value):
        raise field_error(f"{field}_invalid", field, _("格式不正确"))
    return sorted(set(value))


def _events(kind: str, value: Any) -> list[str]:
    events = _list(value, "allowed_events")
    bad = rules.invalid_events(kind, events)
    if bad:
        raise field_error("events_not_for_kind", "allowed_events",
                          _("该类型机构不能接收这些事件：%(e)s") % {"e": "、".join(bad)})
    return events


def _scopes(kind: str, value: Any, field: str = "allowed_scopes") -> list[str]:
    scopes = _list(value, field)
    bad = rules.invalid_scopes(kind, scopes)
    if bad:
        raise field_error("scopes_not_for_kind", field, _("该类型机构不能授权这些接口范围：%(s)s") % {"s": "、".join(bad)})
    return scopes


def _allowlist(value: Any) -> list[str]:
    text = "\n".join(value) if isinstance(value, (list, tuple)) else (value or "")
    if not isinstance(text, str):
        raise field_error("ip_allowlist_invalid", "ip_allowlist", _("格式不正确"))
    good, bad = rules.parse_allowlist(text)
    if bad:
        raise field_error("ip_allowlist_invalid", "ip_allowlist",
                          _("无法识别的地址：%(a)s（每行一个 IP 地址或网段，如 203.0.113.0/24）") % {"a": "、".join(bad[:5])})
    return good


def _snapshot(p: Partner) -> dict[str, Any]:
    return {f: getattr(p, f) for f in PARTNER_FIELDS}


# ---- Partners -----------------------------------------------------------------------------------------------------------
def partner_create(*, actor: Any, code: str, name: str, kind: str, contact: str = "", allowed_events: Any = (),
                   allowed_scopes: Any = (), ip_allowlist: Any = "", note: str = "") -> Partner:
    """Register a partner organisation. Its code and kind are fixed; what it may receive and do are subsets of what
    its kind allows (partner_rules.KIND_EVENTS / KIND_SCOPES)."""
    access.require(actor, "partners.manage")
    code = (code or "").strip().upper()
    if not rules.valid_code(code):
        raise field_error("partner_code_invalid", "code", _("机构代码为2–20位大写字母、数字或连字符，以字母开头"))
    if kind not in Partner.Kind.values:
        raise field_error("partner_kind_invalid", "kind", _("请选择机构类型"))
    name = _text(name, "name", minimum=2, maximum=100, message=_("请填写机构名称"))
    values = dict(contact=_text(contact, "contact", minimum=0, maximum=100, message=""),
                  allowed_events=_events(kind, allowed_events), allowed_scopes=_scopes(kind, allowed_scopes),
                  ip_allowlist=_allowlist(ip_allowlist), note=_text(note, "note", minimum=0, maximum=2000, message=""))
    with transaction.atomic():
        if Partner.objects.filter(code=code).exists():
            raise field_error("partner_code_taken", "code", _("机构代码 %(c)s 已存在") % {"c": code})
        p = Partner.objects.create(code=code, name=name, kind=kind, created_by=actor, **values)
        audit.record(actor=actor, verb="partners.partner_created", target=p,
                     after={"code": code, "kind": kind, **_snapshot(p)})
    return p


def partner_update(*, actor: Any, partner_id: Any, **changes: Any) -> Partner:
    """Change the name, contact, allowed events and scopes, IP allow-list or note (fields not given are kept).
    Narrowing the scopes narrows every key at once (a key acts with its scopes ∩ the partner's)."""
    access.require(actor, "partners.manage")
    unknown = set(changes) - set(PARTNER_FIELDS)
    if unknown:
        raise ValidationFailed("fields_not_editable", _("这些字段不能修改：%(f)s") % {"f": "、".join(sorted(unknown))})
    with transaction.atomic():
        p = sel.partner_get(actor, partner_id, for_update=True)
        before = _snapshot(p)
        if "name" in changes:
            p.name = _text(changes["name"], "name", minimum=2, maximum=100, message=_("请填写机构名称"))
        if "contact" in changes:
            p.contact = _text(changes["contact"], "contact", minimum=0, maximum=100, message="")
        if "allowed_events" in changes:
            p.allowed_events = _events(p.kind, changes["allowed_events"])
        if "allowed_scopes" in changes:
            p.allowed_scopes = _scopes(p.kind, changes["allowed_scopes"])
        if "ip_allowlist" in changes:
            p.ip_allowlist = _allowlist(changes["ip_allowlist"])
        if "note" in changes:
            p.note = _text(changes["note"], "note", minimum=0, maximum=2000, message="")
        after = _snapshot(p)
        diff = [f for f in PARTNER_FIELDS if before[f] != after[f]]
        if diff:
            p.save(update_fields=[*diff, "updated_at"])
            audit.record(actor=actor, verb="partners.partner_updated", target=p,
                         before={f: before[f] for f in diff}, after={f: after[f] for f in diff})
    return p


def partner_set_status(*, actor: Any, partner_id: Any, status: str, reason: str = "") -> Partner:
    """Suspend a partner (its keys stop answering at once, no new events are made for it, deliveries wait) or
    reactivate it. Suspending needs a reason."""
    access.require(actor, "partners.manage")
    if status not in Partner.Status.values:
        raise field_error("partner_status_invalid", "status", _("状态不正确"))
    reason = (reason or "").strip()[:200]
    if status == Partner.Status.SUSPENDED and len(reason) < 4:
        raise field_error("reason_required", "reason", _("请填写暂停原因（至少4个字）"))
    with transaction.atomic():
        p = sel.partner_get(actor, partner_id, for_update=True)
        if p.status == status:
            raise RuleViolation("partner_status_unchanged", _("合作机构已是该状态"))
        before = {"status": p.status}
        p.status = status
        p.suspended_reason = reason if status == Partner.Status.SUSPENDED else ""
        p.save(update_fields=["status", "suspended_reason", "updated_at"])
        verb = "partners.partner_suspended" if status == Partner.Status.SUSPENDED else "partners.partner_activated"
        audit.record(actor=actor, verb=verb, target=p, before=before, after={"status": status}, reason=reason)
    return p


def partner_products_set(*, actor: Any, partner_id: Any, product_ids: Any) -> list[str]:
    """The shelf products this partner issues (replaces the list). Insurers: insurance; fund and wealth management
    companies: funds and wealth products. A product belongs to one partner only. Returns the product codes."""
    from bankcrm.wealth.models import WealthProduct

    access.require(actor, "partners.manage")
    try:
        wanted = sorted({int(x) for x in (product_ids or [])})
    except (TypeError, ValueError):
        raise field_error("product_ids_invalid", "product_ids", _("产品选择不正确"))
    with transaction.atomic():
        p = sel.partner_get(actor, partner_id, for_update=True)
        kinds = PRODUCT_KINDS.get(p.kind, ())
        if wanted and not kinds:
            raise RuleViolation("partner_has_no_products", _("该类型机构不关联产品"))
        products = {w.pk: w for w in WealthProduct.objects.filter(pk__in=wanted)}
        missing = [x for x in wanted if x not in products]
        wrong = [w.code for w in products.values() if w.kind not in kinds]
        if missing or wrong:
            raise field_error("product_not_linkable", "product_ids",
                              _("只能关联本机构发行类型的产品：%(c)s") % {"c": "、".join(wrong) or str(missing[0])})
        elsewhere = list(PartnerProduct.objects.filter(product_id__in=wanted).exclude(partner=p)
                         .values_list("product__code", flat=True))
        if elsewhere:
            raise field_error("product_linked_elsewhere", "product_ids",
                              _("这些产品已关联其他合作机构：%(c)s") % {"c": "、".join(sorted(elsewhere))})
        before = sorted(PartnerProduct.objects.filter(partner=p).values_list("product__code", flat=True))
        PartnerProduct.objects.filter(partner=p).exclude(product_id__in=wanted).delete()
        have = set(PartnerProduct.objects.filter(partner=p).values_list("product_id", flat=True))
        PartnerProduct.objects.bulk_create([PartnerProduct(partner=p, product_id=x, linked_by=actor)
                                            for x in wanted if x not in have])
        after = sorted(w.code for w in products.values())
        if before != after:
            audit.record(actor=actor, verb="partners.products_linked", target=p, before={"products": before},
                         after={"products": after})
    return after


# ---- API keys -----------------------------------------------------------------------------------------------------------
def _require_active(p: Partner) -> None:
    if p.status != Partner.Status.ACTIVE:
        raise RuleViolation("partner_suspended", _("合作机构已暂停，不能签发或轮换密钥"))


def _new_key(p: Partner, *, actor: Any, label: str, scopes: list[str], days: int, now) -> tuple[ApiKey, str]:
    nk = rules.new_key()
    key = ApiKey.objects.create(partner=p, key_id=nk.key_id, secret_digest=rules.secret_digest(server_key(), nk.key_id,
                                                                                               nk.secret),
                                label=label, scopes=scopes, created_at=now, created_by=actor,
                                expires_at=now + timedelta(days=days))
    return key, nk.token


def key_issue(*, actor: Any, partner_id: Any, label: str, scopes: Any, days: Any = None) -> tuple[ApiKey, str]:
    """Issue a key with some of the partner's allowed scopes. Returns the key and the token, which is shown once and
    never stored (only its keyed digest is)."""
    access.require(actor, "partners.manage")
    label = _text(label, "label", minimum=2, maximum=60, message=_("请填写密钥用途（至少2个字）"))
    now = _now()
    if days in (None, ""):
        days = params.value("partners.key_valid_days", now)
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise field_error("days_invalid", "days", _("有效期应为1至%(n)d天") % {"n": MAX_KEY_DAYS})
    if not 1 <= days <= MAX_KEY_DAYS:
        raise field_error("days_invalid", "days", _("有效期应为1至%(n)d天") % {"n": MAX_KEY_DAYS})
    with transaction.atomic():
        p = sel.partner_get(actor, partner_id, for_update=True)
        _require_active(p)
        wanted = _list(scopes, "scopes")
        if not wanted:
            raise field_error("scopes_required", "scopes", _("请至少选择一项接口范围"))
        outside = [s for s in wanted if s not in p.allowed_scopes]
        if outside:
            raise field_error("scope_not_allowed", "scopes",
                              _("超出该机构可授权的接口范围：%(s)s") % {"s": "、".join(outside)})
        key, token = _new_key(p, actor=actor, label=label, scopes=wanted, days=days, now=now)
        audit.record(actor=actor, verb="partners.key_issued", target=p,
                     after={"key_id": key.key_id, "label": label, "scopes": wanted, "expires_at": key.expires_at})
    return key, token


def key_rotate(*, actor: Any, key_pk: Any, grace_hours: Any = None) -> tuple[ApiKey, str]:
    """Issue the successor of an active key (same purpose and scopes, a fresh validity); the old key keeps working
    until the grace end (``partners.key_grace_hours`` unless given, 0 = stops now), then stops. Returns the new key
    and its token (shown once)."""
    access.require(actor, "partners.manage")
    now = _now()
    if grace_hours in (None, ""):
        grace_hours = params.value("partners.key_grace_hours", now)
    try:
        grace_hours = int(grace_hours)
    except (TypeError, ValueError):
        raise field_error("grace_hours_invalid", "grace_hours", _("宽限期应为0至720小时"))
    if not 0 <= grace_hours <= 720:
        raise field_error("grace_hours_invalid", "grace_hours", _("宽限期应为0至720小时"))
    with transaction.atomic():
        old = sel.key_get(actor, key_pk, for_update=True)
        p = Partner.objects.select_for_update().get(pk=old.partner_id)
        _require_active(p)
        if old.state(now) != "active":
            raise RuleViolation("key_not_active", _("只能轮换使用中的密钥（已吊销、已过期或已轮换的密钥不能再轮换）"))
        scopes = [s for s in old.scopes if s in p.allowed_scopes]
        if not scopes:
            raise RuleViolation("scopes_required", _("该密钥的接口范围已全部不再授权，请签发新密钥"))
        days = params.value("partners.key_valid_days", now)
        new, token = _new_key(p, actor=actor, label=old.label, scopes=scopes, days=days, now=now)
        old.replaced_by, old.grace_until = new, min(now + timedelta(hours=grace_hours), old.expires_at)
        old.save(update_fields=["replaced_by", "grace_until"])
        audit.record(actor=actor, verb="partners.key_rotated", target=p,
                     before={"key_id": old.key_id}, after={"key_id": new.key_id, "old_key_until": old.grace_until,
                                                           "scopes": scopes, "expires_at": new.expires_at})
    return new, token


def key_revoke(*, actor: Any, key_pk: Any, reason: str) -> ApiKey:
    """Stop a key at once (also one in its rotation grace). A reason is required."""
    access.require(actor, "partners.manage")
    reason = _text(reason, "reason", minimum=2, maximum=200, message=_("请填写吊销原因"))
    with transaction.atomic():
        key = sel.key_get(actor, key_pk, for_update=True)
        if key.revoked_at:
            raise RuleViolation("key_already_revoked", _("该密钥已吊销"))
        key.revoked_at, key.revoked_by, key.revoke_reason = _now(), actor, reason
        key.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit.record(actor=actor, verb="partners.key_revoked", target=key.partner, after={"key_id": key.key_id},
                     reason=reason)
    return key


# ---- Webhook endpoints --------------------------------------------------------------------------------------------------
def _url(value: Any) -> str:
    url = (value or "").strip() if isinstance(value, str) else ""
    problem = rules.url_problem(url, allow_loopback_http=allow_loopback_http())
    if problem:
        raise field_error("endpoint_url_invalid", "url", problem)
    return url


def _endpoint_events(p: Partner, value: Any) -> list[str]:
    events = _list(value, "events")
    if not events:
        raise field_error("endpoint_events_required", "events", _("请至少订阅一种事件"))
    outside = [e for e in events if e not in p.allowed_events]
    if outside:
        raise field_error("event_not_allowed", "events", _("该机构未被授权接收：%(e)s") % {"e": "、".join(outside)})
    return events


def endpoint_create(*, actor: Any, partner_id: Any, url: str, events: Any, description: str = "",
                    active: bool = True) -> tuple[WebhookEndpoint, str]:
    """Add an HTTPS endpoint subscribed to some of the partner's allowed events. Returns it and its signing secret
    (encrypted at rest; shown this once to be handed to the partner)."""
    access.require(actor, "partners.manage")
    url = _url(url)
    description = _text(description, "description", minimum=0, maximum=100, message="")
    with transaction.atomic():
        p = sel.partner_get(actor, partner_id, for_update=True)
        events = _endpoint_events(p, events)
        secret = rules.new_signing_secret()
        ep = WebhookEndpoint.objects.create(partner=p, url=url, description=description, events=events,
                                            active=bool(active), secret=secret, created_by=actor)
        audit.record(actor=actor, verb="partners.endpoint_created", target=ep, target_repr=ep.audit_repr(),
                     after={"url": url, "events": events, "active": ep.active})
    return ep, secret


def endpoint_update(*, actor: Any, endpoint_id: Any, **changes: Any) -> WebhookEndpoint:
    """Change an endpoint's address, description, subscriptions or switch it on/off (fields not given are kept).
    Deliveries already made keep going to the endpoint's current address."""
    access.require(actor, "partners.manage")
    unknown = set(changes) - set(ENDPOINT_FIELDS)
    if unknown:
        raise ValidationFailed("fields_not_editable", _("这些字段不能修改：%(f)s") % {"f": "、".join(sorted(unknown))})
    with transaction.atomic():
        ep = sel.endpoint_get(actor, endpoint_id, for_update=True)
        before = {f: getattr(ep, f) for f in ENDPOINT_FIELDS}
        if "url" in changes:
            ep.url = _url(changes["url"])
        if "description" in changes:
            ep.description = _text(changes["description"], "description", minimum=0, maximum=100, message="")
        if "events" in changes:
            ep.events = _endpoint_events(ep.partner, changes["events"])
        if "active" in changes:
            ep.active = bool(changes["active"])
        after = {f: getattr(ep, f) for f in ENDPOINT_FIELDS}
        diff = [f for f in ENDPOINT_FIELDS if before[f] != after[f]]
        if diff:
            ep.save(update_fields=[*diff, "updated_at"])
            audit.record(actor=actor, verb="partners.endpoint_updated", target=ep, target_repr=ep.audit_repr(),
                         before={f: before[f] for f in diff}, after={f: after[f] for f in diff})
    return ep


def endpoint_rotate_secret(*, actor: Any, endpoint_id: Any) -> tuple[WebhookEndpoint, str]:
    """A new signing secret (shown once). For ``partners.secret_grace_hours`` every delivery is signed with both the
    new and the old secret (two v1 values), so the partner can switch without losing a message."""
    access.require(actor, "partners.manage")
    now = _now()
    with transaction.atomic():
        ep = sel.endpoint_get(actor, endpoint_id, for_update=True)
        secret = rules.new_signing_secret()
        grace = params.value("partners.secret_grace_hours", now)
        ep.previous_secret, ep.previous_valid_until = (ep.secret, now + timedelta(hours=grace)) if grace else ("", None)
        ep.secret, ep.secret_rotated_at = secret, now
        ep.save(update_fields=["secret", "previous_secret", "previous_valid_until", "secret_rotated_at", "updated_at"])
        audit.record(actor=actor, verb="partners.endpoint_secret_rotated", target=ep, target_repr=ep.audit_repr(),
                     after={"rotated_at": now, "old_secret_until": ep.previous_valid_until})
    return ep, secret


def secrets_in_force(ep: WebhookEndpoint, now) -> list[str]:
    """The secrets a delivery is signed with now: the current one, plus the previous one during its grace."""
    out = [ep.secret]
    if ep.previous_secret and ep.previous_valid_until and ep.previous_valid_until > now:
        out.append(ep.previous_secret)
    return out


# ---- What a partner does through its own API ----------------------------------------------------------------------------
def nav_post(*, principal: Any, product_code: str, nav_date: Any, nav_x10000: Any) -> Any:
    """A fund company publishes the NAV of one of its own products (``nav:write``; the view checked the scope). A
    product of another issuer, or no product, is NotFound — the partner learns nothing about the rest of the shelf.
    Audited by the wealth service under the partner's label (``P:<code>``)."""
    from bankcrm.wealth import services as wealth

    from .partner_auth import PartnerPrincipal

    if not isinstance(principal, PartnerPrincipal) or rules.SCOPE_NAV not in principal.scopes:
        raise PermissionDenied("partner_scope_missing", _("该 API 密钥未获授权：%(s)s") % {"s": rules.SCOPE_NAV},
                               capability="partners.api")
    with transaction.atomic():
        product = sel.product_for_partner(principal.partner, product_code)
        return wealth.nav_set_by_issuer(issuer=principal, product_id=product.pk, nav_date=nav_date,
                                        nav_x10000=nav_x10000)
