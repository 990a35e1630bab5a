"""Incentive services: schemes, branch pools allocated by appraisal score, maker-checker approval of the payout,
payout records, and clawback when a complaint is upheld or mis-selling is found after payout.

Pool life: draft → (allocate) allocated → (submit) pending → approved (a second person, through the approvals app,
action ``people.pool_payout``) → (mark paid) paid. A rejected, cancelled or expired approval puts the pool back to
allocated; saving a draft or allocated pool again clears its allocation.

**Clawback decision (conduct found after payout).** A complaint upheld against a member of staff, or a return visit
that found one of their sales mis-sold (the customer did not understand the risk or did not buy voluntarily), is a
finding about their conduct. A finding made within ``incentives.clawback_window`` months after an award was paid —
whatever period the conduct itself fell in — claws back the **latest** paid award of that member of staff whose
window covers the finding (if that one is already fully clawed back, the next latest). Findings made before a payout
are not clawed back: the appraisal that set the award already counted complaints and return visits. One finding
claws back once (the scan looks for an existing clawback of that finding on any award of the staff member), so the
nightly scan, the on-demand scan and the complaint-closed consumer can all run over the same facts.

Every state change is one function with an explicit ``actor`` (None: the system), atomic, and audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, params
from bankcrm.core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed, field_error
from bankcrm.core.money import format_amount, parse_amount

from . import incentive_rules as rules
from . import incentive_selectors as sel
from .models import Clawback, IncentiveAward, IncentivePool, IncentiveScheme, Period, Scorecard

P = IncentivePool.Status
ACTION_PAYOUT = "people.pool_payout"
DEFAULT_SCHEME = "default"
SCHEME_FIELDS = ["code", "name", "method", "min_score", "tiers", "cap_percent", "active"]
POOL_FIELDS = ["branch_id", "period_id", "scheme_id", "amount_fen", "status"]


def _now() -> datetime:
    return timezone.now()


def _int(value: Any, field: str, label: str, *, lo: int, hi: int) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        v = int(str(value).strip())
    except (TypeError, ValueError):
        raise field_error(f"{field}_invalid", field, _("%(l)s必须是整数") % {"l": label}) from None
    if not lo <= v <= hi:
        raise field_error(f"{field}_out_of_range", field, _("%(l)s须在 %(lo)s ~ %(hi)s 之间") % {
            "l": label, "lo": lo, "hi": hi})
    return v


# ---- Schemes ------------------------------------------------------------------------------------------------------------
def scheme_install_default(*, actor: Any = None) -> IncentiveScheme:
    """The shipped scheme ``default`` (proportional to the final score, minimum 60.00 points, at most 40 % of the
    pool to one person). Idempotent: an existing scheme of that code is returned untouched (an administrator may
    have changed it)."""
    existing = IncentiveScheme.objects.filter(code=DEFAULT_SCHEME).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            s = IncentiveScheme.objects.create(code=DEFAULT_SCHEME, name=_("按考核得分比例分配（默认）"),
                                               method=IncentiveScheme.Method.PROPORTIONAL, min_score=6000, tiers=[],
                                               cap_percent=40, active=True,
                                               created_by=actor if getattr(actor, "pk", None) else None)
            audit.record(actor=actor, verb="people.incentive_scheme_saved", target=s, target_repr=s.code,
                         after=audit.snapshot(s, SCHEME_FIELDS), reason="default scheme installed")
    except IntegrityError:  # installed concurrently
        return IncentiveScheme.objects.get(code=DEFAULT_SCHEME)
    return s


def scheme_save(*, actor: Any, scheme_id: Any = None, code: str, name: str, method: str, min_score: Any,
                tiers: Any = None, cap_percent: Any = 100, active: bool = True) -> IncentiveScheme:
    """Create or change a scheme (administrators). Allocations already made keep their amounts; allocate again to
    apply a change."""
    access.require(actor, "people.manage_incentive_schemes")
    code = (code or "").strip()
    if not re.fullmatch(r"[-a-zA-Z0-9_]{2,40}", code):
        raise field_error("code_invalid", "code", _("方案代码为2–40位字母、数字、下划线或连字符"))
    name = (name or "").strip()
    if not 2 <= len(name) <= 120:
        raise field_error("name_invalid", "name", _("请填写方案名称（2–120字）"))
    if method not in IncentiveScheme.Method.values:
        raise field_error("method_invalid", "method", _("请选择分配方式"))
    min_score = _int(min_score, "min_score", _("最低得分"), lo=0, hi=rules.SCORE_MAX)
    cap_percent = _int(cap_percent, "cap_percent", _("个人上限"), lo=1, hi=100)
    if method == IncentiveScheme.Method.TIERED:
        try:
            tiers = rules.validate_tiers(tiers)
        except ValueError:
            raise field_error("tiers_invalid", "tiers", _("档次须为[[最低得分, 系数%], …]：得分0–10000且互不相同，"
                                                         "系数0–1000，得分越高系数不能越低")) from None
    else:
        tiers = []
    with transaction.atomic():
        if scheme_id:
            s = IncentiveScheme.objects.select_for_update().filter(pk=scheme_id).first()
            if s is None:
                raise NotFound("scheme_not_found", _("激励方案不存在或无权查看"))
        else:
            s = IncentiveScheme(created_by=actor)
        if IncentiveScheme.objects.filter(code=code).exclude(pk=s.pk).exists():
            raise field_error("code_taken", "code", _("该方案代码已被使用"))
        before = audit.snapshot(s, SCHEME_FIELDS) if s.pk else {}
        s.code, s.name, s.method, s.min_score, s.tiers = code, name, method, min_score, tiers
        s.cap_percent, s.active = cap_percent, bool(active)
        s.save()
        audit.record(actor=actor, verb="people.incentive_scheme_saved", target=s, target_repr=s.code, before=before,
                     after=audit.snapshot(s, SCHEME_FIELDS))
    return s


# ---- Pools --------------------------------------------------------------------------------------------------------------
def _branch_in_scope(actor: Any, branch_id: Any) -> Any:
    from bankcrm.org.models import Branch

    b = (Branch.objects.filter(access.branch_scope_q(actor, "path")).filter(pk=branch_id).first()
         if str(branch_id).isdigit() else None)
    if b is None:
        raise field_error("branch_invalid", "branch_id", _("只能为本人管辖范围内的机构设立奖金池"))
    return b


def _amount(amount_yuan: Any) -> int:
    try:
        return parse_amount(amount_yuan, "CNY")
    except ValidationFailed as exc:
        raise field_error(exc.code, "amount", exc.message) from None


def _reset_allocation(pool: IncentivePool) -> None:
    IncentiveAward.objects.filter(pool=pool).delete()
    pool.status, pool.allocated_at, pool.undistributed_fen, pool.exclusions = P.DRAFT, None, 0, []


def pool_save(*, actor: Any, pool_id: Any = None, branch_id: Any, period_id: Any, scheme_id: Any,
              amount: Any) -> IncentivePool:
    """Set up (or change, while draft or allocated) a branch's pool for a period: supervisors for a branch in their
    subtree, administrators for any. ``amount`` in yuan ("50,000.00"). One pool per branch and period. A change
    clears the allocation (allocate again)."""
    access.require(actor, "people.incentives")
    amount_fen = _amount(amount)
    with transaction.atomic():
        branch = _branch_in_scope(actor, branch_id)
        period = Period.objects.filter(pk=period_id).first() if str(period_id).isdigit() else None
        if period is None:
            raise field_error("period_invalid", "period_id", _("请选择考核期"))
        scheme = (IncentiveScheme.objects.filter(pk=scheme_id, active=True).first()
                  if str(scheme_id).isdigit() else None)
        if scheme is None:
            raise field_error("scheme_invalid", "scheme_id", _("请选择启用的激励方案"))
        if pool_id:
            pool = sel.pool_get(actor, pool_id, for_update=True)
            if pool.status not in (P.DRAFT, P.ALLOCATED):
                raise RuleViolation("pool_locked", _("奖金池已提交复核或已发放（%(s)s），不能修改") % {
                    "s": pool.get_status_display()})
            before = audit.snapshot(pool, POOL_FIELDS)
        else:
            pool, before = IncentivePool(created_by=actor), {}
        clash = IncentivePool.objects.filter(branch=branch, period=period).exclude(pk=pool.pk).first()
        if clash is not None:
            raise RuleViolation("pool_exists", _("%(b)s %(p)s 的奖金池已存在") % {"b": branch.name, "p": period},
                                fields={"period_id": [_("该机构本期已设立奖金池")]})
        if pool.pk:
            _reset_allocation(pool)
        pool.branch, pool.branch_path, pool.period, pool.scheme, pool.amount_fen = (branch, branch.path, period,
                                                                                   scheme, amount_fen)
        pool.save()
        audit.record(actor=actor, verb="people.pool_saved", target=pool, target_repr=f"{branch.code}/{period}",
                     before=before, after=audit.snapshot(pool, POOL_FIELDS))
    return pool


@dataclass(frozen=True)
class Exclusion:
    staff_id: int
    staff_no: str
    name: str
    code: str
    reason: str
    score: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"staff_id": self.staff_id, "staff_no": self.staff_no, "name": self.name, "code": self.code,
                "reason": self.reason, "score": self.score}


def _candidates(pool: IncentivePool) -> tuple[list[Scorecard], list[Exclusion]]:
    """Signed-off scorecards of the period for staff whose scorecard branch lies in the pool's subtree, and who was
    left out and why: scorecards not signed off, staff no longer active, active staff of the subtree without a
    scorecard."""
    from bankcrm.org.models import Staff

    cards = list(Scorecard.objects.filter(period=pool.period, branch_path__startswith=pool.branch_path)
                 .select_related("staff").order_by("staff__staff_no"))
    counted, out = [], []
    for c in cards:
        st = c.staff
        if c.status != Scorecard.Status.SIGNED_OFF:
            out.append(Exclusion(st.pk, st.staff_no, st.name, "not_signed_off",
                                 _("考核尚未签署（%(s)s）") % {"s": c.get_status_display()}, c.final_score))
        elif not st.is_active:
            out.append(Exclusion(st.pk, st.staff_no, st.name, "inactive", _("员工账户已停用"), c.final_score))
        else:
            counted.append(c)
    seen = {c.staff_id for c in cards}
    for st in (Staff.objects.filter(branch__path__startswith=pool.branch_path, is_active=True)
               .exclude(pk__in=seen).order_by("staff_no")):
        out.append(Exclusion(st.pk, st.staff_no, st.name, "no_scorecard", _("无本期考核记分卡")))
    return counted, out


def pool_allocate(*, actor: Any, pool_id: Any) -> IncentivePool:
    """Share the pool among the signed-off scorecards of its branch subtree under its scheme (see
    ``incentive_rules.allocate``); records every award, what could not be given and who was excluded and why."""
    access.require(actor, "people.incentives")
    with transaction.atomic():
        pool = sel.pool_get(actor, pool_id, for_update=True)
        if pool.status not in (P.DRAFT, P.ALLOCATED):
            raise RuleViolation("pool_locked", _("奖金池已提交复核或已发放（%(s)s），不能重新分配") % {
                "s": pool.get_status_display()})
        scheme = pool.scheme
        cards, excluded = _candidates(pool)
        by_staff = {c.staff_id: c for c in cards}
        result = rules.allocate(pool.amount_fen, {c.staff_id: c.final_score for c in cards}, method=scheme.method,
                                min_score=scheme.min_score, tiers=scheme.tiers, cap_percent=scheme.cap_percent)
        for sid in result.below_min:
            c = by_staff[sid]
            excluded.append(Exclusion(sid, c.staff.staff_no, c.staff.name, "below_min_score",
                                      _("得分低于方案最低分 %(m)s") % {"m": f"{scheme.min_score / 100:.2f}"},
                                      c.final_score))
        for sid, c in by_staff.items():
            if sid not in result.awards and sid not in result.below_min:
                excluded.append(Exclusion(sid, c.staff.staff_no, c.staff.name, "no_tier", _("得分未达到任何档次"),
                                          c.final_score))
        IncentiveAward.objects.filter(pool=pool).delete()
        IncentiveAward.objects.bulk_create([
            IncentiveAward(pool=pool, staff_id=sid, scorecard=by_staff[sid], score=by_staff[sid].final_score,
                           amount_fen=fen) for sid, fen in result.awards.items()])
        before = {"status": pool.status}
        pool.status, pool.allocated_at = P.ALLOCATED, _now()
        pool.undistributed_fen = result.undistributed_fen
        pool.exclusions = [e.as_dict() for e in sorted(excluded, key=lambda e: e.staff_no)]
        pool.save(update_fields=["status", "allocated_at", "undistributed_fen", "exclusions"])
        audit.record(actor=actor, verb="people.pool_allocated", target=pool,
                     target_repr=f"{pool.branch.code}/{pool.period}", before=before,
                     after={"status": pool.status, "awards": len(result.awards),
                            "distributed_fen": result.distributed_fen, "undistributed_fen": result.undistributed_fen,
                            "capped": len(result.capped), "excluded": len(excluded)})
    return pool


def _payout_payload(pool: IncentivePool) -> dict[str, Any]:
    awards = list(IncentiveAward.objects.filter(pool=pool).order_by("pk").values_list("pk", "staff_id", "amount_fen"))
    return {"pool_id": pool.pk, "amount_fen": pool.amount_fen, "undistributed_fen": pool.undistributed_fen,
            "awards": [list(a) for a in awards]}


def pool_submit(*, actor: Any, pool_id: Any, reason: str = "") -> IncentivePool:
    """Ask a second person (``people.approve_incentives``, not the maker, not anyone paid from the pool) to approve
    the allocation exactly as it stands."""
    from bankcrm.approvals import services as approvals

    access.require(actor, "people.incentives")
    with transaction.atomic():
        pool = sel.pool_get(actor, pool_id, for_update=True)
        if pool.status != P.ALLOCATED:
            raise RuleViolation("pool_not_allocated", _("请先分配奖金池再提交复核（当前：%(s)s）") % {
                "s": pool.get_status_display()})
        payload = _payout_payload(pool)
        if not any(fen > 0 for _a, _s, fen in payload["awards"]):
            raise RuleViolation("nothing_to_pay", _("本奖金池没有可发放的奖金（无人符合分配条件）"))
        total = sum(fen for _a, _s, fen in payload["awards"])
        pa = approvals.approval_submit(
            actor=actor, action_code=ACTION_PAYOUT, payload=payload, target=pool, reason=(reason or "").strip(),
            summary=_("奖金发放 %(b)s %(p)s：%(n)d 人，合计 %(a)s 元") % {
                "b": pool.branch.name, "p": pool.period, "n": len(payload["awards"]),
                "a": format_amount(total)})
        pool.status, pool.pending_action = P.PENDING, pa
        pool.save(update_fields=["status", "pending_action"])
        audit.record(actor=actor, verb="people.pool_submitted", target=pool,
                     target_repr=f"{pool.branch.code}/{pool.period}", before={"status": P.ALLOCATED},
                     after={"status": pool.status, "approval": pa.pk, "total_fen": total}, reason=reason or "")
    return pool


def execute_payout(*, payload: dict[str, Any], maker: Any, checker: Any) -> dict[str, Any]:
    """The approval's half: the pool must still be pending with exactly the awards the checker saw."""
    pool = IncentivePool.objects.select_for_update().select_related("branch", "period").filter(
        pk=payload.get("pool_id")).first()
    if pool is None or pool.status != P.PENDING:
        raise RuleViolation("pool_state", _("奖金池状态已变化，不能执行"))
    if _payout_payload(pool) != payload:
        raise RuleViolation("allocation_changed", _("奖金池分配在提交后已变化，请重新提交"))
    if checker_conflicts(payload=payload, checker=checker):
        raise RuleViolation("checker_conflict", _("复核人本人在该奖金池中获奖，不能复核"))
    pool.status, pool.approved_by, pool.approved_at = P.APPROVED, checker, _now()
    pool.save(update_fields=["status", "approved_by", "approved_at"])
    audit.record(actor=checker, verb="people.pool_approved", target=pool,
                 target_repr=f"{pool.branch.code}/{pool.period}", before={"status": P.PENDING},
                 after={"status": pool.status, "maker": getattr(maker, "staff_no", "")})
    return {"pool_id": pool.pk, "status": pool.status}


