"""Appraisal services: KPI schemes, periods, the bulk scorecard computation and the scorecard's steps.

A scorecard moves computed → self-assessed → reviewed → (calibrated) → signed off; an appeal goes to someone other
than the reviewer, and an upheld appeal reopens the review. Every step is one function with an explicit ``actor``, one
transaction and one audit event; maker ≠ checker: nobody reviews, calibrates, signs off or decides an appeal on their
own scorecard, and the reviewer does not decide an appeal against their own review.

``scorecards_compute`` is bulk (P7): for each active scheme, one aggregate query per metric over every member of
staff holding the scheme's role in the scope, then ``bulk_create`` / ``bulk_update`` in one transaction per chunk and
one audit event for the run with its counts. A card is recomputed only while it is still ``computed``: once the
member of staff has self-assessed, the figures they commented on stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bankcrm.core import access, audit, params
from bankcrm.core.access import Role
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from bankcrm.core.errors import field_error as _field_error

from . import appraisal_rules as rules
from . import appraisal_selectors as selectors
from . import metrics
from .models import Appeal, KpiScheme, KpiWeight, Period, Scorecard, ScorecardLine

params.define("appraisal.review_adjustment_max", "int", 10, gettext_lazy("上级评价可调整的最大分值（分，±）"),
              "DOMAIN_RULES §1", maximum=100)
params.define("appraisal.calibration_adjustment_max", "int", 10, gettext_lazy("校准可调整的最大分值（分，±）"),
              "DOMAIN_RULES §1", maximum=100)
params.define("appraisal.appeal_window", "days", 15, gettext_lazy("签署后可提出考核申诉的天数"), "DOMAIN_RULES §1",
              minimum=1)

S = Scorecard.Status
CHUNK = 1000
# A member of staff with several roles gets one scorecard per period: the first of these roles that has a scheme.
ROLE_PRIORITY = [Role.BRANCH_SUPERVISOR, Role.CUSTOMER_MANAGER, Role.OPERATIONS_MANAGER, Role.RISK_MANAGER,
                 Role.COMPLIANCE_MANAGER]
BRANCH_LEVEL_ROLES = {Role.BRANCH_SUPERVISOR}
CUSTOMER_FACING_ROLES = {Role.CUSTOMER_MANAGER}
SCHEME_FIELDS = ["code", "name", "role", "version", "status"]
CARD_FIELDS = ["status", "computed_score", "review_adjustment", "calibration_adjustment", "final_score"]


def _now() -> datetime:
    return timezone.now()


def level_of(role: str) -> str:
    return metrics.BRANCH if role in BRANCH_LEVEL_ROLES else metrics.STAFF


def _points(code: str) -> int:
    """A points parameter in hundredths."""
    return params.value(code) * 100


# ---- schemes -------------------------------------------------------------------------------------------------------
# metric, weight, floor, target (values in ten-thousandths of the metric's unit; see metrics.UNIT_SCALE)
DEFAULT_SCHEMES: dict[str, tuple[str, str, list[tuple[str, int, int, int]]]] = {
    Role.CUSTOMER_MANAGER: ("cm-default", "客户经理考核方案（以客户满意度为核心）", [
        ("csat", 30, 30_000, 48_000), ("nps", 12, 0, 6_000), ("complaint_rate", 8, 50_000, 0),
        ("retention", 10, 8_500, 9_900), ("aum_growth", 10, -500, 1_000), ("needs_met", 10, 2_000, 6_000),
        ("new_customers", 5, 0, 100_000), ("return_visits", 5, 8_000, 10_000), ("findings", 5, 30_000, 0),
        ("training", 5, 5_000, 10_000)]),
    Role.BRANCH_SUPERVISOR: ("sv-default", "网点负责人考核方案（辖内汇总）", [
        ("csat", 25, 30_000, 48_000), ("nps", 15, 0, 6_000), ("complaint_rate", 10, 50_000, 0),
        ("complaint_deadline", 10, 8_000, 10_000), ("retention", 10, 8_500, 9_900), ("aum_growth", 10, -500, 1_000),
        ("findings", 10, 200_000, 0), ("training", 10, 5_000, 10_000)]),
    Role.OPERATIONS_MANAGER: ("om-default", "运营经理考核方案", [
        ("visits_on_time", 30, 7_000, 10_000), ("complaint_deadline", 25, 8_000, 10_000),
        ("training", 25, 5_000, 10_000), ("findings", 20, 30_000, 0)]),
    Role.RISK_MANAGER: ("rk-default", "风控经理考核方案", [
        ("dd_on_time", 40, 7_000, 10_000), ("training", 30, 5_000, 10_000), ("findings", 30, 30_000, 0)]),
    Role.COMPLIANCE_MANAGER: ("co-default", "合规经理考核方案", [
        ("complaint_deadline", 40, 8_000, 10_000), ("training", 30, 5_000, 10_000), ("findings", 30, 30_000, 0)]),
}


@dataclass(frozen=True)
class WeightInput:
    metric: str
    weight: int
    floor: int
    target: int


def _lines(weights: list[Any]) -> list[rules.WeightLine]:
    out = []
    for i, w in enumerate(weights):
        get = w.get if isinstance(w, dict) else lambda k, _w=w: getattr(_w, k)
        try:
            out.append(rules.WeightLine(str(get("metric")), int(get("weight")), int(get("floor")), int(get("target"))))
        except (TypeError, ValueError):
            raise _field_error("weight_invalid", f"weights.{i}", _("第 %(n)d 行：权重、零分值和满分值必须是整数")
                               % {"n": i + 1}) from None
    return out


def scheme_validate(role: str, weights: list[Any]) -> list[rules.Problem]:
    lines = _lines(weights)
    return rules.validate_scheme(
        lines, known=metrics.directions(), satisfaction=metrics.satisfaction_codes(),
        satisfaction_min=params.value("appraisal.satisfaction_weight_min"),
        customer_facing=role in CUSTOMER_FACING_ROLES, supported=metrics.codes_at(level_of(role)))


def _raise_problems(problems: list[rules.Problem]) -> None:
    if not problems:
        return
    fields: dict[str, list[str]] = {}
    for p in problems:
        fields.setdefault(p.metric or "weights", []).append(str(p.message))
    raise ValidationFailed("scheme_invalid", "；".join(str(p.message) for p in problems), fields=fields)


def _write_weights(scheme: KpiScheme, lines: list[rules.WeightLine]) -> None:
    scheme.weights.all().delete()
    KpiWeight.objects.bulk_create([KpiWeight(scheme=scheme, metric=ln.metric, weight=ln.weight, floor=ln.floor,
                                             target=ln.target, position=i) for i, ln in enumerate(lines)])


def _weights_snapshot(scheme: KpiScheme) -> list[list[Any]]:
    return [[w.metric, w.weight, w.floor, w.target] for w in scheme.weights.order_by("position", "pk")]


def scheme_save(*, actor: Any, role: str, name: str, weights: list[Any], scheme_id: int | None = None,
                code: str = "") -> KpiScheme:
    """Save a draft scheme. Editing an active or retired scheme saves a new draft version of it (scorecards keep the
    version they were computed with). Every problem of the weights is named (ValidationFailed, per metric)."""
    access.require(actor, "people.manage_appraisal")
    with transaction.atomic():
        if role not in DEFAULT_SCHEMES:
            raise _field_error("role_invalid", "role", _("请选择适用角色"))
        if not (name or "").strip():
            raise _field_error("name_required", "name", _("请填写方案名称"))
        lines = _lines(weights)
        _raise_problems(scheme_validate(role, weights))
        base = None
        if scheme_id is not None:
            base = KpiScheme.objects.select_for_update().filter(pk=scheme_id).first()
            if base is None:
                raise NotFound("scheme_not_found", _("考核方案不存在"))
            if base.role != role:
                raise _field_error("role_locked", "role", _("不能修改已有方案的适用角色，请新建方案"))
        if base is not None and base.status == KpiScheme.Status.DRAFT:
            scheme, before = base, {"weights": _weights_snapshot(base), "name": base.name}
            scheme.name = name.strip()[:120]
            scheme.save(update_fields=["name"])
        else:
            code = base.code if base else (code or f"{role.replace('_', '-')}-{_now():%Y%m%d%H%M%S}")[:40]
            latest = KpiScheme.objects.filter(code=code).order_by("-version").first()
            if base is None and latest is not None:
                raise _field_error("code_taken", "code", _("方案代码已存在"))
            scheme = KpiScheme.objects.create(code=code, name=name.strip()[:120], role=role,
                                              version=(latest.version + 1) if latest else 1, created_by=actor)
            before = {}
        _write_weights(scheme, lines)
        audit.record(actor=actor, verb="people.scheme_saved", target=scheme, before=before,
                     after={"name": scheme.name, "role": role, "weights": _weights_snapshot(scheme)})
    return scheme


def scheme_activate(*, actor: Any, scheme_id: int) -> KpiScheme:
    """Put a draft scheme in force for its role; the role's previous active scheme retires."""
    access.require(actor, "people.manage_appraisal")
    with transaction.atomic():
        scheme = KpiScheme.objects.select_for_update().filter(pk=scheme_id).first()
        if scheme is None:
            raise NotFound("scheme_not_found", _("考核方案不存在"))
        if scheme.status != KpiScheme.Status.DRAFT:
            raise RuleViolation("scheme_not_draft", _("只有草稿状态的方案可以启用"))
        _raise_problems(scheme_validate(scheme.role, list(scheme.weights.values("metric", "weight", "floor", "target"))))
        retired = list(KpiScheme.objects.select_for_update().filter(role=scheme.role, status=KpiScheme.Status.ACTIVE))
        for old in retired:
            old.status = KpiScheme.Status.RETIRED
            old.save(update_fields=["status"])
        scheme.status, scheme.activated_at = KpiScheme.Status.ACTIVE, _now()
        scheme.save(update_fields=["status", "activated_at"])
        audit.record(actor=actor, verb="people.scheme_activated", target=scheme,
                     before={"retired": [o.audit_repr() for o in retired]},
                     after={"status": scheme.status, "weights": _weights_snapshot(scheme)})
    return scheme


