"""Wealth services: the product shelf, net asset values, qualified investors, the point-of-sale check, the sale from
proposal to settlement, cancellation in cooling-off, redemption, maturity and income distribution, return visits.

A sale moves in three steps, each one transaction with its audit event:

1. ``sale_propose`` — the customer manager proposes a product for an amount from one of the customer's accounts.
   The point-of-sale check (`pos_check`) runs every rule in one place and refuses with every rule named; only the
   双录 recording may still be missing (it is asked for at confirmation). The result is kept on the sale.
2. ``sale_confirm`` — the customer has read and confirmed the risk disclosure (and, where required, the sale was
   recorded in a 双录 booth). The check runs again with the recording; the amount is held on the account
   (`ledger.hold_place`). A public product settles at once; a private product waits for its cooling-off period, in
   which ``sale_cancel`` releases exactly the hold, free of charge.
3. ``sale_settle`` — under the sale's row lock and only from ``held``: the hold is captured by one posting to the
   bank's wealth clearing account (a time deposit opens its account instead), units are bought at the day's NAV, the
   holding grows, a return visit is assigned to someone other than the seller, and ``wealth.sold`` is published. The
   job `settle_due` settles every sale whose cooling-off has ended; killed and re-run, it settles each sale once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.approvals import services as approvals
from bankcrm.core import access, audit, outbox, params
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.errors import field_error as _field_error
from bankcrm.core.sequences import reserve
from bankcrm.core.workdays import working_days_after
from bankcrm.ledger import services as ledger
from bankcrm.ledger.models import Account, JournalEntry, Product

from . import rules
from .models import (
    NAV_ONE,
    Holding,
    Payout,
    ProductNav,
    QualifiedInvestor,
    Redemption,
    ReturnVisit,
    Sale,
    WealthProduct,
)

P, S = WealthProduct, Sale.Status
TOPIC_SOLD = "wealth.sold"
TOPIC_REDEEMED = "wealth.redeemed"
K = JournalEntry.Kind


def _now() -> datetime:
    return timezone.now()


def _int(value: Any, field: str, label: str, *, minimum: int = 0) -> int:
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise _field_error(f"{field}_invalid", field, _("%(l)s必须是整数") % {"l": label}) from None
    if isinstance(value, bool) or v < minimum:
        raise _field_error(f"{field}_invalid", field, _("%(l)s不能小于 %(m)s") % {"l": label, "m": minimum})
    return v


# ---- Product shelf --------------------------------------------------------------------------------------------------
PRODUCT_FIELDS = ("code", "name", "name_en", "kind", "issuer", "risk_level", "currency", "min_amount_fen", "step_fen",
                  "term_days", "open_ended", "subscribe_fee_bp", "redeem_fee_bp", "management_fee_bp", "benchmark_bp",
                  "sales_start", "sales_end", "maturity_date", "private", "ledger_product_id", "description",
                  "risk_disclosure")
DOCUMENT_FIELDS = ("description", "risk_disclosure")


def _clean_product(p: WealthProduct) -> None:
    """Every problem of a product's fields, each named on its field."""
    f: dict[str, list[str]] = {}
    if p.kind not in P.Kind.values:
        f["kind"] = [_("请选择产品类型")]
    if not (p.code or "").strip() or len(p.code) > 20:
        f["code"] = [_("产品代码必填（最多20位）")]
    if not (p.name or "").strip():
        f["name"] = [_("请填写产品名称")]
    if not (p.issuer or "").strip():
        f["issuer"] = [_("请填写发行机构")]
    if p.kind == P.Kind.DEPOSIT:
        if p.risk_level:
            f["risk_level"] = [_("定期存款不评风险等级，请填 0")]
        lp = Product.objects.filter(pk=p.ledger_product_id, kind=Product.Kind.TIME).first() if p.ledger_product_id else None
        if lp is None:
            f["ledger_product"] = [_("定期存款须对应一个定期存款产品")]
        elif lp.currency != p.currency:
            f["ledger_product"] = [_("对应存款产品的币种与本产品不一致")]
        if p.private:
            f["private"] = [_("定期存款不能设为私募")]
    elif not 1 <= (p.risk_level or 0) <= 5:
        f["risk_level"] = [_("风险等级必须是 R1–R5")]
    if p.currency not in ("CNY", "USD"):
        f["currency"] = [_("币种只能是 CNY 或 USD")]
    if (p.min_amount_fen or 0) <= 0:
        f["min_amount_fen"] = [_("起购金额必须大于零")]
    if (p.step_fen or 0) <= 0:
        f["step_fen"] = [_("递增金额必须大于零")]
    if not p.sales_start:
        f["sales_start"] = [_("请填写销售起始日")]
    if p.sales_end and p.sales_start and p.sales_end < p.sales_start:
        f["sales_end"] = [_("销售截止日不能早于起始日")]
    if p.maturity_date and p.sales_end and p.maturity_date <= p.sales_end:
        f["maturity_date"] = [_("到期日须晚于销售截止日")]
    elif p.maturity_date and p.sales_start and p.maturity_date <= p.sales_start:
        f["maturity_date"] = [_("到期日须晚于销售起始日")]
    if p.kind in (P.Kind.WEALTH, P.Kind.INSURANCE) and not p.open_ended and not p.maturity_date:
        f["maturity_date"] = [_("封闭式产品须填写到期日")]
    if p.kind == P.Kind.INSURANCE and p.open_ended:
        f["open_ended"] = [_("代理保险不能在本行赎回（退保由保险公司办理）")]
    if p.kind == P.Kind.INSURANCE and p.private:
        # the point-of-sale rules know a product as either insurance or private: a private insurance product would
        # lose the elderly-customer rule for insurance
        f["private"] = [_("代理保险不能设为私募")]
    if p.private and (p.risk_disclosure or "").strip() == "":
        f["risk_disclosure"] = [_("私募产品须上传风险揭示书")]
    for code in ("subscribe_fee_bp", "redeem_fee_bp"):
        if getattr(p, code) > 500:
            f[code] = [_("费率不能超过 5%（500 基点）")]
    if f:
        raise ValidationFailed("product_invalid", "；".join(m for ms in f.values() for m in ms), fields=f)


