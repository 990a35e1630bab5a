"""AML customer risk rating (DOMAIN_RULES.md §3): the factor model, rating services, the triggers the lead's outbox
consumers call, the nightly review sweep (R14) and the selectors pages, API and the 360 panel read.

Who decides what:
- a member of AML staff (``risk.rate``) re-rates by the model or sets a level with a rationale; a level below the
  model's, or lowering a current HIGH rating, waits for a risk manager's approval (``risk.rating_lower``) as a
  *pending* row while the current rating stands;
- the system (actor None) rates new customers, re-rates on profile changes and new alerts when the model's level
  changes, and reviews due customers nightly. It never lowers a HIGH rating (that needs a person and a second
  person) and never goes below a level a person set (manual or due-diligence result): it keeps that level and
  records the model's opinion in ``computed_level``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, time
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params, workdays
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.core.masking import mask_name
from bankcrm.core.scheduling import daily
from bankcrm.core.transactions import run_as_task
from bankcrm.customers.models import Consent, Customer

from . import alerting, batchrun
from . import rules_rating as rules
from .models import Alert, AmlLevel, BatchRun, RatingModel, RiskProfile, RiskRating

T, S = RiskRating.Trigger, RiskRating.Status
SYSTEM_RATIONALE = "系统按模型评级"
KEPT_HIGH = "模型等级为%(c)s，低于现有高风险等级：系统不下调高风险，如需下调请由风控经理人工调整并经审批"
KEPT_PERSON = "模型等级为%(c)s，低于人工评定的%(l)s：维持人工评定等级"
LEVEL_LABELS = dict(AmlLevel.choices)
APPROVAL_ACTION = "risk.rating_lower"


# ---- The model ------------------------------------------------------------------------------------------------------
def rating_model_install_default(*, actor: Any = None) -> RatingModel:
    """Install version 1 (rules_rating.DEFAULT_*) if no model exists yet; idempotent."""
    existing = RatingModel.objects.order_by("version").first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            model = RatingModel.objects.create(version=1, factors=rules.DEFAULT_FACTORS, thresholds=rules.DEFAULT_THRESHOLDS,
                                               effective_from=date(2000, 1, 1), created_by=actor)
            audit.record(actor=actor, verb="risk.rating_model_saved", target=model,
                         after={"version": 1, "thresholds": model.thresholds, "default": True})
    except IntegrityError:  # installed concurrently
        return RatingModel.objects.get(version=1)
    return model


def rating_model_current(day: date | None = None) -> RatingModel:
    """The version in force on ``day`` (the highest version whose effective date has come)."""
    day = day or timezone.localdate()
    model = RatingModel.objects.filter(effective_from__lte=day).order_by("-version").first()
    return model or rating_model_install_default(actor=None)


def rating_model_save(*, actor: Any, factors: Any, thresholds: Any, effective_from: date | None = None) -> RatingModel:
    """Save a new version (versions are never edited). It applies to ratings from ``effective_from`` (default today)."""
    access.require(actor, "risk.manage_rating_model")
    rules.validate_model(factors, thresholds)
    today = timezone.localdate()
    effective_from = effective_from or today
    if effective_from < today:
        raise ValidationFailed("effective_from_past", _("生效日期不能早于今天"), fields={"effective_from": [_("不能早于今天")]})
    with transaction.atomic():
        last = RatingModel.objects.select_for_update().order_by("-version").first()
        model = RatingModel.objects.create(version=(last.version if last else 0) + 1, factors=factors,
                                           thresholds=thresholds, effective_from=effective_from, created_by=actor)
        audit.record(actor=actor, verb="risk.rating_model_saved", target=model,
                     before={"version": last.version, "thresholds": last.thresholds} if last else None,
                     after={"version": model.version, "thresholds": thresholds, "factors": sorted(factors),
                            "effective_from": effective_from})
    return model


# ---- Inputs and evaluation ------------------------------------------------------------------------------------------
def gather_inputs(customer_ids: Iterable[int], day: date | None = None) -> dict[int, dict[str, Any]]:
    """Every factor's input for these customers, in a few queries (no personal data is decrypted). The channel is the
    channel of the customer's first recorded consent (网点书面 = face to face); unknown when none was recorded."""
    from bankcrm.ledger.models import Account

    ids = list(customer_ids)
    day = day or timezone.localdate()
    out: dict[int, dict[str, Any]] = {}
    for c in Customer.objects.filter(pk__in=ids).values("pk", "kind", "id_type", "nationality", "occupation",
                                                         "industry", "branch__path"):
        out[c["pk"]] = {"branch_path": c["branch__path"], "kind": c["kind"], "id_type": c["id_type"], "nationality": (c["nationality"] or "").upper(),
                        "branch": [p for p in c["branch__path"].split("/") if p],
                        "occupation": " ".join(x for x in (c["occupation"], c["industry"]) if x),
                        "accounts": 0, "foreign_accounts": 0, "wealth_accounts": 0, "channel": None, "alerts": 0,
                        "pep": "no"}
    for a in (Account.objects.filter(customer_id__in=ids, kind=Account.Kind.CUSTOMER).exclude(status=Account.Status.CLOSED)
              .values("customer_id", "currency", "product__kind")):
        row = out[a["customer_id"]]
        row["accounts"] += 1
        row["foreign_accounts"] += a["currency"] != "CNY"
        row["wealth_accounts"] += a["product__kind"] == "wealth"
    for c in Consent.objects.filter(customer_id__in=ids).order_by("customer_id", "granted_at", "id").values(
            "customer_id", "channel"):
        row = out[c["customer_id"]]
        if row["channel"] is None:
            row["channel"] = "face_to_face" if c["channel"] == Consent.Channel.BRANCH else "non_face_to_face"
    live = Alert.objects.filter(customer_id__in=ids).exclude(status=Alert.Status.CLOSED)
    pep = Q(kind="watchlist", figures__list_kind="pep")
    for cid in live.filter(pep).values_list("customer_id", flat=True):
        out[cid]["pep"] = "yes"
    for cid in live.exclude(pep).filter(business_date__gte=rules.add_months(day, -12)).values_list("customer_id", flat=True):
        out[cid]["alerts"] += 1
    return out