def schemes_install_default(*, actor: Any) -> list[KpiScheme]:
    """Install the default scheme of every role that has no active scheme (idempotent). The customer managers'
    scheme puts CSAT first and customer satisfaction at no less than ``appraisal.satisfaction_weight_min``."""
    access.require(actor, "people.manage_appraisal")
    made = []
    with transaction.atomic():
        for role, (code, name, lines) in DEFAULT_SCHEMES.items():
            if KpiScheme.objects.filter(role=role, status=KpiScheme.Status.ACTIVE).exists():
                continue
            if KpiScheme.objects.filter(code=code).exists():
                continue  # an administrator retired it on purpose: do not bring it back
            weights = [{"metric": m, "weight": w, "floor": f, "target": t} for m, w, f, t in lines]
            scheme = scheme_save(actor=actor, role=role, name=name, weights=weights, code=code)
            made.append(scheme_activate(actor=actor, scheme_id=scheme.pk))
    return made


# ---- periods -------------------------------------------------------------------------------------------------------
def period_open(*, actor: Any, year: int, quarter: int | None = None) -> Period:
    """Open a quarter (``quarter`` 1–4) or a year (``quarter`` None); opening an existing period returns it."""
    access.require(actor, "people.manage_appraisal")
    try:
        year = int(year)
        quarter = int(quarter) if quarter not in (None, "") else None
        start, end = rules.period_bounds(year, quarter)
    except (TypeError, ValueError):
        raise _field_error("period_invalid", "quarter", _("请填写正确的年度和季度（1–4）")) from None
    if not 2000 <= year <= 2100:
        raise _field_error("year_invalid", "year", _("年度超出范围"))
    kind = Period.Kind.QUARTER if quarter else Period.Kind.YEAR
    with transaction.atomic():
        existing = Period.objects.filter(kind=kind, year=year, quarter=quarter).first()
        if existing is not None:
            return existing
        period = Period.objects.create(kind=kind, year=year, quarter=quarter, starts_on=start, ends_on=end)
        audit.record(actor=actor, verb="people.period_opened", target=period,
                     after={"kind": kind, "starts_on": start, "ends_on": end})
    return period


