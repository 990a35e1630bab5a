"""Data-subject requests (PIPL arts. 44–50): a complete machine-readable copy of one customer's data, corrections,
and deletion that gives way to AML retention (DOMAIN_RULES.md §6)."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bankcrm.core import access, audit, logs, params, workdays
from bankcrm.core.errors import NotFound, RuleViolation, ValidationFailed
from bankcrm.core.models import AuditEvent

from . import selectors
from .models import Consent, Customer, DataSubjectRequest, ManagerAssignment, Relationship

R = DataSubjectRequest
# Kept for AML (identity and contact data the AML law requires for 10 years); everything else is erased.
AML_RETAINED = ("name", "id_type", "id_number", "id_expires_on", "gender", "birth_date", "nationality", "mobile", "address",
                "occupation")
ERASED = {"email": "", "industry": "", "employer": "", "income_band": "", "preferred_channel": "",
          "preferred_contact_time": "", "language": ""}


def dsr_open(*, actor: Any, customer_id: int, kind: str, channel: str, details: str = "") -> DataSubjectRequest:
    access.require(actor, "customers.edit")
    if kind not in R.Kind.values or channel not in Consent.Channel.values:
        raise ValidationFailed("dsr_invalid", _("无效的请求类型或渠道"))
    with transaction.atomic():
        customer = selectors.customer_get(actor, customer_id)
        today = timezone.localdate()
        due = workdays.working_days_after(today, params.value("privacy.subject_request_deadline"))
        req = R.objects.create(customer=customer, kind=kind, channel=channel, details=details.strip()[:500],
                               received_at=timezone.now(), due_on=due, opened_by=actor)
        audit.record(actor=actor, verb="customers.dsr_opened", target=customer, after={"request": req.pk, "kind": kind, "due_on": due})
    return req


def _get(actor: Any, request_id: int, *, for_update: bool = False) -> DataSubjectRequest:
    qs = R.objects.filter(customer__in=selectors.customers_visible(actor)).select_related("customer")
    if for_update:
        qs = qs.select_for_update()
    req = qs.filter(pk=request_id).first()
    if req is None:
        raise NotFound("dsr_not_found", _("请求不存在或无权查看"))
    return req


def package(customer: Customer) -> dict:
    """Everything the bank holds about this customer and nobody else: profile, managers, consents, relationships
    (the other party by customer number only), subject requests, and the audit trail about the customer."""
    c = customer
    profile = {f.name: getattr(c, f.name) for f in Customer._meta.concrete_fields
               if not f.name.endswith("_bidx") and f.name not in ("name_pinyin", "name_initials", "mobile_last4", "created_by")}
    profile["branch"] = c.branch.name
    return audit._jsonable({
        "format": "bankcrm.subject-access/1",
        "generated_at": timezone.now(),
        "customer": profile,
        "managers": [{"staff_no": a.staff.staff_no, "role": a.role, "from": a.started_at, "to": a.ended_at}
                     for a in ManagerAssignment.objects.filter(customer=c).select_related("staff")],
        "contacts": [{"kind": p.kind, "label": p.label, "value": p.value, "since": p.created_at, "ended_at": p.ended_at}
                     for p in c.contacts.all()],
        "consents": [{"purpose": g.purpose, "channel": g.channel, "scope": g.scope, "granted_at": g.granted_at,
                      "withdrawn_at": g.withdrawn_at, "evidence": g.evidence} for g in c.consents.all()],
        "relationships": [{"kind": r.kind, "direction": "out" if r.from_customer_id == c.pk else "in",
                           "other_customer_no": (r.to_customer if r.from_customer_id == c.pk else r.from_customer).customer_no,
                           "since": r.created_at, "ended_at": r.ended_at}
                          for r in Relationship.objects.filter(Q(from_customer=c) | Q(to_customer=c))
                          .select_related("from_customer", "to_customer")],
        "subject_requests": [{"kind": q.kind, "received_at": q.received_at, "status": q.status, "outcome": q.outcome}
                             for q in c.subject_requests.all()],
        "processing_records": [{"time": e.occurred_at, "action": e.verb, "by": e.actor_label, "reason": e.reason}
                               for e in AuditEvent.objects.filter(target_type="customers.Customer", target_id=str(c.pk)).order_by("seq")],
    })


def dsr_export(*, actor: Any, request_id: int) -> bytes:
    """The copy for an access request, as JSON (UTF-8). Audited and access-logged as an unmasked export."""
    access.require(actor, "customers.unmask")
    with transaction.atomic():
        req = _get(actor, request_id)
        if req.kind != R.Kind.ACCESS:
            raise RuleViolation("dsr_not_access", _("只有查阅复制请求可以导出数据副本"))
        data = json.dumps(package(req.customer), ensure_ascii=False, indent=2).encode("utf-8")
        audit.record(actor=actor, verb="customers.dsr_exported", target=req.customer, after={"request": req.pk, "bytes": len(data)})
        logs.access(actor=actor, view="customers.dsr_export", subject_type="customers.Customer", subject_ids=[req.customer_id],
                    fields=["*"], channel="export", unmasked=True, reason=_("个人信息查阅复制请求 #%(id)d") % {"id": req.pk})
    return data


def dsr_complete(*, actor: Any, request_id: int, outcome: str) -> DataSubjectRequest:
    """Close an access or correction request (corrections are made through the normal, audited edit)."""
    access.require(actor, "customers.edit")
    if not (outcome or "").strip():
        raise ValidationFailed("outcome_required", _("请填写处理结果"), fields={"outcome": [_("必填")]})
    with transaction.atomic():
        req = _get(actor, request_id, for_update=True)
        if req.status != R.Status.OPEN:
            raise RuleViolation("dsr_closed", _("该请求已处理"))
        if req.kind == R.Kind.DELETION:
            raise RuleViolation("dsr_use_erase", _("删除请求请使用“执行删除”"))
        req.status, req.completed_by, req.completed_at, req.outcome = R.Status.COMPLETED, actor, timezone.now(), outcome.strip()
        req.save(update_fields=["status", "completed_by", "completed_at", "outcome"])
        audit.record(actor=actor, verb="customers.dsr_completed", target=req.customer, after={"request": req.pk}, reason=outcome)
    return req


def dsr_erase(*, actor: Any, request_id: int) -> DataSubjectRequest:
    """Delete what the bank may delete; keep what AML retention requires, restricted (stored, not processed):
    the customer leaves every list and search, cannot be contacted, and only compliance can see the record."""
    access.require(actor, "customers.edit")
    with transaction.atomic():
        req = _get(actor, request_id, for_update=True)
        if req.kind != R.Kind.DELETION or req.status != R.Status.OPEN:
            raise RuleViolation("dsr_not_open_deletion", _("只能处理未完成的删除请求"))
        c = Customer.objects.select_for_update().get(pk=req.customer_id)
        for field, value in ERASED.items():
            setattr(c, field, value)
        c.status = Customer.Status.RESTRICTED
        c.save()
        now = timezone.now()
        c.consents.filter(withdrawn_at__isnull=True).update(withdrawn_at=now)
        contacts_removed, _x = c.contacts.all().delete()  # further contacts are not required by AML retention
        ManagerAssignment.objects.filter(customer=c, ended_at__isnull=True).update(ended_at=now)
        outcome = _("已删除非必要个人信息；身份资料依反洗钱法保存期限限制处理（仅保存，不使用）")
        req.status, req.completed_by, req.completed_at, req.outcome = R.Status.COMPLETED, actor, now, outcome
        req.save(update_fields=["status", "completed_by", "completed_at", "outcome"])
        audit.record(actor=actor, verb="customers.dsr_erased", target=c,
                     before={"fields": sorted(ERASED), "contacts_removed": contacts_removed},
                     after={"request": req.pk, "status": c.status, "retained": list(AML_RETAINED)})
    return req