def evaluate(model: RatingModel, inputs: dict[str, Any]) -> tuple[int, str, list[dict[str, Any]]]:
    with translation.override("zh-hans"):  # reasons are stored with their Chinese labels
        total, reasons = rules.score(model.factors, inputs)
    return total, rules.level_for(total, model.thresholds), reasons


# ---- Writing ratings ------------------------------------------------------------------------------------------------
def _calendar_months() -> dict[str, int]:
    return {lvl: params.value(f"aml.review.{lvl}") for lvl in (rules.HIGH, rules.MEDIUM, rules.LOW)}


class _Writer:
    """Collects the ratings of one transaction and writes them together: rows, superseded statuses, profiles, due
    diligence for rises to high, and the audit event(s)."""

    def __init__(self, actor: Any, day: date) -> None:
        self.actor, self.day, self.now = actor, day, timezone.now()
        self.holidays, self.makeup = workdays.calendar()
        self.months = _calendar_months()
        self.rows: list[RiskRating] = []
        self.before: dict[int, str] = {}
        self.paths: dict[int, str] = {}

    def add(self, customer_id: int, path: str, current: str, model: RatingModel, total: int, computed: str, level: str,
            reasons: list, trigger: str, rationale: str) -> None:
        self.rows.append(RiskRating(
            customer_id=customer_id, model=model, level=level, computed_level=computed, score=total, factors=reasons,
            trigger=trigger, rationale=rationale[:500], status=S.CURRENT, rated_by=self.actor, rated_at=self.now,
            next_review_on=rules.next_review(self.day, level, self.months, self.holidays, self.makeup)))
        self.before[customer_id], self.paths[customer_id] = current, path

    def flush(self) -> list[RiskRating]:
        if not self.rows:
            return []
        ids = [r.customer_id for r in self.rows]
        RiskRating.objects.filter(customer_id__in=ids, status=S.CURRENT).update(status=S.SUPERSEDED)
        created = RiskRating.objects.bulk_create(self.rows)
        if any(r.pk is None for r in created):  # backends that do not return keys: read them back
            by_customer = {r.customer_id: r.pk for r in RiskRating.objects.filter(customer_id__in=ids, status=S.CURRENT)}
            for r in created:
                r.pk = r.id = by_customer[r.customer_id]
        profiles = {p.pk: p for p in RiskProfile.objects.filter(customer_id__in=ids)}
        for r in created:
            p = profiles[r.customer_id]
            p.aml_level, p.aml_rated_at, p.aml_review_due_on = r.level, r.rated_at, r.next_review_on
            p.branch_path, p.updated_at = self.paths[r.customer_id], self.now
        RiskProfile.objects.bulk_update(list(profiles.values()),
                                        ["aml_level", "aml_rated_at", "aml_review_due_on", "branch_path", "updated_at"])
        if len(created) == 1:
            r = created[0]
            audit.record(actor=self.actor, verb="risk.rated", target_type="customers.Customer", target_id=r.customer_id,
                         target_repr=_customer_repr(r.customer_id),
                         before={"level": self.before[r.customer_id] or None},
                         after={"level": r.level, "computed_level": r.computed_level, "score": r.score,
                                "trigger": r.trigger, "rating": r.pk, "next_review_on": r.next_review_on},
                         reason=r.rationale)
        else:
            changes = Counter(f"{self.before[r.customer_id] or '-'}>{r.level}" for r in created)
            audit.record(actor=self.actor, verb="risk.rated", target_type="risk.RiskRating",
                         target_repr=f"{len(created)} × {sorted({r.trigger for r in created})}",
                         after={"count": len(created), "ratings": [r.pk for r in created][:200],
                                "changes": dict(sorted(changes.items()))},
                         reason=created[0].rationale)
        from .due_diligence import due_diligence_open

        for r in created:
            if r.level == rules.HIGH and self.before[r.customer_id] != rules.HIGH:
                due_diligence_open(customer_id=r.customer_id, trigger="raised", source_key=f"rating:{r.pk}",
                                   actor=self.actor)
        return created