def product_save(*, actor: Any, product_id: int | None = None, **fields: Any) -> WealthProduct:
    """Create a product (a draft) or change one that is not on sale. Documents changed → their version goes up."""
    access.require(actor, "wealth.manage_products")
    unknown = set(fields) - set(PRODUCT_FIELDS)
    if unknown:
        raise ValidationFailed("unknown_fields", _("不可修改的字段：%(f)s") % {"f": "、".join(sorted(unknown))})
    with transaction.atomic():
        if product_id is None:
            p = WealthProduct(created_by=actor, status=P.Status.DRAFT)
            before: dict[str, Any] = {}
        else:
            p = WealthProduct.objects.select_for_update().filter(pk=product_id).first()
            if p is None:
                raise NotFound("product_not_found", _("产品不存在"))
            if p.status not in (P.Status.DRAFT, P.Status.OFF_SHELF):
                raise RuleViolation("product_not_editable", _("在售或待复核的产品不能修改，请先下架"))
            before = {k: getattr(p, k) for k in PRODUCT_FIELDS}
        docs_before = [getattr(p, k) for k in DOCUMENT_FIELDS]
        for k, v in fields.items():
            setattr(p, k, v.strip() if isinstance(v, str) else v)
        if p.kind == P.Kind.DEPOSIT:
            p.open_ended = False
        _clean_product(p)
        if WealthProduct.objects.filter(code=p.code).exclude(pk=p.pk).exists():
            raise _field_error("product_code_taken", "code", _("产品代码 %(c)s 已存在") % {"c": p.code})
        if product_id is not None and docs_before != [getattr(p, k) for k in DOCUMENT_FIELDS]:
            p.documents_version += 1
        p.save()
        after = {k: getattr(p, k) for k in PRODUCT_FIELDS}
        audit.record(actor=actor, verb="wealth.product_saved", target=p,
                     before={k: v for k, v in before.items() if after.get(k) != v},
                     after={k: v for k, v in after.items() if before.get(k) != v and k not in DOCUMENT_FIELDS}
                     | {"documents_version": p.documents_version})
    return p


def product_shelf_request(*, actor: Any, product_id: int, action: str, reason: str = "") -> dict[str, Any]:
    """Ask a second person to put a product on the shelf (``on``) or take it off (``off``)."""
    access.require(actor, "wealth.manage_products")
    if action not in ("on", "off"):
        raise ValidationFailed("invalid_action", _("不支持的操作"))
    reason = (reason or "").strip()
    if action == "off" and not reason:
        raise _field_error("reason_required", "reason", _("请填写下架原因"))
    with transaction.atomic():
        p = WealthProduct.objects.select_for_update().filter(pk=product_id).first()
        if p is None:
            raise NotFound("product_not_found", _("产品不存在"))
        allowed = (P.Status.DRAFT, P.Status.OFF_SHELF) if action == "on" else (P.Status.ON_SHELF,)
        if p.status not in allowed:
            raise RuleViolation("product_state", _("产品当前状态为“%(s)s”，不能提交%(a)s") % {
                "s": p.get_status_display(), "a": _("上架") if action == "on" else _("下架")})
        if action == "on":
            _clean_product(p)
            if not p.description.strip() or not p.risk_disclosure.strip():
                raise RuleViolation("documents_missing", _("上架前须提供产品说明书和风险揭示书"))
            if p.sales_end and p.sales_end < timezone.localdate():
                raise RuleViolation("sales_period_over", _("销售期已结束，不能上架"))
        previous = p.status
        p.status = P.Status.PENDING_ON if action == "on" else P.Status.PENDING_OFF
        p.save(update_fields=["status", "updated_at"])
        pa = approvals.approval_submit(
            actor=actor, action_code=f"wealth.shelf_{action}", target=p,
            payload={"product_id": p.pk, "previous": previous, "reason": reason[:200],
                     "documents_version": p.documents_version},
            summary=(_("上架 %(p)s") if action == "on" else _("下架 %(p)s")) % {"p": p}, reason=reason)
        audit.record(actor=actor, verb="wealth.shelf_requested", target=p,
                     after={"action": action, "approval": pa.pk}, reason=reason)
    return {"status": "pending_approval", "approval_id": pa.pk}


def execute_shelf(*, payload: dict[str, Any], maker: Any, checker: Any, action: str) -> dict[str, Any]:
    """The approval's half: the product must still be pending and its documents unchanged since the request."""
    p = WealthProduct.objects.select_for_update().filter(pk=payload["product_id"]).first()
    expected = P.Status.PENDING_ON if action == "on" else P.Status.PENDING_OFF
    if p is None or p.status != expected:
        raise RuleViolation("product_state", _("产品状态已变化，不能执行"))
    if p.documents_version != payload.get("documents_version"):
        raise RuleViolation("documents_changed", _("产品文件在提交后已修改，请重新提交"))
    p.status = P.Status.ON_SHELF if action == "on" else P.Status.OFF_SHELF
    p.save(update_fields=["status", "updated_at"])
    audit.record(actor=checker, verb="wealth.product_shelved" if action == "on" else "wealth.product_unshelved",
                 target=p, after={"maker": getattr(maker, "staff_no", ""), "reason": payload.get("reason", "")})
    return {"status": p.status}


def shelf_request_rejected(product_id: int, previous: str) -> None:
    """A rejected or expired shelf request puts the product back where it was (called by the approval hooks)."""
    WealthProduct.objects.filter(pk=product_id, status__in=[P.Status.PENDING_ON, P.Status.PENDING_OFF]).update(
        status=previous)


