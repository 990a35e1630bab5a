"""Scoped reads of service requests and complaints, the queue, the customer's file, statistics and cycle times.

Scope: a request or complaint is visible to whoever may see its customer (customer managers their managed customers,
operations managers and supervisors their branch subtree, head-office compliance every branch), and to its owner or
handler. Compliance sees every complaint.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from statistics import mean
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bankcrm.core import access

from . import rules
from .access_policy import SERVICE_STAFF, may_handle_complaints
from .models import Complaint, Notification, Rectification, RootCause, ServiceRequest


def _customers(actor: Any) -> QuerySet:
    from bankcrm.customers.models import Customer

    return Customer.objects.visible_to(actor).values("pk")


def requests_visible(actor: Any) -> QuerySet[ServiceRequest]:
    if not access.can(actor, "service.view"):
        return ServiceRequest.objects.none()
    return ServiceRequest.objects.filter(Q(customer__in=_customers(actor)) | Q(owner=actor))


def complaints_visible(actor: Any) -> QuerySet[Complaint]:
    if not access.can(actor, "service.view"):
        return Complaint.objects.none()
    return Complaint.objects.filter(Q(customer__in=_customers(actor)) | Q(handler=actor))


def request_get(actor: Any, pk: Any) -> ServiceRequest | None:
    if not str(pk).isdigit():
        return None
    return (requests_visible(actor).select_related("customer", "owner", "created_by", "escalated_to")
            .filter(pk=pk).first())


def complaint_get(actor: Any, pk: Any) -> Complaint | None:
    if not str(pk).isdigit():
        return None
    return (complaints_visible(actor).select_related("customer", "handler", "staff_named", "branch", "root_cause",
                                                      "root_cause__parent", "decided_by", "escalated_to")
            .filter(pk=pk).first())


def complaint_queue(actor: Any, *, status: str = "open", kind: str = "", mine: bool = False,
                    q: str = "") -> QuerySet[Complaint]:
    """Complaints ordered by their next deadline (acknowledgement first while unacknowledged, else decision)."""
    qs = complaints_visible(actor).select_related("customer", "handler", "branch")
    if status == "open":
        qs = qs.filter(status__in=Complaint.OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if mine:
        qs = qs.filter(handler=actor)
    if q:
        qs = qs.filter(Q(number=q.strip()) | Q(customer__customer_no=q.strip()))
    return qs.order_by("decision_due_on", "ack_due_on", "id")


def request_queue(actor: Any, *, status: str = "open", mine: bool = False, q: str = "") -> QuerySet[ServiceRequest]:
    qs = requests_visible(actor).select_related("customer", "owner")
    if status == "open":
        qs = qs.filter(status__in=ServiceRequest.OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(owner=actor)
    if q:
        qs = qs.filter(Q(number=q.strip()) | Q(customer__customer_no=q.strip()))
    return qs.order_by("resolve_due_at", "id")


def root_cause_tree(*, active_only: bool = True) -> list[tuple[RootCause, list[RootCause]]]:
    qs = RootCause.objects.all()
    if active_only:
        qs = qs.filter(active=True)
    rows = list(qs.order_by("order", "code"))
    tops = [r for r in rows if r.parent_id is None]
    return [(t, [r for r in rows if r.parent_id == t.pk]) for t in tops]


def on_file(actor: Any, customer: Any) -> dict[str, Any]:
    """What the bank already holds for the customer, so that nobody asks them for it again: the identity document
    (type, masked number, expiry), accounts and consents — through the customers and ledger selectors, so the
    actor's scope applies."""
    from bankcrm.core.masking import mask
    from bankcrm.ledger import selectors as ledger_selectors

    today = timezone.localdate()
    expires = customer.id_expires_on
    return {
        "id_type": customer.get_id_type_display(), "id_number": mask("id_number", customer.id_number or ""),
        "id_expires_on": expires, "id_expired": bool(expires and expires < today),
        "verified_at": customer.verified_at,
        "accounts": list(ledger_selectors.customer_accounts(actor, customer.pk)[:20]),
        "consents": list(customer.consents.filter(withdrawn_at__isnull=True).order_by("purpose")),
    }


def customer_service(actor: Any, customer: Any) -> dict[str, Any]:
    """The 360 panel: the customer's requests and complaints, open ones first."""
    open_c = list(Complaint.OPEN_STATUSES)
    open_r = list(ServiceRequest.OPEN_STATUSES)
    complaints = sorted(complaints_visible(actor).filter(customer=customer).select_related("handler")[:50],
                        key=lambda c: (c.status not in open_c, c.decision_due_on if c.status in open_c else date.max,
                                       -c.pk))
    requests = sorted(requests_visible(actor).filter(customer=customer).select_related("owner")[:50],
                      key=lambda r: (r.status not in open_r, r.resolve_due_at if r.status in open_r else
                                     datetime.max.replace(tzinfo=r.resolve_due_at.tzinfo), -r.pk))
    return {"complaints": complaints[:10], "requests": requests[:10],
            "open_complaints": sum(1 for c in complaints if c.status in open_c),
            "open_requests": sum(1 for r in requests if r.status in open_r)}