def checker_conflicts(*, payload: dict[str, Any], checker: Any) -> bool:
    """A checker paid from the pool approves their own money: refused (segregation of duties)."""
    return any(staff_id == checker.pk for _a, staff_id, _f in payload.get("awards", []))


def payout_not_executed(payload: dict[str, Any]) -> None:
    """A rejected, cancelled, expired or failed approval puts the pool back to allocated (approval hook)."""
    pool = IncentivePool.objects.select_for_update().filter(pk=payload.get("pool_id"), status=P.PENDING).first()
    if pool is None:
        return
    pool.status, pool.pending_action = P.ALLOCATED, None
    pool.save(update_fields=["status", "pending_action"])
    audit.record(actor=None, verb="people.pool_reopened", target=pool, before={"status": P.PENDING},
                 after={"status": pool.status})


def pool_mark_paid(*, actor: Any, pool_id: Any, paid_on: date | None = None) -> IncentivePool:
    """Record that payroll paid an approved pool on ``paid_on`` (default today; not in the future, not before the
    approval). The payout date goes on every award: the clawback window runs from it. Payroll itself is outside the
    CRM."""
    access.require(actor, "people.incentives")
    today = timezone.localdate()
    paid_on = paid_on or today
    if not isinstance(paid_on, date) or paid_on > today:
        raise field_error("paid_on_invalid", "paid_on", _("发放日期不能晚于今天"))
    with transaction.atomic():
        pool = sel.pool_get(actor, pool_id, for_update=True)
        if pool.status != P.APPROVED:
            raise RuleViolation("pool_not_approved", _("奖金池须经复核通过后才能登记发放（当前：%(s)s）") % {
                "s": pool.get_status_display()})
        if pool.approved_at and paid_on < timezone.localdate(pool.approved_at):
            raise field_error("paid_on_before_approval", "paid_on", _("发放日期不能早于复核通过日期"))
        paid_at = _now() if paid_on == today else datetime.combine(paid_on, time(12), timezone.get_default_timezone())
        pool.status, pool.paid_at, pool.paid_by = P.PAID, paid_at, actor
        pool.save(update_fields=["status", "paid_at", "paid_by"])
        n = IncentiveAward.objects.filter(pool=pool).update(paid_at=paid_at)
        audit.record(actor=actor, verb="people.pool_paid", target=pool,
                     target_repr=f"{pool.branch.code}/{pool.period}", before={"status": P.APPROVED},
                     after={"status": pool.status, "paid_on": paid_on, "awards": n})
    return pool