def _customer_repr(customer_id: int) -> str:
    c = Customer.objects.filter(pk=customer_id).values("customer_no", "name").first()
    return f"{c['customer_no']} {mask_name(c['name'])}" if c else str(customer_id)


def _ensure_profiles(customer_ids: list[int], *, rating_due: bool = False) -> dict[int, RiskProfile]:
    """Create missing profiles (with the first-rating deadline when asked), then lock and return them."""
    rows = list(Customer.objects.filter(pk__in=customer_ids).values("pk", "branch__path", "created_at"))
    if rating_due:
        holidays, makeup = workdays.calendar()
        n = params.value("aml.new_customer_rating")
        due = {r["pk"]: workdays.add_working_days(timezone.localdate(r["created_at"]), n, holidays, makeup) for r in rows}
    RiskProfile.objects.bulk_create([RiskProfile(customer_id=r["pk"], branch_path=r["branch__path"],
                                                 aml_rating_due_on=due[r["pk"]] if rating_due else None)
                                     for r in rows], ignore_conflicts=True)
    if rating_due:
        for r in rows:
            RiskProfile.objects.filter(pk=r["pk"], aml_rating_due_on__isnull=True).update(aml_rating_due_on=due[r["pk"]])
    return {p.pk: p for p in RiskProfile.objects.select_for_update().filter(customer_id__in=customer_ids).order_by("pk")}


def _settle_pending(customer_ids: list[int]) -> None:
    """Pending ratings whose approval was rejected, expired, cancelled or failed become rejected."""
    (RiskRating.objects.filter(customer_id__in=customer_ids, status=S.PENDING)
     .exclude(pending_action__status="pending").update(status=S.REJECTED))


def _rate_many(customer_ids: list[int], *, trigger: str, actor: Any = None, rationale: str = SYSTEM_RATIONALE,
               day: date | None = None) -> list[RiskRating]:
    """System (re-)rating of many customers (see the module docstring for when a customer is left alone).
    ``trigger`` "sweep" means: new for the never rated, periodic for those whose review is due on ``day``."""
    day = day or timezone.localdate()
    ids = sorted(set(customer_ids))
    active = set(Customer.objects.filter(pk__in=ids, status=Customer.Status.ACTIVE).values_list("pk", flat=True))
    ids = [i for i in ids if i in active]
    if not ids:
        return []
    profiles = _ensure_profiles(ids)
    _settle_pending(ids)
    pending = set(RiskRating.objects.filter(customer_id__in=ids, status=S.PENDING).values_list("customer_id", flat=True))
    current = {r.customer_id: r for r in RiskRating.objects.filter(customer_id__in=ids, status=S.CURRENT)}
    model = rating_model_current(day)
    inputs = gather_inputs(ids, day)
    writer = _Writer(actor, day)
    for cid in ids:
        if cid in pending:
            continue
        cur, profile = current.get(cid), profiles[cid]
        t = trigger
        if trigger == "sweep":
            if cur is not None and (profile.aml_review_due_on is None or profile.aml_review_due_on > day):
                continue
            t = T.PERIODIC if cur is not None else T.NEW
        elif trigger == T.NEW and cur is not None:
            continue
        total, computed, reasons = evaluate(model, inputs[cid])
        if cur is None and t in (T.PROFILE, T.ALERT):
            t = T.NEW
        elif cur is not None and t in (T.PROFILE, T.ALERT) and computed == cur.computed_level:
            continue
        level, note = computed, rationale
        held = cur.level if cur is not None and cur.trigger in (T.MANUAL, T.DUE_DILIGENCE) else None
        if held and rules.rank(held) > rules.rank(level):
            level, note = held, KEPT_PERSON % {"c": LEVEL_LABELS[computed], "l": LEVEL_LABELS[held]}
        if cur is not None and rules.needs_approval(cur.level, level, computed, manual=False):
            level, note = cur.level, KEPT_HIGH % {"c": LEVEL_LABELS[computed]}
        writer.add(cid, inputs[cid]["branch_path"], cur.level if cur else "", model, total, computed, level, reasons, t, note)
    return writer.flush()