def period_close(*, actor: Any, period_id: int) -> Period:
    access.require(actor, "people.manage_appraisal")
    with transaction.atomic():
        period = Period.objects.select_for_update().filter(pk=period_id).first()
        if period is None:
            raise NotFound("period_not_found", _("考核期不存在"))
        if period.status == Period.Status.CLOSED:
            return period
        open_cards = Scorecard.objects.filter(period=period).exclude(status=S.SIGNED_OFF).count()
        if open_cards:
            raise RuleViolation("period_cards_open", _("还有 %(n)d 张记分卡未签署，不能结束考核期") % {"n": open_cards})
        period.status = Period.Status.CLOSED
        period.save(update_fields=["status"])
        audit.record(actor=actor, verb="people.period_closed", target=period, after={"status": period.status})
    return period


# ---- the bulk computation ------------------------------------------------------------------------------------------
@dataclass
class ComputedCard:
    staff_id: int
    branch_id: int
    branch_path: str
    score: int
    lines: list[dict]


def metric_results(plan: list[tuple[KpiScheme, list[tuple[int, int, str]]]], period: Period
                   ) -> dict[tuple[str, str], dict[int, tuple[int | None, int, int]]]:
    """Every (metric, level) the plan needs, computed once over all the staff who need it: one aggregate query per
    metric (and level), whatever the number of schemes or staff."""
    need: dict[tuple[str, str], dict[int, str]] = {}
    for scheme, staff in plan:
        level = level_of(scheme.role)
        for w in scheme.weights.all():
            bucket = need.setdefault((w.metric, level), {})
            bucket.update({sid: path for sid, _b, path in staff})
    return {(code, level): metrics.get(code).compute(list(ids), period, level=level, paths=ids)
            for (code, level), ids in need.items()}