# ---- Net asset values -------------------------------------------------------------------------------------------
def nav_set(*, actor: Any, product_id: int, nav_date: date, nav_x10000: int) -> ProductNav:
    """Set (or correct, same day) a product's unit NAV. Not in the future; deposits and insurance have none."""
    access.require(actor, "wealth.nav")
    return _nav_write(actor=actor, product_id=product_id, nav_date=nav_date, nav_x10000=nav_x10000)


def nav_set_by_issuer(*, issuer: Any, product_id: int, nav_date: date, nav_x10000: int) -> ProductNav:
    """A NAV published by the product's issuer through the partner API (``bankcrm.partners`` has verified the key,
    its ``nav:write`` scope and that the product is the partner's own): the same checks and audit as ``nav_set``,
    recorded under the issuer's label with no member of staff as ``set_by``."""
    return _nav_write(actor=issuer, product_id=product_id, nav_date=nav_date, nav_x10000=nav_x10000)


def _nav_write(*, actor: Any, product_id: int, nav_date: date, nav_x10000: int) -> ProductNav:
    staff = actor if getattr(actor, "pk", None) else None
    nav = _int(nav_x10000, "nav_x10000", _("单位净值"), minimum=1)
    if nav > 100 * NAV_ONE:
        raise _field_error("nav_x10000_invalid", "nav_x10000", _("单位净值不能超过 100"))
    if not isinstance(nav_date, date) or nav_date > timezone.localdate():
        raise _field_error("nav_date_invalid", "nav_date", _("净值日期不能晚于今天"))
    with transaction.atomic():
        p = WealthProduct.objects.filter(pk=product_id).first()
        if p is None:
            raise NotFound("product_not_found", _("产品不存在"))
        if not p.nav_based:
            raise RuleViolation("product_not_nav_based", _("该产品没有净值（定期存款、保险）"))
        row, created = ProductNav.objects.select_for_update().get_or_create(
            product=p, nav_date=nav_date, defaults={"nav_x10000": nav, "set_by": staff})
        before = {} if created else {"nav_x10000": row.nav_x10000}
        if not created:
            row.nav_x10000, row.set_by = nav, staff
            row.save(update_fields=["nav_x10000", "set_by"])
        audit.record(actor=actor, verb="wealth.nav_set", target=p, before=before,
                     after={"nav_date": nav_date, "nav_x10000": nav})
    return row


def nav_on(product: WealthProduct, day: date) -> int:
    """The NAV a trade on ``day`` uses: the latest published on or before it (1.0000 before the first)."""
    if not product.nav_based:
        return NAV_ONE
    v = (ProductNav.objects.filter(product=product, nav_date__lte=day).order_by("-nav_date")
         .values_list("nav_x10000", flat=True).first())
    return v or NAV_ONE


# ---- Qualified investors --------------------------------------------------------------------------------------------
def qualified_investor_certify(*, actor: Any, customer_id: int, basis: str, experience_years: Any,
                               evidence: str) -> QualifiedInvestor:
    from bankcrm.customers.selectors import customer_get

    access.require(actor, "wealth.qualify")
    customer = customer_get(actor, customer_id)
    f: dict[str, list[str]] = {}
    if basis not in QualifiedInvestor.Basis.values:
        f["basis"] = [_("请选择认定依据")]
    elif (basis == QualifiedInvestor.Basis.COMPANY) != (customer.kind == "company"):
        f["basis"] = [_("单位客户适用净资产标准，个人客户适用金融资产或收入标准")]
    years = _int(experience_years, "experience_years", _("投资经历"))
    if basis != QualifiedInvestor.Basis.COMPANY and years < params.value("wealth.qualified_experience_years"):
        f["experience_years"] = [_("个人合格投资者须具有 %(y)d 年以上投资经历") % {
            "y": params.value("wealth.qualified_experience_years")}]
    evidence = (evidence or "").strip()
    if len(evidence) < 4:
        f["evidence"] = [_("请注明证明材料（如资产证明、纳税记录的编号）")]
    if f:
        raise ValidationFailed("qualified_invalid", "；".join(m for ms in f.values() for m in ms), fields=f)
    now = _now()
    with transaction.atomic():
        q = QualifiedInvestor.objects.create(
            customer=customer, basis=basis, experience_years=years, evidence=evidence[:200], verified_by=actor,
            verified_at=now, valid_until=timezone.localdate() + timedelta(days=params.value("wealth.qualified_valid_days")))
        audit.record(actor=actor, verb="wealth.qualified_investor", target=customer,
                     after={"basis": basis, "experience_years": years, "valid_until": q.valid_until})
    return q


def qualified_investor_current(customer_id: int, day: date) -> QualifiedInvestor | None:
    return (QualifiedInvestor.objects.filter(customer_id=customer_id, valid_until__gte=day, revoked_at__isnull=True)
            .order_by("-valid_until").first())


# ---- The point-of-sale check ----------------------------------------------------------------------------------------
def _product(product_id: Any) -> WealthProduct:
    p = WealthProduct.objects.filter(pk=product_id).first() if str(product_id).isdigit() else None
    if p is None:
        raise _field_error("product_not_found", "product", _("产品不存在"))
    return p


def _account_of(customer: Any, account_id: Any, currency: str) -> Account:
    acc = (Account.objects.filter(pk=account_id, customer=customer, kind=Account.Kind.CUSTOMER,
                                  product__kind=Product.Kind.DEMAND).first() if str(account_id).isdigit() else None)
    if acc is None:
        raise _field_error("account_invalid", "account", _("请选择该客户本人的活期账户作为扣款账户"))
    if acc.currency != currency:
        raise _field_error("currency_mismatch", "account", _("扣款账户币种与产品币种不一致"))
    return acc


def _sales_end(product: WealthProduct) -> date | None:
    """The last day a product may be sold: its sales end, and never on or after its maturity date."""
    ends = [d for d in (product.sales_end, product.maturity_date and product.maturity_date - timedelta(days=1)) if d]
    return min(ends) if ends else None


