"""Navigation (合作机构: partners, deliveries, the API call log) and the inbox of administrators: deliveries abandoned
after their last retry, and live API keys that expire within 30 days (a key is renewed by rotating it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bankcrm.core import access
from bankcrm.core.inbox import InboxItem, register_provider
from bankcrm.core.navigation import NavEntry, register

PARTNERS = _("合作机构")
register(NavEntry(PARTNERS, _("合作机构"), "partners:list", "partners.view", "building", 95))
register(NavEntry(PARTNERS, _("推送记录"), "partners:deliveries", "partners.view", "send", 96))
register(NavEntry(PARTNERS, _("接口调用日志"), "partners:calls", "partners.view", "journal-code", 97))

EXPIRY_WARNING = timedelta(days=30)


def _dead(actor: Any):
    from .models import WebhookDelivery

    if not access.can(actor, "partners.manage"):
        return WebhookDelivery.objects.none()
    return WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DEAD)


def _expiring(actor: Any):
    from .models import ApiKey

    if not access.can(actor, "partners.manage"):
        return ApiKey.objects.none()
    now = timezone.now()
    return ApiKey.objects.filter(revoked_at__isnull=True, replaced_by__isnull=True, expires_at__gt=now,
                                 expires_at__lte=now + EXPIRY_WARNING, partner__status="active")


def _items(actor: Any):
    from django.db.models import Count

    dead = (_dead(actor).values("endpoint__partner_id", "endpoint__partner__code", "endpoint__partner__name")
            .annotate(n=Count("id")).order_by("endpoint__partner__code"))
    for row in dead[:20]:
        yield InboxItem(kind="partner_delivery_dead", kind_label=_("推送失败"),
                        title=gettext("%(p)s：%(n)d 条推送已放弃重试") % {"p": row["endpoint__partner__name"], "n": row["n"]},
                        url=reverse("partners:deliveries") + f"?partner={row['endpoint__partner_id']}&status=dead",
                        subtitle=row["endpoint__partner__code"])
    for key in _expiring(actor).select_related("partner").order_by("expires_at")[:20]:
        yield InboxItem(kind="partner_key_expiring", kind_label=_("密钥即将到期"),
                        title=gettext("%(p)s 的 API 密钥 %(k)s 即将到期") % {"p": key.partner.name, "k": key.key_id},
                        url=reverse("partners:detail", args=[key.partner_id]) + "#keys", due_at=key.expires_at,
                        subtitle=gettext("请轮换密钥并通知对方更换"))


def _count(actor: Any) -> int:
    if not access.can(actor, "partners.manage"):
        return 0
    return _dead(actor).values("endpoint__partner_id").distinct().count() + _expiring(actor).count()


register_provider("partners", _items, _count)