def compute_scores(scheme: KpiScheme, period: Period, staff: list[tuple[int, int, str]],
                   results: dict | None = None) -> list[ComputedCard]:
    """The scores of ``staff`` (id, branch id, branch path) under ``scheme`` from the metric results (computed here
    when not given: one aggregate query per metric)."""
    if results is None:
        results = metric_results([(scheme, staff)], period)
    level = level_of(scheme.role)
    weights = sorted(scheme.weights.all(), key=lambda w: (w.position, w.pk))
    per_metric = [(w, results[(w.metric, level)]) for w in weights]
    out = []
    for sid, branch_id, path in staff:
        lines, pairs = [], []
        for i, (w, got) in enumerate(per_metric):
            value, num, den = got[sid]
            score = rules.metric_score(value, w.floor, w.target)
            pairs.append((w.weight, score))
            lines.append({"metric": w.metric, "weight": w.weight, "value": value, "numerator": num,
                          "denominator": den, "score": score or 0, "weighted": rules.weighted(w.weight, score),
                          "position": i})
        out.append(ComputedCard(sid, branch_id, path, rules.weighted_total(pairs), lines))
    return out


def _staff_for(role: str, scope_q: Any, taken: set[int]) -> list[tuple[int, int, str]]:
    from bankcrm.org.models import Staff

    rows = (Staff.objects.filter(scope_q, is_active=True, role_assignments__role=role)
            .order_by("pk").values_list("pk", "branch_id", "branch__path").distinct())
    return [r for r in rows if r[0] not in taken]


def appraisal_plan(scope_q: Any) -> list[tuple[KpiScheme, list[tuple[int, int, str]]]]:
    """(active scheme, staff it appraises) in role precedence: someone with several roles is appraised once, on the
    first of their roles that has an active scheme."""
    schemes = {s.role: s for s in KpiScheme.objects.filter(status=KpiScheme.Status.ACTIVE).prefetch_related("weights")}
    taken: set[int] = set()
    plan = []
    for role in ROLE_PRIORITY:
        if role in schemes:
            staff = _staff_for(role, scope_q, taken)
            taken.update(s[0] for s in staff)
            plan.append((schemes[role], staff))
    return plan