def facts(*, customer: Any, product: WealthProduct, amount_fen: int, customer_initiated: bool, seller: Any,
          recording: dict[str, Any] | None, at: datetime) -> rules.PosFacts:
    """Read what the decision needs, once."""
    from bankcrm.customers.selectors import has_consent
    from bankcrm.risk.rules_suitability import recording_complete
    from bankcrm.risk.suitability import _seller_certified, current_assessment

    today = timezone.localtime(at).date()
    current = current_assessment(customer.pk)
    certified_level = params.value("suitability.certified_level", at)
    return rules.PosFacts(
        investor_level=current.level if current else None, valid_until=current.valid_until if current else None,
        birth_date=customer.birth_date, customer_active=customer.status == "active",
        product_level=product.risk_level, product_kind=product.suitability_kind,
        on_shelf=product.status == P.Status.ON_SHELF, sales_start=product.sales_start, sales_end=_sales_end(product),
        min_amount_fen=product.min_amount_fen, step_fen=product.step_fen, amount_fen=amount_fen,
        qualified_investor=qualified_investor_current(customer.pk, today) is not None,
        customer_initiated=customer_initiated, marketing_consent=has_consent(customer, "marketing"),
        seller_certified=product.risk_level < certified_level or _seller_certified(seller, product.risk_level),
        seller_high_risk=access.can(seller, "wealth.sell_high_risk"),
        recording_ok=recording_complete(recording, at), at=at, today=today,
        elderly_age=params.value("suitability.elderly_age", at),
        elderly_product_level=params.value("suitability.elderly_product_level", at),
        cooling_off_hours=params.value("suitability.cooling_off", at), certified_level=certified_level)


def pos_check(*, actor: Any, customer_id: Any, product_id: Any, amount_fen: Any, customer_initiated: bool = False,
              recording: dict[str, Any] | None = None, at: datetime | None = None) -> rules.PosDecision:
    """The point-of-sale decision for the actor as seller (read only)."""
    from bankcrm.customers.selectors import customer_get

    access.require(actor, "wealth.sell")
    customer = customer_get(actor, customer_id)
    product = _product(product_id)
    amount = _int(amount_fen, "amount_fen", _("购买金额"), minimum=1)
    return rules.decide(facts(customer=customer, product=product, amount_fen=amount,
                              customer_initiated=bool(customer_initiated), seller=actor, recording=recording,
                              at=at or _now()))


def _refuse(d: rules.PosDecision) -> RuleViolation:
    code = d.violations[0][0]
    return RuleViolation(code, "；".join(str(m) for _c, m in d.violations),
                         violations=[{"code": c, "message": str(m)} for c, m in d.violations],
                         requirements=d.as_dict()["requirements"])


# ---- The sale -------------------------------------------------------------------------------------------------------
def _sale_number(at: datetime) -> str:
    return f"WS{timezone.localtime(at):%Y%m%d}{reserve('wealth.sale')[0]:08d}"


def _locked_sale(actor: Any, sale_id: Any) -> Sale:
    from . import selectors

    sale = selectors.sales_visible(actor).filter(pk=sale_id).first() if str(sale_id).isdigit() else None
    if sale is None:
        raise NotFound("sale_not_found", _("销售记录不存在"))
    return Sale.objects.select_for_update().select_related("product", "customer").get(pk=sale.pk)


def sale_propose(*, actor: Any, customer_id: Any, product_id: Any, account_id: Any, amount_fen: Any,
                 customer_initiated: bool = False) -> Sale:
    """Propose a product to a customer. Refused, with every failing rule named, unless the point-of-sale check
    passes (a 双录 recording still to be made is a requirement, not a refusal). The check's result is kept."""
    from bankcrm.customers.selectors import customer_get

    access.require(actor, "wealth.sell")
    customer = customer_get(actor, customer_id)
    product = _product(product_id)
    amount = _int(amount_fen, "amount_fen", _("购买金额"), minimum=1)
    account = _account_of(customer, account_id, product.currency)
    at = _now()
    d = rules.decide(facts(customer=customer, product=product, amount_fen=amount,
                           customer_initiated=bool(customer_initiated), seller=actor, recording=None, at=at))
    gate = d.without("suitability_recording_required")
    with transaction.atomic():
        if not gate.allowed:
            audit.record(actor=actor, verb="wealth.pos_checked", target=customer,
                         after={"product": product.code, "amount_fen": amount, "allowed": False,
                                "violations": gate.codes})
        else:
            from bankcrm.risk.suitability import current_assessment

            current = current_assessment(customer.pk)
            qi = qualified_investor_current(customer.pk, timezone.localdate()) if product.private else None
            sale = Sale.objects.create(
                number=_sale_number(at), customer=customer, product=product, account=account, amount_fen=amount,
                fee_fen=rules.fee(amount, product.subscribe_fee_bp), seller=actor, branch_path=customer.branch.path,
                customer_initiated=bool(customer_initiated), proposed_at=at, check_result=d.as_dict(),
                investor_level=d.investor_level, product_level=product.risk_level,
                assessment_id=current.pk if current else None,
                enhanced_disclosure=bool(d.requirements.get("enhanced_disclosure")),
                recording_required=bool(d.requirements.get("recording")),
                qualified_investor_id=qi.pk if qi else None)
            audit.record(actor=actor, verb="wealth.sale_proposed", target=customer, after={
                "sale": sale.number, "product": product.code, "level": f"R{product.risk_level}",
                "investor_level": d.investor_level, "amount_fen": amount, "customer_initiated": sale.customer_initiated,
                "recording_required": sale.recording_required})
    if not gate.allowed:
        raise _refuse(gate)
    return sale


def _recording(recording_id: str, booth: str, recorded_at: Any) -> dict[str, Any] | None:
    recording_id, booth = (recording_id or "").strip(), (booth or "").strip()
    if not (recording_id or booth or recorded_at):
        return None
    if isinstance(recorded_at, str):
        try:
            recorded_at = datetime.fromisoformat(recorded_at)
        except ValueError:
            raise _field_error("recorded_at_invalid", "recorded_at", _("录制时间格式不正确")) from None
    if isinstance(recorded_at, datetime) and timezone.is_naive(recorded_at):
        recorded_at = timezone.make_aware(recorded_at)
    return {"recording_id": recording_id[:40], "booth": booth[:40], "recorded_at": recorded_at}