def _customer_for(actor: Any, customer_id: Any) -> Customer:
    try:
        return Customer.objects.visible_to(actor).select_related("branch").get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound("customer_not_found", _("客户不存在或不在您的管户范围内")) from None


def risk_rate(*, actor: Any, customer_id: int, trigger: str = T.MANUAL, rationale: str = "",
              level: str | None = None) -> RiskRating:
    """Rate one customer now: by the model, or at ``level`` (a manual override, rationale required). Lowering a
    current HIGH rating or going below the model's level returns a *pending* row waiting for a risk manager."""
    access.require(actor, "risk.rate")
    return _rate_one(actor=actor, customer_id=customer_id, trigger=trigger, rationale=rationale, level=level)


def _rate_one(*, actor: Any, customer_id: int, trigger: str, rationale: str, level: str | None = None,
              floor: str | None = None) -> RiskRating:
    """A person's rating of one customer (risk_rate; due-diligence results with ``floor``)."""
    if trigger not in T.values:
        raise ValidationFailed("trigger_invalid", _("无效的评级触发原因"), fields={"trigger": [_("无效的触发原因")]})
    manual = bool(level)
    if manual and level not in AmlLevel.values:
        raise ValidationFailed("level_invalid", _("无效的风险等级"), fields={"level": [_("请选择高、中或低风险")]})
    rationale = " ".join((rationale or "").split())
    if (manual or trigger == T.MANUAL) and not rationale:
        raise ValidationFailed("rationale_required", _("人工评级必须填写评级理由"), fields={"rationale": [_("请填写评级理由")]})
    if len(rationale) > 500:
        raise ValidationFailed("rationale_too_long", _("评级理由不能超过 500 字"), fields={"rationale": [_("不能超过 500 字")]})
    with transaction.atomic():
        customer = _customer_for(actor, customer_id)
        if customer.status != Customer.Status.ACTIVE:
            raise RuleViolation("customer_not_active", _("该客户不是正常状态，不能评级"))
        profile = _ensure_profiles([customer.pk])[customer.pk]
        _settle_pending([customer.pk])
        if RiskRating.objects.filter(customer=customer, status=S.PENDING).exists():
            raise RuleViolation("rating_pending", _("该客户有一项下调评级正在等待审批，请先处理"))
        day = timezone.localdate()
        model = rating_model_current(day)
        total, computed, reasons = evaluate(model, gather_inputs([customer.pk], day)[customer.pk])
        new = level if manual else rules.higher(computed, floor)
        current = profile.aml_level or None
        if rules.needs_approval(current, new, computed, manual):
            return _submit_lowering(actor, customer, profile, model, total, computed, new, reasons, trigger, rationale)
        writer = _Writer(actor, day)
        writer.add(customer.pk, customer.branch.path, current or "", model, total, computed, new, reasons, trigger,
                   rationale or SYSTEM_RATIONALE)
        return writer.flush()[0]


