"""Staff-conduct signals, mandatory leave and key-post rotation (DOMAIN_RULES.md §7).

The detectors are set-based: each reads one bounded slice of a log (one local day, or the odd-hours window) with a
grouped query, compares with the rule parameters (``conduct_rules``) and raises at most one ``core.ConductSignal`` per
person, kind and period. Every signal carries a ``SignalRecord`` with a unique key, so reruns of the nightly job (or
"run now" twice) raise nothing new. Compliance reviews a signal: ``reviewed`` (no issue, with a note) or
``escalated`` (a finding is raised through ``finding_services.finding_raise``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.db.models.functions import ExtractHour, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, crypto, params, workdays
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.core.models import AccessEvent, AuditEvent, ConductSignal, SecurityEvent

from . import conduct_rules as rules
from .models import LeaveRecord, RotationRecord, Severity, SignalRecord

# Detail views of one customer: opening them is "viewing the customer" (the same set customers.monitoring counts).
CUSTOMER_VIEWS = ("customers.detail", "api.customers_detail", "customers.reveal")


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    return rules.local_day_bounds(day, timezone.get_current_timezone())


def _staff(ids: set[int] | list[int]) -> dict[int, Any]:
    from bankcrm.org.models import Staff

    return {s.pk: s for s in Staff.objects.filter(pk__in=list(ids)).select_related("branch")}


def _raise(*, kind: str, staff: Any, period_start: date, period_end: date, detail: dict[str, Any]) -> bool:
    """Raise one signal unless its key exists. Returns True if a signal was raised."""
    key = rules.signal_key(kind, staff.pk, period_end)
    if SignalRecord.objects.filter(key=key).exists():
        return False
    try:
        with transaction.atomic():
            signal = ConductSignal.objects.create(kind=kind, staff=staff, branch_path=staff.branch.path,
                                                  detail={**detail, "period_start": period_start.isoformat(),
                                                          "period_end": period_end.isoformat()})
            SignalRecord.objects.create(signal=signal, key=key, kind=kind, staff=staff, period_start=period_start,
                                        period_end=period_end)
            audit.record(actor=None, verb="supervision.conduct_signal_raised", target=signal,
                         target_repr=f"{kind} {staff.staff_no}", after={"kind": kind, "staff": staff.staff_no,
                                                                        "period_end": period_end, **_counts(detail)})
    except IntegrityError:  # a concurrent run raised it first
        return False
    return True


def _counts(detail: dict[str, Any]) -> dict[str, Any]:
    """Only figures go to the audit trail: no customer ids, no names."""
    return {k: v for k, v in detail.items() if isinstance(v, int) and not isinstance(v, bool)}


# ---- Detectors ------------------------------------------------------------------------------------------------------
def detect_unmanaged_views(day: date) -> int:
    """Distinct customers one does not manage, opened on ``day`` ≥ ``conduct.unmanaged_views_day``."""
    from bankcrm.customers.models import ManagerAssignment

    start, end = _day_bounds(day)
    threshold = params.value("conduct.unmanaged_views_day", at=end)
    seen: dict[int, set[str]] = defaultdict(set)
    for actor_id, ids in (AccessEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end,
                                                     subject_type="customers.Customer", view__in=CUSTOMER_VIEWS,
                                                     actor__isnull=False)
                          .values_list("actor_id", "subject_ids").iterator()):
        seen[actor_id].update(str(i) for i in ids)
    candidates = {a for a, ids in seen.items() if len(ids) >= threshold}
    if not candidates:
        return 0
    managed: dict[int, set[str]] = defaultdict(set)
    for staff_id, cust in ManagerAssignment.objects.filter(staff_id__in=candidates, ended_at__isnull=True) \
            .values_list("staff_id", "customer_id"):
        managed[staff_id].add(str(cust))
    raised = 0
    staff = _staff(candidates)
    for actor_id in sorted(candidates):
        unmanaged = seen[actor_id] - managed[actor_id]
        if len(unmanaged) >= threshold and actor_id in staff:
            raised += _raise(kind=rules.KIND_VIEWS_DAY, staff=staff[actor_id], period_start=day, period_end=day,
                             detail={"customers": len(unmanaged), "threshold": threshold,
                                     "sample": sorted(unmanaged, key=int)[:20]})
    return raised


def detect_bulk_unmask(day: date) -> int:
    """Unmasked reads (with a reason) by one person on ``day`` ≥ ``conduct.unmask_day``."""
    start, end = _day_bounds(day)
    threshold = params.value("conduct.unmask_day", at=end)
    rows = (AccessEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=end, unmasked=True, actor__isnull=False)
            .values("actor_id").annotate(n=Count("id")).filter(n__gte=threshold))
    counts = {r["actor_id"]: r["n"] for r in rows}
    staff = _staff(set(counts))
    return sum(_raise(kind=rules.KIND_UNMASK, staff=staff[a], period_start=day, period_end=day,
                      detail={"unmasked": n, "threshold": threshold})
               for a, n in sorted(counts.items()) if a in staff)


def odd_hour_counts(day: date) -> tuple[dict[int, int], date]:
    """Acts at unusual times per person within the window ending on ``day`` (sign-ins and audited state changes),
    grouped in the database by (person, local date, local hour) so the rows returned are few."""
    window = params.value("conduct.odd_hours_window")
    first = day - timedelta(days=window - 1)
    start, end = _day_bounds(first)[0], _day_bounds(day)[1]
    band_start, band_end = params.value("conduct.hours_start", at=end), params.value("conduct.hours_end", at=end)
    holidays, makeup = workdays.calendar()
    tz = timezone.get_current_timezone()
    totals: dict[int, int] = defaultdict(int)
    # Changes made by commands and background tasks on someone's behalf (a data load, a nightly job) are not that
    # person working at night.
    sources = [AuditEvent.objects.filter(actor__isnull=False).exclude(channel__in=["command", "task"]),
               SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_OK, actor__isnull=False)]
    for qs in sources:
        rows = (qs.filter(occurred_at__gte=start, occurred_at__lt=end)
                .annotate(d=TruncDate("occurred_at", tzinfo=tz), h=ExtractHour("occurred_at", tzinfo=tz))
                .values("actor_id", "d", "h").annotate(n=Count("id")).order_by())
        for r in rows:
            if rules.odd_act(r["d"], r["h"], start=band_start, end=band_end, holidays=holidays, makeup=makeup):
                totals[r["actor_id"]] += r["n"]
    return dict(totals), first


def detect_odd_hours(day: date) -> int:
    """≥ ``conduct.odd_hours_count`` acts at unusual times within the window; one signal per person per window."""
    totals, first = odd_hour_counts(day)
    threshold = params.value("conduct.odd_hours_count")
    hits = {a: n for a, n in totals.items() if n >= threshold}
    if not hits:
        return 0
    recent = set(SignalRecord.objects.filter(kind=rules.KIND_ODD_HOURS, staff_id__in=list(hits),
                                             period_end__gte=first).values_list("staff_id", flat=True))
    staff = _staff(set(hits))
    return sum(_raise(kind=rules.KIND_ODD_HOURS, staff=staff[a], period_start=first, period_end=day,
                      detail={"acts": n, "threshold": threshold,
                              "hours": f"{params.value('conduct.hours_start'):02d}:00–"
                                       f"{params.value('conduct.hours_end'):02d}:00"})
               for a, n in sorted(hits.items()) if a in staff and a not in recent)


def related_customers() -> dict[int, set[int]]:
    """Staff id → ids of customers related to them (conduct_rules: same mobile, plus current family links).

    Staff mobiles are decrypted here one by one (a few thousand staff at most) and turned into the *customer* blind
    index, so the comparison runs on the customers' indexed column and no phone number leaves this function."""
    from django.db.models import Q

    from bankcrm.customers.models import Customer, Relationship
    from bankcrm.org.models import Staff

    index_to_staff: dict[str, set[int]] = defaultdict(set)
    for pk, mobile in Staff.objects.filter(is_active=True).exclude(mobile="").values_list("pk", "mobile"):
        if mobile:
            index_to_staff[crypto.blind_index(mobile, "customer.mobile")].add(pk)
    out: dict[int, set[int]] = defaultdict(set)
    if not index_to_staff:
        return out
    own: dict[int, set[int]] = defaultdict(set)  # customer id -> staff ids
    for cid, bidx in Customer.objects.filter(mobile_bidx__in=list(index_to_staff)).values_list("pk", "mobile_bidx"):
        for sid in index_to_staff[bidx]:
            own[cid].add(sid)
            out[sid].add(cid)
    if own:
        for a, b in Relationship.objects.filter(Q(from_customer_id__in=list(own)) | Q(to_customer_id__in=list(own)),
                                                kind__in=rules.FAMILY_KINDS, ended_at__isnull=True) \
                .values_list("from_customer_id", "to_customer_id"):
            for sid in own.get(a, ()):
                out[sid].add(b)
            for sid in own.get(b, ()):
                out[sid].add(a)
    return out