DISCLOSURE_METHODS = {"counter_signature": "柜面签字确认", "e_signature": "电子签名确认"}


def sale_confirm(*, actor: Any, sale_id: Any, disclosure_confirmed: bool, disclosure_method: str = "counter_signature",
                 recording_id: str = "", recording_booth: str = "", recorded_at: Any = None) -> Sale:
    """The customer confirmed the risk disclosure (and the sale was recorded where required): the check runs again
    with the recording, the amount is held on the account, and a public product settles at once."""
    access.require(actor, "wealth.sell")
    if disclosure_confirmed is not True:
        raise _field_error("disclosure_not_confirmed", "disclosure_confirmed", _("客户须阅读并确认风险揭示书"))
    if disclosure_method not in DISCLOSURE_METHODS:
        raise _field_error("disclosure_method_invalid", "disclosure_method", _("请选择风险揭示确认方式"))
    recording = _recording(recording_id, recording_booth, recorded_at)
    at = _now()
    with transaction.atomic():
        sale = _locked_sale(actor, sale_id)
        if sale.status != S.PROPOSED:
            raise RuleViolation("sale_state", _("该销售当前状态为“%(s)s”，不能确认") % {"s": sale.get_status_display()})
        if sale.seller_id != actor.pk:
            raise PermissionDenied("not_seller", _("只有推介该产品的销售人员可以办理确认"))
        d = rules.decide(facts(customer=sale.customer, product=sale.product, amount_fen=sale.amount_fen,
                               customer_initiated=sale.customer_initiated, seller=actor, recording=recording, at=at))
        if not d.allowed:
            raise _refuse(d)
        if recording:
            sale.recording_id, sale.recording_booth = recording["recording_id"], recording["booth"]
            sale.recorded_at = recording["recorded_at"]
        sale.confirm_check = d.as_dict()
        sale.investor_level = d.investor_level
        sale.recording_required = bool(d.requirements.get("recording"))
        sale.enhanced_disclosure = bool(d.requirements.get("enhanced_disclosure"))
        sale.disclosure_confirmed_at, sale.disclosure_method = at, disclosure_method
        sale.disclosure_version = sale.product.documents_version
        sale.hold_ref = f"wealth.sale:{sale.pk}"
        ledger.hold_place(actor=actor, account_id=sale.account_id, amount_fen=sale.amount_fen,
                          currency=sale.product.currency, purpose=_("理财认购 %(n)s") % {"n": sale.number},
                          ref=sale.hold_ref)
        cool = d.requirements.get("cooling_off_until")
        sale.cooling_off_ends_at = cool
        sale.status = S.HELD
        sale.save()
        audit.record(actor=actor, verb="wealth.sale_confirmed", target=sale.customer, after={
            "sale": sale.number, "disclosure_method": disclosure_method, "disclosure_version": sale.disclosure_version,
            "recording": sale.recording_id, "hold_fen": sale.amount_fen, "cooling_off_ends_at": cool})
        if cool is None:
            _settle(sale, actor=actor, at=at)
    return sale


def sale_withdraw(*, actor: Any, sale_id: Any, reason: str) -> Sale:
    """Withdraw a proposal the customer has not confirmed (nothing was held)."""
    access.require(actor, "wealth.sell")
    reason = (reason or "").strip()
    if not reason:
        raise _field_error("reason_required", "reason", _("请填写撤回原因"))
    with transaction.atomic():
        sale = _locked_sale(actor, sale_id)
        if sale.status != S.PROPOSED:
            raise RuleViolation("sale_state", _("该销售当前状态为“%(s)s”，不能撤回") % {"s": sale.get_status_display()})
        sale.status, sale.ended_at, sale.end_reason, sale.ended_by = S.WITHDRAWN, _now(), reason[:200], actor
        sale.save(update_fields=["status", "ended_at", "end_reason", "ended_by"])
        audit.record(actor=actor, verb="wealth.sale_withdrawn", target=sale.customer,
                     after={"sale": sale.number}, reason=reason)
    return sale


def sale_cancel(*, actor: Any, sale_id: Any, reason: str) -> Sale:
    """The customer changes their mind during cooling-off: free of charge, exactly the hold is released."""
    access.require(actor, "wealth.sell")
    reason = (reason or "").strip()
    if not reason:
        raise _field_error("reason_required", "reason", _("请填写撤销原因（如：客户冷静期内申请撤销）"))
    with transaction.atomic():
        sale = _locked_sale(actor, sale_id)
        if sale.status != S.HELD:
            raise RuleViolation("sale_state", _("该销售当前状态为“%(s)s”，不能撤销") % {"s": sale.get_status_display()})
        now = _now()
        if sale.cooling_off_ends_at is None or now >= sale.cooling_off_ends_at:
            raise RuleViolation("cooling_off_over", _("冷静期已结束，不能撤销；成交后可按产品规则赎回"))
        ledger.hold_release(actor=actor, ref=sale.hold_ref, reason=_("冷静期撤销 %(n)s") % {"n": sale.number})
        sale.status, sale.ended_at, sale.end_reason, sale.ended_by = S.CANCELLED, now, reason[:200], actor
        sale.save(update_fields=["status", "ended_at", "end_reason", "ended_by"])
        audit.record(actor=actor, verb="wealth.sale_cancelled", target=sale.customer,
                     after={"sale": sale.number, "released_fen": sale.amount_fen}, reason=reason)
    return sale