def _submit_lowering(actor: Any, customer: Customer, profile: RiskProfile, model: RatingModel, total: int,
                     computed: str, level: str, reasons: list, trigger: str, rationale: str) -> RiskRating:
    from bankcrm.approvals.services import approval_submit

    rating = RiskRating.objects.create(customer=customer, model=model, level=level, computed_level=computed,
                                       score=total, factors=reasons, trigger=trigger, rationale=rationale,
                                       status=S.PENDING, rated_by=actor, rated_at=timezone.now())
    summary = _("下调洗钱风险等级：%(c)s %(a)s→%(b)s") % {
        "c": customer.audit_repr(), "a": LEVEL_LABELS.get(profile.aml_level, "—"), "b": LEVEL_LABELS[level]}
    pa = approval_submit(actor=actor, action_code=APPROVAL_ACTION, target=customer, reason=rationale, summary=str(summary),
                         payload={"rating_id": rating.pk, "customer_id": customer.pk, "level": level,
                                  "from_level": profile.aml_level, "computed_level": computed})
    rating.pending_action = pa
    rating.save(update_fields=["pending_action"])
    audit.record(actor=actor, verb="risk.rating_submitted", target=customer,
                 before={"level": profile.aml_level or None},
                 after={"level": level, "computed_level": computed, "rating": rating.pk, "pending_action": pa.pk},
                 reason=rationale)
    return rating


def execute_lowering(*, payload: dict[str, Any], maker: Any, checker: Any, pending_id: int) -> dict[str, Any]:
    """Approved: the pending rating becomes current (re-checked: still pending, customer visible to the checker)."""
    if not Customer.objects.visible_to(checker).filter(pk=payload["customer_id"]).exists():
        raise NotFound("customer_not_found", _("客户不存在或不在您的管户范围内"))
    profile = _ensure_profiles([payload["customer_id"]])[payload["customer_id"]]
    rating = (RiskRating.objects.select_for_update().filter(pk=payload["rating_id"], customer_id=payload["customer_id"],
                                                            status=S.PENDING, pending_action_id=pending_id).first())
    if rating is None:
        raise RuleViolation("rating_not_pending", _("该评级已不在待审批状态"))
    if (profile.aml_level or "") != (payload.get("from_level") or ""):
        raise RuleViolation("rating_changed", _("提交后客户的风险等级已发生变化，请重新评级后再提交"))
    day, now = timezone.localdate(), timezone.now()
    holidays, makeup = workdays.calendar()
    RiskRating.objects.filter(customer_id=rating.customer_id, status=S.CURRENT).update(status=S.SUPERSEDED)
    rating.status, rating.rated_at = S.CURRENT, now
    rating.next_review_on = rules.next_review(day, rating.level, _calendar_months(), holidays, makeup)
    rating.save(update_fields=["status", "rated_at", "next_review_on"])
    RiskProfile.objects.filter(pk=profile.pk).update(aml_level=rating.level, aml_rated_at=now, updated_at=now,
                                                     aml_review_due_on=rating.next_review_on)
    audit.record(actor=checker, verb="risk.rated", target_type="customers.Customer", target_id=rating.customer_id,
                 target_repr=_customer_repr(rating.customer_id), before={"level": profile.aml_level or None},
                 after={"level": rating.level, "computed_level": rating.computed_level, "rating": rating.pk,
                        "approved_by": checker.pk, "maker": maker.pk, "next_review_on": rating.next_review_on},
                 reason=rating.rationale)
    return {"rating_id": rating.pk, "level": rating.level}


# ---- Triggers (called by the lead's outbox consumers; idempotent; system actor) ---------------------------------------
CHUNK = 500


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ids = sorted(set(int(i) for i in ids))
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def on_customers_registered(customer_ids: Iterable[int]) -> int:
    """New customers: a profile with the first-rating deadline, then the model's rating (trigger new)."""
    n = 0
    for ids in _chunks(customer_ids):
        with transaction.atomic():
            _ensure_profiles(ids, rating_due=True)
            n += len(_rate_many(ids, trigger=T.NEW))
    return n


def on_customers_changed(customer_ids: Iterable[int]) -> int:
    """Profile changes: re-rate when the model's level for the customer changed."""
    n = 0
    for ids in _chunks(customer_ids):
        with transaction.atomic():
            n += len(_rate_many(ids, trigger=T.PROFILE))
    return n


def on_new_alerts(customer_ids: Iterable[int]) -> int:
    n = 0
    for ids in _chunks(customer_ids):
        with transaction.atomic():
            n += len(_rate_many(ids, trigger=T.ALERT))
    return n


if on_new_alerts not in alerting.ON_NEW_ALERTS:
    alerting.ON_NEW_ALERTS.append(on_new_alerts)


# ---- Nightly sweep (R14) --------------------------------------------------------------------------------------------
SWEEP_JOB = "rating_sweep"


def _sweep_due(day: date) -> Q:
    return Q(risk_profile__isnull=True) | Q(risk_profile__aml_level="") | Q(risk_profile__aml_review_due_on__lte=day)


def _sweep_chunk(ids: list[int], day: date) -> int:
    return len(_rate_many(ids, trigger="sweep", day=day))