def detect_related_party(day: date) -> int:
    """Transactions on ``day`` made (maker) or approved (checker) by a member of staff for a related customer."""
    from bankcrm.ledger.models import JournalEntry

    related = related_customers()
    if not related:
        return 0
    start, end = _day_bounds(day)
    threshold = params.value("conduct.related_party_count", at=end)
    all_customers = set().union(*related.values())
    hits: dict[int, list[int]] = defaultdict(list)
    for entry_id, cid, maker, checker in (JournalEntry.objects.filter(
            posted_at__gte=start, posted_at__lt=end, customer_id__in=list(all_customers))
            .values_list("id", "customer_id", "maker_id", "checker_id").iterator()):
        for sid in {maker, checker} - {None}:
            if cid in related.get(sid, ()):
                hits[sid].append(entry_id)
    staff = _staff(set(hits))
    return sum(_raise(kind=rules.KIND_RELATED, staff=staff[s], period_start=day, period_end=day,
                      detail={"transactions": len(ids), "threshold": threshold, "entries": sorted(ids)[:20]})
               for s, ids in sorted(hits.items()) if len(ids) >= threshold and s in staff)


DETECTORS = {
    rules.KIND_VIEWS_DAY: detect_unmanaged_views,
    rules.KIND_UNMASK: detect_bulk_unmask,
    rules.KIND_ODD_HOURS: detect_odd_hours,
    rules.KIND_RELATED: detect_related_party,
}