# ---- Clawback -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """A fact that claws back: a complaint upheld against, or a mis-sale by, ``staff_id`` found at ``found_at``."""

    source: str
    source_id: int
    source_ref: str
    staff_id: int
    found_at: datetime

    @property
    def percent_param(self) -> str:
        return ("incentives.clawback_complaint_percent" if self.source == Clawback.Source.COMPLAINT
                else "incentives.clawback_misselling_percent")


def _paid_awards() -> Any:
    return IncentiveAward.objects.filter(paid_at__isnull=False, pool__status=P.PAID)


def complaint_findings(*, since: datetime | None = None, complaint_ids: Iterable[int] | None = None,
                       staff_ids: Iterable[int] | None = None) -> list[Finding]:
    """Complaints (not feedback cases) decided upheld that name a member of staff who has a paid award."""
    from bankcrm.service.models import Complaint

    qs = Complaint.objects.filter(kind=Complaint.Kind.COMPLAINT, decision=Complaint.Decision.UPHELD,
                                  staff_named__isnull=False, decided_at__isnull=False,
                                  staff_named__in=_paid_awards().values("staff_id"))
    if since is not None:
        qs = qs.filter(decided_at__gte=since)
    if complaint_ids is not None:
        qs = qs.filter(pk__in=list(complaint_ids))
    if staff_ids is not None:
        qs = qs.filter(staff_named__in=list(staff_ids))
    return [Finding(Clawback.Source.COMPLAINT, c.pk, c.number, c.staff_named_id, c.decided_at)
            for c in qs.only("pk", "number", "staff_named_id", "decided_at").order_by("decided_at", "pk")]


