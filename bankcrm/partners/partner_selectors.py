"""Scoped reads of partners, keys, endpoints, events, deliveries and the call log.

Partner organisations are bank-wide (not branch data): staff holding ``partners.view`` (administrators, compliance)
see them all; anyone else sees nothing, and an object they may not see is NotFound. The partner-facing reads
(``*_for_partner``) are scoped to the authenticated partner.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access
from bankcrm.core.errors import NotFound

from .models import ApiCall, ApiKey, Partner, PartnerEvent, PartnerProduct, WebhookDelivery, WebhookEndpoint

D = WebhookDelivery.Status


def _sees(actor: Any) -> bool:
    return access.can(actor, "partners.view")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def partners_visible(actor: Any, *, q: str = "", kind: str = "", status: str = "") -> QuerySet[Partner]:
    if not _sees(actor):
        return Partner.objects.none()
    qs = Partner.objects.all()
    if q:
        qs = qs.filter(Q(code__icontains=q) | Q(name__icontains=q))
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    now = timezone.now()
    live_keys = Q(keys__revoked_at__isnull=True, keys__expires_at__gt=now) & (
        Q(keys__replaced_by__isnull=True) | Q(keys__grace_until__gt=now))
    return qs.annotate(n_keys=Count("keys", filter=live_keys, distinct=True),
                       n_endpoints=Count("endpoints", filter=Q(endpoints__active=True), distinct=True),
                       last_call_at=Max("keys__last_used_at")).order_by("code")


def partner_get(actor: Any, partner_id: Any, *, for_update: bool = False) -> Partner:
    pk = _int(partner_id)
    qs = Partner.objects.all() if _sees(actor) else Partner.objects.none()
    if for_update:
        qs = qs.select_for_update()
    p = qs.filter(pk=pk).first() if pk is not None else None
    if p is None:
        raise NotFound("partner_not_found", _("合作机构不存在或无权查看"))
    return p


def key_get(actor: Any, key_pk: Any, *, for_update: bool = False) -> ApiKey:
    pk = _int(key_pk)
    qs = ApiKey.objects.select_related("partner") if _sees(actor) else ApiKey.objects.none()
    if for_update:
        qs = qs.select_for_update(of=("self",))
    k = qs.filter(pk=pk).first() if pk is not None else None
    if k is None:
        raise NotFound("partner_key_not_found", _("API 密钥不存在或无权查看"))
    return k


def endpoint_get(actor: Any, endpoint_id: Any, *, for_update: bool = False) -> WebhookEndpoint:
    pk = _int(endpoint_id)
    qs = WebhookEndpoint.objects.select_related("partner") if _sees(actor) else WebhookEndpoint.objects.none()
    if for_update:
        qs = qs.select_for_update(of=("self",))
    e = qs.filter(pk=pk).first() if pk is not None else None
    if e is None:
        raise NotFound("endpoint_not_found", _("推送地址不存在或无权查看"))
    return e


def delivery_get(actor: Any, delivery_id: Any, *, for_update: bool = False) -> WebhookDelivery:
    pk = _int(delivery_id)
    qs = WebhookDelivery.objects.select_related("endpoint", "endpoint__partner", "event") if _sees(actor) \
        else WebhookDelivery.objects.none()
    if for_update:
        qs = qs.select_for_update(of=("self",))
    d = qs.filter(pk=pk).first() if pk is not None else None
    if d is None:
        raise NotFound("delivery_not_found", _("推送记录不存在或无权查看"))
    return d


def keys_of(partner: Partner) -> QuerySet[ApiKey]:
    return partner.keys.select_related("created_by", "revoked_by", "replaced_by").order_by("-created_at", "-id")


def endpoints_of(partner: Partner) -> QuerySet[WebhookEndpoint]:
    return partner.endpoints.annotate(
        n_open=Count("deliveries", filter=Q(deliveries__status__in=[D.PENDING, D.FAILED])),
        n_dead=Count("deliveries", filter=Q(deliveries__status=D.DEAD)),
        last_delivered_at=Max("deliveries__delivered_at")).order_by("id")


def products_of(partner: Partner) -> QuerySet[PartnerProduct]:
    return partner.products.select_related("product").order_by("product__code")


def linkable_products(partner: Partner) -> QuerySet[Any]:
    """Shelf products of the kinds this partner issues (insurance for insurers; funds and wealth products for fund
    and wealth management companies) that no other partner has claimed."""
    from bankcrm.wealth.models import WealthProduct

    from .partner_services import PRODUCT_KINDS

    kinds = PRODUCT_KINDS.get(partner.kind, ())
    taken = PartnerProduct.objects.exclude(partner=partner).values("product_id")
    return WealthProduct.objects.filter(kind__in=kinds).exclude(pk__in=taken).order_by("code")


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, timezone.get_current_timezone())


def deliveries_visible(actor: Any, *, partner_id: Any = None, status: str = "", event_type: str = "",
                       endpoint_id: Any = None) -> QuerySet[WebhookDelivery]:
    if not _sees(actor):
        return WebhookDelivery.objects.none()
    qs = WebhookDelivery.objects.select_related("endpoint", "endpoint__partner", "event")
    if _int(partner_id) is not None:
        qs = qs.filter(endpoint__partner_id=_int(partner_id))
    if _int(endpoint_id) is not None:
        qs = qs.filter(endpoint_id=_int(endpoint_id))
    if status:
        qs = qs.filter(status=status)
    if event_type:
        qs = qs.filter(event__type=event_type)
    return qs.order_by("-created_at", "-id")


def calls_visible(actor: Any, *, partner_id: Any = None, outcome: str = "", denied: bool | None = None,
                  since: date | None = None, until: date | None = None, key_id: str = "") -> QuerySet[ApiCall]:
    """The call log, newest first. ``denied`` True: only refused calls (4xx/5xx); False: only answered ones."""
    if not _sees(actor):
        return ApiCall.objects.none()
    qs = ApiCall.objects.select_related("partner")
    if _int(partner_id) is not None:
        qs = qs.filter(partner_id=_int(partner_id))
    if outcome:
        qs = qs.filter(outcome=outcome)
    if key_id:
        qs = qs.filter(key_id=key_id.strip())
    if denied is True:
        qs = qs.filter(status__gte=400)
    elif denied is False:
        qs = qs.filter(status__lt=400)
    if since:
        qs = qs.filter(occurred_at__gte=_day_start(since))
    if until:
        qs = qs.filter(occurred_at__lt=_day_start(until) + timedelta(days=1))
    return qs.order_by("-occurred_at", "-id")


# ---- The partner's own view ---------------------------------------------------------------------------------------------
def events_for_partner(partner: Partner, *, after: int | None = None, event_type: str = "") -> QuerySet[PartnerEvent]:
    """The partner's events in the order they were created (``after``: the last ``seq`` it has already seen)."""
    qs = PartnerEvent.objects.filter(partner=partner).prefetch_related("deliveries")
    if after is not None:
        qs = qs.filter(pk__gt=after)
    if event_type:
        qs = qs.filter(type=event_type)
    return qs.order_by("id")


def product_for_partner(partner: Partner, code: str) -> Any:
    """A product linked to the partner by its code; any other product — another issuer's or none — is NotFound."""
    link = (PartnerProduct.objects.select_related("product")
            .filter(partner=partner, product__code=(code or "").strip()).first())
    if link is None:
        raise NotFound("product_not_found", _("产品不存在或不属于本机构"))
    return link.product