def _settle(sale: Sale, *, actor: Any, at: datetime) -> None:
    """Settle a held sale (its row locked by the caller): capture the hold, buy units or open the deposit, grow the
    holding, assign the return visit, publish ``wealth.sold``."""
    product = sale.product
    today = timezone.localtime(at).date()
    if product.kind == P.Kind.DEPOSIT:
        deposit = ledger.time_deposit_for_sale(actor=actor, customer=sale.customer, product=product.ledger_product,
                                               payout=sale.account)
        entry = ledger.hold_capture(actor=actor, ref=sale.hold_ref, credit_id=deposit.pk, kind=K.WEALTH_BUY,
                                    memo=_("定期存款 %(n)s") % {"n": sale.number}, today=today)
        sale.deposit_account, sale.nav_x10000, sale.units_x100 = deposit, NAV_ONE, sale.amount_fen
        holding = Holding.objects.create(customer=sale.customer, product=product, branch_path=sale.branch_path,
                                         units_x100=sale.amount_fen, cost_fen=sale.amount_fen,
                                         payout_account=sale.account, deposit_account=deposit, opened_at=at)
    else:
        clearing = ledger.internal_account_id(Account.Internal.WEALTH, product.currency)
        entry = ledger.hold_capture(actor=actor, ref=sale.hold_ref, credit_id=clearing, kind=K.WEALTH_BUY,
                                    memo=_("理财认购 %(n)s") % {"n": sale.number}, today=today)
        nav = nav_on(product, today)
        units = rules.units_for(sale.amount_fen - sale.fee_fen, nav)
        sale.nav_x10000, sale.units_x100 = nav, units
        holding = (Holding.objects.select_for_update()
                   .filter(customer=sale.customer, product=product, status=Holding.Status.ACTIVE,
                           deposit_account__isnull=True).first())
        if holding is None:
            holding = Holding.objects.create(customer=sale.customer, product=product, branch_path=sale.branch_path,
                                             units_x100=0, cost_fen=0, payout_account=sale.account, opened_at=at)
        holding.units_x100 += units
        holding.cost_fen += sale.amount_fen
        holding.save(update_fields=["units_x100", "cost_fen"])
    sale.entry, sale.settled_at, sale.status, sale.settle_error = entry, at, S.SETTLED, ""
    sale.save()
    visit = _return_visit_create(sale, today=today)
    audit.record(actor=actor, verb="wealth.sale_settled", target=sale.customer, after={
        "sale": sale.number, "entry": entry.txn_no, "units_x100": sale.units_x100, "nav_x10000": sale.nav_x10000,
        "return_visit_by": visit.assignee.staff_no})
    outbox.publish(TOPIC_SOLD, {
        "sale_id": sale.pk, "customer_id": sale.customer_id, "product_id": product.pk, "product_code": product.code,
        "kind": product.kind, "risk_level": product.risk_level, "amount_fen": sale.amount_fen,
        "currency": product.currency, "seller_id": sale.seller_id, "branch_path": sale.branch_path,
        "customer_initiated": sale.customer_initiated, "settled_at": at.isoformat(), "entry_id": entry.pk}, at=at)


def sale_settle(*, sale_id: int, now: datetime | None = None) -> bool:
    """Settle one sale whose cooling-off has ended (the job's unit of work, its own transaction). Returns whether it
    settled now; a sale already settled or cancelled is left alone, so a re-run settles nothing twice. A refusal
    (e.g. the account was frozen meanwhile) is kept on the sale and retried on the next run."""
    now = now or _now()
    with transaction.atomic():
        sale = Sale.objects.select_for_update().select_related("product", "customer", "account").filter(pk=sale_id).first()
        if sale is None or sale.status != S.HELD:
            return False
        if sale.cooling_off_ends_at is not None and now < sale.cooling_off_ends_at:
            return False
        try:
            with transaction.atomic():
                _settle(sale, actor=None, at=now)
        except RuleViolation as e:
            Sale.objects.filter(pk=sale.pk).update(settle_error=str(e.message)[:200])
            return False
    return True