def rating_sweep(day: date | None = None, *, chunk: int = CHUNK, force: bool = False) -> BatchRun:
    """Rate the never-rated active customers and review those due on ``day``. Each chunk commits with its
    checkpoint; a killed run resumes, a finished one is not redone, and a forced re-run finds nothing due."""
    day = day or timezone.localdate()

    def next_ids(after: int, limit: int) -> list[int]:
        return list(Customer.objects.filter(pk__gt=after, status=Customer.Status.ACTIVE).filter(_sweep_due(day))
                    .order_by("pk").values_list("pk", flat=True)[:limit])

    return batchrun.run(SWEEP_JOB, day, next_ids=next_ids, process=lambda ids: _sweep_chunk(ids, day), chunk=chunk,
                        force=force)


daily("risk.rating_sweep", time(1, 30), lambda: run_as_task(rating_sweep))


# ---- Selectors -------------------------------------------------------------------------------------------------------
def customer_for_rating(actor: Any, customer_id: Any) -> Customer:
    access.require(actor, "risk.view")
    return _customer_for(actor, customer_id)


def ratings_of(actor: Any, customer: Customer) -> QuerySet[RiskRating]:
    """The customer's rating history, newest first (the caller got ``customer`` through a scoped read)."""
    return RiskRating.objects.filter(customer=customer).select_related("rated_by", "pending_action", "model")


def current_rating(customer: Customer) -> RiskRating | None:
    return RiskRating.objects.filter(customer=customer, status=S.CURRENT).select_related("rated_by", "model").first()


def pending_rating(customer: Customer) -> RiskRating | None:
    return (RiskRating.objects.filter(customer=customer, status=S.PENDING, pending_action__status="pending")
            .select_related("rated_by", "pending_action").first())


def ratings_due(actor: Any, day: date | None = None, *, within_days: int = 30) -> QuerySet[RiskProfile]:
    """Reviews and first ratings due within ``within_days`` of ``day`` (overdue first), of customers the actor sees."""
    from datetime import timedelta

    day = day or timezone.localdate()
    horizon = day + timedelta(days=within_days)
    visible = Customer.objects.visible_to(actor).filter(pk=OuterRef("customer_id"), status=Customer.Status.ACTIVE)
    return (RiskProfile.objects.filter(Exists(visible))
            .filter(Q(aml_level="", aml_rating_due_on__lte=horizon) | Q(aml_review_due_on__lte=horizon))
            .select_related("customer", "customer__branch")
            .order_by("aml_review_due_on", "aml_rating_due_on", "customer_id"))


def due_on(profile: RiskProfile) -> date | None:
    return profile.aml_rating_due_on if not profile.aml_level else profile.aml_review_due_on


def reason_rows(rating: RiskRating) -> list[dict[str, Any]]:
    """The stored reasons with display labels in the reader's language."""
    values = {"kind": dict(Customer.Kind.choices), "id_type": dict(Customer.IdType.choices),
              "channel": {"face_to_face": gettext_lazy("网点面对面"), "non_face_to_face": gettext_lazy("非面对面")},
              "pep": {"yes": gettext_lazy("是"), "no": gettext_lazy("否")}}
    out = []
    for r in rating.factors or []:
        spec = rules.FACTORS.get(r.get("factor"))
        value = r.get("value", "")
        out.append({**r, "label": spec.label if spec else r.get("label", ""), "group": spec.group if spec else "",
                    "value_label": values.get(r.get("factor"), {}).get(value, value) if r.get("scored") else
                    gettext_lazy("未知（不计分）")})
    return out


def rating_summary(actor: Any, customer: Customer) -> dict[str, Any]:
    """For the customer 360 panel: level, label, rated_at, review due, overdue, pending approval, open DDs, url."""
    from .models import DueDiligence

    profile = RiskProfile.objects.filter(pk=customer.pk).first()
    level = profile.aml_level if profile else ""
    due = due_on(profile) if profile else None
    return {
        "level": level, "label": LEVEL_LABELS.get(level, gettext_lazy("未评级")),
        "rated_at": profile.aml_rated_at if profile else None, "review_due_on": due,
        "overdue": bool(due and due < timezone.localdate()),
        "pending_approval": pending_rating(customer) is not None,
        "open_due_diligence": DueDiligence.objects.filter(customer=customer, status=DueDiligence.Status.OPEN).count(),
        "url": reverse("risk:customer_rating", args=[customer.pk]) if access.can(actor, "risk.view") else "",
    }