def misselling_findings(*, since: datetime | None = None, staff_ids: Iterable[int] | None = None) -> list[Finding]:
    """Return visits that found a problem because the customer did not understand the risk or did not buy
    voluntarily, on sales by a member of staff who has a paid award."""
    from bankcrm.wealth.models import ReturnVisit

    qs = (ReturnVisit.objects.filter(outcome=ReturnVisit.Outcome.PROBLEM, done_at__isnull=False,
                                     sale__seller__in=_paid_awards().values("staff_id"))
          .filter(Q(understood_risk=False) | Q(voluntary=False)))
    if since is not None:
        qs = qs.filter(done_at__gte=since)
    if staff_ids is not None:
        qs = qs.filter(sale__seller__in=list(staff_ids))
    return [Finding(Clawback.Source.MIS_SELLING, v.pk, v.sale.number, v.sale.seller_id, v.done_at)
            for v in qs.select_related("sale").only("pk", "done_at", "sale__number", "sale__seller_id")
            .order_by("done_at", "pk")]


def clawback_propose(finding: Finding) -> Clawback | None:
    """Propose the clawback one finding calls for, or None (already proposed for this finding, no paid award whose
    window covers it, or nothing left to claw back). Runs as the system; idempotent."""
    with transaction.atomic():
        awards = list(_paid_awards().select_for_update(of=("self",)).filter(staff_id=finding.staff_id)
                      .order_by("pk"))  # lock the staff member's awards: concurrent scans serialise here
        if Clawback.objects.filter(award__staff_id=finding.staff_id, source=finding.source,
                                   source_id=finding.source_id).exists():
            return None
        found_on = timezone.localdate(finding.found_at)
        months = params.value("incentives.clawback_window", at=finding.found_at)
        percent = params.value(finding.percent_param, at=finding.found_at)
        covering = [a for a in awards if rules.within_window(timezone.localdate(a.paid_at), found_on, months)]
        for award in sorted(covering, key=lambda a: (a.paid_at, a.pk), reverse=True):
            amount = rules.clawback_amount(award_fen=award.amount_fen, clawed_fen=award.clawed_back_fen,
                                           reserved_fen=sel.open_reserved_fen(award.pk), percent=percent)
            if amount <= 0:
                continue
            cb = Clawback.objects.create(award=award, source=finding.source, source_id=finding.source_id,
                                         source_ref=finding.source_ref[:40], found_at=finding.found_at,
                                         amount_fen=amount)
            audit.record(actor=None, verb="people.clawback_proposed", target=cb,
                         target_repr=f"{finding.source_ref} → {award.pool_id}/{award.staff_id}",
                         after={"award": award.pk, "staff": award.staff_id, "source": finding.source,
                                "source_ref": finding.source_ref, "amount_fen": amount, "percent": percent,
                                "found_on": found_on, "window_months": months})
            return cb
    return None