def settle_due(*, now: datetime | None = None, batch: int = 500) -> int:
    """Settle every held sale whose cooling-off has ended, each in its own transaction (crash-safe, R14)."""
    now = now or _now()
    done, last = 0, 0
    while True:
        ids = list(Sale.objects.filter(status=S.HELD, cooling_off_ends_at__lte=now, pk__gt=last)
                   .order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        for sid in ids:
            done += sale_settle(sale_id=sid, now=now)
        last = ids[-1]


# ---- Return visits --------------------------------------------------------------------------------------------------
def return_visit_assignee(sale: Sale) -> Any:
    """Someone other than the seller who may make return visits and sees the customer: the least-loaded operations
    manager or supervisor of the customer's branch, else the nearest supervisor above, else a head-office
    compliance manager. Never the seller."""
    from bankcrm.customers.selectors import customers_visible
    from bankcrm.org.models import Staff
    from bankcrm.service.services import supervisor_for_path

    branch = sale.customer.branch
    # load = the number of open return visits on the person's desk (a subquery: a join with the role rows would
    # count roles, not visits)
    open_visits = (ReturnVisit.objects.filter(status=ReturnVisit.Status.OPEN, assignee_id=OuterRef("pk")).order_by()
                   .values("assignee_id").annotate(n=Count("pk")).values("n"))
    candidates = (Staff.objects.filter(is_active=True, branch=branch,
                                       role_assignments__role__in=["operations_manager", "branch_supervisor"])
                  .exclude(pk=sale.seller_id).distinct()
                  .annotate(load=Coalesce(Subquery(open_visits), 0))
                  .order_by("load", "staff_no"))
    for staff in candidates[:20]:
        if access.can(staff, "wealth.return_visit") and customers_visible(staff).filter(pk=sale.customer_id).exists():
            return staff
    return supervisor_for_path(branch.path, exclude={sale.seller_id})


def _return_visit_create(sale: Sale, *, today: date) -> ReturnVisit:
    assignee = return_visit_assignee(sale)
    if assignee is None or assignee.pk == sale.seller_id:
        raise RuleViolation("no_return_visitor", _("找不到销售人员以外的回访人员，请先为网点配置运营经理或主管"))
    return ReturnVisit.objects.create(sale=sale, assignee=assignee, branch_path=sale.branch_path,
                                      due_on=working_days_after(today, params.value("wealth.return_visit_days")))


def return_visit_record(*, actor: Any, visit_id: Any, reached: bool, understood_product: bool | None = None,
                        understood_risk: bool | None = None, voluntary: bool | None = None,
                        received_documents: bool | None = None, notes: str = "") -> ReturnVisit:
    """Record a return visit. Unreached: one more attempt (after the last, "unreachable"). Reached: every answer is
    required; any "no" is a problem that opens a feedback case for the supervisor."""
    from . import selectors

    access.require(actor, "wealth.return_visit")
    notes = (notes or "").strip()
    with transaction.atomic():
        visit = selectors.return_visits_visible(actor).filter(pk=visit_id).first() if str(visit_id).isdigit() else None
        if visit is None:
            raise NotFound("return_visit_not_found", _("回访任务不存在"))
        visit = ReturnVisit.objects.select_for_update().select_related("sale__customer", "sale__product").get(pk=visit.pk)
        if visit.sale.seller_id == actor.pk:
            raise PermissionDenied("seller_cannot_visit", _("销售人员不能回访自己销售的产品"))
        if visit.status != ReturnVisit.Status.OPEN:
            raise RuleViolation("return_visit_done", _("该回访已完成"))
        now = _now()
        if not reached:
            visit.attempts += 1
            visit.notes = "\n".join(x for x in (visit.notes, f"{timezone.localtime(now):%Y-%m-%d %H:%M} {notes}") if x.strip())
            if visit.attempts >= params.value("wealth.return_visit_attempts"):
                visit.status, visit.done_at = ReturnVisit.Status.UNREACHABLE, now
            visit.save()
            audit.record(actor=actor, verb="wealth.return_visit", target=visit.sale.customer,
                         after={"sale": visit.sale.number, "reached": False, "attempts": visit.attempts})
            return visit
        answers = {"understood_product": understood_product, "understood_risk": understood_risk,
                   "voluntary": voluntary, "received_documents": received_documents}
        missing = [k for k, v in answers.items() if v is None]
        if missing:
            raise ValidationFailed("answers_required", _("请逐项记录客户的回答"),
                                   fields={k: [_("请选择“是”或“否”")] for k in missing})
        problem = not all(answers.values())
        if problem and len(notes) < 4:
            raise _field_error("notes_required", "notes", _("发现问题时请记录客户的原话和情况"))
        for k, v in answers.items():
            setattr(visit, k, v)
        visit.attempts += 1
        visit.notes = "\n".join(x for x in (visit.notes, notes) if x)
        visit.outcome = ReturnVisit.Outcome.PROBLEM if problem else ReturnVisit.Outcome.OK
        visit.status, visit.done_at = ReturnVisit.Status.DONE, now
        if problem:
            from bankcrm.service.services import feedback_case_open

            labels = {"understood_product": _("不了解产品"), "understood_risk": _("不知晓风险"),
                      "voluntary": _("非自愿购买"), "received_documents": _("未收到产品文件")}
            summary = _("理财回访发现问题（%(p)s）：%(w)s") % {
                "p": visit.sale.product.name, "w": "、".join(str(labels[k]) for k, v in answers.items() if not v)}
            case = feedback_case_open(customer_id=visit.sale.customer_id, summary=summary[:200],
                                      source_ref=f"wealth.rv:{visit.pk}", assignee_id=None)
            visit.complaint_id = case.pk
        visit.save()
        audit.record(actor=actor, verb="wealth.return_visit", target=visit.sale.customer, after={
            "sale": visit.sale.number, "reached": True, **answers, "outcome": visit.outcome,
            "complaint": visit.complaint_id})
    return visit


# ---- Redemption, maturity, income -----------------------------------------------------------------------------------
def redemption_request(*, actor: Any, holding_id: Any, units_x100: Any) -> Redemption:
    """Redeem units of an open-ended holding at the latest NAV, less the redemption fee, to the payout account."""
    from . import selectors

    access.require(actor, "wealth.redeem")
    units = _int(units_x100, "units_x100", _("赎回份额"), minimum=1)
    at = _now()
    today = timezone.localtime(at).date()
    with transaction.atomic():
        h = selectors.holdings_visible(actor).filter(pk=holding_id).first() if str(holding_id).isdigit() else None
        if h is None:
            raise NotFound("holding_not_found", _("持仓不存在"))
        h = Holding.objects.select_for_update().select_related("product", "customer").get(pk=h.pk)
        if h.status != Holding.Status.ACTIVE:
            raise RuleViolation("holding_closed", _("该持仓已结清"))
        if not h.product.open_ended or h.deposit_account_id:
            raise RuleViolation("not_redeemable", _("封闭式产品、定期存款和保险不能在到期前赎回"))
        if units > h.units_x100:
            raise _field_error("units_exceed", "units_x100", _("赎回份额超过持有份额（%(u)s 份）") % {
                "u": f"{h.units_x100 / 100:,.2f}"})
        nav = nav_on(h.product, today)
        gross = rules.value_of(units, nav)
        fee = rules.fee(gross, h.product.redeem_fee_bp)
        if gross - fee <= 0:
            raise _field_error("amount_too_small", "units_x100", _("赎回金额扣除费用后为零"))
        clearing = ledger.internal_account_id(Account.Internal.WEALTH, h.product.currency)
        entry = ledger.post(ledger.Movement(kind=K.WEALTH_REDEEM, amount_fen=gross - fee, currency=h.product.currency,
                                            debit_id=clearing, credit_id=h.payout_account_id,
                                            customer_id=h.customer_id, memo=_("理财赎回 %(c)s") % {"c": h.product.code}),
                            maker=actor, today=today)
        cost = rules.cost_share(h.cost_fen, units, h.units_x100)
        h.units_x100 -= units
        h.cost_fen -= cost
        if h.units_x100 == 0:
            h.status, h.closed_at, h.cost_fen = Holding.Status.CLOSED, at, 0
        h.save(update_fields=["units_x100", "cost_fen", "status", "closed_at"])
        r = Redemption.objects.create(holding=h, units_x100=units, nav_x10000=nav, gross_fen=gross, fee_fen=fee,
                                      entry=entry, requested_by=actor, created_at=at)
        audit.record(actor=actor, verb="wealth.redeemed", target=h.customer, after={
            "product": h.product.code, "units_x100": units, "nav_x10000": nav, "paid_fen": gross - fee, "fee_fen": fee,
            "entry": entry.txn_no})
        outbox.publish(TOPIC_REDEEMED, {"holding_id": h.pk, "customer_id": h.customer_id, "product_id": h.product_id,
                                        "amount_fen": gross - fee, "units_x100": units}, at=at)
    return r


def _pay(h: Holding, *, kind: str, event_key: str, amount_fen: int, memo: str, at: datetime, close: bool) -> bool:
    """Pay one holder once per event (the unique payout row is written first; a re-run finds it and pays nothing)."""
    with transaction.atomic():
        h = Holding.objects.select_for_update().select_related("product").get(pk=h.pk)
        if Payout.objects.filter(holding=h, kind=kind, event_key=event_key).exists():
            return False
        entry = None
        if amount_fen > 0:
            clearing = ledger.internal_account_id(Account.Internal.WEALTH, h.product.currency)
            entry = ledger.post(ledger.Movement(kind=K.WEALTH_PAYOUT, amount_fen=amount_fen, currency=h.product.currency,
                                                debit_id=clearing, credit_id=h.payout_account_id,
                                                customer_id=h.customer_id, memo=memo[:100]),
                                maker=None, today=timezone.localtime(at).date())
        Payout.objects.create(holding=h, kind=kind, event_key=event_key, amount_fen=amount_fen, entry=entry,
                              created_at=at)
        if close:
            h.status, h.closed_at = Holding.Status.CLOSED, at
            h.save(update_fields=["status", "closed_at"])
        audit.record(actor=None, verb="wealth.paid_out", target=h.customer, after={
            "product": h.product.code, "kind": kind, "event": event_key, "amount_fen": amount_fen,
            "entry": entry.txn_no if entry else None})
    return True


def maturity_run(*, today: date | None = None) -> int:
    """Pay out every active holding of a closed-end product that has matured: units × NAV on the maturity date
    (insurance: the insurer pays the benefit, the holding just ends). Once per holding; time deposits mature in the
    ledger. Crash-safe: each holding is its own transaction."""
    today = today or timezone.localdate()
    at = _now()
    n = 0
    for h in (Holding.objects.filter(status=Holding.Status.ACTIVE, deposit_account__isnull=True,
                                     product__maturity_date__lte=today).select_related("product").order_by("pk")):
        p = h.product
        amount = rules.value_of(h.units_x100, nav_on(p, p.maturity_date)) if p.nav_based else 0
        n += _pay(h, kind=Payout.Kind.MATURITY, event_key=p.maturity_date.isoformat(), amount_fen=amount,
                  memo=_("理财到期兑付 %(c)s") % {"c": p.code}, at=at, close=True)
    return n


def distribution_run(*, actor: Any, product_id: Any, record_date: date, per_unit_x10000: Any) -> dict[str, int]:
    """An income distribution (分红): every holder on the record date is paid units × amount per unit, once."""
    access.require(actor, "wealth.nav")
    per_unit = _int(per_unit_x10000, "per_unit_x10000", _("每份分配金额"), minimum=1)
    p = _product(product_id)
    if not p.nav_based:
        raise RuleViolation("product_not_nav_based", _("该产品不做收益分配"))
    if record_date > timezone.localdate():
        raise _field_error("record_date_invalid", "record_date", _("权益登记日不能晚于今天"))
    key = record_date.isoformat()
    # Once per record date, whatever the amount: a re-run (or a "corrected" amount) pays no holder twice.
    at = _now()
    paid = holders = total = 0
    for h in Holding.objects.filter(product=p, status=Holding.Status.ACTIVE, opened_at__date__lte=record_date).order_by("pk"):
        holders += 1
        amount = rules.value_of(h.units_x100, per_unit)
        if _pay(h, kind=Payout.Kind.INCOME, event_key=key, amount_fen=amount,
                memo=_("理财收益分配 %(c)s") % {"c": p.code}, at=at, close=False):
            paid += 1
            total += amount
    with transaction.atomic():
        audit.record(actor=actor, verb="wealth.paid_out", target=p,
                     after={"record_date": record_date, "per_unit_x10000": per_unit, "holders": holders, "paid": paid,
                            "total_fen": total})
    return {"holders": holders, "paid": paid, "total_fen": total}


# ---- AUM snapshot on demand (helper UI-A: the AUM page's "compute now" button) -------------------------------------
def aum_snapshot_now(*, actor: Any, day: date | None = None) -> int:
    """Compute the day's assets-under-management snapshot now (the nightly job ``wealth.aum_snapshot`` does it
    otherwise), for supervisors, compliance and administrators (`wealth.aum_refresh`). Re-running replaces the day's rows (`aum.snapshot_run`). Audited."""
    from . import aum

    access.require(actor, "wealth.aum_refresh")
    day = day or timezone.localdate()
    if day > timezone.localdate():
        raise _field_error("day_invalid", "day", _("快照日期不能晚于今天"))
    with transaction.atomic():
        n = aum.snapshot_run(day=day)
        audit.record(actor=actor, verb="wealth.aum_snapshot", target_type="wealth.AumSnapshot",
                     target_id=day.isoformat(), target_repr=_("客户资产快照 %(d)s") % {"d": day.isoformat()},
                     after={"day": day, "customers": n})
    return n


def _register_ui_a_verbs() -> None:
    from django.utils.translation import gettext_lazy

    from bankcrm.core.audit import register_verbs

    register_verbs({"wealth.aum_snapshot": gettext_lazy("计算客户资产（AUM）快照")})


_register_ui_a_verbs()