def notifications_for(actor: Any, *, unread: bool = True) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=actor)
    return qs.filter(read_at__isnull=True) if unread else qs


def rectifications_open(actor: Any) -> QuerySet[Rectification]:
    return (Rectification.objects.filter(owner=actor, status=Rectification.Status.OPEN)
            .select_related("complaint").order_by("due_on"))


# ---- Statistics -----------------------------------------------------------------------------------------------------
def _period(qs: QuerySet, start: date | None, end: date | None, field: str = "received_at") -> QuerySet:
    tz = timezone.get_default_timezone()
    if start:
        qs = qs.filter(**{f"{field}__gte": datetime.combine(start, datetime.min.time(), tzinfo=tz)})
    if end:
        qs = qs.filter(**{f"{field}__lt": rules.end_of_day(end, tz)})
    return qs


def _avg(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(mean(vals), 1) if vals else None


def complaint_stats(actor: Any, *, start: date | None = None, end: date | None = None,
                    kind: str = "complaint") -> dict[str, Any]:
    """Complaints received in the period by root cause (top level), product line, channel and branch; time to
    decision; on-time rates; cycle times per branch (receipt → acknowledgement → decision → closure, in hours)."""
    from .models import Channel, ProductLine

    qs = _period(complaints_visible(actor), start, end)
    if kind:
        qs = qs.filter(kind=kind)
    rows = list(qs.select_related("root_cause__parent", "branch").only(
        "id", "kind", "channel", "product_line", "status", "received_at", "acknowledged_at", "decided_at", "closed_at",
        "decision_due_on", "ack_due_on", "extension_level", "decision", "branch__name", "branch__code",
        "branch__path", "root_cause__code", "root_cause__name", "root_cause__parent__code",
        "root_cause__parent__name", "root_cause__parent_id"))
    tz = timezone.get_default_timezone()

    def count_by(key) -> list[tuple[str, int]]:
        out: dict[str, int] = defaultdict(int)
        for c in rows:
            out[key(c)] += 1
        return sorted(out.items(), key=lambda kv: (-kv[1], kv[0]))

    channels, products = dict(Channel.choices), dict(ProductLine.choices)
    decided = [c for c in rows if c.decided_at]
    days_to_decision = [(c.decided_at.astimezone(tz).date() - c.received_at.astimezone(tz).date()).days
                        for c in decided]
    buckets = {"0-7": 0, "8-15": 0, "16-30": 0, "31-60": 0, "60+": 0}
    for d in days_to_decision:
        buckets["0-7" if d <= 7 else "8-15" if d <= 15 else "16-30" if d <= 30 else "31-60" if d <= 60 else "60+"] += 1
    branches: dict[str, dict[str, Any]] = {}
    for c in rows:
        b = branches.setdefault(c.branch.code, {"code": c.branch.code, "name": c.branch.name, "received": 0,
                                                "decided": 0, "on_time": 0, "extended": 0, "ack": [], "decide": [],
                                                "close": []})
        b["received"] += 1
        b["extended"] += int(c.extension_level > 0)
        b["ack"].append(rules.hours_between(c.received_at, c.acknowledged_at))
        b["decide"].append(rules.hours_between(c.received_at, c.decided_at))
        b["close"].append(rules.hours_between(c.received_at, c.closed_at))
        if c.decided_at:
            b["decided"] += 1
            b["on_time"] += int(c.decided_at.astimezone(tz).date() <= c.decision_due_on)
    for b in branches.values():
        b["avg_ack_h"], b["avg_decide_h"], b["avg_close_h"] = _avg(b.pop("ack")), _avg(b.pop("decide")), _avg(
            b.pop("close"))
    return {
        "total": len(rows), "open": sum(1 for c in rows if c.status in Complaint.OPEN_STATUSES),
        "decided": len(decided),
        "on_time": sum(1 for c in decided if c.decided_at.astimezone(tz).date() <= c.decision_due_on),
        "extended": sum(1 for c in rows if c.extension_level),
        "avg_days_to_decision": _avg([float(d) for d in days_to_decision]),
        "by_cause": count_by(lambda c: c.root_cause.top.name if c.root_cause_id else "未定"),
        "by_product": count_by(lambda c: str(products.get(c.product_line, c.product_line))),
        "by_channel": count_by(lambda c: str(channels.get(c.channel, c.channel))),
        "by_branch": count_by(lambda c: c.branch.name),
        "decision_buckets": buckets,
        "by_decision": count_by(lambda c: c.get_decision_display() if c.decision else "未决"),
        "branches": sorted(branches.values(), key=lambda b: b["code"]),
        "rows": rows,
    }


def request_cycle_times(actor: Any, *, start: date | None = None, end: date | None = None) -> list[dict[str, Any]]:
    """Requests per branch: received, on-time response and resolution rates, average hours receipt → response →
    resolution → closure."""
    from bankcrm.org.models import Branch

    qs = _period(requests_visible(actor), start, end)
    names = dict(Branch.objects.values_list("path", "name"))
    out: dict[str, dict[str, Any]] = {}
    for r in qs.only("branch_path", "received_at", "responded_at", "resolved_at", "closed_at", "respond_due_at",
                     "resolve_due_at"):
        b = out.setdefault(r.branch_path, {"name": names.get(r.branch_path, r.branch_path), "received": 0,
                                           "responded_on_time": 0, "resolved_on_time": 0, "respond": [],
                                           "resolve": [], "close": []})
        b["received"] += 1
        b["responded_on_time"] += int(bool(r.responded_at and r.responded_at <= r.respond_due_at))
        b["resolved_on_time"] += int(bool(r.resolved_at and r.resolved_at <= r.resolve_due_at))
        b["respond"].append(rules.hours_between(r.received_at, r.responded_at))
        b["resolve"].append(rules.hours_between(r.received_at, r.resolved_at))
        b["close"].append(rules.hours_between(r.received_at, r.closed_at))
    for b in out.values():
        b["avg_respond_h"], b["avg_resolve_h"], b["avg_close_h"] = (_avg(b.pop("respond")), _avg(b.pop("resolve")),
                                                                    _avg(b.pop("close")))
    return [out[k] for k in sorted(out)]


def queue_counts(actor: Any) -> dict[str, int]:
    today = timezone.localdate()
    open_c = complaints_visible(actor).filter(status__in=Complaint.OPEN_STATUSES)
    return {"complaints_open": open_c.count(), "complaints_overdue": open_c.filter(decision_due_on__lt=today).count(),
            "requests_open": requests_visible(actor).filter(status__in=ServiceRequest.OPEN_STATUSES).count(),
            "by_status": dict(open_c.values_list("status").annotate(n=Count("id")))}


# ---- Staff pickers and the actions open to the actor ------------------------------------------------------------------
def customer_visible_to(staff: Any, customer_id: int) -> bool:
    from bankcrm.customers.models import Customer

    return Customer.objects.visible_to(staff).filter(pk=customer_id).exists()


def eligible_staff(customer_id: int, *, exclude: set[int], complaints: bool) -> list[Any]:
    """Staff who may own / handle an item of this customer: service staff who can see the customer (complaints:
    employees only), nearest to the customer's branch first."""
    from bankcrm.customers.models import Customer
    from bankcrm.org.models import Staff

    qs = (Staff.objects.filter(is_active=True, role_assignments__role__in=[r.value for r in SERVICE_STAFF])
          .exclude(pk__in=exclude).select_related("branch").prefetch_related("role_assignments").distinct()
          .order_by("branch__path", "staff_no")[:200])
    home = Customer.objects.filter(pk=customer_id).values_list("branch__path", flat=True).first() or ""
    out = []
    for s in sorted(qs, key=lambda s: (not home.startswith(s.branch.path), -len(s.branch.path), s.staff_no)):
        if complaints and not may_handle_complaints(s):
            continue
        if not access.can(s, "service.handle") or not customer_visible_to(s, customer_id):
            continue
        out.append(s)
    return out


def staff_around(customer: Any) -> list[tuple[str, str]]:
    """Staff a complaint about the customer's branch may name: staff of the customer's branch and its parents."""
    from bankcrm.org.models import Staff

    parts = [p for p in customer.branch.path.split("/") if p]
    top = "/" + "/".join(parts[:2]) + "/" if len(parts) >= 2 else customer.branch.path
    qs = Staff.objects.filter(is_active=True, branch__path__startswith=top).order_by("staff_no")[:300]
    return [(str(s.pk), f"{s.name}（{s.staff_no}）") for s in qs]


def complaint_actions(user: Any, c: Complaint) -> dict[str, bool]:
    """Which transitions the complaint page offers the user (the services enforce the same rules)."""
    recused = c.staff_named_id == user.pk
    is_handler = c.handler_id == user.pk
    return {
        "ack": not recused and c.is_open and not c.acknowledged_at and may_handle_complaints(user),
        "assign": not recused and c.is_open and access.can(user, "service.assign"),
        "extend": not recused and c.is_open and c.extension_level < 2 and (
            access.can(user, "service.extend") if c.extension_level == 0 else access.can(user, "service.extend_final")),
        "decide": not recused and c.is_open and is_handler and may_handle_complaints(user),
        "close": not recused and c.status == Complaint.Status.DECIDED and may_handle_complaints(user) and (
            is_handler or access.can(user, "service.assign")),
        "rectify": not recused and may_handle_complaints(user) and (is_handler or access.can(user, "service.assign")),
        "letter": not recused and c.decided_at is not None and access.can(user, "service.letter"),
    }