def clawback_scan(*, actor: Any = None, now: datetime | None = None, complaint_ids: Iterable[int] | None = None,
                  include_misselling: bool = True) -> list[Clawback]:
    """Propose clawbacks for every finding within the window after a payout (see the module docstring). Nightly as
    the system, on demand by ``people.clawback`` holders, and for closed complaints by the outbox consumer. Each
    finding is its own transaction, so a rerun after a crash finds what was done."""
    if actor is not None:
        access.require(actor, "people.clawback")
    now = now or _now()
    first_paid = _paid_awards().order_by("paid_at").values_list("paid_at", flat=True).first()
    if first_paid is None:
        return []
    # the window counts in days: a finding on the payout day counts, whatever the hour
    since = datetime.combine(timezone.localdate(first_paid), time.min, timezone.get_default_timezone())
    findings = complaint_findings(since=since, complaint_ids=complaint_ids)
    if include_misselling and complaint_ids is None:
        findings += misselling_findings(since=since)
    made = []
    for f in findings:
        if f.found_at > now:
            continue
        cb = clawback_propose(f)
        if cb is not None:
            made.append(cb)
    if actor is not None:
        with transaction.atomic():
            audit.record(actor=actor, verb="people.clawback_scanned", target_type="people.Clawback",
                         target_id="scan", after={"findings": len(findings), "proposed": len(made)})
    return made