def run_detectors(*, day: date | None = None) -> dict[str, int]:
    """Every detector for one local day (default: yesterday, the nightly job's day). Each raise is its own
    transaction, so a crash half-way is resumed by the next run (the keys find what is done)."""
    day = day or timezone.localdate() - timedelta(days=1)
    return {kind: fn(day) for kind, fn in DETECTORS.items()}


def conduct_run_now(*, actor: Any, day: date | None = None) -> dict[str, int]:
    """Compliance runs the detectors on demand (default: today so far)."""
    access.require(actor, "supervision.conduct_review")
    day = day or timezone.localdate()
    if day > timezone.localdate():
        raise ValidationFailed("day_in_future", _("不能检测未来日期"), fields={"day": [_("不能晚于今天")]})
    counts = run_detectors(day=day)
    with transaction.atomic():
        audit.record(actor=actor, verb="supervision.conduct_run", target_type="core.ConductSignal",
                     after={"day": day, **counts})
    return counts


# ---- Review ---------------------------------------------------------------------------------------------------------
def _signal_for_update(actor: Any, signal_id: int) -> ConductSignal:
    from .conduct_selectors import signals_visible

    signal = signals_visible(actor).select_for_update().filter(pk=signal_id).first()
    if signal is None:
        raise NotFound("signal_not_found", _("预警不存在或无权查看"))
    return signal


def _record_of(signal: ConductSignal) -> SignalRecord:
    rec = SignalRecord.objects.filter(signal=signal).first()
    if rec is None:  # raised in real time by a feature (bulk_view_unmanaged)
        day = timezone.localtime(signal.created_at).date()
        rec = SignalRecord.objects.create(signal=signal, key=f"core:{signal.pk}", kind=signal.kind,
                                          staff_id=signal.staff_id, period_start=day, period_end=day)
    return rec


def signal_review(*, actor: Any, signal_id: int, note: str) -> SignalRecord:
    """Close a signal as looked into, no issue: the note says why."""
    access.require(actor, "supervision.conduct_review")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("note_required", _("请填写核查说明"), fields={"note": [_("必填")]})
    with transaction.atomic():
        signal = _signal_for_update(actor, signal_id)
        if signal.status != ConductSignal.Status.OPEN:
            raise RuleViolation("signal_closed", _("该预警已核查"))
        rec = _record_of(signal)
        now = timezone.now()
        signal.status, signal.closed_by, signal.closed_at, signal.conclusion = (
            ConductSignal.Status.CLOSED, actor, now, note[:300])
        signal.save(update_fields=["status", "closed_by", "closed_at", "conclusion"])
        rec.outcome, rec.note, rec.reviewed_by, rec.reviewed_at = SignalRecord.Outcome.REVIEWED, note, actor, now
        rec.save(update_fields=["outcome", "note", "reviewed_by", "reviewed_at"])
        audit.record(actor=actor, verb="supervision.conduct_signal_reviewed", target=signal,
                     target_repr=f"{signal.kind} #{signal.pk}", after={"outcome": rec.outcome}, reason=note)
    return rec