def scorecards_compute(*, actor: Any, period_id: int, branch_id: int | None = None) -> dict[str, int]:
    """Compute (or recompute, while still ``computed``) the scorecards of everyone appraised in the period, in the
    actor's scope or under ``branch_id``. Returns the counts ``{"created", "updated", "kept", "staff"}``."""
    from django.db.models import Q

    from bankcrm.org.models import Branch

    access.require(actor, "people.manage_appraisal")
    period = Period.objects.filter(pk=period_id).first()
    if period is None:
        raise NotFound("period_not_found", _("考核期不存在"))
    if period.status != Period.Status.OPEN:
        raise RuleViolation("period_closed", _("考核期已结束，不能再计算"))
    scope_q = access.branch_scope_q(actor, "branch__path")
    root = ""
    if branch_id:
        branch = Branch.objects.visible_to(actor).filter(pk=branch_id).first()
        if branch is None:
            raise NotFound("branch_not_found", _("机构不存在"))
        root = branch.path
        scope_q &= Q(branch__path__startswith=root)
    plan = appraisal_plan(scope_q)
    if not plan:
        raise RuleViolation("no_active_scheme", _("没有生效的考核方案，请先安装或启用方案"))
    results = metric_results(plan, period)
    counts = {"created": 0, "updated": 0, "kept": 0, "staff": 0}
    now = _now()
    for scheme, staff in plan:
        for i in range(0, len(staff), CHUNK):
            cards = compute_scores(scheme, period, staff[i:i + CHUNK], results)
            with transaction.atomic():
                _write_chunk(scheme, period, cards, now, counts)
    with transaction.atomic():
        audit.record(actor=actor, verb="people.scorecards_computed", target=period,
                     after={**counts, "branch": root or (access.scope_root(actor) or "/")})
    return counts


_CARD_COLUMNS = ["id", "staff_id", "period_id", "scheme_id", "role", "branch_id", "branch_path", "computed_score",
                 "review_adjustment", "calibration_adjustment", "final_score", "status", "computed_at", "self_comment",
                 "review_comment", "calibration_reason"]
_LINE_COLUMNS = ["id", "scorecard_id", "metric", "weight", "value", "numerator", "denominator", "score", "weighted",
                 "position"]


def _write_chunk(scheme: KpiScheme, period: Period, cards: list[ComputedCard], now: datetime,
                 counts: dict[str, int]) -> None:
    """New cards and their lines go in with reserved keys and COPY / executemany (core.bulkwrite: the ORM's
    per-value preparation was most of the time at 5,000 staff); recomputed cards are updated in bulk."""
    from bankcrm.core.bulkwrite import copy_rows, db_value, reserve_ids

    existing = {sid: (pk, status) for pk, sid, status in Scorecard.objects.select_for_update().filter(
        period=period, staff_id__in=[c.staff_id for c in cards]).values_list("pk", "staff_id", "status")}
    new, upd = [], []
    for c in cards:
        counts["staff"] += 1
        if c.staff_id in existing:
            pk, status = existing[c.staff_id]
            if status != S.COMPUTED:
                counts["kept"] += 1
                continue
            upd.append((pk, c))
        else:
            new.append(c)
    ids = reserve_ids(Scorecard._meta.db_table, len(new))
    at = db_value(now)
    copy_rows(Scorecard._meta.db_table, _CARD_COLUMNS, [
        (pk, c.staff_id, period.pk, scheme.pk, scheme.role, c.branch_id, c.branch_path, c.score, 0, 0, c.score,
         S.COMPUTED, at, "", "", "") for pk, c in zip(ids, new, strict=True)])
    if upd:
        objs = [Scorecard(pk=pk, scheme=scheme, role=scheme.role, branch_id=c.branch_id, branch_path=c.branch_path,
                          computed_score=c.score, review_adjustment=0, calibration_adjustment=0, final_score=c.score,
                          computed_at=now) for pk, c in upd]
        Scorecard.objects.bulk_update(objs, ["scheme", "role", "branch", "branch_path", "computed_score",
                                             "review_adjustment", "calibration_adjustment", "final_score",
                                             "computed_at"], batch_size=500)
        ScorecardLine.objects.filter(scorecard_id__in=[pk for pk, _c in upd]).delete()
    pairs = list(zip(ids, new, strict=True)) + upd
    line_ids = iter(reserve_ids(ScorecardLine._meta.db_table, sum(len(c.lines) for _pk, c in pairs)))
    copy_rows(ScorecardLine._meta.db_table, _LINE_COLUMNS, [
        (next(line_ids), pk, ln["metric"], ln["weight"], ln["value"], ln["numerator"], ln["denominator"], ln["score"],
         ln["weighted"], ln["position"]) for pk, c in pairs for ln in c.lines])
    counts["created"] += len(new)
    counts["updated"] += len(upd)