def clawback_decide(*, actor: Any, clawback_id: Any, decision: str, reason: str = "") -> Clawback:
    """Confirm a proposed clawback (the award's clawed-back amount grows, never past the award) or waive it with a
    reason. By compliance or a supervisor in scope; never on one's own award."""
    access.require(actor, "people.clawback")
    if decision not in ("confirm", "waive"):
        raise field_error("decision_invalid", "decision", _("请选择确认追索或豁免"))
    reason = (reason or "").strip()
    if decision == "waive" and len(reason) < 4:
        raise field_error("reason_required", "reason", _("豁免须填写理由（至少4个字）"))
    with transaction.atomic():
        cb = sel.clawback_get(actor, clawback_id, for_update=True)
        if cb.award.staff_id == actor.pk:
            raise PermissionDenied("own_clawback", _("不能处理针对本人奖金的追索"), capability="people.clawback")
        if cb.status != Clawback.Status.PROPOSED:
            raise RuleViolation("clawback_decided", _("该追索已处理（%(s)s）") % {"s": cb.get_status_display()})
        award = IncentiveAward.objects.select_for_update().get(pk=cb.award_id)
        before = {"status": cb.status, "amount_fen": cb.amount_fen, "award_clawed_back_fen": award.clawed_back_fen}
        if decision == "confirm":
            amount = min(cb.amount_fen, award.amount_fen - award.clawed_back_fen)
            if amount <= 0:
                raise RuleViolation("nothing_left", _("该奖金已全部追索，无可追索金额，请豁免本条"))
            award.clawed_back_fen += amount
            award.save(update_fields=["clawed_back_fen"])
            cb.amount_fen, cb.status = amount, Clawback.Status.CONFIRMED
        else:
            cb.status = Clawback.Status.WAIVED
        cb.reason, cb.decided_by, cb.decided_at = reason, actor, _now()
        cb.save(update_fields=["amount_fen", "status", "reason", "decided_by", "decided_at"])
        audit.record(actor=actor, verb="people.clawback_decided", target=cb, target_repr=cb.source_ref,
                     before=before, after={"status": cb.status, "amount_fen": cb.amount_fen,
                                           "award_clawed_back_fen": award.clawed_back_fen}, reason=reason)
    return cb
