"""Demo partners: the insurer and a fund company whose products are on the demo shelf, and the payment clearing
house; each with an API key for its systems.

- 康宁人寿 (insurer): its two insurance products linked; a key for its policy system (events, products), pulling
  its sales through ``GET /partner/events``.
- 瑞丰基金 (fund company): its bond fund linked; a key for its TA system (events, products, NAV) and a webhook
  endpoint of its test environment that is not up yet (``https://127.0.0.1:8443/…``: the connection is refused),
  so the sales of its fund show as failed deliveries, retried by the minute job with backoff (1, 2, 4 … minutes)
  while the demo runs; its key was rotated at seeding and the old one is in its grace period.
- 城银清算 (clearing house): outward interbank transfers of the demo's ledger history as ``settlement.outward``
  events, pulled with its key.

The partners then make a few real calls through the partner API (read their profile, list products, pull events; a
NAV sent for another fund house's product and a NAV from the insurer, whose key lacks the scope), so the call log
shows answered and refused calls. (The demo's NAV history stays the operations managers' own.)
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from bankcrm.core import demo, outbox

from . import partner_rules as rules

INSURER_NAME = "康宁人寿保险股份有限公司"
FUND_ISSUER = "瑞丰基金管理有限公司"
FAILING_URL = "https://127.0.0.1:8443/ruifeng/uat/bankcrm-webhooks"


def _admin(ctx: demo.SeedContext) -> Any:
    from bankcrm.org.models import Staff

    admin = ctx.state.get("admin")
    if admin is not None:
        return admin
    return next((s for s in Staff.objects.filter(is_active=True).order_by("pk") if "admin" in s.roles), None)


def _call(token: str, method: str, path: str, body: dict | None = None) -> int:
    """One real call through the whole stack (middleware, authentication, scopes, the call log)."""
    import json

    from django.test import Client

    host = next((h for h in settings.ALLOWED_HOSTS if h != "*" and not h.startswith(".")), "localhost")
    client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")
    if method == "get":
        return client.get(path).status_code
    return client.post(path, data=json.dumps(body or {}), content_type="application/json").status_code


def seed_partners(ctx: demo.SeedContext) -> None:
    from bankcrm.wealth.models import WealthProduct

    from . import partner_services as svc
    from .models import ApiCall, PartnerEvent, WebhookDelivery
    from .webhook_services import dispatch_due

    admin = _admin(ctx)
    if admin is None:
        return
    with transaction.atomic():
        insurer = svc.partner_create(
            actor=admin, code="KNLIFE", name=INSURER_NAME, kind=rules.INSURER, contact="银保合作部 · 渠道对接岗",
            allowed_events=[rules.SALE_SETTLED], allowed_scopes=[rules.SCOPE_EVENTS, rules.SCOPE_PRODUCTS],
            note="代理销售康宁人寿年金险与增额终身寿险；成交数据由保单系统每日拉取。")
        svc.partner_products_set(actor=admin, partner_id=insurer.pk, product_ids=list(
            WealthProduct.objects.filter(kind="insurance", issuer=INSURER_NAME).values_list("pk", flat=True)))
        _k, insurer_token = svc.key_issue(actor=admin, partner_id=insurer.pk, label="保单系统对接",
                                          scopes=[rules.SCOPE_EVENTS, rules.SCOPE_PRODUCTS])
        fund = svc.partner_create(
            actor=admin, code="RFFUND", name=FUND_ISSUER, kind=rules.FUND_COMPANY, contact="TA 运营中心",
            allowed_events=[rules.SALE_SETTLED], allowed_scopes=[rules.SCOPE_EVENTS, rules.SCOPE_PRODUCTS, rules.SCOPE_NAV],
            ip_allowlist="127.0.0.0/8\n10.20.0.0/16", note="瑞丰稳健债券代销；每个交易日 20:00 前报送净值。")
        svc.partner_products_set(actor=admin, partner_id=fund.pk, product_ids=list(
            WealthProduct.objects.filter(kind__in=["fund", "wealth"], issuer=FUND_ISSUER).values_list("pk", flat=True)))
        first_key, _t = svc.key_issue(actor=admin, partner_id=fund.pk, label="TA 系统对接",
                                      scopes=[rules.SCOPE_EVENTS, rules.SCOPE_PRODUCTS, rules.SCOPE_NAV])
        _new, fund_token = svc.key_rotate(actor=admin, key_pk=first_key.pk, grace_hours=48)
        svc.endpoint_create(actor=admin, partner_id=fund.pk, url=FAILING_URL, events=[rules.SALE_SETTLED],
                            description="瑞丰基金测试环境接收端（对方尚未上线）")
        house = svc.partner_create(
            actor=admin, code="CSCLEAR", name="城银支付清算中心", kind=rules.CLEARING_HOUSE, contact="清算运行部",
            allowed_events=[rules.SETTLEMENT_OUTWARD], allowed_scopes=[rules.SCOPE_EVENTS],
            note="跨行汇出清算；对方每 5 分钟拉取一次事件。")
        _k, house_token = svc.key_issue(actor=admin, partner_id=house.pk, label="清算前置机",
                                        scopes=[rules.SCOPE_EVENTS])
    # the facts so far become events (sales of the linked products, outward transfers of the ledger history)
    outbox.drain(["partners_sales", "partners_settlements", "partners_complaints"])
    dispatch_due()  # the first attempt of each: refused; the minute job retries them with backoff while the demo runs
    # a few real calls
    statuses = [_call(fund_token, "get", "/api/v1/partner/me/"), _call(fund_token, "get", "/api/v1/partner/products/")]
    other = WealthProduct.objects.filter(kind="fund").exclude(issuer=FUND_ISSUER).order_by("code").first()
    if other is not None:  # its TA system also sent another fund house's NAV: 404, the shelf stays untouched
        statuses.append(_call(fund_token, "post", f"/api/v1/partner/products/{other.code}/navs/",
                              {"nav_date": timezone.localdate().isoformat(), "nav_x10000": 10432}))
    statuses += [_call(insurer_token, "get", "/api/v1/partner/events/?page_size=20"),
                 _call(insurer_token, "post", "/api/v1/partner/products/KN-ANN-10/navs/",
                       {"nav_date": timezone.localdate().isoformat(), "nav_x10000": 10000}),
                 _call(house_token, "get", "/api/v1/partner/events/")]
    events = PartnerEvent.objects.count()
    failed = WebhookDelivery.objects.filter(status__in=["failed", "dead"]).count()
    ctx.state["partners"] = {"insurer": insurer.pk, "fund": fund.pk, "house": house.pk}
    ctx.out(f"partners: 合作机构 3 家（保险公司、基金公司、支付清算机构），事件 {events} 条，推送失败待重试 {failed} 条，"
            f"接口调用 {ApiCall.objects.count()} 次（HTTP {', '.join(map(str, statuses))}）")


demo.register("partners", 70, seed_partners)