def signal_escalate(*, actor: Any, signal_id: int, note: str, severity: str = Severity.MEDIUM) -> SignalRecord:
    """The signal shows a problem: raise a finding about the member of staff and close the signal as escalated."""
    access.require(actor, "supervision.conduct_review")
    note = (note or "").strip()
    if not note:
        raise ValidationFailed("note_required", _("请填写核查说明"), fields={"note": [_("必填")]})
    if severity not in Severity.values:
        raise ValidationFailed("severity_invalid", _("无效的严重程度"), fields={"severity": [_("无效的选项")]})
    try:
        from . import finding_services
    except ImportError:  # pragma: no cover  (section A ships finding_services)
        raise RuleViolation("findings_unavailable", _("检查发现功能尚未启用")) from None
    with transaction.atomic():
        signal = _signal_for_update(actor, signal_id)
        if signal.status != ConductSignal.Status.OPEN:
            raise RuleViolation("signal_closed", _("该预警已核查"))
        rec = _record_of(signal)
        staff = signal.staff
        finding = finding_services.finding_raise(
            actor=actor, source="manual", title=str(_("员工行为预警：%(what)s") % {"what": rules.KIND_LABELS.get(
                signal.kind, signal.kind)}), severity=severity, branch_id=staff.branch_id, staff_id=staff.pk,
            detail=note, key=f"conduct:{signal.pk}")
        now = timezone.now()
        signal.status, signal.closed_by, signal.closed_at, signal.conclusion = (
            ConductSignal.Status.CLOSED, actor, now, note[:300])
        signal.save(update_fields=["status", "closed_by", "closed_at", "conclusion"])
        rec.outcome, rec.note, rec.reviewed_by, rec.reviewed_at, rec.finding = (
            SignalRecord.Outcome.ESCALATED, note, actor, now, finding)
        rec.save(update_fields=["outcome", "note", "reviewed_by", "reviewed_at", "finding"])
        audit.record(actor=actor, verb="supervision.conduct_signal_escalated", target=signal,
                     target_repr=f"{signal.kind} #{signal.pk}",
                     after={"outcome": rec.outcome, "finding": getattr(finding, "number", "")}, reason=note)
    return rec


# ---- Mandatory leave and key-post rotation ------------------------------------------------------------------------
def _staff_in_scope(actor: Any, staff_id: int) -> Any:
    from bankcrm.org.models import Staff

    staff = Staff.objects.filter(access.branch_scope_q(actor, "branch__path"), pk=staff_id, is_active=True) \
        .select_related("branch").first()
    if staff is None:
        raise NotFound("staff_not_found", _("员工不存在或无权查看"))
    return staff


def leave_record(*, actor: Any, staff_id: int, start_on: date, end_on: date, kind: str = LeaveRecord.Kind.MANDATORY,
                 note: str = "") -> LeaveRecord:
    access.require(actor, "supervision.conduct_records")
    if kind not in LeaveRecord.Kind.values:
        raise ValidationFailed("leave_kind_invalid", _("无效的休假类型"), fields={"kind": [_("无效的选项")]})
    if end_on < start_on:
        raise ValidationFailed("leave_dates", _("结束日期不能早于开始日期"), fields={"end_on": [_("不能早于开始日期")]})
    with transaction.atomic():
        staff = _staff_in_scope(actor, staff_id)
        rec = LeaveRecord.objects.create(staff=staff, kind=kind, start_on=start_on, end_on=end_on,
                                         days=(end_on - start_on).days + 1, note=note.strip()[:200],
                                         recorded_by=actor, recorded_at=timezone.now())
        audit.record(actor=actor, verb="supervision.leave_recorded", target=rec, target_repr=f"{staff.staff_no}",
                     after={"staff": staff.staff_no, "kind": kind, "start_on": start_on, "end_on": end_on,
                            "days": rec.days})
    return rec


def rotation_record(*, actor: Any, staff_id: int, post: str, from_on: date, note: str = "") -> RotationRecord:
    """Record that a member of staff took up a key post on ``from_on``; their previous current record of the same
    post (if any) ends the day before."""
    access.require(actor, "supervision.conduct_records")
    if post not in rules.key_post_roles():
        raise ValidationFailed("post_invalid", _("不是关键岗位"), fields={"post": [_("请选择关键岗位")]})
    with transaction.atomic():
        staff = _staff_in_scope(actor, staff_id)
        current = RotationRecord.objects.select_for_update().filter(staff=staff, post=post, to_on__isnull=True).first()
        if current is not None:
            if from_on <= current.from_on:
                raise ValidationFailed("rotation_dates", _("新任职日期须晚于当前任职起始日期"),
                                       fields={"from_on": [_("须晚于 %(d)s") % {"d": current.from_on}]})
            current.to_on = from_on - timedelta(days=1)
            current.save(update_fields=["to_on"])
        rec = RotationRecord.objects.create(staff=staff, post=post, branch=staff.branch, from_on=from_on,
                                            note=note.strip()[:200], recorded_by=actor, recorded_at=timezone.now())
        audit.record(actor=actor, verb="supervision.rotation_recorded", target=rec, target_repr=f"{staff.staff_no}",
                     after={"staff": staff.staff_no, "post": post, "from_on": from_on, "branch": staff.branch.code})
    return rec