# ---- the scorecard's steps -----------------------------------------------------------------------------------------
def _card(actor: Any, scorecard_id: int) -> Scorecard:
    return selectors.scorecard_get(actor, scorecard_id, for_update=True)


def _supervises(actor: Any, card: Scorecard) -> bool:
    root = access.scope_root(actor)
    return root is None or card.branch_path.startswith(root)


def _require_checker(actor: Any, card: Scorecard, capability: str) -> None:
    access.require(actor, capability)
    if card.staff_id == actor.pk:
        raise PermissionDenied("own_scorecard", _("不能处理本人的考核记分卡"), capability=capability)
    if not _supervises(actor, card):
        raise NotFound("scorecard_not_found", _("考核记分卡不存在"))


def _record(actor: Any, verb: str, card: Scorecard, before: dict, reason: str = "") -> None:
    audit.record(actor=actor, verb=verb, target=card, before=before, after=audit.snapshot(card, CARD_FIELDS),
                 reason=reason)


def scorecard_self_assess(*, actor: Any, scorecard_id: int, comment: str) -> Scorecard:
    """The member of staff comments on their own card (until the supervisor has reviewed it)."""
    access.require(actor, "people.appraisal")
    with transaction.atomic():
        card = _card(actor, scorecard_id)
        if card.staff_id != actor.pk:
            raise PermissionDenied("not_own_scorecard", _("只能对本人的考核记分卡自评"), capability="people.appraisal")
        if card.status not in (S.COMPUTED, S.SELF_ASSESSED):
            raise RuleViolation("scorecard_not_open", _("上级已评价，不能再修改自评"))
        if not (comment or "").strip():
            raise _field_error("comment_required", "comment", _("请填写自评内容"))
        before = audit.snapshot(card, CARD_FIELDS)
        card.self_comment, card.self_assessed_at, card.status = comment.strip()[:4000], _now(), S.SELF_ASSESSED
        card.save(update_fields=["self_comment", "self_assessed_at", "status"])
        _record(actor, "people.self_assessed", card, before)
    return card


def _adjustment(raw: Any, limit: int, field: str) -> int:
    try:
        adj = int(raw or 0)
    except (TypeError, ValueError):
        raise _field_error("adjustment_invalid", field, _("调整分值必须是整数（百分之一分）")) from None
    if abs(adj) > limit:
        raise _field_error("adjustment_too_large", field,
                           _("调整幅度不能超过 ±%(n)s 分") % {"n": f"{limit / 100:g}"})
    return adj


def _check_range(card: Scorecard, field: str) -> None:
    if not 0 <= card.final_score <= rules.SCORE_MAX:
        raise _field_error("score_out_of_range", field, _("调整后的得分须在 0–100 分之间"))


def scorecard_review(*, actor: Any, scorecard_id: int, comment: str, adjustment: int = 0) -> Scorecard:
    """The supervisor's review: a comment and an adjustment within ±``appraisal.review_adjustment_max`` points.
    A supervisor of the card's branch subtree, never the member of staff themself."""
    access.require(actor, "people.review")
    with transaction.atomic():
        card = _card(actor, scorecard_id)
        _require_checker(actor, card, "people.review")
        if card.status not in (S.COMPUTED, S.SELF_ASSESSED):
            raise RuleViolation("scorecard_not_reviewable", _("该记分卡当前状态不能评价"))
        if not (comment or "").strip():
            raise _field_error("comment_required", "comment", _("请填写评语"))
        adj = _adjustment(adjustment, _points("appraisal.review_adjustment_max"), "adjustment")
        before = audit.snapshot(card, CARD_FIELDS)
        card.review_adjustment = adj
        card.final_score = card.computed_score + adj + card.calibration_adjustment
        _check_range(card, "adjustment")
        card.review_comment, card.reviewer, card.reviewed_at, card.status = comment.strip()[:4000], actor, _now(), S.REVIEWED
        card.save(update_fields=["review_adjustment", "final_score", "review_comment", "reviewer", "reviewed_at",
                                 "status"])
        _record(actor, "people.scorecard_reviewed", card, before, reason=card.review_comment)
    return card


def scorecards_calibrate(*, actor: Any, period_id: int, branch_id: int, shifts: dict[int, int],
                         reason: str) -> list[Scorecard]:
    """Calibrate the reviewed cards of one branch (its staff) for a period: each card may shift within
    ±``appraisal.calibration_adjustment_max`` points; cards not named shift by 0. A supervisor of the branch or
    above, with a reason; never their own card."""
    from bankcrm.org.models import Branch

    access.require(actor, "people.review")
    if not (reason or "").strip():
        raise _field_error("reason_required", "reason", _("请填写校准说明"))
    limit = _points("appraisal.calibration_adjustment_max")
    with transaction.atomic():
        branch = Branch.objects.filter(pk=branch_id).first()
        root = access.scope_root(actor)
        if branch is None or (root is not None and not branch.path.startswith(root)):
            raise NotFound("branch_not_found", _("机构不存在"))
        cards = list(Scorecard.objects.select_for_update().filter(period_id=period_id, branch=branch,
                                                                  status__in=[S.REVIEWED, S.CALIBRATED])
                     .exclude(staff=actor).order_by("pk"))
        if not cards:
            raise RuleViolation("nothing_to_calibrate", _("该机构没有待校准的记分卡"))
        known = {c.pk for c in cards}
        unknown = [k for k in shifts if int(k) not in known]
        if unknown:
            raise _field_error("shift_unknown", "shifts", _("只能校准本机构已评价的记分卡"))
        for c in cards:
            adj = _adjustment(shifts.get(c.pk, shifts.get(str(c.pk), 0)), limit, f"shift_{c.pk}")
            before = audit.snapshot(c, CARD_FIELDS)
            c.calibration_adjustment = adj
            c.final_score = c.computed_score + c.review_adjustment + adj
            _check_range(c, f"shift_{c.pk}")
            c.calibrated_by, c.calibration_reason, c.calibrated_at, c.status = actor, reason.strip()[:2000], _now(), S.CALIBRATED
            c.save(update_fields=["calibration_adjustment", "final_score", "calibrated_by", "calibration_reason",
                                  "calibrated_at", "status"])
            _record(actor, "people.scorecard_calibrated", c, before, reason=c.calibration_reason)
    return cards


def scorecard_sign_off(*, actor: Any, scorecard_id: int) -> Scorecard:
    """Sign the result off (after review; calibration is optional for a branch of one). Never one's own card."""
    access.require(actor, "people.review")
    with transaction.atomic():
        card = _card(actor, scorecard_id)
        _require_checker(actor, card, "people.review")
        if card.status not in (S.REVIEWED, S.CALIBRATED):
            raise RuleViolation("scorecard_not_reviewed", _("记分卡须经上级评价后才能签署"))
        before = audit.snapshot(card, CARD_FIELDS)
        card.signed_off_by, card.signed_off_at, card.status = actor, _now(), S.SIGNED_OFF
        card.save(update_fields=["signed_off_by", "signed_off_at", "status"])
        _record(actor, "people.scorecard_signed_off", card, before)
    return card


def appeal_raise(*, actor: Any, scorecard_id: int, reason: str) -> Appeal:
    """The member of staff contests their reviewed or signed-off card; after sign-off only within
    ``appraisal.appeal_window`` days."""
    access.require(actor, "people.appraisal")
    with transaction.atomic():
        card = _card(actor, scorecard_id)
        if card.staff_id != actor.pk:
            raise PermissionDenied("not_own_scorecard", _("只能对本人的考核结果提出申诉"), capability="people.appraisal")
        if card.status not in (S.REVIEWED, S.CALIBRATED, S.SIGNED_OFF):
            raise RuleViolation("scorecard_not_appealable", _("上级评价后才能提出申诉"))
        if card.status == S.SIGNED_OFF and not rules.within_days(
                timezone.localtime(card.signed_off_at).date(), timezone.localdate(), params.value("appraisal.appeal_window")):
            raise RuleViolation("appeal_window_closed", _("已超过申诉期限（签署后 %(n)d 天内）")
                                % {"n": params.value("appraisal.appeal_window")})
        if not (reason or "").strip():
            raise _field_error("reason_required", "reason", _("请填写申诉理由"))
        before = audit.snapshot(card, CARD_FIELDS)
        appeal = Appeal.objects.create(scorecard=card, raised_by=actor, reason=reason.strip()[:4000], raised_at=_now())
        card.status = S.APPEALED
        card.save(update_fields=["status"])
        audit.record(actor=actor, verb="people.appeal_raised", target=card, before=before,
                     after={**audit.snapshot(card, CARD_FIELDS), "appeal": appeal.pk}, reason=appeal.reason)
    return appeal


def _status_before_appeal(card: Scorecard) -> str:
    if card.signed_off_by_id:
        return S.SIGNED_OFF
    if card.calibrated_by_id:
        return S.CALIBRATED
    return S.REVIEWED


def appeal_decide(*, actor: Any, appeal_id: int, upheld: bool, note: str) -> Appeal:
    """Decide an appeal: someone with ``people.appeal_decide`` in scope, neither the appellant nor the reviewer.
    Upheld: the review reopens (the card waits for the supervisor's review again, signature cleared). Rejected: the
    card returns to where it was."""
    access.require(actor, "people.appeal_decide")
    with transaction.atomic():
        appeal = selectors.appeal_get(actor, appeal_id)
        appeal = Appeal.objects.select_for_update().get(pk=appeal.pk)
        card = Scorecard.objects.select_for_update().get(pk=appeal.scorecard_id)
        if not _supervises(actor, card):
            raise NotFound("appeal_not_found", _("申诉不存在"))
        if actor.pk in (card.staff_id, appeal.raised_by_id):
            raise PermissionDenied("own_appeal", _("不能处理本人的申诉"), capability="people.appeal_decide")
        if actor.pk == card.reviewer_id:
            raise PermissionDenied("reviewer_cannot_decide", _("评价人不能处理针对本人评价的申诉"),
                                   capability="people.appeal_decide")
        if appeal.status != Appeal.Status.OPEN:
            raise RuleViolation("appeal_decided", _("该申诉已处理"))
        if not (note or "").strip():
            raise _field_error("note_required", "note", _("请填写处理意见"))
        before = audit.snapshot(card, CARD_FIELDS)
        appeal.status = Appeal.Status.UPHELD if upheld else Appeal.Status.REJECTED
        appeal.decided_by, appeal.decided_at, appeal.decision_note = actor, _now(), note.strip()[:4000]
        appeal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        if upheld:
            card.status, card.signed_off_by, card.signed_off_at = S.SELF_ASSESSED, None, None
            card.save(update_fields=["status", "signed_off_by", "signed_off_at"])
        else:
            card.status = _status_before_appeal(card)
            card.save(update_fields=["status"])
        audit.record(actor=actor, verb="people.appeal_decided", target=card, before=before,
                     after={**audit.snapshot(card, CARD_FIELDS), "appeal": appeal.pk, "decision": appeal.status},
                     reason=appeal.decision_note)
    return appeal
